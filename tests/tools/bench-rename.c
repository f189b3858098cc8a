/* The raw floor of a MOVE for `make bench` (issue 9, issue 5): rename every
 * file of one directory into another with renameat(2), then fsync both
 * directories once, and print how long each phase took. The directory is
 * listed before the clock starts, so only the renames are timed. It never
 * copies data and never touches a file that is not a direct entry of SRC.
 *
 * usage: bench-rename SRCDIR DSTDIR
 * prints: files N rename_ns T1 fsync_ns T2
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/mem.h"

struct names {
	char **v;
	size_t n;
	size_t cap;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
names_free(struct names *names)
{
	for (size_t i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	names->v = NULL;
	names->n = 0;
}

/* Collect the names of SRCDIR's regular files; 0 on success, -1 on error. */
static int
list_files(int dirfd, struct names *names_r)
{
	DIR *dir;
	struct dirent *de;
	int fd;

	fd = dup(dirfd);
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		perror("bench-rename: fdopendir");
		if (fd >= 0)
			(void)close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (de->d_name[0] == '.')
			continue;
		if (names_r->n == names_r->cap) {
			names_r->cap = names_r->cap ? names_r->cap * 2 : 1024;
			names_r->v = xreallocarray(names_r->v, names_r->cap,
						   sizeof(*names_r->v));
		}
		names_r->v[names_r->n++] = xstrdup(de->d_name);
	}
	(void)closedir(dir); /* Read-only directory stream: nothing to lose. */
	return 0;
}

int
main(int argc, char **argv)
{
	struct names names = {NULL, 0, 0};
	uint64_t t0, t1, t2;
	int src, dst, rc = 1;

	if (argc != 3) {
		(void)fprintf(stderr, "usage: bench-rename SRCDIR DSTDIR\n");
		return 2;
	}
	src = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0) {
		perror(argv[1]);
		return 1;
	}
	dst = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dst < 0) {
		perror(argv[2]);
		goto fail_close_src;
	}
	if (list_files(src, &names) < 0)
		goto fail_free;
	t0 = now_ns();
	for (size_t i = 0; i < names.n; i++) {
		if (renameat(src, names.v[i], dst, names.v[i]) < 0) {
			int e = errno;

			(void)fprintf(stderr, "bench-rename: rename %s: %s\n",
				      names.v[i], strerror(e));
			goto fail_free;
		}
	}
	t1 = now_ns();
	/* One fsync per directory, as a MOVE command that batches would. */
	if (fsync(dst) < 0 || fsync(src) < 0) {
		perror("bench-rename: fsync");
		goto fail_free;
	}
	t2 = now_ns();
	if (printf("files %zu rename_ns %llu fsync_ns %llu\n", names.n,
		   (unsigned long long)(t1 - t0),
		   (unsigned long long)(t2 - t1)) < 0)
		goto fail_free;
	rc = 0;
fail_free:
	names_free(&names);
	(void)close(dst);
fail_close_src:
	(void)close(src);
	return rc;
}
