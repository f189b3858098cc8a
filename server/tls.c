/* TLS with GnuTLS (see tls.h): loading and checking the certificate, key
 * and priorities once, then one server handshake and record I/O per session
 * for STARTTLS (RFC 3501 6.2.1, RFC 2595) and implicit TLS (RFC 8314).
 * Transport I/O is our own read/write over an fd pair, so inetd's distinct
 * stdin/stdout and pipes work, and a handshake never outlives its deadline. */
#include "tls.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "lib/buf.h"
#include "lib/io.h"
#include "lib/log.h"
#include "lib/mem.h"

/* TLS 1.2 and 1.3 only, AEAD ciphers only, forward secrecy only (no static
 * RSA key exchange), and the server's order of preference wins. */
#define TLS_DEFAULT_PRIORITY                                                   \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:-AES-256-CBC:"     \
	"-AES-128-CBC:-SHA1:%SERVER_PRECEDENCE"

/* A PEM chain or key larger than this is certainly not one. */
#define TLS_PEM_MAX ((size_t)1024 * 1024)

struct tls_ctx {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	/* Session tickets (RFC 5077, and TLS 1.3 resumption): made when the
	 * configuration is loaded, before the listener forks, so that every
	 * session process of one listener accepts the tickets the others
	 * issued and a client reconnecting skips the full handshake. Never
	 * written anywhere; a restart or reload makes a new one. */
	gnutls_datum_t ticket_key;
};

struct tls_conn {
	gnutls_session_t s;
	int fd_in;
	int fd_out;
	/* send(MSG_NOSIGNAL) on a socket, write_nosigpipe() on anything else
	 * (a pipe under inetd): a vanished peer is EPIPE, never SIGPIPE. */
	bool out_is_socket;
	/* During the handshake every transport read and write first waits in
	 * poll(), bounded by deadline_ms (CLOCK_MONOTONIC, 0: no limit). */
	bool in_handshake;
	int64_t deadline_ms;
	bool timed_out;
	/* tls_conn_write waits at most this long for POLLOUT (0: forever). */
	unsigned write_timeout_secs;
	/* The peer closed its side (read returned 0). */
	bool eof;
	/* tls_conn_read returned 0 (end of stream) and will again. */
	bool ended;
	/* The TLS 1.3 session ticket went out (with the first data). */
	bool ticket_sent;
	/* The last transport errno other than EAGAIN and EINTR, 0 if none. */
	int io_errno;
	char desc[160];
	char err[160];
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	/* Truncation is fine: the text is a one-line reason for a log. */
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
tls_global_init(void)
{
	int ret;

	if (gnutls_check_version("3.6.5") == NULL) {
		log_error("tls: GnuTLS %s is too old, 3.6.5 or later needed",
			  gnutls_check_version(NULL));
		return -1;
	}
	ret = gnutls_global_init();
	if (ret < 0) {
		log_error("tls: gnutls_global_init: %s", gnutls_strerror(ret));
		return -1;
	}
	return 0;
}

void
tls_global_deinit(void)
{
	gnutls_global_deinit();
}

/* Read a PEM file named by config key `what` into b. */
static int
read_pem(const char *what, const char *path, struct buf *b, char *err,
	 size_t errlen)
{
	buf_init(b, TLS_PEM_MAX);
	if (io_read_file(path, b) < 0) {
		int saved = errno;

		seterr(err, errlen, "%s %s: %s", what, path,
		       saved == EFBIG ? "file too large" : strerror(saved));
		buf_free(b);
		return -1;
	}
	return 0;
}

/* Wipe and free a buffer that held key material. */
static void
wipe_buf(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

static void
format_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		(void)snprintf(out, outlen, "@%lld", (long long)t);
}

/* The leaf alone is checked: an expired cross-signed root still sent in a
 * chain (as happened with Let's Encrypt in 2021) breaks no client. */
static int
check_validity(gnutls_x509_crt_t leaf, const char *path, char *err,
	       size_t errlen)
{
	time_t now = time(NULL);
	time_t from = gnutls_x509_crt_get_activation_time(leaf);
	time_t until = gnutls_x509_crt_get_expiration_time(leaf);
	char from_s[40], until_s[40];

	if (from == (time_t)-1 || until == (time_t)-1) {
		seterr(err, errlen,
		       "tls_cert %s: cannot read the certificate's validity "
		       "period",
		       path);
		return -1;
	}
	format_time(from, from_s, sizeof(from_s));
	format_time(until, until_s, sizeof(until_s));
	if (now < from) {
		seterr(err, errlen,
		       "tls_cert %s: certificate is not yet valid: valid from "
		       "%s until %s",
		       path, from_s, until_s);
		return -1;
	}
	if (now > until) {
		seterr(err, errlen,
		       "tls_cert %s: certificate expired on %s (valid from %s "
		       "until %s)",
		       path, until_s, from_s, until_s);
		return -1;
	}
	return 0;
}

/* Parse the PEM chain in pem (leaf first). The caller frees *crts_r. */
static int
import_chain(const char *path, const struct buf *pem,
	     gnutls_x509_crt_t **crts_r, unsigned int *ncrts_r, char *err,
	     size_t errlen)
{
	gnutls_datum_t d;
	int ret;

	d.data = (unsigned char *)pem->data;
	d.size = (unsigned int)pem->len;
	ret = gnutls_x509_crt_list_import2(
		crts_r, ncrts_r, &d, GNUTLS_X509_FMT_PEM,
		GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
	if (ret == GNUTLS_E_CERTIFICATE_LIST_UNSORTED)
		seterr(err, errlen,
		       "tls_cert %s: chain out of order (the server "
		       "certificate comes first, then each issuer)",
		       path);
	else if (ret == GNUTLS_E_NO_CERTIFICATE_FOUND ||
		 ret == GNUTLS_E_BASE64_DECODING_ERROR ||
		 ret == GNUTLS_E_BASE64_UNEXPECTED_HEADER_ERROR)
		seterr(err, errlen, "tls_cert %s: no PEM certificate found",
		       path);
	else if (ret < 0)
		seterr(err, errlen, "tls_cert %s: %s", path,
		       gnutls_strerror(ret));
	return ret < 0 ? -1 : 0;
}

/* Parse the unencrypted PEM private key in pem into *key_r, which the
 * caller frees (also after a failure). */
static int
import_key(const char *path, const struct buf *pem,
	   gnutls_x509_privkey_t *key_r, char *err, size_t errlen)
{
	gnutls_datum_t d;
	int ret;

	ret = gnutls_x509_privkey_init(key_r);
	if (ret < 0) {
		*key_r = NULL;
		seterr(err, errlen, "tls_key %s: %s", path,
		       gnutls_strerror(ret));
		return -1;
	}
	d.data = (unsigned char *)pem->data;
	d.size = (unsigned int)pem->len;
	ret = gnutls_x509_privkey_import2(*key_r, &d, GNUTLS_X509_FMT_PEM, NULL,
					  0);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE ||
	    ret == GNUTLS_E_BASE64_DECODING_ERROR ||
	    ret == GNUTLS_E_BASE64_UNEXPECTED_HEADER_ERROR)
		seterr(err, errlen, "tls_key %s: no PEM private key found",
		       path);
	else if (ret == GNUTLS_E_DECRYPTION_FAILED)
		/* The key is loaded unattended, so it cannot have a
		 * passphrase; its file mode protects it instead. */
		seterr(err, errlen,
		       "tls_key %s: the key is encrypted; a passphrase is not "
		       "supported",
		       path);
	else if (ret < 0)
		seterr(err, errlen, "tls_key %s: %s", path,
		       gnutls_strerror(ret));
	return ret < 0 ? -1 : 0;
}

/* Check and install the chain in cert_pem with the key in key_pem. */
static int
load_keypair(gnutls_certificate_credentials_t cred, const char *cert_path,
	     const struct buf *cert_pem, const char *key_path,
	     const struct buf *key_pem, char *err, size_t errlen)
{
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_privkey_t key = NULL;
	unsigned int ncrts = 0, i;
	int ret, rc = -1;

	if (import_chain(cert_path, cert_pem, &crts, &ncrts, err, errlen) < 0)
		return -1;
	if (check_validity(crts[0], cert_path, err, errlen) < 0)
		goto fail_free_crts;
	if (import_key(key_path, key_pem, &key, err, errlen) < 0)
		goto fail_free_key;

	/* GnuTLS checks here that the key belongs to the leaf certificate.
	 * ncrts fits an int: a 1 MiB file holds a few thousand at most. */
	ret = gnutls_certificate_set_x509_key(cred, crts, (int)ncrts, key);
	if (ret == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
		seterr(err, errlen,
		       "certificate and key do not match (tls_cert %s, tls_key "
		       "%s)",
		       cert_path, key_path);
	else if (ret < 0)
		seterr(err, errlen, "tls_cert %s with tls_key %s: %s",
		       cert_path, key_path, gnutls_strerror(ret));
	else
		rc = 0;

fail_free_key:
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
fail_free_crts:
	for (i = 0; i < ncrts; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return rc;
}

/* Compile the priority string, reporting where a bad one goes wrong. */
static int
load_priority(const char *priority, gnutls_priority_t *prio_r, char *err,
	      size_t errlen)
{
	const char *p = priority != NULL ? priority : TLS_DEFAULT_PRIORITY;
	const char *errpos = NULL;
	int ret;

	ret = gnutls_priority_init2(prio_r, p, &errpos, 0);
	if (ret == GNUTLS_E_NO_PRIORITIES_WERE_SET) {
		/* Well-formed, but nothing is left to negotiate. */
		seterr(err, errlen,
		       "tls_priority \"%s\" enables no TLS version or no "
		       "cipher",
		       p);
		return -1;
	}
	if (ret < 0) {
		if (errpos != NULL && errpos >= p && errpos <= p + strlen(p))
			seterr(err, errlen,
			       "tls_priority \"%s\": unknown keyword or bad "
			       "syntax at position %zu (\"%s\")",
			       p, (size_t)(errpos - p) + 1, errpos);
		else
			seterr(err, errlen, "tls_priority \"%s\": %s", p,
			       gnutls_strerror(ret));
		return -1;
	}
	return 0;
}

int
tls_ctx_load(const char *cert, const char *key, const char *priority,
	     struct tls_ctx **ctx_r, char *err, size_t errlen)
{
	struct tls_ctx *ctx;
	struct buf cert_pem, key_pem;
	int ret;

	seterr(err, errlen, "%s", "");
	if (read_pem("tls_cert", cert, &cert_pem, err, errlen) < 0)
		return -1;
	if (read_pem("tls_key", key, &key_pem, err, errlen) < 0)
		goto fail_free_cert_pem;
	ctx = xcalloc(1, sizeof(*ctx));
	ret = gnutls_certificate_allocate_credentials(&ctx->cred);
	if (ret < 0) {
		seterr(err, errlen, "tls: %s", gnutls_strerror(ret));
		goto fail_free_ctx;
	}
	if (load_keypair(ctx->cred, cert, &cert_pem, key, &key_pem, err,
			 errlen) < 0)
		goto fail_free_cred;
	/* The RFC 7919 group for DHE at the strength GnuTLS recommends; ECDHE
	 * needs no parameters. */
	ret = gnutls_certificate_set_known_dh_params(ctx->cred,
						     GNUTLS_SEC_PARAM_MEDIUM);
	if (ret < 0) {
		seterr(err, errlen, "tls: DH parameters: %s",
		       gnutls_strerror(ret));
		goto fail_free_cred;
	}
	if (load_priority(priority, &ctx->prio, err, errlen) < 0)
		goto fail_free_cred;
	ret = gnutls_session_ticket_key_generate(&ctx->ticket_key);
	if (ret < 0) {
		seterr(err, errlen, "tls: session ticket key: %s",
		       gnutls_strerror(ret));
		gnutls_priority_deinit(ctx->prio);
		goto fail_free_cred;
	}
	wipe_buf(&key_pem);
	buf_free(&cert_pem);
	*ctx_r = ctx;
	return 0;

fail_free_cred:
	gnutls_certificate_free_credentials(ctx->cred);
fail_free_ctx:
	free(ctx);
	wipe_buf(&key_pem);
fail_free_cert_pem:
	buf_free(&cert_pem);
	return -1;
}

void
tls_ctx_free(struct tls_ctx **ctxp)
{
	struct tls_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	gnutls_priority_deinit(ctx->prio);
	gnutls_certificate_free_credentials(ctx->cred);
	gnutls_memset(ctx->ticket_key.data, 0, ctx->ticket_key.size);
	gnutls_free(ctx->ticket_key.data);
	free(ctx);
	*ctxp = NULL;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* During the handshake, wait until fd is ready for events or the deadline
 * passes. Returns 0, or -1 with errno ETIMEDOUT (and c->timed_out) or the
 * poll error. Outside the handshake it returns 0 at once: the session loop
 * polls, and a non-blocking fd then yields EAGAIN. */
static int
wait_fd(struct tls_conn *c, int fd, short events)
{
	struct pollfd pfd;
	int r, ms;

	if (!c->in_handshake)
		return 0;
	for (;;) {
		ms = -1;
		if (c->deadline_ms != 0) {
			int64_t left = c->deadline_ms - now_ms();

			if (left <= 0) {
				c->timed_out = true;
				errno = ETIMEDOUT;
				return -1;
			}
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, ms);
		/* POLLHUP and POLLERR count as ready: the read or write that
		 * follows reports what happened. */
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* Hand errno to GnuTLS, which maps EAGAIN and EINTR to its own codes. */
static void
pass_errno(struct tls_conn *c, int e)
{
	if (e != EAGAIN && e != EWOULDBLOCK && e != EINTR)
		c->io_errno = e;
	gnutls_transport_set_errno(c->s, e);
}

static ssize_t
conn_pull(gnutls_transport_ptr_t ptr, void *p, size_t n)
{
	struct tls_conn *c = ptr;
	ssize_t r;

	if (wait_fd(c, c->fd_in, POLLIN) < 0) {
		pass_errno(c, errno);
		return -1;
	}
	r = read(c->fd_in, p, n);
	if (r < 0)
		pass_errno(c, errno);
	else if (r == 0)
		c->eof = true;
	return r;
}

/* write(2) that turns SIGPIPE into plain EPIPE, for pipes, where
 * MSG_NOSIGNAL does not exist: block the signal, write, and take back a
 * SIGPIPE that this write raised (not one that was already pending). */
static ssize_t
write_nosigpipe(int fd, const void *p, size_t n)
{
	static const struct timespec zero = {0, 0};
	sigset_t pipe_set, old_set, pending;
	bool was_pending;
	ssize_t w;
	int saved;

	(void)sigemptyset(&pipe_set);
	(void)sigaddset(&pipe_set, SIGPIPE);
	was_pending = sigpending(&pending) == 0 &&
		      sigismember(&pending, SIGPIPE) == 1;
	if (sigprocmask(SIG_BLOCK, &pipe_set, &old_set) < 0)
		return -1;
	w = write(fd, p, n);
	saved = errno;
	if (w < 0 && saved == EPIPE && !was_pending) {
		/* Consume our SIGPIPE; a timeout (none pending) is fine. */
		(void)sigtimedwait(&pipe_set, NULL, &zero);
	}
	/* Restoring a mask we just read cannot fail. */
	(void)sigprocmask(SIG_SETMASK, &old_set, NULL);
	errno = saved;
	return w;
}

static ssize_t
conn_push(gnutls_transport_ptr_t ptr, const void *p, size_t n)
{
	struct tls_conn *c = ptr;
	ssize_t w;

	if (wait_fd(c, c->fd_out, POLLOUT) < 0) {
		pass_errno(c, errno);
		return -1;
	}
	if (c->out_is_socket)
		w = send(c->fd_out, p, n, MSG_NOSIGNAL);
	else
		w = write_nosigpipe(c->fd_out, p, n);
	if (w < 0)
		pass_errno(c, errno);
	return w;
}

/* GnuTLS calls this while its own handshake timer runs: >0 when fd_in is
 * readable, 0 on timeout, -1 on error. */
static int
conn_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct tls_conn *c = ptr;
	struct pollfd pfd;
	int r, wait = ms > INT_MAX ? INT_MAX : (int)ms;

	if (ms == GNUTLS_INDEFINITE_TIMEOUT)
		wait = -1;
	pfd.fd = c->fd_in;
	pfd.events = POLLIN;
	pfd.revents = 0;
	r = poll(&pfd, 1, wait);
	if (r < 0)
		pass_errno(c, errno);
	return r;
}

static bool
peer_gone(const struct tls_conn *c)
{
	return c->eof || c->io_errno == EPIPE || c->io_errno == ECONNRESET;
}

/* Turn a failed handshake into the session's log text. */
static void
handshake_error(struct tls_conn *c, int ret, unsigned timeout_secs, char *err,
		size_t errlen)
{
	if (c->timed_out || ret == GNUTLS_E_TIMEDOUT)
		seterr(err, errlen, "TLS handshake timed out after %u s",
		       timeout_secs);
	else if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED)
		seterr(err, errlen,
		       "TLS handshake failed: client sent alert: %s",
		       gnutls_alert_get_name(gnutls_alert_get(c->s)));
	else if (peer_gone(c))
		seterr(err, errlen,
		       "TLS handshake failed: client closed the connection");
	else if (ret == GNUTLS_E_PULL_ERROR || ret == GNUTLS_E_PUSH_ERROR)
		seterr(err, errlen, "TLS handshake failed: %s error: %s",
		       ret == GNUTLS_E_PULL_ERROR ? "read" : "write",
		       strerror(c->io_errno));
	else if (ret == GNUTLS_E_UNSUPPORTED_VERSION_PACKET)
		seterr(err, errlen,
		       "TLS handshake failed: client offers no TLS version "
		       "enabled here (%s)",
		       gnutls_strerror(ret));
	else
		seterr(err, errlen, "TLS handshake failed: %s",
		       gnutls_strerror(ret));
}

static void
conn_free(struct tls_conn *c)
{
	gnutls_deinit(c->s);
	free(c);
}

/* Fill in the session and its transport: our read/write, not GnuTLS's
 * recv/send, which fail with ENOTSOCK on inetd pipes. */
static int
conn_setup(struct tls_conn *c, struct tls_ctx *ctx, unsigned timeout_secs)
{
	int ret;

	ret = gnutls_priority_set(c->s, ctx->prio);
	if (ret == 0)
		ret = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE,
					     ctx->cred);
	if (ret < 0)
		return ret;
	gnutls_certificate_server_set_request(c->s, GNUTLS_CERT_IGNORE);
	ret = gnutls_session_ticket_enable_server(c->s, &ctx->ticket_key);
	if (ret < 0)
		return ret;
	gnutls_transport_set_ptr(c->s, c);
	gnutls_transport_set_pull_function(c->s, conn_pull);
	gnutls_transport_set_push_function(c->s, conn_push);
	gnutls_transport_set_pull_timeout_function(c->s, conn_pull_timeout);
	/* Our deadline in wait_fd bounds each read and write; GnuTLS's own
	 * timer bounds the whole handshake as well. */
	if (timeout_secs == 0 || timeout_secs > UINT_MAX / 1000 - 1)
		gnutls_handshake_set_timeout(c->s, GNUTLS_INDEFINITE_TIMEOUT);
	else
		gnutls_handshake_set_timeout(c->s, timeout_secs * 1000);
	return 0;
}

int
tls_conn_handshake(struct tls_ctx *ctx, int fd_in, int fd_out,
		   unsigned timeout_secs, struct tls_conn **conn_r, char *err,
		   size_t errlen)
{
	struct tls_conn *c;
	struct stat st;
	char *desc;
	int ret;

	seterr(err, errlen, "%s", "");
	c = xcalloc(1, sizeof(*c));
	c->fd_in = fd_in;
	c->fd_out = fd_out;
	c->out_is_socket = fstat(fd_out, &st) == 0 && S_ISSOCK(st.st_mode);
	c->in_handshake = true;
	if (timeout_secs != 0)
		c->deadline_ms = now_ms() + (int64_t)timeout_secs * 1000;
	/* Under TLS 1.3 the ticket is a message of its own after the
	 * handshake. Sent alone, after STARTTLS, it reaches a client that
	 * waits for the answer to its first command with nothing to read:
	 * offlineimap (imaplib2) then hangs for good. It goes out with our
	 * first data instead (tls_conn_write). */
	ret = gnutls_init(&c->s, GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET);
	if (ret < 0) {
		seterr(err, errlen, "TLS session set-up failed: %s",
		       gnutls_strerror(ret));
		free(c);
		return -1;
	}
	ret = conn_setup(c, ctx, timeout_secs);
	if (ret < 0) {
		seterr(err, errlen, "TLS session set-up failed: %s",
		       gnutls_strerror(ret));
		conn_free(c);
		return -1;
	}

	/* Non-fatal codes (EAGAIN on a non-blocking fd, EINTR, a warning
	 * alert) mean "call again"; wait_fd keeps this bounded. */
	do
		ret = gnutls_handshake(c->s);
	while (ret < 0 && gnutls_error_is_fatal(ret) == 0 && !c->timed_out);
	if (ret < 0) {
		handshake_error(c, ret, timeout_secs, err, errlen);
		/* Tell a live client why, within the same deadline. */
		if (!c->timed_out && !peer_gone(c) && c->io_errno == 0)
			(void)gnutls_alert_send_appropriate(c->s, ret);
		conn_free(c);
		return -1;
	}

	c->in_handshake = false;
	c->deadline_ms = 0;
	desc = gnutls_session_get_desc(c->s);
	(void)snprintf(c->desc, sizeof(c->desc), "%s",
		       desc != NULL ? desc : "TLS");
	gnutls_free(desc);
	*conn_r = c;
	return 0;
}

/* Record a fatal record-layer error for tls_conn_error(). */
static void
record_error(struct tls_conn *c, const char *op, int ret)
{
	if (ret == GNUTLS_E_PULL_ERROR || ret == GNUTLS_E_PUSH_ERROR)
		(void)snprintf(c->err, sizeof(c->err), "TLS %s failed: %s", op,
			       strerror(c->io_errno));
	else
		(void)snprintf(c->err, sizeof(c->err), "TLS %s failed: %s", op,
			       gnutls_strerror(ret));
}

ssize_t
tls_conn_read(struct tls_conn *c, void *p, size_t n)
{
	ssize_t r;

	/* GnuTLS fails a read after a premature end; keep saying "end". */
	if (c->ended)
		return 0;
	for (;;) {
		r = gnutls_record_recv(c->s, p, n);
		if (r == 0)
			c->ended = true;
		if (r >= 0)
			return r;
		switch (r) {
		case GNUTLS_E_AGAIN:
			errno = EAGAIN;
			return -1;
		case GNUTLS_E_INTERRUPTED:
			continue;
		case GNUTLS_E_PREMATURE_TERMINATION:
			/* A client that drops the connection without
			 * close_notify is common and harmless for IMAP: every
			 * command is complete or it is not executed. */
			c->eof = true;
			c->ended = true;
			return 0;
		case GNUTLS_E_REHANDSHAKE:
			/* IMAP never needs renegotiation (TLS 1.2 only), and
			 * GnuTLS keeps the refused ClientHello buffered, so
			 * the session cannot go on: say so and end it. */
			(void)gnutls_alert_send(c->s, GNUTLS_AL_WARNING,
						GNUTLS_A_NO_RENEGOTIATION);
			(void)snprintf(c->err, sizeof(c->err), "%s",
				       "TLS read failed: client asked to "
				       "renegotiate, which is not supported");
			errno = EPROTO;
			return -1;
		default:
			break;
		}
		if (gnutls_error_is_fatal((int)r) == 0)
			continue;
		record_error(c, "read", (int)r);
		errno = c->io_errno != 0 ? c->io_errno : EPROTO;
		return -1;
	}
}

bool
tls_conn_pending(const struct tls_conn *c)
{
	return gnutls_record_check_pending(c->s) > 0;
}

/* Wait until fd_out takes data again after EAGAIN on a non-blocking fd. */
static int
wait_writable(const struct tls_conn *c)
{
	struct pollfd pfd;

	int ms = c->write_timeout_secs > 0 &&
				 c->write_timeout_secs < INT_MAX / 1000
			 ? (int)c->write_timeout_secs * 1000
			 : -1;
	int r;

	pfd.fd = c->fd_out;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	/* A client that stops reading must not hold the process forever: the
	 * session's idle timeout bounds every wait (EINTR restarts it). */
	while ((r = poll(&pfd, 1, ms)) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return 0;
}

void
tls_conn_set_write_timeout(struct tls_conn *c, unsigned secs)
{
	c->write_timeout_secs = secs;
}

int
tls_conn_write(struct tls_conn *c, const void *p, size_t n)
{
	const char *b = p;
	ssize_t w;

	if (!c->ticket_sent) {
		c->ticket_sent = true;
		if (gnutls_protocol_get_version(c->s) == GNUTLS_TLS1_3)
			(void)gnutls_session_ticket_send(c->s, 1, 0);
	}
	while (n > 0) {
		w = gnutls_record_send(c->s, b, n);
		if (w == GNUTLS_E_AGAIN) {
			/* GnuTLS keeps the record; the retry sends it. */
			if (wait_writable(c) < 0) {
				c->io_errno = errno;
				record_error(c, "write", GNUTLS_E_PUSH_ERROR);
				return -1;
			}
			continue;
		}
		if (w == GNUTLS_E_INTERRUPTED)
			continue;
		if (w < 0) {
			record_error(c, "write", (int)w);
			errno = c->io_errno != 0 ? c->io_errno : EPROTO;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

void
tls_conn_close(struct tls_conn **cp)
{
	struct tls_conn *c = *cp;

	if (c == NULL)
		return;
	/* Best effort, one try: a close_notify to a peer that is still there.
	 * Waiting for its reply would let a silent client hold us. */
	if (!peer_gone(c) && c->io_errno == 0)
		(void)gnutls_bye(c->s, GNUTLS_SHUT_WR);
	conn_free(c);
	*cp = NULL;
}

const char *
tls_conn_describe(const struct tls_conn *c)
{
	return c->desc;
}

const char *
tls_conn_error(const struct tls_conn *c)
{
	return c->err[0] != '\0' ? c->err : "no TLS error";
}
