/* The per-mailbox keyword table "imapmoved-keywords": which name each
 * keyword letter a-z of the file names stands for, one "<index> <name>"
 * line each (the dovecot-keywords format). Written under the UID-list lock,
 * atomically like the list. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/io.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/num.h"

#define KW_TMP "imapmoved-keywords.tmp"

void
md_keywords_clear(struct md_keywords *kw)
{
	int i;

	for (i = 0; i < MD_MAX_KEYWORDS; i++) {
		free(kw->names[i]);
		kw->names[i] = NULL;
	}
}

static void
parse_line(const char *p, const char *end, struct md_keywords *kw)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	uint32_t idx;
	const char *c;

	if (sp == NULL || num_parse_u32(p, (size_t)(sp - p), &idx) < 0 ||
	    idx >= MD_MAX_KEYWORDS || sp + 1 >= end || kw->names[idx] != NULL)
		return;
	for (c = sp + 1; c < end; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return;
	kw->names[idx] = xstrndup(sp + 1, (size_t)(end - sp - 1));
}

int
md_keywords_read(int dirfd, struct md_keywords *kw)
{
	char data[8192];
	ssize_t r;
	size_t len = 0;
	const char *p, *nl;
	int fd;

	memset(kw, 0, sizeof(*kw));
	fd = openat(dirfd, MD_KEYWORDS, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	/* A folder Dovecot served names its keyword letters in the same
	 * format: read that until a change writes ours. */
	if (fd < 0 && errno == ENOENT)
		fd = openat(dirfd, "dovecot-keywords",
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		log_error("maildir: open %s: %s", MD_KEYWORDS, strerror(errno));
		return -1;
	}
	/* 26 names of bounded length fit; a longer file is cut there. */
	while (len < sizeof(data) &&
	       (r = io_read(fd, data + len, sizeof(data) - len)) > 0)
		len += (size_t)r;
	(void)close(fd);
	for (p = data; p < data + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(data + len - p));
		if (nl == NULL)
			break;
		parse_line(p, nl, kw);
	}
	return 0;
}

int
md_keywords_write(int dirfd, const struct md_keywords *kw)
{
	struct buf b;
	int i, fd, saved;

	buf_init(&b, 0);
	for (i = 0; i < MD_MAX_KEYWORDS; i++)
		if (kw->names[i] != NULL)
			(void)buf_printf(&b, "%d %s\n", i, kw->names[i]);
	(void)unlinkat(dirfd, KW_TMP, 0);
	fd = openat(dirfd, KW_TMP,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	FAULT_SYSCALL();
	/* fsync before rename, so the table is never seen half-written. */
	if (io_write_all(fd, buf_cstr(&b), b.len) < 0 || fsync(fd) < 0) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		goto fail;
	}
	FAULT_SYSCALL();
	if (close(fd) < 0 || renameat(dirfd, KW_TMP, dirfd, MD_KEYWORDS) < 0)
		goto fail;
	FAULT_SYSCALL();
	buf_free(&b);
	return md_fsync_dir(dirfd, MD_KEYWORDS);
fail:
	saved = errno;
	log_error("maildir: write %s: %s", MD_KEYWORDS, strerror(saved));
	(void)unlinkat(dirfd, KW_TMP, 0);
	buf_free(&b);
	errno = saved;
	return -1;
}

bool
md_keyword_valid(const char *name)
{
	const char *p;

	if (*name == '\0' || *name == '\\' || strlen(name) > 128)
		return false;
	for (p = name; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

int
md_keywords_find(const struct md_keywords *kw, const char *name)
{
	int i;

	for (i = 0; i < MD_MAX_KEYWORDS; i++)
		if (kw->names[i] != NULL && strcasecmp(kw->names[i], name) == 0)
			return i;
	return -1;
}

int
md_keywords_add(struct md_keywords *kw, const char *name, bool *added_r)
{
	int i = md_keywords_find(kw, name);

	*added_r = false;
	if (i >= 0)
		return i;
	for (i = 0; i < MD_MAX_KEYWORDS; i++) {
		if (kw->names[i] == NULL) {
			kw->names[i] = xstrdup(name);
			*added_r = true;
			return i;
		}
	}
	return -1;
}

int
md_keywords_map(const struct md_keywords *from, uint32_t bits,
		struct md_keywords *to, uint32_t *out_r, bool *added_r)
{
	int i;

	*out_r = 0;
	*added_r = false;
	for (i = 0; i < MD_MAX_KEYWORDS; i++) {
		bool added;
		int j;

		if (!(bits & (1u << i)) || from->names[i] == NULL)
			continue;
		j = md_keywords_add(to, from->names[i], &added);
		if (j < 0)
			return -1;
		*out_r |= 1u << j;
		*added_r |= added;
	}
	return 0;
}
