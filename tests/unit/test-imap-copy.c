/* Unit tests for COPY and UID COPY on a real temporary Maildir: COPYUID
 * with compact uid-sets, flags travelling with the copies, TRYCREATE for
 * a missing target, empty matches, copies into the selected mailbox,
 * read-only sources, ghosts and the error paths. */
#include "tests/unit/imap-testlib.h"

#include "lib/log.h"

static int
setup(void **state)
{
	struct tl_fx *fx = calloc(1, sizeof(*fx));
	struct md_box *b;
	unsigned i;

	fx->root = tl_tmpdir();
	if (md_store_open(fx->root, true, &fx->st) < 0 ||
	    md_box_create(fx->st, "Dst") < 0)
		return -1;
	for (i = 0; i < 6; i++)
		if (tl_append(fx->st, "INBOX", "Subject: x\r\n\r\nbody\r\n",
			      i == 1 ? MD_FLAG_SEEN | MD_FLAG_FLAGGED : 0) == 0)
			return -1;
	/* Claim \Recent once, so that no test session sees it. */
	if (md_box_open(fx->st, "INBOX", false, &b) < 0)
		return -1;
	md_box_free(&b);
	*state = fx;
	return 0;
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

static void
copy_answers_copyuid_with_ranges(void **state)
{
	struct tl_fx *fx = *state;
	uint32_t uv = uidvalidity(fx, "Dst");
	char want[256];
	struct tc c;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	(void)snprintf(want, sizeof(want),
		       "a OK [COPYUID %u 1:3,5 1:4] COPY completed.\r\n", uv);
	tc_expect("copy", tc_run(&c, "a COPY 5,1:3 Dst\r\n"), want);
	(void)snprintf(want, sizeof(want),
		       "a OK [COPYUID %u 2,4,6 5:7] COPY completed.\r\n", uv);
	tc_expect("uid_copy", tc_run(&c, "a UID COPY 2,4,6:* Dst\r\n"), want);
	/* The copies carry their flags; the source is unchanged. */
	(void)tc_run(&c, "s SELECT Dst\r\n");
	tc_expect("flags", tc_run(&c, "a FETCH 1:* FLAGS\r\n"),
		  "* 1 FETCH (FLAGS (\\Recent))\r\n"
		  "* 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r\n"
		  "* 3 FETCH (FLAGS (\\Recent))\r\n"
		  "* 4 FETCH (FLAGS (\\Recent))\r\n"
		  "* 5 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r\n"
		  "* 6 FETCH (FLAGS (\\Recent))\r\n"
		  "* 7 FETCH (FLAGS (\\Recent))\r\n"
		  "a OK FETCH completed.\r\n");
	tc_close(&c);
	assert_int_equal(tl_count(fx->root, "cur"), 6);
}

static void
copy_into_selected_mailbox_reports_exists(void **state)
{
	struct tl_fx *fx = *state;
	uint32_t uv = uidvalidity(fx, "INBOX");
	char want[256];
	struct tc c;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	(void)snprintf(want, sizeof(want),
		       "* 8 EXISTS\r\n* 2 RECENT\r\n"
		       "a OK [COPYUID %u 1:2 7:8] COPY completed.\r\n",
		       uv);
	tc_expect("self", tc_run(&c, "a COPY 1:2 INBOX\r\n"), want);
	tc_close(&c);
}

struct copy_case {
	const char *name;
	const char *input;
	const char *want; /* NULL: any BAD */
};

static const struct copy_case copy_cases[] = {
	{"missing_target_is_trycreate", "a COPY 1 Nope\r\n",
	 "a NO [TRYCREATE] Mailbox does not exist.\r\n"},
	{"missing_target_empty_match_is_trycreate", "a UID COPY 99 Nope\r\n",
	 "a NO [TRYCREATE] Mailbox does not exist.\r\n"},
	{"uid_empty_match_is_plain_ok", "a UID COPY 99 Dst\r\n",
	 "a OK COPY completed.\r\n"},
	{"seq_beyond_count", "a COPY 7 Dst\r\n",
	 "a BAD Invalid sequence number\r\n"},
	{"bad_set", "a COPY 1,,2 Dst\r\n", NULL},
	{"missing_mailbox", "a COPY 1\r\n",
	 "a BAD Wrong number of arguments\r\n"},
	{"bad_mutf7", "a COPY 1 &Jjo\r\n", NULL},
};

static void
copy_error_paths(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;
	size_t i;
	const char *got;

	tc_open(&c, fx->root);
	tc_expect("not_selected", tc_run(&c, "a COPY 1 Dst\r\n"),
		  "a BAD No mailbox selected\r\n");
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	for (i = 0; i < sizeof(copy_cases) / sizeof(*copy_cases); i++) {
		got = tc_run(&c, copy_cases[i].input);
		if (copy_cases[i].want != NULL)
			tc_expect(copy_cases[i].name, got, copy_cases[i].want);
		else if (strncmp(got, "a BAD ", 6) != 0)
			fail_msg("%s: got %s", copy_cases[i].name, got);
	}
	tc_close(&c);
	assert_int_equal(tl_count(fx->root, ".Dst/cur"), 0);
	assert_int_equal(tl_count(fx->root, ".Dst/new"), 0);
}

static void
read_only_source_may_copy(void **state)
{
	struct tl_fx *fx = *state;
	uint32_t uv = uidvalidity(fx, "Dst");
	char want[256];
	struct tc c;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s EXAMINE INBOX\r\n");
	(void)snprintf(want, sizeof(want),
		       "a OK [COPYUID %u 6 1] COPY completed.\r\n", uv);
	tc_expect("examine", tc_run(&c, "a COPY * Dst\r\n"), want);
	tc_close(&c);
}

static void
ghost_in_seq_copy_copies_nothing(void **state)
{
	struct tl_fx *fx = *state;
	struct md_uids gone = {0};
	struct md_box *b;
	uint32_t uid = 3, uv = uidvalidity(fx, "Dst");
	char want[256];
	struct tc c;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	assert_int_equal(md_box_open(fx->st, "INBOX", false, &b), 0);
	assert_int_equal(md_box_expunge(b, &uid, 1, &gone), 0);
	md_uids_free(&gone);
	md_box_free(&b);
	(void)tc_run(&c, "a FETCH 1 UID\r\n"); /* sync, EXPUNGE deferred */
	tc_expect("seq", tc_run(&c, "a COPY 2:4 Dst\r\n"),
		  "a NO [EXPUNGEISSUED] Some messages were expunged.\r\n");
	assert_int_equal(tl_count(fx->root, ".Dst/cur"), 0);
	(void)snprintf(want, sizeof(want),
		       "* 3 EXPUNGE\r\n"
		       "a OK [COPYUID %u 2,4 1:2] COPY completed.\r\n",
		       uv);
	tc_expect("uid", tc_run(&c, "a UID COPY 2:4 Dst\r\n"), want);
	tc_close(&c);
}

static void
uidplus_in_capability(void **state)
{
	struct tl_fx *fx = *state;
	struct tc c;

	tc_open(&c, fx->root);
	assert_non_null(strstr(tc_run(&c, "a CAPABILITY\r\n"), " UIDPLUS"));
	tc_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			copy_answers_copyuid_with_ranges, setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			copy_into_selected_mailbox_reports_exists, setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(copy_error_paths, setup,
						tl_fx_teardown),
		cmocka_unit_test_setup_teardown(read_only_source_may_copy,
						setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
			ghost_in_seq_copy_copies_nothing, setup,
			tl_fx_teardown),
		cmocka_unit_test_setup_teardown(uidplus_in_capability, setup,
						tl_fx_teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
