/* EXPUNGE (RFC 3501 6.4.3) and UID EXPUNGE (RFC 4315 2.1): remove the
 * \Deleted messages (all, or those in a UID set) and report one untagged
 * EXPUNGE per message removed, each numbered as the client counts at
 * that moment; then the usual sync reports what others changed.
 */
#include "protocol/imap-private.h"

/* Keep the UIDs whose box message has \Deleted (uids is rewritten). */
static size_t
keep_deleted(const struct md_box *box, uint32_t *uids, size_t count)
{
	const struct md_msg *msgs;
	uint32_t total;
	size_t i, n = 0;

	msgs = md_box_messages(box, &total);
	for (i = 0; i < count; i++) {
		long bi = md_box_find(box, uids[i]);

		if (bi >= 0 && (msgs[bi].flags & MD_FLAG_DELETED) != 0)
			uids[n++] = uids[i];
	}
	return n;
}

/* The UIDs of every message of the box, in the session arena. */
static uint32_t *
all_uids(struct imap_session *s, size_t *count_r)
{
	uint32_t i, count;
	const struct md_msg *msgs = md_box_messages(s->view.box, &count);
	uint32_t *uids =
		arena_alloc(s->arena, (count > 0 ? count : 1) * sizeof(*uids));

	for (i = 0; i < count; i++)
		uids[i] = msgs[i].uid;
	*count_r = count;
	return uids;
}

/* expunge         = "EXPUNGE"                               (RFC 3501 9)
 * uid-expunge     = "UID" SP "EXPUNGE" SP sequence-set      (RFC 4315 3) */
enum imap_status
cmd_expunge(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct md_uids gone = {0};
	const char *error;
	uint32_t *uids;
	size_t count;
	int ret;

	if (cmd->count != (cmd->is_uid ? 1u : 0u)) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL,
				 "Wrong number of arguments");
		return IMAP_STATUS_CONTINUE;
	}
	/* See the \Deleted flags other sessions set; what else changed is
	 * reported by the sync at the end. */
	(void)md_box_sync(s->view.box, NULL); /* stale is fine */
	if (cmd->is_uid) {
		if (imap_view_resolve_arg(cmd, &cmd->args[0], &uids, &count,
					  &error) < 0) {
			imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL,
					 error);
			return IMAP_STATUS_CONTINUE;
		}
	} else {
		uids = all_uids(s, &count);
	}
	if (md_box_readonly(s->view.box)) {
		imap_cmd_tagged(cmd, IMAP_RESP_NO, "READ-ONLY",
				"Mailbox is read-only.");
		return IMAP_STATUS_CONTINUE;
	}
	count = keep_deleted(s->view.box, uids, count);
	ret = count > 0 ? md_box_expunge(s->view.box, uids, count, &gone) : 0;
	/* Whatever was removed is reported, even when the rest failed. */
	imap_view_expunged(s, gone.uids, gone.count);
	md_uids_free(&gone);
	if (ret < 0)
		imap_cmd_store_error(cmd, false);
	else
		imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL, "EXPUNGE completed.");
	return IMAP_STATUS_CONTINUE;
}
