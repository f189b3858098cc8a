/* AUTHENTICATE (RFC 3501 6.2.2) with the PLAIN (RFC 4616) and LOGIN
 * mechanisms, the initial response of SASL-IR (RFC 4959), and the
 * continuation flow: "+ challenge", then one base64 line from the client
 * ("*" cancels). Decoded credentials are wiped once used, never logged.
 */
#include "protocol/imap-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mem.h"

/* The LOGIN mechanism's prompts, "Username:" and "Password:" in base64. */
#define LOGIN_USER_PROMPT "+ VXNlcm5hbWU6\r\n"
#define LOGIN_PASS_PROMPT "+ UGFzc3dvcmQ6\r\n"

void
imap_sasl_clear(struct imap_session *s)
{
	free(s->sasl_tag);
	s->sasl_tag = NULL;
	if (s->sasl_user != NULL) {
		explicit_bzero(s->sasl_user, strlen(s->sasl_user));
		free(s->sasl_user);
		s->sasl_user = NULL;
	}
	s->sasl_mech = IMAP_SASL_NONE;
	s->sasl_step = 0;
}

/* End the exchange with a tagged BAD. */
static enum imap_status
sasl_bad(struct imap_session *s, const char *text)
{
	imap_resp_tagged(s, s->sasl_tag, IMAP_RESP_BAD, NULL, text);
	imap_sasl_clear(s);
	return IMAP_STATUS_CONTINUE;
}

/* Send a challenge and read the next line raw. */
static enum imap_status
sasl_challenge(struct imap_session *s, const char *line)
{
	imap_resp_raw(s, line, strlen(line));
	imap_frame_expect_raw_line(&s->frame);
	return IMAP_STATUS_CONTINUE;
}

static enum imap_status
sasl_login(struct imap_session *s, const char *authzid, const char *user,
	   const char *pass)
{
	enum imap_status st;
	char *tag = s->sasl_tag;

	s->sasl_tag = NULL;
	st = imap_session_login(s, tag, authzid, user, pass);
	free(tag);
	imap_sasl_clear(s);
	return st;
}

/* message   = [authzid] UTF8NUL authcid UTF8NUL passwd     (RFC 4616 2)
 * Exactly two NULs: a third would let "user\0x" pass as "user". */
static enum imap_status
sasl_plain(struct imap_session *s, const char *msg, size_t len)
{
	const char *nul1, *nul2;

	nul1 = memchr(msg, '\0', len);
	nul2 = nul1 == NULL
		       ? NULL
		       : memchr(nul1 + 1, '\0', len - (size_t)(nul1 - msg) - 1);
	if (nul2 == NULL || strlen(nul2 + 1) != len - (size_t)(nul2 - msg) - 1)
		return sasl_bad(s, "Invalid PLAIN response.");
	return sasl_login(s, nul1 == msg ? NULL : msg, nul1 + 1, nul2 + 1);
}

/* One decoded client response (msg is NUL-terminated at len). */
static enum imap_status
sasl_step(struct imap_session *s, const char *msg, size_t len)
{
	if (s->sasl_mech == IMAP_SASL_PLAIN)
		return sasl_plain(s, msg, len);
	if (memchr(msg, '\0', len) != NULL)
		return sasl_bad(s, "NUL byte in LOGIN response.");
	if (s->sasl_step == 0) {
		s->sasl_user = xstrndup(msg, len);
		s->sasl_step = 1;
		return sasl_challenge(s, LOGIN_PASS_PROMPT);
	}
	return sasl_login(s, NULL, s->sasl_user, msg);
}

/* base64 as sent, or "=" for an empty response (RFC 4959 3). */
static enum imap_status
sasl_input(struct imap_session *s, const char *line, size_t len)
{
	enum imap_status st;
	unsigned char *msg;
	size_t msg_len, cap;

	if (len == 1 && line[0] == '=')
		len = 0;
	/* len / 4 * 3 + 1 cannot overflow: len is within the line limit. */
	cap = len / 4 * 3 + 1;
	msg = xmalloc(cap);
	if (imap_base64_decode(line, len, msg, &msg_len) < 0) {
		free(msg);
		return sasl_bad(s, "Invalid base64 in SASL response.");
	}
	msg[msg_len] = '\0';
	st = sasl_step(s, (const char *)msg, msg_len);
	explicit_bzero(msg, cap);
	free(msg);
	return st;
}

enum imap_status
imap_sasl_continue(struct imap_session *s, const char *line, size_t len)
{
	/* RFC 3501 6.2.2: "*" cancels, answered with BAD. */
	if (len == 1 && line[0] == '*')
		return sasl_bad(s, "Authentication cancelled.");
	return sasl_input(s, line, len);
}

/* authenticate    = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]
 *                   *(CRLF base64)                         (RFC 4959 7) */
enum imap_status
cmd_authenticate(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_arg *mech = &cmd->args[0];
	const struct imap_arg *ir = cmd->count > 1 ? &cmd->args[1] : NULL;
	enum imap_sasl_mech m;

	if (imap_arg_is_atom(mech, "PLAIN"))
		m = IMAP_SASL_PLAIN;
	else if (imap_arg_is_atom(mech, "LOGIN"))
		m = IMAP_SASL_LOGIN;
	else {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_NO, NULL,
				 "Unsupported authentication mechanism.");
		return IMAP_STATUS_CONTINUE;
	}
	if (ir != NULL && ir->type != IMAP_ARG_ATOM) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL,
				 "Invalid initial response.");
		return IMAP_STATUS_CONTINUE;
	}
	if (imap_session_refuse_plaintext(s, cmd->tag))
		return IMAP_STATUS_CONTINUE;
	s->sasl_mech = m;
	s->sasl_step = 0;
	s->sasl_tag = xstrdup(cmd->tag);
	if (ir != NULL) {
		enum imap_status st = sasl_input(s, ir->str, ir->len);

		imap_arg_wipe(ir);
		return st;
	}
	return sasl_challenge(s, m == IMAP_SASL_PLAIN ? "+ \r\n"
						      : LOGIN_USER_PROMPT);
}
