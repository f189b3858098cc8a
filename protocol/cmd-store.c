/* STORE and UID STORE (RFC 3501 6.4.6, 6.4.8): replace, add or remove
 * system flags and keywords in one store call, then one untagged FETCH
 * (FLAGS) per message unless .SILENT (with UID for UID STORE). A keyword
 * new to the mailbox is announced with FLAGS and PERMANENTFLAGS before
 * the FETCH responses that use it. Never touches the filesystem itself.
 */
#include "protocol/imap-private.h"

#include <string.h>
#include <strings.h>

/* The data item: ["+" / "-"] "FLAGS" [".SILENT"]. */
static int
store_att(const struct imap_arg *arg, enum md_flag_op *op_r, bool *silent_r)
{
	const char *s = arg->str;

	if (arg->type != IMAP_ARG_ATOM)
		return -1;
	*op_r = MD_FLAGS_REPLACE;
	if (*s == '+' || *s == '-')
		*op_r = *s++ == '+' ? MD_FLAGS_ADD : MD_FLAGS_REMOVE;
	if (strncasecmp(s, "FLAGS", 5) != 0)
		return -1;
	s += 5;
	*silent_r = strcasecmp(s, ".SILENT") == 0;
	return *silent_r || *s == '\0' ? 0 : -1;
}

/* The keyword bits for the names in flags. Unknown names are created
 * unless removing (removing a keyword nobody has is a no-op). Returns 0,
 * or -1 with the store's error (LIMIT: all 26 keyword letters in use). */
static int
keyword_bits(struct md_box *box, const struct imap_flags *flags, bool create,
	     uint32_t *bits_r)
{
	unsigned i, idx;

	*bits_r = 0;
	for (i = 0; i < flags->keyword_count; i++) {
		if (md_box_keyword_index(box, flags->keywords[i], create,
					 &idx) == 0)
			*bits_r |= 1u << idx;
		else if (create)
			return -1;
	}
	return 0;
}

/* Report the new flags of every message of uids still in the box (with
 * send false, only record them as known); returns how many were gone. */
static size_t
report(struct imap_cmd *cmd, const uint32_t *uids, size_t count, bool send)
{
	struct imap_session *s = cmd->s;
	size_t i, gone = 0;

	for (i = 0; i < count; i++) {
		long idx = imap_view_index(&s->view, uids[i]);

		if (md_box_find(s->view.box, uids[i]) < 0) {
			gone++;
			continue;
		}
		imap_view_report_flags(s, (uint32_t)idx, send, cmd->is_uid);
	}
	return gone;
}

/* store           = "STORE" SP sequence-set SP store-att-flags
 * store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP
 *                   (flag-list / (flag *(SP flag)))    (RFC 3501 9) */
enum imap_status
cmd_store(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct md_box *box = s->view.box;
	struct imap_arg list;
	struct imap_flags flags;
	enum md_flag_op op;
	const char *error = "Invalid STORE data item";
	uint32_t *uids, kw;
	size_t count;
	bool silent;
	int ret = 0;

	/* flag *(SP flag) without parentheses reads as a list. */
	list = cmd->args[2];
	if (cmd->count > 3 || list.type != IMAP_ARG_LIST) {
		memset(&list, 0, sizeof(list));
		list.type = IMAP_ARG_LIST;
		list.count = cmd->count - 2;
		list.list =
			arena_alloc(s->arena, list.count * sizeof(*list.list));
		memcpy(list.list, &cmd->args[2],
		       list.count * sizeof(*list.list));
	}
	if (imap_view_resolve_arg(cmd, &cmd->args[0], &uids, &count, &error) <
		    0 ||
	    store_att(&cmd->args[1], &op, &silent) < 0 ||
	    imap_arg_get_flag_list(s->arena, &list, &flags, &error) < 0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	if (md_box_readonly(box)) {
		imap_cmd_tagged(cmd, IMAP_RESP_NO, "READ-ONLY",
				"Mailbox is read-only.");
		return IMAP_STATUS_CONTINUE;
	}
	/* Keywords are created only for a STORE that changes something. */
	if (keyword_bits(box, &flags, op != MD_FLAGS_REMOVE && count > 0, &kw) <
	    0) {
		imap_cmd_store_error(cmd, false);
		return IMAP_STATUS_CONTINUE;
	}
	/* A new keyword: FLAGS before any FETCH shows it (RFC 3501
	 * 7.2.6). */
	imap_sync_announce_keywords(s);
	if (count > 0)
		ret = md_box_set_flags(box, uids, count, op,
				       imap_flags_to_md(flags.system), kw);
	/* What changed is reported even when the rest failed. */
	if (report(cmd, uids, count, !silent) > 0 && ret == 0 && !cmd->is_uid)
		imap_cmd_tagged(cmd, IMAP_RESP_NO, "EXPUNGEISSUED",
				"Some messages were expunged.");
	else if (ret < 0 && (md_last_error(s->store, NULL) != MD_ERR_EXPUNGED ||
			     !cmd->is_uid))
		imap_cmd_store_error(cmd, false);
	else
		imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL, "STORE completed.");
	return IMAP_STATUS_CONTINUE;
}
