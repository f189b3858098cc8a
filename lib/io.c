/* File-descriptor helpers (see io.h). Knows nothing of mail. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int
io_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
io_read(int fd, void *p, size_t n)
{
	ssize_t r;

	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

int
io_read_file(const char *path, struct buf *b)
{
	char chunk[8192];
	ssize_t r;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((r = io_read(fd, chunk, sizeof(chunk))) > 0) {
		if (buf_append(b, chunk, (size_t)r) < 0) {
			(void)close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	saved = errno;
	(void)close(fd);
	if (r < 0) {
		errno = saved;
		return -1;
	}
	return 0;
}

int
io_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}
