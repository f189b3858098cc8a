/* Unit tests for server/auth.c and server/privdrop.c: the failure delay,
 * the same answer for unknown users and wrong passwords, the uid/gid/home
 * fallbacks, and the privilege drop (checked in a forked child, since it
 * cannot be undone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "server/server.h"

static char dir[] = "/tmp/test-auth-XXXXXX";
static char passwd_path[64];

static int
setup(void **state)
{
	static const char users[] =
		"alice:{PLAIN}wonderland:4001:4002::/home/alice::\n"
		"bob:{PLAIN}builder::::::\n"
		"eve:{PLAIN}root:0:0::/root::\n"
		"gil:{PLAIN}wheel:4003:0::/home/gil::\n";
	FILE *f;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	(void)snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", dir);
	f = fopen(passwd_path, "w");
	if (f == NULL || fputs(users, f) < 0 || fclose(f) != 0)
		return -1;
	log_open("test-auth", true, LOG_LEVEL_ERROR);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return unlink(passwd_path) == 0 && rmdir(dir) == 0 ? 0 : -1;
}

static void
config_for_test(struct server_config *c)
{
	config_init(c);
	free(c->passwd_file);
	c->passwd_file = strdup(passwd_path);
	free(c->maildir);
	c->maildir = strdup("%h/Maildir");
	c->auth_failure_delay = 0;
}

static void
failure_delay_doubles_up_to_the_cap(void **state)
{
	static const unsigned cases[][3] = {
		/* base, n, delay */
		{2, 1, 2},  {2, 2, 4},    {2, 3, 8},   {2, 4, 16},
		{2, 5, 30}, {2, 100, 30}, {0, 1, 0},   {0, 9, 0},
		{1, 1, 1},  {30, 1, 30},  {30, 2, 30}, {7, 3, 28},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (auth_failure_delay(cases[i][0], cases[i][1]) != cases[i][2])
			fail_msg("base %u n %u: got %u", cases[i][0],
				 cases[i][1],
				 auth_failure_delay(cases[i][0], cases[i][1]));
	}
}

static unsigned delays[8];
static size_t n_delays;

static void
record_delay(unsigned secs, volatile sig_atomic_t *stop)
{
	(void)stop;
	assert_true(n_delays < sizeof(delays) / sizeof(delays[0]));
	delays[n_delays++] = secs;
}

/* auth_login() sleeps auth_failure_delay(base, n) after the n-th failed
 * login of a session, whatever failed (unknown user, wrong password), and
 * nothing at all with auth_failure_delay = 0. */
static void
failed_logins_wait_longer_each_time(void **state)
{
	static const struct {
		unsigned base;
		unsigned want[6];
	} cases[] = {
		{2, {2, 4, 8, 16, 30, 30}},
		{1, {1, 2, 4, 8, 16, 30}},
		{0, {0, 0, 0, 0, 0, 0}},
	};
	struct server_config c;
	struct auth_state st;
	char *maildir = NULL, *user = NULL;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_for_test(&c);
		c.auth_failure_delay = cases[i].base;
		memset(&st, 0, sizeof(st));
		st.cfg = &c;
		st.delay = record_delay;
		n_delays = 0;
		for (k = 0; k < 6; k++)
			assert_int_equal(auth_login(&st, NULL,
						    k % 2 ? "alice" : "mallory",
						    "nope", &maildir, &user),
					 AUTH_OUTCOME_FAIL);
		assert_int_equal(n_delays, 6);
		for (k = 0; k < 6; k++) {
			if (delays[k] != cases[i].want[k])
				fail_msg("base %u, failure %zu: slept %u, "
					 "want %u",
					 cases[i].base, k + 1, delays[k],
					 cases[i].want[k]);
		}
		config_free(&c);
	}
}

static void
unknown_user_and_wrong_password_fail_alike(void **state)
{
	struct server_config c;
	struct auth_state st;
	char *maildir = NULL, *user = NULL;

	(void)state;
	config_for_test(&c);
	memset(&st, 0, sizeof(st));
	st.cfg = &c;
	assert_int_equal(auth_login(&st, NULL, "mallory", "x", &maildir, &user),
			 AUTH_OUTCOME_FAIL);
	assert_int_equal(
		auth_login(&st, NULL, "alice", "Wonderland", &maildir, &user),
		AUTH_OUTCOME_FAIL);
	assert_int_equal(
		auth_login(&st, "bob", "alice", "wonderland", &maildir, &user),
		AUTH_OUTCOME_FAIL);
	assert_int_equal(st.failures, 3);
	assert_null(maildir);
	assert_null(user);
	config_free(&c);
}

static void
missing_passwd_file_is_a_temporary_failure(void **state)
{
	struct server_config c;
	struct auth_state st;
	char *maildir = NULL, *user = NULL;

	(void)state;
	config_for_test(&c);
	free(c.passwd_file);
	c.passwd_file = strdup("/nonexistent/passwd");
	memset(&st, 0, sizeof(st));
	st.cfg = &c;
	assert_int_equal(
		auth_login(&st, NULL, "alice", "wonderland", &maildir, &user),
		AUTH_OUTCOME_TEMPFAIL);
	assert_int_equal(st.failures, 0);
	config_free(&c);
}

/* Run auth_login in a child (a success drops privileges for good) and
 * report through the exit status: 0 when the outcome, uid, gid and
 * maildir are as expected. */
static int
login_in_child(struct server_config *c, const char *user, const char *pass,
	       enum auth_outcome want, uid_t want_uid, gid_t want_gid,
	       const char *want_maildir)
{
	struct auth_state st = {c, 0, NULL, NULL};
	char *maildir = NULL, *canon = NULL;
	enum auth_outcome r;
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		r = auth_login(&st, NULL, user, pass, &maildir, &canon);
		if (r != want)
			_exit(10 + (int)r);
		if (r != AUTH_OUTCOME_OK)
			_exit(0);
		if (getuid() != want_uid || getgid() != want_gid)
			_exit(20);
		if (strcmp(maildir, want_maildir) != 0 ||
		    strcmp(canon, user) != 0)
			_exit(21);
		if (geteuid() != 0 && setuid(0) == 0)
			_exit(22);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
root_login_drops_to_the_users_ids(void **state)
{
	struct server_config c;

	(void)state;
	if (geteuid() != 0)
		skip();
	config_for_test(&c);
	assert_int_equal(login_in_child(&c, "alice", "wonderland",
					AUTH_OUTCOME_OK, 4001, 4002,
					"/home/alice/Maildir"),
			 0);
	config_free(&c);
}

static void
empty_fields_fall_back_to_config_defaults(void **state)
{
	struct server_config c;

	(void)state;
	if (geteuid() != 0)
		skip();
	config_for_test(&c);
	/* Without defaults bob cannot be served: a temporary failure. */
	assert_int_equal(login_in_child(&c, "bob", "builder",
					AUTH_OUTCOME_TEMPFAIL, 0, 0, NULL),
			 0);
	c.has_default_uid = true;
	c.default_uid = 5000;
	c.has_default_gid = true;
	c.default_gid = 5001;
	c.default_home = strdup("/srv/vmail/%u");
	assert_int_equal(login_in_child(&c, "bob", "builder", AUTH_OUTCOME_OK,
					5000, 5001, "/srv/vmail/bob/Maildir"),
			 0);
	config_free(&c);
}

/* Root or not, a passwd line with uid 0 or gid 0 is refused like a wrong
 * password, never with an internal error that would tell it apart. */
static void
uid_zero_account_fails_like_a_wrong_password(void **state)
{
	struct server_config c;

	(void)state;
	config_for_test(&c);
	assert_int_equal(login_in_child(&c, "eve", "root", AUTH_OUTCOME_FAIL, 0,
					0, NULL),
			 0);
	assert_int_equal(login_in_child(&c, "gil", "wheel", AUTH_OUTCOME_FAIL,
					0, 0, NULL),
			 0);
	config_free(&c);
}

static void
privdrop_as_non_root_changes_nothing(void **state)
{
	uid_t before;
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Become an ordinary user first when we can. */
		if (geteuid() == 0 && privdrop(65534, 65534) < 0)
			_exit(1);
		before = geteuid();
		if (privdrop(4001, 4001) != 0)
			_exit(2);
		_exit(getuid() == before && geteuid() == before ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(failure_delay_doubles_up_to_the_cap),
		cmocka_unit_test(failed_logins_wait_longer_each_time),
		cmocka_unit_test(unknown_user_and_wrong_password_fail_alike),
		cmocka_unit_test(missing_passwd_file_is_a_temporary_failure),
		cmocka_unit_test(root_login_drops_to_the_users_ids),
		cmocka_unit_test(empty_fields_fall_back_to_config_defaults),
		cmocka_unit_test(uid_zero_account_fails_like_a_wrong_password),
		cmocka_unit_test(privdrop_as_non_root_changes_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
