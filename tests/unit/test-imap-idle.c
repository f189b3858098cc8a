/* Unit tests for the protocol side of IDLE (RFC 2177) on real temporary
 * Maildirs: "+ idling", DONE in any case and split anywhere, BAD for any
 * other line, the updates pushed by imap_session_changed() after changes
 * made by another store (as another process would), nothing pushed
 * outside IDLE, the keepalive, and the polling fallback. */
#include "tests/unit/imap-testlib.h"

#include "lib/log.h"

static void
append_n(struct tl_fx *fx, unsigned n, uint32_t flags)
{
	unsigned i;

	for (i = 0; i < n; i++)
		assert_int_not_equal(tl_append(fx->st, "INBOX",
					       "Subject: x\r\n\r\nbody\r\n",
					       flags),
				     0);
}

static void
ext_flags(struct tl_fx *fx, uint32_t uid, enum md_flag_op op, uint32_t flags)
{
	struct md_box *b;

	assert_int_equal(md_box_open(fx->st, "INBOX", false, &b), 0);
	assert_int_equal(md_box_set_flags(b, &uid, 1, op, flags, 0), 0);
	md_box_free(&b);
}

static void
ext_expunge(struct tl_fx *fx, uint32_t uid)
{
	struct md_uids gone = {0};
	struct md_box *b;

	assert_int_equal(md_box_open(fx->st, "INBOX", false, &b), 0);
	assert_int_equal(md_box_expunge(b, &uid, 1, &gone), 0);
	assert_int_equal(gone.count, 1);
	md_uids_free(&gone);
	md_box_free(&b);
}

/* Run imap_session_changed() as server/ does when the descriptor is
 * readable; returns what it wrote. */
static const char *
tc_changed(struct tc *c, enum imap_status *st_r)
{
	enum imap_status st;

	buf_reset(&c->out);
	st = imap_session_changed(c->s);
	if (st_r != NULL)
		*st_r = st;
	return buf_cstr(&c->out);
}

static const char *
tc_keepalive(struct tc *c)
{
	buf_reset(&c->out);
	assert_int_equal(imap_session_keepalive(c->s), IMAP_STATUS_CONTINUE);
	return buf_cstr(&c->out);
}

/* A session with INBOX selected, output cleared. */
static void
open_selected(struct tc *c, struct tl_fx *fx)
{
	tc_open(c, fx->root);
	assert_non_null(strstr(tc_run(c, "s SELECT INBOX\r\n"), "s OK"));
	buf_reset(&c->out);
}

struct line_case {
	const char *name;
	const char *line; /* sent after "+ idling" */
	const char *want;
};

static const struct line_case line_cases[] = {
	{"done_upper_case_ends_idle", "DONE\r\n", "a OK IDLE terminated.\r\n"},
	{"done_lower_case_ends_idle", "done\r\n", "a OK IDLE terminated.\r\n"},
	{"done_mixed_case_ends_idle", "dOnE\r\n", "a OK IDLE terminated.\r\n"},
	{"done_bare_lf_ends_idle", "DONE\n", "a OK IDLE terminated.\r\n"},
	{"command_while_idling_is_bad", "b NOOP\r\n",
	 "a BAD Expected DONE.\r\n"},
	{"done_with_trailing_space_is_bad", "DONE \r\n",
	 "a BAD Expected DONE.\r\n"},
	{"empty_line_is_bad", "\r\n", "a BAD Expected DONE.\r\n"},
	{"done_with_literal_marker_is_bad", "DONE {5}\r\n",
	 "a BAD Expected DONE.\r\n"},
};

/* Every line ends the IDLE, DONE with OK and anything else with BAD; the
 * line is never run as a command and the next command works. */
static void
idle_lines_table(void **state)
{
	struct tl_fx *fx = *state;
	size_t i;

	for (i = 0; i < sizeof(line_cases) / sizeof(*line_cases); i++) {
		const struct line_case *lc = &line_cases[i];
		struct tc c;

		open_selected(&c, fx);
		tc_expect(lc->name, tc_run(&c, "a IDLE\r\n"), "+ idling\r\n");
		assert_true(imap_session_is_idling(c.s));
		tc_expect(lc->name, tc_run(&c, lc->line), lc->want);
		if (imap_session_is_idling(c.s))
			fail_msg("%s: still idling", lc->name);
		tc_expect(lc->name, tc_run(&c, "n NOOP\r\n"),
			  "n OK NOOP completed.\r\n");
		tc_close(&c);
	}
}

/* IDLE and DONE in one input, then byte by byte: the same answers. */
static void
idle_pipelined_and_split_byte_by_byte(void **state)
{
	static const char input[] = "a IDLE\r\nDONE\r\nn NOOP\r\n";
	static const char want[] = "+ idling\r\na OK IDLE terminated.\r\n"
				   "n OK NOOP completed.\r\n";
	struct tl_fx *fx = *state;
	struct buf all;
	struct tc c;
	size_t i;

	open_selected(&c, fx);
	tc_expect("whole", tc_run(&c, input), want);
	buf_init(&all, 0);
	for (i = 0; i < sizeof(input) - 1; i++) {
		(void)tc_run_len(&c, input + i, 1, NULL);
		(void)buf_append(&all, c.out.data, c.out.len);
	}
	tc_expect("byte by byte", buf_cstr(&all), want);
	buf_free(&all);
	tc_close(&c);
}

/* RFC 2177 4: IDLE is a command_auth; before login it is BAD; with no
 * mailbox selected there is nothing to watch or report. */
static void
idle_states(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;

	tc_open_unauth(&c, fx->root);
	tc_expect("not authenticated", tc_run(&c, "a IDLE\r\n"),
		  "a BAD Command not allowed before authentication\r\n");
	tc_close(&c);
	tc_open(&c, fx->root);
	tc_expect("authenticated", tc_run(&c, "a IDLE\r\n"), "+ idling\r\n");
	assert_int_equal(imap_session_watch_fd(c.s), -1);
	assert_int_equal(imap_session_poll_interval(c.s), 0);
	append_n(fx, 1, 0);
	tc_expect("changed", tc_changed(&c, NULL), "");
	tc_expect("done", tc_run(&c, "DONE\r\n"), "a OK IDLE terminated.\r\n");
	tc_expect("arguments", tc_run(&c, "b IDLE x\r\n"),
		  "b BAD Wrong number of arguments\r\n");
	tc_close(&c);
}

/* Changes made before IDLE are reported before "+ idling" (RFC 2177's
 * example); changes made during it by imap_session_changed(), with the
 * sequence numbers the client holds; DONE reports nothing twice. */
static void
changed_pushes_updates_while_idling(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;

	append_n(fx, 3, MD_FLAG_SEEN);
	open_selected(&c, fx);
	append_n(fx, 1, 0);
	tc_expect("idle", tc_run(&c, "a IDLE\r\n"),
		  "* 4 EXISTS\r\n* 4 RECENT\r\n+ idling\r\n");
	assert_true(imap_session_watch_fd(c.s) >= 0);
	tc_expect("quiet", tc_changed(&c, NULL), "");
	append_n(fx, 2, 0);
	tc_expect("new", tc_changed(&c, NULL), "* 6 EXISTS\r\n* 6 RECENT\r\n");
	ext_flags(fx, 2, MD_FLAGS_ADD, MD_FLAG_FLAGGED);
	tc_expect("flags", tc_changed(&c, NULL),
		  "* 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r\n");
	ext_expunge(fx, 1);
	ext_expunge(fx, 3);
	tc_expect("expunge", tc_changed(&c, NULL),
		  "* 1 EXPUNGE\r\n* 2 EXPUNGE\r\n");
	tc_expect("done", tc_run(&c, "DONE\r\n"), "a OK IDLE terminated.\r\n");
	assert_int_equal(c.s->view.count, 4);
	tc_close(&c);
}

/* Outside IDLE a change is only drained: RFC 3501 allows untagged data
 * only around commands, and the next command reports it, as an IDLE
 * would have. */
static void
changed_outside_idle_waits_for_next_command(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;

	open_selected(&c, fx);
	tc_expect("idle", tc_run(&c, "a IDLE\r\n"), "+ idling\r\n");
	tc_expect("done", tc_run(&c, "DONE\r\n"), "a OK IDLE terminated.\r\n");
	assert_true(imap_session_watch_fd(c.s) >= 0);
	append_n(fx, 1, 0);
	tc_expect("changed", tc_changed(&c, NULL), "");
	tc_expect("noop", tc_run(&c, "n NOOP\r\n"),
		  "* 1 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed.\r\n");
	tc_expect("keepalive", tc_keepalive(&c), "");
	tc_close(&c);
}

static void
keepalive_only_while_idling(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;

	open_selected(&c, fx);
	tc_expect("before", tc_keepalive(&c), "");
	(void)tc_run(&c, "a IDLE\r\n");
	tc_expect("idling", tc_keepalive(&c), "* OK Still here\r\n");
	tc_expect("again", tc_keepalive(&c), "* OK Still here\r\n");
	tc_expect("done", tc_run(&c, "DONE\r\n"), "a OK IDLE terminated.\r\n");
	tc_expect("after", tc_keepalive(&c), "");
	tc_close(&c);
}

/* mailbox_watch = poll: no descriptor, a poll interval while idling, and
 * each poll reports what changed. */
static void
forced_poll_reports_on_each_call(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;

	tc_open_unauth(&c, fx->root);
	imap_session_free(&c.s);
	c.cfg.watch_poll = true;
	c.cfg.poll_interval = 7;
	c.s = imap_session_new(&c.cfg, &tc_hooks, &c);
	(void)tc_run(&c, "L LOGIN alice secret\r\n");
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	assert_int_equal(imap_session_poll_interval(c.s), 0);
	tc_expect("idle", tc_run(&c, "a IDLE\r\n"), "+ idling\r\n");
	assert_int_equal(imap_session_watch_fd(c.s), -1);
	assert_int_equal(imap_session_poll_interval(c.s), 7);
	tc_expect("nothing", tc_changed(&c, NULL), "");
	append_n(fx, 1, 0);
	tc_expect("new", tc_changed(&c, NULL), "* 1 EXISTS\r\n* 1 RECENT\r\n");
	tc_expect("done", tc_run(&c, "DONE\r\n"), "a OK IDLE terminated.\r\n");
	assert_int_equal(imap_session_poll_interval(c.s), 0);
	tc_close(&c);
}

/* The selected mailbox deleted during IDLE: BYE and close. */
static void
mailbox_deleted_while_idling_says_bye(void **state)
{
	struct tl_fx *fx = *state;
	enum imap_status st;
	struct tc c;

	assert_int_equal(md_box_create(fx->st, "Box"), 0);
	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT Box\r\n");
	tc_expect("idle", tc_run(&c, "a IDLE\r\n"), "+ idling\r\n");
	assert_int_equal(md_box_delete(fx->st, "Box"), 0);
	tc_expect("bye", tc_changed(&c, &st),
		  "* BYE Selected mailbox was deleted.\r\n");
	assert_int_equal(st, IMAP_STATUS_CLOSE);
	tc_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(idle_lines_table, tl_fx_setup,
						tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			idle_pipelined_and_split_byte_by_byte, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(idle_states, tl_fx_setup,
						tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			changed_pushes_updates_while_idling, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			changed_outside_idle_waits_for_next_command,
			tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(keepalive_only_while_idling,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			forced_poll_reports_on_each_call, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			mailbox_deleted_while_idling_says_bye, tl_fx_setup,
			tl_fx_teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
