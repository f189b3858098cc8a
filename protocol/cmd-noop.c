/* NOOP (RFC 3501 6.1.2) and CHECK (6.4.1): nothing to do but answer, and
 * in the selected state the moment to send untagged updates (EXPUNGEs
 * included). The store writes through at every change, so CHECK has no
 * checkpoint of its own to make.
 */
#include "protocol/imap-private.h"

enum imap_status
cmd_noop(struct imap_cmd *cmd)
{
	imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL, "NOOP completed.");
	return IMAP_STATUS_CONTINUE;
}

enum imap_status
cmd_check(struct imap_cmd *cmd)
{
	imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL, "CHECK completed.");
	return IMAP_STATUS_CONTINUE;
}
