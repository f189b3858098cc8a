/* SUBSCRIBE and UNSUBSCRIBE (RFC 3501 6.3.6, 6.3.7): the subscription list
 * the store keeps; a name need not exist to be subscribed, and
 * unsubscribing an absent name is not an error.
 */
#include "protocol/imap-private.h"

/* subscribe       = "SUBSCRIBE" SP mailbox
 * unsubscribe     = "UNSUBSCRIBE" SP mailbox               (RFC 3501 9) */
enum imap_status
cmd_subscribe(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	bool on = cmd->name[0] == 'S';
	const char *name, *error;

	if (imap_arg_get_mailbox(s->arena, &cmd->args[0], &name, &error) < 0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	if (!md_name_valid(name)) {
		imap_cmd_tagged(cmd, IMAP_RESP_NO, "CANNOT",
				"Invalid mailbox name.");
		return IMAP_STATUS_CONTINUE;
	}
	if (md_store_subscribe(s->store, name, on) < 0)
		imap_cmd_store_error(cmd, false);
	else
		imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL,
				on ? "SUBSCRIBE completed."
				   : "UNSUBSCRIBE completed.");
	return IMAP_STATUS_CONTINUE;
}
