/* The selected mailbox (RFC 3501 sections 2.3.1 and 6.3.1): the client's
 * view of it (sequence number -> UID, and the flags last reported),
 * sequence sets and UID sets resolved against that view, and the flag
 * list writer shared by SELECT, sync, FETCH and STORE. Never touches the
 * filesystem: the box comes from maildir/.
 */
#include "protocol/imap-private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"

void
imap_view_reserve(struct imap_view *v, uint32_t n)
{
	uint32_t cap = v->cap < 64 ? 64 : v->cap;

	if (n <= v->cap)
		return;
	while (cap < n)
		cap = cap > UINT32_MAX / 2 ? n : cap * 2;
	v->msgs = xreallocarray(v->msgs, cap, sizeof(*v->msgs));
	v->cap = cap;
}

uint32_t
imap_box_keyword_mask(const struct md_box *box)
{
	const char *const *kw = md_box_keywords(box);
	uint32_t mask = 0;
	unsigned i;

	for (i = 0; i < MD_MAX_KEYWORDS; i++) {
		if (kw[i] != NULL)
			mask |= 1u << i;
	}
	return mask;
}

void
imap_view_open(struct imap_session *s, struct md_box *box)
{
	struct imap_view *v = &s->view;
	uint32_t count;

	imap_view_close(s);
	(void)md_box_messages(box, &count);
	v->lazy = true;
	v->recent_sent = md_box_recent_count(box);
	v->count = count;
	v->box = box;
	v->uidvalidity = md_box_uidvalidity(box);
	v->keywords_sent = imap_box_keyword_mask(box);
	s->state = IMAP_STATE_SELECTED;
}

void
imap_view_fill(struct imap_view *v)
{
	const struct md_msg *m;
	uint32_t i, count;

	if (!v->lazy)
		return;
	v->lazy = false;
	/* Nothing synced the box since SELECT, so these are the messages
	 * SELECT described. */
	m = md_box_messages(v->box, &count);
	imap_view_reserve(v, count);
	for (i = 0; i < count; i++) {
		v->msgs[i].uid = m[i].uid;
		v->msgs[i].flags = m[i].flags;
		v->msgs[i].keywords = m[i].keywords;
		v->msgs[i].recent = m[i].recent;
	}
	v->count = count;
}

void
imap_view_close(struct imap_session *s)
{
	struct imap_view *v = &s->view;

	if (v->box == NULL)
		return;
	md_box_free(&v->box);
	free(v->msgs);
	memset(v, 0, sizeof(*v));
	s->state = IMAP_STATE_AUTH;
}

long
imap_view_index(const struct imap_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v->msgs[mid].uid == uid)
			return (long)mid;
		if (v->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The first view index whose UID is at least uid. */
static uint32_t
lower_bound(const struct imap_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A resolved UID set: every view UID inside one of its ranges. The ranges
 * are sorted and disjoint, so the result ascends. */
static void
resolve_uids(struct imap_session *s, const struct imap_seqset *set,
	     uint32_t *out, size_t *count_r)
{
	const struct imap_view *v = &s->view;
	size_t n = 0;
	unsigned r;

	for (r = 0; r < set->count; r++) {
		uint32_t i = lower_bound(v, set->ranges[r].lo);

		for (; i < v->count && v->msgs[i].uid <= set->ranges[r].hi; i++)
			out[n++] = v->msgs[i].uid;
	}
	*count_r = n;
}

/* A resolved sequence set whose numbers were checked against the view. */
static void
resolve_seqs(struct imap_session *s, const struct imap_seqset *set,
	     uint32_t *out, size_t *count_r)
{
	struct imap_seqset_iter it;
	uint32_t seq;
	size_t n = 0;

	imap_seqset_iter_init(&it, set);
	while (imap_seqset_iter_next(&it, &seq))
		out[n++] = s->view.msgs[seq - 1].uid;
	*count_r = n;
}

int
imap_view_resolve(struct imap_session *s, struct imap_seqset *set, bool is_uid,
		  uint32_t **uids_r, size_t *count_r, const char **error_r)
{
	const struct imap_view *v = &s->view;
	uint32_t star;

	imap_view_fill(&s->view);
	if (is_uid) {
		star = v->count > 0 ? v->msgs[v->count - 1].uid
				    : md_box_uidnext(v->box);
	} else {
		star = v->count;
	}
	imap_seqset_resolve(set, star);
	if (!is_uid && (v->count == 0 || imap_seqset_max(set) > v->count)) {
		/* RFC 3501 9, seq-number: BAD, "*" on an empty mailbox
		 * included. */
		*error_r = "Invalid sequence number";
		return -1;
	}
	/* At most one UID per view entry: the ranges are disjoint. */
	*uids_r = arena_alloc(s->arena,
			      (v->count > 0 ? v->count : 1) * sizeof(uint32_t));
	if (is_uid)
		resolve_uids(s, set, *uids_r, count_r);
	else
		resolve_seqs(s, set, *uids_r, count_r);
	return 0;
}

int
imap_view_resolve_arg(struct imap_cmd *cmd, const struct imap_arg *arg,
		      uint32_t **uids_r, size_t *count_r, const char **error_r)
{
	struct imap_seqset set;

	if (imap_arg_get_seqset(cmd->s->arena, arg, &set, error_r) < 0)
		return -1;
	return imap_view_resolve(cmd->s, &set, cmd->is_uid, uids_r, count_r,
				 error_r);
}

static const struct {
	uint32_t md;
	unsigned imap;
	const char *name;
} system_flags[] = {
	{MD_FLAG_ANSWERED, IMAP_FLAG_ANSWERED, "\\Answered"},
	{MD_FLAG_FLAGGED, IMAP_FLAG_FLAGGED, "\\Flagged"},
	{MD_FLAG_DELETED, IMAP_FLAG_DELETED, "\\Deleted"},
	{MD_FLAG_SEEN, IMAP_FLAG_SEEN, "\\Seen"},
	{MD_FLAG_DRAFT, IMAP_FLAG_DRAFT, "\\Draft"},
};

#define N_SYSTEM_FLAGS (sizeof(system_flags) / sizeof(*system_flags))

uint32_t
imap_flags_to_md(unsigned imap_system)
{
	uint32_t md = 0;
	size_t i;

	for (i = 0; i < N_SYSTEM_FLAGS; i++) {
		if ((imap_system & system_flags[i].imap) != 0)
			md |= system_flags[i].md;
	}
	return md;
}

/* Is this keyword name (from the box's keyword file, which other software
 * may have written) an atom we can send as a flag-keyword? */
static bool
keyword_sendable(const char *kw)
{
	size_t i;

	if (kw[0] == '\0')
		return false;
	for (i = 0; kw[i] != '\0'; i++) {
		if (!imap_is_atom_char((unsigned char)kw[i]))
			return false;
	}
	return true;
}

/* flag-list       = "(" [flag *(SP flag)] ")"
 * flag-fetch      = flag / "\Recent"                      (RFC 3501 9) */
void
imap_flags_append(const struct imap_session *s, struct buf *b, uint32_t flags,
		  uint32_t keywords, bool recent)
{
	const char *const *kw = md_box_keywords(s->view.box);
	const char *sep = "";
	size_t i;

	/* b has no maximum in every caller: appends cannot fail. */
	(void)buf_putc(b, '(');
	for (i = 0; i < N_SYSTEM_FLAGS; i++) {
		if ((flags & system_flags[i].md) == 0)
			continue;
		(void)buf_puts(b, sep);
		(void)buf_puts(b, system_flags[i].name);
		sep = " ";
	}
	for (i = 0; i < MD_MAX_KEYWORDS; i++) {
		if ((keywords & (1u << i)) == 0 || kw[i] == NULL ||
		    !keyword_sendable(kw[i]))
			continue;
		(void)buf_puts(b, sep);
		(void)buf_puts(b, kw[i]);
		sep = " ";
	}
	if (recent) {
		(void)buf_puts(b, sep);
		(void)buf_puts(b, "\\Recent");
	}
	(void)buf_putc(b, ')');
}

/* message-data    = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))
 *                                                          (RFC 3501 9) */
void
imap_view_report_flags(struct imap_session *s, uint32_t index, bool send,
		       bool with_uid)
{
	struct imap_view_msg *vm;
	const struct md_msg *msgs;
	uint32_t count;
	struct buf b;
	long i;

	imap_view_fill(&s->view);
	vm = &s->view.msgs[index];
	i = md_box_find(s->view.box, vm->uid);
	if (i < 0)
		return;
	msgs = md_box_messages(s->view.box, &count);
	vm->flags = msgs[i].flags;
	vm->keywords = msgs[i].keywords;
	if (!send)
		return;
	buf_init(&b, 0);
	(void)buf_printf(&b, "* %u FETCH (", index + 1); /* no max */
	if (with_uid)
		(void)buf_printf(&b, "UID %u ", vm->uid);
	(void)buf_puts(&b, "FLAGS ");
	imap_flags_append(s, &b, vm->flags & MD_FLAGS_IMAP, vm->keywords,
			  vm->recent);
	(void)buf_puts(&b, ")\r\n");
	imap_resp_raw(s, b.data, b.len);
	buf_free(&b);
}
