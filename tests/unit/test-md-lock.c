/* Unit tests for the dot-lock: acquisition, exclusion (another holder makes
 * us time out), stale locks of dead owners broken only after the
 * configured age, foreign-host locks kept, and cross-process exclusion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "maildir/maildir-private.h"
#include "tests/unit/md-testlib.h"

struct fx {
	char *root;
	int fd;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->root = tl_tmpdir();
	fx->fd = open(fx->root, O_RDONLY | O_DIRECTORY);
	*state = fx;
	return fx->fd < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	(void)close(fx->fd);
	tl_rmrf(&fx->root);
	free(fx);
	return 0;
}

/* A pid that is certainly not running: a reaped child's. */
static pid_t
dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static void
write_lock(struct fx *fx, long pid, const char *host, time_t age)
{
	char body[300], hostname[256];
	char path[4096];
	struct timespec ts[2];

	if (host == NULL) {
		assert_int_equal(gethostname(hostname, sizeof(hostname)), 0);
		host = hostname;
	}
	(void)snprintf(body, sizeof(body), "%ld %s\n", pid, host);
	tl_write(fx->root, "x.lock", body);
	(void)clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age;
	ts[1] = ts[0];
	(void)snprintf(path, sizeof(path), "%s/x.lock", fx->root);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void
take_and_release(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(md_lock_take(fx->fd, "x.lock", 60, 1), 1);
	assert_int_equal(tl_count(fx->root, "."), 1); /* no temp file left */
	assert_int_equal(faccessat(fx->fd, "x.lock", F_OK, 0), 0);
	md_lock_release(fx->fd, "x.lock");
	assert_int_equal(tl_count(fx->root, "."), 0);
}

static void
held_lock_times_out(void **state)
{
	struct fx *fx = *state;

	/* Held by this (live) process: never stale. */
	write_lock(fx, (long)getpid(), NULL, 3600);
	assert_int_equal(md_lock_take(fx->fd, "x.lock", 0, 0), 0);
	assert_int_equal(tl_count(fx->root, "."), 1);
}

static void
stale_lock_of_dead_owner_broken_after_age(void **state)
{
	struct fx *fx = *state;
	pid_t dead = dead_pid();

	write_lock(fx, (long)dead, NULL, 10);
	/* Younger than the stale age: kept. */
	assert_int_equal(md_lock_take(fx->fd, "x.lock", 60, 0), 0);
	/* Old enough and its owner is gone: broken, and taken. */
	assert_int_equal(md_lock_take(fx->fd, "x.lock", 5, 0), 1);
	md_lock_release(fx->fd, "x.lock");
}

static void
foreign_host_lock_kept_until_long_age(void **state)
{
	struct fx *fx = *state;

	write_lock(fx, 1, "elsewhere.example", 120);
	assert_int_equal(md_lock_take(fx->fd, "x.lock", 5, 0), 0);
	write_lock(fx, 1, "elsewhere.example", 700);
	assert_int_equal(md_lock_take(fx->fd, "x.lock", 5, 0), 1);
	md_lock_release(fx->fd, "x.lock");
}

static void
garbage_lock_treated_as_foreign(void **state)
{
	struct fx *fx = *state;

	tl_write(fx->root, "x.lock", "garbage");
	assert_int_equal(md_lock_take(fx->fd, "x.lock", 0, 0), 0);
}

/* Children increment a counter file under the lock; lost updates would
 * show a lock that did not exclude. */
static void
lock_excludes_other_processes(void **state)
{
	struct fx *fx = *state;
	enum { KIDS = 4, ROUNDS = 50 };
	char buf[32];
	int i, status;

	tl_write(fx->root, "counter", "0");
	for (i = 0; i < KIDS; i++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			int r;

			for (r = 0; r < ROUNDS; r++) {
				int cfd;
				ssize_t n;
				long v;

				if (md_lock_take(fx->fd, "x.lock", 60, 30) != 1)
					_exit(1);
				cfd = openat(fx->fd, "counter", O_RDWR);
				n = read(cfd, buf, sizeof(buf) - 1);
				buf[n > 0 ? n : 0] = '\0';
				v = strtol(buf, NULL, 10) + 1;
				n = snprintf(buf, sizeof(buf), "%ld", v);
				if (pwrite(cfd, buf, (size_t)n, 0) != n)
					_exit(1);
				(void)close(cfd);
				md_lock_release(fx->fd, "x.lock");
			}
			_exit(0);
		}
	}
	for (i = 0; i < KIDS; i++) {
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	{
		int cfd = openat(fx->fd, "counter", O_RDONLY);
		ssize_t n = read(cfd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = '\0';
		(void)close(cfd);
	}
	assert_int_equal(strtol(buf, NULL, 10), KIDS * ROUNDS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(take_and_release),
		T(held_lock_times_out),
		T(stale_lock_of_dead_owner_broken_after_age),
		T(foreign_host_lock_kept_until_long_age),
		T(garbage_lock_treated_as_foreign),
		T(lock_excludes_other_processes),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
