/* COPY and UID COPY (RFC 3501 6.4.7, 6.4.8) with COPYUID (RFC 4315 3):
 * one store call copies the messages, the tagged OK names the source and
 * target UIDs as compact uid-sets, and a missing target is NO
 * [TRYCREATE]. A copy that fails halfway is undone in the target, as RFC
 * 3501 6.4.7 asks. Never touches the filesystem itself.
 */
#include "protocol/imap-private.h"

#include "lib/log.h"

/* Remove from target the copies a failed COPY made. A failure here is
 * logged: the copies then stay, as duplicates the user can see. */
static void
undo_copy(struct imap_session *s, const char *target,
	  const struct md_copy_result *r)
{
	struct md_uids gone = {0};
	struct md_box *dst;
	const char *text;

	if (r->dst.count == 0)
		return;
	if (md_box_open(s->store, target, false, &dst) < 0 ||
	    md_box_expunge(dst, r->dst.uids, r->dst.count, &gone) < 0) {
		(void)md_last_error(s->store, &text);
		log_error("copy to %s failed and its %zu copies stay: %s",
			  target, r->dst.count, text);
	}
	md_uids_free(&gone);
	md_box_free(&dst);
}

/* Does the set name a message the box no longer has (EXPUNGE pending)? */
static bool
has_ghost(const struct imap_session *s, const uint32_t *uids, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (md_box_find(s->view.box, uids[i]) < 0)
			return true;
	}
	return false;
}

/* copy = "COPY" SP sequence-set SP mailbox            (RFC 3501 9)
 * resp-code-copy = "COPYUID" SP nz-number SP uid-set SP uid-set
 *                                                      (RFC 4315 4) */
enum imap_status
cmd_copy(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct md_copy_result r = {0};
	enum md_err kind;
	const char *error, *target, *text;
	uint32_t *uids;
	size_t count;
	struct buf code;

	if (imap_view_resolve_arg(cmd, &cmd->args[0], &uids, &count, &error) <
		    0 ||
	    imap_arg_get_mailbox(s->arena, &cmd->args[1], &target, &error) <
		    0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	if (!cmd->is_uid && has_ghost(s, uids, count)) {
		/* RFC 2180 4.4.1: the client named a message another
		 * session expunged; copy nothing rather than a part. */
		imap_cmd_tagged(cmd, IMAP_RESP_NO, "EXPUNGEISSUED",
				"Some messages were expunged.");
		return IMAP_STATUS_CONTINUE;
	}
	/* Called for an empty match too, so that a missing target is still
	 * TRYCREATE. */
	if (md_box_copy(s->view.box, uids, count, target, &r) < 0) {
		kind = md_last_error(s->store, &text);
		text = arena_strdup(s->arena, text != NULL ? text : "");
		undo_copy(s, target, &r);
		md_copy_result_free(&r);
		imap_cmd_error(cmd, kind, text, true);
		return IMAP_STATUS_CONTINUE;
	}
	if (r.src.count == 0) {
		md_copy_result_free(&r);
		imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL, "COPY completed.");
		return IMAP_STATUS_CONTINUE;
	}
	buf_init(&code, 0);
	(void)buf_printf(&code, "COPYUID %u ", r.dst_uidvalidity);
	/* code has no maximum: appends cannot fail. */
	(void)imap_uidset_append(&code, r.src.uids, r.src.count);
	(void)buf_putc(&code, ' ');
	(void)imap_uidset_append(&code, r.dst.uids, r.dst.count);
	md_copy_result_free(&r);
	imap_cmd_tagged(cmd, IMAP_RESP_OK,
			arena_strndup(s->arena, buf_cstr(&code), code.len),
			"COPY completed.");
	buf_free(&code);
	return IMAP_STATUS_CONTINUE;
}
