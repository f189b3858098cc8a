/* Unit tests for the selected state on real temporary Maildirs: SELECT and
 * EXAMINE answers exactly, sequence-set and UID-set resolution, untagged
 * updates at the moments RFC 3501 7.4.1 allows (two sessions on one
 * mailbox, and a second store writing as another process would), EXPUNGE,
 * UID EXPUNGE, CLOSE, UNSELECT, CHECK and the error paths. */
#include "tests/unit/imap-testlib.h"

#include "lib/log.h"

static uint32_t
uidvalidity(struct tl_fx *fx, const char *name)
{
	struct md_box *b;
	uint32_t uv;

	assert_int_equal(md_box_open(fx->st, name, true, &b), 0);
	uv = md_box_uidvalidity(b);
	md_box_free(&b);
	return uv;
}

/* Change flags from the outside store, as another session would. */
static void
ext_flags(struct tl_fx *fx, uint32_t uid, enum md_flag_op op, uint32_t flags)
{
	struct md_box *b;

	assert_int_equal(md_box_open(fx->st, "INBOX", false, &b), 0);
	assert_int_equal(md_box_set_flags(b, &uid, 1, op, flags, 0), 0);
	md_box_free(&b);
}

static void
ext_keyword(struct tl_fx *fx, uint32_t uid, const char *kw)
{
	struct md_box *b;
	unsigned idx;

	assert_int_equal(md_box_open(fx->st, "INBOX", false, &b), 0);
	assert_int_equal(md_box_keyword_index(b, kw, true, &idx), 0);
	assert_int_equal(
		md_box_set_flags(b, &uid, 1, MD_FLAGS_ADD, 0, 1u << idx), 0);
	md_box_free(&b);
}

static void
ext_expunge(struct tl_fx *fx, const uint32_t *uids, size_t n)
{
	struct md_uids gone = {0};
	struct md_box *b;

	assert_int_equal(md_box_open(fx->st, "INBOX", false, &b), 0);
	assert_int_equal(md_box_expunge(b, uids, n, &gone), 0);
	assert_int_equal(gone.count, n);
	md_uids_free(&gone);
	md_box_free(&b);
}

static void
append_n(struct tl_fx *fx, const char *box, unsigned n, uint32_t flags)
{
	unsigned i;

	for (i = 0; i < n; i++)
		assert_int_not_equal(tl_append(fx->st, box,
					       "Subject: x\r\n\r\nbody\r\n",
					       flags),
				     0);
}

#define FLAGS5 "\\Answered \\Flagged \\Deleted \\Seen \\Draft"

static void
select_empty_inbox_answers_exactly(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;
	char want[1024];

	tc_open(&c, fx->root);
	snprintf(want, sizeof(want),
		 "* FLAGS (" FLAGS5 ")\r\n"
		 "* OK [PERMANENTFLAGS (" FLAGS5 " \\*)] Flags permitted.\r\n"
		 "* 0 EXISTS\r\n* 0 RECENT\r\n"
		 "* OK [UIDVALIDITY %u] UIDs valid.\r\n"
		 "* OK [UIDNEXT 1] Predicted next UID.\r\n"
		 "a OK [READ-WRITE] Select completed.\r\n",
		 uidvalidity(fx, "INBOX"));
	tc_expect("select", tc_run(&c, "a SELECT inbox\r\n"), want);
	tc_close(&c);
}

static void
select_reports_unseen_recent_and_keywords(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;
	char want[1024];

	append_n(fx, "INBOX", 1, MD_FLAG_SEEN);
	ext_keyword(fx, 1, "$Junk"); /* takes \Recent of message 1 */
	append_n(fx, "INBOX", 2, 0);
	tc_open(&c, fx->root);
	snprintf(want, sizeof(want),
		 "* FLAGS (" FLAGS5 " $Junk)\r\n"
		 "* OK [PERMANENTFLAGS (" FLAGS5
		 " $Junk \\*)] Flags permitted.\r\n"
		 "* 3 EXISTS\r\n* 2 RECENT\r\n"
		 "* OK [UNSEEN 2] First unseen.\r\n"
		 "* OK [UIDVALIDITY %u] UIDs valid.\r\n"
		 "* OK [UIDNEXT 4] Predicted next UID.\r\n"
		 "a OK [READ-WRITE] Select completed.\r\n",
		 uidvalidity(fx, "INBOX"));
	tc_expect("select", tc_run(&c, "a SELECT INBOX\r\n"), want);
	tc_close(&c);
}

/* EXAMINE is read-only, has empty PERMANENTFLAGS and does not take
 * \Recent away; the first SELECT then takes it, so a second SELECT sees
 * none. */
static void
examine_is_read_only_and_keeps_recent(void **state)
{
	struct tl_fx *fx = *state;
	struct tc a, b, c;
	char want[1024];

	append_n(fx, "INBOX", 2, MD_FLAG_SEEN);
	tc_open(&a, fx->root);
	tc_open(&b, fx->root);
	tc_open(&c, fx->root);
	snprintf(want, sizeof(want),
		 "* FLAGS (" FLAGS5 ")\r\n"
		 "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n"
		 "* 2 EXISTS\r\n* 2 RECENT\r\n"
		 "* OK [UIDVALIDITY %u] UIDs valid.\r\n"
		 "* OK [UIDNEXT 3] Predicted next UID.\r\n"
		 "e OK [READ-ONLY] Examine completed.\r\n",
		 uidvalidity(fx, "INBOX"));
	tc_expect("examine", tc_run(&a, "e EXAMINE INBOX\r\n"), want);
	assert_non_null(
		strstr(tc_run(&b, "s SELECT INBOX\r\n"), "* 2 RECENT\r\n"));
	assert_non_null(
		strstr(tc_run(&c, "s SELECT INBOX\r\n"), "* 0 RECENT\r\n"));
	tc_expect("expunge read-only", tc_run(&a, "x EXPUNGE\r\n"),
		  "x NO [READ-ONLY] Mailbox is read-only.\r\n");
	tc_close(&a);
	tc_close(&b);
	tc_close(&c);
}

/* A failed SELECT leaves the session unselected, even when another
 * mailbox was selected before. */
static void
failed_select_leaves_nothing_selected(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;

	tc_open(&c, fx->root);
	assert_non_null(strstr(tc_run(&c, "a SELECT INBOX\r\n"), "a OK"));
	tc_expect("missing", tc_run(&c, "b SELECT nosuch\r\n"),
		  "b NO [NONEXISTENT] Mailbox does not exist.\r\n");
	tc_expect("check", tc_run(&c, "c CHECK\r\n"),
		  "c BAD No mailbox selected\r\n");
	assert_int_equal(c.s->state, IMAP_STATE_AUTH);
	tc_close(&c);
}

enum tstate { T_NOT_AUTH, T_AUTH, T_SELECTED };

struct err_case {
	const char *name;
	enum tstate state;
	const char *input;
	const char *want;
};

static const struct err_case err_cases[] = {
	{"select_before_login_is_bad", T_NOT_AUTH, "a SELECT INBOX\r\n", NULL},
	{"select_without_name_is_bad", T_AUTH, "a SELECT\r\n",
	 "a BAD Wrong number of arguments\r\n"},
	{"select_bad_utf7_is_bad", T_AUTH, "a SELECT &Jjo\r\n", NULL},
	{"select_bad_name_cannot", T_AUTH, "a SELECT a..b\r\n",
	 "a NO [CANNOT] Invalid mailbox name.\r\n"},
	{"check_unselected_is_bad", T_AUTH, "a CHECK\r\n",
	 "a BAD No mailbox selected\r\n"},
	{"close_unselected_is_bad", T_AUTH, "a CLOSE\r\n",
	 "a BAD No mailbox selected\r\n"},
	{"unselect_unselected_is_bad", T_AUTH, "a UNSELECT\r\n",
	 "a BAD No mailbox selected\r\n"},
	{"expunge_unselected_is_bad", T_AUTH, "a EXPUNGE\r\n",
	 "a BAD No mailbox selected\r\n"},
	{"expunge_with_argument_is_bad", T_SELECTED, "a EXPUNGE 1\r\n",
	 "a BAD Wrong number of arguments\r\n"},
	{"uid_expunge_without_set_is_bad", T_SELECTED, "a UID EXPUNGE\r\n",
	 "a BAD Wrong number of arguments\r\n"},
	{"uid_expunge_bad_set_is_bad", T_SELECTED, "a UID EXPUNGE 1:x\r\n",
	 NULL},
	{"check_with_argument_is_bad", T_SELECTED, "a CHECK x\r\n",
	 "a BAD Wrong number of arguments\r\n"},
	{"noop_selected_is_ok", T_SELECTED, "a NOOP\r\n",
	 "a OK NOOP completed.\r\n"},
	{"check_selected_is_ok", T_SELECTED, "a CHECK\r\n",
	 "a OK CHECK completed.\r\n"},
	{"uid_expunge_empty_match_is_ok", T_SELECTED, "a UID EXPUNGE 5:7\r\n",
	 "a OK EXPUNGE completed.\r\n"},
};

static void
error_paths_table(void **state)
{
	struct tl_fx *fx = *state;
	size_t i;

	for (i = 0; i < sizeof(err_cases) / sizeof(*err_cases); i++) {
		const struct err_case *ec = &err_cases[i];
		struct tc c;
		const char *got;

		if (ec->state == T_NOT_AUTH)
			tc_open_unauth(&c, fx->root);
		else
			tc_open(&c, fx->root);
		if (ec->state == T_SELECTED)
			(void)tc_run(&c, "s SELECT INBOX\r\n");
		got = tc_run(&c, ec->input);
		if (ec->want != NULL)
			tc_expect(ec->name, got, ec->want);
		else if (strncmp(got, "a BAD ", 6) != 0)
			fail_msg("%s: got %s", ec->name, got);
		tc_close(&c);
	}
}

struct resolve_case {
	const char *name;
	bool is_uid;
	const char *set;
	int ret;
	const char *want; /* UIDs, comma-separated */
};

/* The view holds UIDs 2, 4, 6, 8 (UIDNEXT 9). */
static const struct resolve_case resolve_cases[] = {
	{"seq_all", false, "1:*", 0, "2,4,6,8"},
	{"seq_list", false, "2,4", 0, "4,8"},
	{"seq_reversed_range", false, "3:1", 0, "2,4,6"},
	{"seq_star_is_last", false, "*", 0, "8"},
	{"seq_overlaps_merge", false, "1:2,2:3,1", 0, "2,4,6"},
	{"seq_beyond_count_is_error", false, "5", -1, ""},
	{"seq_range_beyond_count_is_error", false, "3:5", -1, ""},
	{"uid_range_skips_absent", true, "3:7", 0, "4,6"},
	{"uid_star_is_highest", true, "*", 0, "8"},
	{"uid_above_highest_with_star_gives_last", true, "100:*", 0, "8"},
	{"uid_absent_gives_nothing", true, "100", 0, ""},
	{"uid_all", true, "1:*", 0, "2,4,6,8"},
	{"uid_list_sorted", true, "8,2,5,4", 0, "2,4,8"},
};

static void
uids_str(const uint32_t *u, size_t n, char *out, size_t size)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%u",
					i > 0 ? "," : "", u[i]);
}

static void
resolve_sets_against_view(void **state)
{
	struct tl_fx *fx = *state;
	static const uint32_t odd[] = {1, 3, 5, 7};
	struct tc c;
	size_t i;

	append_n(fx, "INBOX", 8, 0);
	ext_expunge(fx, odd, 4);
	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	for (i = 0; i < sizeof(resolve_cases) / sizeof(*resolve_cases); i++) {
		const struct resolve_case *rc = &resolve_cases[i];
		struct imap_seqset set;
		uint32_t *uids;
		size_t n = 0;
		const char *error;
		char got[256];
		int ret;

		assert_int_equal(imap_seqset_parse(c.s->arena, rc->set,
						   strlen(rc->set), &set),
				 0);
		ret = imap_view_resolve(c.s, &set, rc->is_uid, &uids, &n,
					&error);
		if (ret != rc->ret)
			fail_msg("%s: returned %d", rc->name, ret);
		if (ret == 0) {
			uids_str(uids, n, got, sizeof(got));
			tc_expect(rc->name, got, rc->want);
		}
	}
	tc_close(&c);
}

static void
seq_star_on_empty_mailbox_is_error_uid_star_empty(void **state)
{
	struct tl_fx *fx = *state;
	struct imap_seqset set;
	const char *error;
	uint32_t *uids;
	size_t n = 7;
	struct tc c;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	assert_int_equal(imap_seqset_parse(c.s->arena, "1:*", 3, &set), 0);
	assert_int_equal(imap_view_resolve(c.s, &set, false, &uids, &n, &error),
			 -1);
	assert_int_equal(imap_seqset_parse(c.s->arena, "1:*", 3, &set), 0);
	assert_int_equal(imap_view_resolve(c.s, &set, true, &uids, &n, &error),
			 0);
	assert_int_equal(n, 0);
	tc_close(&c);
}

/* Another session's expunge reaches A at NOOP and CHECK, never during a
 * command that defers EXPUNGE (the view keeps a ghost meanwhile, so the
 * sequence numbers A holds stay right). */
static void
expunge_by_other_waits_for_allowed_moment(void **state)
{
	struct tl_fx *fx = *state;
	static const uint32_t two[] = {2};
	static const uint32_t three_four[] = {3, 4};
	struct tc a;

	append_n(fx, "INBOX", 5, 0);
	tc_open(&a, fx->root);
	(void)tc_run(&a, "s SELECT INBOX\r\n");
	ext_expunge(fx, two, 1);
	buf_reset(&a.out);
	imap_sync(a.s, false); /* what FETCH, STORE, SEARCH do */
	assert_int_equal(imap_resp_flush(a.s), 0);
	assert_int_equal(a.out.len, 0);
	assert_int_equal(a.s->view.count, 5);
	assert_int_equal(imap_view_index(&a.s->view, 2), 1);
	tc_expect("noop", tc_run(&a, "n NOOP\r\n"),
		  "* 2 EXPUNGE\r\nn OK NOOP completed.\r\n");
	assert_int_equal(a.s->view.count, 4);
	/* Two in a row: the second has the number the first left. */
	ext_expunge(fx, three_four, 2);
	tc_expect("check", tc_run(&a, "c CHECK\r\n"),
		  "* 2 EXPUNGE\r\n* 2 EXPUNGE\r\nc OK CHECK completed.\r\n");
	assert_int_equal(a.s->view.count, 2);
	assert_int_equal(a.s->view.msgs[0].uid, 1);
	assert_int_equal(a.s->view.msgs[1].uid, 5);
	tc_close(&a);
}

/* Flag changes by others come as FETCH (FLAGS), new keywords first as
 * FLAGS, new messages as EXISTS and RECENT: at NOOP, and at a deferring
 * sync too (only EXPUNGE waits). */
static void
flags_and_new_messages_by_other(void **state)
{
	struct tl_fx *fx = *state;
	struct tc a, b;

	append_n(fx, "INBOX", 2, 0);
	tc_open(&a, fx->root);
	tc_open(&b, fx->root);
	(void)tc_run(&a, "s SELECT INBOX\r\n"); /* takes \Recent */
	(void)tc_run(&b, "s SELECT INBOX\r\n");
	ext_flags(fx, 2, MD_FLAGS_ADD, MD_FLAG_FLAGGED | MD_FLAG_SEEN);
	tc_expect("flags A", tc_run(&a, "n NOOP\r\n"),
		  "* 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r\n"
		  "n OK NOOP completed.\r\n");
	tc_expect("flags B", tc_run(&b, "n NOOP\r\n"),
		  "* 2 FETCH (FLAGS (\\Flagged \\Seen))\r\n"
		  "n OK NOOP completed.\r\n");
	tc_expect("nothing new", tc_run(&a, "n NOOP\r\n"),
		  "n OK NOOP completed.\r\n");
	ext_keyword(fx, 1, "Work");
	buf_reset(&a.out);
	imap_sync(a.s, false);
	assert_int_equal(imap_resp_flush(a.s), 0);
	tc_expect("keyword", buf_cstr(&a.out),
		  "* FLAGS (" FLAGS5 " Work)\r\n"
		  "* OK [PERMANENTFLAGS (" FLAGS5
		  " Work \\*)] Flags permitted.\r\n"
		  "* 1 FETCH (FLAGS (Work \\Recent))\r\n");
	append_n(fx, "INBOX", 1, 0);
	/* Exactly one of the two sessions sees the new message recent. */
	tc_expect("exists B", tc_run(&b, "n NOOP\r\n"),
		  "* FLAGS (" FLAGS5 " Work)\r\n"
		  "* OK [PERMANENTFLAGS (" FLAGS5
		  " Work \\*)] Flags permitted.\r\n"
		  "* 1 FETCH (FLAGS (Work))\r\n"
		  "* 3 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed.\r\n");
	tc_expect("exists A", tc_run(&a, "n NOOP\r\n"),
		  "* 3 EXISTS\r\n* 2 RECENT\r\nn OK NOOP completed.\r\n");
	tc_close(&a);
	tc_close(&b);
}

/* EXPUNGE removes what others marked \Deleted too, one EXPUNGE per message
 * with the numbers the client holds; UID EXPUNGE only those in its set. */
static void
expunge_and_uid_expunge(void **state)
{
	struct tl_fx *fx = *state;
	struct tc a;

	append_n(fx, "INBOX", 5, 0);
	tc_open(&a, fx->root);
	(void)tc_run(&a, "s SELECT INBOX\r\n");
	ext_flags(fx, 2, MD_FLAGS_ADD, MD_FLAG_DELETED);
	ext_flags(fx, 3, MD_FLAGS_ADD, MD_FLAG_DELETED);
	ext_flags(fx, 5, MD_FLAGS_ADD, MD_FLAG_DELETED);
	tc_expect("uid expunge", tc_run(&a, "u UID EXPUNGE 3:4\r\n"),
		  "* 3 EXPUNGE\r\n"
		  "* 2 FETCH (FLAGS (\\Deleted \\Recent))\r\n"
		  "* 4 FETCH (FLAGS (\\Deleted \\Recent))\r\n"
		  "u OK EXPUNGE completed.\r\n");
	tc_expect("expunge", tc_run(&a, "e EXPUNGE\r\n"),
		  "* 2 EXPUNGE\r\n* 3 EXPUNGE\r\ne OK EXPUNGE completed.\r\n");
	assert_int_equal(a.s->view.count, 2);
	assert_int_equal(tl_count(fx->root, "cur") + tl_count(fx->root, "new"),
			 2);
	tc_close(&a);
}

/* CLOSE expunges silently and UNSELECT not at all; both leave the
 * selected state; selecting another mailbox expunges nothing. */
static void
close_unselect_and_reselect(void **state)
{
	struct tl_fx *fx = *state;
	struct tc a;

	append_n(fx, "INBOX", 3, MD_FLAG_DELETED);
	tc_open(&a, fx->root);
	(void)tc_run(&a, "s SELECT INBOX\r\n");
	tc_expect("unselect", tc_run(&a, "u UNSELECT\r\n"),
		  "u OK UNSELECT completed.\r\n");
	assert_int_equal(a.s->state, IMAP_STATE_AUTH);
	(void)tc_run(&a, "s SELECT INBOX\r\n");
	assert_non_null(
		strstr(tc_run(&a, "s SELECT INBOX\r\n"), "* 3 EXISTS\r\n"));
	(void)tc_run(&a, "s EXAMINE INBOX\r\n");
	tc_expect("close read-only", tc_run(&a, "c CLOSE\r\n"),
		  "c OK CLOSE completed.\r\n");
	assert_int_equal(tl_count(fx->root, "cur") + tl_count(fx->root, "new"),
			 3);
	(void)tc_run(&a, "s SELECT INBOX\r\n");
	tc_expect("close", tc_run(&a, "c CLOSE\r\n"),
		  "c OK CLOSE completed.\r\n");
	assert_int_equal(a.s->state, IMAP_STATE_AUTH);
	assert_int_equal(tl_count(fx->root, "cur") + tl_count(fx->root, "new"),
			 0);
	tc_close(&a);
}

/* What MOVE does: its own EXPUNGEs go out at once, numbered as the client
 * counts (a ghost of another session's expunge still counts), while that
 * other expunge waits for NOOP. */
static void
own_expunges_sent_while_others_deferred(void **state)
{
	struct tl_fx *fx = *state;
	static const uint32_t two = 2, four = 4;
	struct md_uids gone = {0};
	struct tc a;

	append_n(fx, "INBOX", 5, 0);
	tc_open(&a, fx->root);
	(void)tc_run(&a, "s SELECT INBOX\r\n");
	/* As the dispatcher does before a handler touches the box. */
	imap_view_fill(&a.s->view);
	ext_expunge(fx, &two, 1);
	assert_int_equal(md_box_sync(a.s->view.box, NULL), 0);
	assert_int_equal(md_box_expunge(a.s->view.box, &four, 1, &gone), 0);
	md_uids_free(&gone);
	buf_reset(&a.out);
	imap_view_expunged(a.s, &four, 1);
	imap_sync(a.s, false);
	assert_int_equal(imap_resp_flush(a.s), 0);
	tc_expect("own", buf_cstr(&a.out), "* 4 EXPUNGE\r\n");
	tc_expect("noop", tc_run(&a, "n NOOP\r\n"),
		  "* 2 EXPUNGE\r\nn OK NOOP completed.\r\n");
	assert_int_equal(a.s->view.count, 3);
	tc_close(&a);
}

/* What STORE does: report a message's flags itself (with UID for the UID
 * form); the sync then has nothing more to say about it. */
static void
reported_flags_are_not_repeated_by_sync(void **state)
{
	struct tl_fx *fx = *state;
	struct tc a;

	append_n(fx, "INBOX", 2, 0);
	tc_open(&a, fx->root);
	(void)tc_run(&a, "s SELECT INBOX\r\n");
	ext_flags(fx, 2, MD_FLAGS_ADD, MD_FLAG_ANSWERED);
	assert_int_equal(md_box_sync(a.s->view.box, NULL), 0);
	buf_reset(&a.out);
	imap_view_report_flags(a.s, 1, true, true);
	assert_int_equal(imap_resp_flush(a.s), 0);
	tc_expect("fetch", buf_cstr(&a.out),
		  "* 2 FETCH (UID 2 FLAGS (\\Answered \\Recent))\r\n");
	tc_expect("noop", tc_run(&a, "n NOOP\r\n"), "n OK NOOP completed.\r\n");
	ext_flags(fx, 1, MD_FLAGS_ADD, MD_FLAG_DRAFT);
	assert_int_equal(md_box_sync(a.s->view.box, NULL), 0);
	imap_view_report_flags(a.s, 0, false, false); /* .SILENT */
	tc_expect("silent", tc_run(&a, "n NOOP\r\n"),
		  "n OK NOOP completed.\r\n");
	tc_close(&a);
}

/* The selected mailbox deleted under the session: BYE and close. */
static void
selected_mailbox_deleted_says_bye(void **state)
{
	struct tl_fx *fx = *state;
	enum imap_status st;
	struct tc a;
	const char *got;

	assert_int_equal(md_box_create(fx->st, "Box"), 0);
	tc_open(&a, fx->root);
	(void)tc_run(&a, "s SELECT Box\r\n");
	assert_int_equal(md_box_delete(fx->st, "Box"), 0);
	got = tc_run_len(&a, "n NOOP\r\n", 8, &st);
	tc_expect("bye", got,
		  "* BYE Selected mailbox was deleted.\r\n"
		  "n OK NOOP completed.\r\n");
	assert_int_equal(st, IMAP_STATUS_CLOSE);
	tc_close(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			select_empty_inbox_answers_exactly, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			select_reports_unseen_recent_and_keywords, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			examine_is_read_only_and_keeps_recent, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			failed_select_leaves_nothing_selected, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(error_paths_table, tl_fx_setup,
						tl_fx_teardown),
		cmocka_unit_test_setup_teardown(resolve_sets_against_view,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			seq_star_on_empty_mailbox_is_error_uid_star_empty,
			tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			expunge_by_other_waits_for_allowed_moment, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(flags_and_new_messages_by_other,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(expunge_and_uid_expunge,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(close_unselect_and_reselect,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			selected_mailbox_deleted_says_bye, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			own_expunges_sent_while_others_deferred, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			reported_flags_are_not_repeated_by_sync, tl_fx_setup,
			tl_fx_teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
