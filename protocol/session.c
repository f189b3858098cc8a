/* One IMAP session as a byte machine (RFC 3501 sections 3 and 7.1.5): it
 * takes the client's bytes, runs the framer over them, answers each event
 * (a command, a literal to accept or refuse, a line too long) in order,
 * and tracks the connection state, login and timeouts. Never touches a
 * socket or a file: output goes through the write hook, credentials
 * through the authenticate hook.
 */
#include "protocol/imap-private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"

void
imap_limits_default(struct imap_limits *l)
{
	l->max_line_length = IMAP_DEFAULT_MAX_LINE_LENGTH;
	l->max_literal_size = IMAP_DEFAULT_MAX_LITERAL_SIZE;
	l->max_small_literal = IMAP_DEFAULT_MAX_SMALL_LITERAL;
	l->max_nesting = IMAP_DEFAULT_MAX_NESTING;
	l->max_bad_commands = IMAP_DEFAULT_MAX_BAD_COMMANDS;
}

void
imap_config_default(struct imap_config *c)
{
	memset(c, 0, sizeof(*c));
	imap_limits_default(&c->limits);
	c->plaintext_auth = false;
	c->is_secure = false;
	c->starttls_available = false;
	c->max_auth_failures = 3;
	c->login_timeout = 60;
	c->idle_timeout = 1800;
	c->session_id = "";
	c->watch_poll = false;
	c->poll_interval = 30;
}

/* capability      = ("AUTH=" auth-type) / atom             (RFC 3501 9)
 * Exactly what is implemented, for this connection and state. */
void
imap_capability_append(const struct imap_session *s, struct buf *b)
{
	int ret;

	if (s->state != IMAP_STATE_NOT_AUTH) {
		/* no max on b */
		(void)buf_puts(b, "IMAP4rev1 LITERAL+ ID UNSELECT CHILDREN "
				  "UIDPLUS MOVE IDLE");
		return;
	}
	ret = buf_puts(b, "IMAP4rev1 LITERAL+ ID");
	if (ret == 0 && s->cfg.starttls_available && !s->tls_active)
		ret = buf_puts(b, " STARTTLS");
	/* SASL-IR (RFC 4959) goes with the mechanisms: under LOGINDISABLED
	 * no AUTH= is offered, so there is nothing to send one to. */
	if (ret == 0 && !s->is_secure && !s->cfg.plaintext_auth)
		ret = buf_puts(b, " LOGINDISABLED");
	else if (ret == 0)
		ret = buf_puts(b, " AUTH=PLAIN AUTH=LOGIN SASL-IR");
	(void)ret; /* b has no maximum: appends cannot fail */
}

/* The text of a status response carrying the capability list. */
static void
capability_status(struct imap_session *s, const char *tag, const char *text)
{
	struct buf code;

	buf_init(&code, 0);
	(void)buf_puts(&code, "CAPABILITY "); /* no max */
	imap_capability_append(s, &code);
	if (tag == NULL)
		imap_resp_untagged(s, IMAP_RESP_OK, buf_cstr(&code), text);
	else
		imap_resp_tagged(s, tag, IMAP_RESP_OK, buf_cstr(&code), text);
	buf_free(&code);
}

static struct imap_session *
session_alloc(const struct imap_config *cfg, const struct imap_hooks *hooks,
	      void *ctx)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));

	s->cfg = *cfg;
	s->session_id = xstrdup(cfg->session_id != NULL ? cfg->session_id : "");
	s->cfg.session_id = s->session_id;
	s->hooks = hooks;
	s->ctx = ctx;
	s->state = IMAP_STATE_NOT_AUTH;
	s->is_secure = cfg->is_secure;
	s->arena = arena_new();
	buf_init(&s->out, 0);
	imap_frame_init(&s->frame, &s->cfg.limits, imap_command_literal_limit,
			s);
	imap_frame_set_stream(&s->frame, imap_append_literal_start,
			      imap_append_literal_data);
	buf_init(&s->handoff_input, 0);
	return s;
}

struct imap_session *
imap_session_new(const struct imap_config *cfg, const struct imap_hooks *hooks,
		 void *ctx)
{
	struct imap_session *s = session_alloc(cfg, hooks, ctx);

	/* greeting       = "*" SP (resp-cond-auth / resp-cond-bye) CRLF */
	capability_status(s, NULL, "imapmoved ready.");
	(void)imap_resp_flush(s); /* a failure shows at the next input */
	return s;
}

struct imap_session *
imap_session_new_authenticated(const struct imap_config *cfg,
			       const struct imap_hooks *hooks, void *ctx,
			       const char *maildir, const char *user)
{
	struct imap_session *s = session_alloc(cfg, hooks, ctx);

	s->cfg.handoff_after_login = false;
	if (md_store_open(maildir, true, &s->store) < 0) {
		imap_session_free(&s);
		return NULL;
	}
	s->maildir = xstrdup(maildir);
	s->user = xstrdup(user);
	s->state = IMAP_STATE_AUTH;
	return s;
}

void
imap_session_handoff_input(const struct imap_session *s, const void **data_r,
			   size_t *len_r)
{
	*data_r = s->handoff_input.data;
	*len_r = s->handoff_input.len;
}

void
imap_session_free(struct imap_session **sp)
{
	struct imap_session *s = *sp;

	if (s == NULL)
		return;
	imap_sasl_clear(s);
	imap_idle_clear(s);
	imap_append_reset(s); /* a disconnect mid-literal leaves nothing */
	imap_view_close(s);
	md_store_free(&s->store);
	imap_frame_deinit(&s->frame);
	arena_free(&s->arena);
	buf_free(&s->out);
	buf_free(&s->handoff_input);
	free(s->user);
	free(s->maildir);
	free(s->session_id);
	free(s);
	*sp = NULL;
}

bool
imap_session_refuse_plaintext(struct imap_session *s, const char *tag)
{
	if (s->is_secure || s->cfg.plaintext_auth)
		return false;
	log_info("login refused: plaintext authentication on a non-secure "
		 "connection");
	imap_resp_tagged(s, tag, IMAP_RESP_NO, "PRIVACYREQUIRED",
			 "Plaintext authentication disallowed on non-secure "
			 "connections.");
	return true;
}

enum imap_status
imap_session_login(struct imap_session *s, const char *tag, const char *authzid,
		   const char *user, const char *pass)
{
	char *maildir = NULL, *canon = NULL;
	enum imap_auth_result r;

	/* Hand over the answers to earlier pipelined commands first: the
	 * hook may sleep (the failure delay) and may flush them meanwhile. */
	(void)imap_resp_flush(s); /* a failure shows after the command */
	r = s->hooks->authenticate(s->ctx, authzid, user, pass, &maildir,
				   &canon);
	if (r == IMAP_AUTH_OK && maildir != NULL &&
	    s->cfg.handoff_after_login) {
		/* The store is opened by the authenticated session, in the
		 * process that runs as the user. */
		s->maildir = maildir;
		s->user = canon != NULL ? canon : xstrdup(user);
		s->state = IMAP_STATE_AUTH;
		capability_status(s, tag, "Logged in");
		return IMAP_STATUS_HANDOFF;
	}
	if (r == IMAP_AUTH_OK && maildir != NULL &&
	    md_store_open(maildir, true, &s->store) < 0) {
		/* Logged by maildir/; the user may try again later. */
		r = IMAP_AUTH_TEMPFAIL;
	}
	if (r == IMAP_AUTH_OK && maildir != NULL) {
		s->maildir = maildir;
		s->user = canon != NULL ? canon : xstrdup(user);
		s->state = IMAP_STATE_AUTH;
		capability_status(s, tag, "Logged in");
		return IMAP_STATUS_CONTINUE;
	}
	free(maildir);
	free(canon);
	if (r == IMAP_AUTH_OK || r == IMAP_AUTH_TEMPFAIL) {
		imap_resp_tagged(s, tag, IMAP_RESP_NO, "UNAVAILABLE",
				 "Authentication temporarily unavailable.");
		return IMAP_STATUS_CONTINUE;
	}
	imap_resp_tagged(s, tag, IMAP_RESP_NO, "AUTHENTICATIONFAILED",
			 "Authentication failed.");
	if (++s->auth_failures < s->cfg.max_auth_failures)
		return IMAP_STATUS_CONTINUE;
	log_info("disconnecting: %u failed authentications", s->auth_failures);
	imap_resp_untagged(s, IMAP_RESP_BYE, NULL,
			   "Too many authentication failures.");
	return IMAP_STATUS_CLOSE;
}

/* The tag to answer a dropped command with: its own when the bytes
 * framed so far hold a valid one, else NULL ("*"). The copy lives in the
 * arena. */
static const char *
frame_tag(struct imap_session *s)
{
	size_t len;
	const char *tag = imap_frame_tag(&s->frame, &len);

	return tag == NULL ? NULL : arena_strndup(s->arena, tag, len);
}

/* Answer one framer event. */
static enum imap_status
handle_event(struct imap_session *s, enum imap_frame_event ev)
{
	const char *data;
	size_t len;

	switch (ev) {
	case IMAP_FRAME_NEED_MORE:
	case IMAP_FRAME_DROPPED: /* already answered */
		break;
	case IMAP_FRAME_CONTINUE:
		/* continue-req    = "+" SP (resp-text / base64) CRLF */
		imap_resp_raw(s, "+ Ready for literal data\r\n", 26);
		(void)imap_resp_flush(s); /* the client waits for it */
		break;
	case IMAP_FRAME_COMMAND:
		data = imap_frame_command(&s->frame, &len);
		return imap_dispatch(s, data, len);
	case IMAP_FRAME_RAW_LINE:
		data = imap_frame_command(&s->frame, &len);
		if (s->idle_tag != NULL)
			return imap_idle_line(s, data, len);
		return imap_sasl_continue(s, data, len);
	case IMAP_FRAME_LITERAL_REFUSED:
		/* RFC 3501 7.5: refuse instead of sending "+"; the client
		 * then sends no literal and the command is over. */
		imap_resp_tagged(s, frame_tag(s), IMAP_RESP_NO, "TOOBIG",
				 "Literal too big.");
		break;
	case IMAP_FRAME_LINE_TOO_LONG:
		if (s->idle_tag != NULL) {
			/* Not DONE: ends the IDLE as any other line does. */
			return imap_idle_line(s, "", 0);
		}
		if (s->sasl_mech != IMAP_SASL_NONE) {
			imap_resp_tagged(s, s->sasl_tag, IMAP_RESP_BAD, NULL,
					 "SASL response too long.");
			imap_sasl_clear(s);
			break;
		}
		imap_resp_tagged(s, frame_tag(s), IMAP_RESP_BAD, NULL,
				 "Command line too long.");
		break;
	case IMAP_FRAME_FATAL_LITERAL:
		/* RFC 7888 section 4: the client sends a {n+} literal
		 * without waiting, so refusing it means closing. */
		log_info("disconnecting: non-synchronizing literal of %llu "
			 "bytes over the limit",
			 (unsigned long long)s->frame.refused_size);
		imap_resp_tagged(s, frame_tag(s), IMAP_RESP_BAD, "TOOBIG",
				 "Literal too big.");
		imap_resp_untagged(s, IMAP_RESP_BYE, NULL,
				   "Non-synchronizing literal too big.");
		return IMAP_STATUS_CLOSE;
	}
	return IMAP_STATUS_CONTINUE;
}

/* After max_bad_commands BADs in a row (0: no limit) say BYE. Returns
 * true when the session must close. */
static bool
too_many_bad(struct imap_session *s)
{
	if (s->cfg.limits.max_bad_commands == 0 ||
	    s->bad_in_row < s->cfg.limits.max_bad_commands)
		return false;
	log_info("disconnecting: %u invalid commands in a row", s->bad_in_row);
	imap_resp_untagged(s, IMAP_RESP_BYE, NULL,
			   "Too many invalid commands.");
	return true;
}

enum imap_status
imap_session_input(struct imap_session *s, const void *data, size_t len)
{
	const char *p = data;
	enum imap_status st = IMAP_STATUS_CONTINUE;
	enum imap_frame_event ev;
	size_t n;

	if (s->closed || s->write_failed)
		return IMAP_STATUS_CLOSE;
	while (len > 0 && st == IMAP_STATUS_CONTINUE && !s->write_failed) {
		n = imap_frame_feed(&s->frame, p, len, &ev);
		p += n;
		len -= n;
		/* A BAD from the framer's hook (an APPEND refused as its
		 * literal began) counts before whatever event the rest of
		 * the bytes produced, so the answer never depends on how
		 * the input was cut into chunks. */
		st = too_many_bad(s) ? IMAP_STATUS_CLOSE : handle_event(s, ev);
		/* A sync outside a handler (an APPEND refused from the
		 * framer's hook) may have said BYE too. */
		if (s->must_close)
			st = IMAP_STATUS_CLOSE;
		/* Wipe the command's bytes now (a password may be among
		 * them) unless the handler asked for a SASL line. */
		if (s->frame.complete) {
			imap_frame_reset(&s->frame);
			/* An APPEND refused after its literal began. */
			imap_append_reset(s);
		}
		arena_reset(s->arena);
		if (st == IMAP_STATUS_CONTINUE && too_many_bad(s))
			st = IMAP_STATUS_CLOSE;
	}
	if (st == IMAP_STATUS_STARTTLS) {
		/* Whatever followed STARTTLS was sent in clear before the
		 * handshake: never run it (the CVE-2011-0411 class). */
		imap_frame_reset(&s->frame);
	}
	if (st == IMAP_STATUS_HANDOFF) {
		/* Pipelined after the login: the authenticated session runs
		 * it. The login's own bytes were wiped with its frame. */
		(void)buf_append(&s->handoff_input, p, len); /* no max */
	}
	if (imap_resp_flush(s) < 0)
		st = IMAP_STATUS_CLOSE;
	if (st == IMAP_STATUS_CLOSE) {
		s->closed = true;
		s->state = IMAP_STATE_LOGOUT;
	}
	return st;
}

void
imap_session_tls_started(struct imap_session *s)
{
	s->is_secure = true;
	s->tls_active = true;
	imap_frame_reset(&s->frame);
}

unsigned
imap_session_timeout(const struct imap_session *s)
{
	return s->state == IMAP_STATE_NOT_AUTH ? s->cfg.login_timeout
					       : s->cfg.idle_timeout;
}

/* Write a BYE and mark the session closed. */
static enum imap_status
session_bye(struct imap_session *s, const char *text)
{
	if (!s->closed)
		imap_resp_untagged(s, IMAP_RESP_BYE, NULL, text);
	(void)imap_resp_flush(s); /* closing anyway */
	s->closed = true;
	s->state = IMAP_STATE_LOGOUT;
	return IMAP_STATUS_CLOSE;
}

enum imap_status
imap_session_timeout_expired(struct imap_session *s)
{
	log_info("disconnecting: %s timeout",
		 s->state == IMAP_STATE_NOT_AUTH ? "login" : "idle");
	return session_bye(s, "Autologout; idle for too long.");
}

enum imap_status
imap_session_shutdown(struct imap_session *s)
{
	return session_bye(s, "Server shutting down.");
}

bool
imap_session_is_authenticated(const struct imap_session *s)
{
	return s->user != NULL;
}

const char *
imap_session_user(const struct imap_session *s)
{
	return s->user;
}

const char *
imap_session_maildir(const struct imap_session *s)
{
	return s->maildir;
}
