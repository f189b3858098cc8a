/* Expunge: unlink message files and drop their UID records.
 *
 * Steps and crash states (under the list lock):
 *   1. unlink each cur/ file    [crash: some files gone, records remain;
 *      the next sync drops the records of the gone files]
 *   2. fsync cur/ once          [so an expunge can't come back after a
 *      power cut once the list has forgotten it]
 *   3. read the list (no directory scan) and write it without the
 *      records                 [crash before: as after 1] */
#include "maildir-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"

/* Step 1 for one message; 0 (gone now) or -1. */
static int
unlink_msg(struct md_box *box, uint32_t idx, struct md_listing *nm)
{
	const char *found;

	if (unlinkat(box->cur_fd, md_box_fname(box, idx), 0) == 0)
		return 0;
	if (errno != ENOENT) {
		md_set_syserr(box->store, "unlink", md_box_fname(box, idx));
		return -1;
	}
	/* Renamed by a flag change elsewhere, or already expunged: look
	 * for the base name in one listing of cur/ shared by the batch. */
	found = md_listing_find(box->cur_fd, nm, md_box_base(box, idx));
	if (found == NULL)
		return 0;
	if (unlinkat(box->cur_fd, found, 0) < 0 && errno != ENOENT) {
		md_set_syserr(box->store, "unlink", found);
		return -1;
	}
	return 0;
}

/* Step 3: the list without the records of done (sorted UIDs). The list is
 * read, not synced: cur/ just changed (our unlinks), so its recorded stamp
 * no longer matches and the next sync scans anyway; reading cur/ here too
 * would double the work. A missing or damaged list gets the full sync. */
static int
drop_records(struct md_box *box, const struct md_uids *done)
{
	struct md_uidlist ul;
	size_t i, dropped = 0;
	int r;

	if (md_list_load_locked(box, &ul) < 0)
		return -1;
	for (i = 0; i < done->count; i++) {
		struct md_rec *rec = md_uidlist_find(&ul, done->uids[i]);

		if (rec != NULL) {
			free(rec->name);
			rec->name = NULL;
			dropped++;
		}
	}
	md_uidlist_compact(&ul);
	r = 0;
	if (dropped > 0 && (r = md_uidlist_write(box->dirfd, &ul)) < 0)
		md_set_syserr(box->store, "write", MD_UIDLIST);
	md_uidlist_clear(&ul);
	return r;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

int
md_box_expunge(struct md_box *box, const uint32_t *uids, size_t count,
	       struct md_uids *expunged_r)
{
	struct md_uids done = {0};
	struct md_listing nm = {0};
	size_t i;
	int ret = -1;

	if (box->readonly) {
		md_set_error(box->store, MD_ERR_PERM, "Mailbox is read-only");
		return -1;
	}
	if (md_box_lock(box) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		long idx = md_box_find(box, uids[i]);

		if (idx < 0 || md_box_fname(box, (uint32_t)idx) == NULL)
			continue;
		if (unlink_msg(box, (uint32_t)idx, &nm) < 0)
			break;
		FAULT_POINT("expunge.after-unlink");
		md_uids_push(&done, uids[i]);
		/* Marked here, removed from the view once at the end. */
		md_box_set_fname(box, (uint32_t)idx, NULL);
	}
	md_listing_free(&nm);
	md_box_view_compact(box);
	if (done.count > 0) {
		qsort(done.uids, done.count, sizeof(*done.uids), cmp_u32);
		/* Step 2: once per batch, before the list forgets them. */
		if (md_fsync_dir(box->cur_fd, "cur") < 0)
			md_set_syserr(box->store, "fsync", "cur");
		FAULT_POINT("expunge.after-fsync");
		if (drop_records(box, &done) == 0 && i == count)
			ret = 0;
		FAULT_POINT("expunge.after-list");
	} else if (i == count) {
		ret = 0;
	}
	md_box_unlock(box);
	for (i = 0; i < done.count; i++)
		md_uids_push(expunged_r, done.uids[i]);
	md_uids_free(&done);
	return ret;
}
