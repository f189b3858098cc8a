/* Unit tests for the MIME parser and BODY / BODYSTRUCTURE (RFC 3501
 * section 7.4.2) over the corpus in tests/data/, plus malformed input:
 * bare LF, broken boundaries, depth and part limits. */
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

static void
load(const char *name, struct buf *b)
{
	char path[256];
	int n = snprintf(path, sizeof(path), "tests/data/%s.eml", name);

	assert_true(n > 0 && (size_t)n < sizeof(path));
	buf_init(b, 0);
	if (io_read_file(path, b) < 0)
		fail_msg("cannot read %s (run from the top directory)", path);
}

static char *
structure(struct arena *a, const unsigned char *data, size_t len, bool extended)
{
	struct mime_message *m = mime_parse(a, data, len);
	struct buf out;
	char *s;

	buf_init(&out, 0);
	assert_int_equal(
		mime_write_bodystructure(&out, a, m, m->root, extended), 0);
	s = arena_strdup(a, buf_cstr(&out));
	buf_free(&out);
	return s;
}

static const struct {
	const char *file, *body, *bodystructure;
} corpus[] = {
	{"mime-plain",
	 "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" "
	 "37 2)",
	 "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" "
	 "37 2 NIL NIL NIL NIL)"},
	{"mime-alternative",
	 "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-pr"
	 "intable\" 43 1)(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NI"
	 "L \"base64\" 28 0) \"alternative\")",
	 "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-pr"
	 "intable\" 43 1 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" "
	 "\"utf-8\") NIL NIL \"base64\" 28 0 NIL NIL NIL NIL) \"alternativ"
	 "e\" (\"boundary\" \"b1\") NIL NIL NIL)"},
	{"mime-related",
	 "((((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit"
	 "\" 22 0)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \""
	 "7bit\" 39 0) \"alternative\")(\"image\" \"png\" (\"name\" \"logo"
	 ".png\") \"<logo@shop>\" NIL \"base64\" 12) \"related\")(\"applic"
	 "ation\" \"pdf\" NIL NIL \"invoice\" \"base64\" 12) \"mixed\")",
	 "((((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit"
	 "\" 22 0 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"us-asc"
	 "ii\") NIL NIL \"7bit\" 39 0 NIL NIL (\"en\" \"fr\") NIL) \"alter"
	 "native\" (\"boundary\" \"alt\") NIL NIL NIL)(\"image\" \"png\" ("
	 "\"name\" \"logo.png\") \"<logo@shop>\" NIL \"base64\" 12 NIL (\""
	 "inline\" (\"filename\" \"logo.png\")) NIL NIL) \"related\" (\"bo"
	 "undary\" \"rel\" \"type\" \"multipart/alternative\") NIL NIL NIL"
	 ")(\"application\" \"pdf\" NIL NIL \"invoice\" \"base64\" 12 \"Q2"
	 "hlY2sgSW50ZWdyaXR5IQ==\" (\"attachment\" (\"filename*\" \"utf-8'"
	 "'Rechnung%20M%C3%A4rz.pdf\")) NIL \"http://example.com/r.pdf\") "
	 "\"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)"},
	{"mime-nested-rfc822",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\""
	 " 10 0)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 294 (\"Wed, 2"
	 " Mar 2022 09:00:00 +0000\" \"hello\" ((NIL NIL \"orig\" \"exampl"
	 "e.org\")) ((NIL NIL \"orig\" \"example.org\")) ((NIL NIL \"orig"
	 "\" \"example.org\")) ((NIL NIL \"fwd\" \"example.com\")) NIL NIL"
	 " NIL \"<orig@example.org>\") ((\"text\" \"plain\" (\"charset\" "
	 "\"us-ascii\") NIL NIL \"7bit\" 2 0)(\"text\" \"html\" (\"charset"
	 "\" \"us-ascii\") NIL NIL \"7bit\" 9 0) \"alternative\") 17) \"mi"
	 "xed\")",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\""
	 " 10 0 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit"
	 "\" 294 (\"Wed, 2 Mar 2022 09:00:00 +0000\" \"hello\" ((NIL NIL "
	 "\"orig\" \"example.org\")) ((NIL NIL \"orig\" \"example.org\")) "
	 "((NIL NIL \"orig\" \"example.org\")) ((NIL NIL \"fwd\" \"example"
	 ".com\")) NIL NIL NIL \"<orig@example.org>\") ((\"text\" \"plain"
	 "\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 0 NIL NIL NIL N"
	 "IL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit"
	 "\" 9 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"in\") NI"
	 "L NIL NIL) 17 NIL (\"attachment\" NIL) NIL NIL) \"mixed\" (\"bou"
	 "ndary\" \"m\") NIL NIL NIL)"},
	{"mime-broken",
	 "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	 "12 0) \"alternative\")((\"text\" \"plain\" (\"charset\" "
	 "\"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")(\"text\" \"plain\" "
	 "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 31 1) \"mixed\")",
	 "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	 "12 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"y\") NIL NIL "
	 "NIL)((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	 "\"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" NIL NIL NIL NIL)(\"text\" "
	 "\"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 31 1 NIL "
	 "NIL NIL NIL) \"mixed\" (\"boundary\" \"x\") NIL NIL NIL)"},
	{"mime-no-header",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	 "37 2)",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	 "37 2 NIL NIL NIL NIL)"},
	{"mime-header-only",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	 "0 0)",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	 "0 0 NIL NIL NIL NIL)"},
	{"mime-bare-lf",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\""
	 " 8 1) \"mixed\")",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\""
	 " 8 1 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"zz\") NIL NIL NI"
	 "L)"},
	{"mime-8bit-nul",
	 "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 25 "
	 "1)",
	 "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 25 "
	 "1 NIL NIL NIL NIL)"},
	{"mime-encoded-words",
	 "(\"text\" \"plain\" (\"charset\" \"iso-8859-1\") NIL NIL \"quote"
	 "d-printable\" 20 1)",
	 "(\"text\" \"plain\" (\"charset\" \"iso-8859-1\") NIL NIL \"quote"
	 "d-printable\" 20 1 NIL NIL NIL NIL)"},
	{"mime-groups",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	 "6 1)",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	 "6 1 NIL NIL NIL NIL)"},
	{"mime-digest",
	 "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 42 (NIL \"one\" (("
	 "NIL NIL \"a\" \"example.com\")) ((NIL NIL \"a\" \"example.com\")"
	 ") ((NIL NIL \"a\" \"example.com\")) NIL NIL NIL NIL NIL) (\"text"
	 "\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0) 3)"
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	 "13 0) \"digest\")",
	 "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 42 (NIL \"one\" (("
	 "NIL NIL \"a\" \"example.com\")) ((NIL NIL \"a\" \"example.com\")"
	 ") ((NIL NIL \"a\" \"example.com\")) NIL NIL NIL NIL NIL) (\"text"
	 "\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0 NIL"
	 " NIL NIL NIL) 3 NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\""
	 " \"us-ascii\") NIL NIL \"7bit\" 13 0 NIL NIL NIL NIL) \"digest\""
	 " (\"boundary\" \"d\") NIL NIL NIL)"},
};

static void
corpus_body_and_bodystructure_match_rfc3501(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		struct arena *a = arena_new();
		struct buf msg;
		const char *got;

		load(corpus[i].file, &msg);
		got = structure(a, (const unsigned char *)msg.data, msg.len,
				false);
		if (strcmp(got, corpus[i].body) != 0)
			fail_msg("%s BODY:\n got %s\nwant %s", corpus[i].file,
				 got, corpus[i].body);
		got = structure(a, (const unsigned char *)msg.data, msg.len,
				true);
		if (strcmp(got, corpus[i].bodystructure) != 0)
			fail_msg("%s BODYSTRUCTURE:\n got %s\nwant %s",
				 corpus[i].file, got, corpus[i].bodystructure);
		buf_free(&msg);
		arena_free(&a);
	}
}

/* Sizes and lines are counted on the CRLF form, so a file stored with
 * bare LF must describe itself exactly as its CRLF twin. */
static void
bare_lf_copy_gives_same_bodystructure(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		struct arena *a = arena_new();
		struct buf msg, lf;
		const char *crlf_bs, *lf_bs;

		load(corpus[i].file, &msg);
		buf_init(&lf, 0);
		for (j = 0; j < msg.len; j++)
			if (!(msg.data[j] == '\r' && j + 1 < msg.len &&
			      msg.data[j + 1] == '\n'))
				assert_int_equal(buf_putc(&lf, msg.data[j]), 0);
		crlf_bs = structure(a, (const unsigned char *)msg.data, msg.len,
				    true);
		lf_bs = structure(a, (const unsigned char *)buf_cstr(&lf),
				  lf.len, true);
		if (strcmp(crlf_bs, lf_bs) != 0)
			fail_msg("%s: LF copy differs:\n crlf %s\n   lf %s",
				 corpus[i].file, crlf_bs, lf_bs);
		buf_free(&lf);
		buf_free(&msg);
		arena_free(&a);
	}
}

static const struct {
	const char *name, *msg, *bodystructure;
} inline_cases[] = {
	{"empty message is an empty text/plain", "",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
	 "NIL NIL NIL NIL)"},
	{"multipart without any delimiter gets one empty part",
	 "Content-Type: multipart/mixed; boundary=q\r\n\r\nno parts here\r\n",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 "
	 "0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"q\") NIL NIL NIL)"},
	{"empty part between two delimiters",
	 "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n--q\r\n"
	 "\r\nx\r\n--q--\r\n",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 "
	 "0 NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") "
	 "NIL NIL \"7bit\" 1 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"q\") "
	 "NIL NIL NIL)"},
	{"delimiter with transport padding and a longer look-alike",
	 "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q  \r\n\r\n"
	 "a\r\n--qq\r\nb\r\n--q--\r\n",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 "
	 "2 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"q\") NIL NIL NIL)"},
	{"invalid content-type falls back to text/plain",
	 "Content-Type: ???\r\n\r\nbody",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 0 "
	 "NIL NIL NIL NIL)"},
	{"comments, quoted parameters and a folded content-type",
	 "Content-Type: text/plain (c) ;\r\n charset=\"ISO-8859-1\"; "
	 "format=flowed\r\nContent-Transfer-Encoding: QUOTED-PRINTABLE\r\n"
	 "\r\nx\r\n",
	 "(\"text\" \"plain\" (\"charset\" \"ISO-8859-1\" \"format\" "
	 "\"flowed\") "
	 "NIL NIL \"QUOTED-PRINTABLE\" 3 1 NIL NIL NIL NIL)"},
	{"RFC 2231 plain continuations are merged",
	 "Content-Type: application/x-stuff;\r\n title*0=\"This is \";\r\n"
	 " title*1=\"long\"\r\n\r\n",
	 "(\"application\" \"x-stuff\" (\"title\" \"This is long\") NIL NIL "
	 "\"7bit\" 0 NIL NIL NIL NIL)"},
	{"parameter with both a plain and an extended form keeps both",
	 "Content-Type: image/gif; name=\"a.gif\"; name*=UTF-8''%C3%A4.gif"
	 "\r\n\r\n",
	 "(\"image\" \"gif\" (\"name\" \"a.gif\" \"name*\" "
	 "\"UTF-8''%C3%A4.gif\") NIL NIL \"7bit\" 0 NIL NIL NIL NIL)"},
	{"message/rfc822 with an empty body",
	 "Content-Type: message/rfc822\r\n\r\n",
	 "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 0 (NIL NIL NIL NIL NIL "
	 "NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") "
	 "NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) 0 NIL NIL NIL NIL)"},
	{"multipart without boundary keeps its type and one empty part",
	 "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhi\r\n",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 "
	 "0 NIL NIL NIL NIL) \"mixed\" NIL NIL NIL NIL)"},
	{"8-bit description is sent as a literal",
	 "Content-Description: caf\xc3\xa9\r\n\r\n",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL "
	 "{5}\r\ncaf\xc3\xa9 "
	 "\"7bit\" 0 0 NIL NIL NIL NIL)"},
	{"first content-type wins even when invalid",
	 "Content-Type: bogus\r\nContent-Type: multipart/mixed; boundary=x"
	 "\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 18 4 "
	 "NIL NIL NIL NIL)"},
	{"digest without parts gets a text/plain part",
	 "Content-Type: multipart/digest; boundary=d\r\n\r\nnone\r\n",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 "
	 "0 NIL NIL NIL NIL) \"digest\" (\"boundary\" \"d\") NIL NIL NIL)"},
	{"single language tag is a list, location kept",
	 "Content-Language: de\r\nContent-Location: a b\r\n\r\n",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
	 "NIL NIL (\"de\") \"a b\")"},
	{"empty language is NIL", "Content-Language: ,\r\n\r\n",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
	 "NIL NIL NIL NIL)"},
};

static void
malformed_and_edge_messages_give_well_formed_answers(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(inline_cases) / sizeof(inline_cases[0]); i++) {
		struct arena *a = arena_new();
		const char *m = inline_cases[i].msg;
		const char *got =
			structure(a, (const unsigned char *)m, strlen(m), true);

		if (strcmp(got, inline_cases[i].bodystructure) != 0)
			fail_msg("%s:\n got %s\nwant %s", inline_cases[i].name,
				 got, inline_cases[i].bodystructure);
		arena_free(&a);
	}
}

/* Nesting beyond MIME_MAX_DEPTH ends in an opaque leaf instead of
 * recursing without bound. */
static void
deep_nesting_is_bounded(void **state)
{
	struct arena *a = arena_new();
	struct buf msg;
	struct mime_message *m;
	const struct mime_part *p;
	unsigned depth = 0;
	int i;

	(void)state;
	buf_init(&msg, 0);
	for (i = 0; i < 300; i++)
		assert_int_equal(buf_printf(&msg,
					    "Content-Type: multipart/mixed; "
					    "boundary=b%d\r\n\r\n--b%d\r\n",
					    i, i),
				 0);
	m = mime_parse(a, (const unsigned char *)msg.data, msg.len);
	for (p = m->root; p->is_multipart; p = p->children)
		depth++;
	assert_int_equal(depth, MIME_MAX_DEPTH);
	assert_string_equal(p->type, "application");
	buf_free(&msg);
	arena_free(&a);
}

static void
part_count_is_bounded(void **state)
{
	struct arena *a = arena_new();
	struct buf msg;
	struct mime_message *m;
	int i;

	(void)state;
	buf_init(&msg, 0);
	assert_int_equal(buf_puts(&msg, "Content-Type: multipart/mixed; "
					"boundary=b\r\n\r\n"),
			 0);
	for (i = 0; i < MIME_MAX_PARTS + 50; i++)
		assert_int_equal(buf_puts(&msg, "--b\r\n\r\nx\r\n"), 0);
	m = mime_parse(a, (const unsigned char *)msg.data, msg.len);
	assert_true(m->nparts <= MIME_MAX_PARTS + 1);
	assert_true(m->root->nchildren >= MIME_MAX_PARTS - 1);
	buf_free(&msg);
	arena_free(&a);
}

static void
decoded_parameters_are_utf8(void **state)
{
	struct arena *a = arena_new();
	struct buf msg;
	struct mime_message *m;
	const struct mime_part *pdf;
	const struct mime_param *fn;

	(void)state;
	load("mime-related", &msg);
	m = mime_parse(a, (const unsigned char *)msg.data, msg.len);
	pdf = m->root->children->next;
	assert_non_null(pdf);
	fn = pdf->disp_params;
	assert_non_null(fn);
	assert_string_equal(fn->name, "filename");
	assert_true(fn->is_extended);
	assert_string_equal(fn->utf8, "Rechnung M\xc3\xa4rz.pdf");
	fn = mime_params_parse(a, "; name=\"=?UTF-8?Q?K=C3=A4se?=.txt\"");
	assert_string_equal(fn->utf8, "K\xc3\xa4se.txt");
	fn = mime_params_parse(a, "; a*=iso-8859-1'de'%E4");
	assert_string_equal(fn->utf8, "\xc3\xa4");
	buf_free(&msg);
	arena_free(&a);
}

static void
header_lookup_and_message_size(void **state)
{
	static const char msg[] = "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
				  "X-A: folded\n\tvalue \n\nline\n";
	struct arena *a = arena_new();
	struct mime_message *m;

	(void)state;
	m = mime_parse(a, (const unsigned char *)msg, sizeof(msg) - 1);
	assert_string_equal(mime_part_header(a, m, m->root, "DATE"),
			    "Mon, 1 Jan 2024 00:00:00 +0000");
	assert_string_equal(mime_part_header(a, m, m->root, "x-a"),
			    "folded\tvalue");
	assert_null(mime_part_header(a, m, m->root, "line"));
	/* RFC822.SIZE counts the CRLF form: five bare LFs add five octets. */
	assert_int_equal(mime_wire_size(m->data, 0, m->len),
			 sizeof(msg) - 1 + 5);
	assert_int_equal(m->root->body_size, 6);
	assert_int_equal(m->root->body_lines, 1);
	arena_free(&a);
}

static void
check_counts(const struct mime_message *m, const struct mime_part *p)
{
	const struct mime_part *ch;
	uint64_t lf = 0;
	size_t i;

	for (i = p->body_start; i < p->body_end; i++)
		lf += m->data[i] == '\n';
	assert_int_equal(p->body_lines, lf);
	assert_int_equal(p->body_size,
			 mime_wire_size(m->data, p->body_start, p->body_end));
	for (ch = p->children; ch != NULL; ch = ch->next)
		check_counts(m, ch);
}

/* Line ends are counted from per-block totals: parts that start and end
 * anywhere inside or across blocks must get the same sizes and line
 * counts as a direct count. */
static void
sizes_of_parts_across_count_blocks_are_exact(void **state)
{
	struct arena *a = arena_new();
	struct mime_message *m;
	struct buf msg;
	int i, j;

	(void)state;
	buf_init(&msg, 0);
	assert_int_equal(buf_puts(&msg, "Content-Type: multipart/mixed; "
					"boundary=b\n\n"),
			 0);
	for (i = 0; i < 12; i++) {
		assert_int_equal(
			buf_puts(&msg, i % 2 ? "--b\r\n\r\n" : "--b\n\n"), 0);
		for (j = 0; j < 97 * i + 13; j++)
			assert_int_equal(
				buf_puts(&msg,
					 j % 3 ? "line\n" : "crlf line\r\n"),
				0);
	}
	assert_int_equal(buf_puts(&msg, "--b--\n"), 0);
	m = mime_parse(a, (const unsigned char *)msg.data, msg.len);
	assert_int_equal(m->root->nchildren, 12);
	check_counts(m, m->root);
	buf_free(&msg);
	arena_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(corpus_body_and_bodystructure_match_rfc3501),
		cmocka_unit_test(bare_lf_copy_gives_same_bodystructure),
		cmocka_unit_test(
			malformed_and_edge_messages_give_well_formed_answers),
		cmocka_unit_test(deep_nesting_is_bounded),
		cmocka_unit_test(part_count_is_bounded),
		cmocka_unit_test(decoded_parameters_are_utf8),
		cmocka_unit_test(header_lookup_and_message_size),
		cmocka_unit_test(sizes_of_parts_across_count_blocks_are_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
