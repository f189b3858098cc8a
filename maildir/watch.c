/* Change notification for IDLE: an inotify descriptor on new/, cur/ and
 * the box directory (where the UID list is renamed into place). server/
 * polls it; maildir/ never polls or blocks on it. */
#include "maildir-private.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/log.h"

/* Add a watch on directory fd by its /proc/self/fd path, so no path is
 * rebuilt from the root. */
static int
watch_fd(int ifd, int fd, uint32_t mask)
{
	char path[64];

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return inotify_add_watch(ifd, path, mask);
}

int
md_box_watch_fd(struct md_box *box)
{
	const uint32_t files = IN_CREATE | IN_DELETE | IN_MOVED_FROM |
			       IN_MOVED_TO | IN_ONLYDIR;
	int ifd;

	if (box->watch_fd >= 0)
		return box->watch_fd;
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0 || watch_fd(ifd, box->new_fd, files) < 0 ||
	    watch_fd(ifd, box->cur_fd, files) < 0 ||
	    (box->watch_dir_wd =
		     watch_fd(ifd, box->dirfd, IN_MOVED_TO | IN_ONLYDIR)) < 0) {
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

			/* In the box directory only the list matters. */
			if (e->wd != box->watch_dir_wd ||
			    (e->mask & IN_Q_OVERFLOW) ||
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
