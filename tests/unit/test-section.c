/* Unit tests for BODY[section]<partial> (RFC 3501 section 6.4.5): part
 * numbers through multiparts and message/rfc822, HEADER, HEADER.FIELDS
 * (.NOT), TEXT, MIME, out-of-range parts, partial ranges, and CRLF
 * conversion of files stored with bare LF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/io.h"
#include "protocol/mime-private.h"

#define NESTED_HEADER                                                          \
	"From: fwd@example.com\r\nTo: you@example.net\r\n"                     \
	"Subject: Fwd: hello\r\nDate: Thu, 3 Mar 2022 12:00:00 +0000\r\n"      \
	"MIME-Version: 1.0\r\n"                                                \
	"Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
#define INNER_HEADER                                                           \
	"From: orig@example.org\r\nTo: fwd@example.com\r\n"                    \
	"Subject: hello\r\nDate: Wed, 2 Mar 2022 09:00:00 +0000\r\n"           \
	"Message-ID: <orig@example.org>\r\nMIME-Version: 1.0\r\n"              \
	"Content-Type: multipart/alternative; boundary=\"in\"\r\n\r\n"
#define INNER_TEXT                                                             \
	"--in\r\nContent-Type: text/plain\r\n\r\nhi\r\n"                       \
	"--in\r\nContent-Type: text/html\r\n\r\n<b>hi</b>\r\n--in--\r\n"

/* A section in FETCH syntax without the brackets: "2.1.MIME",
 * "HEADER.FIELDS SUBJECT FROM", "1<4.3>". Good enough for the tests. */
static void
parse_spec(struct arena *a, const char *s, struct mime_section *spec)
{
	uint32_t *parts = arena_calloc(a, 16, sizeof(*parts));
	const char **fields = arena_calloc(a, 16, sizeof(*fields));
	char *rest;

	memset(spec, 0, sizeof(*spec));
	spec->parts = parts;
	spec->fields = fields;
	while (*s >= '1' && *s <= '9') {
		parts[spec->nparts++] = (uint32_t)strtoul(s, &rest, 10);
		s = *rest == '.' ? rest + 1 : rest;
	}
	if (strncmp(s, "HEADER.FIELDS.NOT", 17) == 0) {
		spec->text = MIME_SECTION_FIELDS_NOT;
		s += 17;
	} else if (strncmp(s, "HEADER.FIELDS", 13) == 0) {
		spec->text = MIME_SECTION_FIELDS;
		s += 13;
	} else if (strncmp(s, "HEADER", 6) == 0) {
		spec->text = MIME_SECTION_HEADER;
		s += 6;
	} else if (strncmp(s, "TEXT", 4) == 0) {
		spec->text = MIME_SECTION_TEXT;
		s += 4;
	} else if (strncmp(s, "MIME", 4) == 0) {
		spec->text = MIME_SECTION_MIME;
		s += 4;
	}
	while (*s == ' ') {
		size_t n = strcspn(s + 1, " <");

		fields[spec->nfields++] = arena_strndup(a, s + 1, n);
		s += 1 + n;
	}
	if (*s == '<') {
		spec->has_partial = true;
		spec->origin = strtoull(s + 1, &rest, 10);
		spec->count = strtoull(rest + 1, NULL, 10);
	}
}

static const struct {
	const char *file, *section, *want;
	int rc;
} cases[] = {
	{"mime-nested-rfc822", "HEADER", NESTED_HEADER, 0},
	{"mime-nested-rfc822", "1", "See below.", 0},
	{"mime-nested-rfc822", "1.MIME", "Content-Type: text/plain\r\n\r\n", 0},
	{"mime-nested-rfc822", "2", INNER_HEADER INNER_TEXT, 0},
	{"mime-nested-rfc822", "2.MIME",
	 "Content-Type: message/rfc822\r\nContent-Disposition: attachment"
	 "\r\n\r\n",
	 0},
	{"mime-nested-rfc822", "2.HEADER", INNER_HEADER, 0},
	{"mime-nested-rfc822", "2.TEXT", INNER_TEXT, 0},
	{"mime-nested-rfc822", "2.1", "hi", 0},
	{"mime-nested-rfc822", "2.2", "<b>hi</b>", 0},
	{"mime-nested-rfc822", "2.2.MIME", "Content-Type: text/html\r\n\r\n",
	 0},
	{"mime-nested-rfc822", "2.HEADER.FIELDS SUBJECT",
	 "Subject: hello\r\n\r\n", 0},
	{"mime-nested-rfc822", "HEADER.FIELDS subject FROM",
	 "From: fwd@example.com\r\nSubject: Fwd: hello\r\n\r\n", 0},
	{"mime-nested-rfc822",
	 "HEADER.FIELDS.NOT From Subject Date MIME-Version Content-Type",
	 "To: you@example.net\r\n\r\n", 0},
	{"mime-nested-rfc822", "HEADER.FIELDS X-Absent", "\r\n", 0},
	{"mime-nested-rfc822", "3", "", 1},
	{"mime-nested-rfc822", "2.3", "", 1},
	{"mime-nested-rfc822", "1.1", "See below.", 0},
	{"mime-nested-rfc822", "1.1.MIME", "Content-Type: text/plain\r\n\r\n",
	 0},
	{"mime-nested-rfc822", "1.1.1", "", 1},
	{"mime-plain", "1.1", "", 1},
	{"mime-8bit-nul", "1<0.4>", "caf\xc3", 0},
	{"mime-nested-rfc822", "1.2", "", 1},
	{"mime-nested-rfc822", "1.HEADER", "", 1},
	{"mime-nested-rfc822", "1.TEXT", "", 1},
	{"mime-nested-rfc822", "MIME", "", 1},
	{"mime-nested-rfc822", "1<4.3>", "bel", 0},
	{"mime-nested-rfc822", "1<0.100>", "See below.", 0},
	{"mime-nested-rfc822", "1<10.5>", "", 0},
	{"mime-nested-rfc822", "1<100.5>", "", 0},
	{"mime-nested-rfc822", "2.1<1.0>", "", 0},
	{"mime-plain", "1", "Hello Bob,\r\ncould we meet at three?\r\n", 0},
	{"mime-plain", "TEXT", "Hello Bob,\r\ncould we meet at three?\r\n", 0},
	{"mime-plain", "2", "", 1},
	{"mime-related", "1.1.2", "<p>Thanks <img src=\"cid:logo@shop\"></p>",
	 0},
	{"mime-related", "1.2", "iVBORw0KGgo=", 0},
	{"mime-related", "2.MIME<0.25>", "Content-Type: application", 0},
	{"mime-bare-lf", "HEADER",
	 "From: lf@example.com\r\nSubject: bare LF\r\n"
	 "Content-Type: multipart/mixed; boundary=zz\r\n\r\n",
	 0},
	{"mime-bare-lf", "1", "one\r\ntwo", 0},
	{"mime-bare-lf", "1<3.2>", "\r\n", 0},
	{"mime-bare-lf", "1<4.4>", "\ntwo", 0},
	{"mime-bare-lf", "HEADER.FIELDS SUBJECT", "Subject: bare LF\r\n\r\n",
	 0},
	{"mime-header-only", "HEADER",
	 "From: a@example.com\r\nSubject: nothing else", 0},
	{"mime-header-only", "HEADER.FIELDS SUBJECT",
	 "Subject: nothing else\r\n", 0},
	{"mime-header-only", "TEXT", "", 0},
	{"mime-no-header", "HEADER", "\r\n", 0},
	{"mime-digest", "1.HEADER",
	 "From: a@example.com\r\nSubject: one\r\n\r\n", 0},
	{"mime-digest", "1.1", "first", 0},
	{"mime-8bit-nul", "TEXT<11.12>", "a NUL:\x80 here", 0},
};

static void
load(const char *name, struct buf *b)
{
	char path[256];

	(void)snprintf(path, sizeof(path), "tests/data/%s.eml",
		       name); /* short constant names */
	buf_init(b, 0);
	if (io_read_file(path, b) < 0)
		fail_msg("cannot read %s (run from the top directory)", path);
}

static void
sections_resolve_per_rfc3501(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arena *a = arena_new();
		struct mime_section spec;
		struct mime_message *m;
		struct mime_view v;
		struct buf msg, out;
		size_t wlen = strlen(cases[i].want);
		int rc;

		load(cases[i].file, &msg);
		m = mime_parse(a, (const unsigned char *)msg.data, msg.len);
		parse_spec(a, cases[i].section, &spec);
		rc = mime_section_resolve(a, m, &spec, &v);
		buf_init(&out, 0);
		assert_int_equal(mime_section_fetch(a, m, &spec, &out), 0);
		if (rc != cases[i].rc || out.len != wlen ||
		    memcmp(buf_cstr(&out), cases[i].want, wlen) != 0)
			fail_msg("%s [%s]: rc %d, got %zu bytes \"%s\"",
				 cases[i].file, cases[i].section, rc, out.len,
				 buf_cstr(&out));
		if (spec.has_partial)
			assert_int_equal(mime_view_slice_size(&v, spec.origin,
							      spec.count),
					 wlen);
		else
			assert_int_equal(v.size, wlen);
		buf_free(&out);
		buf_free(&msg);
		arena_free(&a);
	}
}

/* BODY[] is the whole message; on a bare-LF file every LF becomes CRLF,
 * NUL becomes 0x80, and the announced size matches the bytes written. */
static void
whole_message_is_sent_in_crlf_form(void **state)
{
	static const char *const files[] = {"mime-plain", "mime-bare-lf",
					    "mime-8bit-nul"};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct arena *a = arena_new();
		struct mime_section spec = {0};
		struct mime_message *m;
		struct mime_view v;
		struct buf msg, out, want;

		load(files[i], &msg);
		buf_init(&want, 0);
		for (j = 0; j < msg.len; j++) {
			if (msg.data[j] == '\n' &&
			    (j == 0 || msg.data[j - 1] != '\r'))
				assert_int_equal(buf_putc(&want, '\r'), 0);
			assert_int_equal(buf_putc(&want, msg.data[j] != '\0'
								 ? msg.data[j]
								 : (char)0x80),
					 0);
		}
		m = mime_parse(a, (const unsigned char *)msg.data, msg.len);
		assert_int_equal(mime_section_resolve(a, m, &spec, &v), 0);
		assert_int_equal(v.size, want.len);
		buf_init(&out, 0);
		assert_int_equal(mime_section_fetch(a, m, &spec, &out), 0);
		assert_int_equal(out.len, want.len);
		assert_memory_equal(out.data, want.data, want.len);
		buf_free(&out);
		buf_free(&want);
		buf_free(&msg);
		arena_free(&a);
	}
}

static int
fail_after_first(void *ctx, const void *data, size_t len)
{
	int *calls = ctx;

	(void)data;
	(void)len;
	return ++*calls > 1 ? -7 : 0;
}

static void
write_error_stops_and_is_returned(void **state)
{
	static const unsigned char lf[] = "a\nb\nc\n";
	struct mime_view v = {.data = lf, .len = 6, .convert_lf = true};
	int calls = 0;

	(void)state;
	v.size = mime_wire_size(lf, 0, 6);
	assert_int_equal(v.size, 9);
	assert_int_equal(
		mime_view_write(&v, 0, UINT64_MAX, fail_after_first, &calls),
		-7);
	assert_int_equal(calls, 2);
}

static void
header_fields_keep_continuation_lines(void **state)
{
	static const char msg[] = "Subject: a\r\n b\r\nX-A: 1\r\nsubject: c\n"
				  "\tcont\n\nbody";
	static const char *const names[] = {"SUBJECT"};
	struct arena *a = arena_new();
	struct mime_section spec = {
		.text = MIME_SECTION_FIELDS, .fields = names, .nfields = 1};
	struct mime_message *m;
	struct buf out;

	(void)state;
	m = mime_parse(a, (const unsigned char *)msg, sizeof(msg) - 1);
	buf_init(&out, 0);
	assert_int_equal(mime_section_fetch(a, m, &spec, &out), 0);
	assert_string_equal(buf_cstr(&out), "Subject: a\r\n b\r\nsubject: c\r\n"
					    "\tcont\r\n\r\n");
	buf_free(&out);
	arena_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sections_resolve_per_rfc3501),
		cmocka_unit_test(whole_message_is_sent_in_crlf_form),
		cmocka_unit_test(write_error_stops_and_is_returned),
		cmocka_unit_test(header_fields_keep_continuation_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
