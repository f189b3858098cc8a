/* Unit tests for lib/log.c: the stderr line format, and the sd-daemon
 * "<N>" priority prefix on a stderr that is systemd's journal stream
 * (JOURNAL_STREAM naming stderr) and on no other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/log.h"

enum journal_env {
	ENV_UNSET,     /* no JOURNAL_STREAM */
	ENV_STDERR,    /* JOURNAL_STREAM names the pipe stderr now is */
	ENV_ELSEWHERE, /* it names another stream */
};

/* Log one line per level with stderr on a pipe and JOURNAL_STREAM set as
 * env says; return what came out (caller frees). */
static char *
capture(enum journal_env env)
{
	char *out = calloc(1, 4096), val[64];
	int fds[2], saved;
	struct stat st;
	ssize_t n;

	assert_non_null(out);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(fflush(stderr), 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
	assert_int_equal(fstat(env == ENV_STDERR ? fds[1] : saved, &st), 0);
	(void)snprintf(val, sizeof(val), "%ju:%ju", (uintmax_t)st.st_dev,
		       (uintmax_t)st.st_ino);
	if (env == ENV_UNSET)
		assert_int_equal(unsetenv("JOURNAL_STREAM"), 0);
	else
		assert_int_equal(setenv("JOURNAL_STREAM", val, 1), 0);
	log_open("t", true, LOG_LEVEL_DEBUG);
	log_set_session(NULL);
	log_error("e %d", 1);
	log_warn("w");
	log_info("i");
	log_debug("d");
	assert_int_equal(fflush(stderr), 0);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	(void)close(saved);
	(void)close(fds[1]);
	n = read(fds[0], out, 4095);
	assert_true(n > 0);
	(void)close(fds[0]);
	(void)unsetenv("JOURNAL_STREAM");
	log_open("t", true, LOG_LEVEL_ERROR);
	return out;
}

static void
journal_stream_lines_carry_priorities(void **state)
{
	static const char *const journal[] = {"<3>", "<4>", "<6>", "<7>"};
	static const char *const plain[] = {"", "", "", ""};
	static const struct {
		const char *name;
		enum journal_env env;
		const char *const *prefix;
	} cases[] = {
		{"journal", ENV_STDERR, journal},
		{"unset", ENV_UNSET, plain},
		{"another_stream", ENV_ELSEWHERE, plain},
	};
	const char *const *p;
	char want[512], *got;
	long pid = (long)getpid();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = cases[i].prefix;
		(void)snprintf(want, sizeof(want),
			       "%st[%ld]: error: e 1\n%st[%ld]: warn: w\n"
			       "%st[%ld]: info: i\n%st[%ld]: debug: d\n",
			       p[0], pid, p[1], pid, p[2], pid, p[3], pid);
		got = capture(cases[i].env);
		if (strcmp(got, want) != 0)
			fail_msg("%s: got \"%s\"", cases[i].name, got);
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(journal_stream_lines_carry_priorities),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
