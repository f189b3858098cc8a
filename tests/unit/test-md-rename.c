/* Crash tests for folder RENAME (maildir/folder.c): a folder with children
 * is renamed by a child process that dies (IMAPMOVED_FAULT) after the
 * journal, after the folder itself and after each child; the next store
 * user must find the rename finished (every folder under the new name with
 * its message, none under the old one, no journal left). Also: a plain
 * rename, a damaged journal, and a rename refused before anything moved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>

#include "maildir/maildir-private.h"
#include "tests/unit/md-testlib.h"

static const char *const before[] = {"A", "A.B", "A.B.C", "A.D", "Other"};
static const char *const after[] = {"Other", "Z", "Z.B", "Z.B.C", "Z.D"};
#define NFOLDERS 5

static char *
world(void)
{
	struct md_store *s;
	char *root = tl_tmpdir();
	size_t i;

	assert_int_equal(md_store_open(root, true, &s), 0);
	for (i = 0; i < NFOLDERS; i++) {
		assert_int_equal(md_box_create(s, before[i]), 0);
		assert_int_not_equal(
			tl_append(s, before[i], "Subject: x\n\nb\n", 0), 0);
	}
	md_store_free(&s);
	return root;
}

/* The folders the store lists, but INBOX, as "A,B,..." */
static void
listing(const char *root, char *out, size_t size)
{
	struct md_folder *f;
	struct md_store *s;
	size_t i, n, len = 0;

	assert_int_equal(md_store_open(root, false, &s), 0);
	/* The crashed child's lock: its owner is gone, break it at once. */
	md_store_set_lock(s, 0, 5);
	assert_int_equal(md_store_list(s, &f, &n), 0);
	out[0] = '\0';
	for (i = 0; i < n; i++)
		if (strcmp(f[i].name, "INBOX") != 0)
			len += (size_t)snprintf(out + len, size - len, "%s%s",
						len ? "," : "", f[i].name);
	md_folders_free(&f, n);
	md_store_free(&s);
}

/* The store lists exactly names (listing first: it finishes a rename a
 * crash left), each holds its one message, and no journal is left. */
static void
assert_folders(const char *root, const char *const *names)
{
	char want[256], got[256], rel[300], dir[MD_MAX_NAME + 1];
	size_t i, len = 0;

	for (i = 0; i < NFOLDERS; i++)
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%s",
					len ? "," : "", names[i]);
	listing(root, got, sizeof(got));
	assert_string_equal(got, want);
	for (i = 0; i < NFOLDERS; i++) {
		assert_int_equal(md_name_to_dir(names[i], dir, sizeof(dir)), 0);
		(void)snprintf(rel, sizeof(rel), "%s/cur", dir);
		assert_int_equal(tl_count(root, rel), 1);
	}
	(void)snprintf(rel, sizeof(rel), "%s/%s", root, MD_RENAME_JOURNAL);
	assert_int_equal(access(rel, F_OK), -1);
}

static void
plain_rename_moves_the_children(void **state)
{
	struct md_store *s;
	char *root = world();

	(void)state;
	assert_int_equal(md_store_open(root, false, &s), 0);
	assert_int_equal(md_box_rename(s, "A", "Z"), 0);
	md_store_free(&s);
	assert_folders(root, after);
	tl_rmrf(&root);
}

static void
crash_at_every_step_is_finished_by_the_next_user(void **state)
{
	static const char *const faults[] = {
		"rename.after-journal", "rename.after-folder",
		"rename.after-child:1", "rename.after-child:2",
		"rename.after-child:3",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(faults) / sizeof(*faults); i++) {
		char *root = world();
		struct md_store *s;
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			(void)setenv("IMAPMOVED_FAULT", faults[i], 1);
			if (md_store_open(root, false, &s) < 0)
				_exit(1);
			(void)md_box_rename(s, "A", "Z");
			_exit(0); /* the fault point was not reached */
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 99)
			fail_msg("%s: child status %d", faults[i], status);
		/* Whoever comes next (here a listing) finishes it. */
		assert_folders(root, after);
		tl_rmrf(&root);
	}
}

static void
damaged_journal_is_removed_and_nothing_moves(void **state)
{
	char *root = world();

	(void)state;
	tl_write(root, MD_RENAME_JOURNAL, ".A\n../../etc\n");
	assert_folders(root, before);
	tl_write(root, MD_RENAME_JOURNAL, "garbage");
	assert_folders(root, before);
	tl_rmrf(&root);
}

/* The new name taken: refused before anything moves, no journal left. */
static void
refused_rename_leaves_everything(void **state)
{
	struct md_store *s;
	char *root = world();

	(void)state;
	assert_int_equal(md_store_open(root, false, &s), 0);
	assert_int_equal(md_box_rename(s, "A", "Other"), -1);
	assert_int_equal(md_last_error(s, NULL), MD_ERR_EXISTS);
	assert_int_equal(md_box_create(s, "Z.D"), 0);
	assert_int_equal(md_box_rename(s, "A", "Z"), -1);
	assert_int_equal(md_last_error(s, NULL), MD_ERR_EXISTS);
	assert_int_equal(md_box_delete(s, "Z.D"), 0);
	md_store_free(&s);
	assert_folders(root, before);
	tl_rmrf(&root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_rename_moves_the_children),
		cmocka_unit_test(
			crash_at_every_step_is_finished_by_the_next_user),
		cmocka_unit_test(damaged_journal_is_removed_and_nothing_moves),
		cmocka_unit_test(refused_rename_leaves_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
