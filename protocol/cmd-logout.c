/* LOGOUT (RFC 3501 6.1.3): an untagged BYE, then the tagged OK, then the
 * server closes the connection.
 */
#include "protocol/imap-private.h"

enum imap_status
cmd_logout(struct imap_cmd *cmd)
{
	imap_resp_untagged(cmd->s, IMAP_RESP_BYE, NULL, "Logging out.");
	imap_resp_tagged(cmd->s, cmd->tag, IMAP_RESP_OK, NULL,
			 "Logout completed.");
	cmd->s->state = IMAP_STATE_LOGOUT;
	return IMAP_STATUS_CLOSE;
}
