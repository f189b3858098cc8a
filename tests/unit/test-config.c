/* Unit tests for server/config.c: every key, the defaults, and each kind
 * of error reported as FILE:LINE: reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "lib/io.h"
#include "server/server.h"

static int
parse(const char *text, struct server_config *c, char *err, size_t errlen)
{
	return config_parse("/etc/im/test.conf", text, strlen(text), c, err,
			    errlen);
}

static void
empty_file_gives_defaults(void **state)
{
	struct server_config c;
	char err[256];

	(void)state;
	assert_int_equal(parse("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_listens, 1);
	assert_string_equal(c.listens[0].spec, "*:143");
	assert_int_equal(c.listens[0].n_addrs, 2);
	assert_false(c.listens[0].is_tls);
	assert_null(c.tls_cert);
	assert_null(c.tls_key);
	assert_null(c.tls_priority);
	assert_string_equal(c.passwd_file, SYSCONFDIR "/imapmoved.passwd");
	assert_string_equal(c.maildir, "%h/Maildir");
	assert_false(c.has_default_uid);
	assert_false(c.has_default_gid);
	assert_null(c.default_home);
	assert_false(c.plaintext_auth);
	assert_int_equal(c.max_connections, 1000);
	assert_int_equal(c.max_connections_per_ip, 20);
	assert_int_equal(c.max_line_length, 65536);
	assert_int_equal(c.max_literal_size, 64 * 1024 * 1024);
	assert_int_equal(c.idle_timeout, 1800);
	assert_int_equal(c.login_timeout, 60);
	assert_int_equal(c.idle_keepalive, 120);
	assert_false(c.mailbox_watch_poll);
	assert_int_equal(c.mailbox_poll_interval, 30);
	assert_int_equal(c.log_level, LOG_LEVEL_INFO);
	assert_int_equal(c.max_auth_failures, 3);
	assert_int_equal(c.auth_failure_delay, 2);
	config_free(&c);
}

static void
every_key_is_read(void **state)
{
	static const char text[] = "# a full configuration\n"
				   "\n"
				   "listen = 127.0.0.1:1143\n"
				   "listen = [::1]:1143   # loopback v6\n"
				   "listen_tls = *:1993\n"
				   "tls_cert = cert.pem\n"
				   "tls_key = /etc/ssl/key.pem\n"
				   "tls_priority = SECURE256:-VERS-TLS1.2\n"
				   "passwd_file = passwd\n"
				   "maildir = /var/mail/%d/%n\n"
				   "default_uid = 5000\n"
				   "default_gid = 5001\n"
				   "default_home = /home/vmail/%u\n"
				   "plaintext_auth = yes\n"
				   "max_connections = 50\n"
				   "max_connections_per_ip = 0\n"
				   "max_line_length = 8K\n"
				   "max_literal_size = 1G\n"
				   "idle_timeout = 2h\n"
				   "login_timeout = 90s\n"
				   "idle_keepalive = 5m\n"
				   "mailbox_watch = poll\n"
				   "mailbox_poll_interval = 10s\n"
				   "log_level = debug\n"
				   "max_auth_failures = 5\n"
				   "\tauth_failure_delay=0   \r\n";
	struct server_config c;
	char err[256];

	(void)state;
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_listens, 3);
	assert_string_equal(c.listens[0].spec, "127.0.0.1:1143");
	assert_int_equal(c.listens[0].line, 3);
	assert_int_equal(c.listens[0].n_addrs, 1);
	assert_string_equal(c.listens[1].spec, "[::1]:1143");
	assert_int_equal(c.listens[1].addrs[0].ss.ss_family, AF_INET6);
	assert_true(c.listens[2].is_tls);
	assert_int_equal(c.listens[2].n_addrs, 2);
	assert_string_equal(c.tls_cert, "/etc/im/cert.pem");
	assert_int_equal(c.tls_cert_line, 6);
	assert_string_equal(c.tls_key, "/etc/ssl/key.pem");
	assert_string_equal(c.tls_priority, "SECURE256:-VERS-TLS1.2");
	assert_string_equal(c.passwd_file, "/etc/im/passwd");
	assert_int_equal(c.passwd_file_line, 9);
	assert_string_equal(c.maildir, "/var/mail/%d/%n");
	assert_true(c.has_default_uid);
	assert_int_equal(c.default_uid, 5000);
	assert_true(c.has_default_gid);
	assert_int_equal(c.default_gid, 5001);
	assert_string_equal(c.default_home, "/home/vmail/%u");
	assert_true(c.plaintext_auth);
	assert_int_equal(c.max_connections, 50);
	assert_int_equal(c.max_connections_per_ip, 0);
	assert_int_equal(c.max_line_length, 8192);
	assert_int_equal(c.max_literal_size, 1024 * 1024 * 1024);
	assert_int_equal(c.idle_timeout, 7200);
	assert_int_equal(c.login_timeout, 90);
	assert_int_equal(c.idle_keepalive, 300);
	assert_true(c.mailbox_watch_poll);
	assert_int_equal(c.mailbox_poll_interval, 10);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(c.max_auth_failures, 5);
	assert_int_equal(c.auth_failure_delay, 0);
	config_free(&c);
}

static void
ids_accept_names_from_the_system(void **state)
{
	struct server_config c;
	char err[256];

	(void)state;
	/* Debian's base system always has user and group "nobody" and
	 * "nogroup" at 65534. */
	assert_int_equal(parse("default_uid = nobody\ndefault_gid = nogroup\n",
			       &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.default_uid, 65534);
	assert_int_equal(c.default_gid, 65534);
	config_free(&c);
	/* login_user: a name gives its uid and primary group; a number
	 * unknown to the database gives the same number as gid. */
	assert_int_equal(parse("login_user = nobody\n", &c, err, sizeof(err)),
			 0);
	assert_true(c.has_login_user);
	assert_int_equal(c.login_uid, 65534);
	assert_int_equal(c.login_gid, 65534);
	config_free(&c);
	assert_int_equal(parse("login_user = 4242\n", &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.login_uid, 4242);
	assert_int_equal(c.login_gid, 4242);
	config_free(&c);
}

static void
empty_optional_values_unset(void **state)
{
	struct server_config c;
	char err[256];

	(void)state;
	assert_int_equal(parse("default_uid =\ntls_priority =\n"
			       "default_home =\n",
			       &c, err, sizeof(err)),
			 0);
	assert_false(c.has_default_uid);
	assert_null(c.tls_priority);
	assert_null(c.default_home);
	config_free(&c);
}

static void
hash_inside_a_word_is_not_a_comment(void **state)
{
	struct server_config c;
	char err[256];

	(void)state;
	assert_int_equal(parse("tls_priority = NORMAL#x # real comment\n", &c,
			       err, sizeof(err)),
			 0);
	assert_string_equal(c.tls_priority, "NORMAL#x");
	config_free(&c);
}

static void
errors_name_file_and_line(void **state)
{
	static const struct {
		const char *name;
		const char *text;
		const char *err;
	} cases[] = {
		{"unknown key", "\nlisten = 127.0.0.1:1\nlisen = x\n",
		 "/etc/im/test.conf:3: unknown key 'lisen'"},
		{"no equals sign", "listen 127.0.0.1:143\n",
		 "/etc/im/test.conf:1: expected 'key = value'"},
		{"repeated single key", "log_level = info\nlog_level = warn\n",
		 "/etc/im/test.conf:2: log_level is already set on line 1"},
		{"bad address", "listen = localhost:143\n",
		 "/etc/im/test.conf:1: listen: expected an IPv4 address, "
		 "[IPv6 address] or *: 'localhost:143'"},
		{"bad port", "# c\nlisten = 127.0.0.1:0\n",
		 "/etc/im/test.conf:2: listen: port must be a number from 1 "
		 "to 65535: '127.0.0.1:0'"},
		{"unbracketed v6", "listen_tls = ::1:993\n",
		 "/etc/im/test.conf:1: listen_tls: an IPv6 address must be in "
		 "brackets: [::1]:143: '::1:993'"},
		{"bad bool", "plaintext_auth = maybe\n",
		 "/etc/im/test.conf:1: plaintext_auth: expected yes or no: "
		 "'maybe'"},
		{"bad number", "max_connections = 10x\n",
		 "/etc/im/test.conf:1: max_connections: expected a whole "
		 "number: '10x'"},
		{"negative number", "max_connections_per_ip = -1\n",
		 "/etc/im/test.conf:1: max_connections_per_ip: expected a "
		 "whole number: '-1'"},
		{"zero auth failures", "max_auth_failures = 0\n",
		 "/etc/im/test.conf:1: max_auth_failures: number out of range: "
		 "'0'"},
		{"bad size", "max_literal_size = 64Q\n",
		 "/etc/im/test.conf:1: max_literal_size: expected a size such "
		 "as 65536, 64K, 64M or 1G: '64Q'"},
		{"tiny line length", "max_line_length = 10\n",
		 "/etc/im/test.conf:1: max_line_length: size out of range: "
		 "'10'"},
		{"bad duration", "idle_timeout = 30 minutes\n",
		 "/etc/im/test.conf:1: idle_timeout: expected a duration such "
		 "as 90, 90s, 30m or 1h: '30 minutes'"},
		{"zero login timeout", "login_timeout = 0\n",
		 "/etc/im/test.conf:1: login_timeout: duration out of range: "
		 "'0'"},
		{"zero keepalive", "idle_keepalive = 0\n",
		 "/etc/im/test.conf:1: idle_keepalive: duration out of range: "
		 "'0'"},
		{"bad mailbox watch", "mailbox_watch = fanotify\n",
		 "/etc/im/test.conf:1: mailbox_watch: expected inotify or "
		 "poll: 'fanotify'"},
		{"long failure delay", "auth_failure_delay = 1h\n",
		 "/etc/im/test.conf:1: auth_failure_delay: duration out of "
		 "range: '1h'"},
		{"bad log level", "log_level = verbose\n",
		 "/etc/im/test.conf:1: log_level: expected error, warn, info "
		 "or debug: 'verbose'"},
		{"unknown template escape", "maildir = /m/%x\n",
		 "/etc/im/test.conf:1: maildir: unknown escape (use %u, %n, "
		 "%d, %h or %%): '/m/%x'"},
		{"relative maildir", "maildir = Maildir\n",
		 "/etc/im/test.conf:1: maildir: the template must give an "
		 "absolute path: 'Maildir'"},
		{"home in default_home", "default_home = /h/%h\n",
		 "/etc/im/test.conf:1: default_home: default_home cannot use "
		 "%h: '/h/%h'"},
		{"root uid", "default_uid = 0\n",
		 "/etc/im/test.conf:1: default_uid: mail is never served as "
		 "root (id 0): '0'"},
		{"root login_user", "login_user = root\n",
		 "/etc/im/test.conf:1: login_user: mail is never served as "
		 "root (id 0): 'root'"},
		{"unknown user", "default_uid = no-such-user-here\n",
		 "/etc/im/test.conf:1: default_uid: no such user: "
		 "'no-such-user-here'"},
		{"listen_tls without cert", "\nlisten_tls = 127.0.0.1:993\n",
		 "/etc/im/test.conf:2: listen_tls needs tls_cert and tls_key"},
		{"cert without key", "\n\ntls_cert = /c.pem\n",
		 "/etc/im/test.conf:3: tls_cert and tls_key go together"},
		{"NUL byte", "log_level = info\nx\0y = 1\n",
		 "/etc/im/test.conf:2: NUL byte"},
	};
	struct server_config c;
	char err[256];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = strlen(cases[i].text);
		if (strcmp(cases[i].name, "NUL byte") == 0)
			len = sizeof("log_level = info\nx\0y = 1\n") - 1;
		err[0] = '\0';
		if (config_parse("/etc/im/test.conf", cases[i].text, len, &c,
				 err, sizeof(err)) != -1)
			fail_msg("%s: accepted", cases[i].name);
		if (strcmp(err, cases[i].err) != 0)
			fail_msg("%s: got \"%s\"", cases[i].name, err);
		/* config_parse() freed it. */
		assert_int_equal(c.n_listens, 0);
	}
}

static void
load_reports_a_missing_file(void **state)
{
	struct server_config c;
	char err[256];

	(void)state;
	assert_int_equal(config_load("/nonexistent/imapmoved.conf", &c, err,
				     sizeof(err)),
			 -1);
	assert_string_equal(err, "/nonexistent/imapmoved.conf: No such file "
				 "or directory");
}

static void
load_reads_a_real_file(void **state)
{
	char path[] = "/tmp/test-config-XXXXXX";
	static const char text[] = "listen = 127.0.0.1:1143\n"
				   "passwd_file = users\n";
	struct server_config c;
	char err[256], want[64];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1),
			 (ssize_t)sizeof(text) - 1);
	assert_int_equal(close(fd), 0);
	assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_listens, 1);
	(void)snprintf(want, sizeof(want), "/tmp/users");
	assert_string_equal(c.passwd_file, want);
	assert_string_equal(c.path, path);
	config_free(&c);
	assert_int_equal(unlink(path), 0);
}

/* Every key the code knows is documented in imapmoved.conf.example as
 * "#key = default" (or set), and every documented key is known. Run from
 * the top of the tree, as tests/check.sh does. */
static void
example_documents_exactly_the_known_keys(void **state)
{
	struct buf b;
	const char *name, *line, *hit;
	char want[64], key[64];
	size_t i, n;

	(void)state;
	buf_init(&b, 0);
	if (io_read_file("imapmoved.conf.example", &b) < 0)
		fail_msg("imapmoved.conf.example: cannot read (run from the "
			 "top of the tree)");
	for (i = 0; (name = config_key_name(i)) != NULL; i++) {
		(void)snprintf(want, sizeof(want), "\n#%s =", name);
		hit = strstr(buf_cstr(&b), want);
		if (hit == NULL ||
		    (hit[strlen(want)] != ' ' && hit[strlen(want)] != '\n'))
			fail_msg("key %s is not in imapmoved.conf.example",
				 name);
	}
	for (line = buf_cstr(&b); line != NULL && *line != '\0';
	     line = strchr(line, '\n') != NULL ? strchr(line, '\n') + 1
					       : NULL) {
		if (line[0] != '#' || line[1] < 'a' || line[1] > 'z')
			continue;
		n = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_");
		if (n >= sizeof(key) || strncmp(line + 1 + n, " =", 2) != 0)
			continue;
		memcpy(key, line + 1, n);
		key[n] = '\0';
		for (i = 0; (name = config_key_name(i)) != NULL; i++) {
			if (strcmp(name, key) == 0)
				break;
		}
		if (name == NULL)
			fail_msg("imapmoved.conf.example documents unknown "
				 "key %s",
				 key);
	}
	buf_free(&b);
}

/* Every key is described in man/imapmoved.conf.5 (".It Cm key"), and
 * every key described there is known. */
static void
man_page_documents_exactly_the_known_keys(void **state)
{
	static const char tag[] = "\n.It Cm ";
	struct buf b;
	const char *name, *p;
	char want[64], key[64];
	size_t i, n;

	(void)state;
	buf_init(&b, 0);
	if (io_read_file("man/imapmoved.conf.5", &b) < 0)
		fail_msg("man/imapmoved.conf.5: cannot read (run from the top "
			 "of the tree)");
	for (i = 0; (name = config_key_name(i)) != NULL; i++) {
		(void)snprintf(want, sizeof(want), "%s%s No = ", tag, name);
		if (strstr(buf_cstr(&b), want) == NULL)
			fail_msg("key %s is not in man/imapmoved.conf.5", name);
	}
	for (p = strstr(buf_cstr(&b), tag); p != NULL; p = strstr(p + 1, tag)) {
		n = strspn(p + strlen(tag), "abcdefghijklmnopqrstuvwxyz_");
		if (n == 0 || n >= sizeof(key))
			continue;
		memcpy(key, p + strlen(tag), n);
		key[n] = '\0';
		for (i = 0; (name = config_key_name(i)) != NULL; i++) {
			if (strcmp(name, key) == 0)
				break;
		}
		if (name == NULL)
			fail_msg(
				"man/imapmoved.conf.5 documents unknown key %s",
				key);
	}
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_file_gives_defaults),
		cmocka_unit_test(every_key_is_read),
		cmocka_unit_test(ids_accept_names_from_the_system),
		cmocka_unit_test(empty_optional_values_unset),
		cmocka_unit_test(hash_inside_a_word_is_not_a_comment),
		cmocka_unit_test(errors_name_file_and_line),
		cmocka_unit_test(load_reports_a_missing_file),
		cmocka_unit_test(load_reads_a_real_file),
		cmocka_unit_test(example_documents_exactly_the_known_keys),
		cmocka_unit_test(man_page_documents_exactly_the_known_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
