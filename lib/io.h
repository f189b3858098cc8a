/* Small I/O helpers over file descriptors, restarting on EINTR. */
#ifndef LIB_IO_H
#define LIB_IO_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* Write all n bytes. Returns 0, or -1 with errno set. */
int io_write_all(int fd, const void *p, size_t n);
/* read(2) restarting on EINTR. Returns as read(2). */
ssize_t io_read(int fd, void *p, size_t n);
/* Read a whole file into b (appending), failing with errno EFBIG when it
 * would pass b's maximum. Returns 0 or -1 with errno set. */
int io_read_file(const char *path, struct buf *b);
/* Set or clear O_NONBLOCK. Returns 0 or -1. */
int io_set_nonblock(int fd, int on);

#endif
