/* Unit tests for the response writer: atom, quoted string or literal
 * chosen by content, each form parsed back by our own parser to the same
 * bytes; status lines; the error-kind to RFC 5530 code mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/imap-private.h"

struct resp_case {
	const char *name;
	const char *str;
	size_t len; /* 0: strlen */
	const char *astring, *string;
};

#define BIN(s) s, sizeof(s) - 1

static const struct resp_case cases[] = {
	{"plain_word_is_atom", "INBOX", 0, "INBOX", "\"INBOX\""},
	{"empty_is_quoted", "", 0, "\"\"", "\"\""},
	{"nil_is_quoted", "NIL", 0, "\"NIL\"", "\"NIL\""},
	{"nil_any_case_is_quoted", "nIl", 0, "\"nIl\"", "\"nIl\""},
	{"space_is_quoted", "a b", 0, "\"a b\"", "\"a b\""},
	{"wildcards_are_quoted", "a%b*", 0, "\"a%b*\"", "\"a%b*\""},
	{"resp_special_stays_atom", "a]b", 0, "a]b", "\"a]b\""},
	{"brace_is_quoted", "{3}", 0, "\"{3}\"", "\"{3}\""},
	{"parens_are_quoted", "(x)", 0, "\"(x)\"", "\"(x)\""},
	{"dquote_escaped", "a\"b", 0, "\"a\\\"b\"", "\"a\\\"b\""},
	{"backslash_escaped", "a\\b", 0, "\"a\\\\b\"", "\"a\\\\b\""},
	{"eight_bit_is_literal", "\xc3\xa9", 0, "{2}\r\n\xc3\xa9",
	 "{2}\r\n\xc3\xa9"},
	{"crlf_is_literal", "a\r\nb", 0, "{4}\r\na\r\nb", "{4}\r\na\r\nb"},
	/* CHAR8 excludes NUL: it goes out as 0x80, as in body sections. */
	{"nul_is_literal_as_0x80", BIN("a\0b"),
	 "{3}\r\na\x80"
	 "b",
	 "{3}\r\na\x80"
	 "b"},
	{"tab_is_literal", "a\tb", 0, "{3}\r\na\tb", "{3}\r\na\tb"},
	{"del_is_literal", "a\x7f", 0, "{2}\r\na\x7f", "{2}\r\na\x7f"},
};

/* Parse "a X <form>\r\n" and check the one argument holds str. */
static void
parse_back(const char *name, const struct buf *form, const char *str,
	   size_t len)
{
	struct arena *a = arena_new();
	struct imap_limits lim;
	struct imap_command cmd;
	struct buf line;
	const char *error;

	imap_limits_default(&lim);
	buf_init(&line, 0);
	assert_int_equal(buf_puts(&line, "a X "), 0);
	assert_int_equal(buf_append(&line, form->data, form->len), 0);
	assert_int_equal(buf_puts(&line, "\r\n"), 0);
	if (imap_parse_command(a, &lim, line.data, line.len, &cmd, &error) !=
		    IMAP_PARSE_OK ||
	    cmd.count != 1 || cmd.args[0].len != len ||
	    memcmp(cmd.args[0].str, str, len) != 0)
		fail_msg("%s: %s does not parse back", name, buf_cstr(form));
	buf_free(&line);
	arena_free(&a);
}

static void
strings_choose_form_and_parse_back(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct resp_case *c = &cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->str), j;
		char back[16]; /* what a client reads: NUL became 0x80 */
		struct buf b;

		assert_true(len <= sizeof(back));
		for (j = 0; j < len; j++)
			back[j] = c->str[j] != '\0' ? c->str[j] : '\x80';
		buf_init(&b, 0);
		assert_int_equal(imap_resp_astring(&b, c->str, len), 0);
		if (b.len != strlen(c->astring) ||
		    memcmp(b.data, c->astring, b.len) != 0)
			fail_msg("%s: astring %s", c->name, buf_cstr(&b));
		parse_back(c->name, &b, back, len);
		buf_reset(&b);
		assert_int_equal(imap_resp_string(&b, c->str, len), 0);
		if (b.len != strlen(c->string) ||
		    memcmp(b.data, c->string, b.len) != 0)
			fail_msg("%s: string %s", c->name, buf_cstr(&b));
		parse_back(c->name, &b, back, len);
		buf_free(&b);
	}
}

static void
long_string_is_literal(void **state)
{
	char big[2000];
	struct buf b;

	(void)state;
	memset(big, 'x', sizeof(big));
	buf_init(&b, 0);
	assert_int_equal(imap_resp_string(&b, big, sizeof(big)), 0);
	assert_memory_equal(b.data, "{2000}\r\n", 8);
	buf_reset(&b);
	assert_int_equal(imap_resp_nstring(&b, NULL, 0), 0);
	assert_string_equal(buf_cstr(&b), "NIL");
	buf_reset(&b);
	assert_int_equal(imap_resp_nstring(&b, "NIL", 3), 0);
	assert_string_equal(buf_cstr(&b), "\"NIL\"");
	buf_free(&b);
}

static void
writer_respects_buffer_maximum(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(imap_resp_string(&b, "abcdef", 6), -1);
	buf_free(&b);
}

static int
capture(void *ctx, const void *data, size_t len)
{
	return buf_append(ctx, data, len);
}

static void
status_lines_and_bad_count(void **state)
{
	static const struct imap_hooks hooks = {capture, NULL};
	struct imap_session s;
	struct buf out;

	(void)state;
	memset(&s, 0, sizeof(s));
	buf_init(&out, 0);
	buf_init(&s.out, 0);
	s.hooks = &hooks;
	s.ctx = &out;
	imap_resp_tagged(&s, "a1", IMAP_RESP_BAD, NULL, "Nope");
	imap_resp_tagged(&s, NULL, IMAP_RESP_BAD, NULL, "Who");
	assert_int_equal(s.bad_in_row, 2);
	imap_resp_tagged(&s, "a2", IMAP_RESP_NO, "NONEXISTENT", "No such");
	assert_int_equal(s.bad_in_row, 0);
	imap_resp_untagged(&s, IMAP_RESP_BYE, NULL, "Bye");
	imap_resp_untagged(&s, IMAP_RESP_OK, "ALERT", "Hi");
	assert_int_equal(imap_resp_flush(&s), 0);
	assert_string_equal(buf_cstr(&out), "a1 BAD Nope\r\n* BAD Who\r\n"
					    "a2 NO [NONEXISTENT] No such\r\n"
					    "* BYE Bye\r\n* OK [ALERT] Hi\r\n");
	buf_free(&s.out);
	buf_free(&out);
}

static void
error_kinds_map_to_rfc5530_codes(void **state)
{
	(void)state;
	assert_string_equal(imap_resp_code_for(MD_ERR_NOTFOUND), "NONEXISTENT");
	assert_string_equal(imap_resp_code_for(MD_ERR_EXISTS), "ALREADYEXISTS");
	assert_string_equal(imap_resp_code_for(MD_ERR_PERM), "NOPERM");
	assert_string_equal(imap_resp_code_for(MD_ERR_LOCKED), "INUSE");
	assert_string_equal(imap_resp_code_for(MD_ERR_NOSPACE), "OVERQUOTA");
	assert_string_equal(imap_resp_code_for(MD_ERR_LIMIT), "LIMIT");
	assert_string_equal(imap_resp_code_for(MD_ERR_EXPUNGED),
			    "EXPUNGEISSUED");
	assert_string_equal(imap_resp_code_for(MD_ERR_TOOBIG), "TOOBIG");
	assert_string_equal(imap_resp_code_for(MD_ERR_INTERNAL), "SERVERBUG");
	assert_string_equal(imap_resp_code_for(MD_ERR_BADNAME), "CANNOT");
	assert_string_equal(imap_resp_code_for(MD_ERR_NOTALLOWED), "CANNOT");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strings_choose_form_and_parse_back),
		cmocka_unit_test(long_string_is_literal),
		cmocka_unit_test(writer_respects_buffer_maximum),
		cmocka_unit_test(status_lines_and_bad_count),
		cmocka_unit_test(error_kinds_map_to_rfc5530_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
