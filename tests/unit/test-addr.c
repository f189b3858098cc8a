/* Unit tests for server/addr.c: listen address parsing, peer formatting
 * and which peers count as local. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "server/server.h"

static void
good_addresses_parse_and_format_back(void **state)
{
	static const struct {
		const char *spec;
		int count;
		const char *first;
		const char *second;
	} cases[] = {
		{"127.0.0.1:1143", 1, "127.0.0.1:1143", NULL},
		{"0.0.0.0:143", 1, "0.0.0.0:143", NULL},
		{"[::1]:1143", 1, "[::1]:1143", NULL},
		{"[2001:db8::17]:993", 1, "[2001:db8::17]:993", NULL},
		{"[::]:143", 1, "[::]:143", NULL},
		{"*:143", 2, "0.0.0.0:143", "[::]:143"},
		{"192.0.2.1:65535", 1, "192.0.2.1:65535", NULL},
	};
	struct server_addr a[2];
	const char *why;
	char out[80];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		n = server_addr_parse(cases[i].spec, a, &why);
		if (n != cases[i].count)
			fail_msg("%s: got %d (%s)", cases[i].spec, n, why);
		server_addr_format((struct sockaddr *)&a[0].ss, a[0].len, out,
				   sizeof(out));
		if (strcmp(out, cases[i].first) != 0)
			fail_msg("%s: formatted as %s", cases[i].spec, out);
		if (n == 2) {
			server_addr_format((struct sockaddr *)&a[1].ss,
					   a[1].len, out, sizeof(out));
			assert_string_equal(out, cases[i].second);
		}
	}
}

static void
bad_addresses_are_refused(void **state)
{
	static const struct {
		const char *spec;
		const char *why;
	} cases[] = {
		{"127.0.0.1", "expected HOST:PORT"},
		{"127.0.0.1:", "port must be a number from 1 to 65535"},
		{"127.0.0.1:0", "port must be a number from 1 to 65535"},
		{"127.0.0.1:65536", "port must be a number from 1 to 65535"},
		{"127.0.0.1:+143", "port must be a number from 1 to 65535"},
		{"127.0.0.1: 143", "port must be a number from 1 to 65535"},
		{":143", "expected an IPv4 address, [IPv6 address] or *"},
		{"localhost:143",
		 "expected an IPv4 address, [IPv6 address] or *"},
		{"256.0.0.1:143",
		 "expected an IPv4 address, [IPv6 address] or *"},
		{"::1:143", "an IPv6 address must be in brackets: [::1]:143"},
		{"[::g]:143", "bad IPv6 address"},
		{"[127.0.0.1]:143", "bad IPv6 address"},
		{"**:143", "expected an IPv4 address, [IPv6 address] or *"},
	};
	struct server_addr a[2];
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		if (server_addr_parse(cases[i].spec, a, &why) != -1)
			fail_msg("%s: accepted", cases[i].spec);
		if (strcmp(why, cases[i].why) != 0)
			fail_msg("%s: got \"%s\"", cases[i].spec, why);
	}
}

static void
loopback_and_mapped_loopback_are_local(void **state)
{
	static const struct {
		const char *spec;
		bool is_local;
	} cases[] = {
		{"127.0.0.1:1", true},
		{"127.255.3.4:1", true},
		{"128.0.0.1:1", false},
		{"10.0.0.1:1", false},
		{"[::1]:1", true},
		{"[::ffff:127.0.0.2]:1", true},
		{"[::ffff:10.0.0.1]:1", false},
		{"[::2]:1", false},
	};
	struct server_addr a[2];
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(server_addr_parse(cases[i].spec, a, &why), 1);
		if (server_addr_is_local((struct sockaddr *)&a[0].ss,
					 a[0].len) != cases[i].is_local)
			fail_msg("%s: wrong locality", cases[i].spec);
	}
}

static void
mapped_address_formats_as_ipv4(void **state)
{
	struct server_addr a[2];
	const char *why;
	char out[80];

	(void)state;
	assert_int_equal(server_addr_parse("[::ffff:192.0.2.9]:12", a, &why),
			 1);
	server_addr_format((struct sockaddr *)&a[0].ss, a[0].len, out,
			   sizeof(out));
	assert_string_equal(out, "192.0.2.9:12");
}

static void
pipes_and_unix_sockets_are_local(void **state)
{
	bool is_local = false;
	char out[80];
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	server_peer_of_fd(p[0], out, sizeof(out), &is_local);
	assert_true(is_local);
	assert_string_equal(out, "pipe");
	assert_int_equal(close(p[0]), 0);
	assert_int_equal(close(p[1]), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
	is_local = false;
	server_peer_of_fd(p[0], out, sizeof(out), &is_local);
	assert_true(is_local);
	assert_string_equal(out, "local");
	assert_int_equal(close(p[0]), 0);
	assert_int_equal(close(p[1]), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_addresses_parse_and_format_back),
		cmocka_unit_test(bad_addresses_are_refused),
		cmocka_unit_test(loopback_and_mapped_loopback_are_local),
		cmocka_unit_test(mapped_address_formats_as_ipv4),
		cmocka_unit_test(pipes_and_unix_sockets_are_local),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
