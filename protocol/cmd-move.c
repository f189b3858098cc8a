/* MOVE and UID MOVE (RFC 6851) with COPYUID (RFC 4315): one store call
 * moves the messages by rename, then the responses say exactly what moved:
 * an untagged OK [COPYUID] first (RFC 6851 4.3), one EXPUNGE per moved
 * message, and the tagged result. No FETCH for an implicit \Deleted: none
 * is ever set. Never touches the filesystem itself.
 */
#include "protocol/imap-private.h"

/* "* OK [COPYUID uidvalidity source-set target-set] text", when the
 * target UIDs are known. */
static void
send_copyuid(struct imap_session *s, const struct md_copy_result *res)
{
	struct buf code;

	if (res->src.count == 0 || res->dst.count != res->src.count)
		return;
	/* resp-code-copy  = "COPYUID" SP nz-number SP uid-set SP uid-set
	 *                                                  (RFC 4315 4)
	 * code has no maximum: appends cannot fail. */
	buf_init(&code, 0);
	(void)buf_printf(&code, "COPYUID %u ", res->dst_uidvalidity);
	(void)imap_uidset_append(&code, res->src.uids, res->src.count);
	(void)buf_putc(&code, ' ');
	(void)imap_uidset_append(&code, res->dst.uids, res->dst.count);
	imap_resp_untagged(s, IMAP_RESP_OK, buf_cstr(&code), "Moved UIDs.");
	buf_free(&code);
}

/* The tagged NO after a failure, saying how much was moved before it. */
static void
move_failed(struct imap_cmd *cmd, size_t moved, size_t asked)
{
	const char *text = NULL;
	enum md_err kind = md_last_error(cmd->s->store, &text);

	if (moved > 0 && kind != MD_ERR_INTERNAL && text != NULL)
		text = arena_printf(cmd->s->arena,
				    "%s; %zu of %zu messages were moved, "
				    "the others are untouched",
				    text, moved, asked);
	imap_cmd_error(cmd, kind, text, true);
}

/* move            = "MOVE" SP sequence-set SP mailbox     (RFC 6851 5)
 * uid             = "UID" SP (copy / fetch / search / store / move) */
enum imap_status
cmd_move(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct md_copy_result res = {0};
	const char *target, *error;
	uint32_t *uids;
	size_t count;
	int ret;

	if (imap_view_resolve_arg(cmd, &cmd->args[0], &uids, &count, &error) <
		    0 ||
	    imap_arg_get_mailbox(s->arena, &cmd->args[1], &target, &error) <
		    0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	if (md_box_readonly(s->view.box)) {
		/* As EXPUNGE: a MOVE out of an EXAMINEd box would expunge. */
		imap_cmd_tagged(cmd, IMAP_RESP_NO, "READ-ONLY",
				"Mailbox is read-only.");
		return IMAP_STATUS_CONTINUE;
	}
	/* Even an empty set goes to the store, so that a missing target is
	 * reported with TRYCREATE. */
	ret = md_move(s->view.box, uids, count, target, &res);
	/* What moved is reported whatever the result: the COPYUID before
	 * the EXPUNGEs (RFC 6851 4.3), each EXPUNGE numbered as the client
	 * counts at that moment. */
	send_copyuid(s, &res);
	imap_view_expunged(s, res.src.uids, res.src.count);
	if (ret < 0)
		move_failed(cmd, res.src.count, count);
	else
		imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL,
				res.src.count > 0 ? "MOVE completed."
						  : "No messages moved.");
	md_copy_result_free(&res);
	return IMAP_STATUS_CONTINUE;
}
