/* Unit tests for the maildir/ primitives on real temporary Maildirs: open
 * and sync, \Recent, the no-readdir fast path, append, flags, expunge,
 * copy, move, views, keywords, folders, subscriptions and the watch fd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <sys/stat.h>

#include "maildir/maildir-private.h"
#include "tests/unit/md-testlib.h"

struct fx {
	char *root;
	struct md_store *s;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->root = tl_tmpdir();
	if (md_store_open(fx->root, true, &fx->s) < 0)
		return -1;
	md_store_set_lock(fx->s, 0, 5);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	md_store_free(&fx->s);
	tl_rmrf(&fx->root);
	free(fx);
	return 0;
}

/* Set the mtime of root/rel to one hour ago, so the sync trusts it. */
static void
age_dir(const char *root, const char *rel)
{
	char path[4096];
	struct timespec ts[2];

	(void)clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 3600;
	ts[1] = ts[0];
	(void)snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static struct timespec
mtime_of(const char *root, const char *rel)
{
	char path[4096];
	struct stat st;

	(void)snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mtim;
}

static void
set_mtime(const char *root, const char *rel, struct timespec t)
{
	char path[4096];
	struct timespec ts[2] = {t, t};

	(void)snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static ino_t
ino_of(const char *root, const char *rel)
{
	char path[4096];
	struct stat st;

	(void)snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static void
open_creates_empty_inbox(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	uint32_t n;

	assert_int_equal(md_box_open(fx->s, "inbox", false, &b), 0);
	md_box_messages(b, &n);
	assert_int_equal(n, 0);
	assert_int_not_equal(md_box_uidvalidity(b), 0);
	assert_int_equal(md_box_uidnext(b), 1);
	assert_string_equal(md_box_name(b), "INBOX");
	md_box_free(&b);
	md_box_free(&b); /* second free is a no-op */
}

static void
open_with_create_makes_missing_parents(void **state)
{
	struct fx *fx = *state;
	struct md_store *s2 = NULL;
	struct stat st;
	char *deep = NULL;

	assert_true(asprintf(&deep, "%s/home/ann/Maildir", fx->root) > 0);
	assert_int_equal(md_store_open(deep, false, &s2), -1);
	assert_int_equal(md_store_open(deep, true, &s2), 0);
	md_store_free(&s2);
	free(deep);
	assert_true(asprintf(&deep, "%s/home/ann/Maildir/cur", fx->root) > 0);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	free(deep);
}

static void
delivered_mail_gets_uids_in_order_and_is_claimed_recent_once(void **state)
{
	struct fx *fx = *state;
	struct md_box *a, *b, *ro;
	const struct md_msg *m;
	uint32_t n;

	tl_deliver(fx->root, "", "100.M1P1.h", "Subject: 1\n\nx\n");
	tl_deliver(fx->root, "", "200.M1P1.h", "Subject: 2\n\nyy\n");
	assert_int_equal(md_box_open(fx->s, "INBOX", true, &ro), 0);
	m = md_box_messages(ro, &n);
	assert_int_equal(n, 2);
	/* EXAMINE shows \Recent but claims nothing. */
	assert_true(m[0].recent && m[1].recent);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &a), 0);
	m = md_box_messages(a, &n);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].uid, 1);
	assert_int_equal(m[1].uid, 2);
	assert_string_equal(md_box_base(a, 0), "100.M1P1.h");
	assert_int_equal(m[1].size, 15);
	assert_true(m[0].recent && m[1].recent);
	assert_int_equal(tl_count(fx->root, "new"), 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	m = md_box_messages(b, &n);
	assert_false(m[0].recent || m[1].recent);
	md_box_free(&ro);
	assert_int_equal(md_box_open(fx->s, "INBOX", true, &ro), 0);
	m = md_box_messages(ro, &n);
	assert_false(m[0].recent || m[1].recent);
	md_box_free(&a);
	md_box_free(&b);
	md_box_free(&ro);
}

static void
sync_reports_new_vanished_and_changed(void **state)
{
	struct fx *fx = *state;
	struct md_box *a, *b;
	struct md_sync_result r;
	struct md_uids ex = {0};
	uint32_t uid1, uid2, uid3, n;

	uid1 = tl_append(fx->s, "INBOX", "one\n", 0);
	uid2 = tl_append(fx->s, "INBOX", "two\n", 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &a), 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(
		md_box_set_flags(b, &uid1, 1, MD_FLAGS_ADD, MD_FLAG_SEEN, 0),
		0);
	assert_int_equal(md_box_expunge(b, &uid2, 1, &ex), 0);
	assert_int_equal(ex.count, 1);
	uid3 = tl_append(fx->s, "INBOX", "three\n", 0);
	assert_int_equal(md_box_sync(a, &r), 0);
	assert_false(r.uidvalidity_changed);
	assert_int_equal(r.vanished_count, 1);
	assert_int_equal(r.vanished[0], uid2);
	assert_int_equal(r.changed_count, 1);
	assert_int_equal(r.changed[0], uid1);
	md_box_messages(a, &n);
	assert_int_equal(n, 2);
	assert_int_equal(r.first_new, 1);
	assert_int_equal(md_box_messages(a, &n)[1].uid, uid3);
	assert_true(md_box_messages(a, &n)[0].flags & MD_FLAG_SEEN);
	assert_int_equal(md_box_sync(a, &r), 0);
	assert_int_equal(r.vanished_count + r.changed_count, 0);
	assert_int_equal(r.first_new, 2);
	md_uids_free(&ex);
	md_box_free(&a);
	md_box_free(&b);
}

static void
status_counts_without_claiming_recent(void **state)
{
	struct fx *fx = *state;
	struct md_status st;
	struct md_box *b;

	(void)tl_append(fx->s, "INBOX", "1\n", MD_FLAG_SEEN);
	(void)tl_append(fx->s, "INBOX", "2\n", 0);
	tl_deliver(fx->root, "", "9.M1P1.h", "3\n");
	assert_int_equal(md_box_status(fx->s, "INBOX", &st), 0);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.unseen, 2);
	assert_int_equal(st.recent, 3);
	assert_int_equal(st.uidnext, 4);
	assert_int_not_equal(st.uidvalidity, 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_free(&b);
	assert_int_equal(md_box_status(fx->s, "INBOX", &st), 0);
	assert_int_equal(st.recent, 0);
	assert_int_equal(md_box_status(fx->s, "Nope", &st), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_NOTFOUND);
}

static void
sync_with_unchanged_dirs_reads_no_directory_nor_rewrites(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	struct timespec cur;
	ino_t ino;
	uint32_t n;

	(void)tl_append(fx->s, "INBOX", "one\n", 0);
	age_dir(fx->root, "cur");
	age_dir(fx->root, "new");
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_free(&b);
	ino = ino_of(fx->root, "imapmoved-uidlist");
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(ino_of(fx->root, "imapmoved-uidlist"), ino);
	md_box_free(&b);
	/* A file slipped into cur/ with the directory mtime put back is
	 * invisible: proof that the warm sync did not read cur/. */
	cur = mtime_of(fx->root, "cur");
	tl_write(fx->root, "cur/999.M1P1.h:2,", "hidden\n");
	set_mtime(fx->root, "cur", cur);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_messages(b, &n);
	assert_int_equal(n, 1);
	md_box_free(&b);
	/* Once the directory changes, the file is found. */
	age_dir(fx->root, "cur");
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_messages(b, &n);
	assert_int_equal(n, 2);
	md_box_free(&b);
}

static void
recently_modified_dir_is_rescanned(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	struct timespec cur;
	uint32_t n;

	/* A filesystem with whole-second mtimes (tv_nsec 0), where cur/
	 * changed this second: deterministic whatever the machine's load. */
	(void)clock_gettime(CLOCK_REALTIME, &cur);
	cur.tv_nsec = 0;
	set_mtime(fx->root, "cur", cur);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	/* cur/ was changed within the same clock tick as the list was
	 * written: the list must not trust that mtime. */
	cur = mtime_of(fx->root, "cur");
	tl_write(fx->root, "cur/5.M1P1.h:2,", "same tick\n");
	set_mtime(fx->root, "cur", cur);
	assert_int_equal(md_box_sync(b, NULL), 0);
	md_box_messages(b, &n);
	assert_int_equal(n, 1);
	md_box_free(&b);
}

static void
file_without_size_uses_stat_and_flags_parse(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	const struct md_msg *m;
	uint32_t n;

	tl_write(fx->root, "cur/77.abc.host:2,FS", "12345");
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	m = md_box_messages(b, &n);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].size, 5);
	assert_int_equal(m[0].flags, MD_FLAG_FLAGGED | MD_FLAG_SEEN);
	md_box_free(&b);
}

static void
append_sets_flags_date_and_increasing_uids(void **state)
{
	struct fx *fx = *state;
	struct md_append *app;
	struct md_box *b;
	const struct md_msg *m;
	const char *kws[] = {"$Junk", "work"};
	uint32_t uv, uid, n;
	unsigned idx;

	assert_int_equal(md_append_begin(fx->s, "INBOX", &app), 0);
	assert_int_equal(md_append_write(app, "Subject: a\r\n", 12), 0);
	assert_int_equal(md_append_write(app, "\r\nbody\r\n", 8), 0);
	assert_int_equal(md_append_commit(&app, MD_FLAG_SEEN | MD_FLAG_DRAFT,
					  kws, 2, 1000000000, &uv, &uid),
			 0);
	assert_null(app);
	assert_int_equal(uid, 1);
	assert_int_equal(tl_append(fx->s, "INBOX", "x", 0), 2);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(md_box_uidvalidity(b), uv);
	m = md_box_messages(b, &n);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].size, 20);
	assert_int_equal(m[0].vsize, 20); /* already CRLF */
	assert_int_equal(m[1].vsize, 1);
	assert_int_equal(m[0].internal_date, 1000000000);
	assert_int_equal(m[0].flags, MD_FLAG_SEEN | MD_FLAG_DRAFT);
	assert_int_equal(md_box_keyword_index(b, "WORK", false, &idx), 0);
	assert_true(m[0].keywords & (1u << idx));
	assert_string_equal(md_box_keywords(b)[idx], "work");
	assert_int_equal(tl_count(fx->root, "tmp"), 0);
	md_box_free(&b);
}

static void
append_errors_leave_nothing_behind(void **state)
{
	struct fx *fx = *state;
	struct md_append *app;

	assert_int_equal(md_append_begin(fx->s, "Nope", &app), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_NOTFOUND);
	assert_int_equal(md_append_begin(fx->s, "../x", &app), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_BADNAME);
	md_store_set_max_message(fx->s, 10);
	{
		const char *bad[] = {"two words"};
		uint32_t uv, uid;

		assert_int_equal(md_append_begin(fx->s, "INBOX", &app), 0);
		assert_int_equal(
			md_append_commit(&app, 0, bad, 1, 0, &uv, &uid), -1);
		assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_BADNAME);
		assert_int_equal(tl_count(fx->root, "tmp"), 0);
	}
	assert_int_equal(md_append_begin(fx->s, "INBOX", &app), 0);
	assert_int_equal(md_append_write(app, "12345", 5), 0);
	assert_int_equal(md_append_write(app, "123456", 6), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_TOOBIG);
	assert_int_equal(tl_count(fx->root, "tmp"), 1);
	md_append_abort(&app);
	assert_null(app);
	assert_int_equal(tl_count(fx->root, "tmp"), 0);
	assert_int_equal(tl_count(fx->root, "cur"), 0);
}

static void
set_flags_add_remove_replace_rename_in_cur(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	const struct md_msg *m;
	uint32_t uid = tl_append(fx->s, "INBOX", "x\n", MD_FLAG_SEEN), n;
	unsigned k;

	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(md_box_keyword_index(b, "Todo", true, &k), 0);
	assert_int_equal(md_box_set_flags(b, &uid, 1, MD_FLAGS_ADD,
					  MD_FLAG_FLAGGED, 1u << k),
			 0);
	m = md_box_messages(b, &n);
	assert_int_equal(m[0].flags, MD_FLAG_SEEN | MD_FLAG_FLAGGED);
	assert_int_equal(
		md_box_set_flags(b, &uid, 1, MD_FLAGS_REMOVE, MD_FLAG_SEEN, 0),
		0);
	assert_int_equal(md_box_messages(b, &n)[0].flags, MD_FLAG_FLAGGED);
	assert_int_equal(md_box_set_flags(b, &uid, 1, MD_FLAGS_REPLACE,
					  MD_FLAG_ANSWERED, 0),
			 0);
	m = md_box_messages(b, &n);
	assert_int_equal(m[0].flags, MD_FLAG_ANSWERED);
	assert_int_equal(m[0].keywords, 0);
	md_box_free(&b);
	/* A fresh open reads the flags back from the file name. */
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(md_box_messages(b, &n)[0].flags, MD_FLAG_ANSWERED);
	md_box_free(&b);
}

static void
set_flags_follows_file_renamed_elsewhere(void **state)
{
	struct fx *fx = *state;
	struct md_box *a, *b;
	uint32_t uid = tl_append(fx->s, "INBOX", "x\n", 0), n;

	assert_int_equal(md_box_open(fx->s, "INBOX", false, &a), 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(
		md_box_set_flags(b, &uid, 1, MD_FLAGS_ADD, MD_FLAG_DELETED, 0),
		0);
	/* a still has the old file name: its change must not be lost and
	 * must not undo b's. */
	assert_int_equal(
		md_box_set_flags(a, &uid, 1, MD_FLAGS_ADD, MD_FLAG_SEEN, 0), 0);
	assert_int_equal(md_box_messages(a, &n)[0].flags,
			 MD_FLAG_SEEN | MD_FLAG_DELETED);
	assert_int_equal(tl_count(fx->root, "cur"), 1);
	md_box_free(&a);
	md_box_free(&b);
}

static void
set_flags_on_expunged_file_reports_expunged(void **state)
{
	struct fx *fx = *state;
	struct md_box *a, *b;
	struct md_uids ex = {0};
	uint32_t uids[2];

	uids[0] = tl_append(fx->s, "INBOX", "x\n", 0);
	uids[1] = tl_append(fx->s, "INBOX", "y\n", 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &a), 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(md_box_expunge(b, &uids[0], 1, &ex), 0);
	assert_int_equal(
		md_box_set_flags(a, uids, 2, MD_FLAGS_ADD, MD_FLAG_SEEN, 0),
		-1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_EXPUNGED);
	assert_int_equal(md_box_messages(a, &uids[0])[1].flags, MD_FLAG_SEEN);
	md_uids_free(&ex);
	md_box_free(&a);
	md_box_free(&b);
}

static void
expunge_unlinks_and_drops_records(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	struct md_uids ex = {0};
	uint32_t uids[3], n;

	uids[0] = tl_append(fx->s, "INBOX", "1\n", 0);
	uids[1] = tl_append(fx->s, "INBOX", "2\n", 0);
	uids[2] = tl_append(fx->s, "INBOX", "3\n", 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", true, &b), 0);
	assert_int_equal(md_box_expunge(b, uids, 1, &ex), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_PERM);
	md_box_free(&b);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(
		md_box_expunge(b, (uint32_t[]){uids[2], uids[0]}, 2, &ex), 0);
	assert_int_equal(ex.count, 2);
	assert_int_equal(ex.uids[0], uids[0]);
	assert_int_equal(ex.uids[1], uids[2]);
	assert_int_equal(md_box_messages(b, &n)[0].uid, uids[1]);
	assert_int_equal(n, 1);
	assert_int_equal(tl_count(fx->root, "cur"), 1);
	md_box_free(&b);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_messages(b, &n);
	assert_int_equal(n, 1);
	assert_int_equal(md_box_uidnext(b), 4);
	md_uids_free(&ex);
	md_box_free(&b);
}

static void
copy_links_with_flags_and_keywords(void **state)
{
	struct fx *fx = *state;
	struct md_box *b, *t;
	struct md_copy_result r = {0};
	const struct md_msg *m;
	const char *kw[] = {"Blue"};
	struct md_append *app;
	uint32_t uv, uid, n;
	unsigned k;

	assert_int_equal(md_box_create(fx->s, "T"), 0);
	(void)tl_append(fx->s, "T", "pre\n", 0); /* target UIDs start at 2 */
	assert_int_equal(md_append_begin(fx->s, "INBOX", &app), 0);
	assert_int_equal(md_append_write(app, "hello\n", 6), 0);
	assert_int_equal(
		md_append_commit(&app, MD_FLAG_FLAGGED, kw, 1, 0, &uv, &uid),
		0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(md_box_copy(b, &uid, 1, "T", &r), 0);
	assert_int_equal(r.src.count, 1);
	assert_int_equal(r.src.uids[0], uid);
	assert_int_equal(r.dst.uids[0], 2);
	assert_int_equal(md_box_open(fx->s, "T", false, &t), 0);
	assert_int_equal(r.dst_uidvalidity, md_box_uidvalidity(t));
	m = md_box_messages(t, &n);
	assert_int_equal(n, 2);
	assert_int_equal(m[1].flags, MD_FLAG_FLAGGED);
	assert_int_equal(md_box_keyword_index(t, "blue", false, &k), 0);
	assert_int_equal(m[1].keywords, 1u << k);
	assert_int_equal(m[1].size, 6);
	assert_int_equal(m[1].vsize, 7);                /* "hello\r\n" */
	assert_int_equal(tl_count(fx->root, "cur"), 1); /* source stays */
	md_copy_result_free(&r);
	assert_int_equal(md_box_copy(b, &uid, 1, "Missing", &r), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_NOTFOUND);
	md_copy_result_free(&r);
	md_box_free(&t);
	md_box_free(&b);
}

static void
move_renames_keeping_inode_and_reports_uids(void **state)
{
	struct fx *fx = *state;
	struct md_box *b, *t;
	struct md_copy_result r = {0};
	const struct md_msg *m;
	uint32_t uids[3], n;
	char rel[512], moved[600];
	ino_t ino;

	assert_int_equal(md_box_create(fx->s, "Archive"), 0);
	uids[0] = tl_append(fx->s, "INBOX", "1\n", MD_FLAG_SEEN);
	uids[1] = tl_append(fx->s, "INBOX", "2\n", 0);
	uids[2] = tl_append(fx->s, "INBOX", "3\n", 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	m = md_box_messages(b, &n);
	(void)snprintf(rel, sizeof(rel), "cur/%s:2,S", md_box_base(b, 0));
	ino = ino_of(fx->root, rel);
	assert_int_equal(md_move(b, (uint32_t[]){uids[2], uids[0], 99}, 3,
				 "Archive", &r),
			 0);
	assert_int_equal(r.src.count, 2);
	assert_int_equal(r.src.uids[0], uids[2]);
	assert_int_equal(r.src.uids[1], uids[0]);
	assert_int_equal(r.dst.uids[0], 1);
	assert_int_equal(r.dst.uids[1], 2);
	m = md_box_messages(b, &n);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].uid, uids[1]);
	(void)snprintf(moved, sizeof(moved), ".Archive/%s", rel);
	assert_int_equal(ino_of(fx->root, moved), ino);
	assert_int_equal(md_box_open(fx->s, "Archive", false, &t), 0);
	m = md_box_messages(t, &n);
	assert_int_equal(n, 2);
	assert_int_equal(m[1].flags, MD_FLAG_SEEN);
	assert_true(m[0].recent);
	md_box_free(&t);
	md_box_free(&b);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_messages(b, &n);
	assert_int_equal(n, 1);
	md_copy_result_free(&r);
	assert_int_equal(md_move(b, &uids[1], 1, "Nope", &r), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_NOTFOUND);
	md_copy_result_free(&r);
	md_box_free(&b);
}

static void
move_into_self_gives_new_uids(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	struct md_copy_result r = {0};
	uint32_t uid = tl_append(fx->s, "INBOX", "1\n", 0), n;

	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(md_move(b, &uid, 1, "inbox", &r), 0);
	assert_int_equal(r.src.uids[0], uid);
	assert_int_equal(r.dst.uids[0], uid + 1);
	md_box_messages(b, &n);
	assert_int_equal(n, 0);
	assert_int_equal(md_box_sync(b, NULL), 0);
	assert_int_equal(md_box_messages(b, &n)[0].uid, uid + 1);
	assert_int_equal(n, 1);
	assert_int_equal(tl_count(fx->root, "cur"), 1);
	md_copy_result_free(&r);
	md_box_free(&b);
}

static void
move_from_readonly_box_refused(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	struct md_copy_result r = {0};
	uint32_t uid = tl_append(fx->s, "INBOX", "1\n", 0);

	assert_int_equal(md_box_create(fx->s, "T"), 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", true, &b), 0);
	assert_int_equal(md_move(b, &uid, 1, "T", &r), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_PERM);
	assert_int_equal(r.src.count, 0);
	assert_int_equal(tl_count(fx->root, "cur"), 1);
	md_box_free(&b);
}

static void
move_across_filesystems_copies_then_unlinks(void **state)
{
#ifdef IMAPMOVED_FAULTS
	struct fx *fx = *state;
	struct md_box *b, *t;
	struct md_copy_result r = {0};
	uint32_t uids[2], n;

	assert_int_equal(md_box_create(fx->s, "Far"), 0);
	uids[0] = tl_append(fx->s, "INBOX", "1\n", 0);
	uids[1] = tl_append(fx->s, "INBOX", "2\n", MD_FLAG_SEEN);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	setenv("IMAPMOVED_FAKE_EXDEV", "1", 1);
	assert_int_equal(md_move(b, uids, 2, "Far", &r), 0);
	unsetenv("IMAPMOVED_FAKE_EXDEV");
	assert_int_equal(r.src.count, 2);
	assert_int_equal(tl_count(fx->root, "cur"), 0);
	assert_int_equal(tl_count(fx->root, ".Far/cur"), 2);
	assert_int_equal(tl_count(fx->root, ".Far/tmp"), 0);
	assert_int_equal(md_box_open(fx->s, "Far", false, &t), 0);
	assert_int_equal(md_box_messages(t, &n)[1].flags, MD_FLAG_SEEN);
	assert_int_equal(n, 2);
	assert_int_equal(access("imapmoved-move-journal", F_OK), -1);
	md_copy_result_free(&r);
	md_box_free(&t);
	md_box_free(&b);
#else
	(void)state;
	skip();
#endif
}

static void
view_maps_bytes_and_follows_renames(void **state)
{
	struct fx *fx = *state;
	struct md_box *a, *b;
	struct md_view v;
	struct md_uids ex = {0};
	uint32_t uid = tl_append(fx->s, "INBOX", "Subject: v\n\nbody\n", 0);

	assert_int_equal(md_box_open(fx->s, "INBOX", false, &a), 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(
		md_box_set_flags(b, &uid, 1, MD_FLAGS_ADD, MD_FLAG_SEEN, 0), 0);
	assert_int_equal(md_box_view(a, uid, &v), 0);
	assert_int_equal(v.size, 17);
	assert_memory_equal(v.data, "Subject: v\n\nbody\n", 17);
	md_view_release(&v);
	assert_int_equal(md_box_view(a, 42, &v), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_NOTFOUND);
	assert_int_equal(md_box_expunge(b, &uid, 1, &ex), 0);
	assert_int_equal(md_box_view(a, uid, &v), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_EXPUNGED);
	md_view_release(&v);
	md_uids_free(&ex);
	md_box_free(&a);
	md_box_free(&b);
}

static void
keywords_limited_to_26(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	char name[16];
	unsigned k, i;

	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	for (i = 0; i < 26; i++) {
		(void)snprintf(name, sizeof(name), "kw%u", i);
		assert_int_equal(md_box_keyword_index(b, name, true, &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(md_box_keyword_index(b, "one-more", true, &k), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_LIMIT);
	assert_int_equal(md_box_keyword_index(b, "nope", false, &k), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_NOTFOUND);
	md_box_free(&b);
}

static const struct md_folder *
find_folder(const struct md_folder *f, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	return NULL;
}

static void
folders_create_list_delete_rename(void **state)
{
	struct fx *fx = *state;
	struct md_folder *f;
	size_t n;

	assert_int_equal(md_box_create(fx->s, "A"), 0);
	assert_int_equal(md_box_create(fx->s, "A.B"), 0);
	assert_int_equal(md_box_create(fx->s, "C.D"), 0);
	assert_int_equal(md_box_create(fx->s, "Entwürfe & Co"), 0);
	assert_int_equal(md_box_create(fx->s, "A"), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_EXISTS);
	assert_int_equal(md_box_create(fx->s, "INBOX"), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_EXISTS);
	assert_int_equal(md_box_create(fx->s, ".hidden"), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_BADNAME);
	assert_int_equal(tl_count(fx->root, ".Entw&APw-rfe &- Co/cur"), 0);
	assert_int_equal(tl_count(fx->root, ".A"), 4); /* + maildirfolder */
	assert_int_equal(md_store_list(fx->s, &f, &n), 0);
	assert_int_equal(n, 6);
	assert_string_equal(f[0].name, "INBOX");
	assert_int_equal(find_folder(f, n, "A")->flags, MD_FOLDER_HASCHILDREN);
	assert_int_equal(find_folder(f, n, "A.B")->flags, 0);
	assert_int_equal(find_folder(f, n, "C")->flags,
			 MD_FOLDER_NOSELECT | MD_FOLDER_HASCHILDREN);
	assert_non_null(find_folder(f, n, "Entwürfe & Co"));
	md_folders_free(&f, n);
	assert_int_equal(md_box_delete(fx->s, "INBOX"), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_NOTALLOWED);
	assert_int_equal(md_box_delete(fx->s, "A"), 0);
	assert_int_equal(md_box_delete(fx->s, "A"), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_NOTFOUND);
	assert_int_equal(md_box_rename(fx->s, "A.B", "A.B.C"), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_NOTALLOWED);
	assert_int_equal(md_box_rename(fx->s, "C", "A.B"), -1);
	assert_int_equal(md_box_create(fx->s, "C"), 0);
	assert_int_equal(md_box_rename(fx->s, "C", "A.B"), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_EXISTS);
	assert_int_equal(md_box_rename(fx->s, "C", "X"), 0);
	assert_int_equal(md_store_list(fx->s, &f, &n), 0);
	assert_null(find_folder(f, n, "C.D"));
	assert_non_null(find_folder(f, n, "X.D"));
	assert_int_equal(find_folder(f, n, "X")->flags, MD_FOLDER_HASCHILDREN);
	assert_int_equal(find_folder(f, n, "A")->flags,
			 MD_FOLDER_NOSELECT | MD_FOLDER_HASCHILDREN);
	md_folders_free(&f, n);
	/* Only cur, new and tmp: no trash or scratch directory is left. */
	assert_int_equal(tl_count(fx->root, "."), 3);
}

static void
sync_of_deleted_folder_reports_notfound(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;

	assert_int_equal(md_box_create(fx->s, "Gone"), 0);
	assert_int_equal(md_box_open(fx->s, "Gone", false, &b), 0);
	assert_int_equal(md_box_delete(fx->s, "Gone"), 0);
	assert_int_equal(md_box_sync(b, NULL), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_NOTFOUND);
	md_box_free(&b);
}

static void
inbox_rename_moves_messages(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	uint32_t n;

	(void)tl_append(fx->s, "INBOX", "1\n", 0);
	tl_deliver(fx->root, "", "5.M1P1.h", "2\n");
	assert_int_equal(md_box_rename(fx->s, "INBOX", "Old"), 0);
	assert_int_equal(md_box_open(fx->s, "Old", false, &b), 0);
	md_box_messages(b, &n);
	assert_int_equal(n, 2);
	md_box_free(&b);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_messages(b, &n);
	assert_int_equal(n, 0);
	md_box_free(&b);
}

static void
subscriptions_round_trip(void **state)
{
	struct fx *fx = *state;
	char **v;
	size_t n;

	assert_int_equal(md_store_subscribe(fx->s, "A.B", true), 0);
	assert_int_equal(md_store_subscribe(fx->s, "inbox", true), 0);
	assert_int_equal(md_store_subscribe(fx->s, "Inbox.Sub", true), 0);
	assert_int_equal(md_store_subscribe(fx->s, "A.B", true), 0);
	assert_int_equal(md_store_subscribe(fx->s, "Gone", false), 0);
	assert_int_equal(md_store_subscribe(fx->s, "a/b", true), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_BADNAME);
	assert_int_equal(md_store_subscriptions(fx->s, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "A.B");
	assert_string_equal(v[1], "INBOX");
	assert_string_equal(v[2], "INBOX.Sub");
	md_names_free(&v, n);
	assert_int_equal(md_store_subscribe(fx->s, "A.B", false), 0);
	assert_int_equal(md_store_subscribe(fx->s, "inbox.Sub", false), 0);
	assert_int_equal(md_store_subscriptions(fx->s, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "INBOX");
	md_names_free(&v, n);
	assert_null(v);
}

static void
stale_tmp_files_swept_fresh_kept(void **state)
{
	struct fx *fx = *state;
	struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
	struct md_box *b;
	char path[4096];

	tl_write(fx->root, "tmp/old", "x");
	tl_write(fx->root, "tmp/fresh", "y");
	(void)snprintf(path, sizeof(path), "%s/tmp/old", fx->root);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", true, &b), 0);
	md_box_free(&b);
	assert_int_equal(tl_count(fx->root, "tmp"), 2); /* EXAMINE: no */
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_free(&b);
	assert_int_equal(tl_count(fx->root, "tmp"), 1);
	(void)snprintf(path, sizeof(path), "%s/tmp/fresh", fx->root);
	assert_int_equal(access(path, F_OK), 0);
}

static void
delivery_reusing_a_name_never_overwrites(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	uint32_t n;

	tl_write(fx->root, "cur/7.M1P1.h:2,", "Message-ID: <first>\n");
	tl_deliver(fx->root, "", "7.M1P1.h", "Message-ID: <second>\n");
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_messages(b, &n);
	assert_int_equal(n, 2);
	assert_int_equal(tl_count(fx->root, "cur"), 2);
	md_box_free(&b);
}

static void
rename_refused_when_a_child_name_is_taken(void **state)
{
	struct fx *fx = *state;
	struct md_folder *f;
	size_t n;

	assert_int_equal(md_box_create(fx->s, "A"), 0);
	assert_int_equal(md_box_create(fx->s, "A.x"), 0);
	assert_int_equal(md_box_create(fx->s, "B.x"), 0); /* B: \Noselect */
	assert_int_equal(md_box_rename(fx->s, "A", "B"), -1);
	assert_int_equal(md_last_error(fx->s, NULL), MD_ERR_EXISTS);
	assert_int_equal(md_store_list(fx->s, &f, &n), 0);
	assert_int_equal(find_folder(f, n, "A")->flags, MD_FOLDER_HASCHILDREN);
	assert_non_null(find_folder(f, n, "A.x"));
	md_folders_free(&f, n);
}

static void
watch_fd_readable_after_delivery(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	struct pollfd p;
	int fd;

	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	fd = md_box_watch_fd(b);
	assert_true(fd >= 0);
	assert_int_equal(md_box_watch_drain(b), 0);
	tl_deliver(fx->root, "", "9.M1P1.h", "x\n");
	p.fd = fd;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(md_box_watch_drain(b), 1);
	assert_int_equal(md_box_watch_drain(b), 0);
	md_box_free(&b);
}

/* The bench's warm SELECT: one session's sync moved new mail to cur/ (so
 * both directories changed a moment ago); a later session's open must
 * neither read a directory nor write the list. */
static void
open_after_a_sync_that_moved_mail_reads_no_directory(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	struct timespec m;
	ino_t ino;
	uint32_t n;

	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_free(&b);
	tl_deliver(fx->root, "", "1.M1P1.h", "a\n");
	tl_deliver(fx->root, "", "2.M1P1.h", "b\n");
	if (mtime_of(fx->root, "new").tv_nsec == 0)
		skip(); /* whole-second mtimes: the 2 s rule applies */
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_free(&b);
	assert_int_equal(tl_count(fx->root, "new"), 0);
	ino = ino_of(fx->root, "imapmoved-uidlist");
	m = mtime_of(fx->root, "imapmoved-uidlist");
	memset(&md_stats, 0, sizeof(md_stats));
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_messages(b, &n);
	assert_int_equal(n, 2);
	assert_int_equal(md_stats.dir_reads, 0);
	assert_int_equal(md_stats.list_writes, 0);
	assert_int_equal(ino_of(fx->root, "imapmoved-uidlist"), ino);
	assert_int_equal(mtime_of(fx->root, "imapmoved-uidlist").tv_nsec,
			 m.tv_nsec);
	md_box_free(&b);
}

/* The bench's COPY + STORE \\Deleted + UID EXPUNGE: flag the whole box,
 * sync, expunge it all. The expunge reads cur/ at most once and writes
 * the list once (no re-read per message). */
static void
expunge_of_many_reads_cur_once_and_writes_list_once(void **state)
{
	struct fx *fx = *state;
	struct md_uids ex = {0};
	uint32_t uids[40], n;
	struct md_box *b;
	size_t i;

	for (i = 0; i < 40; i++)
		uids[i] = tl_append(fx->s, "INBOX", "x\n", 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	memset(&md_stats, 0, sizeof(md_stats));
	assert_int_equal(
		md_box_set_flags(b, uids, 40, MD_FLAGS_ADD, MD_FLAG_DELETED, 0),
		0);
	assert_int_equal(md_stats.dir_reads, 0);
	assert_int_equal(md_stats.list_writes, 0);
	assert_int_equal(md_box_sync(b, NULL), 0);
	memset(&md_stats, 0, sizeof(md_stats));
	assert_int_equal(md_box_expunge(b, uids, 40, &ex), 0);
	assert_int_equal(ex.count, 40);
	assert_true(md_stats.dir_reads <= 1);
	assert_int_equal(md_stats.list_writes, 1);
	assert_int_equal(tl_count(fx->root, "cur"), 0);
	md_box_messages(b, &n);
	assert_int_equal(n, 0);
	md_uids_free(&ex);
	md_box_free(&b);
}

/* Every file was renamed by another session since this one's view: each
 * is found again by base name from a single listing of cur/. */
static void
expunge_of_files_renamed_elsewhere_lists_cur_once(void **state)
{
	struct fx *fx = *state;
	struct md_uids ex = {0};
	uint32_t uids[30];
	struct md_box *b, *other;
	size_t i;

	for (i = 0; i < 30; i++)
		uids[i] = tl_append(fx->s, "INBOX", "x\n", 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &other), 0);
	assert_int_equal(md_box_set_flags(other, uids, 30, MD_FLAGS_ADD,
					  MD_FLAG_SEEN, 0),
			 0);
	md_box_free(&other);
	memset(&md_stats, 0, sizeof(md_stats));
	assert_int_equal(md_box_expunge(b, uids, 30, &ex), 0);
	assert_int_equal(ex.count, 30);
	assert_int_equal(md_stats.dir_reads, 1);
	assert_int_equal(md_stats.list_writes, 1);
	assert_int_equal(tl_count(fx->root, "cur"), 0);
	md_uids_free(&ex);
	md_box_free(&b);
}

/* APPEND reads the list, not the directories: a batch of appends costs
 * one list write each and no readdir, and a later sync sees them all. */
static void
append_reads_no_directory(void **state)
{
	struct fx *fx = *state;
	const struct md_msg *m;
	struct md_box *b;
	uint32_t n, i;

	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	md_box_free(&b);
	memset(&md_stats, 0, sizeof(md_stats));
	for (i = 0; i < 5; i++)
		assert_int_equal(tl_append(fx->s, "INBOX", "x\n", 0), i + 1);
	assert_int_equal(md_stats.dir_reads, 0);
	assert_int_equal(md_stats.list_writes, 5);
	tl_deliver(fx->root, "", "1.M1P1.h", "delivered\n");
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	m = md_box_messages(b, &n);
	assert_int_equal(n, 6);
	for (i = 0; i < n; i++)
		assert_int_equal(m[i].uid, i + 1);
	md_box_free(&b);
}

/* STORE on messages another session renamed meanwhile: every change is
 * applied to the file's current flags, from one listing of cur/. */
static void
store_on_files_renamed_elsewhere_lists_cur_once(void **state)
{
	struct fx *fx = *state;
	const struct md_msg *m;
	uint32_t uids[30], n, i;
	struct md_box *b, *other;

	for (i = 0; i < 30; i++)
		uids[i] = tl_append(fx->s, "INBOX", "x\n", 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &other), 0);
	assert_int_equal(md_box_set_flags(other, uids, 30, MD_FLAGS_ADD,
					  MD_FLAG_SEEN, 0),
			 0);
	md_box_free(&other);
	memset(&md_stats, 0, sizeof(md_stats));
	assert_int_equal(
		md_box_set_flags(b, uids, 30, MD_FLAGS_ADD, MD_FLAG_DELETED, 0),
		0);
	assert_int_equal(md_stats.dir_reads, 1);
	assert_int_equal(md_stats.list_writes, 0);
	assert_int_equal(md_box_open(fx->s, "INBOX", false, &other), 0);
	m = md_box_messages(other, &n);
	assert_int_equal(n, 30);
	for (i = 0; i < n; i++)
		assert_int_equal(m[i].flags, MD_FLAG_SEEN | MD_FLAG_DELETED);
	md_box_free(&other);
	md_box_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(open_creates_empty_inbox),
		T(open_with_create_makes_missing_parents),
		T(delivered_mail_gets_uids_in_order_and_is_claimed_recent_once),
		T(sync_reports_new_vanished_and_changed),
		T(open_after_a_sync_that_moved_mail_reads_no_directory),
		T(expunge_of_many_reads_cur_once_and_writes_list_once),
		T(expunge_of_files_renamed_elsewhere_lists_cur_once),
		T(append_reads_no_directory),
		T(store_on_files_renamed_elsewhere_lists_cur_once),
		T(status_counts_without_claiming_recent),
		T(sync_with_unchanged_dirs_reads_no_directory_nor_rewrites),
		T(recently_modified_dir_is_rescanned),
		T(file_without_size_uses_stat_and_flags_parse),
		T(append_sets_flags_date_and_increasing_uids),
		T(append_errors_leave_nothing_behind),
		T(set_flags_add_remove_replace_rename_in_cur),
		T(set_flags_follows_file_renamed_elsewhere),
		T(set_flags_on_expunged_file_reports_expunged),
		T(expunge_unlinks_and_drops_records),
		T(copy_links_with_flags_and_keywords),
		T(move_renames_keeping_inode_and_reports_uids),
		T(move_into_self_gives_new_uids),
		T(move_from_readonly_box_refused),
		T(move_across_filesystems_copies_then_unlinks),
		T(view_maps_bytes_and_follows_renames),
		T(keywords_limited_to_26),
		T(folders_create_list_delete_rename),
		T(sync_of_deleted_folder_reports_notfound),
		T(inbox_rename_moves_messages),
		T(subscriptions_round_trip),
		T(stale_tmp_files_swept_fresh_kept),
		T(delivery_reusing_a_name_never_overwrites),
		T(rename_refused_when_a_child_name_is_taken),
		T(watch_fd_readable_after_delivery),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
