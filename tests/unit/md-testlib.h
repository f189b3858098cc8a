/* Helpers shared by the maildir/ unit tests: temporary Maildirs under /tmp,
 * Postfix-style delivery into new/, file counting. Test code only. */
#ifndef TESTS_UNIT_MD_TESTLIB_H
#define TESTS_UNIT_MD_TESTLIB_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/io.h"
#include "maildir/maildir.h"

/* A fresh directory under /tmp; the caller removes it with tl_rmrf. */
static inline char *
tl_tmpdir(void)
{
	char tmpl[] = "/tmp/imapmoved-md-XXXXXX";
	char *d = mkdtemp(tmpl);

	if (d == NULL) {
		perror("mkdtemp");
		abort();
	}
	return strdup(d);
}

static inline void
tl_rmrf_at(int at, const char *name)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	struct dirent *de;
	DIR *d;

	if (fd < 0) {
		(void)unlinkat(at, name, 0);
		return;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		(void)close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			tl_rmrf_at(dirfd(d), de->d_name);
	(void)closedir(d);
	(void)unlinkat(at, name, AT_REMOVEDIR);
}

static inline void
tl_rmrf(char **dir)
{
	if (*dir == NULL)
		return;
	tl_rmrf_at(AT_FDCWD, *dir);
	free(*dir);
	*dir = NULL;
}

/* Write path (relative to root) with content. */
static inline void
tl_write(const char *root, const char *rel, const char *content)
{
	char path[4096];
	int fd;

	(void)snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || io_write_all(fd, content, strlen(content)) < 0 ||
	    close(fd) < 0) {
		perror(path);
		abort();
	}
}

/* Deliver as Postfix does: write tmp/NAME, then rename to new/NAME.
 * folder_dir is "" for INBOX or ".Name". */
static inline void
tl_deliver(const char *root, const char *folder_dir, const char *name,
	   const char *content)
{
	char a[4096], b[4096];

	(void)snprintf(a, sizeof(a), "%s/%s/tmp/%s", root, folder_dir, name);
	(void)snprintf(b, sizeof(b), "%s/%s/new/%s", root, folder_dir, name);
	{
		int fd = open(a, O_WRONLY | O_CREAT | O_EXCL, 0600);

		if (fd < 0 || io_write_all(fd, content, strlen(content)) < 0 ||
		    fsync(fd) < 0 || close(fd) < 0 || rename(a, b) < 0) {
			perror(a);
			abort();
		}
	}
}

/* Number of entries (not starting with '.') in root/rel. */
static inline int
tl_count(const char *root, const char *rel)
{
	char path[4096];
	struct dirent *de;
	int n = 0;
	DIR *d;

	(void)snprintf(path, sizeof(path), "%s/%s", root, rel);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	(void)closedir(d);
	return n;
}

/* Append a message with the given body; returns its UID (0 on failure). */
static inline uint32_t
tl_append(struct md_store *s, const char *box, const char *body, uint32_t flags)
{
	struct md_append *app;
	uint32_t uv, uid;

	if (md_append_begin(s, box, &app) < 0)
		return 0;
	if (md_append_write(app, body, strlen(body)) < 0) {
		md_append_abort(&app);
		return 0;
	}
	if (md_append_commit(&app, flags, NULL, 0, 0, &uv, &uid) < 0)
		return 0;
	return uid;
}

/* The "Message-ID: <x>" of each message of box name, in UID order, into
 * ids (at most max, each up to 63 bytes); returns the count or -1. Also
 * checks that UIDs strictly increase. */
static inline int
tl_ids(struct md_store *s, const char *name, char ids[][64], int max,
       uint32_t *uidvalidity_r)
{
	const struct md_msg *m;
	struct md_box *b;
	uint32_t n, i;

	if (md_box_open(s, name, false, &b) < 0)
		return -1;
	m = md_box_messages(b, &n);
	if ((int)n > max) {
		md_box_free(&b);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct md_view v;
		const char *p;
		size_t len;

		if ((i > 0 && m[i].uid <= m[i - 1].uid) ||
		    md_box_view(b, m[i].uid, &v) < 0) {
			md_box_free(&b);
			return -1;
		}
		p = memchr(v.data, '<', v.size);
		len = p ? strcspn(p, ">") : 0;
		(void)snprintf(ids[i], 64, "%.*s", (int)(len < 63 ? len : 63),
			       p ? p : "");
		md_view_release(&v);
	}
	if (uidvalidity_r != NULL)
		*uidvalidity_r = md_box_uidvalidity(b);
	md_box_free(&b);
	return (int)n;
}

#endif
