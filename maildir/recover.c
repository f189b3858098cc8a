/* Recovery of an interrupted cross-filesystem (EXDEV) move: the source box
 * keeps a journal "imapmoved-move-journal" (first line: the target folder's
 * directory name, then one base name per line) while its files are copied
 * to the target. Sync calls this under the source's lock: a base name found
 * in both boxes is a duplicate, and the source copy is removed. */
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

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted base names of the files in directory fd. */
static char **
read_bases(int fd, size_t *count_r)
{
	DIR *d = md_opendir(fd);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;

	*count_r = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrndup(de->d_name, strcspn(de->d_name, ":"));
	}
	(void)closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_str);
	*count_r = n;
	return v;
}

/* Remove from the source every journaled base also in the target. */
static void
dedup(const char *journal, int cur_fd, char **bases, size_t nbases)
{
	const char *p = strchr(journal, '\n');

	while (p != NULL && *++p != '\0') {
		const char *nl = strchr(p, '\n');
		char *base, *name;

		if (nl == NULL)
			break;
		base = xstrndup(p, (size_t)(nl - p));
		if (nbases > 0 &&
		    bsearch(&base, bases, nbases, sizeof(*bases), cmp_str) &&
		    (name = md_refind(cur_fd, base, strlen(base))) != NULL) {
			log_info("maildir: removing %s, a duplicate left by an "
				 "interrupted move",
				 name);
			if (unlinkat(cur_fd, name, 0) < 0)
				log_error("maildir: unlink %s: %s", name,
					  strerror(errno));
			free(name);
		}
		free(base);
		p = nl;
	}
}

int
md_recover_journal(struct md_store *store, int dirfd, int cur_fd)
{
	struct buf b;
	char **bases = NULL, target[MD_MAX_NAME + 8];
	size_t nbases = 0, i;
	int fd, tfd, tcur;

	fd = openat(dirfd, MD_MOVE_JOURNAL, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		md_set_syserr(store, "open", MD_MOVE_JOURNAL);
		return -1;
	}
	buf_init(&b, 0);
	{
		char chunk[8192];
		ssize_t r;

		while ((r = io_read(fd, chunk, sizeof(chunk))) > 0)
			(void)buf_append(&b, chunk, (size_t)r); /* no max */
	}
	(void)close(fd);
	(void)snprintf(target, sizeof(target), "%.*s",
		       (int)strcspn(buf_cstr(&b), "\n"), buf_cstr(&b));
	tfd = target[0] == '.' && strchr(target, '/') == NULL &&
			      strcmp(target, "..") != 0
		      ? openat(store->root_fd, target,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		      : -1;
	tcur = tfd >= 0
		       ? openat(tfd, "cur",
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		       : -1;
	if (tcur >= 0) {
		bases = read_bases(tcur, &nbases);
		dedup(buf_cstr(&b), cur_fd, bases, nbases);
		(void)md_fsync_dir(cur_fd, "cur");
	}
	for (i = 0; i < nbases; i++)
		free(bases[i]);
	free(bases);
	if (tcur >= 0)
		(void)close(tcur);
	if (tfd >= 0)
		(void)close(tfd);
	buf_free(&b);
	/* The duplicates are gone (or the target is): the journal is done. */
	if (unlinkat(dirfd, MD_MOVE_JOURNAL, 0) < 0 && errno != ENOENT) {
		md_set_syserr(store, "unlink", MD_MOVE_JOURNAL);
		return -1;
	}
	/* A failed fsync only risks a repeat of this harmless recovery. */
	(void)md_fsync_dir(dirfd, MD_MOVE_JOURNAL);
	return 0;
}
