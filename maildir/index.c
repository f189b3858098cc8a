/* The binary index "imapmoved-index": the UID list of a box as the box
 * holds it in memory, so that opening a large box whose directories and
 * list did not change costs one mmap() instead of parsing a text list of
 * one line per message and allocating its names (issue 9: a SELECT of
 * 100,000 unchanged messages).
 *
 * It is only a cache of the list. It names the exact list it was made
 * from (inode, size, mtime and ctime of imapmoved-uidlist) and the
 * directory stamps that list recorded; it is used only when the list is
 * still that file and the directories still carry those stamps, so any
 * change by any program makes it stale and the text list is read as
 * before. It is written at the first open of a box that found it missing
 * or stale, under the list's lock taken without waiting (a busy lock just
 * skips the write), through a temporary file and rename(2), never
 * fsync'd: after a power cut a damaged file fails the checks below and is
 * rewritten.
 *
 * Layout (native byte order and struct layout; a file from another ABI
 * fails the header check and is rewritten):
 *   struct index_hdr
 *   struct md_msg   recs[count]   at recs_off, what md_box_messages() gives
 *   uint32_t        offs[count]   at offs_off, into the names
 *   char            names[]       at names_off: per message "base\0file\0"
 * The records are mapped private and writable: the box uses them in place
 * (a flag change copies one page, in this process only).
 */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/io.h"
#include "lib/log.h"
#include "lib/mem.h"

#define INDEX_MAGIC "imapmidx"
#define INDEX_VERSION 1u
#define INDEX_ENDIAN 0x01020304u

struct index_hdr {
	char magic[8];
	uint32_t version;
	uint32_t rec_size; /* sizeof(struct md_msg) of the writer */
	uint32_t endian;
	uint32_t count;
	uint32_t uidvalidity, uidnext, recent_uid, pad;
	int64_t new_sec, new_nsec, cur_sec, cur_nsec;
	/* The list this index was made from. */
	uint64_t list_ino, list_size;
	int64_t list_mtime_sec, list_mtime_nsec;
	int64_t list_ctime_sec, list_ctime_nsec;
	uint64_t recs_off, offs_off, names_off, names_len;
	uint64_t file_size;
};

static bool
same_list(const struct index_hdr *h, const struct stat *st)
{
	return h->list_ino == (uint64_t)st->st_ino &&
	       h->list_size == (uint64_t)st->st_size &&
	       h->list_mtime_sec == (int64_t)st->st_mtim.tv_sec &&
	       h->list_mtime_nsec == (int64_t)st->st_mtim.tv_nsec &&
	       h->list_ctime_sec == (int64_t)st->st_ctim.tv_sec &&
	       h->list_ctime_nsec == (int64_t)st->st_ctim.tv_nsec;
}

static uint64_t
align8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

/* Is the header consistent with itself and with a file of size bytes? */
static bool
header_valid(const struct index_hdr *h, uint64_t size)
{
	uint64_t recs_len, offs_len;

	if (memcmp(h->magic, INDEX_MAGIC, sizeof(h->magic)) != 0 ||
	    h->version != INDEX_VERSION ||
	    h->rec_size != sizeof(struct md_msg) || h->endian != INDEX_ENDIAN ||
	    h->file_size != size || h->uidvalidity == 0 || h->uidnext == 0 ||
	    h->count >= h->uidnext)
		return false;
	recs_len = (uint64_t)h->count * sizeof(struct md_msg);
	offs_len = (uint64_t)h->count * sizeof(uint32_t);
	return h->recs_off == align8(sizeof(*h)) &&
	       h->offs_off == h->recs_off + recs_len &&
	       h->names_off == h->offs_off + offs_len && h->names_len > 0 &&
	       h->names_len <= size && h->names_off + h->names_len == size;
}

/* A sample of the records (the first, the last and 30 between) looks
 * like what the writer wrote: UIDs ascending below uidnext, not \Recent.
 * Only a sample: reading every record would cost as much as the SELECT
 * this file is for (the records of 100,000 messages are 4 MB). The file is
 * replaced by rename and never changed in place, so what this catches is
 * a file left zeroed or cut by a crash of the machine; damage that passes
 * can at worst show wrong UIDs or flags until the list next changes (the
 * protocol tolerates any value, keyword bits without a name included). */
static bool
records_plausible(const struct index_hdr *h, const struct md_msg *m)
{
	uint32_t k, prev_uid = 0, prev_i = UINT32_MAX;

	for (k = 0; k < 32 && h->count > 0; k++) {
		uint32_t i = (uint32_t)((uint64_t)(h->count - 1) * k / 31);

		if (i == prev_i)
			continue;
		if (m[i].uid <= prev_uid || m[i].uid >= h->uidnext ||
		    m[i].recent)
			return false;
		prev_uid = m[i].uid;
		prev_i = i;
	}
	return true;
}

int
md_index_load(struct md_box *box)
{
	struct md_uidlist stamps = {0};
	const struct index_hdr *h;
	struct stat list_st, st;
	void *p;
	int fd;

	if (fstatat(box->dirfd, MD_UIDLIST, &list_st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	fd = openat(box->dirfd, MD_INDEX, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < sizeof(*h) ||
	    (uint64_t)st.st_size > SIZE_MAX / 2) {
		(void)close(fd);
		return -1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 fd, 0);
	(void)close(fd);
	if (p == MAP_FAILED)
		return -1;
	h = p;
	stamps.new_mtime.tv_sec = (time_t)h->new_sec;
	stamps.new_mtime.tv_nsec = (long)h->new_nsec;
	stamps.cur_mtime.tv_sec = (time_t)h->cur_sec;
	stamps.cur_mtime.tv_nsec = (long)h->cur_nsec;
	/* Stale unless it is the list's, the directories are as the list
	 * recorded them, nothing waits to be claimed as \Recent, and no
	 * crashed move waits for recovery: exactly when the text list would
	 * be used as it is. */
	if (!header_valid(h, (uint64_t)st.st_size) || !same_list(h, &list_st) ||
	    h->recent_uid < h->uidnext ||
	    !md_stamps_current(&stamps, box->new_fd, box->cur_fd) ||
	    faccessat(box->dirfd, MD_MOVE_JOURNAL, F_OK, AT_SYMLINK_NOFOLLOW) ==
		    0 ||
	    ((const char *)p)[h->names_off + h->names_len - 1] != '\0' ||
	    !records_plausible(
		    h, (const struct md_msg *)((char *)p + h->recs_off))) {
		(void)munmap(p, (size_t)st.st_size);
		return -1;
	}
	box->ix.p = p;
	box->ix.len = (size_t)st.st_size;
	box->ix.offs =
		(const uint32_t *)(const void *)((char *)p + h->offs_off);
	box->ix.names = (const char *)p + h->names_off;
	box->ix.names_len = (size_t)h->names_len;
	box->msgs = (struct md_msg *)(void *)((char *)p + h->recs_off);
	box->msgs_mapped = true;
	box->count = h->count;
	box->cap = h->count;
	box->uidvalidity = h->uidvalidity;
	box->uidnext = h->uidnext;
	box->new_mtime = stamps.new_mtime;
	box->cur_mtime = stamps.cur_mtime;
	box->list_st = list_st;
	return 0;
}

/* The index of box's view as a byte string into b. The names are laid
 * out first (one pass), since the header needs their length. */
static void
index_format(const struct md_box *box, const struct md_uidlist *ul,
	     struct buf *b)
{
	uint32_t *offs = xcalloc(box->count + 1, sizeof(*offs));
	struct index_hdr h;
	struct buf names;
	uint32_t i;

	/* No maximum on either buf: the appends below cannot fail. */
	buf_init(&names, 0);
	for (i = 0; i < box->count; i++) {
		const char *base = md_box_base(box, i);
		const char *name = md_box_fname(box, i);

		offs[i] = (uint32_t)names.len;
		(void)buf_append(&names, base, strlen(base) + 1);
		(void)buf_append(&names, name, strlen(name) + 1);
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, INDEX_MAGIC, sizeof(h.magic));
	h.version = INDEX_VERSION;
	h.rec_size = sizeof(struct md_msg);
	h.endian = INDEX_ENDIAN;
	h.count = box->count;
	h.uidvalidity = ul->uidvalidity;
	h.uidnext = ul->uidnext;
	h.recent_uid = ul->recent_uid;
	h.new_sec = (int64_t)ul->new_mtime.tv_sec;
	h.new_nsec = (int64_t)ul->new_mtime.tv_nsec;
	h.cur_sec = (int64_t)ul->cur_mtime.tv_sec;
	h.cur_nsec = (int64_t)ul->cur_mtime.tv_nsec;
	h.list_ino = (uint64_t)box->list_st.st_ino;
	h.list_size = (uint64_t)box->list_st.st_size;
	h.list_mtime_sec = (int64_t)box->list_st.st_mtim.tv_sec;
	h.list_mtime_nsec = (int64_t)box->list_st.st_mtim.tv_nsec;
	h.list_ctime_sec = (int64_t)box->list_st.st_ctim.tv_sec;
	h.list_ctime_nsec = (int64_t)box->list_st.st_ctim.tv_nsec;
	h.recs_off = align8(sizeof(h));
	h.offs_off = h.recs_off + (uint64_t)box->count * sizeof(struct md_msg);
	h.names_off = h.offs_off + (uint64_t)box->count * sizeof(uint32_t);
	h.names_len = names.len;
	h.file_size = h.names_off + names.len;
	(void)buf_append(b, &h, sizeof(h));
	(void)buf_append(b, "\0\0\0\0\0\0\0", (size_t)(h.recs_off - sizeof(h)));
	for (i = 0; i < box->count; i++) {
		struct md_msg m = box->msgs[i];

		m.recent = false;
		(void)buf_append(b, &m, sizeof(m));
	}
	(void)buf_append(b, offs, (size_t)box->count * sizeof(*offs));
	(void)buf_append(b, names.data, names.len);
	buf_free(&names);
	free(offs);
}

void
md_index_write(struct md_box *box, const struct md_uidlist *ul)
{
	struct buf b;
	uint32_t i;
	int fd;

	/* Useless when the next open could not use it anyway. */
	if (box->count < MD_INDEX_MIN || box->list_st.st_ino == 0 ||
	    ul->recent_uid < ul->uidnext || ul->new_mtime.tv_sec == 0 ||
	    ul->cur_mtime.tv_sec == 0)
		return;
	for (i = 0; i < box->count; i++)
		if (md_box_fname(box, i) == NULL)
			return;
	if (!box->has_lock && md_lock_take(box->dirfd, MD_UIDLIST_LOCK,
					   box->store->lock_stale_secs, 0) != 1)
		return;
	buf_init(&b, 0);
	index_format(box, ul, &b);
	if (b.len >= (size_t)UINT32_MAX) /* offsets are 32-bit */
		goto out;
	if (unlinkat(box->dirfd, MD_INDEX_TMP, 0) < 0 && errno != ENOENT)
		goto fail;
	fd = openat(box->dirfd, MD_INDEX_TMP,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if (io_write_all(fd, b.data, b.len) < 0) {
		(void)close(fd);
		goto fail_unlink;
	}
	if (close(fd) < 0 ||
	    renameat(box->dirfd, MD_INDEX_TMP, box->dirfd, MD_INDEX) < 0)
		goto fail_unlink;
	goto out;
fail_unlink:
	log_warn("maildir: write %s: %s", MD_INDEX_TMP, strerror(errno));
	(void)unlinkat(box->dirfd, MD_INDEX_TMP, 0); /* best effort */
	goto out;
fail:
	log_warn("maildir: create %s: %s", MD_INDEX_TMP, strerror(errno));
out:
	buf_free(&b);
	if (!box->has_lock)
		md_lock_release(box->dirfd, MD_UIDLIST_LOCK);
}
