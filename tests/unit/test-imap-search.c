/* Unit tests for SEARCH and UID SEARCH (RFC 3501 6.4.4) on a real
 * temporary Maildir holding a handful of varied messages: every search
 * key alone and combined, CHARSET, literal UTF-8 strings, encoded words,
 * base64 and quoted-printable bodies, day boundaries of internal and sent
 * dates, NOT/OR nesting, syntax errors, UIDs, empty and changing
 * mailboxes, and how few messages the matcher reads. */
#include "tests/unit/imap-testlib.h"

#include <time.h>

#include "lib/log.h"
#include "protocol/search-private.h"

/* The shared mailbox. Messages 1-4 were seen by an earlier session, 5
 * and 6 are \Recent; the sessions under test EXAMINE the box, which takes
 * no \Recent away, so every test sees the same state. */
static const char m1[] = "From: \"Alice Example\" <alice@example.org>\r\n"
			 "To: bob@example.com\r\n"
			 "Cc: carol@example.net\r\n"
			 "Subject: Meeting tomorrow\r\n"
			 "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
			 "Message-ID: <m1@example.org>\r\n"
			 "\r\n"
			 "Let us meet at noon.\r\n";

static const char m2[] =
	"From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>\r\n"
	"To: alice@example.org\r\n"
	"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=\r\n"
	"Date: Tue, 2 Jan 2024 23:30:00 -0800\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Sch=C3=B6ne Gr=C3=BC=C3=9Fe aus der Stadt.\r\n";

static const char m3[] = "From: carol@example.net\r\n"
			 "To: alice@example.org\r\n"
			 "Bcc: dave@example.com\r\n"
			 "Subject: Password reset\r\n"
			 "Date: 15 Feb 2024 08:00:00 +0100\r\n"
			 "MIME-Version: 1.0\r\n"
			 "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
			 "\r\n"
			 "--XYZ\r\n"
			 "Content-Type: text/plain; charset=us-ascii\r\n"
			 "Content-Transfer-Encoding: base64\r\n"
			 "\r\n"
			 "VGhlIHNlY3JldCBwYXNzd29yZCBpcyBzd29yZGZpc2guDQo=\r\n"
			 "--XYZ\r\n"
			 "Content-Type: application/octet-stream\r\n"
			 "Content-Transfer-Encoding: base64\r\n"
			 "\r\n"
			 "aGlkZGVud29yZCBpbnNpZGUgYW4gYXR0YWNobWVudA==\r\n"
			 "--XYZ--\r\n";

/* Bare LF line ends (so RFC822.SIZE is larger than the file) and no Date
 * header. 7 lines. */
static const char m4[] = "From: bob@example.com\n"
			 "To: alice@example.org\n"
			 "Subject: Draft notes\n"
			 "X-Mailer: TestMailer 1.0\n"
			 "X-Empty:\n"
			 "\n"
			 "Remember the milk.\n";
#define M4_LINES 7

/* Raw UTF-8 in the header and an 8bit body. */
static const char m6[] = "From: Eve <eve@example.com>\r\n"
			 "To: bob@example.com\r\n"
			 "Subject: R\xc3\xa9sum\xc3\xa9 attached\r\n"
			 "Date: Fri, 1 Mar 2024 00:00:00 +0000\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "Content-Transfer-Encoding: 8bit\r\n"
			 "\r\n"
			 "A na\xc3\xafve caf\xc3\xa9 review.\r\n";

struct fx {
	char *root;
	struct md_store *st;
};

static struct fx shared;

/* Append msg to box with flags, one keyword (or NULL) and an internal
 * date; returns its UID. */
static uint32_t
add(struct md_store *st, const char *msg, uint32_t flags, const char *kw,
    time_t date)
{
	struct md_append *app;
	uint32_t uv, uid;

	assert_int_equal(md_append_begin(st, "INBOX", &app), 0);
	assert_int_equal(md_append_write(app, msg, strlen(msg)), 0);
	assert_int_equal(md_append_commit(&app, flags, &kw, kw != NULL ? 1 : 0,
					  date, &uv, &uid),
			 0);
	return uid;
}

/* Open the box read-write once and let go: its messages are no longer
 * \Recent for anyone else. */
static void
claim_recent(struct md_store *st)
{
	struct md_box *b;

	assert_int_equal(md_box_open(st, "INBOX", false, &b), 0);
	md_box_free(&b);
}

/* Message 5: over 5000 bytes, an invoice. */
static void
add_m5(struct md_store *st)
{
	struct buf b;
	int i;

	buf_init(&b, 0);
	(void)buf_puts(&b, "From: billing@shop.example\r\n"
			   "To: alice@example.org\r\n"
			   "Subject: Invoice 42\r\n"
			   "Date: Thu, 29 Feb 2024 12:00:00 +0000\r\n"
			   "\r\n"
			   "Your invoice total is below.\r\n");
	for (i = 0; i < 64; i++)
		(void)buf_puts(&b,
			       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n");
	assert_int_equal(add(st, buf_cstr(&b), 0, NULL, 1709208000), 5);
	buf_free(&b);
}

static void
use_tz(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static int
group_setup(void **state)
{
	struct md_store *st;

	(void)state;
	log_set_level(LOG_LEVEL_ERROR);
	use_tz("UTC0");
	shared.root = tl_tmpdir();
	if (md_store_open(shared.root, true, &shared.st) < 0)
		return -1;
	st = shared.st;
	/* 2024-01-01 12:00:00, 2024-01-02 23:59:59, 2024-01-03 00:00:00 and
	 * 2024-02-01 08:00:00 UTC. */
	assert_int_equal(
		add(st, m1, MD_FLAG_SEEN | MD_FLAG_ANSWERED, NULL, 1704110400),
		1);
	assert_int_equal(add(st, m2, MD_FLAG_FLAGGED, "$Important", 1704239999),
			 2);
	assert_int_equal(add(st, m3, MD_FLAG_DELETED, NULL, 1704240000), 3);
	assert_int_equal(add(st, m4, MD_FLAG_DRAFT, "Work", 1706774400), 4);
	claim_recent(st);
	add_m5(st); /* 2024-02-29 12:00:00 UTC */
	/* 2024-03-01 00:00:00 UTC */
	assert_int_equal(add(st, m6, MD_FLAG_SEEN, NULL, 1709251200), 6);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	md_store_free(&shared.st);
	tl_rmrf(&shared.root);
	return 0;
}

/* A logged-in session with INBOX of root examined. */
static void
open_examined(struct tc *c, const char *root)
{
	tc_open(c, root);
	assert_non_null(strstr(tc_run(c, "x EXAMINE INBOX\r\n"), "x OK "));
}

struct row {
	const char *name;
	const char *cmd;  /* after the tag */
	const char *want; /* the untagged answer, or the tagged BAD/NO */
};

/* Run rows as "t <cmd>": an answer starting with "* " is followed by
 * "t OK Search completed."; any other is the whole tagged answer. */
static void
run_rows(struct tc *c, const struct row *rows, size_t n)
{
	char cmd[1024], want[1024];
	size_t i;

	for (i = 0; i < n; i++) {
		(void)snprintf(cmd, sizeof(cmd), "t %s\r\n", rows[i].cmd);
		if (strncmp(rows[i].want, "* ", 2) == 0)
			(void)snprintf(want, sizeof(want),
				       "%s\r\nt OK Search completed.\r\n",
				       rows[i].want);
		else
			(void)snprintf(want, sizeof(want), "t %s\r\n",
				       rows[i].want);
		tc_expect(rows[i].name, tc_run(c, cmd), want);
	}
}

static const struct row key_rows[] = {
	{"all", "SEARCH ALL", "* SEARCH 1 2 3 4 5 6"},
	{"key names ignore case", "search seen", "* SEARCH 1 6"},
	{"answered", "SEARCH ANSWERED", "* SEARCH 1"},
	{"unanswered", "SEARCH UNANSWERED", "* SEARCH 2 3 4 5 6"},
	{"seen", "SEARCH SEEN", "* SEARCH 1 6"},
	{"unseen", "SEARCH UNSEEN", "* SEARCH 2 3 4 5"},
	{"flagged", "SEARCH FLAGGED", "* SEARCH 2"},
	{"unflagged", "SEARCH UNFLAGGED", "* SEARCH 1 3 4 5 6"},
	{"deleted", "SEARCH DELETED", "* SEARCH 3"},
	{"undeleted", "SEARCH UNDELETED", "* SEARCH 1 2 4 5 6"},
	{"draft", "SEARCH DRAFT", "* SEARCH 4"},
	{"undraft", "SEARCH UNDRAFT", "* SEARCH 1 2 3 5 6"},
	{"keyword", "SEARCH KEYWORD $Important", "* SEARCH 2"},
	{"keyword ignores case", "SEARCH KEYWORD work", "* SEARCH 4"},
	{"unknown keyword matches none", "SEARCH KEYWORD Nope", "* SEARCH"},
	{"unkeyword", "SEARCH UNKEYWORD Work", "* SEARCH 1 2 3 5 6"},
	{"unknown unkeyword matches all", "SEARCH UNKEYWORD Nope",
	 "* SEARCH 1 2 3 4 5 6"},
	{"recent", "SEARCH RECENT", "* SEARCH 5 6"},
	{"new is recent and unseen", "SEARCH NEW", "* SEARCH 5"},
	{"old", "SEARCH OLD", "* SEARCH 1 2 3 4"},
	{"from display name", "SEARCH FROM \"alice example\"", "* SEARCH 1"},
	{"from address", "SEARCH FROM alice@EXAMPLE.org", "* SEARCH 1"},
	{"from substring in all", "SEARCH FROM EXAMPLE",
	 "* SEARCH 1 2 3 4 5 6"},
	{"from rfc2047 iso-8859-1", "SEARCH FROM \"M\xc3\xbcller\"",
	 "* SEARCH 2"},
	{"from rfc2047 folds latin-1 case", "SEARCH FROM \"J\xc3\x96RG\"",
	 "* SEARCH 2"},
	{"to", "SEARCH TO alice", "* SEARCH 2 3 4 5"},
	{"to other", "SEARCH TO bob", "* SEARCH 1 6"},
	{"cc", "SEARCH CC carol", "* SEARCH 1"},
	{"bcc", "SEARCH BCC dave", "* SEARCH 3"},
	{"subject", "SEARCH SUBJECT meeting", "* SEARCH 1"},
	{"subject rfc2047 base64",
	 "SEARCH SUBJECT \"gr\xc3\xbc\xc3\x9f"
	 "e\"",
	 "* SEARCH 2"},
	{"subject rfc2047 words", "SEARCH SUBJECT \"aus m\xc3\xbcnchen\"",
	 "* SEARCH 2"},
	{"subject raw utf-8", "SEARCH SUBJECT \"R\xc3\x89SUM\xc3\x89\"",
	 "* SEARCH 6"},
	{"subject no match", "SEARCH SUBJECT zebra", "* SEARCH"},
	{"header", "SEARCH HEADER X-Mailer testmailer", "* SEARCH 4"},
	{"header name ignores case", "SEARCH HEADER x-mailer 1.0",
	 "* SEARCH 4"},
	{"header empty string: has the field", "SEARCH HEADER Message-ID \"\"",
	 "* SEARCH 1"},
	{"header empty value field exists", "SEARCH HEADER X-Empty \"\"",
	 "* SEARCH 4"},
	{"header absent field", "SEARCH HEADER X-Nothing \"\"", "* SEARCH"},
	{"header decodes rfc2047", "SEARCH HEADER Subject \"m\xc3\xbcnchen\"",
	 "* SEARCH 2"},
	{"body plain", "SEARCH BODY noon", "* SEARCH 1"},
	{"body quoted-printable utf-8", "SEARCH BODY \"sch\xc3\xb6ne gr\"",
	 "* SEARCH 2"},
	{"body base64 text part", "SEARCH BODY swordfish", "* SEARCH 3"},
	{"body skips attachments", "SEARCH BODY hiddenword", "* SEARCH"},
	{"body bare lf", "SEARCH BODY milk", "* SEARCH 4"},
	{"body 8bit utf-8", "SEARCH BODY \"CAF\xc3\x89\"", "* SEARCH 6"},
	{"body excludes header", "SEARCH BODY meeting", "* SEARCH"},
	{"text includes header", "SEARCH TEXT meeting", "* SEARCH 1"},
	{"text field names", "SEARCH TEXT x-mailer", "* SEARCH 4"},
	{"text body", "SEARCH TEXT invoice", "* SEARCH 5"},
	{"text empty string", "SEARCH TEXT \"\"", "* SEARCH 1 2 3 4 5 6"},
	{"larger", "SEARCH LARGER 4000", "* SEARCH 5"},
	{"smaller", "SEARCH SMALLER 4000", "* SEARCH 1 2 3 4 6"},
	{"larger 0", "SEARCH LARGER 0", "* SEARCH 1 2 3 4 5 6"},
	{"smaller 0", "SEARCH SMALLER 0", "* SEARCH"},
	{"before", "SEARCH BEFORE 2-Jan-2024", "* SEARCH 1"},
	{"on last second of day", "SEARCH ON 2-Jan-2024", "* SEARCH 2"},
	{"on first second of day", "SEARCH ON 03-Jan-2024", "* SEARCH 3"},
	{"since midnight", "SEARCH SINCE 3-Jan-2024", "* SEARCH 3 4 5 6"},
	{"since quoted date", "SEARCH SINCE \"1-Mar-2024\"", "* SEARCH 6"},
	{"before first", "SEARCH BEFORE 1-Jan-2024", "* SEARCH"},
	{"date month ignores case", "SEARCH ON 29-FEB-2024", "* SEARCH 5"},
	{"sentbefore, no date counting as 1970", "SEARCH SENTBEFORE 2-Jan-2024",
	 "* SEARCH 1 4"},
	{"no date header is 1970", "SEARCH SENTON 1-Jan-1970", "* SEARCH 4"},
	{"senton uses the written day", "SEARCH SENTON 2-Jan-2024",
	 "* SEARCH 2"},
	{"senton without weekday", "SEARCH SENTON 15-Feb-2024", "* SEARCH 3"},
	{"sentsince", "SEARCH SENTSINCE 15-Feb-2024", "* SEARCH 3 5 6"},
	{"not senton", "SEARCH NOT SENTON 1-Jan-2024", "* SEARCH 2 3 4 5 6"},
	{"uid set", "SEARCH UID 2:4", "* SEARCH 2 3 4"},
	{"uid star", "SEARCH UID *", "* SEARCH 6"},
	{"uid range to star", "SEARCH UID 5:*", "* SEARCH 5 6"},
	{"uid range past star", "SEARCH UID 10:*", "* SEARCH 6"},
	{"sequence set", "SEARCH 2,4:5", "* SEARCH 2 4 5"},
	{"sequence star", "SEARCH *", "* SEARCH 6"},
	{"sequence range to star", "SEARCH 5:*", "* SEARCH 5 6"},
	{"sequence reversed range", "SEARCH 3:1", "* SEARCH 1 2 3"},
	{"sequence past the end", "SEARCH 7:9", "* SEARCH"},
	{"not", "SEARCH NOT SEEN", "* SEARCH 2 3 4 5"},
	{"not not", "SEARCH NOT NOT SEEN", "* SEARCH 1 6"},
	{"or", "SEARCH OR SEEN FLAGGED", "* SEARCH 1 2 6"},
	{"or of group", "SEARCH OR (SEEN ANSWERED) DRAFT", "* SEARCH 1 4"},
	{"group and", "SEARCH (OR SEEN FLAGGED) UNDELETED", "* SEARCH 1 2 6"},
	{"not group", "SEARCH NOT (OR SEEN FLAGGED)", "* SEARCH 3 4 5"},
	{"or chain", "SEARCH OR OR DELETED DRAFT FLAGGED", "* SEARCH 2 3 4"},
	{"or content keys", "SEARCH OR BODY swordfish SUBJECT meeting",
	 "* SEARCH 1 3"},
	{"not content key", "SEARCH NOT BODY swordfish", "* SEARCH 1 2 4 5 6"},
	{"or with not", "SEARCH OR FROM alice NOT TO alice", "* SEARCH 1 6"},
	{"nested groups", "SEARCH ((SEEN) (NOT (ANSWERED)))", "* SEARCH 6"},
	{"implicit and", "SEARCH SEEN FROM alice", "* SEARCH 1"},
	{"implicit and of dates", "SEARCH UNSEEN SINCE 1-Feb-2024",
	 "* SEARCH 4 5"},
	{"and content first in text", "SEARCH TEXT example UNDELETED",
	 "* SEARCH 1 2 4 5 6"},
	{"and with sequence set", "SEARCH 1:3 UNSEEN", "* SEARCH 2 3"},
	{"charset utf-8", "SEARCH CHARSET UTF-8 SUBJECT \"gr\xc3\xbc\xc3\x9f\"",
	 "* SEARCH 2"},
	{"charset lower case", "SEARCH CHARSET utf-8 SEEN", "* SEARCH 1 6"},
	{"charset us-ascii", "SEARCH CHARSET US-ASCII FROM alice",
	 "* SEARCH 1"},
	{"charset quoted", "SEARCH CHARSET \"UTF-8\" DRAFT", "* SEARCH 4"},
	{"charset unsupported", "SEARCH CHARSET KOI8-R SEEN",
	 "NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset."},
	{"uid search gives uids", "UID SEARCH SEEN", "* SEARCH 1 6"},
	{"uid search charset", "UID SEARCH CHARSET UTF-8 BODY swordfish",
	 "* SEARCH 3"},
};

static void
every_key_and_combination_matches_as_rfc3501_says(void **state)
{
	struct tc c;

	(void)state;
	open_examined(&c, shared.root);
	run_rows(&c, key_rows, sizeof(key_rows) / sizeof(*key_rows));
	tc_close(&c);
}

static const struct row bad_rows[] = {
	{"no key", "SEARCH", "BAD Wrong number of arguments"},
	{"unknown key", "SEARCH FOO", "BAD Unknown search key"},
	{"not without key", "SEARCH NOT", "BAD Missing search key"},
	{"or with one key", "SEARCH OR SEEN", "BAD Missing search key"},
	{"empty group", "SEARCH ()", "BAD Empty search key list"},
	{"bad group member", "SEARCH (SEEN FOO)", "BAD Unknown search key"},
	{"invalid day", "SEARCH BEFORE 32-Jan-2024", "BAD Invalid date"},
	{"invalid leap day", "SEARCH ON 29-Feb-2023", "BAD Invalid date"},
	{"date missing", "SEARCH SINCE", "BAD Missing date"},
	{"date as a list", "SEARCH SINCE (1-Jan-2024)", "BAD Invalid date"},
	{"larger not a number", "SEARCH LARGER abc",
	 "BAD Invalid number (0 to 4294967295)"},
	{"larger overflow", "SEARCH LARGER 4294967296",
	 "BAD Invalid number (0 to 4294967295)"},
	{"smaller missing", "SEARCH SMALLER", "BAD Missing number"},
	{"keyword system flag", "SEARCH KEYWORD \\Seen", "BAD Invalid keyword"},
	{"keyword quoted", "SEARCH KEYWORD \"Work\"", "BAD Invalid keyword"},
	{"keyword missing", "SEARCH UNKEYWORD", "BAD Missing keyword"},
	{"header without string", "SEARCH HEADER Subject",
	 "BAD Missing search string"},
	{"from as a list", "SEARCH FROM (alice)", "BAD Expected a string"},
	{"sequence zero", "SEARCH 0", "BAD Invalid sequence set"},
	{"sequence junk", "SEARCH 1:x", "BAD Invalid sequence set"},
	{"uid junk", "SEARCH UID abc", "BAD Invalid sequence set"},
	{"string as key", "SEARCH \"SEEN\"", "BAD Expected a search key"},
	{"charset without name", "SEARCH CHARSET", "BAD Invalid CHARSET"},
	{"charset without key", "SEARCH CHARSET UTF-8",
	 "BAD Missing search key"},
	{"bad syntax wins over charset", "SEARCH CHARSET KOI8-R FOO",
	 "BAD Unknown search key"},
	{"uid search without key", "UID SEARCH",
	 "BAD Wrong number of arguments"},
};

static void
bad_search_programs_answer_bad_with_a_reason(void **state)
{
	struct tc c;
	size_t i;

	(void)state;
	open_examined(&c, shared.root);
	for (i = 0; i < sizeof(bad_rows) / sizeof(*bad_rows); i++) {
		run_rows(&c, &bad_rows[i], 1);
		/* Keep clear of max_bad_commands. */
		(void)tc_run(&c, "n NOOP\r\n");
	}
	/* The session carries on. */
	tc_expect("after bad", tc_run(&c, "t SEARCH DRAFT\r\n"),
		  "* SEARCH 4\r\nt OK Search completed.\r\n");
	tc_close(&c);
}

static void
search_needs_a_selected_mailbox(void **state)
{
	struct tc c;

	(void)state;
	tc_open(&c, shared.root);
	tc_expect("auth state", tc_run(&c, "t SEARCH ALL\r\n"),
		  "t BAD No mailbox selected\r\n");
	tc_close(&c);
}

static void
literal_utf8_search_strings_match(void **state)
{
	static const char nul[] = "t SEARCH BODY {3+}\r\na\0b\r\n";
	struct tc c;

	(void)state;
	open_examined(&c, shared.root);
	/* "München" is 8 octets in UTF-8. */
	tc_expect("sync literal",
		  tc_run(&c, "t SEARCH CHARSET UTF-8 SUBJECT {8}\r\n"
			     "M\xc3\xbcnchen\r\n"),
		  "+ Ready for literal data\r\n* SEARCH 2\r\n"
		  "t OK Search completed.\r\n");
	tc_expect("non-sync literal",
		  tc_run(&c, "t UID SEARCH CHARSET UTF-8 BODY {5+}\r\n"
			     "na\xc3\xafv SEEN\r\n"),
		  "* SEARCH 6\r\nt OK Search completed.\r\n");
	tc_expect("literal header name",
		  tc_run(&c, "t SEARCH HEADER {8+}\r\nX-Mailer {0+}\r\n\r\n"),
		  "* SEARCH 4\r\nt OK Search completed.\r\n");
	tc_expect("literal with NUL",
		  tc_run_len(&c, nul, sizeof(nul) - 1, NULL),
		  "t BAD NUL byte in string\r\n");
	tc_close(&c);
}

/* LARGER and SMALLER on message seq of the INBOX of root, which is m4. */
static void
check_m4_sizes(const char *root, const char *seq)
{
	size_t file = strlen(m4), wire = file + M4_LINES;
	const struct {
		const char *key;
		size_t n;
		bool matches;
	} rows[] = {
		{"LARGER", file, true},      {"LARGER", wire - 1, true},
		{"LARGER", wire, false},     {"SMALLER", wire, false},
		{"SMALLER", wire + 1, true},
	};
	struct tc c;
	size_t i;

	open_examined(&c, root);
	for (i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
		char cmd[128], want[128];

		(void)snprintf(cmd, sizeof(cmd), "t SEARCH %s %s %zu\r\n", seq,
			       rows[i].key, rows[i].n);
		(void)snprintf(want, sizeof(want),
			       "* SEARCH%s%s\r\nt OK Search completed.\r\n",
			       rows[i].matches ? " " : "",
			       rows[i].matches ? seq : "");
		tc_expect(cmd, tc_run(&c, cmd), want);
	}
	tc_close(&c);
}

/* LARGER and SMALLER compare the size with CRLF line ends; m4 is stored
 * with bare LFs, so its file is smaller than its RFC822.SIZE: both when
 * the store recorded that size at append and when a delivery agent wrote
 * the file with no size in its name, so it must be counted. */
static void
sizes_count_crlf_line_ends(void **state)
{
	struct md_store *st;
	char *root = tl_tmpdir();

	(void)state;
	check_m4_sizes(shared.root, "4");
	assert_int_equal(md_store_open(root, true, &st), 0);
	tl_deliver(root, "", "1700000000.M1P1.host", m4);
	check_m4_sizes(root, "1");
	md_store_free(&st);
	tl_rmrf(&root);
}

/* Internal dates have no zone in a Maildir and FETCH shows them in UTC:
 * their day is the UTC day whatever the server's time zone (here five
 * hours west, where messages 2 and 3 would both fall on 2 Jan). */
static void
internal_dates_are_utc_days_whatever_the_time_zone(void **state)
{
	static const struct row est_rows[] = {
		{"on 1 jan", "SEARCH ON 1-Jan-2024", "* SEARCH 1"},
		{"on 2 jan", "SEARCH ON 2-Jan-2024", "* SEARCH 2"},
		{"on 3 jan", "SEARCH ON 3-Jan-2024", "* SEARCH 3"},
		{"before 3 jan", "SEARCH BEFORE 3-Jan-2024", "* SEARCH 1 2"},
		{"since 1 mar", "SEARCH SINCE 1-Mar-2024", "* SEARCH 6"},
		{"sent dates unchanged", "SEARCH SENTON 2-Jan-2024",
		 "* SEARCH 2"},
	};
	struct tc c;

	(void)state;
	use_tz("EST5");
	open_examined(&c, shared.root);
	run_rows(&c, est_rows, sizeof(est_rows) / sizeof(*est_rows));
	tc_close(&c);
	use_tz("UTC0");
}

static void
nesting_deeper_than_the_limit_is_bad(void **state)
{
	struct buf cmd;
	struct tc c;
	unsigned i, max = IMAP_DEFAULT_MAX_NESTING * SEARCH_DEPTH_FACTOR;

	(void)state;
	open_examined(&c, shared.root);
	buf_init(&cmd, 0);
	(void)buf_puts(&cmd, "t SEARCH");
	for (i = 0; i < max; i++)
		(void)buf_puts(&cmd, " NOT");
	(void)buf_puts(&cmd, " SEEN\r\n");
	tc_expect("at the limit", tc_run(&c, buf_cstr(&cmd)),
		  "* SEARCH 1 6\r\nt OK Search completed.\r\n");
	buf_reset(&cmd);
	(void)buf_puts(&cmd, "t SEARCH");
	for (i = 0; i <= max; i++)
		(void)buf_puts(&cmd, " OR SEEN");
	(void)buf_puts(&cmd, " DRAFT\r\n");
	tc_expect("over the limit", tc_run(&c, buf_cstr(&cmd)),
		  "t BAD Search program nested too deeply\r\n");
	buf_reset(&cmd);
	(void)buf_puts(&cmd, "t SEARCH ");
	for (i = 0; i <= IMAP_DEFAULT_MAX_NESTING; i++)
		(void)buf_puts(&cmd, "(");
	(void)buf_puts(&cmd, "SEEN");
	for (i = 0; i <= IMAP_DEFAULT_MAX_NESTING; i++)
		(void)buf_puts(&cmd, ")");
	(void)buf_puts(&cmd, "\r\n");
	tc_expect("parentheses over the parser limit",
		  tc_run(&c, buf_cstr(&cmd)),
		  "t BAD Too deeply nested parentheses\r\n");
	buf_free(&cmd);
	tc_close(&c);
}

/* Run program over the 6 messages of box; *opened_r gets how many files
 * it read. Returns the number of matches. */
static uint32_t
count_matches(struct md_box *box, const char *program, uint32_t *opened_r)
{
	struct arena *a = arena_new();
	struct imap_limits lim;
	struct imap_command pc;
	struct search_key *root;
	struct search_ctx *ctx;
	const char *error;
	char *line = arena_printf(a, "t SEARCH %s\r\n", program);
	uint32_t seq, n = 0;

	imap_limits_default(&lim);
	assert_int_equal(
		imap_parse_command(a, &lim, line, strlen(line), &pc, &error),
		IMAP_PARSE_OK);
	assert_int_equal(
		search_parse(a, &lim, pc.args, pc.count, &root, &error), 0);
	ctx = search_begin(a, shared.st, box, root, 6, 6);
	for (seq = 1; seq <= 6; seq++)
		n += search_match(ctx, seq, seq, seq >= 5);
	assert_false(search_failed(ctx));
	*opened_r = search_opened(ctx);
	arena_free(&a);
	return n;
}

/* The matcher reads a message only when the keys the box can answer
 * leave it undecided. */
static void
cheap_keys_decide_without_reading_messages(void **state)
{
	static const struct {
		const char *program;
		uint32_t matches, opened;
	} rows[] = {
		{"SEEN", 2, 0},
		{"UNSEEN LARGER 100000", 0, 0},
		{"SMALLER 100", 0, 0},
		{"LARGER 50", 6, 0},
		{"SEEN FROM alice", 1, 2},
		{"FROM alice SEEN", 1, 2},
		{"OR SEEN BODY swordfish", 3, 4},
		{"NOT (DELETED OR DRAFT TEXT x)", 5, 1},
		{"FROM alice", 1, 6},
		{"UID 3 HEADER Bcc dave", 1, 1},
	};
	struct md_box *box;
	size_t i;

	(void)state;
	/* The metadata cache would answer header keys without reading the
	 * files (earlier searches filled it): off here, see the next test. */
	md_store_set_cache_max(shared.st, 0);
	assert_int_equal(md_box_open(shared.st, "INBOX", true, &box), 0);
	for (i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
		uint32_t opened,
			n = count_matches(box, rows[i].program, &opened);

		if (n != rows[i].matches || opened != rows[i].opened)
			fail_msg("%s: %u matches, %u read; want %u, %u",
				 rows[i].program, n, opened, rows[i].matches,
				 rows[i].opened);
	}
	md_box_free(&box);
	md_store_set_cache_max(shared.st, (size_t)64 << 20);
}

/* Header keys read the header block from the metadata cache once a
 * search (or FETCH) put it there: the second search opens no file and
 * finds the same. */
static void
header_keys_use_the_metadata_cache(void **state)
{
	static const char *const programs[] = {
		"FROM alice",    "HEADER Bcc dave",      "SENTSINCE 1-Jan-2000",
		"NOT SUBJECT x", "OR FROM alice TO bob",
	};
	struct md_box *box;
	uint32_t first, again, opened;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(programs) / sizeof(*programs); i++) {
		assert_int_equal(md_box_open(shared.st, "INBOX", true, &box),
				 0);
		first = count_matches(box, programs[i], &opened);
		md_cache_flush(box);
		md_box_free(&box);
		assert_int_equal(md_box_open(shared.st, "INBOX", true, &box),
				 0);
		again = count_matches(box, programs[i], &opened);
		if (again != first || opened != 0)
			fail_msg("%s: %u then %u matches, %u files read",
				 programs[i], first, again, opened);
		md_box_free(&box);
	}
	/* BODY still reads the files. */
	assert_int_equal(md_box_open(shared.st, "INBOX", true, &box), 0);
	(void)count_matches(box, "BODY swordfish", &opened);
	assert_int_equal(opened, 6);
	md_box_free(&box);
}

/* A private Maildir for the tests that change it. */
static char *
private_maildir(struct md_store **st_r)
{
	char *root = tl_tmpdir();

	assert_int_equal(md_store_open(root, true, st_r), 0);
	return root;
}

static void
search_in_an_empty_mailbox_finds_nothing(void **state)
{
	static const struct row rows[] = {
		{"all", "SEARCH ALL", "* SEARCH"},
		{"star", "SEARCH *", "* SEARCH"},
		{"uid range", "UID SEARCH 1:*", "* SEARCH"},
		{"uid key", "SEARCH UID *", "* SEARCH"},
		{"content", "SEARCH TEXT x", "* SEARCH"},
	};
	struct md_store *st;
	char *root = private_maildir(&st);
	struct tc c;

	(void)state;
	open_examined(&c, root);
	run_rows(&c, rows, sizeof(rows) / sizeof(*rows));
	tc_close(&c);
	md_store_free(&st);
	tl_rmrf(&root);
}

static void
uid_search_answers_uids_and_search_sequence_numbers(void **state)
{
	static const struct row rows[] = {
		{"seq all", "SEARCH ALL", "* SEARCH 1 2 3"},
		{"uid all", "UID SEARCH ALL", "* SEARCH 2 4 5"},
		{"seq by uid key", "SEARCH UID 4", "* SEARCH 2"},
		{"uid by seq key", "UID SEARCH 2", "* SEARCH 4"},
		{"uid key star", "UID SEARCH UID *", "* SEARCH 5"},
		{"uid key gap", "UID SEARCH UID 1,3", "* SEARCH"},
		{"seq star", "UID SEARCH *", "* SEARCH 5"},
		{"uid content", "UID SEARCH SUBJECT two", "* SEARCH 4"},
	};
	uint32_t gone[] = {1, 3};
	struct md_uids out = {0};
	struct md_store *st;
	struct md_box *b;
	char *root = private_maildir(&st);
	struct tc c;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		char msg[64];

		(void)snprintf(msg, sizeof(msg), "Subject: %s\r\n\r\nx\r\n",
			       i == 3 ? "two" : "other");
		assert_int_equal(add(st, msg, 0, NULL, 0), (uint32_t)i + 1);
	}
	assert_int_equal(md_box_open(st, "INBOX", false, &b), 0);
	assert_int_equal(md_box_expunge(b, gone, 2, &out), 0);
	md_uids_free(&out);
	md_box_free(&b);
	open_examined(&c, root);
	run_rows(&c, rows, sizeof(rows) / sizeof(*rows));
	tc_close(&c);
	md_store_free(&st);
	tl_rmrf(&root);
}

/* Another session expunges a message while this one has it in its view:
 * SEARCH must not report the EXPUNGE (RFC 3501 7.4.1) nor match the
 * message, whatever the keys need; UID SEARCH may report it after the
 * result. */
static void
messages_expunged_by_others_never_match(void **state)
{
	uint32_t two = 2;
	struct md_uids out = {0};
	struct md_store *st;
	struct md_box *b;
	char *root = private_maildir(&st);
	struct tc c;
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_int_equal(add(st, "Subject: hello\r\n\r\nbody\r\n",
				     MD_FLAG_SEEN, NULL, 0),
				 (uint32_t)i + 1);
	tc_open(&c, root);
	assert_non_null(strstr(tc_run(&c, "x SELECT INBOX\r\n"), "x OK "));
	assert_int_equal(md_box_open(st, "INBOX", false, &b), 0);
	assert_int_equal(md_box_expunge(b, &two, 1, &out), 0);
	md_uids_free(&out);
	md_box_free(&b);
	tc_expect("flags only", tc_run(&c, "t SEARCH SEEN\r\n"),
		  "* SEARCH 1 3\r\nt OK Search completed.\r\n");
	tc_expect("body", tc_run(&c, "t SEARCH BODY body\r\n"),
		  "* SEARCH 1 3\r\nt OK Search completed.\r\n");
	tc_expect("not body", tc_run(&c, "t SEARCH NOT BODY zebra\r\n"),
		  "* SEARCH 1 3\r\nt OK Search completed.\r\n");
	tc_expect("uid search then expunge",
		  tc_run(&c, "t UID SEARCH HEADER Subject hello\r\n"),
		  "* SEARCH 1 3\r\n* 2 EXPUNGE\r\nt OK Search completed.\r\n");
	tc_expect("numbers shifted", tc_run(&c, "t SEARCH ALL\r\n"),
		  "* SEARCH 1 2\r\nt OK Search completed.\r\n");
	tc_close(&c);
	md_store_free(&st);
	tl_rmrf(&root);
}

/* Flags another session changed are searched as they are on disk, and
 * the change is then reported before the tagged OK. */
static void
search_sees_flags_changed_by_others(void **state)
{
	uint32_t one = 1;
	struct md_store *st;
	struct md_box *b;
	char *root = private_maildir(&st);
	struct tc c;

	(void)state;
	assert_int_equal(add(st, "Subject: a\r\n\r\nx\r\n", 0, NULL, 0), 1);
	tc_open(&c, root);
	assert_non_null(strstr(tc_run(&c, "x SELECT INBOX\r\n"), "x OK "));
	assert_int_equal(md_box_open(st, "INBOX", false, &b), 0);
	assert_int_equal(
		md_box_set_flags(b, &one, 1, MD_FLAGS_ADD, MD_FLAG_FLAGGED, 0),
		0);
	md_box_free(&b);
	tc_expect("flagged", tc_run(&c, "t SEARCH FLAGGED\r\n"),
		  "* SEARCH 1\r\n* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\n"
		  "t OK Search completed.\r\n");
	tc_close(&c);
	md_store_free(&st);
	tl_rmrf(&root);
}

/* SENT* keys read the day written in the Date: field in the forms mail
 * has used over the years; a field that is not a date counts as 1 Jan
 * 1970, as in Dovecot. */
static void
sent_dates_in_old_and_odd_forms(void **state)
{
	static const char *const dates[] = {
		"1 Jan 99 10:00 GMT",                      /* 1: 1999 */
		"Sat, 29 Feb 2020 12:00:00 +0000",         /* 2 */
		"(sent) Tue,  3 Mar 2020 (x) 10:00 +0000", /* 3 */
		"31 Feb 2020 10:00 +0000",                 /* 4: no such day */
		"yesterday",                               /* 5 */
		"Wed,\r\n 4 Mar 2020 10:00:00 +0000",      /* 6: folded */
		"5-Mar-2020 10:00 +0000",                  /* 7: no date */
		"6 Mar 120 10:00 +0000",                   /* 8: 2020 */
		"7 march 2020 10:00 +0000",                /* 9 */
		"Sun, 8 Mar 12020 10:00 +0000",            /* 10: 5 digits */
	};
	static const struct row rows[] = {
		{"two-digit year", "SEARCH SENTON 1-Jan-1999", "* SEARCH 1"},
		{"leap day", "SEARCH SENTON 29-Feb-2020", "* SEARCH 2"},
		{"comments", "SEARCH SENTON 3-Mar-2020", "* SEARCH 3"},
		{"folded", "SEARCH SENTON 4-Mar-2020", "* SEARCH 6"},
		{"dashes are no date", "SEARCH SENTON 5-Mar-2020", "* SEARCH"},
		{"three-digit year", "SEARCH SENTON 6-Mar-2020", "* SEARCH 8"},
		{"long month name", "SEARCH SENTON 7-Mar-2020", "* SEARCH 9"},
		{"every date", "SEARCH SENTSINCE 2-Jan-1970",
		 "* SEARCH 1 2 3 6 8 9"},
		{"not a date is 1970", "SEARCH SENTON 1-Jan-1970",
		 "* SEARCH 4 5 7 10"},
		{"before anything", "SEARCH SENTBEFORE 1-Jan-1999",
		 "* SEARCH 4 5 7 10"},
	};
	struct md_store *st;
	char *root = private_maildir(&st);
	struct tc c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dates) / sizeof(*dates); i++) {
		char msg[256];

		(void)snprintf(msg, sizeof(msg),
			       "Subject: d\r\nDate: %s\r\n\r\nx\r\n", dates[i]);
		assert_int_equal(add(st, msg, 0, NULL, 0), (uint32_t)i + 1);
	}
	open_examined(&c, root);
	run_rows(&c, rows, sizeof(rows) / sizeof(*rows));
	tc_close(&c);
	md_store_free(&st);
	tl_rmrf(&root);
}

/* Remove every file in root/sub, as a process that does not take the
 * UID-list lock might. */
static void
unlink_all(const char *root, const char *sub)
{
	char path[4096];
	struct dirent *de;
	DIR *d;

	(void)snprintf(path, sizeof(path), "%s/%s", root, sub);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			assert_int_equal(unlinkat(dirfd(d), de->d_name, 0), 0);
	}
	(void)closedir(d);
}

/* A message whose file vanished after the box was read is expunged for
 * the matcher: no match, whatever the key, and no error. */
static void
message_file_gone_behind_the_box_never_matches(void **state)
{
	static const char *const programs[] = {
		"BODY x",
		"NOT BODY zebra",
		"HEADER Subject \"\"",
		"NOT SENTON 1-Jan-2024",
		"SMALLER 20",
		"LARGER 15",
	};
	struct md_store *st;
	struct md_box *box;
	char *root = private_maildir(&st);
	size_t i;

	(void)state;
	/* No ",W=" size in the name of a delivered file: SMALLER and
	 * LARGER near its size must read it too (14 bytes, 17 with CRLF). */
	tl_deliver(root, "", "1700000000.M2P2.host", "Subject: a\n\nx\n");
	assert_int_equal(md_box_open(st, "INBOX", true, &box), 0);
	/* Wherever the box left it. */
	unlink_all(root, "cur");
	unlink_all(root, "new");
	for (i = 0; i < sizeof(programs) / sizeof(*programs); i++) {
		struct arena *a = arena_new();
		struct imap_limits lim;
		struct imap_command pc;
		struct search_key *root_key;
		struct search_ctx *ctx;
		const char *error;
		char *line = arena_printf(a, "t SEARCH %s\r\n", programs[i]);

		imap_limits_default(&lim);
		assert_int_equal(imap_parse_command(a, &lim, line, strlen(line),
						    &pc, &error),
				 IMAP_PARSE_OK);
		assert_int_equal(search_parse(a, &lim, pc.args, pc.count,
					      &root_key, &error),
				 0);
		ctx = search_begin(a, st, box, root_key, 1, 1);
		if (search_match(ctx, 1, 1, false) || search_failed(ctx) ||
		    search_opened(ctx) != 1)
			fail_msg("%s: matched, failed or not read",
				 programs[i]);
		arena_free(&a);
	}
	md_box_free(&box);
	md_store_free(&st);
	tl_rmrf(&root);
}

/* Replace every file in root/cur by a symlink of the same name, which
 * the store refuses to open (O_NOFOLLOW): a read failure that is not an
 * expunge. */
static void
symlink_cur(const char *root)
{
	char path[4096];
	struct dirent *de;
	DIR *d;

	(void)snprintf(path, sizeof(path), "%s/cur", root);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_int_equal(symlinkat("/dev/null", dirfd(d), "link.tmp"),
				 0);
		assert_int_equal(
			renameat(dirfd(d), "link.tmp", dirfd(d), de->d_name),
			0);
	}
	(void)closedir(d);
}

/* A message that cannot be read ends the search with NO and no result:
 * a partial answer would look complete to the client. Flag keys still
 * answer without reading. */
static void
unreadable_message_ends_search_with_no(void **state)
{
	struct md_store *st;
	char *root = private_maildir(&st);
	struct tc c;

	(void)state;
	assert_int_equal(add(st, "Subject: a\r\n\r\nx\r\n", 0, NULL, 0), 1);
	tc_open(&c, root);
	assert_non_null(strstr(tc_run(&c, "x SELECT INBOX\r\n"), "x OK "));
	symlink_cur(root);
	tc_expect("content key", tc_run(&c, "t SEARCH BODY x\r\n"),
		  "t NO [SERVERBUG] Internal error occurred. Refer to server "
		  "log for more information. [t1]\r\n");
	tc_expect("flag key", tc_run(&c, "t SEARCH UNSEEN\r\n"),
		  "* SEARCH 1\r\nt OK Search completed.\r\n");
	tc_close(&c);
	md_store_free(&st);
	tl_rmrf(&root);
}

/* A message bigger than the store reads into memory is mapped instead:
 * its last line is searched all the same. */
static void
big_message_is_searched_to_its_end(void **state)
{
	static const struct row rows[] = {
		{"body at the end", "SEARCH BODY \"last line\"", "* SEARCH 2"},
		{"body at the start", "SEARCH BODY \"first line\"",
		 "* SEARCH 1 2"},
		{"size", "SEARCH LARGER 300000", "* SEARCH 2"},
	};
	struct md_store *st;
	char *root = private_maildir(&st);
	struct tc c;
	struct buf b;
	int i;

	(void)state;
	assert_int_equal(
		add(st, "Subject: small\r\n\r\nfirst line\r\n", 0, NULL, 0), 1);
	buf_init(&b, 0);
	(void)buf_puts(&b, "Subject: big\r\n\r\nfirst line\r\n");
	for (i = 0; i < 5000; i++)
		(void)buf_puts(&b, "0123456789012345678901234567890123456789"
				   "0123456789012345678901234567\r\n");
	(void)buf_puts(&b, "last line\r\n");
	assert_int_equal(add(st, buf_cstr(&b), 0, NULL, 0), 2);
	buf_free(&b);
	open_examined(&c, root);
	run_rows(&c, rows, sizeof(rows) / sizeof(*rows));
	tc_close(&c);
	md_store_free(&st);
	tl_rmrf(&root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			every_key_and_combination_matches_as_rfc3501_says),
		cmocka_unit_test(bad_search_programs_answer_bad_with_a_reason),
		cmocka_unit_test(search_needs_a_selected_mailbox),
		cmocka_unit_test(literal_utf8_search_strings_match),
		cmocka_unit_test(sizes_count_crlf_line_ends),
		cmocka_unit_test(
			internal_dates_are_utc_days_whatever_the_time_zone),
		cmocka_unit_test(nesting_deeper_than_the_limit_is_bad),
		cmocka_unit_test(cheap_keys_decide_without_reading_messages),
		cmocka_unit_test(header_keys_use_the_metadata_cache),
		cmocka_unit_test(search_in_an_empty_mailbox_finds_nothing),
		cmocka_unit_test(
			uid_search_answers_uids_and_search_sequence_numbers),
		cmocka_unit_test(messages_expunged_by_others_never_match),
		cmocka_unit_test(search_sees_flags_changed_by_others),
		cmocka_unit_test(sent_dates_in_old_and_odd_forms),
		cmocka_unit_test(
			message_file_gone_behind_the_box_never_matches),
		cmocka_unit_test(unreadable_message_ends_search_with_no),
		cmocka_unit_test(big_message_is_searched_to_its_end),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
