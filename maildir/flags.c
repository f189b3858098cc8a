/* Flag changes: a rename of the message file within cur/ to a new ":2,"
 * info, and keyword names. When another process renamed the file meanwhile,
 * its current name is found again by base name and the change is applied
 * to its current flags, so no change is lost silently; a file that is gone
 * is reported as EXPUNGED.
 *
 * Steps and crash states (under the list lock, though rename(2) of a name
 * that is gone fails anyway, which is the optimistic check that also
 * covers other programs):
 *   1. rename cur/BASE:2,OLD -> cur/BASE:2,NEW  [crash before: unchanged;
 *      after: changed; the next sync reads the flags from the name] */
#include "maildir-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/mem.h"

static void
apply_op(enum md_flag_op op, uint32_t flags, uint32_t keywords, uint32_t *f,
	 uint32_t *k)
{
	switch (op) {
	case MD_FLAGS_ADD:
		*f |= flags;
		*k |= keywords;
		break;
	case MD_FLAGS_REMOVE:
		*f &= ~flags;
		*k &= ~keywords;
		break;
	case MD_FLAGS_REPLACE:
		/* Letters we do not manage (P and unknown ones) stay. */
		*f = (*f & ~MD_FLAGS_IMAP) | (flags & MD_FLAGS_IMAP);
		*k = keywords;
		break;
	}
}

/* Change one message. Returns 0, 1 when its file is gone, -1 on error. */
static int
set_one(struct md_box *box, uint32_t idx, enum md_flag_op op, uint32_t flags,
	uint32_t keywords, struct md_listing *listing)
{
	struct md_msg *m = &box->msgs[idx];
	char newname[NAME_MAX + 1];
	int tries;

	for (tries = 0; tries < 10; tries++) {
		struct md_fname f;
		char *found;

		md_fname_parse(md_box_fname(box, idx), &f);
		apply_op(op, flags, keywords, &f.flags, &f.keywords);
		if (md_fname_build(f.base, f.base_len, f.flags, f.keywords,
				   newname, sizeof(newname)) < 0) {
			md_set_error(box->store, MD_ERR_INTERNAL,
				     "File name too long");
			return -1;
		}
		if (strcmp(newname, md_box_fname(box, idx)) == 0 ||
		    renameat(box->cur_fd, md_box_fname(box, idx), box->cur_fd,
			     newname) == 0) {
			md_box_set_fname(box, idx, xstrdup(newname));
			m->flags = f.flags;
			m->keywords = f.keywords;
			return 0;
		}
		if (errno != ENOENT) {
			md_set_syserr(box->store, "rename",
				      md_box_fname(box, idx));
			return -1;
		}
		/* Renamed (flags) or removed (expunge, move) by another
		 * process: find its current name and apply the change to
		 * its current flags. The first time it is looked up in the
		 * listing the whole batch shares (one directory read, not one
		 * per message); a file renamed again since that listing is
		 * looked for afresh. */
		if (tries == 0) {
			const char *cur = md_listing_find(
				box->cur_fd, listing, md_box_base(box, idx));

			found = cur ? xstrdup(cur) : NULL;
		} else {
			found = md_refind(box->cur_fd, md_box_base(box, idx),
					  strlen(md_box_base(box, idx)));
		}
		if (found == NULL)
			return 1;
		md_box_set_fname(box, idx, found);
	}
	md_set_error(box->store, MD_ERR_INTERNAL,
		     "Message keeps being renamed by another process");
	return -1;
}

int
md_box_set_flags(struct md_box *box, const uint32_t *uids, size_t count,
		 enum md_flag_op op, uint32_t flags, uint32_t keywords)
{
	struct md_listing listing = {0};
	size_t i, gone = 0;

	if (box->readonly) {
		md_set_error(box->store, MD_ERR_PERM, "Mailbox is read-only");
		return -1;
	}
	/* The lock keeps our renames out of other sessions' directory scans
	 * (readdir may miss a file renamed meanwhile). */
	if (md_box_lock(box) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		long idx = md_box_find(box, uids[i]);
		int r;

		if (idx < 0)
			continue;
		r = set_one(box, (uint32_t)idx, op, flags, keywords, &listing);
		if (r < 0) {
			md_listing_free(&listing);
			md_box_unlock(box);
			return -1;
		}
		gone += (size_t)r;
		FAULT_POINT("flags.after-rename");
	}
	md_listing_free(&listing);
	md_box_unlock(box);
	if (gone > 0) {
		md_set_error(box->store, MD_ERR_EXPUNGED,
			     "Some messages were expunged meanwhile");
		return -1;
	}
	return 0;
}

int
md_box_keyword_index(struct md_box *box, const char *name, bool create,
		     unsigned *index_r)
{
	struct md_keywords kw;
	bool added;
	int i = md_keywords_find(&box->kw, name);

	if (i >= 0) {
		*index_r = (unsigned)i;
		return 0;
	}
	if (!create || !md_keyword_valid(name)) {
		md_set_error(box->store, MD_ERR_NOTFOUND, "No such keyword");
		return -1;
	}
	if (md_box_lock(box) < 0)
		return -1;
	/* Re-read under the lock: another session may have added some. */
	if (md_keywords_read(box->dirfd, &kw) < 0)
		goto fail_internal;
	i = md_keywords_add(&kw, name, &added);
	if (i < 0) {
		md_keywords_clear(&kw);
		md_box_unlock(box);
		md_set_error(box->store, MD_ERR_LIMIT, "Too many keywords");
		return -1;
	}
	if (added && md_keywords_write(box->dirfd, &kw) < 0) {
		md_keywords_clear(&kw);
		goto fail_internal;
	}
	md_box_unlock(box);
	md_keywords_clear(&box->kw);
	box->kw = kw;
	*index_r = (unsigned)i;
	return 0;
fail_internal:
	md_box_unlock(box);
	md_set_error(box->store, MD_ERR_INTERNAL, "Internal store error");
	return -1;
}
