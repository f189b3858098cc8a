/* Unit tests for server/limits.c: the listener's table of children, per-IP
 * counting (IPv4-mapped IPv6 counted as IPv4, ports ignored) and removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "server/server.h"

static void
add(struct conn_table *t, pid_t pid, const char *spec)
{
	struct server_addr a[2];
	const char *why;

	assert_int_equal(server_addr_parse(spec, a, &why), 1);
	conn_table_add(t, pid, (struct sockaddr *)&a[0].ss, a[0].len);
}

static size_t
count_ip(const struct conn_table *t, const char *spec)
{
	struct server_addr a[2];
	const char *why;

	assert_int_equal(server_addr_parse(spec, a, &why), 1);
	return conn_table_count_ip(t, (struct sockaddr *)&a[0].ss, a[0].len);
}

static void
same_ip_counts_across_ports_and_mapping(void **state)
{
	struct conn_table *t = conn_table_new();

	(void)state;
	add(t, 101, "192.0.2.1:5000");
	add(t, 102, "192.0.2.1:5001");
	add(t, 103, "[::ffff:192.0.2.1]:5002");
	add(t, 104, "192.0.2.2:5000");
	add(t, 105, "[2001:db8::1]:6000");
	assert_int_equal(conn_table_count(t), 5);
	assert_int_equal(count_ip(t, "192.0.2.1:1"), 3);
	assert_int_equal(count_ip(t, "[::ffff:192.0.2.1]:1"), 3);
	assert_int_equal(count_ip(t, "192.0.2.2:1"), 1);
	assert_int_equal(count_ip(t, "[2001:db8::1]:1"), 1);
	assert_int_equal(count_ip(t, "[2001:db8::2]:1"), 0);
	assert_int_equal(count_ip(t, "198.51.100.1:1"), 0);
	conn_table_free(&t);
	assert_null(t);
	conn_table_free(&t);
}

static void
removed_children_no_longer_count(void **state)
{
	struct conn_table *t = conn_table_new();
	pid_t pid;

	(void)state;
	for (pid = 1; pid <= 200; pid++)
		add(t, pid, "192.0.2.7:1000");
	assert_int_equal(count_ip(t, "192.0.2.7:1"), 200);
	assert_true(conn_table_remove(t, 50));
	assert_false(conn_table_remove(t, 50));
	assert_false(conn_table_remove(t, 999));
	for (pid = 1; pid <= 200; pid += 2)
		(void)conn_table_remove(t, pid);
	assert_int_equal(conn_table_count(t), 99);
	assert_int_equal(count_ip(t, "192.0.2.7:1"), 99);
	conn_table_free(&t);
}

static void
local_peers_are_not_limited_per_address(void **state)
{
	struct conn_table *t = conn_table_new();
	struct sockaddr_un un;

	(void)state;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	conn_table_add(t, 1, (struct sockaddr *)&un, sizeof(sa_family_t));
	conn_table_add(t, 2, (struct sockaddr *)&un, sizeof(sa_family_t));
	assert_int_equal(conn_table_count(t), 2);
	assert_int_equal(conn_table_count_ip(t, (struct sockaddr *)&un,
					     sizeof(sa_family_t)),
			 0);
	conn_table_free(&t);
}

/* A child that will not end (here: one never signalled, standing for one
 * stuck in the kernel past SIGKILL) does not keep conn_table_wait() from
 * returning; children that end, or are no child of ours, leave the table. */
static void
wait_gives_up_on_survivors_and_reaps_the_rest(void **state)
{
	struct conn_table *t = conn_table_new();
	int fds[2];
	char c;
	pid_t stuck, done;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	stuck = fork();
	assert_true(stuck >= 0);
	if (stuck == 0) {
		/* Blocks until the parent closes the write end. */
		(void)close(fds[1]);
		_exit(read(fds[0], &c, 1) == 0 ? 0 : 1);
	}
	(void)close(fds[0]);
	done = fork();
	assert_true(done >= 0);
	if (done == 0)
		_exit(0);
	add(t, stuck, "127.0.0.1:1");
	add(t, done, "127.0.0.1:2");
	add(t, 1, "127.0.0.1:3"); /* init: running, but not our child */
	assert_int_equal(conn_table_wait(t, 200), 1);
	assert_int_equal(conn_table_count(t), 1);
	/* Let it end: now it is reaped well before the deadline. */
	assert_int_equal(close(fds[1]), 0);
	assert_int_equal(conn_table_wait(t, 20000), 0);
	assert_int_equal(conn_table_count(t), 0);
	assert_int_equal(kill(stuck, 0), -1);
	conn_table_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_ip_counts_across_ports_and_mapping),
		cmocka_unit_test(removed_children_no_longer_count),
		cmocka_unit_test(local_peers_are_not_limited_per_address),
		cmocka_unit_test(wait_gives_up_on_survivors_and_reaps_the_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
