/* One connection's life: TLS when asked, the greeting, then a loop that
 * waits for client bytes (with the autologout timer of RFC 3501 section
 * 5.4) and, for IDLE (RFC 2177), for changes of the selected mailbox and
 * the keepalive, feeds them to protocol/ and flushes what it wrote. Also the
 * two hooks protocol/ calls back: write (buffered here) and authenticate
 * (auth.c). Runs in a forked child or the inetd process; never accepts.
 *
 * Started as root, a connection is served by two processes until login,
 * so that nothing a client sends before it has authenticated (TLS
 * handshake included) is handled by a process that can regain root:
 *   - the login process drops to an unprivileged user at once and runs
 *     the transport and the not-authenticated state; it asks for each
 *     LOGIN/AUTHENTICATE over a socketpair and, on success, answers the
 *     client's OK and hands over what the client sent after it;
 *   - the parent (root, never reading the client) checks the password
 *     (auth.c), and after the handover drops to the user and runs the
 *     authenticated session on the client's descriptors. Over TLS, whose
 *     state lives in the login process, that process stays as a relay
 *     between the client and a socketpair the session uses instead.
 */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/io.h"
#include "lib/mem.h"
#include "protocol/imap.h"

/* Output is sent when input processing returns, or earlier once this much
 * is waiting (a large FETCH must not pile up in memory). */
#define SESSION_FLUSH_AT ((size_t)64 * 1024)
#define SESSION_READ_CHUNK ((size_t)16 * 1024)

struct session {
	const struct session_params *p;
	struct transport t;
	struct buf out;
	struct auth_state auth;
	struct imap_session *imap;
	bool is_lost; /* a write failed: the client is gone */
	const char *end_reason;
	/* The login process's channel to its root parent, else -1. */
	int ctl;
	/* IMAP_STATUS_HANDOFF came: the authenticated session takes over. */
	bool handoff;
};

/* The ctl messages: 'A' authzid NUL user NUL password NUL (login ->
 * parent); 'O' user NUL, 'F' (failed), 'T' (temporary failure) (parent ->
 * login); 'H', the bytes read and written so far (two uint64_t), then the
 * client's pipelined bytes, with the relay's socket as SCM_RIGHTS over TLS
 * (login -> parent). The parent drops to the user before it answers 'O',
 * so a client that sees its login's OK is already served by a process
 * that cannot regain root. */
#define CTL_MAX ((size_t)512 * 1024)

static volatile sig_atomic_t session_got_term;

static void
on_term(int sig)
{
	(void)sig;
	session_got_term = 1;
}

static void
flush(struct session *s)
{
	if (s->out.len == 0 || s->is_lost)
		return;
	if (transport_write(&s->t, s->out.data, s->out.len) < 0) {
		log_debug("write: %s", transport_error(&s->t, errno));
		s->is_lost = true;
		if (s->end_reason == NULL)
			s->end_reason = "write failed";
	}
	buf_reset(&s->out);
}

static int
hook_write(void *ctx, const void *data, size_t len)
{
	struct session *s = ctx;

	if (s->is_lost)
		return -1;
	/* The buffer has no maximum; SESSION_FLUSH_AT bounds it. */
	(void)buf_append(&s->out, data, len);
	if (s->out.len >= SESSION_FLUSH_AT)
		flush(s);
	return s->is_lost ? -1 : 0;
}

/* Privileges may be half dropped: no further command may run, not even
 * one already pipelined, so the process ends here. */
static void __attribute__((noreturn)) abort_session(struct session *s)
{
	static const char bye[] = "* BYE Internal error, session ";

	flush(s);
	(void)buf_printf(&s->out, "%s%s\r\n", bye, s->p->session_id);
	flush(s);
	log_error("session ended: privilege drop failed");
	_exit(1);
}

/* The login process asks its root parent. */
static enum imap_auth_result
remote_authenticate(struct session *s, const char *authzid, const char *user,
		    const char *pass, char **maildir_r, char **user_r)
{
	struct buf b;
	char reply[1024];
	ssize_t n;

	buf_init(&b, 0);
	(void)buf_putc(&b, 'A'); /* no maximum */
	(void)buf_append(&b, authzid != NULL ? authzid : "",
			 strlen(authzid != NULL ? authzid : "") + 1);
	(void)buf_append(&b, user, strlen(user) + 1);
	(void)buf_append(&b, pass, strlen(pass) + 1);
	n = b.len <= CTL_MAX ? send(s->ctl, b.data, b.len, MSG_NOSIGNAL) : -1;
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	if (n < 0)
		return IMAP_AUTH_TEMPFAIL;
	do
		n = recv(s->ctl, reply, sizeof(reply) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		abort_session(s);
	reply[n] = '\0';
	switch (reply[0]) {
	case 'O':
		*maildir_r = xstrdup(""); /* opened by the session, not here */
		*user_r = xstrdup(reply + 1);
		return IMAP_AUTH_OK;
	case 'F':
		return IMAP_AUTH_FAIL;
	default:
		return IMAP_AUTH_TEMPFAIL;
	}
}

static enum imap_auth_result
hook_authenticate(void *ctx, const char *authzid, const char *user,
		  const char *pass, char **maildir_r, char **user_r)
{
	struct session *s = ctx;

	/* The login's reply waits in the buffer until the check is done;
	 * send what came before it now, so the client is not kept waiting
	 * on earlier pipelined answers during the failure delay. */
	flush(s);
	if (s->ctl >= 0)
		return remote_authenticate(s, authzid, user, pass, maildir_r,
					   user_r);
	switch (auth_login(&s->auth, authzid, user, pass, maildir_r, user_r)) {
	case AUTH_OUTCOME_OK:
		return IMAP_AUTH_OK;
	case AUTH_OUTCOME_FAIL:
		return IMAP_AUTH_FAIL;
	case AUTH_OUTCOME_TEMPFAIL:
		return IMAP_AUTH_TEMPFAIL;
	case AUTH_OUTCOME_FATAL:
		break;
	}
	abort_session(s);
}

static double
now_secs(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Why the session woke up. */
enum wake {
	WAKE_CLIENT, /* the client sent something (or hung up) */
	WAKE_WATCH,  /* the selected mailbox changed */
	WAKE_TIMER,  /* the deadline passed */
	WAKE_TERM,   /* SIGTERM */
	WAKE_ERROR,  /* ppoll failed */
};

/* Wait for the client, the mailbox watch descriptor wfd (-1: none) or the
 * deadline (CLOCK_MONOTONIC seconds), blocked in ppoll() with no other
 * timer, so an idle session costs no CPU. SIGTERM is blocked except
 * inside ppoll(), so it cannot slip in between the check and the wait. */
static enum wake
wait_event(struct session *s, int wfd, double deadline, const sigset_t *mask)
{
	struct pollfd pfd[2] = {{s->t.fd_in, POLLIN, 0}, {wfd, POLLIN, 0}};
	struct timespec ts;
	double left;
	int r;

	if (transport_pending(&s->t))
		return WAKE_CLIENT;
	for (;;) {
		if (session_got_term)
			return WAKE_TERM;
		left = deadline - now_secs();
		if (left <= 0)
			return WAKE_TIMER;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		r = ppoll(pfd, wfd >= 0 ? 2 : 1, &ts, mask);
		if (r > 0 && pfd[0].revents != 0)
			return WAKE_CLIENT;
		if (r > 0)
			return WAKE_WATCH;
		if (r < 0 && errno != EINTR) {
			log_error("ppoll: %s", strerror(errno));
			return WAKE_ERROR;
		}
	}
}

static bool
start_tls(struct session *s)
{
	char err[256];

	err[0] = '\0';
	if (transport_start_tls(&s->t, s->p->tls, s->p->cfg->login_timeout, err,
				sizeof(err)) < 0) {
		log_info("TLS handshake failed: %s", err);
		s->end_reason = "TLS handshake failed";
		return false;
	}
	transport_set_write_timeout(&s->t, s->p->cfg->idle_timeout);
	log_info("TLS started: %s", transport_tls_describe(&s->t));
	return true;
}

/* Act on what protocol/ asked for. Returns false when the session ends. */
static bool
after_input(struct session *s, enum imap_status st)
{
	flush(s);
	if (s->is_lost)
		return false;
	switch (st) {
	case IMAP_STATUS_CONTINUE:
		return true;
	case IMAP_STATUS_STARTTLS:
		if (s->p->tls == NULL || !start_tls(s))
			return false;
		imap_session_tls_started(s->imap);
		return true;
	case IMAP_STATUS_CLOSE:
		if (s->end_reason == NULL)
			s->end_reason = "closed";
		return false;
	case IMAP_STATUS_HANDOFF:
		s->handoff = true;
		s->end_reason = "logged in";
		return false;
	}
	return false;
}

/* Read once and feed protocol/. Returns false when the session ends. */
static bool
read_and_feed(struct session *s)
{
	char chunk[SESSION_READ_CHUNK];
	ssize_t n;

	n = transport_read(&s->t, chunk, sizeof(chunk));
	if (n == 0) {
		s->end_reason = "client disconnected";
		return false;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return true;
		s->end_reason = "read failed";
		log_info("read: %s", transport_error(&s->t, errno));
		return false;
	}
	return after_input(s, imap_session_input(s->imap, chunk, (size_t)n));
}

/* After the watch descriptor woke an IDLE, wait this long for the rest
 * of a burst before reporting: a delivery agent writing 1,000 messages
 * then costs a few syncs, not 1,000, and a client still hears of a change
 * well within 100 ms. */
#define SESSION_SETTLE_NSECS 20000000L /* 20 ms */

/* The session's clocks, in CLOCK_MONOTONIC seconds. */
struct session_clock {
	double last_input;     /* the autologout counts from here */
	bool was_idling;       /* idling when the timers were last set */
	double next_keepalive; /* while idling */
	double next_poll;      /* while idling without a watch; 0: none */
};

/* Start or stop the IDLE timers when IDLE began or ended. */
static void
update_timers(const struct session *s, struct session_clock *c)
{
	unsigned poll = imap_session_poll_interval(s->imap);
	double now = now_secs();

	if (!imap_session_is_idling(s->imap)) {
		c->was_idling = false;
		c->next_poll = 0;
		return;
	}
	if (!c->was_idling)
		c->next_keepalive = now + s->p->cfg->idle_keepalive;
	c->was_idling = true;
	if (poll == 0)
		c->next_poll = 0;
	else if (c->next_poll == 0)
		c->next_poll = now + poll;
}

/* The earliest of autologout, keepalive and fallback poll. RFC 2177 lets
 * the server end an IDLE after its inactivity timeout, so keepalives do
 * not move the autologout: idle_timeout (30 minutes by default) leaves
 * the 29 minutes clients count on. */
static double
next_deadline(const struct session *s, const struct session_clock *c)
{
	double d = c->last_input + imap_session_timeout(s->imap);

	if (!c->was_idling)
		return d;
	if (c->next_keepalive < d)
		d = c->next_keepalive;
	if (c->next_poll != 0 && c->next_poll < d)
		d = c->next_poll;
	return d;
}

/* A deadline passed: autologout, keepalive or fallback poll. Returns false
 * when the session ends. */
static bool
on_timer(struct session *s, struct session_clock *c)
{
	double now = now_secs();

	if (now >= c->last_input + imap_session_timeout(s->imap)) {
		s->end_reason = "autologout";
		(void)after_input(s, imap_session_timeout_expired(s->imap));
		return false;
	}
	if (c->was_idling && now >= c->next_keepalive) {
		c->next_keepalive = now + s->p->cfg->idle_keepalive;
		if (!after_input(s, imap_session_keepalive(s->imap)))
			return false;
	}
	if (c->next_poll != 0 && now >= c->next_poll) {
		c->next_poll = now + imap_session_poll_interval(s->imap);
		if (!after_input(s, imap_session_changed(s->imap)))
			return false;
	}
	return true;
}

/* The selected mailbox changed. While idling, let a burst settle first
 * (waking early only for the client, whose bytes are read next round);
 * otherwise protocol/ only empties the queue. */
static bool
on_change(struct session *s, const sigset_t *mask)
{
	struct pollfd pfd = {s->t.fd_in, POLLIN, 0};
	struct timespec ts = {0, SESSION_SETTLE_NSECS};

	if (imap_session_is_idling(s->imap) && !transport_pending(&s->t))
		(void)ppoll(&pfd, 1, &ts, mask); /* any outcome: report now */
	return after_input(s, imap_session_changed(s->imap));
}

static void
serve(struct session *s, const sigset_t *mask)
{
	struct session_clock c;

	memset(&c, 0, sizeof(c));
	c.last_input = now_secs();
	for (;;) {
		update_timers(s, &c);
		switch (wait_event(s, imap_session_watch_fd(s->imap),
				   next_deadline(s, &c), mask)) {
		case WAKE_CLIENT:
			c.last_input = now_secs();
			if (!read_and_feed(s))
				return;
			break;
		case WAKE_WATCH:
			if (!on_change(s, mask))
				return;
			break;
		case WAKE_TIMER:
			if (!on_timer(s, &c))
				return;
			break;
		case WAKE_TERM:
			s->end_reason = "server shutting down";
			(void)after_input(s, imap_session_shutdown(s->imap));
			return;
		case WAKE_ERROR:
			s->end_reason = "poll failed";
			return;
		}
	}
}

static void
fill_imap_config(const struct session *s, struct imap_config *ic)
{
	const struct server_config *cfg = s->p->cfg;

	imap_config_default(ic);
	ic->limits.max_line_length = cfg->max_line_length;
	ic->limits.max_literal_size = cfg->max_literal_size;
	if (ic->limits.max_small_literal > cfg->max_literal_size)
		ic->limits.max_small_literal = (size_t)cfg->max_literal_size;
	ic->plaintext_auth = cfg->plaintext_auth;
	ic->is_secure = s->p->is_local || s->t.tls != NULL;
	ic->starttls_available = s->p->tls != NULL && s->t.tls == NULL;
	ic->max_auth_failures = cfg->max_auth_failures;
	ic->login_timeout = cfg->login_timeout;
	ic->idle_timeout = cfg->idle_timeout;
	ic->watch_poll = cfg->mailbox_watch_poll;
	ic->poll_interval = cfg->mailbox_poll_interval;
	ic->session_id = s->p->session_id;
}

/* Bound how long a write may block on a client that stopped reading. A
 * pipe (inetd from a shell) cannot have one; that is fine. */
static void
set_write_timeout(int fd, unsigned secs)
{
	struct timeval tv = {(time_t)secs, 0};

	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 &&
	    errno != ENOTSOCK)
		log_debug("SO_SNDTIMEO: %s", strerror(errno));
}

/* Send each write at once. The session already gathers a command's
 * responses into large writes, so Nagle's algorithm only ever holds back
 * the short tail of a big response until the client's delayed ACK, up to
 * 40 ms on Linux. Not a TCP socket (a pipe, a UNIX socket): nothing to do. */
static void
set_no_delay(int fd)
{
	int on = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0 &&
	    errno != ENOTSOCK && errno != EOPNOTSUPP && errno != ENOPROTOOPT)
		log_debug("TCP_NODELAY: %s", strerror(errno));
}

/* SIGTERM sets a flag and stays blocked except while waiting; *mask_r is
 * the mask to wait with. */
static void
setup_signals(sigset_t *mask_r)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	(void)sigemptyset(&block);
	(void)sigaddset(&block, SIGTERM);
	(void)sigprocmask(SIG_BLOCK, &block, mask_r);
	(void)sigdelset(mask_r, SIGTERM);
}

/* The fields every kind of session starts with. */
static void
session_init(struct session *s, const struct session_params *p, int fd_in,
	     int fd_out)
{
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->ctl = -1;
	s->auth.cfg = p->cfg;
	s->auth.stop = &session_got_term;
	buf_init(&s->out, 0);
	transport_init(&s->t, fd_in, fd_out);
}

static void
session_end(struct session *s)
{
	const char *user = s->imap != NULL ? imap_session_user(s->imap) : NULL;

	log_info("logout: user=%s in=%llu out=%llu reason=\"%s\"",
		 user != NULL ? user : "-", (unsigned long long)s->t.bytes_in,
		 (unsigned long long)s->t.bytes_out,
		 s->end_reason != NULL ? s->end_reason : "-");
	imap_session_free(&s->imap);
	transport_finish(&s->t);
	buf_free(&s->out);
}

/* Until login (or to the end, when not split): TLS when asked, the
 * greeting, the not-authenticated commands. */
static void
serve_connection(struct session *s, const sigset_t *mask)
{
	const struct session_params *p = s->p;
	struct imap_hooks hooks = {hook_write, hook_authenticate};
	struct imap_config ic;

	log_info("connect: peer=%s%s", p->peer,
		 p->implicit_tls ? " (implicit TLS)" : "");
	if (!p->implicit_tls || (p->tls != NULL && start_tls(s))) {
		fill_imap_config(s, &ic);
		ic.handoff_after_login = s->ctl >= 0;
		s->imap = imap_session_new(&ic, &hooks, s);
		flush(s);
		if (!s->is_lost)
			serve(s, mask);
	} else if (s->end_reason == NULL) {
		s->end_reason = "TLS is not configured";
	}
}

/* Copy between the client (TLS) and fd, the authenticated session's end
 * of a socketpair, until the session closes its end. What the session
 * wrote before it closed (its last answers, a BYE) is still relayed after
 * the client side has ended or refused more input. */
static void
relay(struct session *s, int fd, const sigset_t *mask)
{
	char buf[SESSION_READ_CHUNK];
	bool client_open = true;
	ssize_t n;

	for (;;) {
		struct pollfd pfd[2] = {{fd, POLLIN, 0},
					{s->t.fd_in, POLLIN, 0}};
		bool pending = client_open && transport_pending(&s->t);

		if (!pending &&
		    ppoll(pfd, client_open ? 2 : 1, NULL, mask) < 0) {
			if (errno == EINTR && !session_got_term)
				continue;
			return;
		}
		if (pfd[0].revents != 0) {
			n = read(fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 ||
			    transport_write(&s->t, buf, (size_t)n) < 0)
				return;
		}
		if (client_open && (pending || pfd[1].revents != 0)) {
			n = transport_read(&s->t, buf, sizeof(buf));
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0 || io_write_all(fd, buf, (size_t)n) < 0) {
				/* The client is gone, or the session no longer
				 * reads: let it see the end, keep draining. */
				client_open = false;
				(void)shutdown(fd, SHUT_WR);
			}
		}
	}
}

/* The unprivileged user of login processes: "nobody", else 65534. */
static void
login_ids(uid_t *uid_r, gid_t *gid_r)
{
	const struct passwd *pw = getpwnam("nobody");

	*uid_r = pw != NULL && pw->pw_uid != 0 ? pw->pw_uid : 65534;
	*gid_r = pw != NULL && pw->pw_gid != 0 ? pw->pw_gid : 65534;
}

/* The login process: never returns. */
static void __attribute__((noreturn))
login_process(const struct session_params *p, int ctl, uid_t uid, gid_t gid,
	      const sigset_t *maskp)
{
	struct session s;
	const void *rest;
	size_t len;
	sigset_t mask = *maskp;
	int io[2] = {-1, -1};

	session_init(&s, p, p->fd_in, p->fd_out);
	s.ctl = ctl;
	if (privdrop(uid, gid) < 0)
		_exit(1);
	serve_connection(&s, &mask);
	if (!s.handoff) {
		session_end(&s);
		_exit(0);
	}
	imap_session_handoff_input(s.imap, &rest, &len);
	{
		struct buf b;
		struct msghdr mh;
		struct iovec iov;
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(sizeof(int))];
		} cm;

		uint64_t counts[2] = {s.t.bytes_in, s.t.bytes_out};

		buf_init(&b, 0);
		(void)buf_putc(&b, 'H'); /* no maximum */
		(void)buf_append(&b, counts, sizeof(counts));
		(void)buf_append(&b, rest, len);
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = b.data;
		iov.iov_len = b.len;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (s.t.tls != NULL) {
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				       io) < 0) {
				log_error("socketpair: %s", strerror(errno));
				_exit(1);
			}
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.space;
			mh.msg_controllen = sizeof(cm.space);
			CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
			CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
			CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &io[0],
			       sizeof(int));
		}
		if (b.len > CTL_MAX || sendmsg(ctl, &mh, MSG_NOSIGNAL) < 0) {
			log_error("handover: %s", strerror(errno));
			_exit(1);
		}
		buf_free(&b);
	}
	if (io[0] >= 0) {
		(void)close(io[0]);
		relay(&s, io[1], &mask);
		(void)close(io[1]);
	}
	imap_session_free(&s.imap);
	transport_finish(&s.t);
	buf_free(&s.out);
	_exit(0);
}

/* The parent after the handover, already the user: serve the
 * authenticated session on fd (the relay's socketpair; -1: the client's
 * own descriptors), first running what the client pipelined (msg: the
 * byte counts, then those bytes). */
static int
authenticated_process(const struct session_params *p, const char *maildir,
		      const char *user, int fd, const char *msg, size_t len,
		      const sigset_t *mask)
{
	struct imap_hooks hooks = {hook_write, hook_authenticate};
	struct imap_config ic;
	struct session s;
	uint64_t counts[2] = {0, 0};
	const char *rest = msg;

	session_init(&s, p, fd >= 0 ? fd : p->fd_in, fd >= 0 ? fd : p->fd_out);
	if (len >= sizeof(counts)) {
		memcpy(counts, msg, sizeof(counts));
		rest += sizeof(counts);
		len -= sizeof(counts);
	}
	/* The logout line counts the whole connection. */
	s.t.bytes_in = counts[0];
	s.t.bytes_out = counts[1];
	fill_imap_config(&s, &ic);
	if (fd >= 0) { /* TLS, in the login process */
		ic.is_secure = true;
		ic.starttls_available = false;
	}
	s.imap = imap_session_new_authenticated(&ic, &hooks, &s, maildir, user);
	if (s.imap == NULL) {
		(void)buf_printf(&s.out, "* BYE Internal error, session %s\r\n",
				 p->session_id);
		flush(&s);
		s.end_reason = "store unavailable";
	} else if (len == 0 ||
		   after_input(&s, imap_session_input(s.imap, rest, len))) {
		serve(&s, mask);
	}
	session_end(&s);
	return 0;
}

/* The string after the one at p in a message of NUL-terminated strings
 * ending at end (where a NUL is): a missing one is the empty string at
 * end. */
static const char *
next_str(const char *p, const char *end)
{
	p += strlen(p) + 1;
	return p < end ? p : end;
}

/* The root parent of a login process: checks passwords, then becomes the
 * authenticated session. */
static int
parent_process(const struct session_params *p, int ctl, pid_t child,
	       const sigset_t *maskp)
{
	struct auth_state a;
	char *maildir = NULL, *user = NULL, *msg = xmalloc(CTL_MAX + 1);
	bool ok = false;
	sigset_t mask = *maskp;
	int status = 0, fd = -1;

	memset(&a, 0, sizeof(a));
	a.cfg = p->cfg;
	a.stop = &session_got_term;
	for (;;) {
		struct pollfd pfd = {ctl, POLLIN, 0};
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(sizeof(int))];
		} cm;
		struct iovec iov = {msg, CTL_MAX};
		struct msghdr mh;
		struct cmsghdr *c;
		ssize_t n;

		if (ppoll(&pfd, 1, NULL, &mask) < 0) {
			if (errno == EINTR && session_got_term)
				(void)kill(child, SIGTERM); /* its BYE */
			session_got_term = 0;
			continue;
		}
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.space;
		mh.msg_controllen = sizeof(cm.space);
		n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (mh.msg_flags & MSG_TRUNC) != 0)
			break;
		msg[n] = '\0';
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS && fd < 0)
				memcpy(&fd, CMSG_DATA(c), sizeof(int));
		if (msg[0] == 'A' && !ok) {
			const char *end = msg + n; /* msg[n] is NUL */
			const char *authzid = msg + 1;
			const char *u = next_str(authzid, end);
			const char *pass = next_str(u, end);
			char *md = NULL, *canon = NULL, reply[300];
			enum auth_outcome r;

			/* On success this drops to the user. */
			r = auth_login(&a, authzid, u, pass, &md, &canon);
			explicit_bzero(msg, (size_t)n);
			if (r == AUTH_OUTCOME_FATAL) {
				/* Half dropped: the login process reads
				 * the end of ctl and says BYE. */
				(void)kill(child, SIGTERM);
				status = 1;
				break;
			}
			if (r == AUTH_OUTCOME_OK) {
				free(maildir);
				free(user);
				maildir = md;
				user = canon;
				ok = true;
				(void)snprintf(reply, sizeof(reply), "O%s",
					       user);
			} else {
				(void)snprintf(reply, sizeof(reply), "%c",
					       r == AUTH_OUTCOME_FAIL ? 'F'
								      : 'T');
			}
			(void)send(ctl, reply, strlen(reply) + 1, MSG_NOSIGNAL);
			continue;
		}
		if (msg[0] == 'H' && ok) {
			(void)close(ctl);
			/* A plain connection's login process exits now:
			 * reap it before the session, which may be long. */
			if (fd < 0) {
				while (waitpid(child, NULL, 0) < 0 &&
				       errno == EINTR)
					;
				child = -1;
			}
			status = authenticated_process(p, maildir, user, fd,
						       msg + 1, (size_t)n - 1,
						       &mask);
			break;
		}
		break;
	}
	free(msg);
	free(maildir);
	free(user);
	/* The login process has ended, or relays until it reads the end of
	 * the socketpair, which closing our end gives it: reap it. */
	if (fd >= 0)
		(void)close(fd);
	while (child > 0 && waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	return status;
}

int
session_run(const struct session_params *p)
{
	struct session s;
	sigset_t mask;
	uid_t uid;
	gid_t gid;
	int ctl[2];
	pid_t pid;

	log_set_session(p->session_id);
	set_write_timeout(p->fd_out, p->cfg->idle_timeout);
	set_no_delay(p->fd_out);
	/* Before any fork: a SIGTERM must never find a process without the
	 * handler (the parent forwards it to the login process). */
	setup_signals(&mask);
	if (geteuid() == 0) {
		if (p->cfg->has_login_user) {
			uid = p->cfg->login_uid;
			gid = p->cfg->login_gid;
		} else {
			login_ids(&uid, &gid);
		}
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) <
		    0) {
			log_error("socketpair: %s", strerror(errno));
			return 1;
		}
		pid = fork();
		if (pid < 0) {
			log_error("fork: %s", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			(void)close(ctl[0]);
			login_process(p, ctl[1], uid, gid, &mask);
		}
		(void)close(ctl[1]);
		return parent_process(p, ctl[0], pid, &mask);
	}
	/* Not root: one process, serving mail as ourselves. */
	session_init(&s, p, p->fd_in, p->fd_out);
	serve_connection(&s, &mask);
	session_end(&s);
	return 0;
}
