/* MOVE (RFC 6851) by rename(2): each message file goes from the source's
 * cur/ to the target's cur/ keeping its base name and flags (keyword letters
 * remapped to the target's table). No data is copied, and at every instant
 * each message file exists in exactly one of the two mailboxes.
 *
 * Steps and crash states. Both lists are locked for the whole command, in
 * one global order (by directory name), so A->B and B->A moves cannot
 * deadlock; a move into the box itself locks its one list once.
 *   1. sync both lists (the source's sync first finishes any interrupted
 *      EXDEV move, see recover.c), map keywords: the target keyword file is
 *      written once if it grew
 *   2. rename each file into target cur/, in the order of the source set,
 *      giving it the target's next UID in memory   [crash: moved files have
 *      no target record (the target's next sync gives them the next UIDs)
 *      and their source records have no file (the source's next sync drops
 *      them): each message is in one place, with one UID after the syncs]
 *   3. fsync target cur/ and source cur/, once for the whole batch
 *   4. write the target list (temp, fsync, rename, fsync dir)   [crash:
 *      as 2, for the source only]
 *   5. write the source list without the moved records
 * A file renamed meanwhile by a flag change elsewhere is found again by its
 * base name and moved with its new flags; a file gone is skipped. UIDs are
 * never reused, and UIDVALIDITY never changes.
 * On EXDEV (target on another filesystem) the rest of the batch is copied
 * instead: a journal naming the target and the source base names is written
 * and fsync'd in the source first; each file is copied to target tmp/,
 * fsync'd and renamed (without replacing) into target cur/; after target
 * cur/ is fsync'd the sources are unlinked, then steps 3-5 run and the
 * journal is removed. A crash leaves at worst a file in both boxes, and the
 * source's next sync (recover.c) removes the source copy: a duplicate for a
 * moment, never a loss.
 * Fault points (maildir-private.h): move.after-rename (per message),
 * move.exdev-after-unlink (per message), move.after-fsync,
 * move.after-target-list, move.after-source-list, and syscall:K. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/io.h"
#include "lib/log.h"
#include "lib/mem.h"

struct move {
	struct md_box *src, *dst;
	char dst_dir[MD_MAX_NAME + 1];
	struct md_uidlist sul, dul;
	struct md_keywords skw;
	bool exdev;        /* the rest of the batch is copied */
	bool kw_added;     /* the target's keyword table grew after step 1 */
	char **unlink_src; /* EXDEV: source names to unlink at the end */
	size_t nunlink, unlink_cap;
	struct md_copy_result *res;
};

/* Write the EXDEV journal for uids[from..count). 0 or -1. */
static int
write_journal(struct move *mv, const uint32_t *uids, size_t from, size_t count)
{
	struct buf b;
	size_t i;
	int fd, ret = -1;

	buf_init(&b, 0);
	(void)buf_printf(&b, "%s\n", mv->dst_dir[0] ? mv->dst_dir : ".");
	for (i = from; i < count; i++) {
		struct md_rec *r = md_uidlist_find(&mv->sul, uids[i]);

		if (r != NULL)
			(void)buf_printf(&b, "%.*s\n",
					 (int)strcspn(r->name, ":"), r->name);
	}
	fd = openat(mv->src->dirfd, MD_MOVE_JOURNAL,
		    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	/* The journal must be durable before any copy exists in the target,
	 * or a crash could leave an unrecognised duplicate. */
	if (fd >= 0 && io_write_all(fd, buf_cstr(&b), b.len) == 0 &&
	    fsync(fd) == 0)
		ret = 0;
	FAULT_SYSCALL();
	if (fd >= 0 && close(fd) < 0)
		ret = -1;
	if (ret == 0)
		ret = md_fsync_dir(mv->src->dirfd, MD_MOVE_JOURNAL);
	if (ret < 0)
		md_set_syserr(mv->src->store, "write", MD_MOVE_JOURNAL);
	buf_free(&b);
	return ret;
}

/* One attempt to move one file. Returns 0 moved, 1 gone, 2 switch to
 * EXDEV, 3 the name exists in the target, 4 renamed meanwhile (r->name
 * now holds its current name: build the target name again), -1 error. */
static int
move_file(struct move *mv, struct md_rec *r, const char *newname)
{
	char *found;
	const char *colon;
	int rc;

	if (mv->exdev)
		rc = md_copy_file(mv->src->cur_fd, r->name, mv->dst, newname,
				  r->mtime);
	else if (md_fault_fake_exdev())
		rc = -1, errno = EXDEV;
	else
		/* NOREPLACE: never overwrite a file in the target. */
		rc = md_rename_noreplace(mv->src->cur_fd, r->name,
					 mv->dst->cur_fd, newname);
	if (rc == 0)
		return 0;
	if (errno == EXDEV && !mv->exdev)
		return 2;
	if (errno == EEXIST)
		return 3;
	if (errno != ENOENT) {
		md_set_syserr(mv->src->store, "move", r->name);
		return -1;
	}
	/* A flag change by another session renamed it (flag changes do not
	 * take the list lock), or it is gone. */
	colon = strchr(r->name, ':');
	found = md_refind(mv->src->cur_fd, r->name,
			  colon ? (size_t)(colon - r->name) : strlen(r->name));
	if (found == NULL)
		return 1;
	free(r->name);
	r->name = found;
	return 4;
}

/* The target name: same base and flags, keyword letters remapped. With
 * fresh, a new unique base (the base exists in the target already: a
 * duplicate left by a crashed EXDEV move must not be overwritten). */
static int
target_name(struct move *mv, struct md_rec *r, bool fresh, char *out,
	    size_t outsize)
{
	struct md_fname f;
	uint32_t kw;
	bool added;
	char base[NAME_MAX + 1];

	md_fname_parse(r->name, &f);
	if (md_keywords_map(&mv->skw, f.keywords, &mv->dst->kw, &kw, &added) <
	    0)
		return -1;
	/* Only when a flag change elsewhere gave the file a keyword after
	 * step 1 mapped them all. */
	mv->kw_added |= added;
	if (fresh) {
		if (md_fname_unique(r->size, f.has_vsize ? f.vsize : 0, base,
				    sizeof(base)) < 0)
			return -1;
		return md_fname_build(base, strlen(base), f.flags, kw, out,
				      outsize);
	}
	return md_fname_build(f.base, f.base_len, f.flags, kw, out, outsize);
}

/* Step 1: map all keywords, writing the target table once. */
static int
prepare_keywords(struct move *mv, const uint32_t *uids, size_t count)
{
	bool added = false, a;
	size_t i;

	if (md_keywords_read(mv->src->dirfd, &mv->skw) < 0 ||
	    md_keywords_read(mv->dst->dirfd, &mv->dst->kw) < 0)
		goto internal;
	for (i = 0; i < count; i++) {
		struct md_rec *r = md_uidlist_find(&mv->sul, uids[i]);
		struct md_fname f;
		uint32_t kw;

		if (r == NULL)
			continue;
		md_fname_parse(r->name, &f);
		if (md_keywords_map(&mv->skw, f.keywords, &mv->dst->kw, &kw,
				    &a) < 0) {
			md_set_error(mv->src->store, MD_ERR_LIMIT,
				     "Too many keywords in target mailbox");
			return -1;
		}
		added |= a;
	}
	if (added && md_keywords_write(mv->dst->dirfd, &mv->dst->kw) < 0)
		goto internal;
	return 0;
internal:
	md_set_error(mv->src->store, MD_ERR_INTERNAL, "Internal store error");
	return -1;
}

/* Step 2 for one UID: rename (or copy) it, retrying when a flag change
 * renamed it meanwhile (the target name is built from its current flags,
 * so that change travels too) or, in rename mode, when its name exists in
 * the target. Returns 0 (moved or skipped) or -1 (stop). */
static int
move_one(struct move *mv, const uint32_t *uids, size_t i, size_t count)
{
	struct md_rec *r = md_uidlist_find(&mv->sul, uids[i]);
	char newname[NAME_MAX + 1];
	bool fresh = false;
	int rc = 1, tries;

	if (r == NULL || r->name == NULL)
		return 0; /* expunged meanwhile, or listed twice */
	for (tries = 0; tries < 6; tries++) {
		if (target_name(mv, r, fresh, newname, sizeof(newname)) < 0)
			goto bad_name;
		rc = move_file(mv, r, newname);
		if (rc == 2) {
			if (write_journal(mv, uids, i, count) < 0)
				return -1;
			mv->exdev = true;
		} else if (rc == 3 && !fresh && !mv->exdev) {
			/* A rename is atomic, so a new base name is safe;
			 * a copy under a new name would escape the EXDEV
			 * journal, which knows source base names. */
			fresh = true;
		} else if (rc != 4) {
			break;
		}
	}
	if (rc == 3) {
		md_set_error(mv->src->store, MD_ERR_INTERNAL,
			     "Message name exists in target");
		log_error("maildir: move %s: exists in the target", r->name);
		return -1;
	}
	if (rc < 0)
		return -1;
	if (rc != 0)
		return 0; /* gone, or renamed again and again: untouched */
	FAULT_POINT("move.after-rename");
	md_uids_push(&mv->res->src, r->uid);
	md_uids_push(&mv->res->dst, mv->dul.uidnext);
	md_uidlist_add(&mv->dul, mv->dul.uidnext++, newname, r->size, r->mtime);
	if (mv->exdev) {
		if (mv->nunlink == mv->unlink_cap) {
			mv->unlink_cap =
				mv->unlink_cap ? mv->unlink_cap * 2 : 64;
			mv->unlink_src =
				xreallocarray(mv->unlink_src, mv->unlink_cap,
					      sizeof(*mv->unlink_src));
		}
		mv->unlink_src[mv->nunlink++] = r->name;
	} else {
		free(r->name);
	}
	r->name = NULL;
	return 0;
bad_name:
	md_set_error(mv->src->store, MD_ERR_INTERNAL, "Bad file name");
	return -1;
}

/* EXDEV: the copies are durable in the target; remove the sources. */
static int
unlink_sources(struct move *mv)
{
	size_t i;
	int ret = 0;

	if (md_fsync_dir(mv->dst->cur_fd, "cur") < 0)
		return -1;
	for (i = 0; i < mv->nunlink; i++) {
		if (unlinkat(mv->src->cur_fd, mv->unlink_src[i], 0) < 0 &&
		    errno != ENOENT) {
			md_set_syserr(mv->src->store, "unlink",
				      mv->unlink_src[i]);
			ret = -1;
		}
		FAULT_SYSCALL();
		FAULT_POINT("move.exdev-after-unlink");
	}
	return ret;
}

/* Steps 3-5. Returns 0; 1 when both lists were written but something
 * else failed (a source copy not removed, the keyword table not written);
 * -1 when the lists were not written (the target UIDs are unknown). */
static int
publish(struct move *mv, bool any)
{
	int ret = 0;

	if (!any)
		return 0;
	if (mv->exdev && unlink_sources(mv) < 0)
		ret = 1;
	/* Both directories once per batch: the renames are durable before
	 * either list stops or starts naming the files. */
	if (md_fsync_dir(mv->dst->cur_fd, "cur") < 0 ||
	    md_fsync_dir(mv->src->cur_fd, "cur") < 0) {
		md_set_syserr(mv->src->store, "fsync", "cur");
		return -1;
	}
	FAULT_POINT("move.after-fsync");
	/* Names for the letters step 2 added, before any list names the
	 * files (a crash here leaves a keyword letter without a name, which
	 * shows no keyword: harmless). */
	if (mv->kw_added &&
	    md_keywords_write(mv->dst->dirfd, &mv->dst->kw) < 0) {
		md_set_syserr(mv->src->store, "write", MD_KEYWORDS);
		ret = 1;
	}
	if (md_uidlist_write(mv->dst->dirfd, &mv->dul) < 0) {
		md_set_syserr(mv->src->store, "write", MD_UIDLIST);
		return -1;
	}
	FAULT_POINT("move.after-target-list");
	md_uidlist_compact(&mv->sul);
	if (md_uidlist_write(mv->src->dirfd, &mv->sul) < 0) {
		/* The target UIDs stand; the source's next sync drops the
		 * records whose files left. */
		md_set_syserr(mv->src->store, "write", MD_UIDLIST);
		return 1;
	}
	FAULT_POINT("move.after-source-list");
	/* Keep the journal when a source copy could not be removed: the
	 * next sync of the source removes it then. */
	if (mv->exdev && ret == 0) {
		if (unlinkat(mv->src->dirfd, MD_MOVE_JOURNAL, 0) < 0)
			log_error("maildir: unlink %s: %s", MD_MOVE_JOURNAL,
				  strerror(errno));
		FAULT_SYSCALL();
	}
	return ret;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Remove the moved UIDs from the source box's view. */
static void
view_drop(struct md_box *box, const struct md_uids *gone)
{
	uint32_t *sorted, i;

	if (gone->count == 0)
		return;
	sorted = xcalloc(gone->count, sizeof(*sorted));
	memcpy(sorted, gone->uids, gone->count * sizeof(*sorted));
	qsort(sorted, gone->count, sizeof(*sorted), cmp_u32);
	for (i = 0; i < box->count; i++) {
		if (bsearch(&box->msgs[i].uid, sorted, gone->count,
			    sizeof(*sorted), cmp_u32) != NULL) {
			md_box_set_fname(box, i, NULL);
		}
	}
	md_box_view_compact(box);
	free(sorted);
}

/* Lock both lists in directory-name order and sync them. */
static int
lock_both(struct move *mv, const char *src_dir)
{
	struct md_box *first = mv->src, *second = mv->dst;

	if (strcmp(src_dir, mv->dst_dir) > 0) {
		first = mv->dst;
		second = mv->src;
	}
	if (md_box_lock(first) < 0)
		return -1;
	if (md_box_lock(second) < 0)
		return -1;
	if (md_sync_locked(mv->src->store, mv->src->dirfd, mv->src->new_fd,
			   mv->src->cur_fd, false, &mv->sul, NULL) < 0 ||
	    md_sync_locked(mv->dst->store, mv->dst->dirfd, mv->dst->new_fd,
			   mv->dst->cur_fd, false, &mv->dul, NULL) < 0)
		return -1;
	return 0;
}

/* Moving into the box itself: the same files get new UIDs. */
static int
move_self(struct move *mv, const uint32_t *uids, size_t count)
{
	size_t i;
	int ret;

	if (md_box_lock(mv->src) < 0)
		return -1;
	ret = md_sync_locked(mv->src->store, mv->src->dirfd, mv->src->new_fd,
			     mv->src->cur_fd, false, &mv->sul, NULL);
	for (i = 0; ret == 0 && i < count; i++) {
		struct md_rec *r = md_uidlist_find(&mv->sul, uids[i]);

		if (r == NULL || r->name == NULL)
			continue;
		md_uids_push(&mv->res->src, r->uid);
		md_uids_push(&mv->res->dst, mv->sul.uidnext);
		md_uidlist_add(&mv->sul, mv->sul.uidnext++, r->name, r->size,
			       r->mtime);
		/* add may have moved the array: find the record again. */
		r = md_uidlist_find(&mv->sul, uids[i]);
		free(r->name);
		r->name = NULL;
	}
	md_uidlist_compact(&mv->sul);
	if (ret == 0 && mv->res->src.count > 0 &&
	    md_uidlist_write(mv->src->dirfd, &mv->sul) < 0) {
		md_set_syserr(mv->src->store, "write", MD_UIDLIST);
		mv->res->src.count = mv->res->dst.count = 0;
		ret = -1;
	}
	mv->res->dst_uidvalidity = mv->sul.uidvalidity;
	md_box_unlock(mv->src);
	return ret;
}

static int
move_other(struct move *mv, const uint32_t *uids, size_t count,
	   const char *src_dir, const char *target)
{
	size_t i;
	int ret = -1, rc;

	if (md_box_open_raw(mv->src->store, target, &mv->dst) < 0)
		return -1;
	if (lock_both(mv, src_dir) == 0 &&
	    prepare_keywords(mv, uids, count) == 0) {
		ret = 0;
		for (i = 0; i < count && ret == 0; i++)
			ret = move_one(mv, uids, i, count);
		rc = publish(mv, mv->res->src.count > 0);
		if (rc < 0) {
			/* The files moved, but the target UIDs are not
			 * recorded: its next sync assigns others. */
			mv->res->dst.count = 0;
		}
		if (rc != 0)
			ret = -1;
		mv->res->dst_uidvalidity = mv->dul.uidvalidity;
	}
	md_box_unlock(mv->dst);
	md_box_unlock(mv->src);
	return ret;
}

int
md_move(struct md_box *box, const uint32_t *uids, size_t count,
	const char *target, struct md_copy_result *result)
{
	struct move mv;
	char src_dir[MD_MAX_NAME + 1];
	size_t i;
	int ret;

	if (box->readonly) {
		md_set_error(box->store, MD_ERR_PERM, "Mailbox is read-only");
		return -1;
	}
	memset(&mv, 0, sizeof(mv));
	mv.src = box;
	mv.res = result;
	if (md_name_to_dir(target, mv.dst_dir, sizeof(mv.dst_dir)) < 0 ||
	    md_name_to_dir(box->name, src_dir, sizeof(src_dir)) < 0) {
		md_set_error(box->store, MD_ERR_BADNAME,
			     "Invalid mailbox name");
		return -1;
	}
	FAULT_ARM(true);
	if (strcmp(src_dir, mv.dst_dir) == 0)
		ret = move_self(&mv, uids, count);
	else
		ret = move_other(&mv, uids, count, src_dir, target);
	FAULT_ARM(false);
	view_drop(box, &result->src);
	for (i = 0; i < mv.nunlink; i++)
		free(mv.unlink_src[i]);
	free(mv.unlink_src);
	md_keywords_clear(&mv.skw);
	md_uidlist_clear(&mv.sul);
	md_uidlist_clear(&mv.dul);
	md_box_free(&mv.dst);
	return ret;
}
