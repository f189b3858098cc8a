/* Unit tests for the per-mailbox metadata cache (maildir/cache.c) on real
 * temporary Maildirs: round trip and reopen, sharing between two box
 * objects, garbage, torn and foreign files, basename checks, compaction,
 * the size bound and a concurrent writer in another process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>

#include "lib/buf.h"
#include "maildir/maildir-private.h"
#include "tests/unit/md-testlib.h"

#define NMSG 4

struct fx {
	char *root;
	struct md_store *s;
	uint32_t uids[NMSG];
	char path[4200]; /* the cache file */
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char body[64];
	int i;

	fx->root = tl_tmpdir();
	if (md_store_open(fx->root, true, &fx->s) < 0)
		return -1;
	md_store_set_lock(fx->s, 0, 5);
	for (i = 0; i < NMSG; i++) {
		(void)snprintf(body, sizeof(body), "Subject: m%d\n\nbody %d\n",
			       i, i);
		fx->uids[i] = tl_append(fx->s, "INBOX", body, 0);
		if (fx->uids[i] == 0)
			return -1;
	}
	(void)snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->root, MD_CACHE);
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

static struct md_box *
open_box(struct fx *fx)
{
	struct md_box *b = NULL;

	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	return b;
}

/* Assert that (uid, field) hits with exactly want. */
static void
assert_hit(struct md_box *b, uint32_t uid, unsigned field, const char *want)
{
	const void *data;
	size_t len;

	if (md_cache_get(b, uid, field, &data, &len) != 1)
		fail_msg("uid %u field %u: miss, wanted \"%s\"", uid, field,
			 want);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(data, want, len);
}

static void
assert_miss(struct md_box *b, uint32_t uid, unsigned field)
{
	const void *data;
	size_t len;

	if (md_cache_get(b, uid, field, &data, &len) != 0)
		fail_msg("uid %u field %u: unexpected hit", uid, field);
}

/* Put "v<field>-<uid>" for every message and field 1..nfields, flush. */
static void
fill(struct fx *fx, struct md_box *b, unsigned nfields)
{
	char v[32];
	unsigned f;
	int i;

	for (i = 0; i < NMSG; i++)
		for (f = 1; f <= nfields; f++) {
			(void)snprintf(v, sizeof(v), "v%u-%u", f, fx->uids[i]);
			md_cache_put(b, fx->uids[i], f, v, strlen(v));
		}
	md_cache_flush(b);
}

static void
check_filled(struct fx *fx, struct md_box *b, unsigned nfields)
{
	char v[32];
	unsigned f;
	int i;

	for (i = 0; i < NMSG; i++)
		for (f = 1; f <= nfields; f++) {
			(void)snprintf(v, sizeof(v), "v%u-%u", f, fx->uids[i]);
			assert_hit(b, fx->uids[i], f, v);
		}
}

static off_t
file_size(const struct fx *fx)
{
	struct stat st;

	if (stat(fx->path, &st) < 0)
		return -1;
	return st.st_size;
}

static void
write_file(const struct fx *fx, const void *data, size_t len)
{
	int fd = open(fx->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(io_write_all(fd, data, len), 0);
	assert_int_equal(close(fd), 0);
}

static char *
read_whole(const struct fx *fx, size_t *len_r)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(io_read_file(fx->path, &b), 0);
	*len_r = b.len;
	return b.data; /* the caller frees it */
}

static void
put_is_visible_after_flush_and_reopen(void **state)
{
	struct fx *fx = *state;
	struct md_box *b = open_box(fx);

	assert_miss(b, fx->uids[0], 1);
	md_cache_put(b, fx->uids[0], 1, "envelope", 8);
	assert_miss(b, fx->uids[0], 1); /* not before the flush */
	md_cache_flush(b);
	assert_hit(b, fx->uids[0], 1, "envelope");
	assert_miss(b, fx->uids[0], 2);
	assert_miss(b, fx->uids[1], 1);
	assert_miss(b, 999, 1);
	md_box_free(&b);
	b = open_box(fx);
	assert_hit(b, fx->uids[0], 1, "envelope");
	md_box_free(&b);
}

static void
two_boxes_of_one_mailbox_share_entries(void **state)
{
	struct fx *fx = *state;
	struct md_box *a = open_box(fx), *b = open_box(fx);

	assert_miss(b, fx->uids[0], 1);
	fill(fx, a, 2);
	/* b sees the file again only at its next command. */
	md_cache_flush(b);
	check_filled(fx, b, 2);
	md_cache_put(b, fx->uids[3], 7, "from b", 6);
	md_cache_flush(b);
	md_cache_flush(a);
	assert_hit(a, fx->uids[3], 7, "from b");
	md_box_free(&a);
	md_box_free(&b);
}

static void
later_put_of_same_key_wins(void **state)
{
	struct fx *fx = *state;
	struct md_box *b = open_box(fx);

	md_cache_put(b, fx->uids[1], 3, "old", 3);
	md_cache_flush(b);
	md_cache_put(b, fx->uids[1], 3, "newer", 5);
	md_cache_flush(b);
	assert_hit(b, fx->uids[1], 3, "newer");
	md_box_free(&b);
}

static void
garbage_files_give_misses_then_are_replaced(void **state)
{
	static const struct {
		const char *name;
		const char *data;
		size_t len;
	} cases[] = {
		{"empty", "", 0},
		{"short", "IMAPMV", 6},
		{"text", "this is not a cache file at all\n", 32},
		{"magic, bad checksum", "IMAPMVC2\1\0\0\0\0\0\0\0MCR2", 20},
	};
	struct fx *fx = *state;
	struct md_box *b;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		write_file(fx, cases[i].data, cases[i].len);
		b = open_box(fx);
		if (md_cache_get(b, fx->uids[0], 1, &(const void *){0},
				 &(size_t){0}) != 0)
			fail_msg("%s: hit on a garbage file", cases[i].name);
		fill(fx, b, 1);
		check_filled(fx, b, 1);
		md_box_free(&b);
	}
}

static void
torn_tail_is_ignored_and_appends_after_it_are_found(void **state)
{
	struct fx *fx = *state;
	struct md_box *b = open_box(fx);
	off_t size;

	fill(fx, b, 1);
	md_box_free(&b);
	size = file_size(fx);
	assert_int_equal(truncate(fx->path, size - 3), 0);
	b = open_box(fx);
	assert_hit(b, fx->uids[0], 1, "v1-1");
	assert_hit(b, fx->uids[2], 1, "v1-3");
	assert_miss(b, fx->uids[3], 1); /* the torn record */
	md_cache_put(b, fx->uids[3], 1, "again", 5);
	md_cache_flush(b);
	md_box_free(&b);
	b = open_box(fx);
	assert_hit(b, fx->uids[3], 1, "again");
	assert_hit(b, fx->uids[1], 1, "v1-2");
	md_box_free(&b);
}

static void
corrupt_record_in_the_middle_misses_alone(void **state)
{
	struct fx *fx = *state;
	struct md_box *b = open_box(fx);
	size_t len;
	char *data;
	char *p;

	fill(fx, b, 1);
	md_box_free(&b);
	data = read_whole(fx, &len);
	/* Flip the last data byte of the second record ("v1-2"). */
	p = memmem(data, len, "v1-2", 4);
	assert_non_null(p);
	p[3] = 'X';
	write_file(fx, data, len);
	free(data);
	b = open_box(fx);
	assert_hit(b, fx->uids[0], 1, "v1-1");
	assert_miss(b, fx->uids[1], 1);
	assert_hit(b, fx->uids[2], 1, "v1-3");
	assert_hit(b, fx->uids[3], 1, "v1-4");
	md_box_free(&b);
}

/* FNV-1a as the file format uses it, to forge a well-formed header. */
static uint32_t
fnv(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

static void
other_uidvalidity_is_ignored_and_recreated(void **state)
{
	struct fx *fx = *state;
	struct md_box *b = open_box(fx);
	unsigned char *d;
	uint32_t uv = md_box_uidvalidity(b) + 1, sum;
	size_t len;

	fill(fx, b, 1);
	md_box_free(&b);
	d = (unsigned char *)read_whole(fx, &len);
	d[8] = (unsigned char)uv;
	d[9] = (unsigned char)(uv >> 8);
	d[10] = (unsigned char)(uv >> 16);
	d[11] = (unsigned char)(uv >> 24);
	sum = fnv(d, 12);
	d[12] = (unsigned char)sum;
	d[13] = (unsigned char)(sum >> 8);
	d[14] = (unsigned char)(sum >> 16);
	d[15] = (unsigned char)(sum >> 24);
	write_file(fx, d, len);
	free(d);
	b = open_box(fx);
	assert_miss(b, fx->uids[0], 1);
	md_cache_put(b, fx->uids[0], 1, "fresh", 5);
	md_cache_flush(b);
	assert_hit(b, fx->uids[0], 1, "fresh");
	assert_miss(b, fx->uids[1], 1); /* the old entries are gone */
	md_box_free(&b);
}

static void
entry_for_another_file_under_the_uid_misses(void **state)
{
	struct fx *fx = *state;
	struct md_box *b = open_box(fx);
	long idx;

	fill(fx, b, 1);
	/* The box now has another file for uids[1] (as after a rebuilt
	 * list that kept the UIDVALIDITY). */
	idx = md_box_find(b, fx->uids[1]);
	assert_true(idx >= 0);
	free(b->bases[idx]);
	b->bases[idx] = strdup("1700000000.M9P9.other,S=30");
	md_cache_flush(b);
	assert_miss(b, fx->uids[1], 1);
	assert_hit(b, fx->uids[0], 1, "v1-1");
	md_box_free(&b);
}

static void
compaction_keeps_live_entries_and_drops_dead(void **state)
{
	struct fx *fx = *state;
	struct md_box *b = open_box(fx);
	struct md_uids gone = {0};
	static char big[20000];
	off_t before;
	int round;

	memset(big, 'x', sizeof(big));
	fill(fx, b, 2);
	/* Rewrite one entry until the file is mostly dead. */
	for (round = 0; round < 6; round++) {
		big[0] = (char)('a' + round);
		md_cache_put(b, fx->uids[0], 9, big, sizeof(big));
		md_cache_flush(b);
	}
	before = file_size(fx);
	assert_true(before < 4 * (off_t)sizeof(big));
	assert_int_equal(md_box_expunge(b, &fx->uids[3], 1, &gone), 0);
	md_uids_free(&gone);
	for (round = 0; round < 4; round++) {
		big[0] = (char)('A' + round);
		md_cache_put(b, fx->uids[0], 9, big, sizeof(big));
		md_cache_flush(b);
	}
	assert_true(file_size(fx) < 4 * (off_t)sizeof(big));
	assert_hit(b, fx->uids[0], 1, "v1-1");
	assert_hit(b, fx->uids[2], 2, "v2-3");
	{
		const void *data;
		size_t len;

		assert_int_equal(md_cache_get(b, fx->uids[0], 9, &data, &len),
				 1);
		assert_int_equal(len, sizeof(big));
		assert_int_equal(((const char *)data)[0], 'D');
	}
	md_box_free(&b);
	/* The expunged message's entries did not survive a rewrite. */
	{
		size_t len;
		char *d = read_whole(fx, &len);

		assert_null(memmem(d, len, "v1-4", 4));
		free(d);
	}
}

static void
file_stays_within_the_bound(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;
	static char blob[30000];
	int i, round, hits = 0;

	md_store_set_cache_max(fx->s, 100000);
	b = open_box(fx);
	for (round = 0; round < 3; round++)
		for (i = 0; i < NMSG; i++) {
			memset(blob, 'a' + i, sizeof(blob));
			md_cache_put(b, fx->uids[i], 1, blob, sizeof(blob));
			md_cache_flush(b);
			assert_true(file_size(fx) <= 100000);
		}
	for (i = 0; i < NMSG; i++) {
		const void *data;
		size_t len;

		if (md_cache_get(b, fx->uids[i], 1, &data, &len) == 1) {
			assert_int_equal(len, sizeof(blob));
			assert_int_equal(((const char *)data)[0], 'a' + i);
			hits++;
		}
	}
	assert_true(hits >= 1);
	md_box_free(&b);
}

static void
zero_bound_turns_the_cache_off(void **state)
{
	struct fx *fx = *state;
	struct md_box *b;

	md_store_set_cache_max(fx->s, 0);
	b = open_box(fx);
	fill(fx, b, 1);
	assert_miss(b, fx->uids[0], 1);
	assert_int_equal(file_size(fx), -1);
	md_box_free(&b);
}

#define CONC_ROUNDS 150

/* The value a writer stores for (uid, field). */
static void
conc_value(char *out, size_t size, uint32_t uid, unsigned field)
{
	(void)snprintf(out, size, "writer value %u/%u", uid, field);
}

/* In the child: its own store and box, one put + flush per round. */
static void
child_writer(const struct fx *fx)
{
	struct md_store *s;
	struct md_box *b;
	char v[64];
	int r;

	if (md_store_open(fx->root, false, &s) < 0 ||
	    md_box_open(s, "INBOX", false, &b) < 0)
		_exit(2);
	for (r = 0; r < CONC_ROUNDS; r++) {
		uint32_t uid = fx->uids[r % NMSG];

		conc_value(v, sizeof(v), uid, 100 + (unsigned)r);
		md_cache_put(b, uid, 100 + (unsigned)r, v, strlen(v));
		md_cache_flush(b);
	}
	md_box_free(&b);
	md_store_free(&s);
	_exit(0);
}

static void
concurrent_writer_never_gives_wrong_data(void **state)
{
	struct fx *fx = *state;
	struct md_box *b = open_box(fx);
	int status = 0, r, seen = 0;
	char v[64];
	pid_t pid;
	bool done = false;

	fill(fx, b, 1); /* the file exists: both sides only append */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_writer(fx);
	while (!done) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		assert_true(w >= 0);
		done = w == pid;
		md_cache_flush(b);
		for (r = 0; r < CONC_ROUNDS; r++) {
			uint32_t uid = fx->uids[r % NMSG];
			const void *data;
			size_t len;

			if (md_cache_get(b, uid, 100 + (unsigned)r, &data,
					 &len) != 1)
				continue;
			conc_value(v, sizeof(v), uid, 100 + (unsigned)r);
			assert_int_equal(len, strlen(v));
			assert_memory_equal(data, v, len);
			seen++;
		}
		/* Our own appends interleave with the child's. */
		conc_value(v, sizeof(v), fx->uids[0], 1000 + (unsigned)seen);
		md_cache_put(b, fx->uids[0], 1000, v, strlen(v));
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	md_cache_flush(b);
	for (r = 0; r < CONC_ROUNDS; r++) {
		conc_value(v, sizeof(v), fx->uids[r % NMSG], 100 + (unsigned)r);
		assert_hit(b, fx->uids[r % NMSG], 100 + (unsigned)r, v);
	}
	check_filled(fx, b, 1);
	md_box_free(&b);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(put_is_visible_after_flush_and_reopen),
		T(two_boxes_of_one_mailbox_share_entries),
		T(later_put_of_same_key_wins),
		T(garbage_files_give_misses_then_are_replaced),
		T(torn_tail_is_ignored_and_appends_after_it_are_found),
		T(corrupt_record_in_the_middle_misses_alone),
		T(other_uidvalidity_is_ignored_and_recreated),
		T(entry_for_another_file_under_the_uid_misses),
		T(compaction_keeps_live_entries_and_drops_dead),
		T(file_stays_within_the_bound),
		T(zero_bound_turns_the_cache_off),
		T(concurrent_writer_never_gives_wrong_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
