/* Subscriptions: the file "subscriptions" at the root, one UTF-8 mailbox
 * name per line, replaced atomically under its own dot-lock. The same file
 * as Dovecot's and Courier's; Dovecot 2.3's version 2 of it is read too. */
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

#define SUBS_TMP "subscriptions.tmp"

void
md_names_free(char ***names, size_t count)
{
	size_t i;

	if (*names == NULL)
		return;
	for (i = 0; i < count; i++)
		free((*names)[i]);
	free(*names);
	*names = NULL;
}

static int
read_names(struct md_store *store, char ***names_r, size_t *count_r)
{
	struct buf b;
	char chunk[8192], **v = NULL;
	const char *p, *nl;
	size_t n = 0;
	ssize_t r;
	bool v2;
	int fd;

	*names_r = NULL;
	*count_r = 0;
	fd = openat(store->root_fd, MD_SUBSCRIPTIONS,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		md_set_syserr(store, "open", MD_SUBSCRIPTIONS);
		return -1;
	}
	buf_init(&b, 0);
	while ((r = io_read(fd, chunk, sizeof(chunk))) > 0)
		(void)buf_append(&b, chunk, (size_t)r); /* no max */
	(void)close(fd);
	p = buf_cstr(&b);
	/* Dovecot 2.3 writes "V<TAB>2", an empty line, then names whose
	 * hierarchy separator is a TAB: read them as ours ("."). */
	v2 = strncmp(p, "V\t2\n", 4) == 0;
	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		char *name = xstrndup(p, (size_t)(nl - p)), *t;

		for (t = name; v2 && (t = strchr(t, '\t')) != NULL; t++)
			*t = '.';
		if (v2 && p == buf_cstr(&b)) {
			free(name); /* the header */
			continue;
		}
		if (!md_name_valid(name)) {
			free(name);
			continue;
		}
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = name;
	}
	buf_free(&b);
	*names_r = v;
	*count_r = n;
	return 0;
}

int
md_store_subscriptions(struct md_store *store, char ***names_r, size_t *count_r)
{
	return read_names(store, names_r, count_r);
}

static int
write_names(struct md_store *store, char **v, size_t n)
{
	struct buf b;
	size_t i;
	int fd, ret = -1;

	buf_init(&b, 0);
	for (i = 0; i < n; i++)
		if (v[i] != NULL)
			(void)buf_printf(&b, "%s\n", v[i]); /* no max */
	(void)unlinkat(store->root_fd, SUBS_TMP, 0);
	fd = openat(store->root_fd, SUBS_TMP,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	/* fsync, then rename: the old or the new file, never a torn one. */
	if (io_write_all(fd, buf_cstr(&b), b.len) < 0 || fsync(fd) < 0) {
		(void)close(fd);
		goto out;
	}
	if (close(fd) < 0 || renameat(store->root_fd, SUBS_TMP, store->root_fd,
				      MD_SUBSCRIPTIONS) < 0)
		goto out;
	/* Durable like the rest of the store; a failure only risks the
	 * previous subscriptions after a power cut. */
	(void)md_fsync_dir(store->root_fd, MD_SUBSCRIPTIONS);
	ret = 0;
out:
	if (ret < 0) {
		md_set_syserr(store, "write", MD_SUBSCRIPTIONS);
		(void)unlinkat(store->root_fd, SUBS_TMP, 0);
	}
	buf_free(&b);
	return ret;
}

int
md_store_subscribe(struct md_store *store, const char *name, bool on)
{
	char *norm, **v;
	size_t n, i;
	bool found = false;
	int ret = 0;

	if (!md_name_valid(name)) {
		md_set_error(store, MD_ERR_BADNAME, "Invalid mailbox name");
		return -1;
	}
	if (md_lock_store(store, store->root_fd, MD_SUBSCRIPTIONS_LOCK) < 0)
		return -1;
	if (read_names(store, &v, &n) < 0) {
		md_lock_release(store->root_fd, MD_SUBSCRIPTIONS_LOCK);
		return -1;
	}
	norm = md_name_canonical(name);
	for (i = 0; i < n; i++) {
		if (strcmp(v[i], norm) != 0)
			continue;
		found = true;
		if (!on) {
			free(v[i]);
			v[i] = NULL;
		}
	}
	if (on && !found) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup(norm);
	}
	if (on != found)
		ret = write_names(store, v, n);
	md_lock_release(store->root_fd, MD_SUBSCRIPTIONS_LOCK);
	md_names_free(&v, n);
	free(norm);
	return ret;
}
