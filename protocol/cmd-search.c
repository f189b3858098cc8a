/* SEARCH and UID SEARCH (RFC 3501 6.4.4, 6.4.8): parse the search program,
 * match it against every message of the client's view, answer one
 * "* SEARCH" line of sequence numbers or UIDs. EXPUNGEs stay deferred as
 * for every non-UID command using sequence numbers (imap_cmd_tagged).
 */
#include "protocol/search-private.h"

#include <strings.h>

/* The charsets a search string may be in. Both are matched as UTF-8:
 * US-ASCII is a subset, and clients that say US-ASCII yet send 8-bit
 * bytes mean UTF-8. */
static bool
charset_supported(const char *cs)
{
	return strcasecmp(cs, "US-ASCII") == 0 || strcasecmp(cs, "UTF-8") == 0;
}

/* Match every message of the view; append the numbers of those that match
 * to b. Returns 0, or -1 when a message could not be read (the store's
 * error says why). */
static int
run_search(struct imap_cmd *cmd, struct search_key *root, struct buf *b)
{
	struct imap_session *s = cmd->s;
	const struct imap_view *v = &s->view;
	struct search_ctx *ctx;
	uint32_t i;

	ctx = search_begin(s->arena, s->store, v->box, root, v->count,
			   v->count > 0 ? v->msgs[v->count - 1].uid : 0);
	for (i = 0; i < v->count; i++) {
		const struct imap_view_msg *vm = &v->msgs[i];

		if (search_match(ctx, i + 1, vm->uid, vm->recent))
			(void)buf_printf(b, " %u", /* no maximum */
					 cmd->is_uid ? vm->uid : i + 1);
		else if (search_failed(ctx))
			return -1;
	}
	return 0;
}

/* search          = "SEARCH" [SP "CHARSET" SP astring] 1*(SP search-key)
 * uid             = "UID" SP (copy / fetch / search / store)
 * mailbox-data    =/ "SEARCH" *(SP nz-number)                (RFC 3501 9) */
enum imap_status
cmd_search(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_arg *args = cmd->args;
	unsigned count = cmd->count;
	const char *charset = NULL, *error;
	struct search_key *root;
	struct buf b;
	int ret;
	size_t len;

	if (count > 0 && imap_arg_is_atom(&args[0], "CHARSET")) {
		if (count < 2 || imap_arg_get_astring(&args[1], &charset, &len,
						      &error) < 0) {
			imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL,
					 "Invalid CHARSET");
			return IMAP_STATUS_CONTINUE;
		}
		args += 2;
		count -= 2;
	}
	if (search_parse(s->arena, &s->cfg.limits, args, count, &root, &error) <
	    0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	if (charset != NULL && !charset_supported(charset)) {
		imap_cmd_tagged(cmd, IMAP_RESP_NO,
				"BADCHARSET (US-ASCII UTF-8)",
				"Unsupported charset.");
		return IMAP_STATUS_CONTINUE;
	}
	/* Search the flags as they are on disk now; what changed is
	 * reported by the sync that ends the command. */
	(void)md_box_sync(s->view.box, NULL); /* stale is fine */
	buf_init(&b, 0);
	(void)buf_puts(&b, "* SEARCH"); /* no maximum */
	ret = run_search(cmd, root, &b);
	/* Header blocks read for header keys go to the metadata cache. */
	md_cache_flush(s->view.box);
	if (ret < 0) {
		buf_free(&b);
		imap_cmd_store_error(cmd, false);
		return IMAP_STATUS_CONTINUE;
	}
	(void)buf_puts(&b, "\r\n");
	imap_resp_raw(s, b.data, b.len);
	buf_free(&b);
	imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL, "Search completed.");
	return IMAP_STATUS_CONTINUE;
}
