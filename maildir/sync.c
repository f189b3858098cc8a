/* Sync: bring a mailbox's UID list up to date with new/ and cur/. New
 * arrivals move from new/ to cur/, files without a record get the next UIDs
 * in arrival order (mtime, then name), records whose file is gone are
 * dropped, and the list is rewritten only when something changed. When the
 * recorded mtimes of new/ and cur/ match, no directory is read at all.
 *
 * Steps and crash states (all under the list lock):
 *   1. read the list (garbage or missing: new UIDVALIDITY, all reassigned)
 *   2. rename each new/ file to cur/NAME:2,   [crash: file in cur/ without
 *      a record; the next sync gives it a UID, as for any unknown file];
 *      when a pass moved files, new/ is stamped and read again (at most
 *      three passes) so the stamp recorded is one nothing followed
 *   3. read cur/, match records by base name, assign UIDs
 *   4. write the list atomically               [crash: old list remains;
 *      the next sync repeats 3 and reaches the same result] */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"

struct entry {
	char *name;
	size_t base_len;
	bool used;
	int64_t mtime;
	size_t size;
};

struct scan {
	struct entry *e;
	size_t count, cap;
	bool done;   /* read, even when it found nothing */
	bool failed; /* the read failed: trust nothing it says */
};

DIR *
md_opendir(int fd)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (dfd < 0)
		return NULL;
	d = fdopendir(dfd);
	if (d == NULL) {
		int saved = errno;

		(void)close(dfd);
		errno = saved;
	}
	return d;
}

static bool
ts_equal(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

bool
md_stamps_current(const struct md_uidlist *ul, int new_fd, int cur_fd)
{
	struct stat sn, sc;

	if (ul->new_mtime.tv_sec == 0 || ul->cur_mtime.tv_sec == 0)
		return false;
	if (fstat(new_fd, &sn) < 0 || fstat(cur_fd, &sc) < 0)
		return false;
	return ts_equal(&sn.st_mtim, &ul->new_mtime) &&
	       ts_equal(&sc.st_mtim, &ul->cur_mtime);
}

/* Is this directory entry a message file we handle? */
static bool
is_message(const char *name)
{
	return name[0] != '.' && strchr(name, '\n') == NULL;
}

/* Move new/from to cur/to, never over an existing file: a name already in
 * cur/ (a sender reusing names) gets a fresh unique base name. */
static int
move_new(int new_fd, const char *from, int cur_fd, char *to, size_t tosize)
{
	struct stat st;
	char base[NAME_MAX + 1];

	if (md_rename_noreplace(new_fd, from, cur_fd, to) == 0 ||
	    errno == ENOENT)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (fstatat(new_fd, from, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (md_fname_unique((size_t)st.st_size, 0, base, sizeof(base)) < 0 ||
	    md_fname_build(base, strlen(base), 0, 0, to, tosize) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	log_warn("maildir: new/%s exists in cur/; renamed to %s", from, to);
	if (md_rename_noreplace(new_fd, from, cur_fd, to) < 0 &&
	    errno != ENOENT)
		return -1;
	return 0;
}

/* Step 2: move every file of new/ to cur/ with an empty info. Returns
 * how many entries it moved (or found gone), or -1. */
static int
scan_new(struct md_store *store, int new_fd, int cur_fd)
{
	DIR *d = md_opendir(new_fd);
	struct dirent *de;
	char name[NAME_MAX + 8];
	int moved = 0;

	MD_STAT(dir_reads);
	if (d == NULL) {
		md_set_syserr(store, "opendir", "new");
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!is_message(de->d_name))
			continue;
		if (strchr(de->d_name, ':') != NULL)
			(void)snprintf(name, sizeof(name), "%s", de->d_name);
		else
			(void)snprintf(name, sizeof(name), "%s:2,", de->d_name);
		/* rename, not link: another session may be doing the same,
		 * and exactly one of us must win; ENOENT means it did. */
		if (move_new(new_fd, de->d_name, cur_fd, name, sizeof(name)) <
		    0) {
			md_set_syserr(store, "rename", de->d_name);
			(void)closedir(d);
			return -1;
		}
		FAULT_POINT("sync.after-new-rename");
		moved++;
	}
	(void)closedir(d);
	return moved;
}

static int
entry_cmp_name(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
	int c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return (x->base_len > y->base_len) - (x->base_len < y->base_len);
}

/* Arrival order: mtime, then name (names start with the time). */
static int
entry_cmp_arrival(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a;
	const struct entry *y = *(struct entry *const *)b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
read_cur(struct md_store *store, int cur_fd, struct scan *sc)
{
	DIR *d = md_opendir(cur_fd);
	struct dirent *de;

	MD_STAT(dir_reads);
	if (d == NULL) {
		md_set_syserr(store, "opendir", "cur");
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct entry *e;
		const char *colon;

		if (!is_message(de->d_name))
			continue;
		if (sc->count == sc->cap) {
			sc->cap = sc->cap ? sc->cap * 2 : 256;
			sc->e = xreallocarray(sc->e, sc->cap, sizeof(*sc->e));
		}
		e = &sc->e[sc->count++];
		memset(e, 0, sizeof(*e));
		e->name = xstrdup(de->d_name);
		colon = strchr(e->name, ':');
		e->base_len =
			colon ? (size_t)(colon - e->name) : strlen(e->name);
	}
	if (errno != 0) {
		md_set_syserr(store, "readdir", "cur");
		(void)closedir(d);
		return -1;
	}
	(void)closedir(d);
	if (sc->count > 0)
		qsort(sc->e, sc->count, sizeof(*sc->e), entry_cmp_name);
	return 0;
}

static void
scan_free(struct scan *sc)
{
	size_t i;

	for (i = 0; i < sc->count; i++)
		free(sc->e[i].name);
	free(sc->e);
}

static struct entry *
scan_find(struct scan *sc, const char *name)
{
	struct entry key = {0};
	const char *colon = strchr(name, ':');

	if (sc->count == 0)
		return NULL;
	key.name = (char *)(uintptr_t)name; /* only read by the comparison */
	key.base_len = colon ? (size_t)(colon - name) : strlen(name);
	return bsearch(&key, sc->e, sc->count, sizeof(*sc->e), entry_cmp_name);
}

/* A file renamed by another program while readdir() runs may be missed
 * by it: before a record is dropped as expunged, cur/ is read once more
 * and the record looked for there. */
static bool
really_gone(struct md_store *store, int cur_fd, struct md_rec *r,
	    struct scan *again)
{
	struct entry *e;

	/* Once per sync, even when cur/ turned out empty (an expunge of
	 * everything), never once per record. */
	if (!again->done) {
		again->done = true;
		if (read_cur(store, cur_fd, again) < 0)
			again->failed = true;
	}
	if (again->failed)
		return false; /* keep the record: the next sync decides */
	e = scan_find(again, r->name);
	if (e == NULL)
		return true;
	free(r->name);
	r->name = xstrdup(e->name);
	return false;
}

/* Step 3a: update or drop each record. Returns whether anything changed. */
static bool
match_records(struct md_store *store, int cur_fd, struct md_uidlist *ul,
	      struct scan *sc)
{
	struct scan again = {0};
	bool changed = false;
	size_t i;

	for (i = 0; i < ul->count; i++) {
		struct md_rec *r = &ul->recs[i];
		struct entry *e = scan_find(sc, r->name);

		if (e == NULL || e->used) {
			changed = true;
			if (e == NULL && !really_gone(store, cur_fd, r, &again))
				continue;
			free(r->name);
			r->name = NULL;
			continue;
		}
		e->used = true;
		if (strcmp(e->name, r->name) != 0) {
			free(r->name);
			r->name = xstrdup(e->name);
			changed = true;
		}
	}
	scan_free(&again);
	md_uidlist_compact(ul);
	return changed;
}

static int
rec_cmp_uid(const void *a, const void *b)
{
	uint32_t x = ((const struct md_rec *)a)->uid;
	uint32_t y = ((const struct md_rec *)b)->uid;

	return (x > y) - (x < y);
}

/* Step 3b: give the unmatched files UIDs in arrival order; with dv (a
 * folder taken over from Dovecot), a file it knows keeps its UID there. */
static bool
assign_new(struct md_uidlist *ul, struct scan *sc, int cur_fd,
	   struct md_dovecot_map *dv)
{
	bool kept = false;
	struct entry **fresh =
		xreallocarray(NULL, sc->count + 1, sizeof(struct entry *));
	size_t i, n = 0;

	for (i = 0; i < sc->count; i++) {
		struct entry *e = &sc->e[i];
		struct md_fname f;
		struct stat st;

		/* Two files with one base name: keep the first only. */
		if (e->used || (i > 0 && entry_cmp_name(e, e - 1) == 0))
			continue;
		if (fstatat(cur_fd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		md_fname_parse(e->name, &f);
		e->mtime = st.st_mtim.tv_sec;
		e->size = f.has_size ? f.size : (size_t)st.st_size;
		fresh[n++] = e;
	}
	if (n > 0)
		qsort(fresh, n, sizeof(struct entry *), entry_cmp_arrival);
	for (i = 0; i < n; i++) {
		struct md_dovecot_ent *d = md_dovecot_map_find(
			dv, fresh[i]->name, fresh[i]->base_len);
		uint32_t uid;

		if (d != NULL && !d->taken && d->uid < ul->uidnext) {
			d->taken = true;
			uid = d->uid;
			kept = true;
		} else {
			uid = ul->uidnext++;
		}
		md_uidlist_add(ul, uid, fresh[i]->name, fresh[i]->size,
			       fresh[i]->mtime);
	}
	/* The list ascends by UID; kept UIDs are older than new ones. */
	if (kept && ul->count > 1)
		qsort(ul->recs, ul->count, sizeof(*ul->recs), rec_cmp_uid);
	free(fresh);
	return n > 0;
}

/* Step 1: read the list, or start a new one when it is missing or
 * garbage. Returns 1 when it must be written even if the scan finds
 * nothing, 0 when read, -1 when it could not be read (an I/O error must
 * not cost every client its cache). */
static int
load(struct md_store *store, int dirfd, struct md_uidlist *ul,
     struct md_dovecot_map *dv)
{
	int r = md_uidlist_read(dirfd, ul, NULL);

	if (r > 0)
		return 0;
	if (r == -2) {
		md_set_error(store, MD_ERR_INTERNAL, "Internal store error");
		return -1;
	}
	/* No list of ours yet (not a damaged one: its UIDs are gone
	 * either way): the previous server's UIDs, when it left a list.
	 * What it listed was seen by its clients: not \Recent. */
	if (r == 0 && md_dovecot_map_read(dirfd, dv) > 0) {
		ul->uidvalidity = dv->uidvalidity;
		ul->uidnext = dv->uidnext;
		ul->recent_uid = dv->uidnext;
		return 1;
	}
	ul->uidvalidity = md_uidvalidity_new(ul->uidvalidity);
	ul->uidnext = 1;
	ul->recent_uid = 1;
	return 1;
}

/* Steps 2 and 3. Returns whether the list changed, or -1. */
static int
scan_dirs(struct md_store *store, int new_fd, int cur_fd, struct md_uidlist *ul,
	  struct md_dovecot_map *dv)
{
	struct timespec new_stamp, cur_stamp;
	struct scan sc = {0};
	bool changed;
	int moved, pass;

	/* Stamp before reading, so a change during the scan shows as a
	 * different mtime next time. Moving files out of new/ changes new/
	 * itself, so after a pass that moved some, new/ is stamped and read
	 * again (it is then empty or nearly): the stamp recorded is one
	 * taken before a read that found nothing to move. */
	for (pass = 0;; pass++) {
		md_dir_stamp(new_fd, pass > 0, &new_stamp);
		moved = scan_new(store, new_fd, cur_fd);
		if (moved < 0)
			return -1;
		if (moved == 0)
			break;
		if (pass == 2) {
			new_stamp.tv_sec = 0; /* busy: rescan next time */
			new_stamp.tv_nsec = 0;
			break;
		}
	}
	md_dir_stamp(cur_fd, pass > 0, &cur_stamp);
	if (read_cur(store, cur_fd, &sc) < 0) {
		scan_free(&sc);
		return -1;
	}
	changed = match_records(store, cur_fd, ul, &sc);
	changed |= assign_new(ul, &sc, cur_fd, dv);
	scan_free(&sc);
	changed |= !ts_equal(&new_stamp, &ul->new_mtime) ||
		   !ts_equal(&cur_stamp, &ul->cur_mtime);
	ul->new_mtime = new_stamp;
	ul->cur_mtime = cur_stamp;
	return changed;
}

int
md_sync_locked(struct md_store *store, int dirfd, int new_fd, int cur_fd,
	       bool force, struct md_uidlist *ul, uint32_t *recent_from_r)
{
	struct md_dovecot_map dv = {0};
	int loaded = load(store, dirfd, ul, &dv), scanned;
	bool changed = loaded > 0;

	if (loaded < 0 || md_recover_journal(store, dirfd, cur_fd) < 0)
		goto fail;
	if (changed || force || !md_stamps_current(ul, new_fd, cur_fd)) {
		scanned = scan_dirs(store, new_fd, cur_fd, ul, &dv);
		if (scanned < 0)
			goto fail;
		changed |= scanned > 0;
	}
	if (recent_from_r != NULL) {
		*recent_from_r = ul->recent_uid;
		if (ul->recent_uid < ul->uidnext) {
			ul->recent_uid = ul->uidnext;
			changed = true;
		}
	}
	if (changed && md_uidlist_write(dirfd, ul) < 0) {
		md_set_syserr(store, "write", MD_UIDLIST);
		goto fail;
	}
	md_dovecot_map_free(&dv);
	return 0;
fail:
	md_dovecot_map_free(&dv);
	md_uidlist_clear(ul);
	return -1;
}

int
md_list_load_locked(struct md_box *box, struct md_uidlist *ul)
{
	int r = md_uidlist_read(box->dirfd, ul, NULL);

	if (r > 0 && faccessat(box->dirfd, MD_MOVE_JOURNAL, F_OK,
			       AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	md_uidlist_clear(ul);
	return md_sync_locked(box->store, box->dirfd, box->new_fd, box->cur_fd,
			      false, ul, NULL);
}
