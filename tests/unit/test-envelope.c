/* Unit tests for ENVELOPE (RFC 3501 section 7.4.2): the corpus in
 * tests/data/, address lists with groups, routes and comments, the
 * Sender / Reply-To defaults, and the nstring writer. */
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

static char *
envelope(struct arena *a, const unsigned char *data, size_t len)
{
	struct mime_message *m = mime_parse(a, data, len);
	struct buf out;
	char *s;

	buf_init(&out, 0);
	assert_int_equal(mime_write_envelope(&out, a, m, m->root), 0);
	s = arena_strndup(a, buf_cstr(&out), out.len);
	buf_free(&out);
	return s;
}

static const struct {
	const char *file, *envelope;
} corpus[] = {
	{"mime-plain",
	 "(\"Mon, 7 Feb 1994 21:52:25 -0800 (PST)\" \"afternoon meeting\" "
	 "((\"Alice Example\" NIL \"alice\" \"example.org\")) ((\"Alice Ex"
	 "ample\" NIL \"alice\" \"example.org\")) ((\"Alice Example\" NIL "
	 "\"alice\" \"example.org\")) ((NIL NIL \"bob\" \"example.com\")("
	 "\"Carol, C.\" NIL \"carol\" \"example.net\")) ((\"Dave\" NIL \"d"
	 "ave\" \"example.com\")) NIL \"<x1@example.com>\" \"<B27397-01000"
	 "00@example.org>\")"},
	{"mime-alternative",
	 "(\"Tue, 1 Mar 2022 10:00:00 +0000\" \"alt\" ((NIL NIL \"alice\" "
	 "\"example.org\")) ((NIL NIL \"alice\" \"example.org\")) ((NIL NI"
	 "L \"alice\" \"example.org\")) ((NIL NIL \"bob\" \"example.com\")"
	 ") NIL NIL NIL \"<alt@example.org>\")"},
	{"mime-related",
	 "(\"Wed, 2 Mar 2022 11:00:00 +0100\" \"Your order\" ((\"Web Shop"
	 "\" NIL \"shop\" \"example.com\")) ((\"Web Shop\" NIL \"shop\" \""
	 "example.com\")) ((\"Web Shop\" NIL \"shop\" \"example.com\")) (("
	 "NIL NIL \"customer\" \"example.org\")) NIL NIL NIL NIL)"},
	{"mime-nested-rfc822",
	 "(\"Thu, 3 Mar 2022 12:00:00 +0000\" \"Fwd: hello\" ((NIL NIL \"f"
	 "wd\" \"example.com\")) ((NIL NIL \"fwd\" \"example.com\")) ((NIL"
	 " NIL \"fwd\" \"example.com\")) ((NIL NIL \"you\" \"example.net\""
	 ")) NIL NIL NIL NIL)"},
	{"mime-broken",
	 "(NIL \"broken boundaries\" ((NIL NIL \"broken\" \"example.com\")"
	 ") ((NIL NIL \"broken\" \"example.com\")) ((NIL NIL \"broken\" \""
	 "example.com\")) NIL NIL NIL NIL NIL)"},
	{"mime-no-header", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"},
	{"mime-header-only",
	 "(NIL \"nothing else\" ((NIL NIL \"a\" \"example.com\")) ((NIL NI"
	 "L \"a\" \"example.com\")) ((NIL NIL \"a\" \"example.com\")) NIL "
	 "NIL NIL NIL NIL)"},
	{"mime-bare-lf",
	 "(NIL \"bare LF\" ((NIL NIL \"lf\" \"example.com\")) ((NIL NIL \""
	 "lf\" \"example.com\")) ((NIL NIL \"lf\" \"example.com\")) NIL NI"
	 "L NIL NIL NIL)"},
	{"mime-8bit-nul",
	 "(NIL {10}\r\ncaf\xc3\xa9 8bit ((\"=?ISO-8859-1?Q?Andr=E9?=\" NIL"
	 " \"andre\" \"example.com\")) ((\"=?ISO-8859-1?Q?Andr=E9?=\" NIL "
	 "\"andre\" \"example.com\")) ((\"=?ISO-8859-1?Q?Andr=E9?=\" NIL "
	 "\"andre\" \"example.com\")) NIL NIL NIL NIL NIL)"},
	{"mime-encoded-words",
	 "(\"Fri, 4 Mar 2022 08:00:00 +0100\" \"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?"
	 "= =?UTF-8?Q?_aus_M=C3=BCnchen?=\" ((\"=?UTF-8?B?SsO8cmdlbg==?=\""
	 " NIL \"juergen\" \"example.de\")) ((\"=?UTF-8?B?SsO8cmdlbg==?=\""
	 " NIL \"juergen\" \"example.de\")) ((\"=?UTF-8?B?SsO8cmdlbg==?=\""
	 " NIL \"juergen\" \"example.de\")) ((\"=?iso-8859-1?q?Fran=E7ois?"
	 "=\" NIL \"fr\" \"example.fr\")) NIL NIL NIL NIL)"},
	{"mime-groups",
	 "(NIL \"groups\" ((\"Joe Q. Public\" NIL \"john.q.public\" \"exam"
	 "ple.com\")) ((NIL \"@relay1.example,@relay2.example\" \"jdoe\" "
	 "\"example.org\")) ((\"Joe Q. Public\" NIL \"john.q.public\" \"ex"
	 "ample.com\")) ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL "
	 "NIL NIL)) ((NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a."
	 "test\")(NIL NIL \"joe\" \"where.test\")(\"John\" NIL \"jdoe\" \""
	 "one.test\")(NIL NIL NIL NIL)(\"Mary Smith\" NIL \"mary\" \"x.tes"
	 "t\")) NIL NIL \"<g@example.com>\")"},
	{"mime-digest",
	 "(NIL \"digest\" ((NIL NIL \"digest\" \"example.com\")) ((NIL NIL"
	 " \"digest\" \"example.com\")) ((NIL NIL \"digest\" \"example.com"
	 "\")) NIL NIL NIL NIL NIL)"},
};

static void
corpus_envelopes_match_rfc3501(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		struct arena *a = arena_new();
		struct buf msg;
		char path[256];
		const char *got;

		(void)snprintf(path, sizeof(path), "tests/data/%s.eml",
			       corpus[i].file); /* short constant names */
		buf_init(&msg, 0);
		if (io_read_file(path, &msg) < 0)
			fail_msg("cannot read %s", path);
		got = envelope(a, (const unsigned char *)msg.data, msg.len);
		if (strcmp(got, corpus[i].envelope) != 0)
			fail_msg("%s:\n got %s\nwant %s", corpus[i].file, got,
				 corpus[i].envelope);
		buf_free(&msg);
		arena_free(&a);
	}
}

/* Each case is one header block; only the fields it names matter. */
static const struct {
	const char *name, *header, *envelope;
} cases[] = {
	{"no header at all gives all NIL", "\r\nbody\r\n",
	 "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"},
	{"empty subject is an empty string, not NIL", "Subject:\r\n\r\n",
	 "(NIL \"\" NIL NIL NIL NIL NIL NIL NIL NIL)"},
	{"folded subject is unfolded, first occurrence wins",
	 "Subject: a\r\n  b\r\nSubject: second\r\n\r\n",
	 "(NIL \"a  b\" NIL NIL NIL NIL NIL NIL NIL NIL)"},
	{"quoted specials in a subject are escaped",
	 "Subject: say \"hi\" \\o/\r\n\r\n",
	 "(NIL \"say \\\"hi\\\" \\\\o/\" NIL NIL NIL NIL NIL NIL NIL NIL)"},
	{"sender and reply-to default to from",
	 "From: a@b.c\r\nReply-To:  \r\n\r\n",
	 "(NIL NIL ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) "
	 "((NIL NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)"},
	{"explicit sender and reply-to are kept",
	 "From: a@b.c\r\nSender: s@b.c\r\nReply-To: r@b.c\r\n\r\n",
	 "(NIL NIL ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"s\" \"b.c\")) "
	 "((NIL NIL \"r\" \"b.c\")) NIL NIL NIL NIL NIL)"},
	{"quoted display name loses its quoting",
	 "To: \"Smith, \\\"J\\\"\" <j@x.y>\r\n\r\n",
	 "(NIL NIL NIL NIL NIL ((\"Smith, \\\"J\\\"\" NIL \"j\" \"x.y\")) NIL "
	 "NIL NIL NIL)"},
	{"trailing comment becomes the name of a bare address",
	 "Cc: joe@x.y (Joe Bloggs)\r\n\r\n",
	 "(NIL NIL NIL NIL NIL NIL ((\"Joe Bloggs\" NIL \"joe\" \"x.y\")) NIL "
	 "NIL NIL)"},
	{"address without a domain gets an empty host",
	 "Bcc: postmaster\r\n\r\n",
	 "(NIL NIL NIL NIL NIL NIL NIL ((NIL NIL \"postmaster\" \"\")) NIL "
	 "NIL)"},
	{"empty group is its start and end markers",
	 "To: Undisclosed recipients:;\r\n\r\n",
	 "(NIL NIL NIL NIL NIL ((NIL NIL \"Undisclosed recipients\" NIL)"
	 "(NIL NIL NIL NIL)) NIL NIL NIL NIL)"},
	{"group without its semicolon is still closed",
	 "To: g: a@b.c, d@e.f\r\n\r\n",
	 "(NIL NIL NIL NIL NIL ((NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b.c\")"
	 "(NIL NIL \"d\" \"e.f\")(NIL NIL NIL NIL)) NIL NIL NIL NIL)"},
	{"null return path gives no address", "From: <>\r\n\r\n",
	 "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"},
	{"quoted local part and domain literal are kept as written",
	 "To: \"john doe\"@[127.0.0.1]\r\n\r\n",
	 "(NIL NIL NIL NIL NIL ((NIL NIL \"\\\"john doe\\\"\" "
	 "\"[127.0.0.1]\")) "
	 "NIL NIL NIL NIL)"},
	{"garbage between addresses is skipped",
	 "To: a@b.c >>junk<<, <d@e.f>\r\n\r\n",
	 "(NIL NIL NIL NIL NIL ((NIL NIL \"a\" \"b.c\")(NIL NIL \"d\" "
	 "\"e.f\")) "
	 "NIL NIL NIL NIL)"},
	{"message-id and in-reply-to are raw strings",
	 "In-Reply-To: <a@b> <c@d>\r\nMessage-ID:\r\n <m@x>\r\n\r\n",
	 "(NIL NIL NIL NIL NIL NIL NIL NIL \"<a@b> <c@d>\" \"<m@x>\")"},
	{"header field names are case-insensitive",
	 "sUbJeCt: x\r\nDATE: d\r\n\r\n",
	 "(\"d\" \"x\" NIL NIL NIL NIL NIL NIL NIL NIL)"},
	{"unfolding drops a bare CR inside a field", "Subject: a\rb\r\n\r\n",
	 "(NIL \"ab\" NIL NIL NIL NIL NIL NIL NIL NIL)"},
	{"a tab or an 8-bit byte makes a literal",
	 "Subject: a\tb\r\nDate: \xe9\r\n\r\n",
	 "({1}\r\n\xe9 {3}\r\na\tb NIL NIL NIL NIL NIL NIL NIL NIL)"},
};

static void
header_cases_give_expected_envelope(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arena *a = arena_new();
		const char *h = cases[i].header;
		const char *got =
			envelope(a, (const unsigned char *)h, strlen(h));

		if (strcmp(got, cases[i].envelope) != 0)
			fail_msg("%s:\n got %s\nwant %s", cases[i].name, got,
				 cases[i].envelope);
		arena_free(&a);
	}
}

static const struct {
	const char *name, *in;
	size_t len;
	const char *out;
} nstrings[] = {
	{"plain text is quoted", "abc", 3, "\"abc\""},
	{"empty string is quoted", "", 0, "\"\""},
	{"quote and backslash are escaped", "a\"b\\", 4, "\"a\\\"b\\\\\""},
	{"CRLF forces a literal", "a\r\nb", 4, "{4}\r\na\r\nb"},
	{"8-bit forces a literal", "\xc3\xa9", 2, "{2}\r\n\xc3\xa9"},
	{"NUL bytes become 0x80 in a literal", "a\0b", 3,
	 "{3}\r\na\x80"
	 "b"},
};

static void
nstring_picks_quoted_or_literal(void **state)
{
	struct buf out;
	size_t i;
	char big[2000];

	(void)state;
	buf_init(&out, 0);
	for (i = 0; i < sizeof(nstrings) / sizeof(nstrings[0]); i++) {
		buf_reset(&out);
		assert_int_equal(mime_write_nstring_n(&out, nstrings[i].in,
						      nstrings[i].len),
				 0);
		if (out.len != strlen(nstrings[i].out) ||
		    memcmp(out.data, nstrings[i].out, out.len) != 0)
			fail_msg("%s: got %s", nstrings[i].name,
				 buf_cstr(&out));
	}
	buf_reset(&out);
	assert_int_equal(mime_write_nstring(&out, NULL), 0);
	assert_string_equal(buf_cstr(&out), "NIL");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_reset(&out);
	assert_int_equal(mime_write_nstring(&out, big), 0);
	assert_memory_equal(out.data, "{1999}\r\nxxx", 11);
	buf_free(&out);
	buf_init(&out, 4);
	assert_int_equal(mime_write_nstring(&out, "toolong"), -1);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(corpus_envelopes_match_rfc3501),
		cmocka_unit_test(header_cases_give_expected_envelope),
		cmocka_unit_test(nstring_picks_quoted_or_literal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
