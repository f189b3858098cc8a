/* Unit tests for the binary index imapmoved-index (maildir/index.c) on real
 * Maildirs: a box opened a second time with nothing changed is mapped from
 * the index and holds exactly what the text list gives; any change (a flag
 * renamed, a delivery) makes it stale; a damaged index is never used
 * (truncated, zeroed, foreign) or at worst gives a message no file name;
 * flag changes, expunges and moves work on a mapped view and free nothing
 * they do not own (the ASan build checks that).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/mman.h>

#include "maildir/maildir-private.h"
#include "tests/unit/md-testlib.h"

#define NMSG (MD_INDEX_MIN + 88)

struct snap {
	uint32_t count, uidnext, uidvalidity;
	struct md_msg *msgs;
	char **fnames;
};

struct fx {
	char *root;
	struct md_store *s;
	char path[4200];  /* the index file */
	struct snap want; /* the view as the text list gave it */
};

static void
snap_take(struct snap *sn, struct md_box *b)
{
	const struct md_msg *m = md_box_messages(b, &sn->count);
	uint32_t i;

	sn->uidnext = md_box_uidnext(b);
	sn->uidvalidity = md_box_uidvalidity(b);
	sn->msgs = calloc(sn->count + 1, sizeof(*sn->msgs));
	sn->fnames = calloc(sn->count + 1, sizeof(*sn->fnames));
	for (i = 0; i < sn->count; i++) {
		sn->msgs[i] = m[i];
		sn->msgs[i].recent = false;
		sn->fnames[i] = strdup(md_box_fname(b, i));
	}
}

static void
snap_free(struct snap *sn)
{
	uint32_t i;

	for (i = 0; i < sn->count; i++)
		free(sn->fnames[i]);
	free(sn->fnames);
	free(sn->msgs);
	memset(sn, 0, sizeof(*sn));
}

/* b holds exactly the snapshot. */
static void
assert_same(struct md_box *b, const struct snap *sn)
{
	const struct md_msg *m;
	uint32_t i, n;

	m = md_box_messages(b, &n);
	assert_int_equal(n, sn->count);
	assert_int_equal(md_box_uidnext(b), sn->uidnext);
	assert_int_equal(md_box_uidvalidity(b), sn->uidvalidity);
	for (i = 0; i < n; i++) {
		const char *colon = strchr(sn->fnames[i], ':');
		size_t base_len = colon ? (size_t)(colon - sn->fnames[i])
					: strlen(sn->fnames[i]);

		assert_int_equal(m[i].uid, sn->msgs[i].uid);
		assert_int_equal(m[i].flags, sn->msgs[i].flags);
		assert_int_equal(m[i].keywords, sn->msgs[i].keywords);
		assert_int_equal(m[i].size, sn->msgs[i].size);
		assert_int_equal(m[i].vsize, sn->msgs[i].vsize);
		assert_int_equal(m[i].internal_date, sn->msgs[i].internal_date);
		assert_false(m[i].recent);
		assert_string_equal(md_box_fname(b, i), sn->fnames[i]);
		assert_int_equal(strlen(md_box_base(b, i)), base_len);
		assert_memory_equal(md_box_base(b, i), sn->fnames[i], base_len);
	}
}

static struct md_box *
open_box(struct fx *fx, const char *name)
{
	struct md_box *b = NULL;

	assert_int_equal(md_box_open(fx->s, name, false, &b), 0);
	return b;
}

static bool
index_exists(struct fx *fx)
{
	return access(fx->path, F_OK) == 0;
}

/* NMSG deliveries, one open that claims them (\Recent) and one that writes
 * the index: from then on the index is current. */
static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct md_box *b = NULL;
	char name[64], body[128];
	int i;

	fx->root = tl_tmpdir();
	if (md_store_open(fx->root, true, &fx->s) < 0)
		return -1;
	md_store_set_lock(fx->s, 0, 5);
	for (i = 0; i < NMSG; i++) {
		(void)snprintf(name, sizeof(name), "%d.M%dP1.host,S=%d",
			       1700000000 + i, i, 20 + (i % 10 >= 1));
		(void)snprintf(body, sizeof(body), "Subject: %d\n\n%s\n", i,
			       i % 10 >= 1 ? "xxxxxxx" : "xxxxxx");
		tl_deliver(fx->root, "", name, body);
	}
	(void)snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->root, MD_INDEX);
	if (md_box_create(fx->s, "Archive") < 0 ||
	    md_box_open(fx->s, "INBOX", false, &b) < 0)
		return -1;
	{
		uint32_t seen[3];
		const struct md_msg *m;
		uint32_t n;

		m = md_box_messages(b, &n);
		seen[0] = m[1].uid;
		seen[1] = m[5].uid;
		seen[2] = m[n - 1].uid;
		if (md_box_set_flags(b, seen, 3, MD_FLAGS_ADD,
				     MD_FLAG_SEEN | MD_FLAG_FLAGGED, 0) < 0)
			return -1;
	}
	md_box_free(&b);
	/* Past the clock tick of the renames, so the next scan can record
	 * the directories' stamps (md_dir_stamp). */
	(void)usleep(50 * 1000);
	/* The renamed files changed cur/: this open scans, rewrites the
	 * list and writes the index. */
	if (md_box_open(fx->s, "INBOX", false, &b) < 0)
		return -1;
	if (b->msgs_mapped)
		return -1;
	snap_take(&fx->want, b);
	md_box_free(&b);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	snap_free(&fx->want);
	md_store_free(&fx->s);
	tl_rmrf(&fx->root);
	free(fx);
	return 0;
}

static void
unchanged_box_opens_from_the_index(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;

	assert_true(index_exists(fx));
	b = open_box(fx, "INBOX");
	assert_true(b->msgs_mapped);
	assert_same(b, &fx->want);
	assert_int_equal(md_box_recent_count(b), 0);
	md_box_free(&b);
}

static void
small_box_gets_no_index(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	char path[4300];
	int i;

	for (i = 0; i < 5; i++)
		(void)tl_append(fx->s, "Archive", "Subject: a\n\nb\n", 0);
	for (i = 0; i < 3; i++) {
		b = open_box(fx, "Archive");
		assert_false(b->msgs_mapped);
		md_box_free(&b);
	}
	(void)snprintf(path, sizeof(path), "%s/.Archive/%s", fx->root,
		       MD_INDEX);
	assert_int_equal(access(path, F_OK), -1);
}

/* Another session's flag change renames a file and rewrites the list. */
static void
flag_change_elsewhere_makes_it_stale(void **state)
{
	struct fx *fx = *state;
	struct md_box *a = open_box(fx, "INBOX"), *b;
	uint32_t uid = fx->want.msgs[7].uid;
	long idx;

	assert_true(a->msgs_mapped);
	/* A change through a mapped view: its record is copied, the file
	 * renamed. */
	assert_int_equal(
		md_box_set_flags(a, &uid, 1, MD_FLAGS_ADD, MD_FLAG_ANSWERED, 0),
		0);
	assert_non_null(strstr(md_box_fname(a, 7), ":2,R"));
	md_box_free(&a);
	(void)usleep(50 * 1000); /* past the tick: see setup() */
	b = open_box(fx, "INBOX");
	assert_false(b->msgs_mapped);
	idx = md_box_find(b, uid);
	assert_true(idx == 7);
	assert_true(md_box_messages(b, &(uint32_t){0})[idx].flags &
		    MD_FLAG_ANSWERED);
	md_box_free(&b);
	/* That open wrote a new index, which has the change. */
	b = open_box(fx, "INBOX");
	assert_true(b->msgs_mapped);
	assert_true(md_box_messages(b, &(uint32_t){0})[7].flags &
		    MD_FLAG_ANSWERED);
	md_box_free(&b);
}

static void
delivery_makes_it_stale(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	uint32_t n;

	/* The directory's mtime must move on even on a coarse clock. */
	(void)usleep(20 * 1000);
	tl_deliver(fx->root, "", "1800000000.M1P1.host", "Subject: new\n\nx\n");
	b = open_box(fx, "INBOX");
	assert_false(b->msgs_mapped);
	(void)md_box_messages(b, &n);
	assert_int_equal(n, NMSG + 1);
	assert_int_equal(md_box_recent_count(b), 1);
	md_box_free(&b);
}

/* Rewrite the index file with damage done by fn. */
static void
damage(struct fx *fx, void (*fn)(char *p, size_t len, int fd))
{
	struct stat st;
	char *p;
	int fd = open(fx->path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	assert_true(p != MAP_FAILED);
	fn(p, (size_t)st.st_size, fd);
	assert_int_equal(munmap(p, (size_t)st.st_size), 0);
	assert_int_equal(close(fd), 0);
}

static void
cut_last_byte(char *p, size_t len, int fd)
{
	(void)p;
	assert_int_equal(ftruncate(fd, (off_t)len - 1), 0);
}

static void
zero_all_but_header(char *p, size_t len, int fd)
{
	(void)fd;
	memset(p + 160, 0, len - 160);
}

static void
zero_everything(char *p, size_t len, int fd)
{
	(void)fd;
	memset(p, 0, len);
}

static void
bad_magic(char *p, size_t len, int fd)
{
	(void)len;
	(void)fd;
	p[0] ^= 0x20;
}

static void
wrong_record_size(char *p, size_t len, int fd)
{
	(void)len;
	(void)fd;
	p[12] ^= 1; /* rec_size, native order */
}

static void
uids_out_of_order(char *p, size_t len, int fd)
{
	struct md_msg *m = (struct md_msg *)(void *)(p + 160);

	(void)len;
	(void)fd;
	m[NMSG - 1].uid = 1;
}

static void
damaged_index_is_not_used(void **state)
{
	static void (*const damages[])(char *, size_t, int) = {
		cut_last_byte, zero_all_but_header, zero_everything,
		bad_magic,     wrong_record_size,   uids_out_of_order,
	};
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < sizeof(damages) / sizeof(*damages); i++) {
		struct md_box *b;

		damage(fx, damages[i]);
		b = open_box(fx, "INBOX");
		if (b->msgs_mapped)
			fail_msg("damage %zu: index used", i);
		assert_same(b, &fx->want);
		md_box_free(&b);
		/* That open rewrote it. */
		b = open_box(fx, "INBOX");
		if (!b->msgs_mapped)
			fail_msg("damage %zu: index not rewritten", i);
		assert_same(b, &fx->want);
		md_box_free(&b);
	}
}

/* A name offset out of range passes the checks (they do not read every
 * record): the message then has an empty name, which no file has, and
 * reading it fails cleanly. */
static void
name_offset_out_of_range_gives_no_file(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	struct md_view v;
	char *p;
	struct stat st;
	int fd = open(fx->path, O_RDWR);
	uint64_t offs_off;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	assert_true(p != MAP_FAILED);
	/* offs_off is the second of the four offsets before file_size. */
	memcpy(&offs_off, p + 160 - 8 * 5 + 8, sizeof(offs_off));
	assert_int_equal(offs_off,
			 160 + (uint64_t)NMSG * sizeof(struct md_msg));
	memset(p + offs_off + 4 * 3, 0xff, 4);
	assert_int_equal(munmap(p, (size_t)st.st_size), 0);
	assert_int_equal(close(fd), 0);
	b = open_box(fx, "INBOX");
	assert_true(b->msgs_mapped);
	assert_string_equal(md_box_fname(b, 3), "");
	assert_string_equal(md_box_base(b, 3), "");
	assert_string_equal(md_box_fname(b, 4), fx->want.fnames[4]);
	assert_int_equal(md_box_view(b, fx->want.msgs[3].uid, &v), -1);
	assert_int_equal(md_box_view(b, fx->want.msgs[4].uid, &v), 0);
	assert_true(v.size > 0);
	md_view_release(&v);
	md_box_free(&b);
}

static void
expunge_and_move_on_a_mapped_view(void **state)
{
	struct fx *fx = *state;
	struct md_box *b = open_box(fx, "INBOX");
	uint32_t gone[3] = {fx->want.msgs[0].uid, fx->want.msgs[10].uid,
			    fx->want.msgs[NMSG - 1].uid};
	uint32_t moved[2] = {fx->want.msgs[2].uid, fx->want.msgs[20].uid};
	struct md_uids ex = {0};
	struct md_copy_result r;
	uint32_t n;

	assert_true(b->msgs_mapped);
	assert_int_equal(md_box_expunge(b, gone, 3, &ex), 0);
	assert_int_equal(ex.count, 3);
	md_uids_free(&ex);
	(void)md_box_messages(b, &n);
	assert_int_equal(n, NMSG - 3);
	memset(&r, 0, sizeof(r));
	assert_int_equal(md_move(b, moved, 2, "Archive", &r), 0);
	md_copy_result_free(&r);
	(void)md_box_messages(b, &n);
	assert_int_equal(n, NMSG - 5);
	assert_int_equal(md_box_find(b, moved[0]), -1);
	assert_string_equal(md_box_fname(b, 0), fx->want.fnames[1]);
	md_box_free(&b);
	assert_int_equal(tl_count(fx->root, "cur"), NMSG - 5);
	assert_int_equal(tl_count(fx->root, ".Archive/cur"), 2);
	/* The changes made the index stale; the text list is right. */
	b = open_box(fx, "INBOX");
	assert_false(b->msgs_mapped);
	(void)md_box_messages(b, &n);
	assert_int_equal(n, NMSG - 5);
	md_box_free(&b);
}

/* The other session of the same user syncing a mapped view sees a change
 * like any other: a new view from the list, the names of kept messages
 * still valid. */
static void
sync_replaces_a_mapped_view(void **state)
{
	struct fx *fx = *state;
	struct md_box *a = open_box(fx, "INBOX"), *b = open_box(fx, "INBOX");
	struct md_sync_result res;
	uint32_t uid = fx->want.msgs[4].uid;

	assert_true(a->msgs_mapped && b->msgs_mapped);
	assert_int_equal(
		md_box_set_flags(b, &uid, 1, MD_FLAGS_ADD, MD_FLAG_DRAFT, 0),
		0);
	assert_int_equal(md_box_sync(a, &res), 0);
	assert_false(a->msgs_mapped);
	assert_int_equal(res.changed_count, 1);
	assert_int_equal(res.changed[0], uid);
	assert_string_equal(md_box_fname(a, 4), md_box_fname(b, 4));
	assert_string_equal(md_box_base(a, 5), md_box_base(b, 5));
	md_box_free(&a);
	md_box_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			unchanged_box_opens_from_the_index, setup, teardown),
		cmocka_unit_test_setup_teardown(small_box_gets_no_index, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			flag_change_elsewhere_makes_it_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(delivery_makes_it_stale, setup,
						teardown),
		cmocka_unit_test_setup_teardown(damaged_index_is_not_used,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			name_offset_out_of_range_gives_no_file, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			expunge_and_move_on_a_mapped_view, setup, teardown),
		cmocka_unit_test_setup_teardown(sync_replaces_a_mapped_view,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
