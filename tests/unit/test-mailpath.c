/* Unit tests for server/mailpath.c: the maildir template's escapes and
 * the refusal of paths a user name could bend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/server.h"

static void
escapes_expand(void **state)
{
	static const struct {
		const char *tmpl;
		const char *user;
		const char *home;
		const char *want;
	} cases[] = {
		{"%h/Maildir", "alice", "/home/alice", "/home/alice/Maildir"},
		{"/var/mail/%u", "alice", NULL, "/var/mail/alice"},
		{"/var/mail/%d/%n", "bob@example.org", NULL,
		 "/var/mail/example.org/bob"},
		{"/var/mail/%d%n/x", "bob", NULL, "/var/mail/bob/x"},
		{"/var/mail/%n.%d", "bob", NULL, "/var/mail/bob."},
		{"//var/mail/%u", "bob", NULL, "//var/mail/bob"},
		{"/m/%u/100%%", "a@b@c", NULL, "/m/a@b@c/100%"},
		{"/m/%n.%d", "x@y", "/h", "/m/x.y"},
		{"%h", "u", "/srv/u", "/srv/u"},
		{"/plain", "u", NULL, "/plain"},
	};
	const char *why;
	char *path;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		path = NULL;
		if (mailpath_expand(cases[i].tmpl, cases[i].user, cases[i].home,
				    &path, &why) != 0)
			fail_msg("%s for %s: %s", cases[i].tmpl, cases[i].user,
				 why);
		if (strcmp(path, cases[i].want) != 0)
			fail_msg("%s for %s: got %s", cases[i].tmpl,
				 cases[i].user, path);
		free(path);
	}
}

#define EMPTY "the user name leaves an empty, \".\" or \"..\" path component"

static void
unsafe_or_incomplete_expansions_fail(void **state)
{
	static const struct {
		const char *tmpl;
		const char *user;
		const char *home;
		const char *why;
	} cases[] = {
		{"/var/mail/%u", "..", NULL,
		 "the user name is unsafe in a path"},
		{"/var/mail/%u", ".", NULL,
		 "the user name is unsafe in a path"},
		{"/var/mail/%u", "a/../../etc", NULL,
		 "the user name is unsafe in a path"},
		{"/var/mail/%d/%n", "x@..", NULL,
		 "the user name is unsafe in a path"},
		{"/var/mail/%n", "../x@y", NULL,
		 "the user name is unsafe in a path"},
		{"/var/mail/%d/%n", "@", NULL, EMPTY},
		{"/var/mail/%d/%n", "bob", NULL, EMPTY},
		{"/var/mail/%n/%d", "bob", NULL, EMPTY},
		{"/var/mail/%d.%n", "@", NULL, EMPTY},
		{"/var/mail/%n.%d/x", "@", NULL, EMPTY},
		{"/var/mail/%d/x", "a@", NULL, EMPTY},
		{"%h/Maildir", "a", NULL,
		 "the template uses %h but the user has no home"},
		{"%h/Maildir", "a", "",
		 "the template uses %h but the user has no home"},
		{"%u/Maildir", "a", NULL, "the expanded path is not absolute"},
		{"/m/%q", "a", NULL,
		 "unknown escape (use %u, %n, %d, %h or %%)"},
		{"/m/%", "a", NULL,
		 "'%' at the end (write %% for a percent sign)"},
	};
	const char *why;
	char *path;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		path = NULL;
		if (mailpath_expand(cases[i].tmpl, cases[i].user, cases[i].home,
				    &path, &why) != -1)
			fail_msg("%s for %s: accepted as %s", cases[i].tmpl,
				 cases[i].user, path);
		assert_null(path);
		if (strcmp(why, cases[i].why) != 0)
			fail_msg("%s for %s: got \"%s\"", cases[i].tmpl,
				 cases[i].user, why);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escapes_expand),
		cmocka_unit_test(unsafe_or_incomplete_expansions_fail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
