/* The listener's table of live children and the peer each serves, for
 * max_connections and max_connections_per_ip, and for passing SIGTERM on.
 * A linear table: at the default limit of 1000 a scan per accept costs
 * nothing next to the fork that follows.
 */
#include "server.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "lib/log.h"
#include "lib/mem.h"

struct conn_child {
	pid_t pid;
	int family;           /* AF_INET, AF_INET6, or 0 for other peers */
	unsigned char ip[16]; /* IPv4 in the first 4 bytes */
};

struct conn_table {
	struct conn_child *children;
	size_t n;
	size_t cap;
};

struct conn_table *
conn_table_new(void)
{
	return xcalloc(1, sizeof(struct conn_table));
}

void
conn_table_free(struct conn_table **tp)
{
	if (*tp == NULL)
		return;
	free((*tp)->children);
	free(*tp);
	*tp = NULL;
}

/* The peer's IP as a comparable key: IPv4-mapped IPv6 becomes IPv4. */
static void
ip_key(const struct sockaddr *sa, socklen_t len, struct conn_child *c)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	memset(c->ip, 0, sizeof(c->ip));
	c->family = 0;
	if (sa->sa_family == AF_INET && len >= sizeof(*sin)) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		c->family = AF_INET;
		memcpy(c->ip, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			c->family = AF_INET;
			memcpy(c->ip, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			c->family = AF_INET6;
			memcpy(c->ip, &sin6->sin6_addr, 16);
		}
	}
}

void
conn_table_add(struct conn_table *t, pid_t pid, const struct sockaddr *sa,
	       socklen_t len)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->children = xreallocarray(t->children, t->cap,
					    sizeof(*t->children));
	}
	t->children[t->n].pid = pid;
	ip_key(sa, len, &t->children[t->n]);
	t->n++;
}

bool
conn_table_remove(struct conn_table *t, pid_t pid)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->children[i].pid == pid) {
			t->children[i] = t->children[--t->n];
			return true;
		}
	}
	return false;
}

size_t
conn_table_count(const struct conn_table *t)
{
	return t->n;
}

size_t
conn_table_count_ip(const struct conn_table *t, const struct sockaddr *sa,
		    socklen_t len)
{
	struct conn_child key;
	size_t i, n = 0;

	ip_key(sa, len, &key);
	if (key.family == 0)
		return 0; /* local sockets are not limited per address */
	for (i = 0; i < t->n; i++) {
		if (t->children[i].family == key.family &&
		    memcmp(t->children[i].ip, key.ip, sizeof(key.ip)) == 0)
			n++;
	}
	return n;
}

void
conn_table_kill(const struct conn_table *t, int sig)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		(void)kill(t->children[i].pid, sig);
}

/* Reap, without blocking, every child in t that has ended. */
static void
reap_ended(struct conn_table *t)
{
	size_t i = 0;

	while (i < t->n) {
		/* waitpid on each pid, not -1: a child we did not start (one
		 * inherited across exec) must not be waited for here. A pid
		 * that is no child of ours (ECHILD) is gone too. */
		if (waitpid(t->children[i].pid, NULL, WNOHANG) != 0)
			t->children[i] = t->children[--t->n];
		else
			i++;
	}
}

size_t
conn_table_wait(struct conn_table *t, unsigned ms)
{
	const struct timespec tick = {0, 50000000L}; /* 50 ms */
	unsigned waited = 0;
	size_t i;

	reap_ended(t);
	while (t->n > 0 && waited < ms) {
		/* Polling: a blocking waitpid() could wait forever on a
		 * process stuck in the kernel, which even SIGKILL cannot end.
		 */
		(void)nanosleep(&tick, NULL); /* EINTR only shortens a tick */
		waited += 50;
		reap_ended(t);
	}
	for (i = 0; i < t->n; i++)
		log_error("session process %ld is still running after %u ms",
			  (long)t->children[i].pid, ms);
	return t->n;
}
