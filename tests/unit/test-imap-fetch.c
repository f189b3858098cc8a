/* Unit tests for FETCH and UID FETCH on a real temporary Maildir holding
 * fixture messages from tests/data/: every item with its exact answer,
 * partial fetches at the boundaries, CRLF conversion of a bare-LF file,
 * the \Seen side effect, .PEEK, EXAMINE, messages expunged by another
 * session, and the error paths. */
#include "tests/unit/imap-testlib.h"

#include "lib/log.h"

struct fx {
	char *root;
	struct md_store *st;
	uint32_t uids[4];
};

#define FIXED_DATE 1700000000 /* 14-Nov-2023 22:13:20 UTC */

/* The buffer's bytes as a malloc'd string; the buffer is freed. */
static char *
buf_take(struct buf *b)
{
	char *s = xstrdup(buf_cstr(b));

	buf_free(b);
	return s;
}

static char *
read_fixture(const char *name)
{
	char path[256];
	struct buf b;

	(void)snprintf(path, sizeof(path), "tests/data/%s.eml", name);
	buf_init(&b, 0);
	if (io_read_file(path, &b) < 0)
		fail_msg("cannot read %s", path);
	return buf_take(&b);
}

static uint32_t
append_dated(struct md_store *st, const char *box, const char *body,
	     uint32_t flags, time_t date)
{
	struct md_append *app;
	uint32_t uv, uid;

	assert_int_equal(md_append_begin(st, box, &app), 0);
	assert_int_equal(md_append_write(app, body, strlen(body)), 0);
	assert_int_equal(
		md_append_commit(&app, flags, NULL, 0, date, &uv, &uid), 0);
	return uid;
}

static int
setup(void **state)
{
	static const char *const names[] = {"mime-plain", "mime-alternative",
					    "mime-nested-rfc822"};
	struct fx *fx = calloc(1, sizeof(*fx));
	size_t i;

	fx->root = tl_tmpdir();
	if (md_store_open(fx->root, true, &fx->st) < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		char *m = read_fixture(names[i]);

		fx->uids[i] = append_dated(fx->st, "INBOX", m, 0, FIXED_DATE);
		free(m);
	}
	{
		char *m = read_fixture("mime-bare-lf");

		tl_deliver(fx->root, "", "1700000000.lf.host", m);
		free(m);
	}
	/* Claim \Recent once, so that no test session sees it. */
	{
		struct md_box *b;

		if (md_box_open(fx->st, "INBOX", false, &b) < 0)
			return -1;
		md_box_free(&b);
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	md_store_free(&fx->st);
	tl_rmrf(&fx->root);
	free(fx);
	return 0;
}

struct fetch_case {
	const char *name;
	const char *input;
	const char *want;
};

/* Messages: 1 mime-plain, 2 mime-alternative, 3 mime-nested-rfc822 (all
 * appended with CRLF ends and a fixed internal date), 4 mime-bare-lf
 * (delivered into new/ with bare LF ends and no ,W= in its name). Only
 * .PEEK items: every case leaves the flags alone. */
static const struct fetch_case fetch_cases[] = {
	{"fast_macro", "a FETCH 1 FAST\r\n",
	 "* 1 FETCH (FLAGS () INTERNALDATE \"14-Nov-2023 22:13:20 +000"
	 "0\" RFC822.SIZE 405)\r\n"
	 "a OK FETCH completed.\r\n"},
	{"all_macro_has_envelope", "a FETCH 1 ALL\r\n",
	 "* 1 FETCH (FLAGS () INTERNALDATE \"14-Nov-2023 22:13:20 +000"
	 "0\" RFC822.SIZE 405 ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -08"
	 "00 (PST)\" \"afternoon meeting\" ((\"Alice Example\" NIL \"a"
	 "lice\" \"example.org\")) ((\"Alice Example\" NIL \"alice\" "
	 "\"example.org\")) ((\"Alice Example\" NIL \"alice\" \"exampl"
	 "e.org\")) ((NIL NIL \"bob\" \"example.com\")(\"Carol, C.\" N"
	 "IL \"carol\" \"example.net\")) ((\"Dave\" NIL \"dave\" \"exa"
	 "mple.com\")) NIL \"<x1@example.com>\" \"<B27397-0100000@exam"
	 "ple.org>\"))\r\n"
	 "a OK FETCH completed.\r\n"},
	{"full_macro_has_body", "a FETCH 3 FULL\r\n",
	 "* 3 FETCH (FLAGS () INTERNALDATE \"14-Nov-2023 22:13:20 +000"
	 "0\" RFC822.SIZE 587 ENVELOPE (\"Thu, 3 Mar 2022 12:00:00 +00"
	 "00\" \"Fwd: hello\" ((NIL NIL \"fwd\" \"example.com\")) ((NI"
	 "L NIL \"fwd\" \"example.com\")) ((NIL NIL \"fwd\" \"example."
	 "com\")) ((NIL NIL \"you\" \"example.net\")) NIL NIL NIL NIL)"
	 " BODY ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NI"
	 "L \"7bit\" 10 0)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\""
	 " 294 (\"Wed, 2 Mar 2022 09:00:00 +0000\" \"hello\" ((NIL NIL"
	 " \"orig\" \"example.org\")) ((NIL NIL \"orig\" \"example.org"
	 "\")) ((NIL NIL \"orig\" \"example.org\")) ((NIL NIL \"fwd\" "
	 "\"example.com\")) NIL NIL NIL \"<orig@example.org>\") ((\"te"
	 "xt\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2"
	 " 0)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7"
	 "bit\" 9 0) \"alternative\") 17) \"mixed\"))\r\n"
	 "a OK FETCH completed.\r\n"},
	{"bodystructure_multipart_extension_data",
	 "a FETCH 2 BODYSTRUCTURE\r\n",
	 "* 2 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" "
	 "\"utf-8\") NIL NIL \"quoted-printable\" 43 1 NIL NIL NIL NIL"
	 ")(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"base64"
	 "\" 28 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"b1"
	 "\") NIL NIL NIL))\r\n"
	 "a OK FETCH completed.\r\n"},
	{"bodystructure_nested_rfc822", "a FETCH 3 BODYSTRUCTURE\r\n",
	 "* 3 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" "
	 "\"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL)(\"messa"
	 "ge\" \"rfc822\" NIL NIL NIL \"7bit\" 294 (\"Wed, 2 Mar 2022 "
	 "09:00:00 +0000\" \"hello\" ((NIL NIL \"orig\" \"example.org"
	 "\")) ((NIL NIL \"orig\" \"example.org\")) ((NIL NIL \"orig\""
	 " \"example.org\")) ((NIL NIL \"fwd\" \"example.com\")) NIL N"
	 "IL NIL \"<orig@example.org>\") ((\"text\" \"plain\" (\"chars"
	 "et\" \"us-ascii\") NIL NIL \"7bit\" 2 0 NIL NIL NIL NIL)(\"t"
	 "ext\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 9"
	 " 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"in\") NI"
	 "L NIL NIL) 17 NIL (\"attachment\" NIL) NIL NIL) \"mixed\" ("
	 "\"boundary\" \"m\") NIL NIL NIL))\r\n"
	 "a OK FETCH completed.\r\n"},
	{"bodystructure_bare_lf_counts_crlf", "a FETCH 4 BODYSTRUCTURE\r\n",
	 "* 4 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" "
	 "\"us-ascii\") NIL NIL \"7bit\" 8 1 NIL NIL NIL NIL) \"mixed"
	 "\" (\"boundary\" \"zz\") NIL NIL NIL))\r\n"
	 "a OK FETCH completed.\r\n"},
	{"uid_fetch_puts_uid_first", "a UID FETCH 2 FLAGS\r\n",
	 "* 2 FETCH (UID 2 FLAGS ())\r\n"
	 "a OK FETCH completed.\r\n"},
	{"uid_fetch_keeps_asked_uid_order", "a UID FETCH 2 (FLAGS UID)\r\n",
	 "* 2 FETCH (FLAGS () UID 2)\r\n"
	 "a OK FETCH completed.\r\n"},
	{"partial_start", "a FETCH 1 BODY.PEEK[]<0.10>\r\n",
	 "* 1 FETCH (BODY[]<0> {10}\r\n"
	 "Return-Pat)\r\n"
	 "a OK FETCH completed.\r\n"},
	{"partial_runs_past_end", "a FETCH 1 BODY.PEEK[]<400.10>\r\n",
	 "* 1 FETCH (BODY[]<400> {5}\r\n"
	 "ee?\r\n"
	 ")\r\n"
	 "a OK FETCH completed.\r\n"},
	{"partial_at_end_is_empty", "a FETCH 1 BODY.PEEK[]<405.10>\r\n",
	 "* 1 FETCH (BODY[]<405> \"\")\r\n"
	 "a OK FETCH completed.\r\n"},
	{"partial_beyond_end_is_empty", "a FETCH 1 BODY.PEEK[]<1000.5>\r\n",
	 "* 1 FETCH (BODY[]<1000> \"\")\r\n"
	 "a OK FETCH completed.\r\n"},
	{"text_of_message", "a FETCH 1 BODY.PEEK[TEXT]\r\n",
	 "* 1 FETCH (BODY[TEXT] {37}\r\n"
	 "Hello Bob,\r\n"
	 "could we meet at three?\r\n"
	 ")\r\n"
	 "a OK FETCH completed.\r\n"},
	{"header_fields_and_not",
	 "a FETCH 1 (BODY.PEEK[HEADER.FIELDS (\"Subject\" cc)] "
	 "body.peek[header.fields.not (Return-Path Date From Subject To Cc "
	 "Message-Id In-Reply-To MIME-Version)])\r\n",
	 "* 1 FETCH (BODY[HEADER.FIELDS (Subject cc)] {59}\r\n"
	 "Subject: afternoon meeting\r\n"
	 "Cc: Dave <dave@example.com>\r\n"
	 "\r\n"
	 " BODY[HEADER.FIELDS.NOT (Return-Path Date From Subject To Cc"
	 " Message-Id In-Reply-To MIME-Version)] {46}\r\n"
	 "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
	 "\r\n"
	 ")\r\n"
	 "a OK FETCH completed.\r\n"},
	{"single_part_message_part_1",
	 "a FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2] "
	 "BODY.PEEK[1.HEADER])\r\n",
	 "* 1 FETCH (BODY[1] {37}\r\n"
	 "Hello Bob,\r\n"
	 "could we meet at three?\r\n"
	 " BODY[1.MIME] {368}\r\n"
	 "Return-Path: <alice@example.org>\r\n"
	 "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
	 "From: Alice Example <alice@example.org>\r\n"
	 "Subject: afternoon meeting\r\n"
	 "To: bob@example.com, \"Carol, C.\" <carol@example.net>\r\n"
	 "Cc: Dave <dave@example.com>\r\n"
	 "Message-Id: <B27397-0100000@example.org>\r\n"
	 "In-Reply-To: <x1@example.com>\r\n"
	 "MIME-Version: 1.0\r\n"
	 "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
	 "\r\n"
	 " BODY[2] NIL BODY[1.HEADER] NIL)\r\n"
	 "a OK FETCH completed.\r\n"},
	{"nested_parts_and_mime",
	 "a FETCH 3 (BODY.PEEK[1] BODY.PEEK[2.TEXT] BODY.PEEK[2.1] "
	 "BODY.PEEK[2.2.MIME] BODY.PEEK[3])\r\n",
	 "* 3 FETCH (BODY[1] {10}\r\n"
	 "See below. BODY[2.TEXT] {90}\r\n"
	 "--in\r\n"
	 "Content-Type: text/plain\r\n"
	 "\r\n"
	 "hi\r\n"
	 "--in\r\n"
	 "Content-Type: text/html\r\n"
	 "\r\n"
	 "<b>hi</b>\r\n"
	 "--in--\r\n"
	 " BODY[2.1] {2}\r\n"
	 "hi BODY[2.2.MIME] {27}\r\n"
	 "Content-Type: text/html\r\n"
	 "\r\n"
	 " BODY[3] NIL)\r\n"
	 "a OK FETCH completed.\r\n"},
	{"mime_and_partial_of_part",
	 "a FETCH 2 (BODY.PEEK[1.MIME] BODY.PEEK[2]<4.10>)\r\n",
	 "* 2 FETCH (BODY[1.MIME] {88}\r\n"
	 "Content-Type: text/plain; charset=utf-8\r\n"
	 "Content-Transfer-Encoding: quoted-printable\r\n"
	 "\r\n"
	 " BODY[2]<4> {10}\r\n"
	 "Q2Fmw6kgYX)\r\n"
	 "a OK FETCH completed.\r\n"},
	{"rfc822_header_and_size", "a FETCH 1 (RFC822.HEADER RFC822.SIZE)\r\n",
	 "* 1 FETCH (RFC822.HEADER {368}\r\n"
	 "Return-Path: <alice@example.org>\r\n"
	 "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
	 "From: Alice Example <alice@example.org>\r\n"
	 "Subject: afternoon meeting\r\n"
	 "To: bob@example.com, \"Carol, C.\" <carol@example.net>\r\n"
	 "Cc: Dave <dave@example.com>\r\n"
	 "Message-Id: <B27397-0100000@example.org>\r\n"
	 "In-Reply-To: <x1@example.com>\r\n"
	 "MIME-Version: 1.0\r\n"
	 "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
	 "\r\n"
	 " RFC822.SIZE 405)\r\n"
	 "a OK FETCH completed.\r\n"},
	{"bare_lf_sizes_and_partials_on_crlf_form",
	 "a FETCH 4 (RFC822.SIZE BODY.PEEK[1] BODY.PEEK[1]<3.2> "
	 "BODY.PEEK[1]<4.1>)\r\n",
	 "* 4 FETCH (RFC822.SIZE 138 BODY[1] {8}\r\n"
	 "one\r\n"
	 "two BODY[1]<3> {2}\r\n"
	 "\r\n"
	 " BODY[1]<4> {1}\r\n"
	 "\n"
	 ")\r\n"
	 "a OK FETCH completed.\r\n"},
	{"bare_lf_header_gets_crlf", "a FETCH 4 BODY.PEEK[HEADER]\r\n",
	 "* 4 FETCH (BODY[HEADER] {86}\r\n"
	 "From: lf@example.com\r\n"
	 "Subject: bare LF\r\n"
	 "Content-Type: multipart/mixed; boundary=zz\r\n"
	 "\r\n"
	 ")\r\n"
	 "a OK FETCH completed.\r\n"},
};

static void
every_item_answers_exactly(void **state)
{
	struct fx *fx = *state;
	struct tc c;
	size_t i;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	for (i = 0; i < sizeof(fetch_cases) / sizeof(*fetch_cases); i++)
		tc_expect(fetch_cases[i].name, tc_run(&c, fetch_cases[i].input),
			  fetch_cases[i].want);
	tc_close(&c);
}

/* The file with CRLF for every bare LF. */
static char *
crlf_of(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			(void)buf_putc(&b, '\r');
		(void)buf_putc(&b, *s);
	}
	return buf_take(&b);
}

static void
bare_lf_file_goes_out_as_crlf_with_matching_size(void **state)
{
	struct fx *fx = *state;
	char *raw = read_fixture("mime-bare-lf"), *wire = crlf_of(raw);
	char want[4096];
	struct tc c;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	(void)snprintf(want, sizeof(want),
		       "* 4 FETCH (RFC822.SIZE %zu BODY[] {%zu}\r\n%s)\r\n"
		       "a OK FETCH completed.\r\n",
		       strlen(wire), strlen(wire), wire);
	tc_expect("bare_lf",
		  tc_run(&c, "a FETCH 4 (RFC822.SIZE BODY.PEEK[])\r\n"), want);
	tc_close(&c);
	free(raw);
	free(wire);
}

struct seen_case {
	const char *name;
	const char *input;
	const char *want;
};

/* In order, on one session: what sets \Seen reports FLAGS once. */
static const struct seen_case seen_cases[] = {
	{"peek_leaves_flags", "a FETCH 1 BODY.PEEK[TEXT]<0.5>\r\n",
	 "* 1 FETCH (BODY[TEXT]<0> {5}\r\nHello)\r\n"
	 "a OK FETCH completed.\r\n"},
	{"rfc822_header_leaves_flags", "a FETCH 1 RFC822.HEADER\r\n", NULL},
	{"body_sets_seen_and_reports_flags", "a FETCH 1 BODY[TEXT]<0.5>\r\n",
	 "* 1 FETCH (BODY[TEXT]<0> {5}\r\nHello FLAGS (\\Seen))\r\n"
	 "a OK FETCH completed.\r\n"},
	{"second_body_fetch_reports_nothing_more",
	 "a FETCH 1 BODY[TEXT]<0.5>\r\n",
	 "* 1 FETCH (BODY[TEXT]<0> {5}\r\nHello)\r\n"
	 "a OK FETCH completed.\r\n"},
	{"rfc822_text_sets_seen", "a FETCH 2 (FLAGS RFC822.TEXT)\r\n", NULL},
	{"flags_asked_show_seen_once", "a FETCH 2 FLAGS\r\n",
	 "* 2 FETCH (FLAGS (\\Seen))\r\na OK FETCH completed.\r\n"},
	{"uid_rfc822_sets_seen", "a UID FETCH 3 RFC822.SIZE\r\n",
	 "* 3 FETCH (UID 3 RFC822.SIZE 587)\r\na OK FETCH completed.\r\n"},
};

static void
body_fetch_sets_seen_peek_does_not(void **state)
{
	struct fx *fx = *state;
	struct tc c, other;
	size_t i;
	const char *got;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	for (i = 0; i < sizeof(seen_cases) / sizeof(*seen_cases); i++) {
		got = tc_run(&c, seen_cases[i].input);
		if (seen_cases[i].want != NULL)
			tc_expect(seen_cases[i].name, got, seen_cases[i].want);
	}
	/* RFC822.TEXT put FLAGS (\Seen) after FLAGS () was asked first:
	 * the asked FLAGS is written with the new value. */
	got = tc_run(&c, "a FETCH 4 (FLAGS RFC822)\r\n");
	if (strncmp(got, "* 4 FETCH (FLAGS (\\Seen) RFC822 {", 33) != 0)
		fail_msg("rfc822: %s", got);
	/* The change is on disk: another session sees it. */
	tc_open(&other, fx->root);
	(void)tc_run(&other, "s SELECT INBOX\r\n");
	tc_expect("other_session", tc_run(&other, "b FETCH 1:4 FLAGS\r\n"),
		  "* 1 FETCH (FLAGS (\\Seen))\r\n* 2 FETCH (FLAGS (\\Seen))\r\n"
		  "* 3 FETCH (FLAGS ())\r\n* 4 FETCH (FLAGS (\\Seen))\r\n"
		  "b OK FETCH completed.\r\n");
	tc_close(&other);
	tc_close(&c);
}

static void
examine_never_sets_seen(void **state)
{
	struct fx *fx = *state;
	struct tc c;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s EXAMINE INBOX\r\n");
	tc_expect("examine",
		  tc_run(&c, "a FETCH 1 (BODY[TEXT]<0.5> FLAGS)\r\n"),
		  "* 1 FETCH (BODY[TEXT]<0> {5}\r\nHello FLAGS ())\r\n"
		  "a OK FETCH completed.\r\n");
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	tc_expect("select_after", tc_run(&c, "a FETCH 1 FLAGS\r\n"),
		  "* 1 FETCH (FLAGS ())\r\na OK FETCH completed.\r\n");
	tc_close(&c);
}

struct err_case {
	const char *name;
	const char *input;
	const char *want;
};

static const struct err_case err_cases[] = {
	{"unknown_item", "a FETCH 1 FOO\r\n",
	 "a BAD Invalid or unknown FETCH item\r\n"},
	{"macro_in_list", "a FETCH 1 (ALL)\r\n",
	 "a BAD Invalid or unknown FETCH item\r\n"},
	{"empty_list", "a FETCH 1 ()\r\n", "a BAD Empty FETCH item list\r\n"},
	{"mime_without_part", "a FETCH 1 BODY[MIME]\r\n",
	 "a BAD Invalid or unknown FETCH item\r\n"},
	{"unknown_section_word", "a FETCH 1 BODY[1.FOO]\r\n",
	 "a BAD Invalid or unknown FETCH item\r\n"},
	{"part_zero", "a FETCH 1 BODY[0]\r\n",
	 "a BAD Invalid or unknown FETCH item\r\n"},
	{"partial_count_zero", "a FETCH 1 BODY[]<0.0>\r\n",
	 "a BAD Invalid or unknown FETCH item\r\n"},
	{"partial_without_count", "a FETCH 1 BODY[]<5>\r\n",
	 "a BAD Invalid or unknown FETCH item\r\n"},
	{"fields_without_list", "a FETCH 1 BODY[HEADER.FIELDS]\r\n",
	 "a BAD Invalid or unknown FETCH item\r\n"},
	{"fields_empty_list", "a FETCH 1 BODY[HEADER.FIELDS ()]\r\n",
	 "a BAD Invalid or unknown FETCH item\r\n"},
	{"trailing_junk", "a FETCH 1 BODY[]x\r\n",
	 "a BAD Invalid or unknown FETCH item\r\n"},
	{"seq_beyond_count", "a FETCH 5 FLAGS\r\n",
	 "a BAD Invalid sequence number\r\n"},
	{"bad_sequence_set", "a FETCH 1:x FLAGS\r\n", NULL},
	{"missing_items", "a FETCH 1\r\n",
	 "a BAD Wrong number of arguments\r\n"},
	{"uid_fetch_absent_is_empty_ok", "a UID FETCH 99 FLAGS\r\n",
	 "a OK FETCH completed.\r\n"},
};

static void
error_paths_table(void **state)
{
	struct fx *fx = *state;
	struct tc c;
	size_t i;
	const char *got;

	tc_open(&c, fx->root);
	got = tc_run(&c, "a FETCH 1 FLAGS\r\n");
	tc_expect("not_selected", got, "a BAD No mailbox selected\r\n");
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	for (i = 0; i < sizeof(err_cases) / sizeof(*err_cases); i++) {
		got = tc_run(&c, err_cases[i].input);
		if (err_cases[i].want != NULL)
			tc_expect(err_cases[i].name, got, err_cases[i].want);
		else if (strncmp(got, "a BAD ", 6) != 0)
			fail_msg("%s: got %s", err_cases[i].name, got);
	}
	/* The flags were never touched by any of them. */
	tc_expect("flags", tc_run(&c, "a FETCH 1:4 FLAGS\r\n"),
		  "* 1 FETCH (FLAGS ())\r\n* 2 FETCH (FLAGS ())\r\n"
		  "* 3 FETCH (FLAGS ())\r\n* 4 FETCH (FLAGS ())\r\n"
		  "a OK FETCH completed.\r\n");
	tc_close(&c);
}

static void
star_on_empty_mailbox_is_bad(void **state)
{
	struct fx *fx = *state;
	struct tc c;

	assert_int_equal(md_box_create(fx->st, "Empty"), 0);
	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT Empty\r\n");
	tc_expect("seq_star", tc_run(&c, "a FETCH * FLAGS\r\n"),
		  "a BAD Invalid sequence number\r\n");
	tc_expect("uid_star", tc_run(&c, "a UID FETCH 1:* FLAGS\r\n"),
		  "a OK FETCH completed.\r\n");
	tc_close(&c);
}

static void
expunged_by_other_session_is_left_out(void **state)
{
	struct fx *fx = *state;
	struct md_uids gone = {0};
	struct md_box *b;
	uint32_t uid = 2;
	struct tc c;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	assert_int_equal(md_box_open(fx->st, "INBOX", false, &b), 0);
	assert_int_equal(md_box_expunge(b, &uid, 1, &gone), 0);
	md_uids_free(&gone);
	md_box_free(&b);
	/* A NOOP-less FETCH by number: no EXPUNGE (RFC 3501 7.4.1), the
	 * gone message is left out and the NO says why (RFC 2180 4.1.2). */
	(void)tc_run(&c, "a FETCH 1 FLAGS\r\n"); /* syncs the store view */
	tc_expect("seq_fetch",
		  tc_run(&c, "a FETCH 1:3 (FLAGS BODY.PEEK[HEADER.FIELDS "
			     "(Subject)])\r\n"),
		  "* 1 FETCH (FLAGS () BODY[HEADER.FIELDS (Subject)] {30}\r\n"
		  "Subject: afternoon meeting\r\n\r\n)\r\n"
		  "* 3 FETCH (FLAGS () BODY[HEADER.FIELDS (Subject)] {23}\r\n"
		  "Subject: Fwd: hello\r\n\r\n)\r\n"
		  "a NO [EXPUNGEISSUED] Some messages were expunged.\r\n");
	/* UID FETCH may be followed by the EXPUNGE. */
	tc_expect("uid_fetch", tc_run(&c, "a UID FETCH 2:3 UID\r\n"),
		  "* 3 FETCH (UID 3)\r\n* 2 EXPUNGE\r\n"
		  "a OK FETCH completed.\r\n");
	tc_close(&c);
}

/* Remove the file in cur/ whose bytes hold needle, as another process
 * expunging it would. */
static void
unlink_file_with(const char *root, const char *needle)
{
	char dir[4096], path[8192];
	struct dirent *de;
	struct buf b;
	DIR *d;
	bool done = false;

	(void)snprintf(dir, sizeof(dir), "%s/cur", root);
	d = opendir(dir);
	assert_non_null(d);
	while (!done && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		buf_init(&b, 0);
		if (io_read_file(path, &b) == 0 &&
		    strstr(buf_cstr(&b), needle) != NULL) {
			assert_int_equal(unlink(path), 0);
			done = true;
		}
		buf_free(&b);
	}
	(void)closedir(d);
	assert_true(done);
}

static void
file_gone_before_sync_is_left_out(void **state)
{
	struct fx *fx = *state;
	struct tc c;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	unlink_file_with(fx->root, "Subject: alt\r\n");
	/* The flags are known without the file; the body is not. */
	tc_expect("flags", tc_run(&c, "a FETCH 2 FLAGS\r\n"),
		  "* 2 FETCH (FLAGS ())\r\na OK FETCH completed.\r\n");
	tc_expect("body", tc_run(&c, "a FETCH 1:2 BODY.PEEK[TEXT]<0.5>\r\n"),
		  "* 1 FETCH (BODY[TEXT]<0> {5}\r\nHello)\r\n"
		  "a NO [EXPUNGEISSUED] Some messages were expunged.\r\n");
	tc_expect("uid", tc_run(&c, "a UID FETCH 2 BODY.PEEK[]\r\n"),
		  "* 2 EXPUNGE\r\na OK FETCH completed.\r\n");
	tc_close(&c);
}

/* ENVELOPE alone parses only the header; the whole message asked for
 * beside it must still come whole. */
static void
header_only_parse_keeps_whole_message_whole(void **state)
{
	struct fx *fx = *state;
	struct tc c;
	const char *got;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	got = tc_run(&c, "a FETCH 1 (ENVELOPE BODY.PEEK[] RFC822.HEADER)\r\n");
	assert_non_null(strstr(got, " BODY[] {405}\r\nReturn-Path: "));
	assert_non_null(strstr(
		got, "could we meet at three?\r\n RFC822.HEADER {368}\r\n"));
	assert_non_null(strstr(got, "\r\na OK FETCH completed.\r\n"));
	tc_close(&c);
}

/* RFC822.SIZE from the file name's ,W= (written by append) matches the
 * literal BODY[] sends, with mixed, bare and lone line ends: 42 bytes
 * with 6 bare LFs are 48 on the wire. */
static void
size_from_name_matches_body_literal(void **state)
{
	static const char msg[] = "Subject: mixed\n\ncrlf\r\nbare\nlone\rcr\n"
				  "\r\n\n\nend";
	struct fx *fx = *state;
	char want[256], cmd[64];
	uint32_t uid;
	struct tc c;
	const char *got;

	uid = append_dated(fx->st, "INBOX", msg, 0, FIXED_DATE);
	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	(void)snprintf(cmd, sizeof(cmd),
		       "a UID FETCH %u (RFC822.SIZE BODY.PEEK[])\r\n", uid);
	got = tc_run(&c, cmd);
	(void)snprintf(want, sizeof(want),
		       "* 5 FETCH (UID %u RFC822.SIZE 48 BODY[] {48}\r\n", uid);
	if (strncmp(got, want, strlen(want)) != 0)
		fail_msg("got %s\nwant %s", got, want);
	tc_close(&c);
}

/* Counts the write hook's calls. */
static unsigned write_calls;

static int
counting_write(void *ctx, const void *data, size_t len)
{
	write_calls++;
	return tc_write(ctx, data, len);
}

static const struct imap_hooks counting_hooks = {counting_write, tc_auth};

static void
big_body_is_streamed_in_chunks(void **state)
{
	struct fx *fx = *state;
	size_t n = 300000, i, hdr;
	char *msg = xmalloc(n + 1), prefix[64];
	const char *got;
	struct tc c;
	uint32_t uid;

	hdr = (size_t)snprintf(msg, n, "Subject: big\n\n");
	for (i = hdr; i < n; i++)
		msg[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
	msg[n] = '\0';
	uid = append_dated(fx->st, "INBOX", msg, 0, FIXED_DATE);
	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	c.s->hooks = &counting_hooks;
	write_calls = 0;
	{
		char cmd[64];
		char *wire = crlf_of(msg);

		(void)snprintf(cmd, sizeof(cmd),
			       "a UID FETCH %u BODY.PEEK[]\r\n", uid);
		got = tc_run(&c, cmd);
		(void)snprintf(prefix, sizeof(prefix),
			       "* 5 FETCH (UID %u BODY[] {%zu}\r\n", uid,
			       strlen(wire));
		assert_memory_equal(got, prefix, strlen(prefix));
		assert_memory_equal(got + strlen(prefix), wire, strlen(wire));
		assert_string_equal(got + strlen(prefix) + strlen(wire),
				    ")\r\na OK FETCH completed.\r\n");
		free(wire);
	}
	/* Handed over in pieces, not as one 300 KB buffer. */
	assert_true(write_calls > 10);
	tc_close(&c);
	free(msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_item_answers_exactly,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			bare_lf_file_goes_out_as_crlf_with_matching_size, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			body_fetch_sets_seen_peek_does_not, setup, teardown),
		cmocka_unit_test_setup_teardown(examine_never_sets_seen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(error_paths_table, setup,
						teardown),
		cmocka_unit_test_setup_teardown(star_on_empty_mailbox_is_bad,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			expunged_by_other_session_is_left_out, setup, teardown),
		cmocka_unit_test_setup_teardown(
			file_gone_before_sync_is_left_out, setup, teardown),
		cmocka_unit_test_setup_teardown(
			header_only_parse_keeps_whole_message_whole, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			size_from_name_matches_body_literal, setup, teardown),
		cmocka_unit_test_setup_teardown(big_body_is_streamed_in_chunks,
						setup, teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
