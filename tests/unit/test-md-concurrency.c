/* Multi-process test: workers appending, setting flags, expunging and
 * syncing, two movers moving overlapping sets between two folders, and a
 * delivery agent writing into new/ the Postfix way, all at once on the
 * same Maildir. Afterwards every delivered or kept message exists exactly
 * once, UIDs are unique and increasing, and no process saw a UID go
 * backwards or UIDVALIDITY change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>

#include "tests/unit/md-testlib.h"

enum { DELIVERIES = 60, WORKERS = 3, MOVERS = 2, ROUNDS = 20 };
#define MAXMSG 512

/* In a child: report and end with a failure status. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "child %d: %s:%d: %s\n",               \
				(int)getpid(), __FILE__, __LINE__, #cond);     \
			_exit(1);                                              \
		}                                                              \
	} while (0)

struct seen {
	uint32_t uidvalidity;
	uint32_t max_uid;
};

/* Sync and check the view: UIDs strictly increase, new ones are above
 * every UID seen before, UIDVALIDITY stays. */
static void
checked_sync(struct md_box *b, struct seen *seen)
{
	struct md_sync_result r;
	const struct md_msg *m;
	uint32_t n, i;

	CHECK(md_box_sync(b, &r) == 0);
	CHECK(!r.uidvalidity_changed);
	m = md_box_messages(b, &n);
	for (i = 1; i < n; i++)
		CHECK(m[i].uid > m[i - 1].uid);
	for (i = r.first_new; i < n; i++)
		CHECK(m[i].uid > seen->max_uid);
	if (seen->uidvalidity == 0)
		seen->uidvalidity = md_box_uidvalidity(b);
	CHECK(seen->uidvalidity == md_box_uidvalidity(b));
	if (n > 0 && m[n - 1].uid > seen->max_uid)
		seen->max_uid = m[n - 1].uid;
}

static void
deliverer(const char *root)
{
	char name[64], body[64];
	int i;

	for (i = 0; i < DELIVERIES; i++) {
		(void)snprintf(name, sizeof(name), "%d.M%dP%d.agent", 1000 + i,
			       i, (int)getpid());
		(void)snprintf(body, sizeof(body), "Message-ID: <d%d>\n\nx\n",
			       i);
		tl_deliver(root, "", name, body);
	}
	_exit(0);
}

/* Append a kept and a doomed message each round, flag everything seen,
 * expunge the doomed one. */
static void
worker(const char *root, int w)
{
	struct md_store *s;
	struct md_box *b;
	struct seen seen = {0, 0};
	char body[64];
	int r;

	CHECK(md_store_open(root, false, &s) == 0);
	md_store_set_lock(s, 60, 60);
	CHECK(md_box_open(s, "INBOX", false, &b) == 0);
	for (r = 0; r < ROUNDS; r++) {
		struct md_uids ex = {0};
		const struct md_msg *m;
		uint32_t keep, doomed, n, i, *uids;
		int rc;

		(void)snprintf(body, sizeof(body), "Message-ID: <k%d-%d>\n\n",
			       w, r);
		keep = tl_append(s, "INBOX", body, 0);
		(void)snprintf(body, sizeof(body), "Message-ID: <x%d-%d>\n\n",
			       w, r);
		doomed = tl_append(s, "INBOX", body, 0);
		CHECK(keep != 0 && doomed > keep);
		checked_sync(b, &seen);
		m = md_box_messages(b, &n);
		uids = calloc(n + 1, sizeof(*uids));
		for (i = 0; i < n; i++)
			uids[i] = m[i].uid;
		rc = md_box_set_flags(b, uids, n, MD_FLAGS_ADD, MD_FLAG_SEEN,
				      0);
		CHECK(rc == 0 || md_last_error(s, NULL) == MD_ERR_EXPUNGED);
		free(uids);
		CHECK(md_box_expunge(b, &doomed, 1, &ex) == 0);
		md_uids_free(&ex);
		checked_sync(b, &seen);
	}
	md_box_free(&b);
	md_store_free(&s);
	_exit(0);
}

/* Move the first few messages of one folder to the other, both ways. */
static void
mover(const char *root, int who)
{
	static const char *const boxes[2] = {"INBOX", "Other"};
	struct md_store *s;
	struct seen seen[2] = {{0, 0}, {0, 0}};
	struct md_box *b[2];
	size_t moved = 0;
	int r, k;

	CHECK(md_store_open(root, false, &s) == 0);
	md_store_set_lock(s, 60, 60);
	CHECK(md_box_open(s, "INBOX", false, &b[0]) == 0);
	CHECK(md_box_open(s, "Other", false, &b[1]) == 0);
	for (r = 0; r < ROUNDS * 2; r++) {
		for (k = 0; k < 2; k++) {
			struct md_copy_result res = {0};
			const struct md_msg *m;
			uint32_t n, i, j, uids[8];

			checked_sync(b[k], &seen[k]);
			m = md_box_messages(b[k], &n);
			/* Overlapping sets: both movers take from the
			 * front, the second in reverse order. */
			for (i = 0; i < n && i < 6; i++)
				uids[i] = m[i].uid;
			for (j = 0; who && j < i / 2; j++) {
				uint32_t t = uids[j];

				uids[j] = uids[i - 1 - j];
				uids[i - 1 - j] = t;
			}
			CHECK(md_move(b[k], uids, i, boxes[!k], &res) == 0);
			moved += res.src.count;
			CHECK(res.src.count == res.dst.count);
			md_copy_result_free(&res);
		}
	}
	CHECK(moved > 0);
	md_box_free(&b[0]);
	md_box_free(&b[1]);
	md_store_free(&s);
	_exit(0);
}

static int
count_id(char ids[][64], int n, const char *id)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		c += strcmp(ids[i], id) == 0;
	return c;
}

static void
everything_exactly_once_under_concurrent_load(void **state)
{
	static char in[MAXMSG][64], out[MAXMSG][64];
	char *root = tl_tmpdir();
	struct md_store *s;
	char id[64];
	int i, r, ni, no, status, kids = 0;

	(void)state;
	assert_int_equal(md_store_open(root, true, &s), 0);
	assert_int_equal(md_box_create(s, "Other"), 0);
	for (i = 0; i < 1 + WORKERS + MOVERS; i++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			if (i == 0)
				deliverer(root);
			else if (i <= WORKERS)
				worker(root, i);
			else
				mover(root, i - WORKERS - 1);
		}
		kids++;
	}
	for (i = 0; i < kids; i++) {
		assert_true(wait(&status) > 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("a child failed (status %d)", status);
	}
	ni = tl_ids(s, "INBOX", in, MAXMSG, NULL);
	no = tl_ids(s, "Other", out, MAXMSG, NULL);
	assert_true(ni >= 0 && no >= 0);
	for (i = 0; i < DELIVERIES; i++) {
		(void)snprintf(id, sizeof(id), "<d%d", i);
		if (count_id(in, ni, id) + count_id(out, no, id) != 1)
			fail_msg("%s found %d + %d times", id,
				 count_id(in, ni, id), count_id(out, no, id));
	}
	for (i = 1; i <= WORKERS; i++) {
		for (r = 0; r < ROUNDS; r++) {
			(void)snprintf(id, sizeof(id), "<k%d-%d", i, r);
			if (count_id(in, ni, id) + count_id(out, no, id) != 1)
				fail_msg("%s found %d + %d times", id,
					 count_id(in, ni, id),
					 count_id(out, no, id));
			/* A doomed message moved away before its expunge
			 * survives in the other folder, at most once. */
			(void)snprintf(id, sizeof(id), "<x%d-%d", i, r);
			if (count_id(in, ni, id) + count_id(out, no, id) > 1)
				fail_msg("%s duplicated", id);
		}
	}
	assert_int_equal(tl_count(root, "cur"), ni);
	assert_int_equal(tl_count(root, ".Other/cur"), no);
	assert_int_equal(tl_count(root, "new"), 0);
	md_store_free(&s);
	tl_rmrf(&root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(everything_exactly_once_under_concurrent_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
