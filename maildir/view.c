/* Read-only views of message bytes for FETCH and SEARCH: the file is
 * opened by its current name (found again by base name when another
 * process renamed it), then read into memory when small and mapped when
 * big. Never writes. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/log.h"
#include "lib/mem.h"

/* Files up to this size are read, bigger ones mapped. For a few pages
 * read(2) costs under half of a mapping (no page faults, no TLB flush at
 * munmap), which counts when SEARCH or FETCH walk thousands of messages;
 * from about 128 KiB on, copying costs more than mapping, and a mapping
 * keeps a big message out of the heap. */
#define VIEW_READ_MAX ((off_t)128 * 1024)

/* Open message idx, refreshing its file name when it moved. fd or -1. */
static int
open_msg(struct md_box *box, long idx)
{
	const char *base = md_box_base(box, (uint32_t)idx);
	char *name;
	int fd;

	fd = openat(box->cur_fd, md_box_fname(box, (uint32_t)idx),
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	name = md_refind(box->cur_fd, base, strlen(base));
	if (name == NULL) {
		errno = ENOENT;
		return -1;
	}
	md_box_set_fname(box, (uint32_t)idx, name);
	return openat(box->cur_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

/* Read the size bytes of message idx from fd (closed here) into memory.
 * Message files never change once delivered; a shorter read (a file cut
 * by hand) gives what is there. */
static int
read_view(struct md_box *box, long idx, int fd, size_t size,
	  struct md_view *view_r)
{
	char *copy = xmalloc(size);
	size_t got = 0;
	ssize_t n = 0;

	while (got < size && (n = io_read(fd, copy + got, size - got)) > 0)
		got += (size_t)n;
	if (got < size && n < 0) {
		md_set_syserr(box->store, "read",
			      md_box_fname(box, (uint32_t)idx));
		(void)close(fd);
		free(copy);
		return -1;
	}
	(void)close(fd); /* read-only: nothing to lose */
	view_r->data = copy;
	view_r->size = got;
	view_r->copy_ = copy;
	return 0;
}

int
md_box_view(struct md_box *box, uint32_t uid, struct md_view *view_r)
{
	long idx = md_box_find(box, uid);
	struct stat st;
	void *p;
	int fd;

	memset(view_r, 0, sizeof(*view_r));
	view_r->data = "";
	if (idx < 0) {
		md_set_error(box->store, MD_ERR_NOTFOUND, "No such message");
		return -1;
	}
	fd = open_msg(box, idx);
	if (fd < 0 && errno == ENOENT) {
		md_set_error(box->store, MD_ERR_EXPUNGED,
			     "Message was expunged");
		return -1;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		md_set_syserr(box->store, "open",
			      md_box_fname(box, (uint32_t)idx));
		if (fd >= 0)
			(void)close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		(void)close(fd);
		return 0;
	}
	if (st.st_size <= VIEW_READ_MAX)
		return read_view(box, idx, fd, (size_t)st.st_size, view_r);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	(void)close(fd);
	if (p == MAP_FAILED) {
		md_set_syserr(box->store, "mmap",
			      md_box_fname(box, (uint32_t)idx));
		return -1;
	}
	view_r->data = p;
	view_r->size = (size_t)st.st_size;
	view_r->map_ = p;
	view_r->map_len_ = (size_t)st.st_size;
	return 0;
}

void
md_view_release(struct md_view *view)
{
	if (view->map_ != NULL && munmap(view->map_, view->map_len_) < 0)
		log_error("maildir: munmap: %s", strerror(errno));
	free(view->copy_);
	memset(view, 0, sizeof(*view));
	view->data = "";
}
