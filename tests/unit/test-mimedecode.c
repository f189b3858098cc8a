/* Unit tests for the SEARCH text helpers: RFC 2047 encoded words, charset
 * conversion, base64 and quoted-printable, case-insensitive matching, and
 * HEADER / BODY / TEXT search over the corpus in tests/data/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/io.h"
#include "protocol/mime-private.h"

static const struct {
	const char *name, *in, *out;
} words[] = {
	{"plain text is unchanged", "hello world", "hello world"},
	{"Q word in UTF-8", "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=",
	 "Gr\xc3\xbc\xc3\x9f"
	 "e"},
	{"B word in UTF-8", "=?utf-8?b?SsO8cmdlbg==?=", "J\xc3\xbcrgen"},
	{"Latin-1 Q word becomes UTF-8",
	 "=?ISO-8859-1?Q?Andr=E9?=", "Andr\xc3\xa9"},
	{"underscore in Q is a space", "=?us-ascii?q?a_b?=", "a b"},
	{"space between adjacent words is dropped",
	 "=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab"},
	{"folding between adjacent words is dropped",
	 "=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=", "ab"},
	{"text between words keeps its spaces",
	 "=?UTF-8?Q?a?= x =?UTF-8?Q?b?=", "a x b"},
	{"unknown charset keeps the decoded bytes",
	 "=?x-weird?Q?=41=42?=", "AB"},
	{"language suffix of RFC 2231 is ignored",
	 "=?UTF-8*de?Q?=C3=A4?=", "\xc3\xa4"},
	{"Windows-1252 quotes",
	 "=?windows-1252?Q?=93x=94?=", "\xe2\x80\x9cx\xe2\x80\x9d"},
	{"ISO-8859-15 euro sign", "=?iso-8859-15?q?=A4?=", "\xe2\x82\xac"},
	{"unterminated word is left alone", "=?UTF-8?Q?abc", "=?UTF-8?Q?abc"},
	{"word with a space inside is not a word",
	 "=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?="},
	{"bad encoding letter is not a word",
	 "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?="},
};

static void
encoded_words_decode_to_utf8(void **state)
{
	struct arena *a = arena_new();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		const char *got =
			mime_decode_header(a, words[i].in, strlen(words[i].in));

		if (strcmp(got, words[i].out) != 0)
			fail_msg("%s: got \"%s\"", words[i].name, got);
	}
	arena_free(&a);
}

static const struct {
	const char *name, *in, *out;
	bool qp;
} transfer[] = {
	{"base64 with line breaks", "SGVs\r\nbG8=", "Hello", false},
	{"base64 ignores junk", "SGV*sbG8h", "Hello!", false},
	{"base64 stops at padding", "SGk=SGk=", "Hi", false},
	{"qp hex escapes", "caf=C3=A9", "caf\xc3\xa9", true},
	{"qp soft line break", "long=\r\nline", "longline", true},
	{"qp soft break with trailing space and bare LF", "a= \nb", "ab", true},
	{"qp lower-case hex", "=e9", "\xe9", true},
	{"qp invalid escape kept", "100=%", "100=%", true},
	{"qp equals at end is a soft break", "end=", "end", true},
};

static void
transfer_encodings_decode(void **state)
{
	struct buf out;
	size_t i;

	(void)state;
	buf_init(&out, 0);
	for (i = 0; i < sizeof(transfer) / sizeof(transfer[0]); i++) {
		const unsigned char *in = (const unsigned char *)transfer[i].in;

		buf_reset(&out);
		assert_int_equal(
			transfer[i].qp
				? mime_decode_qp(&out, in,
						 strlen(transfer[i].in))
				: mime_decode_base64(&out, in,
						     strlen(transfer[i].in)),
			0);
		if (strcmp(buf_cstr(&out), transfer[i].out) != 0)
			fail_msg("%s: got \"%s\"", transfer[i].name,
				 buf_cstr(&out));
	}
	buf_free(&out);
	buf_init(&out, 2);
	assert_int_equal(
		mime_decode_base64(&out, (const unsigned char *)"SGVsbG8=", 8),
		-1);
	buf_free(&out);
}

static const struct {
	const char *name, *hay, *needle;
	bool found;
} folds[] = {
	{"ASCII case is ignored", "Hello World", "WORLD", true},
	{"Latin-1 capitals fold", "\xc3\x89t\xc3\xa9", "\xc3\xa9T\xc3\x89",
	 true},
	{"different letters do not match", "abc", "abd", false},
	{"empty needle matches", "abc", "", true},
	{"needle longer than text", "ab", "abc", false},
	{"multiplication sign does not fold to division sign", "\xc3\x97",
	 "\xc3\xb7", false},
};

static void
matching_is_case_insensitive(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(folds) / sizeof(folds[0]); i++)
		if (mime_text_contains((const unsigned char *)folds[i].hay,
				       strlen(folds[i].hay),
				       folds[i].needle) != folds[i].found)
			fail_msg("%s", folds[i].name);
}

static const struct {
	const char *file;
	enum mime_search_where where;
	const char *header, *needle;
	bool found;
} searches[] = {
	{"mime-encoded-words", MIME_SEARCH_HEADER, "Subject",
	 "gr\xc3\xbc\xc3\x9f"
	 "e aus m\xc3\xbcnchen",
	 true},
	{"mime-encoded-words", MIME_SEARCH_HEADER, "from", "J\xc3\x9cRGEN",
	 true},
	{"mime-encoded-words", MIME_SEARCH_HEADER, "to", "Fran\xc3\xa7ois",
	 true},
	{"mime-encoded-words", MIME_SEARCH_HEADER, "Subject", "juergen", false},
	{"mime-encoded-words", MIME_SEARCH_HEADER, "X-Missing", "", false},
	{"mime-encoded-words", MIME_SEARCH_HEADER, "Date", "", true},
	{"mime-encoded-words", MIME_SEARCH_BODY, NULL,
	 "sch\xc3\xb6ne gr\xc3\xbc\xc3\x9f"
	 "e",
	 true},
	{"mime-encoded-words", MIME_SEARCH_BODY, NULL, "Subject", false},
	{"mime-encoded-words", MIME_SEARCH_TEXT, NULL, "m\xc3\xbcnchen", true},
	{"mime-alternative", MIME_SEARCH_BODY, NULL, "s'il vous pla\xc3\xaet",
	 true},
	{"mime-alternative", MIME_SEARCH_BODY, NULL, "<p>caf\xc3\xa9 au", true},
	{"mime-alternative", MIME_SEARCH_BODY, NULL, "preamble", false},
	{"mime-related", MIME_SEARCH_BODY, NULL, "thanks for your order", true},
	{"mime-related", MIME_SEARCH_BODY, NULL, "JVBERi", false},
	{"mime-nested-rfc822", MIME_SEARCH_BODY, NULL, "<b>hi</b>", true},
	{"mime-nested-rfc822", MIME_SEARCH_BODY, NULL, "orig@example.org",
	 false},
	{"mime-nested-rfc822", MIME_SEARCH_TEXT, NULL, "orig@example.org",
	 true},
	{"mime-related", MIME_SEARCH_BODY, NULL, "invoice", false},
	{"mime-related", MIME_SEARCH_TEXT, NULL, "invoice", true},
	{"mime-nested-rfc822", MIME_SEARCH_HEADER, "subject", "Fwd", true},
	{"mime-8bit-nul", MIME_SEARCH_BODY, NULL, "NUL:", true},
	{"mime-8bit-nul", MIME_SEARCH_BODY, NULL, "here", true},
	{"mime-8bit-nul", MIME_SEARCH_HEADER, "subject", "CAF\xc3\x89", true},
};

static void
search_finds_decoded_text(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(searches) / sizeof(searches[0]); i++) {
		char path[256];
		struct buf msg;
		bool got;

		(void)snprintf(path, sizeof(path), "tests/data/%s.eml",
			       searches[i].file); /* short constant names */
		buf_init(&msg, 0);
		if (io_read_file(path, &msg) < 0)
			fail_msg("cannot read %s", path);
		got = mime_search_text((const unsigned char *)msg.data, msg.len,
				       searches[i].needle, searches[i].where,
				       searches[i].header);
		if (got != searches[i].found)
			fail_msg("%s: search %d %s \"%s\" gave %d",
				 searches[i].file, (int)searches[i].where,
				 searches[i].header != NULL ? searches[i].header
							    : "-",
				 searches[i].needle, (int)got);
		buf_free(&msg);
	}
}

/* One parse serves many searches, and their scratch memory is reused. */
static void
search_on_parsed_message_reuses_memory(void **state)
{
	static const char msg[] = "Subject: =?UTF-8?Q?=C3=84pfel?=\r\n"
				  "X-Tag: one\r\nX-Tag: two\r\n\r\nBody text";
	struct arena *a = arena_new();
	struct mime_message *m;
	struct arena_mark before, after;
	int i;

	(void)state;
	m = mime_parse(a, (const unsigned char *)msg, sizeof(msg) - 1);
	before = arena_mark(a);
	for (i = 0; i < 1000; i++) {
		assert_true(mime_search_message(a, m, "\xc3\xa4PFEL",
						MIME_SEARCH_HEADER, "subject"));
		assert_true(mime_search_message(a, m, "two", MIME_SEARCH_HEADER,
						"x-tag"));
		assert_false(mime_search_message(a, m, "three",
						 MIME_SEARCH_HEADER, "x-tag"));
		assert_true(mime_search_message(a, m, "body", MIME_SEARCH_BODY,
						NULL));
		assert_false(mime_search_message(a, m, "\xc3\xa4pfel",
						 MIME_SEARCH_BODY, NULL));
		assert_true(mime_search_message(a, m, "\xc3\xa4pfel",
						MIME_SEARCH_TEXT, NULL));
	}
	after = arena_mark(a);
	assert_ptr_equal(before.chunk, after.chunk);
	assert_int_equal(before.used, after.used);
	arena_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encoded_words_decode_to_utf8),
		cmocka_unit_test(transfer_encodings_decode),
		cmocka_unit_test(matching_is_case_insensitive),
		cmocka_unit_test(search_finds_decoded_text),
		cmocka_unit_test(search_on_parsed_message_reuses_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
