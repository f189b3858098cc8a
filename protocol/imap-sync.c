/* Untagged mailbox updates (RFC 3501 sections 5.2, 5.5, 7.3, 7.4.1): the
 * one routine that brings the client's view of the selected mailbox up to
 * date with the store and reports EXPUNGE, EXISTS, RECENT, FLAGS and
 * FETCH (FLAGS), at the moments the command table allows. Shared by every
 * command and by IDLE. Never touches the filesystem itself.
 */
#include "protocol/imap-private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

/* Send "* n EXPUNGE". */
static void
send_expunge(struct imap_session *s, uint32_t seq)
{
	struct buf b;

	buf_init(&b, 0);
	(void)buf_printf(&b, "* %u EXPUNGE\r\n", seq); /* no max */
	imap_resp_raw(s, b.data, b.len);
	buf_free(&b);
}

/* Send "* n <word>". */
static void
send_count(struct imap_session *s, uint32_t n, const char *word)
{
	struct buf b;

	buf_init(&b, 0);
	(void)buf_printf(&b, "* %u %s\r\n", n, word); /* no max */
	imap_resp_raw(s, b.data, b.len);
	buf_free(&b);
}

/* flag-perm       = flag / "\*"
 * "FLAGS" SP flag-list                                     (RFC 3501 9)
 * Sent at SELECT and whenever keywords appear, before any FETCH uses
 * them. The PERMANENTFLAGS of a read-only box are empty. */
void
imap_sync_send_flags(struct imap_session *s)
{
	struct imap_view *v = &s->view;
	uint32_t mask = imap_box_keyword_mask(v->box);
	struct buf b;

	buf_init(&b, 0);
	(void)buf_puts(&b, "* FLAGS "); /* b has no maximum */
	imap_flags_append(s, &b, MD_FLAGS_IMAP, mask, false);
	(void)buf_puts(&b, "\r\n* OK [PERMANENTFLAGS ");
	if (md_box_readonly(v->box)) {
		(void)buf_puts(&b, "()] Read-only mailbox.\r\n");
	} else {
		imap_flags_append(s, &b, MD_FLAGS_IMAP, mask, false);
		if (mask != (1ull << MD_MAX_KEYWORDS) - 1) {
			/* Room for another keyword: "\*" goes inside. */
			buf_truncate(&b, b.len - 1);
			(void)buf_puts(&b, " \\*)");
		}
		(void)buf_puts(&b, "] Flags permitted.\r\n");
	}
	imap_resp_raw(s, b.data, b.len);
	buf_free(&b);
	v->keywords_sent = mask;
}

void
imap_sync_announce_keywords(struct imap_session *s)
{
	if (s->view.box != NULL &&
	    (imap_box_keyword_mask(s->view.box) & ~s->view.keywords_sent) != 0)
		imap_sync_send_flags(s);
}

/* Is x in the ascending array a[0..n)? */
static bool
bsearch_u32(const uint32_t *a, size_t n, uint32_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a[mid] == x)
			return true;
		if (a[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* One pass over the view in sequence order: entries gone from the box are
 * reported (when allowed) and dropped, and flag changes are reported with
 * the sequence number the client holds at that moment. With only (not
 * NULL), just the entries whose UID is in only[0..only_count) are dropped
 * and no flags are compared. */
static void
sync_pass(struct imap_session *s, bool allow_expunge, const uint32_t *only,
	  size_t only_count)
{
	struct imap_view *v = &s->view;
	const struct md_msg *msgs;
	uint32_t i, w = 0, count, bi = 0;

	msgs = md_box_messages(v->box, &count);
	for (i = 0; i < v->count; i++) {
		struct imap_view_msg *vm = &v->msgs[i];
		bool present, drop;

		/* Both lists ascend by UID: one merge walk. */
		while (bi < count && msgs[bi].uid < vm->uid)
			bi++;
		present = bi < count && msgs[bi].uid == vm->uid;
		if (only != NULL)
			drop = !present &&
			       bsearch_u32(only, only_count, vm->uid);
		else
			drop = !present && allow_expunge;
		if (drop) {
			/* Entries 0..w-1 are still there: this one is w+1
			 * now, as the client counts after the earlier
			 * EXPUNGEs. */
			send_expunge(s, w + 1);
			continue;
		}
		v->msgs[w] = *vm;
		if (only == NULL && present &&
		    (((msgs[bi].flags ^ vm->flags) & MD_FLAGS_IMAP) != 0 ||
		     msgs[bi].keywords != vm->keywords))
			imap_view_report_flags(s, w, true, false);
		w++;
	}
	v->count = w;
}

/* Append the box's messages above the view's last UID (new messages are
 * always at the end) and report EXISTS with RECENT. */
static void
sync_new(struct imap_session *s)
{
	struct imap_view *v = &s->view;
	const struct md_msg *msgs;
	uint32_t count, i, last, recent = 0, old = v->count;

	msgs = md_box_messages(v->box, &count);
	last = v->count > 0 ? v->msgs[v->count - 1].uid : 0;
	i = count;
	while (i > 0 && msgs[i - 1].uid > last)
		i--;
	if (count - i > 0) {
		imap_view_reserve(v, v->count + (count - i));
		for (; i < count; i++) {
			struct imap_view_msg *vm = &v->msgs[v->count++];

			vm->uid = msgs[i].uid;
			vm->flags = msgs[i].flags;
			vm->keywords = msgs[i].keywords;
			vm->recent = msgs[i].recent;
		}
		send_count(s, v->count, "EXISTS");
	}
	for (i = 0; i < v->count; i++)
		recent += v->msgs[i].recent;
	/* RECENT goes with every EXISTS (RFC 3501 7.3.2), as it does at
	 * SELECT; a count lowered by expunges alone is left for the client
	 * to work out, as the EXPUNGEs told it which messages went. */
	if (v->count > old)
		send_count(s, recent, "RECENT");
	v->recent_sent = recent;
}

void
imap_sync(struct imap_session *s, bool allow_expunge)
{
	struct imap_view *v = &s->view;
	const char *text;

	if (v->box == NULL || s->must_close)
		return;
	/* The box is about to change: the view must be its own first. */
	imap_view_fill(v);
	if (md_box_sync(v->box, NULL) < 0) {
		if (md_last_error(s->store, &text) != MD_ERR_NOTFOUND) {
			/* Try again at the next command; the view stays. */
			log_warn("sync of %s failed: %s", md_box_name(v->box),
				 text);
			return;
		}
		log_info("disconnecting: selected mailbox %s was deleted",
			 md_box_name(v->box));
		imap_resp_untagged(s, IMAP_RESP_BYE, NULL,
				   "Selected mailbox was deleted.");
		s->must_close = true;
		return;
	}
	if (md_box_uidvalidity(v->box) != v->uidvalidity) {
		log_error("disconnecting: UIDVALIDITY of %s changed",
			  md_box_name(v->box));
		imap_resp_untagged(s, IMAP_RESP_BYE, NULL,
				   "UIDVALIDITY changed; reconnect.");
		s->must_close = true;
		return;
	}
	imap_sync_announce_keywords(s);
	sync_pass(s, allow_expunge, NULL, 0);
	sync_new(s);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
imap_view_expunged(struct imap_session *s, const uint32_t *uids, size_t count)
{
	uint32_t *sorted;

	if (s->view.box == NULL || count == 0)
		return;
	imap_view_fill(&s->view);
	sorted = arena_alloc(s->arena, count * sizeof(*sorted));
	memcpy(sorted, uids, count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), cmp_u32);
	sync_pass(s, true, sorted, count);
}

bool
imap_cmd_defers_expunge(const struct imap_cmd *cmd)
{
	return cmd->def != NULL && (cmd->def->flags & IMAP_CMD_USES_SEQ) != 0 &&
	       !cmd->is_uid;
}

void
imap_cmd_tagged(struct imap_cmd *cmd, enum imap_resp_kind kind,
		const char *code, const char *text)
{
	if (kind != IMAP_RESP_BAD)
		imap_sync(cmd->s, !imap_cmd_defers_expunge(cmd));
	imap_resp_tagged(cmd->s, cmd->tag, kind, code, text);
}

void
imap_cmd_error(struct imap_cmd *cmd, enum md_err kind, const char *text,
	       bool is_target)
{
	const char *code = imap_resp_code_for(kind);
	char *msg, *p;

	if (kind == MD_ERR_NOTFOUND && is_target)
		code = "TRYCREATE";
	if (kind == MD_ERR_INTERNAL || kind == MD_ERR_NONE || text == NULL ||
	    text[0] == '\0') {
		msg = arena_printf(cmd->s->arena,
				   "Internal error occurred. Refer to server "
				   "log for more information. [%s]",
				   cmd->s->session_id);
	} else {
		msg = arena_printf(cmd->s->arena, "%s.", text);
	}
	/* The store's texts are short and static, but a response line
	 * must never carry a control character. */
	for (p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	imap_cmd_tagged(cmd, IMAP_RESP_NO, code, msg);
}

void
imap_cmd_store_error(struct imap_cmd *cmd, bool is_target)
{
	const char *text = NULL;
	enum md_err kind = md_last_error(cmd->s->store, &text);

	imap_cmd_error(cmd, kind, text, is_target);
}
