/* Streaming append: the message goes into tmp/ chunk by chunk (never held
 * in memory), then is fsync'd, given its internal date as mtime, renamed
 * into cur/ with its flags, and recorded under the next UID.
 *
 * Steps and crash states:
 *   1. create tmp/UNIQUE, write chunks  [crash: a stray tmp/ file, never
 *      seen as a message]
 *   2. fsync, set mtime, close          [as 1]
 *   3. lock the list, map keywords (writes the keyword file if needed),
 *      read the list (no directory scan unless it is missing or damaged)
 *   4. rename tmp/UNIQUE -> cur/UNIQUE,S=n:2,FLAGS  [crash: a file in cur/
 *      without a record: the next sync gives it the next UID]
 *   5. fsync cur/                       [the rename is durable before the
 *      list names the file]
 *   6. write the list with the new record, unlock  [crash before: as 4] */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/log.h"
#include "lib/mem.h"

struct md_append {
	struct md_store *store;
	struct md_box *box; /* opened for the append only */
	char tmpname[NAME_MAX + 1];
	int fd;
	size_t size;
	size_t bare_lf; /* LFs without CR: each costs a byte on the wire */
	bool last_cr;   /* the last byte written was CR */
};

int
md_append_begin(struct md_store *store, const char *name,
		struct md_append **app_r)
{
	struct md_append *app = xcalloc(1, sizeof(*app));

	*app_r = NULL;
	app->store = store;
	app->fd = -1;
	if (md_box_open_raw(store, name, &app->box) < 0) {
		free(app);
		return -1;
	}
	if (md_fname_unique(0, 0, app->tmpname, sizeof(app->tmpname)) < 0)
		goto fail;
	app->fd = openat(app->box->tmp_fd, app->tmpname,
			 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			 0600);
	if (app->fd < 0) {
		md_set_syserr(store, "create tmp", app->tmpname);
		app->tmpname[0] = '\0';
		md_append_abort(&app);
		return -1;
	}
	*app_r = app;
	return 0;
fail:
	md_set_error(store, MD_ERR_INTERNAL, "Internal store error");
	app->tmpname[0] = '\0';
	md_append_abort(&app);
	return -1;
}

static void
count_bare_lf(struct md_append *app, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && !app->last_cr)
			app->bare_lf++;
		app->last_cr = p[i] == '\r';
	}
}

int
md_append_write(struct md_append *app, const void *data, size_t len)
{
	if (app->store->max_message != 0 &&
	    (len > app->store->max_message ||
	     app->size > app->store->max_message - len)) {
		md_set_error(app->store, MD_ERR_TOOBIG, "Message too big");
		return -1;
	}
	if (io_write_all(app->fd, data, len) < 0) {
		md_set_syserr(app->store, "write", app->tmpname);
		return -1;
	}
	app->size += len;
	count_bare_lf(app, data, len);
	return 0;
}

void
md_append_abort(struct md_append **appp)
{
	struct md_append *app = *appp;

	if (app == NULL)
		return;
	*appp = NULL;
	if (app->fd >= 0)
		(void)close(app->fd);
	if (app->tmpname[0] != '\0' &&
	    unlinkat(app->box->tmp_fd, app->tmpname, 0) < 0 && errno != ENOENT)
		log_error("maildir: unlink tmp/%s: %s", app->tmpname,
			  strerror(errno));
	md_box_free(&app->box);
	free(app);
}

/* Step 2: data on disk, mtime = internal date. */
static int
finish_file(struct md_append *app, time_t internal_date)
{
	struct timespec ts[2];
	int fd = app->fd;

	app->fd = -1;
	ts[0].tv_sec = ts[1].tv_sec = internal_date;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	/* fsync before the file becomes visible in cur/: a message the
	 * client was told is stored must survive a power cut. */
	if (fsync(fd) < 0 || (internal_date != 0 && futimens(fd, ts) < 0)) {
		md_set_syserr(app->store, "fsync", app->tmpname);
		(void)close(fd);
		return -1;
	}
	FAULT_POINT("append.after-fsync");
	if (close(fd) < 0) {
		md_set_syserr(app->store, "close", app->tmpname);
		return -1;
	}
	return 0;
}

/* Step 3: the keyword bits of names in the box's table. */
static int
map_keywords(struct md_box *box, const char *const *names, size_t n,
	     uint32_t *bits_r)
{
	bool added = false, a;
	size_t i;

	*bits_r = 0;
	if (n == 0)
		return 0;
	if (md_keywords_read(box->dirfd, &box->kw) < 0)
		goto internal;
	for (i = 0; i < n; i++) {
		int k;

		if (!md_keyword_valid(names[i])) {
			md_set_error(box->store, MD_ERR_BADNAME,
				     "Invalid keyword");
			return -1;
		}
		k = md_keywords_add(&box->kw, names[i], &a);

		if (k < 0) {
			md_set_error(box->store, MD_ERR_LIMIT,
				     "Too many keywords");
			return -1;
		}
		*bits_r |= 1u << k;
		added |= a;
	}
	if (added && md_keywords_write(box->dirfd, &box->kw) < 0)
		goto internal;
	return 0;
internal:
	md_set_error(box->store, MD_ERR_INTERNAL, "Internal store error");
	return -1;
}

/* Steps 4-6, under the lock. */
static int
publish(struct md_append *app, uint32_t flags, uint32_t kwbits,
	time_t internal_date, uint32_t *uidvalidity_r, uint32_t *uid_r)
{
	struct md_box *box = app->box;
	char base[NAME_MAX + 1], name[NAME_MAX + 1];
	struct md_uidlist ul;
	struct stat st;
	int ret = -1;

	/* The list as it is: the new file gets the next UID without a scan
	 * of new/ and cur/ per APPEND; whatever else arrived meanwhile is
	 * found by the next sync (our rename changes cur/'s mtime). */
	if (md_list_load_locked(box, &ul) < 0)
		return -1;
	if (md_fname_unique(app->size, app->size + app->bare_lf, base,
			    sizeof(base)) < 0 ||
	    md_fname_build(base, strlen(base), flags & MD_FLAG_ALL, kwbits,
			   name, sizeof(name)) < 0) {
		md_set_error(app->store, MD_ERR_INTERNAL, "Name too long");
		goto out;
	}
	if (renameat(box->tmp_fd, app->tmpname, box->cur_fd, name) < 0) {
		md_set_syserr(app->store, "rename", name);
		goto out;
	}
	app->tmpname[0] = '\0';
	FAULT_POINT("append.after-rename");
	if (md_fsync_dir(box->cur_fd, "cur") < 0) {
		md_set_syserr(app->store, "fsync", "cur");
		goto out;
	}
	if (internal_date == 0 &&
	    fstatat(box->cur_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		internal_date = st.st_mtim.tv_sec;
	*uid_r = ul.uidnext;
	md_uidlist_add(&ul, ul.uidnext++, name, app->size,
		       (int64_t)internal_date);
	if (md_uidlist_write(box->dirfd, &ul) < 0) {
		md_set_syserr(app->store, "write", MD_UIDLIST);
		goto out;
	}
	FAULT_POINT("append.after-list");
	*uidvalidity_r = ul.uidvalidity;
	ret = 0;
out:
	md_uidlist_clear(&ul);
	return ret;
}

int
md_append_commit(struct md_append **appp, uint32_t flags,
		 const char *const *keywords, size_t keyword_count,
		 time_t internal_date, uint32_t *uidvalidity_r, uint32_t *uid_r)
{
	struct md_append *app = *appp;
	uint32_t kwbits;
	int ret = -1;

	if (finish_file(app, internal_date) < 0)
		goto out;
	if (md_box_lock(app->box) < 0)
		goto out;
	FAULT_POINT("append.after-lock");
	if (map_keywords(app->box, keywords, keyword_count, &kwbits) == 0)
		ret = publish(app, flags, kwbits, internal_date, uidvalidity_r,
			      uid_r);
	md_box_unlock(app->box);
out:
	md_append_abort(appp);
	return ret;
}
