/* Unit tests for STORE and UID STORE on a real temporary Maildir: FLAGS,
 * +FLAGS, -FLAGS and .SILENT with exact answers, keywords (announced
 * with FLAGS before first use, the 26-keyword limit), \Recent refused,
 * read-only refused, and a second session seeing the changes at its next
 * NOOP. */
#include "tests/unit/imap-testlib.h"

#include "lib/log.h"

static int
setup(void **state)
{
	struct tl_fx *fx = calloc(1, sizeof(*fx));
	struct md_box *b;
	unsigned i;

	fx->root = tl_tmpdir();
	if (md_store_open(fx->root, true, &fx->st) < 0)
		return -1;
	for (i = 0; i < 3; i++)
		if (tl_append(fx->st, "INBOX", "Subject: x\r\n\r\nbody\r\n",
			      0) == 0)
			return -1;
	/* Claim \Recent once, so that no test session sees it. */
	if (md_box_open(fx->st, "INBOX", false, &b) < 0)
		return -1;
	md_box_free(&b);
	*state = fx;
	return 0;
}

struct store_case {
	const char *name;
	const char *input;
	const char *want;
};

#define FLAGS5 "\\Answered \\Flagged \\Deleted \\Seen \\Draft"

/* In order, on one session over messages 1..3 without flags. */
static const struct store_case store_cases[] = {
	{"replace", "a STORE 1 FLAGS (\\Seen \\Flagged)\r\n",
	 "* 1 FETCH (FLAGS (\\Flagged \\Seen))\r\n"
	 "a OK STORE completed.\r\n"},
	{"add_range", "a STORE 1:2 +FLAGS (\\Answered)\r\n",
	 "* 1 FETCH (FLAGS (\\Answered \\Flagged \\Seen))\r\n"
	 "* 2 FETCH (FLAGS (\\Answered))\r\n"
	 "a OK STORE completed.\r\n"},
	{"remove", "a STORE 1 -FLAGS (\\Flagged \\Answered)\r\n",
	 "* 1 FETCH (FLAGS (\\Seen))\r\na OK STORE completed.\r\n"},
	{"flags_without_parentheses", "a STORE 3 +FLAGS \\Draft \\Deleted\r\n",
	 "* 3 FETCH (FLAGS (\\Deleted \\Draft))\r\na OK STORE completed.\r\n"},
	{"silent_says_nothing", "a STORE 2 +FLAGS.SILENT (\\Seen)\r\n",
	 "a OK STORE completed.\r\n"},
	{"silent_change_shown_by_fetch", "a FETCH 2 FLAGS\r\n",
	 "* 2 FETCH (FLAGS (\\Answered \\Seen))\r\na OK FETCH completed.\r\n"},
	{"uid_store_includes_uid", "a UID STORE 2:3 -FLAGS (\\Seen)\r\n",
	 "* 2 FETCH (UID 2 FLAGS (\\Answered))\r\n"
	 "* 3 FETCH (UID 3 FLAGS (\\Deleted \\Draft))\r\n"
	 "a OK STORE completed.\r\n"},
	{"uid_store_absent_is_empty_ok", "a UID STORE 50 +FLAGS (\\Seen)\r\n",
	 "a OK STORE completed.\r\n"},
	{"empty_match_creates_no_keyword", "a UID STORE 50 +FLAGS (Unused)\r\n",
	 "a OK STORE completed.\r\n"},
	{"lower_case_item", "a store 3 flags.silent ()\r\n",
	 "a OK STORE completed.\r\n"},
	{"new_keyword_announced_first", "a STORE 1 +FLAGS ($Label1)\r\n",
	 "* FLAGS (" FLAGS5 " $Label1)\r\n"
	 "* OK [PERMANENTFLAGS (" FLAGS5 " $Label1 \\*)] Flags permitted.\r\n"
	 "* 1 FETCH (FLAGS (\\Seen $Label1))\r\n"
	 "a OK STORE completed.\r\n"},
	{"known_keyword_any_case", "a STORE 2 +FLAGS ($label1)\r\n",
	 "* 2 FETCH (FLAGS (\\Answered $Label1))\r\n"
	 "a OK STORE completed.\r\n"},
	{"remove_unknown_keyword_is_noop", "a STORE 2 -FLAGS (Nope)\r\n",
	 "* 2 FETCH (FLAGS (\\Answered $Label1))\r\n"
	 "a OK STORE completed.\r\n"},
	{"replace_drops_keywords", "a STORE 1:2 FLAGS (\\Seen)\r\n",
	 "* 1 FETCH (FLAGS (\\Seen))\r\n* 2 FETCH (FLAGS (\\Seen))\r\n"
	 "a OK STORE completed.\r\n"},
	{"recent_is_bad", "a STORE 1 +FLAGS (\\Recent)\r\n", NULL},
	{"unknown_system_flag_is_bad", "a STORE 1 +FLAGS (\\Foo)\r\n", NULL},
	{"unknown_item_is_bad", "a STORE 1 +FLAG (\\Seen)\r\n", NULL},
	{"silent_typo_is_bad", "a STORE 1 FLAGS.SILENTX (\\Seen)\r\n", NULL},
	{"seq_beyond_count_is_bad", "a STORE 4 +FLAGS (\\Seen)\r\n",
	 "a BAD Invalid sequence number\r\n"},
	{"missing_flags_is_bad", "a STORE 1 +FLAGS\r\n",
	 "a BAD Wrong number of arguments\r\n"},
	{"nested_list_is_bad", "a STORE 1 +FLAGS (\\Seen) (\\Draft)\r\n", NULL},
};

static void
store_variants_answer_exactly(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;
	size_t i;
	const char *got;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	for (i = 0; i < sizeof(store_cases) / sizeof(*store_cases); i++) {
		got = tc_run(&c, store_cases[i].input);
		if (store_cases[i].want != NULL)
			tc_expect(store_cases[i].name, got,
				  store_cases[i].want);
		else if (strncmp(got, "a BAD ", 6) != 0)
			fail_msg("%s: got %s", store_cases[i].name, got);
	}
	tc_close(&c);
}

static void
read_only_store_is_no(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s EXAMINE INBOX\r\n");
	tc_expect("examine", tc_run(&c, "a STORE 1 +FLAGS (\\Seen)\r\n"),
		  "a NO [READ-ONLY] Mailbox is read-only.\r\n");
	tc_expect("unchanged", tc_run(&c, "a FETCH 1 FLAGS\r\n"),
		  "* 1 FETCH (FLAGS ())\r\na OK FETCH completed.\r\n");
	tc_close(&c);
}

static void
keyword_limit_is_no_limit(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;
	char cmd[64];
	const char *got;
	unsigned i;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	for (i = 0; i < MD_MAX_KEYWORDS; i++) {
		(void)snprintf(cmd, sizeof(cmd),
			       "a STORE 1 +FLAGS.SILENT (kw%u)\r\n", i);
		got = tc_run(&c, cmd);
		if (strstr(got, "a OK STORE completed.\r\n") == NULL)
			fail_msg("keyword %u: %s", i, got);
	}
	/* Once all 26 exist, PERMANENTFLAGS no longer offers \*. */
	assert_non_null(strstr(got, " kw25)] Flags permitted.\r\n"));
	tc_expect("limit", tc_run(&c, "a STORE 2 +FLAGS (one-too-many)\r\n"),
		  "a NO [LIMIT] Too many keywords.\r\n");
	tc_close(&c);
}

static void
other_session_sees_flags_at_noop(void **state)
{
	struct tl_fx *fx = *state;
	struct tc a, b;

	tc_open(&a, fx->root);
	tc_open(&b, fx->root);
	(void)tc_run(&a, "s SELECT INBOX\r\n");
	(void)tc_run(&b, "s SELECT INBOX\r\n");
	(void)tc_run(&a, "a STORE 2 +FLAGS.SILENT (\\Flagged Work)\r\n");
	tc_expect("noop", tc_run(&b, "b NOOP\r\n"),
		  "* FLAGS (" FLAGS5 " Work)\r\n"
		  "* OK [PERMANENTFLAGS (" FLAGS5
		  " Work \\*)] Flags permitted.\r\n"
		  "* 2 FETCH (FLAGS (\\Flagged Work))\r\n"
		  "b OK NOOP completed.\r\n");
	tc_expect("noop_again", tc_run(&b, "b NOOP\r\n"),
		  "b OK NOOP completed.\r\n");
	/* And back: b's STORE answers with b's FETCH, a sees it at NOOP. */
	tc_expect("store_b", tc_run(&b, "b STORE 2 -FLAGS (Work)\r\n"),
		  "* 2 FETCH (FLAGS (\\Flagged))\r\nb OK STORE completed.\r\n");
	tc_expect("noop_a", tc_run(&a, "a NOOP\r\n"),
		  "* 2 FETCH (FLAGS (\\Flagged))\r\na OK NOOP completed.\r\n");
	tc_close(&b);
	tc_close(&a);
}

static void
expunged_by_other_session(void **state)
{
	struct tl_fx *fx = *state;
	struct md_uids gone = {0};
	struct md_box *bx;
	uint32_t uid = 3;
	struct tc c;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	assert_int_equal(md_box_open(fx->st, "INBOX", false, &bx), 0);
	assert_int_equal(md_box_expunge(bx, &uid, 1, &gone), 0);
	md_uids_free(&gone);
	md_box_free(&bx);
	/* STORE by number syncs without sending the EXPUNGE (RFC 3501
	 * 7.4.1): message 3 stays a ghost the client can still name. */
	tc_expect("first_store",
		  tc_run(&c, "a STORE 1 +FLAGS.SILENT (\\Seen)\r\n"),
		  "a OK STORE completed.\r\n");
	tc_expect("seq_store", tc_run(&c, "a STORE 2:3 +FLAGS (\\Flagged)\r\n"),
		  "* 2 FETCH (FLAGS (\\Flagged))\r\n"
		  "a NO [EXPUNGEISSUED] Some messages were expunged.\r\n");
	tc_expect("uid_store",
		  tc_run(&c, "a UID STORE 2:* -FLAGS (\\Flagged)\r\n"),
		  "* 2 FETCH (UID 2 FLAGS ())\r\n* 3 EXPUNGE\r\n"
		  "a OK STORE completed.\r\n");
	tc_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(store_variants_answer_exactly,
						setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(read_only_store_is_no, setup,
						tl_fx_teardown),
		cmocka_unit_test_setup_teardown(keyword_limit_is_no_limit,
						setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			other_session_sees_flags_at_noop, setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(expunged_by_other_session,
						setup, tl_fx_teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
