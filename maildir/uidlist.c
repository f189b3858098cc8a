/* The UID list "imapmoved-uidlist": its text format, a strict reader (any
 * garbage makes the whole list unreadable, so the caller resets
 * UIDVALIDITY), and the atomic writer (temporary file, fsync, rename, fsync
 * of the directory). The caller holds the list's lock for writing.
 *
 * Format:
 *   imapmoved-uidlist 1
 *   V<uidvalidity> N<uidnext> R<first-recent> C<count> n<s>.<ns> c<s>.<ns>
 *   <uid> <size> <mtime> <file name>          (one per message, UID order)
 * n and c are the recorded mtimes of new/ and cur/ (0.0: rescan). */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/io.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/num.h"

#define HEADER "imapmoved-uidlist 1\n"

void
md_uidlist_clear(struct md_uidlist *ul)
{
	size_t i;

	for (i = 0; i < ul->count; i++)
		free(ul->recs[i].name);
	free(ul->recs);
	memset(ul, 0, sizeof(*ul));
}

/* Append a record that takes ownership of name. */
static struct md_rec *
add_owned(struct md_uidlist *ul, uint32_t uid, char *name, size_t size,
	  int64_t mtime)
{
	struct md_rec *r;

	if (ul->count == ul->cap) {
		ul->cap = ul->cap ? ul->cap * 2 : 64;
		ul->recs = xreallocarray(ul->recs, ul->cap, sizeof(*ul->recs));
	}
	r = &ul->recs[ul->count++];
	r->uid = uid;
	r->size = size;
	r->mtime = mtime;
	r->name = name;
	return r;
}

struct md_rec *
md_uidlist_add(struct md_uidlist *ul, uint32_t uid, const char *name,
	       size_t size, int64_t mtime)
{
	return add_owned(ul, uid, xstrdup(name), size, mtime);
}

struct md_rec *
md_uidlist_find(const struct md_uidlist *ul, uint32_t uid)
{
	size_t lo = 0, hi = ul->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ul->recs[mid].uid == uid)
			return &ul->recs[mid];
		if (ul->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
md_uidlist_compact(struct md_uidlist *ul)
{
	size_t i, o = 0;

	for (i = 0; i < ul->count; i++)
		if (ul->recs[i].name != NULL)
			ul->recs[o++] = ul->recs[i];
	ul->count = o;
}

uint32_t
md_uidvalidity_new(uint32_t not_this)
{
	uint32_t v = (uint32_t)time(NULL);

	if (v == not_this)
		v++;
	return v == 0 ? 1 : v;
}

/* Take the next space-separated field of line [*p, end). */
static int
field(const char **p, const char *end, const char **f_r, size_t *len_r)
{
	const char *s = *p, *e = memchr(s, ' ', (size_t)(end - s));

	if (e == NULL)
		e = end;
	if (e == s)
		return -1;
	*f_r = s;
	*len_r = (size_t)(e - s);
	*p = e < end ? e + 1 : e;
	return 0;
}

/* "<letter><u32>" */
static int
tagged_u32(const char **p, const char *end, char tag, uint32_t *v_r)
{
	const char *f;
	size_t len;

	if (field(p, end, &f, &len) < 0 || f[0] != tag)
		return -1;
	return num_parse_u32(f + 1, len - 1, v_r);
}

/* "<letter><sec>.<nsec>" */
static int
tagged_ts(const char **p, const char *end, char tag, struct timespec *ts_r)
{
	const char *f, *dot;
	uint64_t s, ns;
	size_t len;

	if (field(p, end, &f, &len) < 0 || f[0] != tag)
		return -1;
	dot = memchr(f, '.', len);
	if (dot == NULL ||
	    num_parse_u64(f + 1, (size_t)(dot - f - 1), INT64_MAX, &s) < 0 ||
	    num_parse_u64(dot + 1, (size_t)(f + len - dot - 1), 999999999,
			  &ns) < 0)
		return -1;
	ts_r->tv_sec = (time_t)s;
	ts_r->tv_nsec = (long)ns;
	return 0;
}

static int
parse_header(const char *line, const char *end, struct md_uidlist *ul,
	     uint32_t *count_r)
{
	const char *p = line;

	if (tagged_u32(&p, end, 'V', &ul->uidvalidity) < 0 ||
	    tagged_u32(&p, end, 'N', &ul->uidnext) < 0 ||
	    tagged_u32(&p, end, 'R', &ul->recent_uid) < 0 ||
	    tagged_u32(&p, end, 'C', count_r) < 0 ||
	    tagged_ts(&p, end, 'n', &ul->new_mtime) < 0 ||
	    tagged_ts(&p, end, 'c', &ul->cur_mtime) < 0 || p != end)
		return -1;
	if (ul->uidvalidity == 0 || ul->uidnext == 0 ||
	    ul->recent_uid > ul->uidnext)
		return -1;
	return 0;
}

static int
parse_record(const char *p, const char *end, struct md_uidlist *ul)
{
	const char *f, *name;
	uint64_t size, mtime;
	uint32_t uid;
	size_t len;

	if (field(&p, end, &f, &len) < 0 || num_parse_u32(f, len, &uid) < 0 ||
	    field(&p, end, &f, &len) < 0 ||
	    num_parse_u64(f, len, SIZE_MAX, &size) < 0 ||
	    field(&p, end, &f, &len) < 0 ||
	    num_parse_u64(f, len, INT64_MAX, &mtime) < 0)
		return -1;
	name = p;
	len = (size_t)(end - p);
	if (len == 0 || name[0] == '.' || memchr(name, '/', len) != NULL ||
	    memchr(name, '\0', len) != NULL)
		return -1;
	if (uid == 0 || uid >= ul->uidnext ||
	    (ul->count > 0 && uid <= ul->recs[ul->count - 1].uid))
		return -1;
	(void)add_owned(ul, uid, xstrndup(name, len), (size_t)size,
			(int64_t)mtime);
	return 0;
}

int
md_uidlist_parse(const char *data, size_t len, struct md_uidlist *ul)
{
	const char *p = data, *end = data + len, *nl;
	uint32_t count;

	memset(ul, 0, sizeof(*ul));
	if (len < sizeof(HEADER) - 1 ||
	    memcmp(data, HEADER, sizeof(HEADER) - 1) != 0)
		return -1;
	p += sizeof(HEADER) - 1;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL || parse_header(p, nl, ul, &count) < 0)
		goto fail;
	/* One allocation for all records; a record takes at least 8 bytes,
	 * so a garbage count cannot make it larger than the file warrants. */
	if (count > 0 && count <= len / 8) {
		ul->cap = count;
		ul->recs = xreallocarray(NULL, ul->cap, sizeof(*ul->recs));
	}
	for (p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || parse_record(p, nl, ul) < 0)
			goto fail;
	}
	if (ul->count != count)
		goto fail;
	return 0;
fail:
	md_uidlist_clear(ul);
	return -1;
}

/* The "V<n>" of a damaged header, if there is one. */
static uint32_t
salvage_uidvalidity(const char *data)
{
	const char *v = strstr(data, "\nV");
	uint32_t n;
	size_t len;

	if (v == NULL)
		return 0;
	v += 2;
	len = strspn(v, "0123456789");
	return num_parse_u32(v, len, &n) == 0 ? n : 0;
}

/* Read all of fd into a malloc'd, NUL-terminated buffer. The list is
 * replaced by rename, never changed in place, so its size is known: one
 * allocation and one read (a 100,000-message list is megabytes, and
 * growing a buffer chunk by chunk costs copies and page faults); the
 * loop still goes on to EOF should the size have been wrong. */
static char *
read_all(int fd, size_t size_hint, size_t *len_r, ssize_t *r_r)
{
	size_t cap = size_hint + 1, len = 0;
	char *data = xmalloc(cap);
	ssize_t r;

	for (;;) {
		if (len + 1 == cap) {
			cap = cap < SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
			data = xrealloc(data, cap);
		}
		r = io_read(fd, data + len, cap - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	data[len] = '\0';
	*len_r = len;
	*r_r = r;
	return data;
}

int
md_uidlist_read(int dirfd, struct md_uidlist *ul, struct stat *st_r)
{
	struct stat st;
	size_t len;
	ssize_t r;
	char *data;
	int fd, ret;

	memset(ul, 0, sizeof(*ul));
	fd = openat(dirfd, MD_UIDLIST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		log_error("maildir: open %s: %s", MD_UIDLIST, strerror(errno));
		return -2;
	}
	if (fstat(fd, &st) < 0)
		memset(&st, 0, sizeof(st));
	if (st_r != NULL)
		*st_r = st;
	data = read_all(fd,
			st.st_size > 0 && (uint64_t)st.st_size < SIZE_MAX / 4
				? (size_t)st.st_size
				: 4096,
			&len, &r);
	if (r < 0) {
		log_error("maildir: read %s: %s", MD_UIDLIST, strerror(errno));
		ret = -2;
	} else if (md_uidlist_parse(data, len, ul) < 0) {
		log_error("maildir: %s is corrupt; UIDs will be reassigned",
			  MD_UIDLIST);
		ul->uidvalidity = salvage_uidvalidity(data);
		ret = -1;
	} else {
		ret = 1;
	}
	(void)close(fd);
	free(data);
	return ret;
}

char *
md_uidlist_format(const struct md_uidlist *ul, size_t *len_r)
{
	struct buf b;
	size_t i;
	char *out;

	buf_init(&b, 0);
	/* The buffer has no maximum, so these appends cannot fail. */
	(void)buf_puts(&b, HEADER);
	(void)buf_printf(&b, "V%u N%u R%u C%zu n%lld.%09ld c%lld.%09ld\n",
			 ul->uidvalidity, ul->uidnext, ul->recent_uid,
			 ul->count, (long long)ul->new_mtime.tv_sec,
			 ul->new_mtime.tv_nsec, (long long)ul->cur_mtime.tv_sec,
			 ul->cur_mtime.tv_nsec);
	for (i = 0; i < ul->count; i++)
		(void)buf_printf(&b, "%u %zu %lld %s\n", ul->recs[i].uid,
				 ul->recs[i].size, (long long)ul->recs[i].mtime,
				 ul->recs[i].name);
	*len_r = b.len;
	out = xstrndup(buf_cstr(&b), b.len);
	buf_free(&b);
	return out;
}

/* Write and fsync the temporary list. 0 or -1 with errno. */
static int
write_tmp(int dirfd, const char *data, size_t len)
{
	int fd, saved;

	/* A crashed writer may have left one behind; we hold the lock. */
	if (unlinkat(dirfd, MD_UIDLIST_TMP, 0) < 0 && errno != ENOENT)
		return -1;
	fd = openat(dirfd, MD_UIDLIST_TMP,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	FAULT_SYSCALL();
	if (io_write_all(fd, data, len) < 0)
		goto fail;
	FAULT_SYSCALL();
	FAULT_POINT("uidlist.after-write");
	/* The data must be on disk before the rename makes it the list, or
	 * a power cut could leave an empty list under the real name. */
	if (fsync(fd) < 0)
		goto fail;
	FAULT_SYSCALL();
	FAULT_POINT("uidlist.after-fsync");
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	FAULT_SYSCALL();
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		(void)close(fd);
	(void)unlinkat(dirfd, MD_UIDLIST_TMP, 0);
	errno = saved;
	return -1;
}

int
md_uidlist_write(int dirfd, const struct md_uidlist *ul)
{
	size_t len;
	char *data = md_uidlist_format(ul, &len);
	int saved;

	MD_STAT(list_writes);
	if (write_tmp(dirfd, data, len) < 0)
		goto fail;
	/* rename() replaces the list atomically: readers see old or new. */
	if (renameat(dirfd, MD_UIDLIST_TMP, dirfd, MD_UIDLIST) < 0) {
		saved = errno;
		(void)unlinkat(dirfd, MD_UIDLIST_TMP, 0);
		errno = saved;
		goto fail;
	}
	FAULT_SYSCALL();
	FAULT_POINT("uidlist.after-rename");
	free(data);
	/* The rename itself is durable only once the directory is synced. */
	return md_fsync_dir(dirfd, MD_UIDLIST);
fail:
	saved = errno;
	log_error("maildir: write %s: %s", MD_UIDLIST, strerror(saved));
	free(data);
	errno = saved;
	return -1;
}
