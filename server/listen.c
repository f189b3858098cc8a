/* The standalone listener: binds the listen and listen_tls addresses (or
 * takes systemd's LISTEN_FDS sockets), then only accepts and forks; each
 * child closes the listening sockets and serves one session. The listener
 * enforces the connection limits, reaps children, re-reads the config on
 * SIGHUP and passes SIGTERM on. Signal handlers only set flags.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/mem.h"
#include "lib/num.h"

/* Seconds children get to say BYE after SIGTERM before SIGKILL. */
#define LISTEN_STOP_GRACE 10
/* Milliseconds to reap children after SIGKILL before exiting anyway. */
#define LISTEN_KILL_WAIT_MS 5000
#define LISTEN_BACKLOG 128

struct lsock {
	int fd;
	bool is_tls;
	char *name; /* for log lines */
};

struct listener {
	struct server_config *cfg;
	const struct listen_opts *o;
	struct tls_ctx *tls;
	struct lsock *socks;
	size_t n_socks;
	struct conn_table *children;
	unsigned long counter; /* connections accepted, for session ids */
	sigset_t wait_mask;    /* the mask during ppoll(): signals open */
	sigset_t orig_mask;    /* restored in children */
};

static volatile sig_atomic_t got_term, got_hup, got_chld;

static void
on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
}

static void
add_sock(struct listener *l, int fd, bool is_tls, const char *name)
{
	l->socks = xreallocarray(l->socks, l->n_socks + 1, sizeof(*l->socks));
	l->socks[l->n_socks].fd = fd;
	l->socks[l->n_socks].is_tls = is_tls;
	l->socks[l->n_socks].name = xstrdup(name);
	l->n_socks++;
}

/* A start-up failure: logged, and also shown on the terminal when the log
 * goes to syslog (the admin who typed the command must see it). */
static void __attribute__((format(printf, 2, 3)))
start_error(const struct listener *l, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	/* Truncation is acceptable for a message. */
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	if (!l->o->foreground)
		(void)fprintf(stderr, "imapmoved: %s\n", msg);
}

/* Bind one address. Returns 0, 1 when an IPv6 wildcard is skipped on a
 * host without IPv6, or -1 (message printed and logged). */
static int
bind_one(struct listener *l, const struct server_listen *sl,
	 const struct server_addr *a)
{
	int fd, on = 1, saved;
	const char *step = "socket";

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0 && errno == EAFNOSUPPORT && sl->n_addrs == 2)
		return 1;
	if (fd < 0)
		goto fail;
	step = "setsockopt";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		goto fail_close;
	/* Each IPv6 socket serves IPv6 only; "*" binds 0.0.0.0 for IPv4. */
	if (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		goto fail_close;
	step = "bind";
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail_close;
	step = "listen";
	if (listen(fd, LISTEN_BACKLOG) < 0)
		goto fail_close;
	add_sock(l, fd, sl->is_tls, sl->spec);
	return 0;
fail_close:
	saved = errno;
	(void)close(fd);
	errno = saved;
fail:
	saved = errno;
	start_error(l, "%s:%u: %s %s: %s: %s", l->cfg->path, sl->line,
		    sl->is_tls ? "listen_tls" : "listen", sl->spec, step,
		    strerror(saved));
	return -1;
}

static int
bind_all(struct listener *l)
{
	const struct server_listen *sl;
	size_t i;
	int j;

	for (i = 0; i < l->cfg->n_listens; i++) {
		sl = &l->cfg->listens[i];
		for (j = 0; j < sl->n_addrs; j++) {
			if (bind_one(l, sl, &sl->addrs[j]) < 0)
				return -1;
		}
	}
	return 0;
}

/* The name systemd gave fd number i (LISTEN_FDNAMES, colon-separated),
 * or "" when there is none. Writes into out. */
static void
fd_name(const char *names, size_t i, char *out, size_t outlen)
{
	const char *p = names, *colon;
	size_t len;

	out[0] = '\0';
	while (p != NULL && i > 0) {
		p = strchr(p, ':');
		p = p != NULL ? p + 1 : NULL;
		i--;
	}
	if (p == NULL)
		return;
	colon = strchr(p, ':');
	len = colon != NULL ? (size_t)(colon - p) : strlen(p);
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, p, len);
	out[len] = '\0';
}

/* systemd socket activation (sd_listen_fds(3) protocol): LISTEN_PID is
 * ours and LISTEN_FDS counts the sockets from fd 3. A socket named "tls"
 * or "imaps" in LISTEN_FDNAMES speaks implicit TLS. Returns the number of
 * sockets taken (0: not socket-activated), or -1. */
static int
take_systemd_fds(struct listener *l)
{
	const char *pid_s = getenv("LISTEN_PID"), *n_s = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	char name[64], label[80];
	uint64_t pid, n, i;
	int fd;

	if (pid_s == NULL || n_s == NULL ||
	    num_parse_str_u64(pid_s, UINT32_MAX, &pid) < 0 ||
	    (pid_t)pid != getpid())
		return 0;
	if (num_parse_str_u64(n_s, 1024, &n) < 0) {
		start_error(l, "LISTEN_FDS is not a number: %s", n_s);
		return -1;
	}
	for (i = 0; i < n; i++) {
		fd = 3 + (int)i;
		fd_name(names, (size_t)i, name, sizeof(name));
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
		    io_set_nonblock(fd, 1) < 0) {
			start_error(l, "LISTEN_FDS: fd %d: %s", fd,
				    strerror(errno));
			return -1;
		}
		(void)snprintf(label, sizeof(label), "systemd fd %d%s%s", fd,
			       name[0] ? " " : "", name);
		add_sock(l, fd,
			 strcmp(name, "tls") == 0 || strcmp(name, "imaps") == 0,
			 label);
	}
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	return (int)n;
}

static void
close_socks(struct listener *l)
{
	size_t i;

	for (i = 0; i < l->n_socks; i++) {
		(void)close(l->socks[i].fd);
		free(l->socks[i].name);
	}
	free(l->socks);
	l->socks = NULL;
	l->n_socks = 0;
}

static void
reap(struct listener *l)
{
	int status;
	pid_t pid;

	got_chld = 0;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		(void)conn_table_remove(l->children, pid);
		if (WIFSIGNALED(status))
			log_warn("session process %ld killed by signal %d",
				 (long)pid, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warn("session process %ld exited with status %d",
				 (long)pid, WEXITSTATUS(status));
	}
}

/* SIGHUP: read the config and certificates again for new connections.
 * On any error the old ones stay. The listen addresses are not rebound. */
static void
reload(struct listener *l)
{
	struct server_config nc;
	struct tls_ctx *ntls = NULL;
	char err[512];

	got_hup = 0;
	if (config_load(l->o->config_path, &nc, err, sizeof(err)) < 0) {
		log_error("reload: %s (keeping the old configuration)", err);
		return;
	}
	if (transport_tls_load(&nc, &ntls, err, sizeof(err)) < 0) {
		log_error("reload: %s (keeping the old configuration)", err);
		config_free(&nc);
		return;
	}
	config_free(l->cfg);
	*l->cfg = nc;
	transport_tls_free(&l->tls);
	l->tls = ntls;
	log_set_level(l->cfg->log_level);
	log_info("reloaded %s (listen addresses apply after a restart)",
		 l->o->config_path);
}

/* Say no politely and close: the client learns why (RFC 3501 section
 * 7.1.5 allows BYE as the first response). */
static void
refuse(int fd, const char *peer, const char *why)
{
	static const char bye[] = "* BYE Too many connections\r\n";

	log_warn("refused %s: %s", peer, why);
	/* Best effort: the socket is non-blocking so a stuck peer cannot
	 * hold the listener; losing the BYE loses nothing else. */
	if (io_set_nonblock(fd, 1) == 0 &&
	    write(fd, bye, sizeof(bye) - 1) != (ssize_t)sizeof(bye) - 1)
		log_debug("refused %s: BYE not sent", peer);
	(void)close(fd);
}

/* In the child: serve the accepted connection and exit. */
static void __attribute__((noreturn))
child(struct listener *l, int fd, const struct lsock *ls, const char *peer,
      bool is_local)
{
	struct session_params p;
	sigset_t mask;
	bool is_tls = ls->is_tls; /* ls goes with close_socks() */
	char sid[48];
	int status;

	close_socks(l);
	conn_table_free(&l->children);
	(void)signal(SIGCHLD, SIG_DFL);
	(void)signal(SIGHUP, SIG_DFL);
	(void)signal(SIGINT, SIG_DFL);
	/* SIGTERM stays blocked until session_run() has its own handler. */
	mask = l->orig_mask;
	(void)sigaddset(&mask, SIGTERM);
	(void)sigprocmask(SIG_SETMASK, &mask, NULL);
	(void)snprintf(sid, sizeof(sid), "%ld.%lu", (long)getpid(), l->counter);
	memset(&p, 0, sizeof(p));
	p.cfg = l->cfg;
	p.fd_in = fd;
	p.fd_out = fd;
	p.tls = l->tls;
	p.implicit_tls = is_tls;
	p.session_id = sid;
	p.peer = peer;
	p.is_local = is_local;
	status = session_run(&p);
	(void)close(fd);
	transport_tls_free(&l->tls);
	config_free(l->cfg);
	exit(status);
}

static void
accept_one(struct listener *l, const struct lsock *ls)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char peer[80];
	int fd;
	pid_t pid;

	fd = accept4(ls->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_error("accept on %s: %s", ls->name,
				  strerror(errno));
		return;
	}
	server_addr_format((struct sockaddr *)&ss, len, peer, sizeof(peer));
	if (l->cfg->max_connections != 0 &&
	    conn_table_count(l->children) >= l->cfg->max_connections) {
		refuse(fd, peer, "max_connections reached");
		return;
	}
	if (l->cfg->max_connections_per_ip != 0 &&
	    conn_table_count_ip(l->children, (struct sockaddr *)&ss, len) >=
		    l->cfg->max_connections_per_ip) {
		refuse(fd, peer, "max_connections_per_ip reached");
		return;
	}
	l->counter++;
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		refuse(fd, peer, "cannot fork");
		return;
	}
	if (pid == 0)
		child(l, fd, ls, peer,
		      server_addr_is_local((struct sockaddr *)&ss, len));
	conn_table_add(l->children, pid, (struct sockaddr *)&ss, len);
	(void)close(fd);
}

static void
setup_signals(struct listener *l)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
	struct sigaction sa;
	sigset_t block;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	(void)sigemptyset(&sa.sa_mask);
	(void)sigemptyset(&block);
	sa.sa_handler = on_signal;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		(void)sigaction(sigs[i], &sa, NULL);
		(void)sigaddset(&block, sigs[i]);
	}
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	/* Blocked except inside ppoll(), so a flag set just before the wait
	 * is never missed. */
	(void)sigprocmask(SIG_BLOCK, &block, &l->orig_mask);
	l->wait_mask = l->orig_mask;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigdelset(&l->wait_mask, sigs[i]);
}

static void
serve(struct listener *l)
{
	struct pollfd *pfds = xcalloc(l->n_socks, sizeof(*pfds));
	size_t i;
	int r;

	for (i = 0; i < l->n_socks; i++) {
		pfds[i].fd = l->socks[i].fd;
		pfds[i].events = POLLIN;
	}
	while (!got_term) {
		r = ppoll(pfds, l->n_socks, NULL, &l->wait_mask);
		if (r < 0 && errno != EINTR) {
			log_error("ppoll: %s", strerror(errno));
			break;
		}
		if (got_chld)
			reap(l);
		if (got_hup)
			reload(l);
		for (i = 0; r > 0 && i < l->n_socks && !got_term; i++) {
			if (pfds[i].revents & POLLIN)
				accept_one(l, &l->socks[i]);
		}
	}
	free(pfds);
}

/* SIGTERM: no new connections; children say BYE and exit. Those still
 * there after the grace period are killed. */
static void
stop(struct listener *l)
{
	struct timespec one = {1, 0};
	int waited = 0;

	close_socks(l);
	log_info("shutting down, %zu sessions open",
		 conn_table_count(l->children));
	conn_table_kill(l->children, SIGTERM);
	while (conn_table_count(l->children) > 0 &&
	       waited++ < LISTEN_STOP_GRACE) {
		(void)ppoll(NULL, 0, &one, &l->wait_mask);
		reap(l);
	}
	if (conn_table_count(l->children) > 0) {
		conn_table_kill(l->children, SIGKILL);
		/* A process stuck in the kernel (a hung NFS mount) outlives
		 * SIGKILL; the listener exits anyway rather than hang. */
		if (conn_table_wait(l->children, LISTEN_KILL_WAIT_MS) > 0)
			log_error("exiting with sessions that ignored SIGKILL");
	}
}

/* A listener no remote client can log in through deserves a warning:
 * no TLS and plaintext_auth = no leave only LOGINDISABLED. */
static void
warn_if_no_login_possible(const struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len;
	size_t i;

	if (l->tls != NULL || l->cfg->plaintext_auth)
		return;
	for (i = 0; i < l->n_socks; i++) {
		len = sizeof(ss);
		if (getsockname(l->socks[i].fd, (struct sockaddr *)&ss, &len) ==
			    0 &&
		    !server_addr_is_local((struct sockaddr *)&ss, len))
			log_warn("%s: without tls_cert and with plaintext_auth "
				 "= no, only local clients can log in",
				 l->socks[i].name);
	}
}

int
listen_run(struct server_config *cfg, const struct listen_opts *o)
{
	struct listener l;
	char err[512];
	int n, status = 1;

	memset(&l, 0, sizeof(l));
	l.cfg = cfg;
	l.o = o;
	l.children = conn_table_new();
	if (transport_tls_load(cfg, &l.tls, err, sizeof(err)) < 0) {
		start_error(&l, "%s", err);
		goto out;
	}
	n = take_systemd_fds(&l);
	if (n < 0 || (n == 0 && bind_all(&l) < 0))
		goto out;
	if (l.tls == NULL) {
		for (n = 0; (size_t)n < l.n_socks; n++) {
			if (l.socks[n].is_tls) {
				start_error(
					&l,
					"%s needs TLS but tls_cert is unset",
					l.socks[n].name);
				goto out;
			}
		}
	}
	if (!o->foreground && daemon(0, 0) < 0) {
		start_error(&l, "daemon: %s", strerror(errno));
		goto out;
	}
	warn_if_no_login_possible(&l);
	setup_signals(&l);
	log_info("imapmoved %s ready on %zu sockets", IMAPMOVED_VERSION,
		 l.n_socks);
	serve(&l);
	stop(&l);
	status = 0;
out:
	close_socks(&l);
	conn_table_free(&l.children);
	transport_tls_free(&l.tls);
	config_free(cfg);
	return status;
}
