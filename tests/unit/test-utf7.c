/* Unit tests for modified UTF-7 (RFC 3501 5.1.3): known pairs both ways,
 * and strict refusal of every non-canonical or invalid form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/imap-private.h"

static const struct {
	const char *utf8;
	const char *utf7;
} pairs[] = {
	{"INBOX", "INBOX"},
	{"", ""},
	{"&", "&-"},
	{"a&b", "a&-b"},
	{"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
	{"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-"},
	/* The example of RFC 3501 section 5.1.3. */
	{"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	 "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	 "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
	{"\xf0\x9f\x98\x80", "&2D3eAA-"},
	{"\xc3\xa9", "&AOk-"},
	{"\x01", "&AAE-"},
	{"\xd0\x96&\xd0\x96", "&BBY-&-&BBY-"},
	{"\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9", "&AOnYPd4AAOk-"},
};

static void
known_pairs_encode_and_decode(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(*pairs); i++) {
		struct buf b;

		buf_init(&b, 0);
		if (imap_utf8_to_utf7(pairs[i].utf8, strlen(pairs[i].utf8),
				      &b) < 0 ||
		    strcmp(buf_cstr(&b), pairs[i].utf7) != 0)
			fail_msg("encode %s: got %s", pairs[i].utf7,
				 buf_cstr(&b));
		buf_reset(&b);
		if (imap_utf7_to_utf8(pairs[i].utf7, strlen(pairs[i].utf7),
				      &b) < 0 ||
		    strcmp(buf_cstr(&b), pairs[i].utf8) != 0)
			fail_msg("decode %s: got %s", pairs[i].utf7,
				 buf_cstr(&b));
		buf_free(&b);
	}
}

static const struct {
	const char *name;
	const char *utf7;
	size_t len;
} bad_utf7[] = {
	{"unterminated_shift", "&", 1},
	{"shift_without_dash", "&Jjo", 4},
	{"printable_ascii_encoded", "&AGE-", 5},
	{"adjacent_shifts", "&AOk-&AOk-", 10},
	{"lone_high_surrogate", "&2D0-", 5},
	{"lone_low_surrogate", "&3gA-", 5},
	{"high_surrogate_then_bmp", "&2D0AQQ-", 8},
	{"eight_bit_byte", "\x80", 1},
	{"tab_not_printable", "a\tb", 3},
	{"encoded_nul", "&AAA-", 5},
	{"six_leftover_bits", "&AOkA-", 6},
	{"nonzero_padding_bits", "&AOl-", 5},
	{"slash_instead_of_comma", "&U/BTFw-", 8},
	{"raw_nul", "a\0b", 3},
	{"delete_char", "a\x7f", 2},
};

static void
invalid_utf7_refused(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_utf7) / sizeof(*bad_utf7); i++) {
		struct buf b;

		buf_init(&b, 0);
		if (imap_utf7_to_utf8(bad_utf7[i].utf7, bad_utf7[i].len, &b) ==
		    0)
			fail_msg("%s accepted as %s", bad_utf7[i].name,
				 buf_cstr(&b));
		buf_free(&b);
	}
}

static const struct {
	const char *name;
	const char *utf8;
	size_t len;
} bad_utf8[] = {
	{"truncated", "a\xc3", 2},
	{"overlong_slash", "\xc0\xaf", 2},
	{"overlong_three_bytes", "\xe0\x80\xaf", 3},
	{"surrogate", "\xed\xa0\x80", 3},
	{"above_10ffff", "\xf4\x90\x80\x80", 4},
	{"invalid_byte", "\xff", 1},
	{"bare_continuation", "\x80", 1},
	{"nul", "a\0b", 3},
};

static void
invalid_utf8_refused(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_utf8) / sizeof(*bad_utf8); i++) {
		struct buf b;

		buf_init(&b, 0);
		if (imap_utf8_to_utf7(bad_utf8[i].utf8, bad_utf8[i].len, &b) ==
		    0)
			fail_msg("%s accepted as %s", bad_utf8[i].name,
				 buf_cstr(&b));
		buf_free(&b);
	}
}

static void
output_limit_is_an_error(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(imap_utf8_to_utf7("\xc3\xa9\xc3\xa9", 4, &b), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_pairs_encode_and_decode),
		cmocka_unit_test(invalid_utf7_refused),
		cmocka_unit_test(invalid_utf8_refused),
		cmocka_unit_test(output_limit_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
