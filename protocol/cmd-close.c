/* CLOSE (RFC 3501 6.4.2) and UNSELECT (RFC 3691): leave the selected state.
 * CLOSE first removes the \Deleted messages of a read-write mailbox without
 * a single untagged EXPUNGE; UNSELECT removes nothing.
 */
#include "protocol/imap-private.h"

#include "lib/log.h"

/* The UIDs of the box's \Deleted messages, in the session arena. */
static uint32_t *
deleted_uids(struct imap_session *s, size_t *count_r)
{
	uint32_t i, count;
	const struct md_msg *msgs = md_box_messages(s->view.box, &count);
	uint32_t *uids =
		arena_alloc(s->arena, (count > 0 ? count : 1) * sizeof(*uids));
	size_t n = 0;

	for (i = 0; i < count; i++) {
		if ((msgs[i].flags & MD_FLAG_DELETED) != 0)
			uids[n++] = msgs[i].uid;
	}
	*count_r = n;
	return uids;
}

/* close           = "CLOSE"                                 (RFC 3501 9) */
enum imap_status
cmd_close(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct md_uids gone = {0};
	const char *text;
	uint32_t *uids;
	size_t count;

	if (!md_box_readonly(s->view.box)) {
		/* Others' \Deleted flags count too. */
		(void)md_box_sync(s->view.box, NULL); /* stale is fine */
		uids = deleted_uids(s, &count);
		if (count > 0 &&
		    md_box_expunge(s->view.box, uids, count, &gone) < 0) {
			/* The selection ends anyway (RFC 3501 6.4.2 has no
			 * NO for CLOSE); say why messages stayed. */
			enum md_err kind = md_last_error(s->store, &text);

			log_warn("CLOSE: expunge failed: %s", text);
			imap_resp_untagged(s, IMAP_RESP_NO,
					   imap_resp_code_for(kind),
					   "Some messages could not be "
					   "expunged.");
		}
		md_uids_free(&gone);
	}
	imap_view_close(s);
	imap_resp_tagged(s, cmd->tag, IMAP_RESP_OK, NULL, "CLOSE completed.");
	return IMAP_STATUS_CONTINUE;
}

/* unselect        = "UNSELECT"                              (RFC 3691 4) */
enum imap_status
cmd_unselect(struct imap_cmd *cmd)
{
	imap_view_close(cmd->s);
	imap_resp_tagged(cmd->s, cmd->tag, IMAP_RESP_OK, NULL,
			 "UNSELECT completed.");
	return IMAP_STATUS_CONTINUE;
}
