/* STATUS (RFC 3501 6.3.10): counters of a mailbox without selecting it;
 * for the selected mailbox they come from the session's own view (after a
 * sync), so they agree with what the client was told.
 */
#include "protocol/imap-private.h"

#include <string.h>
#include <strings.h>

enum status_item {
	ST_MESSAGES,
	ST_RECENT,
	ST_UIDNEXT,
	ST_UIDVALIDITY,
	ST_UNSEEN,
	ST_COUNT
};

static const char *const item_names[ST_COUNT] = {
	"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
};

/* The counters of the selected mailbox, from the view. */
static void
count_view(const struct imap_session *s, uint32_t *val)
{
	const struct imap_view *v = &s->view;
	uint32_t i;

	val[ST_MESSAGES] = v->count;
	for (i = 0; i < v->count; i++) {
		val[ST_RECENT] += v->msgs[i].recent;
		val[ST_UNSEEN] += (v->msgs[i].flags & MD_FLAG_SEEN) == 0;
	}
	val[ST_UIDNEXT] = md_box_uidnext(v->box);
	val[ST_UIDVALIDITY] = v->uidvalidity;
}

/* The counters of another mailbox, opened read-only (which takes no
 * \Recent away). */
static int
count_box(struct imap_session *s, const char *name, uint32_t *val)
{
	const struct md_msg *m;
	struct md_box *box;
	uint32_t i, n;

	if (md_box_open(s->store, name, true, &box) < 0)
		return -1;
	m = md_box_messages(box, &n);
	val[ST_MESSAGES] = n;
	for (i = 0; i < n; i++) {
		val[ST_RECENT] += m[i].recent;
		val[ST_UNSEEN] += (m[i].flags & MD_FLAG_SEEN) == 0;
	}
	val[ST_UIDNEXT] = md_box_uidnext(box);
	val[ST_UIDVALIDITY] = md_box_uidvalidity(box);
	md_box_free(&box);
	return 0;
}

/* status-att      = "MESSAGES" / "RECENT" / "UIDNEXT" / "UIDVALIDITY" /
 *                   "UNSEEN"                                (RFC 3501 9) */
static int
item_of(const struct imap_arg *arg)
{
	int i;

	if (arg->type != IMAP_ARG_ATOM)
		return -1;
	for (i = 0; i < ST_COUNT; i++) {
		if (strcasecmp(arg->str, item_names[i]) == 0)
			return i;
	}
	return -1;
}

/* status          = "STATUS" SP mailbox SP
 *                   "(" status-att *(SP status-att) ")"
 * mailbox-data    =/ "STATUS" SP mailbox SP "(" [status-att-list] ")"
 *                                                          (RFC 3501 9) */
enum imap_status
cmd_status(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_arg *list = &cmd->args[1];
	uint32_t val[ST_COUNT] = {0};
	const char *name, *error;
	struct buf b;
	unsigned i;

	if (imap_arg_get_mailbox(s->arena, &cmd->args[0], &name, &error) < 0 ||
	    list->type != IMAP_ARG_LIST || list->count == 0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL,
				 list->type != IMAP_ARG_LIST || list->count == 0
					 ? "Expected a list of status items"
					 : error);
		return IMAP_STATUS_CONTINUE;
	}
	for (i = 0; i < list->count; i++) {
		if (item_of(&list->list[i]) < 0) {
			imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL,
					 "Unknown status item");
			return IMAP_STATUS_CONTINUE;
		}
	}
	if (s->view.box != NULL &&
	    strcmp(md_box_name(s->view.box), name) == 0) {
		imap_sync(s, true);
		count_view(s, val);
	} else if (count_box(s, name, val) < 0) {
		imap_cmd_store_error(cmd, false);
		return IMAP_STATUS_CONTINUE;
	}
	buf_init(&b, 0);
	(void)buf_puts(&b, "* STATUS "); /* b has no maximum */
	(void)imap_resp_mailbox(&b, name);
	for (i = 0; i < list->count; i++) {
		int it = item_of(&list->list[i]);

		(void)buf_printf(&b, "%s%s %u", i == 0 ? " (" : " ",
				 item_names[it], val[it]);
	}
	(void)buf_puts(&b, ")\r\n");
	imap_resp_raw(s, b.data, b.len);
	buf_free(&b);
	imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL, "STATUS completed.");
	return IMAP_STATUS_CONTINUE;
}
