/* SELECT and EXAMINE (RFC 3501 6.3.1, 6.3.2): open a mailbox read-write or
 * read-only and describe it. Any earlier selection is closed first,
 * silently (no expunge), so a failed SELECT leaves nothing selected.
 */
#include "protocol/imap-private.h"

#include <string.h>

/* Write "* OK [code] text" with a number in the code. */
static void
ok_number(struct imap_session *s, const char *code, uint32_t n,
	  const char *text)
{
	const char *c = arena_printf(s->arena, "%s %u", code, n);

	imap_resp_untagged(s, IMAP_RESP_OK, c, text);
}

/* The sequence number of the first message without \Seen, or 0. The
 * view is still lazy (the box's messages as they are). */
static uint32_t
first_unseen(const struct md_box *box)
{
	const struct md_msg *m;
	uint32_t i, count;

	m = md_box_messages(box, &count);
	for (i = 0; i < count; i++) {
		if ((m[i].flags & MD_FLAG_SEEN) == 0)
			return i + 1;
	}
	return 0;
}

/* select          = "SELECT" SP mailbox
 * examine         = "EXAMINE" SP mailbox                   (RFC 3501 9) */
enum imap_status
cmd_select(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	bool readonly = cmd->name[0] == 'E';
	struct imap_view *v = &s->view;
	const char *name, *error;
	struct md_box *box;
	uint32_t unseen;
	char *line;

	if (imap_arg_get_mailbox(s->arena, &cmd->args[0], &name, &error) < 0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	imap_view_close(s);
	if (md_box_open(s->store, name, readonly, &box) < 0) {
		imap_cmd_store_error(cmd, false);
		return IMAP_STATUS_CONTINUE;
	}
	imap_view_open(s, box);
	imap_sync_send_flags(s);
	line = arena_printf(s->arena, "* %u EXISTS\r\n* %u RECENT\r\n",
			    v->count, v->recent_sent);
	imap_resp_raw(s, line, strlen(line));
	unseen = first_unseen(box);
	if (unseen > 0)
		ok_number(s, "UNSEEN", unseen, "First unseen.");
	ok_number(s, "UIDVALIDITY", md_box_uidvalidity(box), "UIDs valid.");
	ok_number(s, "UIDNEXT", md_box_uidnext(box), "Predicted next UID.");
	imap_resp_tagged(s, cmd->tag, IMAP_RESP_OK,
			 readonly ? "READ-ONLY" : "READ-WRITE",
			 readonly ? "Examine completed." : "Select completed.");
	return IMAP_STATUS_CONTINUE;
}
