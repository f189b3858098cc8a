/* Crash tests: a child runs one store operation with IMAPMOVED_FAULT naming
 * each fault point in turn (and each of its hits), dying there with
 * _exit(99); or it is killed with SIGKILL at a random moment of a move
 * loop. The parent then syncs and checks that nothing was lost or
 * duplicated and that UIDVALIDITY did not change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "lib/num.h"
#include "tests/unit/md-testlib.h"

enum op {
	OP_APPEND,
	OP_FLAGS,
	OP_EXPUNGE,
	OP_MOVE,
	OP_MOVE_EXDEV,
	OP_COPY,
	OP_SYNC,
};

#define NBASE 8 /* m0..m5 appended, d0 d1 delivered */
#define MAXMSG 32

struct world {
	char *root;
	uint32_t uv_src, uv_dst;
};

static const char *const base_ids[NBASE] = {"<m0", "<m1", "<m2", "<m3",
					    "<m4", "<m5", "<d0", "<d1"};

static void
world_make(struct world *w)
{
	struct md_store *s;
	char ids[MAXMSG][64], name[64], body[64];
	int i;

	w->root = tl_tmpdir();
	assert_int_equal(md_store_open(w->root, true, &s), 0);
	assert_int_equal(md_box_create(s, "Dst"), 0);
	/* Files left in cur/ as another server would: cheaper than appends
	 * (no fsync each), and the first sync gives them UIDs. */
	for (i = 0; i < 6; i++) {
		(void)snprintf(name, sizeof(name), "cur/%d.M%dP1.base:2,%s",
			       100 + i, i, i % 2 ? "S" : "");
		(void)snprintf(body, sizeof(body), "Message-ID: <m%d>\n\nb\n",
			       i);
		tl_write(w->root, name, body);
	}
	assert_int_equal(tl_ids(s, "INBOX", ids, MAXMSG, &w->uv_src), 6);
	assert_int_equal(tl_ids(s, "Dst", ids, MAXMSG, &w->uv_dst), 0);
	tl_deliver(w->root, "", "1.M1P1.h", "Message-ID: <d0>\n\nx\n");
	tl_deliver(w->root, "", "2.M1P1.h", "Message-ID: <d1>\n\nx\n");
	md_store_free(&s);
}

/* The operation as a child runs it: 0 when it succeeded. */
static int
run_op(const char *root, enum op op)
{
	struct md_copy_result r = {0};
	struct md_uids ex = {0};
	struct md_store *s;
	struct md_box *b;
	const struct md_msg *m;
	uint32_t *uids, n, i, uv, uid;
	int ret = 0;

	if (md_store_open(root, false, &s) < 0)
		return 1;
	if (op == OP_APPEND) {
		struct md_append *app;
		const char *kw[] = {"Later"};

		ret = md_append_begin(s, "INBOX", &app) < 0 ||
		      md_append_write(app, "Message-ID: <a0>\n\nz\n", 20) < 0 ||
		      md_append_commit(&app, MD_FLAG_FLAGGED, kw, 1, 0, &uv,
				       &uid) < 0;
		md_store_free(&s);
		return ret;
	}
	if (md_box_open(s, "INBOX", false, &b) < 0)
		return 1;
	m = md_box_messages(b, &n);
	uids = calloc(n + 1, sizeof(*uids));
	for (i = 0; i < n; i++)
		uids[i] = m[i].uid;
	switch (op) {
	case OP_FLAGS:
		ret = md_box_set_flags(b, uids, n, MD_FLAGS_ADD,
				       MD_FLAG_DELETED, 0);
		break;
	case OP_EXPUNGE:
		ret = md_box_expunge(b, uids, 4, &ex);
		break;
	case OP_MOVE_EXDEV:
		setenv("IMAPMOVED_FAKE_EXDEV", "1", 1);
		ret = md_move(b, uids, n, "Dst", &r);
		break;
	case OP_MOVE:
		ret = md_move(b, uids, n, "Dst", &r);
		break;
	case OP_COPY:
		ret = md_box_copy(b, uids, n, "Dst", &r);
		break;
	default:
		break;
	}
	free(uids);
	md_copy_result_free(&r);
	md_uids_free(&ex);
	md_box_free(&b);
	md_store_free(&s);
	return ret != 0;
}

static int
count_id(char ids[][64], int n, const char *id)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		c += strcmp(ids[i], id) == 0;
	return c;
}

/* After a crash: sync both boxes and check the invariants of op. */
static void
check_world(struct world *w, enum op op, const char *what)
{
	char src[MAXMSG][64], dst[MAXMSG][64];
	struct md_store *s;
	uint32_t uv_src, uv_dst;
	int ns, nd, i;

	assert_int_equal(md_store_open(w->root, false, &s), 0);
	/* The dead child's lock: its pid is gone, so break it at once. */
	md_store_set_lock(s, 0, 10);
	ns = tl_ids(s, "INBOX", src, MAXMSG, &uv_src);
	nd = tl_ids(s, "Dst", dst, MAXMSG, &uv_dst);
	if (ns < 0 || nd < 0)
		fail_msg("%s: cannot read the boxes", what);
	if (uv_src != w->uv_src || uv_dst != w->uv_dst)
		fail_msg("%s: UIDVALIDITY changed", what);
	for (i = 0; i < NBASE; i++) {
		int cs = count_id(src, ns, base_ids[i]);
		int cd = count_id(dst, nd, base_ids[i]);
		bool maybe_gone = op == OP_EXPUNGE && i < 4;

		if (op == OP_MOVE || op == OP_MOVE_EXDEV) {
			if (cs + cd != 1)
				fail_msg("%s: %s in src %d, dst %d", what,
					 base_ids[i], cs, cd);
		} else if (cs > 1 || (cs == 0 && !maybe_gone) ||
			   cd > (op == OP_COPY ? 1 : 0)) {
			fail_msg("%s: %s in src %d, dst %d", what, base_ids[i],
				 cs, cd);
		}
	}
	for (i = 0; i < ns; i++)
		if (src[i][1] == 'a' && count_id(src, ns, src[i]) > 1)
			fail_msg("%s: appended message %s twice", what, src[i]);
	/* Every file in cur/ has a UID after the sync. */
	if (tl_count(w->root, "cur") != ns ||
	    tl_count(w->root, ".Dst/cur") != nd)
		fail_msg("%s: files without UIDs", what);
	md_store_free(&s);
}

/* Run op in a child with the fault; returns the child's exit status. */
static int
crash_child(struct world *w, enum op op, const char *fault)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("IMAPMOVED_FAULT", fault, 1);
		_exit(run_op(w->root, op));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Every hit of every point: stop at the first k that is not reached. */
static void
each_fault(enum op op, const char *const *points)
{
	char fault[96];
	size_t p;
	int k, hits = 0;

	for (p = 0; points[p] != NULL; p++) {
		for (k = 1; k <= 12; k++) {
			struct world w;
			int rc;

			world_make(&w);
			(void)snprintf(fault, sizeof(fault), "%s:%d", points[p],
				       k);
			rc = crash_child(&w, op, fault);
			if (rc != 0 && rc != 99)
				fail_msg("%s: child exited %d", fault, rc);
			check_world(&w, op, fault);
			tl_rmrf(&w.root);
			if (rc == 0)
				break;
			hits++;
		}
		if (k == 1)
			fail_msg("fault point %s never reached", points[p]);
	}
	assert_true(hits > 0);
}

static void
append_crash_at_every_point_loses_nothing(void **state)
{
	static const char *const points[] = {
		"append.after-fsync",   "append.after-lock",
		"append.after-rename",  "append.after-list",
		"uidlist.after-write",  "uidlist.after-fsync",
		"uidlist.after-rename", NULL,
	};

	(void)state;
	each_fault(OP_APPEND, points);
}

static void
sync_crash_at_every_point_loses_nothing(void **state)
{
	static const char *const points[] = {
		"sync.after-new-rename",
		"uidlist.after-write",
		"uidlist.after-fsync",
		"uidlist.after-rename",
		NULL,
	};

	(void)state;
	each_fault(OP_SYNC, points);
}

static void
set_flags_crash_at_every_point_loses_nothing(void **state)
{
	static const char *const points[] = {"flags.after-rename", NULL};

	(void)state;
	each_fault(OP_FLAGS, points);
}

static void
expunge_crash_at_every_point_keeps_the_rest(void **state)
{
	static const char *const points[] = {
		"expunge.after-unlink",
		"expunge.after-fsync",
		"expunge.after-list",
		"uidlist.after-rename",
		NULL,
	};

	(void)state;
	each_fault(OP_EXPUNGE, points);
}

static void
move_crash_at_every_point_keeps_each_message_once(void **state)
{
	static const char *const points[] = {
		"move.after-rename",      "move.after-fsync",
		"move.after-target-list", "move.after-source-list",
		"uidlist.after-write",    "uidlist.after-fsync",
		"uidlist.after-rename",   NULL,
	};

	(void)state;
	each_fault(OP_MOVE, points);
}

static void
exdev_move_crash_at_every_point_keeps_each_message_once(void **state)
{
	static const char *const points[] = {
		"move.after-rename",
		"move.exdev-after-unlink",
		"move.after-fsync",
		"move.after-target-list",
		"move.after-source-list",
		"uidlist.after-rename",
		NULL,
	};

	(void)state;
	each_fault(OP_MOVE_EXDEV, points);
}

static void
copy_crash_at_every_point_keeps_the_source(void **state)
{
	static const char *const points[] = {
		"copy.after-link",
		"copy.after-list",
		"uidlist.after-rename",
		NULL,
	};

	(void)state;
	each_fault(OP_COPY, points);
}

/* A child moving everything back and forth, killed at random moments. */
static void
sigkill_during_moves_loses_nothing(void **state)
{
	unsigned seed = 4242;
	int round;

	(void)state;
	for (round = 0; round < 12; round++) {
		struct timespec ts;
		struct world w;
		int status;
		pid_t pid;

		world_make(&w);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			for (;;) {
				if (run_op(w.root, OP_MOVE) != 0)
					_exit(1);
				/* And back, via a store call on Dst. */
				{
					struct md_copy_result r = {0};
					struct md_store *s;
					struct md_box *b;
					const struct md_msg *m;
					uint32_t n, i, u[MAXMSG];

					if (md_store_open(w.root, false, &s) ||
					    md_box_open(s, "Dst", false, &b))
						_exit(1);
					m = md_box_messages(b, &n);
					for (i = 0; i < n; i++)
						u[i] = m[i].uid;
					if (md_move(b, u, n, "INBOX", &r) < 0)
						_exit(1);
					md_copy_result_free(&r);
					md_box_free(&b);
					md_store_free(&s);
				}
			}
		}
		seed = seed * 1103515245 + 12345;
		ts.tv_sec = 0;
		/* A random moment, not a synchronisation: 1-40 ms. */
		ts.tv_nsec = (long)(1 + (seed >> 8) % 40) * 1000000L;
		(void)nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
			fail_msg("round %d: mover exited by itself (%d)", round,
				 status);
		check_world(&w, OP_MOVE, "sigkill");
		tl_rmrf(&w.root);
	}
}

/* One round of append, flag changes and expunge of the appended message,
 * as a child runs it until killed. */
static void
mixed_round(const char *root, int round)
{
	struct md_uids ex = {0};
	struct md_store *s;
	struct md_box *b;
	const struct md_msg *m;
	uint32_t n, i, uid, u[MAXMSG];
	char body[64];

	if (md_store_open(root, false, &s) < 0)
		_exit(1);
	(void)snprintf(body, sizeof(body), "Message-ID: <a%d>\n\n", round);
	uid = tl_append(s, "INBOX", body, 0);
	if (uid == 0 || md_box_open(s, "INBOX", false, &b) < 0)
		_exit(1);
	m = md_box_messages(b, &n);
	for (i = 0; i < n; i++)
		u[i] = m[i].uid;
	if (md_box_set_flags(b, u, n,
			     round % 2 ? MD_FLAGS_ADD : MD_FLAGS_REMOVE,
			     MD_FLAG_SEEN | MD_FLAG_FLAGGED, 0) < 0 ||
	    (round % 3 != 0 && md_box_expunge(b, &uid, 1, &ex) < 0))
		_exit(1);
	md_uids_free(&ex);
	md_box_free(&b);
	md_store_free(&s);
}

/* Appends, flag changes and expunges, killed at random moments. */
static void
sigkill_during_append_flags_expunge_loses_nothing(void **state)
{
	unsigned seed = 777;
	int round;

	(void)state;
	for (round = 0; round < 12; round++) {
		char src[MAXMSG][64];
		struct md_store *s;
		struct timespec ts;
		struct world w;
		int status, ns, i;
		pid_t pid;

		world_make(&w);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			for (i = 0;; i++)
				mixed_round(w.root, i);
		}
		seed = seed * 1103515245 + 12345;
		ts.tv_sec = 0;
		/* A random moment, not a synchronisation: 1-40 ms. */
		ts.tv_nsec = (long)(1 + (seed >> 8) % 40) * 1000000L;
		(void)nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
			fail_msg("round %d: child exited by itself (%d)", round,
				 status);
		check_world(&w, OP_FLAGS, "sigkill mixed");
		assert_int_equal(md_store_open(w.root, false, &s), 0);
		ns = tl_ids(s, "INBOX", src, MAXMSG, NULL);
		assert_true(ns >= NBASE);
		for (i = 0; i < ns; i++)
			if (count_id(src, ns, src[i]) != 1)
				fail_msg("round %d: %s twice", round, src[i]);
		md_store_free(&s);
		tl_rmrf(&w.root);
	}
}

/* Near issue 5's scale: a MOVE of 500 messages killed after the k-th
 * rename for k across the whole batch, and between the list writes. */
static void
large_move_crash_keeps_every_message_once(void **state)
{
	enum { BIG = 500 };
	static char in[BIG][64], out[BIG][64];
	static const char *const faults[] = {
		"move.after-rename:1",
		"move.after-rename:250",
		"move.after-rename:500",
		"move.after-target-list",
	};
	size_t f;

	(void)state;
	for (f = 0; f < sizeof(faults) / sizeof(faults[0]); f++) {
		char name[64], body[64], *root = tl_tmpdir();
		static unsigned char seen[BIG];
		struct md_store *s;
		uint32_t uv_src, uv_dst, uv1, uv2;
		int i, ni, no, status;
		pid_t pid;

		assert_int_equal(md_store_open(root, true, &s), 0);
		assert_int_equal(md_box_create(s, "Dst"), 0);
		for (i = 0; i < BIG; i++) {
			(void)snprintf(name, sizeof(name),
				       "cur/%d.M%dP1.big:2,S", 1000 + i, i);
			(void)snprintf(body, sizeof(body),
				       "Message-ID: <%d>\n\n", i);
			tl_write(root, name, body);
		}
		assert_int_equal(tl_ids(s, "INBOX", in, BIG, &uv_src), BIG);
		assert_int_equal(tl_ids(s, "Dst", out, BIG, &uv_dst), 0);
		md_store_free(&s);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			setenv("IMAPMOVED_FAULT", faults[f], 1);
			_exit(run_op(root, OP_MOVE));
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 99)
			fail_msg("%s: child status %d", faults[f], status);
		assert_int_equal(md_store_open(root, false, &s), 0);
		md_store_set_lock(s, 0, 10);
		ni = tl_ids(s, "INBOX", in, BIG, &uv1);
		no = tl_ids(s, "Dst", out, BIG, &uv2);
		if (ni < 0 || no < 0 || ni + no != BIG || uv1 != uv_src ||
		    uv2 != uv_dst)
			fail_msg("%s: %d + %d messages", faults[f], ni, no);
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < ni + no; i++) {
			const char *id = i < ni ? in[i] : out[i - ni];
			uint64_t n;

			if (num_parse_str_u64(id + 1, BIG - 1, &n) < 0 ||
			    seen[n]++)
				fail_msg("%s: %s twice or bad", faults[f], id);
		}
		if (tl_count(root, "cur") != ni ||
		    tl_count(root, ".Dst/cur") != no)
			fail_msg("%s: files without UIDs", faults[f]);
		md_store_free(&s);
		tl_rmrf(&root);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(append_crash_at_every_point_loses_nothing),
		cmocka_unit_test(sync_crash_at_every_point_loses_nothing),
		cmocka_unit_test(set_flags_crash_at_every_point_loses_nothing),
		cmocka_unit_test(expunge_crash_at_every_point_keeps_the_rest),
		cmocka_unit_test(
			move_crash_at_every_point_keeps_each_message_once),
		cmocka_unit_test(
			exdev_move_crash_at_every_point_keeps_each_message_once),
		cmocka_unit_test(copy_crash_at_every_point_keeps_the_source),
		cmocka_unit_test(large_move_crash_keeps_every_message_once),
		cmocka_unit_test(sigkill_during_moves_loses_nothing),
		cmocka_unit_test(
			sigkill_during_append_flags_expunge_loses_nothing),
	};

#ifndef IMAPMOVED_FAULTS
	return 0; /* the fault points exist only in fault builds */
#endif
	return cmocka_run_group_tests(tests, NULL, NULL);
}
