/* A session's byte pipe: plain reads and writes on the client fds, or the
 * same through GnuTLS once TLS has started (STARTTLS, RFC 3501 section
 * 6.2.1; implicit TLS, RFC 8314). The only file that calls server/tls.h,
 * so the rest of server/ never sees whether bytes are encrypted.
 */
#include "server.h"

#include <stdio.h>
#include <string.h>

#include "lib/io.h"
#include "tls.h"

/* tls_global_init() ran (once per process, before the first load). */
static bool is_initialised;

void
transport_init(struct transport *t, int fd_in, int fd_out)
{
	t->fd_in = fd_in;
	t->fd_out = fd_out;
	t->tls = NULL;
	t->bytes_in = 0;
	t->bytes_out = 0;
}

ssize_t
transport_read(struct transport *t, void *p, size_t n)
{
	ssize_t r;

	r = t->tls != NULL ? tls_conn_read(t->tls, p, n)
			   : io_read(t->fd_in, p, n);
	if (r > 0)
		t->bytes_in += (uint64_t)r;
	return r;
}

int
transport_write(struct transport *t, const void *p, size_t n)
{
	int r;

	r = t->tls != NULL ? tls_conn_write(t->tls, p, n)
			   : io_write_all(t->fd_out, p, n);
	if (r == 0)
		t->bytes_out += n;
	return r;
}

bool
transport_pending(const struct transport *t)
{
	return t->tls != NULL && tls_conn_pending(t->tls);
}

int
transport_start_tls(struct transport *t, struct tls_ctx *ctx,
		    unsigned timeout_secs, char *err, size_t errlen)
{
	if (t->tls != NULL) {
		(void)snprintf(err, errlen, "TLS is already active");
		return -1;
	}
	return tls_conn_handshake(ctx, t->fd_in, t->fd_out, timeout_secs,
				  &t->tls, err, errlen);
}

void
transport_set_write_timeout(struct transport *t, unsigned secs)
{
	if (t->tls != NULL)
		tls_conn_set_write_timeout(t->tls, secs);
}

const char *
transport_error(const struct transport *t, int saved_errno)
{
	return t->tls != NULL ? tls_conn_error(t->tls) : strerror(saved_errno);
}

const char *
transport_tls_describe(const struct transport *t)
{
	return t->tls != NULL ? tls_conn_describe(t->tls) : NULL;
}

void
transport_finish(struct transport *t)
{
	tls_conn_close(&t->tls);
}

int
transport_tls_load(const struct server_config *cfg, struct tls_ctx **ctx_r,
		   char *err, size_t errlen)
{
	char why[256];

	*ctx_r = NULL;
	if (cfg->tls_cert == NULL)
		return 0;
	if (!is_initialised) {
		if (tls_global_init() < 0) {
			(void)snprintf(err, errlen,
				       "TLS library set-up failed");
			return -1;
		}
		is_initialised = true;
	}
	why[0] = '\0';
	if (tls_ctx_load(cfg->tls_cert, cfg->tls_key, cfg->tls_priority, ctx_r,
			 why, sizeof(why)) < 0) {
		(void)snprintf(err, errlen, "%s:%u: tls_cert: %s", cfg->path,
			       cfg->tls_cert_line, why);
		return -1;
	}
	return 0;
}

void
transport_tls_free(struct tls_ctx **ctxp)
{
	tls_ctx_free(ctxp);
}

void
transport_tls_deinit(void)
{
	if (is_initialised)
		tls_global_deinit();
	is_initialised = false;
}
