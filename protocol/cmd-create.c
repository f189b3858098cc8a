/* CREATE, DELETE and RENAME (RFC 3501 6.3.3 - 6.3.5): folder management
 * through the store, which decides what a valid name is and keeps
 * children when their parent goes (it then shows as \Noselect).
 */
#include "protocol/imap-private.h"

#include <string.h>

/* create          = "CREATE" SP mailbox                     (RFC 3501 9)
 * A trailing delimiter only says children will follow (6.3.3). */
enum imap_status
cmd_create(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const char *name, *error;
	size_t len;

	if (imap_arg_get_mailbox(s->arena, &cmd->args[0], &name, &error) < 0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	len = strlen(name);
	if (len > 1 && name[len - 1] == '.')
		name = arena_strndup(s->arena, name, len - 1);
	if (md_box_create(s->store, name) < 0)
		imap_cmd_store_error(cmd, false);
	else
		imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL, "CREATE completed.");
	return IMAP_STATUS_CONTINUE;
}

/* Is name the selected mailbox? */
static bool
is_selected(const struct imap_session *s, const char *name)
{
	return s->view.box != NULL &&
	       strcmp(md_box_name(s->view.box), name) == 0;
}

/* delete          = "DELETE" SP mailbox                     (RFC 3501 9)
 * Deleting the selected mailbox ends the selection first, with
 * OK [CLOSED] (the RFC 7162 / 9051 code for exactly that). */
enum imap_status
cmd_delete(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const char *name, *error;

	if (imap_arg_get_mailbox(s->arena, &cmd->args[0], &name, &error) < 0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	if (strcmp(name, "INBOX") != 0 && is_selected(s, name)) {
		imap_view_close(s);
		imap_resp_untagged(s, IMAP_RESP_OK, "CLOSED",
				   "Selected mailbox is being deleted.");
	}
	if (md_box_delete(s->store, name) < 0)
		imap_cmd_store_error(cmd, false);
	else
		imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL, "DELETE completed.");
	return IMAP_STATUS_CONTINUE;
}

/* rename          = "RENAME" SP mailbox SP mailbox          (RFC 3501 9)
 * Children follow; renaming INBOX moves its messages into the new folder
 * (INBOX stays, empty). A selected folder stays selected under its new
 * name (the store follows it). */
enum imap_status
cmd_rename(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const char *from, *to, *error;

	if (imap_arg_get_mailbox(s->arena, &cmd->args[0], &from, &error) < 0 ||
	    imap_arg_get_mailbox(s->arena, &cmd->args[1], &to, &error) < 0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	if (md_box_rename(s->store, from, to) < 0)
		imap_cmd_store_error(cmd, false);
	else
		imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL, "RENAME completed.");
	return IMAP_STATUS_CONTINUE;
}
