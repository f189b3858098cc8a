/* Socket addresses: parsing the config's listen addresses, formatting
 * peers for log lines, and deciding which peers are local (loopback or a
 * pipe), where a password may travel without TLS (RFC 3501 section 11.1
 * leaves that policy to the server). Never resolves host names.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "lib/num.h"

static int
parse_port(const char *s, uint16_t *port_r)
{
	uint64_t n;

	if (num_parse_str_u64(s, 65535, &n) < 0 || n == 0)
		return -1;
	*port_r = (uint16_t)n;
	return 0;
}

static void
set_v4(struct server_addr *a, const struct in_addr *ip, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

	memset(a, 0, sizeof(*a));
	sin->sin_family = AF_INET;
	sin->sin_addr = *ip;
	sin->sin_port = htons(port);
	a->len = sizeof(*sin);
}

static void
set_v6(struct server_addr *a, const struct in6_addr *ip, uint16_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = *ip;
	sin6->sin6_port = htons(port);
	a->len = sizeof(*sin6);
}

/* listen-address = ( IPv4address / "[" IPv6address "]" / "*" ) ":" port
 * (the host forms of RFC 3986 section 3.2.2, without reg-name). */
int
server_addr_parse(const char *spec, struct server_addr addrs_r[2],
		  const char **why_r)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	struct in_addr v4;
	struct in6_addr v6;
	uint16_t port;
	size_t hlen;

	colon = strrchr(spec, ':');
	if (colon == NULL) {
		*why_r = "expected HOST:PORT";
		return -1;
	}
	if (parse_port(colon + 1, &port) < 0) {
		*why_r = "port must be a number from 1 to 65535";
		return -1;
	}
	hlen = (size_t)(colon - spec);
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why_r = "expected an IPv4 address, [IPv6 address] or *";
		return -1;
	}
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if (strcmp(host, "*") == 0) {
		set_v4(&addrs_r[0], &(struct in_addr){htonl(INADDR_ANY)}, port);
		set_v6(&addrs_r[1], &in6addr_any, port);
		return 2;
	}
	if (host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &v6) == 1) {
			set_v6(&addrs_r[0], &v6, port);
			return 1;
		}
		*why_r = "bad IPv6 address";
		return -1;
	}
	if (inet_pton(AF_INET, host, &v4) == 1) {
		set_v4(&addrs_r[0], &v4, port);
		return 1;
	}
	*why_r = strchr(host, ':') != NULL
			 ? "an IPv6 address must be in brackets: [::1]:143"
			 : "expected an IPv4 address, [IPv6 address] or *";
	return -1;
}

/* The IPv4 address inside an IPv4-mapped IPv6 one, or NULL. */
static const struct in_addr *
mapped_v4(const struct sockaddr_in6 *sin6)
{
	if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return NULL;
	return (const struct in_addr *)(const void *)&sin6->sin6_addr
		.s6_addr[12];
}

void
server_addr_format(const struct sockaddr *sa, socklen_t len, char *out,
		   size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const struct in_addr *v4;

	if (sa->sa_family == AF_INET && len >= sizeof(*sin)) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		(void)inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		(void)snprintf(out, outlen, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		v4 = mapped_v4(sin6);
		if (v4 != NULL) {
			(void)inet_ntop(AF_INET, v4, ip, sizeof(ip));
			(void)snprintf(out, outlen, "%s:%u", ip,
				       ntohs(sin6->sin6_port));
		} else {
			(void)inet_ntop(AF_INET6, &sin6->sin6_addr, ip,
					sizeof(ip));
			(void)snprintf(out, outlen, "[%s]:%u", ip,
				       ntohs(sin6->sin6_port));
		}
	} else if (sa->sa_family == AF_UNIX) {
		(void)snprintf(out, outlen, "local");
	} else {
		(void)snprintf(out, outlen, "unknown");
	}
}

bool
server_addr_is_local(const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const struct in_addr *v4;

	if (sa->sa_family == AF_UNIX)
		return true;
	if (sa->sa_family == AF_INET && len >= sizeof(*sin)) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return true;
		v4 = mapped_v4(sin6);
		return v4 != NULL && (ntohl(v4->s_addr) >> 24) == 127;
	}
	return false;
}

void
server_peer_of_fd(int fd, char *out, size_t outlen, bool *is_local_r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		/* ENOTSOCK: a pipe from a local parent (inetd-style tests, a
		 * shell). Any other failure is a socket we cannot place:
		 * treat it as remote. */
		*is_local_r = errno == ENOTSOCK;
		(void)snprintf(out, outlen, "%s",
			       errno == ENOTSOCK ? "pipe" : "unknown");
		return;
	}
	server_addr_format((struct sockaddr *)&ss, len, out, outlen);
	*is_local_r = server_addr_is_local((struct sockaddr *)&ss, len);
}
