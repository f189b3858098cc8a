/* STARTTLS (RFC 3501 6.2.1, RFC 2595): only where offered (TLS configured,
 * TLS not yet active; a loopback connection counts as secure for passwords
 * but may still ask for TLS). The tagged OK is the last plaintext byte;
 * the session discards whatever the client pipelined after the command
 * and server/ starts the handshake.
 */
#include "protocol/imap-private.h"

enum imap_status
cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;

	if (s->tls_active) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL,
				 "TLS is already active.");
		return IMAP_STATUS_CONTINUE;
	}
	if (!s->cfg.starttls_available) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL,
				 "STARTTLS is not available.");
		return IMAP_STATUS_CONTINUE;
	}
	imap_resp_tagged(s, cmd->tag, IMAP_RESP_OK, NULL,
			 "Begin TLS negotiation now.");
	return IMAP_STATUS_STARTTLS;
}
