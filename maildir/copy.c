/* COPY: each message gets a new unique base name in the target, by hard
 * link when possible (same data, no copy), else by a copy that is fsync'd
 * in tmp/ and renamed into cur/. Flags, keywords (by name) and the internal
 * date travel with the message.
 *
 * Steps and crash states (under the target's list lock):
 *   1. map keyword names, write the target's keyword file if it grew
 *   2. link (or copy + fsync + rename) each file into target cur/  [crash:
 *      files without records in the target: the next sync gives them UIDs;
 *      the client got no OK and may copy again, as for any failed COPY]
 *   3. fsync target cur/ once
 *   4. write the target list with the new records */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/log.h"
#include "lib/mem.h"

static int
copy_data(int in, int out)
{
	char chunk[65536];
	ssize_t r;

	while ((r = io_read(in, chunk, sizeof(chunk))) > 0)
		if (io_write_all(out, chunk, (size_t)r) < 0)
			return -1;
	return r < 0 ? -1 : 0;
}

int
md_copy_file(int src_fd, const char *src_name, struct md_box *box,
	     const char *dst_name, int64_t mtime)
{
	char tmp[NAME_MAX + 1];
	struct timespec ts[2] = {{(time_t)mtime, 0}, {(time_t)mtime, 0}};
	int in, out = -1, saved;

	if (md_fname_unique(0, 0, tmp, sizeof(tmp)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	in = openat(src_fd, src_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -1;
	out = openat(box->tmp_fd, tmp,
		     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (out < 0)
		goto fail;
	FAULT_SYSCALL();
	/* Data durable before the name appears in cur/. */
	if (copy_data(in, out) < 0 || fsync(out) < 0 || futimens(out, ts) < 0)
		goto fail_unlink;
	FAULT_SYSCALL();
	if (close(out) < 0) {
		out = -1;
		goto fail_unlink;
	}
	out = -1;
	if (md_rename_noreplace(box->tmp_fd, tmp, box->cur_fd, dst_name) < 0)
		goto fail_unlink;
	(void)close(in);
	return 0;
fail_unlink:
	saved = errno;
	(void)unlinkat(box->tmp_fd, tmp, 0);
	errno = saved;
fail:
	saved = errno;
	if (out >= 0)
		(void)close(out);
	(void)close(in);
	log_error("maildir: copy %s: %s", src_name, strerror(saved));
	errno = saved;
	return -1;
}

/* Step 2 for one message. Returns 0, 1 when its file is gone, -1. */
static int
link_or_copy(struct md_box *src, uint32_t idx, struct md_box *dst,
	     const char *name)
{
	int tries;

	for (tries = 0; tries < 3; tries++) {
		char *found;

		if (linkat(src->cur_fd, md_box_fname(src, idx), dst->cur_fd,
			   name, 0) == 0)
			return 0;
		if (errno == EXDEV || errno == EPERM || errno == EMLINK) {
			if (md_copy_file(src->cur_fd, md_box_fname(src, idx),
					 dst, name,
					 src->msgs[idx].internal_date) == 0)
				return 0;
		}
		if (errno != ENOENT) {
			md_set_syserr(src->store, "link", name);
			return -1;
		}
		found = md_refind(src->cur_fd, md_box_base(src, idx),
				  strlen(md_box_base(src, idx)));
		if (found == NULL)
			return 1;
		md_box_set_fname(src, idx, found);
	}
	return 1;
}

/* Step 1: the target keyword bits of every message (kwbits[i]). */
static int
map_all_keywords(struct md_box *src, const uint32_t *uids, size_t count,
		 struct md_box *dst, uint32_t *kwbits)
{
	bool added = false, a;
	size_t i;

	if (md_keywords_read(dst->dirfd, &dst->kw) < 0)
		goto internal;
	for (i = 0; i < count; i++) {
		long idx = md_box_find(src, uids[i]);

		kwbits[i] = 0;
		if (idx < 0 || src->msgs[idx].keywords == 0)
			continue;
		if (md_keywords_map(&src->kw, src->msgs[idx].keywords, &dst->kw,
				    &kwbits[i], &a) < 0) {
			md_set_error(src->store, MD_ERR_LIMIT,
				     "Too many keywords in target mailbox");
			return -1;
		}
		added |= a;
	}
	if (added && md_keywords_write(dst->dirfd, &dst->kw) < 0)
		goto internal;
	return 0;
internal:
	md_set_error(src->store, MD_ERR_INTERNAL, "Internal store error");
	return -1;
}

/* Steps 2-4 under the target lock. */
static int
copy_locked(struct md_box *src, const uint32_t *uids, size_t count,
	    struct md_box *dst, const uint32_t *kwbits,
	    struct md_copy_result *res)
{
	struct md_uidlist ul;
	size_t i, first;
	int ret = 0;

	if (md_sync_locked(dst->store, dst->dirfd, dst->new_fd, dst->cur_fd,
			   false, &ul, NULL) < 0)
		return -1;
	first = ul.count;
	for (i = 0; i < count && ret == 0; i++) {
		long idx = md_box_find(src, uids[i]);
		const struct md_msg *m;
		char base[NAME_MAX + 1], name[NAME_MAX + 1];
		int r;

		if (idx < 0)
			continue;
		m = &src->msgs[idx];
		if (md_fname_unique(m->size, m->vsize, base, sizeof(base)) <
			    0 ||
		    md_fname_build(base, strlen(base), m->flags, kwbits[i],
				   name, sizeof(name)) < 0) {
			md_set_error(src->store, MD_ERR_INTERNAL, "Bad name");
			ret = -1;
			break;
		}
		r = link_or_copy(src, (uint32_t)idx, dst, name);
		if (r < 0)
			ret = -1;
		if (r != 0)
			continue;
		FAULT_POINT("copy.after-link");
		md_uids_push(&res->src, uids[i]);
		md_uids_push(&res->dst, ul.uidnext);
		md_uidlist_add(&ul, ul.uidnext++, name, m->size,
			       (int64_t)m->internal_date);
	}
	if (ul.count > first) {
		/* Step 3: once for the batch, before the list names them. */
		if (md_fsync_dir(dst->cur_fd, "cur") < 0 ||
		    md_uidlist_write(dst->dirfd, &ul) < 0) {
			md_set_syserr(src->store, "write", MD_UIDLIST);
			ret = -1;
			res->src.count = res->dst.count = 0;
		}
		FAULT_POINT("copy.after-list");
	}
	res->dst_uidvalidity = ul.uidvalidity;
	md_uidlist_clear(&ul);
	return ret;
}

int
md_box_copy(struct md_box *box, const uint32_t *uids, size_t count,
	    const char *target, struct md_copy_result *result)
{
	struct md_box *dst;
	uint32_t *kwbits;
	int ret = -1;

	if (md_box_open_raw(box->store, target, &dst) < 0)
		return -1;
	kwbits = xcalloc(count + 1, sizeof(*kwbits));
	if (md_box_lock(dst) < 0)
		goto out;
	if (map_all_keywords(box, uids, count, dst, kwbits) == 0)
		ret = copy_locked(box, uids, count, dst, kwbits, result);
	md_box_unlock(dst);
out:
	free(kwbits);
	md_box_free(&dst);
	return ret;
}
