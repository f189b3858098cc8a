/* Unit tests for server/session.c: one session over a socketpair in a
 * forked child, driven like a client: greeting, login through the passwd
 * file, pipelined commands, autologout, SIGTERM and a vanished client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "server/server.h"

static char dir[] = "/tmp/test-serve-XXXXXX";
static char passwd_path[64];
static char home_path[64];

static int
setup(void **state)
{
	FILE *f;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	(void)snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", dir);
	/* The home exists, belongs to the mail user (when run as root), and
	 * has no Maildir yet: the first login creates it. */
	(void)snprintf(home_path, sizeof(home_path), "%s/kim", dir);
	if (chmod(dir, 0711) < 0 || mkdir(home_path, 0700) < 0 ||
	    (geteuid() == 0 && chown(home_path, 4001, 4001) < 0))
		return -1;
	f = fopen(passwd_path, "w");
	if (f == NULL || fprintf(f, "kim:{PLAIN}pa55:4001:4001::%s::\n",
				 home_path) < 0 ||
	    fclose(f) != 0)
		return -1;
	log_open("test-serve", true, LOG_LEVEL_ERROR);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct child {
	pid_t pid;
	int fd; /* our end of the socketpair */
	char in[8192];
	size_t len;
};

/* Start session_run() in a child on a socketpair. */
static void
start(struct child *c, unsigned login_timeout)
{
	struct server_config cfg;
	struct session_params p;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(c, 0, sizeof(*c));
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		(void)close(sv[0]);
		config_init(&cfg);
		free(cfg.passwd_file);
		cfg.passwd_file = strdup(passwd_path);
		cfg.auth_failure_delay = 0;
		cfg.login_timeout = login_timeout;
		memset(&p, 0, sizeof(p));
		p.cfg = &cfg;
		p.fd_in = sv[1];
		p.fd_out = sv[1];
		p.session_id = "t.1";
		p.peer = "local";
		p.is_local = true;
		_exit(session_run(&p));
	}
	(void)close(sv[1]);
	c->fd = sv[0];
}

/* Read until want appears (or EOF / 10 s pass). Returns true when seen. */
static bool
read_until(struct child *c, const char *want)
{
	struct pollfd pfd = {c->fd, POLLIN, 0};
	ssize_t n;

	while (strstr(c->in, want) == NULL) {
		if (c->len + 1 >= sizeof(c->in) || poll(&pfd, 1, 10000) <= 0)
			return false;
		n = read(c->fd, c->in + c->len, sizeof(c->in) - 1 - c->len);
		if (n <= 0)
			return false;
		c->len += (size_t)n;
		c->in[c->len] = '\0';
	}
	return true;
}

static void
send_str(struct child *c, const char *s)
{
	assert_int_equal(write(c->fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Wait for the child; returns its exit status, or -signal. */
static int
finish(struct child *c)
{
	int status;

	(void)close(c->fd);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

static void
greeting_then_pipelined_commands_answered_in_order(void **state)
{
	struct child c;

	(void)state;
	start(&c, 60);
	assert_true(read_until(&c, "imapmoved ready.\r\n"));
	assert_true(strncmp(c.in, "* OK [CAPABILITY ", 17) == 0);
	send_str(&c, "a NOOP\r\nb CAPABILITY\r\nc LOGOUT\r\n");
	assert_true(read_until(&c, "c OK"));
	assert_true(strstr(c.in, "a OK") < strstr(c.in, "b OK"));
	assert_non_null(strstr(c.in, "* BYE"));
	assert_int_equal(finish(&c), 0);
}

static void
login_with_passwd_file_succeeds(void **state)
{
	struct child c;

	(void)state;
	if (geteuid() != 0)
		skip(); /* the user's uid 4001 needs root to switch to */
	start(&c, 60);
	assert_true(read_until(&c, "ready.\r\n"));
	send_str(&c, "a LOGIN kim wrong\r\nb LOGIN kim pa55\r\nc LOGOUT\r\n");
	assert_true(read_until(&c, "c OK"));
	assert_non_null(strstr(c.in, "a NO"));
	assert_non_null(strstr(c.in, "b OK"));
	assert_int_equal(finish(&c), 0);
}

static void
silent_client_is_logged_out(void **state)
{
	struct child c;

	(void)state;
	start(&c, 1);
	assert_true(read_until(&c, "ready.\r\n"));
	/* Waits on a condition (the BYE) with read_until's deadline. */
	assert_true(read_until(&c, "* BYE"));
	assert_int_equal(finish(&c), 0);
}

static void
sigterm_sends_bye_and_ends_the_session(void **state)
{
	struct child c;

	(void)state;
	start(&c, 60);
	assert_true(read_until(&c, "ready.\r\n"));
	assert_int_equal(kill(c.pid, SIGTERM), 0);
	assert_true(read_until(&c, "* BYE"));
	assert_int_equal(finish(&c), 0);
}

static void
vanished_client_ends_the_session_quietly(void **state)
{
	struct child c;

	(void)state;
	start(&c, 60);
	/* Commands then hang-up without reading: the session's replies hit
	 * a closed socket, which must end it without SIGPIPE. */
	send_str(&c, "a NOOP\r\nb NOOP\r\n");
	assert_int_equal(shutdown(c.fd, SHUT_RDWR), 0);
	assert_int_equal(finish(&c), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			greeting_then_pipelined_commands_answered_in_order),
		cmocka_unit_test(login_with_passwd_file_succeeds),
		cmocka_unit_test(silent_client_is_logged_out),
		cmocka_unit_test(sigterm_sends_bye_and_ends_the_session),
		cmocka_unit_test(vanished_client_ends_the_session_quietly),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
