/* The per-mailbox metadata cache: opaque blobs keyed by (UID, field id)
 * in the append-only file imapmoved-cache beside the UID list, shared by
 * every session of the mailbox. It is only a cache: each record names the
 * message file it was computed from, a record that does not match the
 * file the box has for that UID is a miss, and a missing, torn or corrupt
 * file only costs misses. Never holds the lock to read; the field ids
 * belong to the caller (protocol/), and nothing here knows what they mean.
 *
 * File layout (all integers little-endian):
 *   header: "IMAPMVC2" | uidvalidity u32 | checksum u32 of the 12 bytes
 *   record: "MCR2" | uid u32 | field u32 | base_len u32 | data_len u32 |
 *           checksum u32 of bytes 4..19, the base name and the data |
 *           base name | data
 * A record is appended with one write() to an O_APPEND descriptor, so
 * concurrent appenders do not interleave; a reader that meets a record
 * whose length runs past the end stops there (a writer may be mid-way)
 * and one whose frame is wrong is skipped by searching for the next
 * "MCR2". A record's checksum is verified when the record is read or
 * copied, not when the file is indexed: a session indexes the whole file
 * (tens of megabytes for a large box) but reads only what its commands
 * ask for; a record that fails is a miss. The file is rewritten (temp file +
 * rename, under the UID-list lock) when it is missing or its header does not
 * match, when it grows past twice its live bytes, or when an append would take
 * it past the store's bound; the rewrite keeps the live records within half of
 * it. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/io.h"
#include "lib/log.h"
#include "lib/mem.h"

#define HDR_LEN 16
#define REC_HDR 24
/* Byte arrays, not strings: nothing here is NUL-terminated. */
static const unsigned char hdr_magic[8] = {'I', 'M', 'A', 'P',
					   'M', 'V', 'C', '2'};
static const unsigned char rec_magic[4] = {'M', 'C', 'R', '2'};
/* Blobs larger than this are not cached (a header block of a megabyte
 * is not worth keeping). */
#define MAX_FIELD_LEN ((size_t)1024 * 1024)
/* Below this size the file is never compacted for being mostly dead. */
#define COMPACT_MIN ((size_t)64 * 1024)

/* One indexed record: the latest one for its key wins. */
struct cache_ent {
	uint32_t uid;
	uint32_t field;
	size_t off; /* record offset in the map; 0: empty slot */
	size_t len; /* whole record length */
};

struct md_cache {
	void *map; /* the file as last mapped (NULL: none) */
	size_t map_len;
	dev_t dev;
	ino_t ino;
	bool header_ok;    /* the header matched our UIDVALIDITY */
	size_t parsed_end; /* offset up to which records are indexed */
	size_t live_bytes; /* bytes of the winning records */
	struct cache_ent *tab;
	size_t tab_cap, tab_count; /* tab_cap is 0 or a power of two */
	bool checked;              /* refreshed since the last flush */
	struct buf pending;        /* records put, not yet written */
};

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* FNV-1a over little-endian 64-bit words, the tail byte by byte, folded
 * to 32 bits: enough to tell a torn or overwritten record from a real
 * one, at several bytes per cycle. */
static uint32_t
checksum(uint32_t seed, const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037u ^ seed;

	for (; n >= 8; p += 8, n -= 8) {
		uint64_t w = (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4)
							     << 32;

		h = (h ^ w) * 1099511628211u;
		h ^= h >> 32;
	}
	for (; n > 0; p++, n--)
		h = (h ^ *p) * 1099511628211u;
	return (uint32_t)(h ^ (h >> 32));
}

#define CHECKSUM_INIT 2166136261u

static void
tab_clear(struct md_cache *c)
{
	free(c->tab);
	c->tab = NULL;
	c->tab_cap = 0;
	c->tab_count = 0;
	c->live_bytes = 0;
}

static size_t
tab_slot(const struct md_cache *c, uint32_t uid, uint32_t field)
{
	uint32_t h = (uid * 2654435761u) ^ (field * 40503u);

	return (size_t)h & (c->tab_cap - 1);
}

/* The entry of key, or NULL. */
static struct cache_ent *
tab_find(const struct md_cache *c, uint32_t uid, uint32_t field)
{
	size_t i;

	if (c->tab_cap == 0)
		return NULL;
	for (i = tab_slot(c, uid, field); c->tab[i].off != 0;
	     i = (i + 1) & (c->tab_cap - 1))
		if (c->tab[i].uid == uid && c->tab[i].field == field)
			return &c->tab[i];
	return NULL;
}

static void tab_set(struct md_cache *c, uint32_t uid, uint32_t field,
		    size_t off, size_t len);

static void
tab_grow(struct md_cache *c)
{
	struct cache_ent *old = c->tab;
	size_t old_cap = c->tab_cap, i;

	c->tab_cap = old_cap == 0 ? 1024 : old_cap * 2;
	c->tab = xcalloc(c->tab_cap, sizeof(*c->tab));
	c->tab_count = 0;
	c->live_bytes = 0;
	for (i = 0; i < old_cap; i++)
		if (old[i].off != 0)
			tab_set(c, old[i].uid, old[i].field, old[i].off,
				old[i].len);
	free(old);
}

/* Index the record at off for key; a later record replaces an earlier. */
static void
tab_set(struct md_cache *c, uint32_t uid, uint32_t field, size_t off,
	size_t len)
{
	struct cache_ent *e = tab_find(c, uid, field);
	size_t i;

	if (e != NULL) {
		c->live_bytes -= e->len;
		e->off = off;
		e->len = len;
		c->live_bytes += len;
		return;
	}
	if ((c->tab_count + 1) * 10 > c->tab_cap * 7)
		tab_grow(c);
	for (i = tab_slot(c, uid, field); c->tab[i].off != 0;
	     i = (i + 1) & (c->tab_cap - 1))
		;
	c->tab[i] = (struct cache_ent){uid, field, off, len};
	c->tab_count++;
	c->live_bytes += len;
}

static void
unmap(struct md_cache *c)
{
	if (c->map != NULL && munmap(c->map, c->map_len) < 0)
		log_error("maildir: munmap %s: %s", MD_CACHE, strerror(errno));
	c->map = NULL;
	c->map_len = 0;
	c->parsed_end = 0;
	c->header_ok = false;
	tab_clear(c);
}

/* Check the frame of the record at pos (magic and lengths, not the
 * checksum): 1 well-formed (*len_r set), 0 incomplete (runs past the end:
 * perhaps still being written), -1 garbage. */
static int
rec_check(const unsigned char *d, size_t end, size_t pos, size_t *len_r)
{
	uint32_t base_len, data_len;
	size_t len;

	if (end - pos < REC_HDR)
		return 0;
	if (memcmp(d + pos, rec_magic, 4) != 0)
		return -1;
	base_len = get_le32(d + pos + 12);
	data_len = get_le32(d + pos + 16);
	if (base_len == 0 || base_len > MD_MAX_NAME || data_len > MAX_FIELD_LEN)
		return -1;
	/* Both are bounded above, so the sum cannot overflow. */
	len = REC_HDR + (size_t)base_len + data_len;
	if (end - pos < len)
		return 0;
	*len_r = len;
	return 1;
}

/* Does the well-formed record rec carry its checksum? Summed in the
 * three parts rec_append() sums. */
static bool
rec_sum_ok(const unsigned char *rec)
{
	size_t base_len = get_le32(rec + 12);
	uint32_t sum = checksum(CHECKSUM_INIT, rec + 4, 16);

	sum = checksum(sum, rec + REC_HDR, base_len);
	sum = checksum(sum, rec + REC_HDR + base_len, get_le32(rec + 16));
	return sum == get_le32(rec + 20);
}

/* Index the records from c->parsed_end to the end of the map. Garbage is
 * skipped up to the next record magic; an incomplete tail is left for the
 * next refresh. */
static void
index_records(struct md_cache *c)
{
	const unsigned char *d = c->map;
	size_t pos = c->parsed_end, len;
	const unsigned char *next;

	while (pos < c->map_len) {
		int r = rec_check(d, c->map_len, pos, &len);

		if (r == 0)
			break;
		/* A record not followed by another (or the end) may be a
		 * torn one whose length runs into the next: only then is its
		 * checksum needed here, to find where the next one starts. */
		if (r > 0 && pos + len < c->map_len &&
		    (c->map_len - (pos + len) < 4 ||
		     memcmp(d + pos + len, rec_magic, 4) != 0) &&
		    !rec_sum_ok(d + pos))
			r = -1;
		if (r > 0) {
			tab_set(c, get_le32(d + pos + 4), get_le32(d + pos + 8),
				pos, len);
			pos += len;
			continue;
		}
		next = memmem(d + pos + 1, c->map_len - pos - 1, rec_magic, 4);
		if (next == NULL) {
			/* Keep the last bytes: they may start a magic. */
			pos = c->map_len - 3 > pos ? c->map_len - 3 : pos;
			break;
		}
		pos = (size_t)(next - d);
	}
	c->parsed_end = pos;
}

static bool
header_valid(const unsigned char *d, size_t len, uint32_t uidvalidity)
{
	return len >= HDR_LEN && memcmp(d, hdr_magic, 8) == 0 &&
	       get_le32(d + 8) == uidvalidity &&
	       get_le32(d + 12) == checksum(CHECKSUM_INIT, d, 12);
}

/* Map st's file (fd) again when it changed since the last refresh, and
 * index what is new. A different inode (rewritten by someone) or a shorter
 * file starts over. */
static void
remap(struct md_box *box, struct md_cache *c, int fd, const struct stat *st)
{
	size_t size = (size_t)st->st_size;
	void *p;

	if (c->map != NULL &&
	    (st->st_ino != c->ino || st->st_dev != c->dev || size < c->map_len))
		unmap(c);
	if (c->map != NULL && size == c->map_len)
		return;
	if (size < HDR_LEN || size / 2 > box->store->cache_max) {
		/* Too short to be valid, or past any size we write: the next
		 * flush rewrites it. */
		unmap(c);
		return;
	}
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		log_error("maildir: mmap %s: %s", MD_CACHE, strerror(errno));
		return;
	}
	if (c->map != NULL && munmap(c->map, c->map_len) < 0)
		log_error("maildir: munmap %s: %s", MD_CACHE, strerror(errno));
	c->map = p;
	c->map_len = size;
	c->dev = st->st_dev;
	c->ino = st->st_ino;
	if (c->parsed_end == 0) {
		c->header_ok = header_valid(p, size, box->uidvalidity);
		if (!c->header_ok)
			return;
		c->parsed_end = HDR_LEN;
	}
	index_records(c);
}

/* Bring the map up to date with the file. A missing or unreadable file
 * leaves an empty cache (everything misses). */
static void
refresh(struct md_box *box, struct md_cache *c)
{
	struct stat st;
	int fd;

	c->checked = true;
	fd = openat(box->dirfd, MD_CACHE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("maildir: open %s: %s", MD_CACHE,
				 strerror(errno));
		unmap(c);
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		unmap(c);
	else
		remap(box, c, fd, &st);
	(void)close(fd); /* read-only: nothing to lose */
}

static struct md_cache *
cache_of(struct md_box *box)
{
	if (box->cache == NULL) {
		box->cache = xcalloc(1, sizeof(*box->cache));
		buf_init(&box->cache->pending, 0);
	}
	return box->cache;
}

void
md_cache_free(struct md_cache **cp)
{
	struct md_cache *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	unmap(c);
	buf_free(&c->pending);
	free(c);
}

int
md_cache_get(struct md_box *box, uint32_t uid, unsigned field,
	     const void **data_r, size_t *len_r)
{
	struct md_cache *c;
	const struct cache_ent *e;
	const unsigned char *rec;
	const char *base;
	size_t base_len;
	long idx;

	if (box->store->cache_max == 0)
		return 0;
	c = cache_of(box);
	if (!c->checked)
		refresh(box, c);
	idx = md_box_find(box, uid);
	e = tab_find(c, uid, field);
	if (idx < 0 || c->map == NULL || e == NULL)
		return 0;
	/* The record must name the file the box has now for this UID: a
	 * file replaced under the same UID (a rebuilt list) is not it. */
	rec = (const unsigned char *)c->map + e->off;
	base = md_box_base(box, (uint32_t)idx);
	base_len = get_le32(rec + 12);
	if (strlen(base) != base_len ||
	    memcmp(rec + REC_HDR, base, base_len) != 0 || !rec_sum_ok(rec))
		return 0;
	*data_r = rec + REC_HDR + base_len;
	*len_r = get_le32(rec + 16);
	return 1;
}

/* Append one record for (uid, field) of file base to b. */
static void
rec_append(struct buf *b, uint32_t uid, uint32_t field, const char *base,
	   size_t base_len, const void *data, size_t len)
{
	unsigned char h[REC_HDR];
	uint32_t sum;

	memcpy(h, rec_magic, 4);
	put_le32(h + 4, uid);
	put_le32(h + 8, field);
	put_le32(h + 12, (uint32_t)base_len);
	put_le32(h + 16, (uint32_t)len);
	sum = checksum(CHECKSUM_INIT, h + 4, 16);
	sum = checksum(sum, (const unsigned char *)base, base_len);
	put_le32(h + 20, checksum(sum, data, len));
	/* b has no maximum: these appends cannot fail. */
	(void)buf_append(b, h, sizeof(h));
	(void)buf_append(b, base, base_len);
	(void)buf_append(b, data, len);
}

void
md_cache_put(struct md_box *box, uint32_t uid, unsigned field, const void *data,
	     size_t len)
{
	long idx = md_box_find(box, uid);
	const char *base;
	size_t base_len;

	if (box->store->cache_max == 0 || idx < 0 || len > MAX_FIELD_LEN)
		return;
	base = md_box_base(box, (uint32_t)idx);
	base_len = strlen(base);
	if (base_len == 0 || base_len > MD_MAX_NAME)
		return;
	rec_append(&cache_of(box)->pending, uid, field, base, base_len, data,
		   len);
}

/* Is the indexed record e still about a message of the box, by the same
 * file? Records of expunged or replaced messages are dropped on rewrite. */
static bool
rec_live(const struct md_box *box, const struct md_cache *c,
	 const struct cache_ent *e)
{
	const unsigned char *rec = (const unsigned char *)c->map + e->off;
	long idx = md_box_find(box, e->uid);
	size_t base_len = get_le32(rec + 12);

	return idx >= 0 &&
	       strlen(md_box_base(box, (uint32_t)idx)) == base_len &&
	       memcmp(rec + REC_HDR, md_box_base(box, (uint32_t)idx),
		      base_len) == 0;
}

/* Flags, parallel to c->tab, marking the entries that a pending record
 * replaces (caller frees). */
static bool *
superseded(const struct md_cache *c)
{
	const unsigned char *d = (const unsigned char *)c->pending.data;
	bool *skip = xcalloc(c->tab_cap + 1, sizeof(*skip));
	size_t pos = 0;

	/* The pending records were built by rec_append: well-formed. */
	while (d != NULL && pos < c->pending.len) {
		const struct cache_ent *e = tab_find(c, get_le32(d + pos + 4),
						     get_le32(d + pos + 8));

		if (e != NULL)
			skip[e - c->tab] = true;
		pos += REC_HDR + get_le32(d + pos + 12) +
		       (size_t)get_le32(d + pos + 16);
	}
	return skip;
}

/* Write the new file's contents to fd: header, the pending records, then
 * the live indexed records they do not replace, while they fit in budget.
 * 0 or -1 (errno). */
static int
write_compacted(struct md_box *box, struct md_cache *c, int fd, size_t budget)
{
	bool *skip = superseded(c);
	struct buf b;
	unsigned char h[HDR_LEN];
	size_t i, total;
	int ret = 0;

	memcpy(h, hdr_magic, 8);
	put_le32(h + 8, box->uidvalidity);
	put_le32(h + 12, checksum(CHECKSUM_INIT, h, 12));
	buf_init(&b, 0);
	(void)buf_append(&b, h, sizeof(h)); /* no maximum */
	(void)buf_append(&b, c->pending.data, c->pending.len);
	total = b.len;
	for (i = 0; i < c->tab_cap && ret == 0; i++) {
		const struct cache_ent *e = &c->tab[i];

		if (e->off == 0 || skip[i] || !rec_live(box, c, e) ||
		    total + e->len > budget ||
		    !rec_sum_ok((const unsigned char *)c->map + e->off))
			continue;
		(void)buf_append(&b, (const char *)c->map + e->off, e->len);
		total += e->len;
		if (b.len >= 65536) {
			ret = io_write_all(fd, b.data, b.len);
			buf_reset(&b);
		}
	}
	if (ret == 0)
		ret = io_write_all(fd, b.data, b.len);
	buf_free(&b);
	free(skip);
	return ret < 0 ? -1 : 0;
}

/* Replace the file by a compacted one holding the pending records, under
 * the UID-list lock (so two rewriters never share the temp file):
 *   1. take the lock without waiting (busy: give up, the records are lost,
 *      which only costs misses);
 *   2. write imapmoved-cache.tmp: a crash leaves it for the next rewrite;
 *   3. rename it over imapmoved-cache: readers see the old file or the new;
 *      appends made meanwhile to the old file are lost (misses again).
 * No fsync: after a power cut the checksums reject whatever the file then
 * holds, and syncing would cost every FETCH that fills the cache. */
static void
rewrite(struct md_box *box, struct md_cache *c)
{
	bool had_lock = box->has_lock;
	int fd;

	if (!had_lock && md_lock_take(box->dirfd, MD_UIDLIST_LOCK,
				      box->store->lock_stale_secs, 0) != 1)
		return;
	if (unlinkat(box->dirfd, MD_CACHE_TMP, 0) < 0 && errno != ENOENT)
		goto fail;
	fd = openat(box->dirfd, MD_CACHE_TMP,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if (write_compacted(box, c, fd, box->store->cache_max / 2) < 0) {
		(void)close(fd); /* failed already; errno is the write's */
		goto fail_unlink;
	}
	if (close(fd) < 0 ||
	    renameat(box->dirfd, MD_CACHE_TMP, box->dirfd, MD_CACHE) < 0)
		goto fail_unlink;
	goto out;
fail_unlink:
	log_warn("maildir: write %s: %s", MD_CACHE_TMP, strerror(errno));
	(void)unlinkat(box->dirfd, MD_CACHE_TMP, 0); /* best effort */
	goto out;
fail:
	log_warn("maildir: create %s: %s", MD_CACHE_TMP, strerror(errno));
out:
	if (!had_lock)
		md_lock_release(box->dirfd, MD_UIDLIST_LOCK);
}

/* Append the pending records with one write(): O_APPEND puts them after
 * whatever other sessions appended, and a short write leaves a torn tail
 * that readers skip. */
static void
append_pending(struct md_box *box, struct md_cache *c)
{
	int fd = openat(box->dirfd, MD_CACHE,
			O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		log_warn("maildir: open %s: %s", MD_CACHE, strerror(errno));
		return;
	}
	n = write(fd, c->pending.data, c->pending.len);
	if (n < 0 || (size_t)n != c->pending.len)
		log_warn("maildir: append %s: %s", MD_CACHE,
			 n < 0 ? strerror(errno) : "short write");
	if (close(fd) < 0)
		log_warn("maildir: close %s: %s", MD_CACHE, strerror(errno));
}

void
md_cache_flush(struct md_box *box)
{
	struct md_cache *c = box->cache;
	size_t max = box->store->cache_max;
	size_t size;

	if (c == NULL)
		return;
	if (c->pending.len > max / 2) {
		/* More than a rewrite may hold: keep the bound. */
		buf_reset(&c->pending);
	} else if (c->pending.len > 0) {
		refresh(box, c);
		size = c->map_len;
		if (!c->header_ok || size + c->pending.len > max ||
		    (size > COMPACT_MIN && size > 2 * c->live_bytes + HDR_LEN))
			rewrite(box, c);
		else
			append_pending(box, c);
		buf_reset(&c->pending);
	}
	/* The next get looks at the file again (other sessions' records). */
	c->checked = false;
}

void
md_store_set_cache_max(struct md_store *store, size_t max)
{
	store->cache_max = max;
}
