/* CAPABILITY (RFC 3501 6.1.1): the untagged list of exactly what this
 * connection offers in its current state, then the tagged OK.
 */
#include "protocol/imap-private.h"

/* capability-data = "CAPABILITY" *(SP capability) SP "IMAP4rev1"
 *                   *(SP capability)                       (RFC 3501 9) */
enum imap_status
cmd_capability(struct imap_cmd *cmd)
{
	struct buf b;

	buf_init(&b, 0);
	(void)buf_puts(&b, "* CAPABILITY "); /* b has no maximum */
	imap_capability_append(cmd->s, &b);
	(void)buf_puts(&b, "\r\n");
	imap_resp_raw(cmd->s, b.data, b.len);
	buf_free(&b);
	imap_resp_tagged(cmd->s, cmd->tag, IMAP_RESP_OK, NULL,
			 "Capability completed.");
	return IMAP_STATUS_CONTINUE;
}
