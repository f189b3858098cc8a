/* NOOP (RFC 3501 6.1.2): does nothing but answer; once a mailbox can be
 * selected (issue 4) it is also the moment to send untagged updates.
 */
#include "protocol/imap-private.h"

enum imap_status
cmd_noop(struct imap_cmd *cmd)
{
	imap_resp_tagged(cmd->s, cmd->tag, IMAP_RESP_OK, NULL,
			 "NOOP completed.");
	return IMAP_STATUS_CONTINUE;
}
