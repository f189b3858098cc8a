/* Unit tests for the mailbox commands on real temporary Maildirs: LIST and
 * LSUB patterns and attributes (table-driven), CREATE, DELETE and RENAME
 * (INBOX included), SUBSCRIBE, STATUS, and APPEND: flags, dates,
 * TRYCREATE, APPENDUID, LITERAL+, a big message streamed without being
 * held in memory, and an interrupted or refused APPEND leaving nothing
 * behind. */
#include "tests/unit/imap-testlib.h"

#include "lib/log.h"

/* Messages in box name (0 when it cannot be opened). */
static uint32_t
count_msgs(struct tl_fx *fx, const char *name)
{
	struct md_box *b;
	uint32_t n;

	if (md_box_open(fx->st, name, true, &b) < 0)
		return 0;
	(void)md_box_messages(b, &n);
	md_box_free(&b);
	return n;
}

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

/* Files in tmp/, new/ and cur/ of the root (INBOX). */
static int
inbox_files(struct tl_fx *fx)
{
	return tl_count(fx->root, "tmp") + tl_count(fx->root, "new") +
	       tl_count(fx->root, "cur");
}

/* ---- LIST and LSUB ---- */

struct list_case {
	const char *name;
	const char *input;
	const char *want; /* all output, tagged line included */
};

#define LOK "a OK LIST completed.\r\n"
#define SOK "a OK LSUB completed.\r\n"

static const struct list_case list_cases[] = {
	{"delimiter_query", "a LIST \"\" \"\"\r\n",
	 "* LIST (\\Noselect) \".\" \"\"\r\n" LOK},
	{"delimiter_query_root_of_reference", "a LIST Work.x \"\"\r\n",
	 "* LIST (\\Noselect) \".\" Work.\r\n" LOK},
	{"star_lists_everything_with_attributes", "a LIST \"\" *\r\n",
	 "* LIST (\\HasNoChildren) \".\" INBOX\r\n"
	 "* LIST (\\HasChildren) \".\" Archive\r\n"
	 "* LIST (\\HasNoChildren) \".\" Archive.2024\r\n"
	 "* LIST (\\HasNoChildren) \".\" \"My Folder\"\r\n"
	 "* LIST (\\HasNoChildren) \".\" Sent\r\n"
	 "* LIST (\\Noselect \\HasChildren) \".\" Work\r\n"
	 "* LIST (\\HasNoChildren) \".\" Work.Projects\r\n"
	 "* LIST (\\HasNoChildren) \".\" caf&AOk-\r\n" LOK},
	{"percent_lists_one_level_and_implied_parents", "a LIST \"\" %\r\n",
	 "* LIST (\\HasNoChildren) \".\" INBOX\r\n"
	 "* LIST (\\HasChildren) \".\" Archive\r\n"
	 "* LIST (\\HasNoChildren) \".\" \"My Folder\"\r\n"
	 "* LIST (\\HasNoChildren) \".\" Sent\r\n"
	 "* LIST (\\Noselect \\HasChildren) \".\" Work\r\n"
	 "* LIST (\\HasNoChildren) \".\" caf&AOk-\r\n" LOK},
	{"reference_is_prefixed", "a LIST Archive. %\r\n",
	 "* LIST (\\HasNoChildren) \".\" Archive.2024\r\n" LOK},
	{"inbox_any_case", "a LIST \"\" inBox\r\n",
	 "* LIST (\\HasNoChildren) \".\" INBOX\r\n" LOK},
	{"prefix_star", "a LIST \"\" Arch*\r\n",
	 "* LIST (\\HasChildren) \".\" Archive\r\n"
	 "* LIST (\\HasNoChildren) \".\" Archive.2024\r\n" LOK},
	{"second_level_only", "a LIST \"\" %.%\r\n",
	 "* LIST (\\HasNoChildren) \".\" Archive.2024\r\n"
	 "* LIST (\\HasNoChildren) \".\" Work.Projects\r\n" LOK},
	{"utf7_pattern_matches_utf8_name", "a LIST \"\" \"caf&AOk-\"\r\n",
	 "* LIST (\\HasNoChildren) \".\" caf&AOk-\r\n" LOK},
	{"name_with_space_is_quoted", "a LIST \"\" \"My *\"\r\n",
	 "* LIST (\\HasNoChildren) \".\" \"My Folder\"\r\n" LOK},
	{"no_match_is_ok_and_empty", "a LIST \"\" nomatch\r\n", LOK},
	{"many_stars_do_not_blow_up",
	 "a LIST \"\" \"*%*%*%*%*%*%*%*%*%*q\"\r\n", LOK},
	{"invalid_utf7_pattern_is_bad", "a LIST \"\" &Jjo\r\n",
	 "a BAD Invalid modified UTF-7 in mailbox name\r\n"},
	{"list_arity_is_checked", "a LIST \"\"\r\n",
	 "a BAD Wrong number of arguments\r\n"},
	{"lsub_star_gives_subscribed_names", "a LSUB \"\" *\r\n",
	 "* LSUB () \".\" Archive\r\n* LSUB () \".\" Gone\r\n"
	 "* LSUB () \".\" Work.Projects\r\n" SOK},
	{"lsub_percent_gives_implied_parent_noselect", "a LSUB \"\" %\r\n",
	 "* LSUB () \".\" Archive\r\n* LSUB () \".\" Gone\r\n"
	 "* LSUB (\\Noselect) \".\" Work\r\n" SOK},
	{"lsub_reference", "a LSUB Work. %\r\n",
	 "* LSUB () \".\" Work.Projects\r\n" SOK},
};

static void
list_and_lsub_table(void **state)
{
	struct tl_fx *fx = *state;
	size_t i;
	struct tc c;

	assert_int_equal(md_box_create(fx->st, "Archive"), 0);
	assert_int_equal(md_box_create(fx->st, "Archive.2024"), 0);
	assert_int_equal(md_box_create(fx->st, "Sent"), 0);
	assert_int_equal(md_box_create(fx->st, "Work.Projects"), 0);
	assert_int_equal(md_box_create(fx->st, "caf\xc3\xa9"), 0);
	assert_int_equal(md_box_create(fx->st, "My Folder"), 0);
	tc_open(&c, fx->root);
	tc_expect("subscribe", tc_run(&c, "s SUBSCRIBE Archive\r\n"),
		  "s OK SUBSCRIBE completed.\r\n");
	(void)tc_run(&c, "s SUBSCRIBE Work.Projects\r\n");
	(void)tc_run(&c, "s SUBSCRIBE Gone\r\ns SUBSCRIBE Sent\r\n");
	tc_expect("unsubscribe", tc_run(&c, "u UNSUBSCRIBE Sent\r\n"),
		  "u OK UNSUBSCRIBE completed.\r\n");
	for (i = 0; i < sizeof(list_cases) / sizeof(*list_cases); i++)
		tc_expect(list_cases[i].name, tc_run(&c, list_cases[i].input),
			  list_cases[i].want);
	tc_close(&c);
}

/* ---- CREATE, DELETE, RENAME ---- */

struct mbox_case {
	const char *name;
	const char *input;
	const char *want;
};

static const struct mbox_case mbox_cases[] = {
	{"create", "a CREATE Foo\r\n", "a OK CREATE completed.\r\n"},
	{"create_existing", "a CREATE Foo\r\n",
	 "a NO [ALREADYEXISTS] Mailbox already exists.\r\n"},
	{"create_inbox", "a CREATE inbox\r\n",
	 "a NO [ALREADYEXISTS] Mailbox already exists.\r\n"},
	{"create_trailing_delimiter", "a CREATE Bar.\r\n",
	 "a OK CREATE completed.\r\n"},
	{"create_child", "a CREATE Foo.Kid\r\n", "a OK CREATE completed.\r\n"},
	{"create_utf7", "a CREATE \"Gr&APw-n\"\r\n",
	 "a OK CREATE completed.\r\n"},
	{"create_invalid_name", "a CREATE a..b\r\n",
	 "a NO [CANNOT] Invalid mailbox name.\r\n"},
	{"create_invalid_utf7_is_bad", "a CREATE &Jjo\r\n",
	 "a BAD Invalid modified UTF-7 in mailbox name\r\n"},
	{"list_after_create", "a LIST \"\" *\r\n",
	 "* LIST (\\HasNoChildren) \".\" INBOX\r\n"
	 "* LIST (\\HasNoChildren) \".\" Bar\r\n"
	 "* LIST (\\HasChildren) \".\" Foo\r\n"
	 "* LIST (\\HasNoChildren) \".\" Foo.Kid\r\n"
	 "* LIST (\\HasNoChildren) \".\" Gr&APw-n\r\n"
	 "a OK LIST completed.\r\n"},
	{"delete_inbox_refused", "a DELETE INBOX\r\n", NULL},
	{"delete_missing", "a DELETE Nosuch\r\n",
	 "a NO [NONEXISTENT] Mailbox does not exist.\r\n"},
	{"delete_parent_keeps_children", "a DELETE Foo\r\n",
	 "a OK DELETE completed.\r\n"},
	{"parent_now_noselect", "a LIST \"\" Foo*\r\n",
	 "* LIST (\\Noselect \\HasChildren) \".\" Foo\r\n"
	 "* LIST (\\HasNoChildren) \".\" Foo.Kid\r\n"
	 "a OK LIST completed.\r\n"},
	{"rename_children_follow", "a RENAME Foo.Kid Zed\r\n",
	 "a OK RENAME completed.\r\n"},
	{"rename_missing", "a RENAME Nosuch Other\r\n",
	 "a NO [NONEXISTENT] Mailbox does not exist.\r\n"},
	{"rename_onto_existing", "a RENAME Bar Zed\r\n",
	 "a NO [ALREADYEXISTS] Mailbox already exists.\r\n"},
	{"create_tree", "a CREATE Top.Mid.Low\r\n",
	 "a OK CREATE completed.\r\n"},
	{"create_tree_top", "a CREATE Top\r\n", "a OK CREATE completed.\r\n"},
	{"rename_tree", "a RENAME Top New\r\n", "a OK RENAME completed.\r\n"},
	{"list_after_renames", "a LIST \"\" *\r\n",
	 "* LIST (\\HasNoChildren) \".\" INBOX\r\n"
	 "* LIST (\\HasNoChildren) \".\" Bar\r\n"
	 "* LIST (\\HasNoChildren) \".\" Gr&APw-n\r\n"
	 "* LIST (\\HasChildren) \".\" New\r\n"
	 "* LIST (\\Noselect \\HasChildren) \".\" New.Mid\r\n"
	 "* LIST (\\HasNoChildren) \".\" New.Mid.Low\r\n"
	 "* LIST (\\HasNoChildren) \".\" Zed\r\n"
	 "a OK LIST completed.\r\n"},
	{"rename_arity", "a RENAME Bar\r\n",
	 "a BAD Wrong number of arguments\r\n"},
	{"create_before_login_is_bad_elsewhere", "a CREATE\r\n",
	 "a BAD Wrong number of arguments\r\n"},
};

static void
create_delete_rename_table(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;
	size_t i;

	tc_open(&c, fx->root);
	for (i = 0; i < sizeof(mbox_cases) / sizeof(*mbox_cases); i++) {
		const char *got = tc_run(&c, mbox_cases[i].input);

		if (mbox_cases[i].want != NULL)
			tc_expect(mbox_cases[i].name, got, mbox_cases[i].want);
		else if (strncmp(got, "a NO [CANNOT] ", 14) != 0)
			fail_msg("%s: got %s", mbox_cases[i].name, got);
	}
	tc_close(&c);
}

/* RENAME INBOX moves its messages into the new folder; INBOX stays. */
static void
rename_inbox_moves_messages(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;

	assert_int_not_equal(tl_append(fx->st, "INBOX", "a\r\n", 0), 0);
	assert_int_not_equal(tl_append(fx->st, "INBOX", "b\r\n", 0), 0);
	tc_open(&c, fx->root);
	tc_expect("rename", tc_run(&c, "a RENAME INBOX Old\r\n"),
		  "a OK RENAME completed.\r\n");
	assert_int_equal(count_msgs(fx, "Old"), 2);
	assert_int_equal(count_msgs(fx, "INBOX"), 0);
	tc_expect("status", tc_run(&c, "b STATUS Old (MESSAGES)\r\n"),
		  "* STATUS Old (MESSAGES 2)\r\nb OK STATUS completed.\r\n");
	tc_close(&c);
}

/* Deleting the selected mailbox ends the selection with OK [CLOSED]. */
static void
delete_selected_mailbox_closes_it(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;

	assert_int_equal(md_box_create(fx->st, "Box"), 0);
	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT Box\r\n");
	tc_expect("delete", tc_run(&c, "d DELETE Box\r\n"),
		  "* OK [CLOSED] Selected mailbox is being deleted.\r\n"
		  "d OK DELETE completed.\r\n");
	assert_int_equal(c.s->state, IMAP_STATE_AUTH);
	tc_close(&c);
}

/* ---- STATUS ---- */

static void
status_counts_without_selecting(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;
	char want[256];

	assert_int_not_equal(tl_append(fx->st, "INBOX", "a\r\n", MD_FLAG_SEEN),
			     0);
	assert_int_not_equal(tl_append(fx->st, "INBOX", "b\r\n", 0), 0);
	assert_int_not_equal(tl_append(fx->st, "INBOX", "c\r\n", 0), 0);
	tc_open(&c, fx->root);
	snprintf(want, sizeof(want),
		 "* STATUS INBOX (MESSAGES 3 RECENT 3 UIDNEXT 4 UIDVALIDITY %u "
		 "UNSEEN 2)\r\na OK STATUS completed.\r\n",
		 uidvalidity(fx, "INBOX"));
	tc_expect("all items",
		  tc_run(&c, "a STATUS inbox (MESSAGES RECENT UIDNEXT "
			     "UIDVALIDITY UNSEEN)\r\n"),
		  want);
	/* STATUS took no \Recent away: SELECT still sees them. */
	assert_non_null(
		strstr(tc_run(&c, "s SELECT INBOX\r\n"), "* 3 RECENT\r\n"));
	tc_expect("missing", tc_run(&c, "b STATUS Nosuch (MESSAGES)\r\n"),
		  "b NO [NONEXISTENT] Mailbox does not exist.\r\n");
	tc_expect("empty list", tc_run(&c, "b STATUS INBOX ()\r\n"),
		  "b BAD Expected a list of status items\r\n");
	tc_expect("unknown item", tc_run(&c, "b STATUS INBOX (SIZE)\r\n"),
		  "b BAD Unknown status item\r\n");
	tc_expect("not a list", tc_run(&c, "b STATUS INBOX MESSAGES\r\n"),
		  "b BAD Expected a list of status items\r\n");
	tc_close(&c);
}

/* On the selected mailbox STATUS answers from the session's view, after
 * reporting what changed. */
static void
status_on_selected_uses_view(void **state)
{
	struct tl_fx *fx = *state;
	static const uint32_t one = 1;
	struct md_uids gone = {0};
	struct md_box *b;
	struct tc c;

	assert_int_not_equal(tl_append(fx->st, "INBOX", "a\r\n", 0), 0);
	assert_int_not_equal(tl_append(fx->st, "INBOX", "b\r\n", 0), 0);
	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	assert_int_equal(md_box_open(fx->st, "INBOX", false, &b), 0);
	assert_int_equal(md_box_expunge(b, &one, 1, &gone), 0);
	md_uids_free(&gone);
	md_box_free(&b);
	tc_expect("status", tc_run(&c, "a STATUS INBOX (MESSAGES RECENT)\r\n"),
		  "* 1 EXPUNGE\r\n* STATUS INBOX (MESSAGES 1 RECENT 1)\r\n"
		  "a OK STATUS completed.\r\n");
	tc_close(&c);
}

/* ---- APPEND ---- */

#define CONT "+ Ready for literal data\r\n"

static void
append_synchronizing_gives_appenduid(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;
	char want[128];

	tc_open(&c, fx->root);
	tc_expect("continue", tc_run(&c, "a APPEND INBOX {12}\r\n"), CONT);
	snprintf(want, sizeof(want),
		 "a OK [APPENDUID %u 1] APPEND completed.\r\n",
		 uidvalidity(fx, "INBOX"));
	tc_expect("done", tc_run(&c, "Hello world!\r\n"), want);
	assert_int_equal(count_msgs(fx, "INBOX"), 1);
	assert_int_equal(tl_count(fx->root, "tmp"), 0);
	tc_close(&c);
}

static void
append_flags_date_and_keywords_are_kept(void **state)
{
	struct tl_fx *fx = *state;
	const struct md_msg *m;
	const char *const *kw;
	struct md_box *b;
	struct md_view v;
	uint32_t n;
	struct tc c;
	const char *got;

	tc_open(&c, fx->root);
	got = tc_run(&c, "a APPEND INBOX (\\Seen \\Flagged $Label) "
			 "\"01-Jan-2020 10:00:00 +0200\" {5+}\r\nhello\r\n");
	assert_non_null(strstr(got, "a OK [APPENDUID "));
	assert_int_equal(md_box_open(fx->st, "INBOX", true, &b), 0);
	m = md_box_messages(b, &n);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].flags & MD_FLAGS_IMAP,
			 MD_FLAG_SEEN | MD_FLAG_FLAGGED);
	kw = md_box_keywords(b);
	assert_int_equal(m[0].keywords, 1);
	assert_string_equal(kw[0], "$Label");
	assert_int_equal(m[0].internal_date, 1577865600);
	assert_int_equal(md_box_view(b, m[0].uid, &v), 0);
	assert_int_equal(v.size, 5);
	assert_memory_equal(v.data, "hello", 5);
	md_view_release(&v);
	md_box_free(&b);
	tc_close(&c);
}

struct append_case {
	const char *name;
	const char *input;
	const char *want; /* NULL: starts with "a BAD " */
};

static const struct append_case append_cases[] = {
	{"missing_mailbox_trycreate_before_continuation",
	 "a APPEND Nosuch {5}\r\nb NOOP\r\n",
	 "a NO [TRYCREATE] Mailbox does not exist.\r\n"
	 "b OK NOOP completed.\r\n"},
	{"missing_mailbox_literal_plus_skipped",
	 "a APPEND Nosuch {5+}\r\nhello\r\nb NOOP\r\n",
	 "a NO [TRYCREATE] Mailbox does not exist.\r\n"
	 "b OK NOOP completed.\r\n"},
	{"literal_plus_refused_skips_later_literals",
	 "a APPEND Nosuch {5+}\r\nhello {3+}\r\nabc\r\nb NOOP\r\n",
	 "a NO [TRYCREATE] Mailbox does not exist.\r\n"
	 "b OK NOOP completed.\r\n"},
	{"recent_flag_is_bad", "a APPEND INBOX (\\Recent) {5}\r\n", NULL},
	{"bad_date_is_bad",
	 "a APPEND INBOX \"32-Jan-2020 10:00:00 +0000\" "
	 "{5}\r\n",
	 NULL},
	{"quoted_message_is_bad", "a APPEND INBOX \"hello\"\r\n",
	 "a BAD The message must be a literal\r\n"},
	{"too_many_arguments", "a APPEND INBOX () \"x\" y {5}\r\n",
	 "a BAD Wrong number of arguments\r\n"},
	{"invalid_utf7_is_bad", "a APPEND &Jjo {5}\r\n",
	 "a BAD Invalid modified UTF-7 in mailbox name\r\n"},
	{"garbage_after_literal_is_bad_and_aborts",
	 "a APPEND INBOX {5+}\r\nhello extra\r\n",
	 "a BAD The message must be a literal\r\n"},
	{"junk_after_literal_is_bad_and_aborts",
	 "a APPEND INBOX {5+}\r\nhello)\r\n", NULL},
	{"second_message_refused", "a APPEND INBOX {1+}\r\nx {1+}\r\ny\r\n",
	 "a BAD One message per APPEND\r\n"},
	{"mailbox_literal_then_missing_box", "a APPEND {6}\r\nNosuch {5}\r\n",
	 CONT "a NO [TRYCREATE] Mailbox does not exist.\r\n"},
};

/* Refused APPENDs: nothing is left in tmp/ or cur/ and the session goes
 * on. */
static void
append_refusals_table(void **state)
{
	struct tl_fx *fx = *state;
	size_t i;

	for (i = 0; i < sizeof(append_cases) / sizeof(*append_cases); i++) {
		const struct append_case *ac = &append_cases[i];
		struct tc c;
		const char *got;

		tc_open(&c, fx->root);
		got = tc_run(&c, ac->input);
		if (ac->want != NULL)
			tc_expect(ac->name, got, ac->want);
		else if (strstr(got, "a BAD ") == NULL ||
			 strstr(got, CONT) != NULL)
			fail_msg("%s: got %s", ac->name, got);
		if (inbox_files(fx) != 0)
			fail_msg("%s: %d files left", ac->name,
				 inbox_files(fx));
		tc_expect(ac->name, tc_run(&c, "z NOOP\r\n"),
			  "z OK NOOP completed.\r\n");
		tc_close(&c);
	}
}

/* The mailbox name may itself be a literal; then the message is one. */
static void
append_mailbox_as_literal(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;

	tc_open(&c, fx->root);
	tc_expect("name", tc_run(&c, "a APPEND {5}\r\n"), CONT);
	tc_expect("message", tc_run(&c, "INBOX {3}\r\n"), CONT);
	assert_non_null(strstr(tc_run(&c, "abc\r\n"), "a OK [APPENDUID "));
	assert_int_equal(count_msgs(fx, "INBOX"), 1);
	tc_close(&c);
}

/* APPEND to the selected mailbox: its EXISTS comes before the tagged OK,
 * and the new message is \Recent in this session. */
static void
append_to_selected_reports_exists(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;
	char want[256];

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	snprintf(want, sizeof(want),
		 "* 1 EXISTS\r\n* 1 RECENT\r\n"
		 "a OK [APPENDUID %u 1] APPEND completed.\r\n",
		 uidvalidity(fx, "INBOX"));
	tc_expect("append", tc_run(&c, "a APPEND INBOX {3+}\r\nabc\r\n"), want);
	tc_close(&c);
}

/* A 20 MB message goes to the store in chunks: the command buffer and the
 * output buffer stay small whatever the size. */
static void
big_append_is_streamed(void **state)
{
	struct tl_fx *fx = *state;
	size_t total = 20u * 1024 * 1024, sent = 0, chunk = 65536;
	char *block = malloc(chunk);
	const struct md_msg *m;
	struct md_box *b;
	uint32_t n;
	struct tc c;

	memset(block, 'x', chunk);
	tc_open(&c, fx->root);
	tc_expect("continue", tc_run(&c, "a APPEND INBOX {20971520}\r\n"),
		  CONT);
	while (sent < total) {
		assert_string_equal(tc_run_len(&c, block, chunk, NULL), "");
		assert_true(c.s->frame.cap <= 4096);
		sent += chunk;
	}
	assert_non_null(strstr(tc_run(&c, "\r\n"), "a OK [APPENDUID "));
	assert_true(c.s->frame.cap <= 4096);
	assert_int_equal(md_box_open(fx->st, "INBOX", true, &b), 0);
	m = md_box_messages(b, &n);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].size, total);
	md_box_free(&b);
	free(block);
	tc_close(&c);
}

/* The client goes away in the middle of the literal: the tmp/ file is
 * removed and nothing reaches cur/ or new/. */
static void
append_interrupted_leaves_nothing(void **state)
{
	struct tl_fx *fx = *state;
	char half[500];
	struct tc c;

	memset(half, 'y', sizeof(half));
	tc_open(&c, fx->root);
	tc_expect("continue", tc_run(&c, "a APPEND INBOX {1000}\r\n"), CONT);
	(void)tc_run_len(&c, half, sizeof(half), NULL);
	assert_int_equal(tl_count(fx->root, "tmp"), 1);
	tc_close(&c);
	assert_int_equal(inbox_files(fx), 0);
}

/* Over max_literal_size: refused before "+"; over the store's message
 * limit: the literal is read and dropped, and the answer says TOOBIG. */
static void
append_size_limits(void **state)
{
	struct tl_fx *fx = *state;
	enum imap_status st;
	struct tc c;

	tc_open(&c, fx->root);
	c.s->cfg.limits.max_literal_size = 1000;
	tc_expect("frame limit", tc_run(&c, "a APPEND INBOX {1001}\r\n"),
		  "a NO [TOOBIG] Literal too big.\r\n");
	(void)tc_run_len(&c, "b APPEND INBOX {1001+}\r\n", 24, &st);
	assert_int_equal(st, IMAP_STATUS_CLOSE);
	tc_close(&c);
	tc_open(&c, fx->root);
	md_store_set_max_message(c.s->store, 10);
	tc_expect(
		"store limit",
		tc_run(&c, "a APPEND INBOX {20+}\r\n01234567890123456789\r\n"),
		"a NO [TOOBIG] Message too big.\r\n");
	assert_int_equal(inbox_files(fx), 0);
	tc_close(&c);
}

/* The same APPEND fed one byte at a time answers the same. */
static void
append_bytewise(void **state)
{
	struct tl_fx *fx = *state;
	const char *in = "a APPEND INBOX (\\Seen) {5}\r\nhello\r\nb NOOP\r\n";
	struct buf all;
	struct tc c;
	size_t i;
	char want[256];

	buf_init(&all, 0);
	tc_open(&c, fx->root);
	for (i = 0; in[i] != '\0'; i++) {
		const char *got = tc_run_len(&c, in + i, 1, NULL);

		assert_int_equal(buf_puts(&all, got), 0);
	}
	snprintf(want, sizeof(want),
		 CONT "a OK [APPENDUID %u 1] APPEND completed.\r\n"
		      "b OK NOOP completed.\r\n",
		 uidvalidity(fx, "INBOX"));
	tc_expect("bytewise", buf_cstr(&all), want);
	buf_free(&all);
	tc_close(&c);
}

static void
mailbox_commands_need_login(void **state)
{
	struct tl_fx *fx = *state;
	static const char *const inputs[] = {
		"a CREATE x\r\n",
		"a DELETE x\r\n",
		"a RENAME x y\r\n",
		"a SUBSCRIBE x\r\n",
		"a UNSUBSCRIBE x\r\n",
		"a LIST \"\" *\r\n",
		"a LSUB \"\" *\r\n",
		"a STATUS x (MESSAGES)\r\n",
		"a APPEND INBOX {1+}\r\nx\r\n",
	};
	struct tc c;
	size_t i;

	for (i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		tc_open_unauth(&c, fx->root);
		tc_expect(
			inputs[i], tc_run(&c, inputs[i]),
			"a BAD Command not allowed before authentication\r\n");
		tc_close(&c);
	}
	assert_int_equal(inbox_files(fx), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(list_and_lsub_table,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(create_delete_rename_table,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(rename_inbox_moves_messages,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			delete_selected_mailbox_closes_it, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(status_counts_without_selecting,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(status_on_selected_uses_view,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			append_synchronizing_gives_appenduid, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			append_flags_date_and_keywords_are_kept, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(append_refusals_table,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(append_mailbox_as_literal,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			append_to_selected_reports_exists, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(big_append_is_streamed,
						tl_fx_setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			append_interrupted_leaves_nothing, tl_fx_setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(append_size_limits, tl_fx_setup,
						tl_fx_teardown),
		cmocka_unit_test_setup_teardown(append_bytewise, tl_fx_setup,
						tl_fx_teardown),
		cmocka_unit_test_setup_teardown(mailbox_commands_need_login,
						tl_fx_setup, tl_fx_teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
