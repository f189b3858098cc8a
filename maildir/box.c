/* Mailbox objects: open, sync into an in-memory view (UIDs, flags, sizes,
 * internal dates, \Recent), keywords, and read-only views of message bytes.
 * Reading never takes the lock: the list is replaced atomically, and a
 * sync with nothing new reads no directory. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"

/* Open sub of dirfd, creating it when missing (other software may create
 * only cur/). */
static int
open_sub(int dirfd, const char *sub)
{
	int fd = openat(dirfd, sub,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && mkdirat(dirfd, sub, 0700) == 0)
		fd = openat(dirfd, sub,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

int
md_box_open_raw(struct md_store *store, const char *name, struct md_box **box_r)
{
	struct md_box *box;
	int dirfd;

	*box_r = NULL;
	dirfd = md_box_dir_open(store, name);
	if (dirfd < 0)
		return -1;
	box = xcalloc(1, sizeof(*box));
	box->store = store;
	box->name = md_name_canonical(name);
	box->dirfd = dirfd;
	box->watch_fd = -1;
	box->cur_fd = open_sub(dirfd, "cur");
	box->new_fd = open_sub(dirfd, "new");
	box->tmp_fd = open_sub(dirfd, "tmp");
	if (box->cur_fd < 0 || box->new_fd < 0 || box->tmp_fd < 0) {
		md_set_syserr(store, "open", "cur, new or tmp");
		md_box_free(&box);
		return -1;
	}
	*box_r = box;
	return 0;
}

/* Remove files left in tmp/ by writers that died more than 36 hours ago
 * (the Maildir spec's rule): nobody is still writing them. */
static void
sweep_tmp(struct md_box *box)
{
	time_t limit = time(NULL) - (time_t)36 * 3600;
	struct dirent *de;
	DIR *d = md_opendir(box->tmp_fd);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.' ||
		    fstatat(box->tmp_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			    0 ||
		    !S_ISREG(st.st_mode) || st.st_mtime >= limit ||
		    st.st_atime >= limit)
			continue;
		log_info("maildir: removing stale tmp/%s", de->d_name);
		if (unlinkat(box->tmp_fd, de->d_name, 0) < 0)
			log_warn("maildir: unlink tmp/%s: %s", de->d_name,
				 strerror(errno));
	}
	(void)closedir(d);
}

int
md_box_open(struct md_store *store, const char *name, bool readonly,
	    struct md_box **box_r)
{
	struct md_box *box;

	*box_r = NULL;
	if (md_box_open_raw(store, name, &box) < 0)
		return -1;
	box->readonly = readonly;
	if (!readonly)
		sweep_tmp(box);
	box->want_index = true;
	if (md_box_sync(box, NULL) < 0) {
		md_box_free(&box);
		return -1;
	}
	*box_r = box;
	return 0;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

/* Is p one of the names inside the mapped index? */
static bool
in_index(const struct md_box *box, const char *p)
{
	const char *start = box->ix.p;

	return start != NULL && p >= start && p < start + box->ix.len;
}

static void
name_free(const struct md_box *box, char *p)
{
	if (!in_index(box, p))
		free(p);
}

/* Message idx's "base\0file\0" in the index, or NULL when its offset is
 * out of range (a damaged index: the message then has no file). The
 * names end with a NUL (md_index_load checked), so strlen stays inside. */
static const char *
index_names(const struct md_box *box, uint32_t idx)
{
	uint32_t off = box->ix.offs[idx];
	const char *base;
	size_t len;

	if (off >= box->ix.names_len)
		return NULL;
	base = box->ix.names + off;
	len = strlen(base);
	return off + len + 1 < box->ix.names_len ? base : NULL;
}

const char *
md_box_base(const struct md_box *box, uint32_t idx)
{
	const char *p;

	if (box->bases != NULL)
		return box->bases[idx];
	p = index_names(box, idx);
	return p != NULL ? p : "";
}

const char *
md_box_fname(const struct md_box *box, uint32_t idx)
{
	const char *p;

	if (box->fnames != NULL)
		return box->fnames[idx];
	p = index_names(box, idx);
	return p != NULL ? p + strlen(p) + 1 : "";
}

/* Give the view its own name arrays (pointing into the index) before one
 * of them changes. */
static void
names_own(struct md_box *box)
{
	char **fnames, **bases;
	uint32_t i;

	if (box->fnames != NULL)
		return;
	fnames = xcalloc(box->count + 1, sizeof(*fnames));
	bases = xcalloc(box->count + 1, sizeof(*bases));
	for (i = 0; i < box->count; i++) {
		bases[i] = (char *)(uintptr_t)md_box_base(box, i);
		fnames[i] = (char *)(uintptr_t)md_box_fname(box, i);
	}
	box->fnames = fnames;
	box->bases = bases;
}

void
md_box_set_fname(struct md_box *box, uint32_t idx, char *name)
{
	names_own(box);
	name_free(box, box->fnames[idx]);
	box->fnames[idx] = name;
}

static void
free_view(struct md_box *box)
{
	uint32_t i;

	if (box->fnames != NULL) {
		for (i = 0; i < box->count; i++) {
			name_free(box, box->bases[i]);
			name_free(box, box->fnames[i]);
		}
	}
	if (!box->msgs_mapped)
		free(box->msgs);
	free(box->fnames);
	free(box->bases);
	box->msgs = NULL;
	box->msgs_mapped = false;
	box->fnames = NULL;
	box->bases = NULL;
	box->count = 0;
}

void
md_box_free(struct md_box **boxp)
{
	struct md_box *box = *boxp;

	if (box == NULL)
		return;
	*boxp = NULL;
	if (box->has_lock)
		md_box_unlock(box);
	free_view(box);
	if (box->ix.p != NULL)
		(void)munmap(box->ix.p, box->ix.len);
	md_cache_free(&box->cache);
	md_keywords_clear(&box->kw);
	md_uids_free(&box->vanished);
	md_uids_free(&box->changed);
	close_fd(&box->watch_fd);
	close_fd(&box->cur_fd);
	close_fd(&box->new_fd);
	close_fd(&box->tmp_fd);
	close_fd(&box->dirfd);
	free(box->name);
	free(box);
}

const char *
md_box_name(const struct md_box *box)
{
	return box->name;
}

bool
md_box_readonly(const struct md_box *box)
{
	return box->readonly;
}

uint32_t
md_box_uidvalidity(const struct md_box *box)
{
	return box->uidvalidity;
}

uint32_t
md_box_uidnext(const struct md_box *box)
{
	return box->uidnext;
}

const struct md_msg *
md_box_messages(const struct md_box *box, uint32_t *count_r)
{
	*count_r = box->count;
	return box->msgs;
}

uint32_t
md_box_recent_count(const struct md_box *box)
{
	uint32_t i, n = 0;

	/* Records from the index are never \Recent (md_index_load). */
	if (box->msgs_mapped)
		return 0;
	for (i = 0; i < box->count; i++)
		n += box->msgs[i].recent;
	return n;
}

long
md_box_find(const struct md_box *box, uint32_t uid)
{
	uint32_t lo = 0, hi = box->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (box->msgs[mid].uid == uid)
			return (long)mid;
		if (box->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const char *const *
md_box_keywords(const struct md_box *box)
{
	return (const char *const *)box->kw.names;
}

int
md_box_lock(struct md_box *box)
{
	if (box->has_lock)
		return 0;
	if (md_lock_store(box->store, box->dirfd, MD_UIDLIST_LOCK) < 0)
		return -1;
	box->has_lock = true;
	return 0;
}

void
md_box_unlock(struct md_box *box)
{
	if (!box->has_lock)
		return;
	md_lock_release(box->dirfd, MD_UIDLIST_LOCK);
	box->has_lock = false;
}

void
md_box_view_compact(struct md_box *box)
{
	uint32_t i, o = 0;

	names_own(box);
	for (i = 0; i < box->count; i++) {
		if (box->fnames[i] == NULL) {
			name_free(box, box->bases[i]);
			continue;
		}
		box->msgs[o] = box->msgs[i];
		box->bases[o] = box->bases[i];
		box->fnames[o++] = box->fnames[i];
	}
	box->count = o;
}

char *
md_refind(int cur_fd, const char *base, size_t base_len)
{
	DIR *d = md_opendir(cur_fd);
	struct dirent *de;
	char *found = NULL;

	MD_STAT(dir_reads);
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, base_len) == 0 &&
		    (de->d_name[base_len] == ':' ||
		     de->d_name[base_len] == '\0')) {
			found = xstrdup(de->d_name);
			break;
		}
	}
	(void)closedir(d);
	return found;
}

/* md_listing: the names of cur/ read once, sorted by base name. */
static size_t
listing_base_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon ? (size_t)(colon - name) : strlen(name);
}

static int
listing_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t lx = listing_base_len(x), ly = listing_base_len(y);
	int c = memcmp(x, y, lx < ly ? lx : ly);

	return c != 0 ? c : (lx > ly) - (lx < ly);
}

static void
listing_read(int cur_fd, struct md_listing *l)
{
	struct dirent *de;
	DIR *d;

	l->read = true;
	MD_STAT(dir_reads);
	d = md_opendir(cur_fd);
	if (d == NULL)
		return; /* finds nothing: callers treat that as gone */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 64;
			l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
		}
		l->v[l->n++] = xstrdup(de->d_name);
	}
	(void)closedir(d);
	if (l->n > 0)
		qsort(l->v, l->n, sizeof(*l->v), listing_cmp);
}

const char *
md_listing_find(int cur_fd, struct md_listing *l, const char *base)
{
	char *const *hit;

	if (!l->read)
		listing_read(cur_fd, l);
	if (l->n == 0)
		return NULL;
	/* listing_cmp stops at ':', which a base name never contains. */
	hit = bsearch(&base, l->v, l->n, sizeof(*l->v), listing_cmp);
	return hit ? *hit : NULL;
}

void
md_listing_free(struct md_listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Fill one message of the new view from record r; *base_r gets its base
 * name: old_base (taken) when it was in the old view, else a copy. */
static void
fill_msg(struct md_msg *m, char **base_r, struct md_rec *r,
	 const struct md_msg *old, char *old_base, bool is_recent)
{
	struct md_fname f;

	md_fname_parse(r->name, &f);
	memset(m, 0, sizeof(*m)); /* the index stores padding too */
	m->uid = r->uid;
	m->flags = f.flags;
	m->keywords = f.keywords;
	m->size = r->size;
	m->vsize = f.has_vsize ? f.vsize : 0;
	m->internal_date = (time_t)r->mtime;
	if (old != NULL) {
		m->recent = old->recent;
		*base_r = old_base;
	} else {
		m->recent = is_recent;
		*base_r = xstrndup(f.base, f.base_len);
	}
}

void
md_box_apply(struct md_box *box, struct md_uidlist *ul, bool claim_recent,
	     uint32_t recent_from, struct md_sync_result *result)
{
	struct md_msg *msgs = xcalloc(ul->count + 1, sizeof(*msgs));
	char **fnames = xcalloc(ul->count + 1, sizeof(*fnames));
	char **bases = xcalloc(ul->count + 1, sizeof(*bases));
	bool reset =
		box->uidvalidity != 0 && box->uidvalidity != ul->uidvalidity;
	uint32_t old_max =
		box->count && !reset ? box->msgs[box->count - 1].uid : 0;
	size_t i = 0, j, first_new = ul->count;

	names_own(box);
	box->vanished.count = 0;
	box->changed.count = 0;
	for (j = 0; j < ul->count; j++) {
		struct md_rec *r = &ul->recs[j];
		const struct md_msg *old = NULL;

		char *old_base = NULL;

		while (!reset && i < box->count && box->msgs[i].uid < r->uid) {
			md_uids_push(&box->vanished, box->msgs[i].uid);
			name_free(box, box->bases[i]);
			name_free(box, box->fnames[i++]);
		}
		if (!reset && i < box->count && box->msgs[i].uid == r->uid) {
			old = &box->msgs[i];
			old_base = box->bases[i];
			name_free(box, box->fnames[i++]);
		}
		fill_msg(&msgs[j], &bases[j], r, old, old_base,
			 claim_recent && r->uid >= recent_from);
		if (old != NULL && (old->flags != msgs[j].flags ||
				    old->keywords != msgs[j].keywords))
			md_uids_push(&box->changed, r->uid);
		if (r->uid > old_max && first_new == ul->count)
			first_new = j;
		fnames[j] = r->name;
		r->name = NULL;
	}
	for (; i < box->count; i++) {
		if (!reset)
			md_uids_push(&box->vanished, box->msgs[i].uid);
		name_free(box, box->bases[i]);
		name_free(box, box->fnames[i]);
	}
	if (!box->msgs_mapped)
		free(box->msgs);
	free(box->fnames);
	free(box->bases);
	box->msgs = msgs;
	box->msgs_mapped = false;
	box->fnames = fnames;
	box->bases = bases;
	box->count = (uint32_t)ul->count;
	box->cap = box->count;
	box->uidvalidity = ul->uidvalidity;
	box->uidnext = ul->uidnext;
	if (result != NULL) {
		result->uidvalidity_changed = reset;
		result->vanished = box->vanished.uids;
		result->vanished_count = box->vanished.count;
		result->changed = box->changed.uids;
		result->changed_count = box->changed.count;
		result->first_new = (uint32_t)first_new;
	}
}

/* Nothing changed since the last sync: same list file, same directories. */
static bool
unchanged(struct md_box *box)
{
	struct md_uidlist stamps = {0};
	struct stat st;

	if (box->uidvalidity == 0 ||
	    fstatat(box->dirfd, MD_UIDLIST, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    st.st_ino != box->list_st.st_ino ||
	    st.st_size != box->list_st.st_size ||
	    st.st_mtim.tv_sec != box->list_st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != box->list_st.st_mtim.tv_nsec)
		return false;
	stamps.new_mtime = box->new_mtime;
	stamps.cur_mtime = box->cur_mtime;
	return md_stamps_current(&stamps, box->new_fd, box->cur_fd);
}

/* Compare keyword tables; replace box->kw by kw. */
static bool
take_keywords(struct md_box *box, struct md_keywords *kw)
{
	bool changed = false;
	int i;

	for (i = 0; i < MD_MAX_KEYWORDS; i++)
		if ((kw->names[i] == NULL) != (box->kw.names[i] == NULL) ||
		    (kw->names[i] &&
		     strcmp(kw->names[i], box->kw.names[i]) != 0))
			changed = true;
	md_keywords_clear(&box->kw);
	box->kw = *kw;
	return changed;
}

/* Read the list; lock and scan when the directories changed, when \Recent
 * must be claimed, or after a crashed EXDEV move. *recent_from gets the
 * first UID that is \Recent for this box object: the ones it claimed, or
 * for a read-only box the ones nobody claimed yet (shown, not taken). */
static int
load_list(struct md_box *box, struct md_uidlist *ul, uint32_t *recent_from)
{
	bool claim = !box->readonly;
	int r;

	r = md_uidlist_read(box->dirfd, ul, &box->list_st);
	/* Nothing changed on disk and nothing to claim: no lock needed. */
	if (r > 0 && md_stamps_current(ul, box->new_fd, box->cur_fd) &&
	    (!claim || ul->recent_uid >= ul->uidnext) &&
	    faccessat(box->dirfd, MD_MOVE_JOURNAL, F_OK, AT_SYMLINK_NOFOLLOW) <
		    0) {
		*recent_from = claim ? ul->uidnext : ul->recent_uid;
		return 0;
	}
	md_uidlist_clear(ul);
	if (md_box_lock(box) < 0)
		return -1;
	r = md_sync_locked(box->store, box->dirfd, box->new_fd, box->cur_fd,
			   false, ul, claim ? recent_from : NULL);
	if (!claim)
		*recent_from = ul->recent_uid;
	/* Still under the lock, so this is the list just read or written. */
	if (fstatat(box->dirfd, MD_UIDLIST, &box->list_st,
		    AT_SYMLINK_NOFOLLOW) < 0)
		memset(&box->list_st, 0, sizeof(box->list_st));
	md_box_unlock(box);
	if (r < 0)
		md_uidlist_clear(ul);
	return r;
}

int
md_box_status(struct md_store *store, const char *name,
	      struct md_status *status_r)
{
	struct md_uidlist ul;
	struct md_box *box;
	uint32_t recent_from;
	size_t i;

	memset(status_r, 0, sizeof(*status_r));
	if (md_box_open_raw(store, name, &box) < 0)
		return -1;
	box->readonly = true;
	if (load_list(box, &ul, &recent_from) < 0) {
		md_box_free(&box);
		return -1;
	}
	for (i = 0; i < ul.count; i++) {
		struct md_fname f;

		md_fname_parse(ul.recs[i].name, &f);
		status_r->unseen += !(f.flags & MD_FLAG_SEEN);
		status_r->recent += ul.recs[i].uid >= recent_from;
	}
	status_r->messages = (uint32_t)ul.count;
	status_r->uidnext = ul.uidnext;
	status_r->uidvalidity = ul.uidvalidity;
	md_uidlist_clear(&ul);
	md_box_free(&box);
	return 0;
}

/* The first sync of md_box_open(): the view from the binary index when it
 * is current. true when it was. */
static bool
open_from_index(struct md_box *box)
{
	struct md_keywords kw;

	if (md_keywords_read(box->dirfd, &kw) < 0)
		return false;
	if (md_index_load(box) < 0) {
		md_keywords_clear(&kw);
		return false;
	}
	(void)take_keywords(box, &kw);
	box->want_index = false;
	return true;
}

int
md_box_sync(struct md_box *box, struct md_sync_result *result)
{
	struct md_uidlist ul;
	struct md_keywords kw;
	uint32_t recent_from;
	bool kw_changed;
	struct stat st;

	if (result != NULL)
		memset(result, 0, sizeof(*result));
	if (fstat(box->dirfd, &st) == 0 && st.st_nlink == 0) {
		md_set_error(box->store, MD_ERR_NOTFOUND,
			     "Mailbox was deleted");
		return -1;
	}
	if (unchanged(box)) {
		if (result != NULL)
			result->first_new = box->count;
		return 0;
	}
	if (box->want_index && box->count == 0 && box->ix.p == NULL &&
	    open_from_index(box))
		return 0;
	if (load_list(box, &ul, &recent_from) < 0)
		return -1;
	if (md_keywords_read(box->dirfd, &kw) < 0) {
		md_uidlist_clear(&ul);
		md_set_error(box->store, MD_ERR_INTERNAL,
			     "Internal store error");
		return -1;
	}
	kw_changed = take_keywords(box, &kw);
	box->new_mtime = ul.new_mtime;
	box->cur_mtime = ul.cur_mtime;
	md_box_apply(box, &ul, true, recent_from, result);
	if (result != NULL)
		result->keywords_changed = kw_changed;
	if (box->want_index)
		md_index_write(box, &ul);
	box->want_index = false;
	md_uidlist_clear(&ul);
	return 0;
}
