/* TLS for imapmoved with GnuTLS: server credentials loaded once (before
 * privileges are dropped) and one TLS connection per session, used for
 * STARTTLS (RFC 3501 6.2.1, RFC 2595) and implicit TLS (RFC 8314).
 * Only server/ includes this header. */
#ifndef SERVER_TLS_H
#define SERVER_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Server-wide credentials and priorities. */
struct tls_ctx;
/* One TLS connection over a connected file descriptor (or an in/out pair
 * for inetd mode, where stdin and stdout differ). */
struct tls_conn;

/* Global library set-up; call once per process before anything else.
 * Returns 0 or -1. */
int tls_global_init(void);
void tls_global_deinit(void);

/* Load cert (full chain, PEM), key (PEM) and priority string (NULL for
 * the default "TLS 1.2 and 1.3 only, secure ciphers"). Checks that the key
 * matches the certificate and that the leaf certificate is within its
 * validity period. Returns 0 and sets *ctx_r, or -1 with a one-line
 * reason in err (errlen bytes, always NUL-terminated). */
int tls_ctx_load(const char *cert, const char *key, const char *priority,
		 struct tls_ctx **ctx_r, char *err, size_t errlen);
/* Free; accepts NULL, sets *ctxp to NULL. */
void tls_ctx_free(struct tls_ctx **ctxp);

/* Run the server handshake on fd_in/fd_out (the same fd for a socket),
 * giving up after timeout_secs (0: no limit). Returns 0 and sets *conn_r,
 * or -1 with a reason in err (handshake failure, hang-up, timeout). */
int tls_conn_handshake(struct tls_ctx *ctx, int fd_in, int fd_out,
		       unsigned timeout_secs, struct tls_conn **conn_r,
		       char *err, size_t errlen);
/* Read up to n bytes of application data. Returns the count, 0 on a
 * clean close by the peer, or -1 on error (errno EAGAIN when the fd is
 * non-blocking and nothing is ready). */
ssize_t tls_conn_read(struct tls_conn *c, void *p, size_t n);
/* True when decrypted bytes are buffered inside GnuTLS, so the caller
 * must read again before polling the fd. */
bool tls_conn_pending(const struct tls_conn *c);
/* Bound how long tls_conn_write() waits for the client to read: after
 * secs seconds without progress it fails with errno ETIMEDOUT (0, the
 * default: wait without limit). */
void tls_conn_set_write_timeout(struct tls_conn *c, unsigned secs);
/* Write all n bytes. Returns 0 or -1. */
int tls_conn_write(struct tls_conn *c, const void *p, size_t n);
/* Send close_notify (best effort) and free; accepts NULL, sets *cp to
 * NULL. Does not close the fds. */
void tls_conn_close(struct tls_conn **cp);
/* Protocol and cipher of an established connection, for the log line. */
const char *tls_conn_describe(const struct tls_conn *c);
/* After tls_conn_read or tls_conn_write returned -1 for an error other
 * than EAGAIN: a one-line reason for the log line. The string lives as
 * long as c. */
const char *tls_conn_error(const struct tls_conn *c);

#endif
