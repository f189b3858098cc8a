/* Unit tests for server/passwd.c: each password scheme with hashes made at
 * test time by libcrypt, wrong passwords, unknown users, malformed lines
 * and the uid/gid/home fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <crypt.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "server/server.h"

/* A fresh crypt(3) hash of pass with the method named by prefix. */
static char *
make_hash(const char *prefix, const char *pass)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	const char *out;

	/* Cheapest cost for speed: 0 means the method's default, and for
	 * bcrypt the minimum of 4 keeps the test fast. */
	assert_non_null(crypt_gensalt_rn(prefix,
					 strncmp(prefix, "$2", 2) == 0 ? 4 : 0,
					 NULL, 0, salt, sizeof(salt)));
	memset(&cd, 0, sizeof(cd));
	out = crypt_rn(pass, salt, &cd, sizeof(cd));
	assert_non_null(out);
	assert_true(out[0] != '*');
	return strdup(out);
}

static struct passwd_file *
parse_ok(const char *text)
{
	struct passwd_file *pf = NULL;
	char err[256];

	if (passwd_parse("users", text, strlen(text), &pf, err, sizeof(err)) <
	    0)
		fail_msg("rejected: %s", err);
	return pf;
}

static void
each_scheme_accepts_right_and_refuses_wrong(void **state)
{
	static const struct {
		const char *name;
		const char *scheme; /* "{X}" or "" for a bare hash */
		const char *prefix; /* crypt method, or NULL for plain */
	} cases[] = {
		{"SHA512-CRYPT", "{SHA512-CRYPT}", "$6$"},
		{"SHA256-CRYPT", "{SHA256-CRYPT}", "$5$"},
		{"BLF-CRYPT 2y", "{BLF-CRYPT}", "$2y$"},
		{"BLF-CRYPT 2b", "{blf-crypt}", "$2b$"},
		{"CRYPT yescrypt", "{CRYPT}", "$y$"},
		{"bare $6$", "", "$6$"},
		{"bare $5$", "", "$5$"},
		{"bare $y$", "", "$y$"},
		{"bare $2b$", "", "$2b$"},
		{"PLAIN", "{PLAIN}", NULL},
		{"CLEARTEXT", "{CLEARTEXT}", NULL},
	};
	const char *pass = "correct horse battery!";
	const struct passwd_entry *e;
	struct passwd_file *pf;
	struct buf text;
	char *hash;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hash = cases[i].prefix != NULL
			       ? make_hash(cases[i].prefix, pass)
			       : strdup(pass);
		buf_init(&text, 0);
		assert_int_equal(buf_printf(&text,
					    "alice:%s%s:1000:1000::"
					    "/home/alice::\n",
					    cases[i].scheme, hash),
				 0);
		pf = parse_ok(buf_cstr(&text));
		e = passwd_lookup(pf, "alice");
		assert_non_null(e);
		if (passwd_verify(e, pass) != 1)
			fail_msg("%s: right password refused", cases[i].name);
		if (passwd_verify(e, "correct horse batterY!") != 0)
			fail_msg("%s: wrong password accepted", cases[i].name);
		if (passwd_verify(e, "") != 0)
			fail_msg("%s: empty password accepted", cases[i].name);
		passwd_free(&pf);
		assert_null(pf);
		buf_free(&text);
		free(hash);
	}
}

static void
plain_prefix_of_password_is_refused(void **state)
{
	struct passwd_file *pf = parse_ok("bob:{PLAIN}secret\n");
	const struct passwd_entry *e = passwd_lookup(pf, "bob");

	(void)state;
	assert_int_equal(passwd_verify(e, "secret"), 1);
	assert_int_equal(passwd_verify(e, "secre"), 0);
	assert_int_equal(passwd_verify(e, "secrets"), 0);
	passwd_free(&pf);
}

static void
unknown_user_is_not_found(void **state)
{
	struct passwd_file *pf = parse_ok("bob:{PLAIN}x\n");

	(void)state;
	assert_null(passwd_lookup(pf, "alice"));
	assert_null(passwd_lookup(pf, "Bob"));
	assert_null(passwd_lookup(pf, "bo"));
	/* The dummy check runs crypt and returns nothing to leak. */
	passwd_verify_dummy(pf, "x");
	passwd_verify_dummy(NULL, "x");
	passwd_free(&pf);
}

static void
fields_are_read_and_empty_ones_unset(void **state)
{
	struct passwd_file *pf = parse_ok("# users\n"
					  "\n"
					  "a:{PLAIN}1:1001:1002:A B:/home/a:"
					  "/bin/sh:userdb_x=y:z\r\n"
					  "b:{PLAIN}2::::::\n"
					  "c:{PLAIN}3\n");
	const struct passwd_entry *e;

	(void)state;
	assert_int_equal(pf->n_entries, 3);
	e = passwd_lookup(pf, "a");
	assert_true(e->has_uid);
	assert_int_equal(e->uid, 1001);
	assert_true(e->has_gid);
	assert_int_equal(e->gid, 1002);
	assert_string_equal(e->home, "/home/a");
	assert_int_equal(e->line, 3);
	e = passwd_lookup(pf, "b");
	assert_false(e->has_uid);
	assert_false(e->has_gid);
	assert_null(e->home);
	e = passwd_lookup(pf, "c");
	assert_false(e->has_uid);
	assert_null(e->home);
	assert_int_equal(e->line, 5);
	passwd_free(&pf);
}

static void
malformed_lines_are_errors_with_line(void **state)
{
	static const struct {
		const char *name;
		const char *text;
		const char *err;
	} cases[] = {
		{"no password field", "a:{PLAIN}x\nbob\n",
		 "users:2: expected user:password[:uid:gid:gecos:home:...]"},
		{"empty user", ":{PLAIN}x\n",
		 "users:1: empty user name or control character in it"},
		{"empty password", "a:\n", "users:1: empty password"},
		{"empty plain", "a:{PLAIN}\n", "users:1: empty password"},
		{"unknown scheme", "a:{MD4}abc\n",
		 "users:1: unsupported password scheme"},
		{"unclosed scheme", "a:{PLAIN\n",
		 "users:1: '{' without '}' in the password"},
		{"scheme mismatch", "a:{SHA512-CRYPT}$5$abc$def\n",
		 "users:1: the hash does not match its {SCHEME}"},
		{"not a hash", "a:$9$nonsense\n",
		 "users:1: not a crypt(3) hash this libcrypt supports"},
		{"bad uid", "a:{PLAIN}x:10a:1\n",
		 "users:1: uid and gid must be numbers"},
		{"bad gid", "a:{PLAIN}x:1:-1\n",
		 "users:1: uid and gid must be numbers"},
		{"relative home", "a:{PLAIN}x:1:1::home/a\n",
		 "users:1: home must be an absolute path"},
		{"duplicate user", "a:{PLAIN}x\n#\na:{PLAIN}y\n",
		 "users:3: user 'a' is already on line 1"},
		{"control character", "a\tb:{PLAIN}x\n",
		 "users:1: empty user name or control character in it"},
	};
	struct passwd_file *pf;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pf = NULL;
		err[0] = '\0';
		if (passwd_parse("users", cases[i].text, strlen(cases[i].text),
				 &pf, err, sizeof(err)) != -1)
			fail_msg("%s: accepted", cases[i].name);
		if (strcmp(err, cases[i].err) != 0)
			fail_msg("%s: got \"%s\"", cases[i].name, err);
		assert_null(pf);
	}
}

static void
nul_byte_is_an_error(void **state)
{
	static const char text[] = "a:{PLAIN}x\0y\n";
	struct passwd_file *pf = NULL;
	char err[256];

	(void)state;
	assert_int_equal(passwd_parse("users", text, sizeof(text) - 1, &pf, err,
				      sizeof(err)),
			 -1);
	assert_string_equal(err, "users:1: NUL byte");
}

static void
load_reports_a_missing_file(void **state)
{
	struct passwd_file *pf = NULL;
	char err[256];

	(void)state;
	assert_int_equal(
		passwd_load("/nonexistent/passwd", &pf, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "/nonexistent/passwd: No such file or directory");
}

/* uid 0 and gid 0 parse (the other users keep working) but the check
 * behind -t names the line, and the entry is flagged for login. */
static void
root_ids_are_reported_with_line(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
		{"a:{PLAIN}x:1:1\nb:{PLAIN}y:0:5\n",
		 "users:2: uid 0 is not allowed"},
		{"# c\na:{PLAIN}x:7:0\n", "users:2: gid 0 is not allowed"},
		{"a:{PLAIN}x:0:0\n", "users:1: uid 0 is not allowed"},
		{"a:{PLAIN}x:1:1\nb:{PLAIN}y::\n", NULL},
	};
	struct passwd_file *pf;
	char err[256];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pf = parse_ok(cases[i].text);
		err[0] = '\0';
		r = passwd_check(pf, "users", err, sizeof(err));
		if (cases[i].err == NULL
			    ? r != 0
			    : r != -1 || strcmp(err, cases[i].err) != 0)
			fail_msg("case %zu: r %d, err \"%s\"", i, r, err);
		if ((cases[i].err == NULL) !=
		    (passwd_entry_problem(&pf->entries[pf->n_entries - 1]) ==
		     NULL))
			fail_msg("case %zu: entry problem disagrees", i);
		passwd_free(&pf);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_scheme_accepts_right_and_refuses_wrong),
		cmocka_unit_test(plain_prefix_of_password_is_refused),
		cmocka_unit_test(unknown_user_is_not_found),
		cmocka_unit_test(fields_are_read_and_empty_ones_unset),
		cmocka_unit_test(malformed_lines_are_errors_with_line),
		cmocka_unit_test(nul_byte_is_an_error),
		cmocka_unit_test(load_reports_a_missing_file),
		cmocka_unit_test(root_ids_are_reported_with_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
