/* Change notification for IDLE: an inotify descriptor on new/, cur/ and
 * the box directory (where the UID list is renamed into place, and which
 * moves away when the box is deleted or renamed). server/ polls it;
 * maildir/ never polls or blocks on it. */
#include "maildir-private.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/log.h"

/* Add a watch on directory fd by its /proc/self/fd path, so no path is
 * rebuilt from the root; without /proc (a chroot), by its path under the
 * root: the box directory, sub ("" for the box itself) inside it. */
static int
watch_fd(struct md_box *box, int ifd, int fd, const char *sub, uint32_t mask)
{
	char path[PATH_MAX], dir[MD_MAX_NAME + 1];
	int wd;

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(ifd, path, mask);
	if (wd >= 0 || errno != ENOENT ||
	    md_name_to_dir(box->name, dir, sizeof(dir)) < 0)
		return wd;
	if (snprintf(path, sizeof(path), "%s/%s/%s", box->store->root,
		     dir[0] ? dir : ".", sub) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return inotify_add_watch(ifd, path, mask);
}

int
md_box_watch_fd(struct md_box *box)
{
	const uint32_t files = IN_CREATE | IN_DELETE | IN_MOVED_FROM |
			       IN_MOVED_TO | IN_ONLYDIR;
	const uint32_t dir = IN_MOVED_TO | IN_MOVE_SELF | IN_ONLYDIR;
	int ifd;

	if (box->watch_fd >= 0)
		return box->watch_fd;
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0 || watch_fd(box, ifd, box->new_fd, "new", files) < 0 ||
	    watch_fd(box, ifd, box->cur_fd, "cur", files) < 0 ||
	    (box->watch_dir_wd = watch_fd(box, ifd, box->dirfd, "", dir)) < 0) {
		md_set_syserr(box->store, "inotify", box->name);
		if (ifd >= 0)
			(void)close(ifd);
		return -1;
	}
	box->watch_fd = ifd;
	return ifd;
}

int
md_box_watch_drain(struct md_box *box)
{
	char ev[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	int relevant = 0;
	ssize_t r;

	if (box->watch_fd < 0)
		return 0;
	while ((r = io_read(box->watch_fd, ev, sizeof(ev))) > 0) {
		const char *p = ev;

		while (p < ev + r) {
			const struct inotify_event *e = (const void *)p;

			/* In the box directory only the list matters, and
			 * the directory itself moving away (DELETE, RENAME:
			 * the session holds new/ and cur/ open, so their
			 * own removal sends nothing). */
			if (e->wd != box->watch_dir_wd ||
			    (e->mask & (IN_Q_OVERFLOW | IN_MOVE_SELF)) ||
			    (e->len > 0 && strcmp(e->name, MD_UIDLIST) == 0))
				relevant = 1;
			p += sizeof(*e) + e->len;
		}
	}
	if (r < 0 && errno != EAGAIN) {
		md_set_syserr(box->store, "read inotify", box->name);
		return -1;
	}
	return relevant;
}
