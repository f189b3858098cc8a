/* Read-only views of message bytes for FETCH: the file is opened by its
 * current name (found again by base name when another process renamed it)
 * and mapped. Never writes. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"

/* Open message idx, refreshing its file name when it moved. fd or -1. */
static int
open_msg(struct md_box *box, long idx)
{
	const struct md_msg *m = &box->msgs[idx];
	char *name;
	int fd;

	fd = openat(box->cur_fd, box->fnames[idx],
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	name = md_refind(box->cur_fd, m->basename, strlen(m->basename));
	if (name == NULL) {
		errno = ENOENT;
		return -1;
	}
	free(box->fnames[idx]);
	box->fnames[idx] = name;
	return openat(box->cur_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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
		md_set_syserr(box->store, "open", box->fnames[idx]);
		if (fd >= 0)
			(void)close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		(void)close(fd);
		return 0;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	(void)close(fd);
	if (p == MAP_FAILED) {
		md_set_syserr(box->store, "mmap", box->fnames[idx]);
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
	memset(view, 0, sizeof(*view));
	view->data = "";
}
