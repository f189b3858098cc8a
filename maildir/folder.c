/* Folders: listing with children information, create, delete and rename of
 * Maildir++ directories (".A", ".A.B") under the root, which is INBOX.
 * Creation and deletion are atomic renames of a whole directory, so no
 * half-made folder is ever listed. A rename moves a folder and each of its
 * children, one rename(2) each: a journal written first makes the whole
 * of it happen even after a crash in the middle (md_rename_recover()). */
#include "maildir-private.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/log.h"
#include "lib/mem.h"

struct flist {
	struct md_folder *v;
	size_t count;
};

static struct md_folder *
flist_find(struct flist *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static void
flist_add(struct flist *l, const char *name, unsigned flags)
{
	struct md_folder *f = flist_find(l, name);

	if (f != NULL) {
		f->flags &= flags;
		return;
	}
	l->v = xreallocarray(l->v, l->count + 1, sizeof(*l->v));
	l->v[l->count].name = xstrdup(name);
	l->v[l->count++].flags = flags;
}

static int
folder_cmp(const void *a, const void *b)
{
	const struct md_folder *x = a, *y = b;
	bool xi = strcmp(x->name, "INBOX") == 0;
	bool yi = strcmp(y->name, "INBOX") == 0;

	if (xi || yi)
		return yi - xi;
	return strcmp(x->name, y->name);
}

/* Add the \Noselect parents implied by children, then mark parents. */
static void
add_parents(struct flist *l)
{
	size_t i, j, n = l->count;

	for (i = 0; i < n; i++) {
		char *name = xstrdup(l->v[i].name), *dot;

		while ((dot = strrchr(name, '.')) != NULL) {
			*dot = '\0';
			flist_add(l, name, MD_FOLDER_NOSELECT);
		}
		free(name);
	}
	for (i = 0; i < l->count; i++) {
		size_t len = strlen(l->v[i].name);

		for (j = 0; j < l->count; j++)
			if (strncmp(l->v[j].name, l->v[i].name, len) == 0 &&
			    l->v[j].name[len] == '.')
				l->v[i].flags |= MD_FOLDER_HASCHILDREN;
	}
}

int
md_store_list(struct md_store *store, struct md_folder **folders_r,
	      size_t *count_r)
{
	struct flist l = {0};
	struct dirent *de;
	DIR *d = md_opendir(store->root_fd);

	*folders_r = NULL;
	*count_r = 0;
	if (d == NULL) {
		md_set_syserr(store, "opendir", ".");
		return -1;
	}
	if (md_rename_recover(store) < 0) {
		(void)closedir(d);
		return -1;
	}
	flist_add(&l, "INBOX", 0);
	while ((de = readdir(d)) != NULL) {
		char name[MD_MAX_NAME * 2 + 1], cur[MD_MAX_NAME + 8];
		struct stat st;

		if (de->d_name[0] != '.' ||
		    md_dir_to_name(de->d_name, name, sizeof(name)) < 0 ||
		    fstatat(store->root_fd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		(void)snprintf(cur, sizeof(cur), "%s/cur", de->d_name);
		flist_add(&l, name,
			  faccessat(store->root_fd, cur, F_OK,
				    AT_SYMLINK_NOFOLLOW) == 0
				  ? 0
				  : MD_FOLDER_NOSELECT);
	}
	(void)closedir(d);
	add_parents(&l);
	qsort(l.v, l.count, sizeof(*l.v), folder_cmp);
	*folders_r = l.v;
	*count_r = l.count;
	return 0;
}

void
md_folders_free(struct md_folder **folders, size_t count)
{
	size_t i;

	if (*folders == NULL)
		return;
	for (i = 0; i < count; i++)
		free((*folders)[i].name);
	free(*folders);
	*folders = NULL;
}

/* A unique name at the root that is never taken for a folder. */
static void
scratch_name(const char *prefix, char *out, size_t outsize)
{
	static unsigned counter;
	int n = snprintf(out, outsize, "%s.%ld.%ld.%u", prefix,
			 (long)time(NULL), (long)getpid(), ++counter);

	/* The buffers given are far larger than this ever needs. */
	assert(n > 0 && (size_t)n < outsize);
}

/* Build a complete folder in scratch directory tmp (inside the root). */
static int
build_folder(int root_fd, const char *tmp)
{
	static const char *const subs[] = {"cur", "new", "tmp"};
	int fd, mfd;
	size_t i;

	if (mkdirat(root_fd, tmp, 0700) < 0)
		return -1;
	fd = openat(root_fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		if (mkdirat(fd, subs[i], 0700) < 0) {
			(void)close(fd);
			return -1;
		}
	}
	mfd = openat(fd, "maildirfolder",
		     O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (mfd < 0 || close(mfd) < 0 || fsync(fd) < 0) {
		(void)close(fd);
		return -1;
	}
	return close(fd);
}

/* Unlink every file of directory fd (failures show when rmdir fails). */
static void
unlink_all(int fd)
{
	struct dirent *de;
	DIR *d = md_opendir(fd);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)unlinkat(fd, de->d_name, 0);
	(void)closedir(d);
}

/* Remove a folder directory tree (our layout: files and three subdirs). */
static void
remove_tree(int root_fd, const char *dir)
{
	static const char *const subs[] = {"cur", "new", "tmp"};
	int fd = openat(root_fd, dir,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	size_t i;

	if (fd < 0)
		return;
	for (i = 0; i < 3; i++) {
		int sfd =
			openat(fd, subs[i],
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (sfd < 0)
			continue;
		unlink_all(sfd);
		(void)close(sfd);
		(void)unlinkat(fd, subs[i], AT_REMOVEDIR);
	}
	unlink_all(fd);
	(void)close(fd);
	if (unlinkat(root_fd, dir, AT_REMOVEDIR) < 0)
		log_warn("maildir: could not remove %s: %s", dir,
			 strerror(errno));
}

int
md_box_create(struct md_store *store, const char *name)
{
	char dir[MD_MAX_NAME + 1], tmp[NAME_MAX + 1];

	if (md_name_to_dir(name, dir, sizeof(dir)) < 0) {
		md_set_error(store, MD_ERR_BADNAME, "Invalid mailbox name");
		return -1;
	}
	if (dir[0] == '\0') {
		md_set_error(store, MD_ERR_EXISTS, "Mailbox already exists");
		return -1;
	}
	scratch_name("imapmoved-new", tmp, sizeof(tmp));
	if (build_folder(store->root_fd, tmp) < 0) {
		md_set_syserr(store, "create", tmp);
		remove_tree(store->root_fd, tmp);
		return -1;
	}
	/* The whole folder appears at once, and never over another. */
	if (md_rename_noreplace(store->root_fd, tmp, store->root_fd, dir) < 0) {
		if (errno == EEXIST)
			md_set_error(store, MD_ERR_EXISTS,
				     "Mailbox already exists");
		else
			md_set_syserr(store, "rename", dir);
		remove_tree(store->root_fd, tmp);
		return -1;
	}
	(void)md_fsync_dir(store->root_fd, "root");
	return 0;
}

int
md_box_delete(struct md_store *store, const char *name)
{
	char dir[MD_MAX_NAME + 1], trash[NAME_MAX + 1];
	int fd;

	if (md_name_to_dir(name, dir, sizeof(dir)) < 0) {
		md_set_error(store, MD_ERR_BADNAME, "Invalid mailbox name");
		return -1;
	}
	if (dir[0] == '\0') {
		md_set_error(store, MD_ERR_NOTALLOWED,
			     "INBOX cannot be deleted");
		return -1;
	}
	fd = md_box_dir_open(store, name);
	if (fd < 0)
		return -1;
	(void)close(fd);
	/* Rename first: the folder disappears at once, and a crash leaves
	 * only a trash directory that is never listed. */
	scratch_name("imapmoved-trash", trash, sizeof(trash));
	if (renameat(store->root_fd, dir, store->root_fd, trash) < 0) {
		md_set_syserr(store, "rename", dir);
		return -1;
	}
	(void)md_fsync_dir(store->root_fd, "root");
	remove_tree(store->root_fd, trash);
	return 0;
}

struct kids {
	char **v;
	size_t n;
};

static void
kids_free(struct kids *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
}

/* The children ".old.X" of a folder. */
static int
kids_collect(struct md_store *store, const char *odir, struct kids *k)
{
	size_t olen = strlen(odir);
	struct dirent *de;
	DIR *d = md_opendir(store->root_fd);

	if (d == NULL) {
		md_set_syserr(store, "opendir", ".");
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, odir, olen) == 0 &&
		    de->d_name[olen] == '.') {
			k->v = xreallocarray(k->v, k->n + 1, sizeof(*k->v));
			k->v[k->n++] = xstrdup(de->d_name);
		}
	(void)closedir(d);
	return 0;
}

/* The new directory name of child i; -1 when too long. */
static int
kid_target(const struct kids *k, size_t i, size_t olen, const char *ndir,
	   char *to, size_t tosize)
{
	int n = snprintf(to, tosize, "%s%s", ndir, k->v[i] + olen);

	return n < 0 || (size_t)n > MD_MAX_NAME || (size_t)n >= tosize ? -1 : 0;
}

/* Before anything moves: every child's new name must be free. */
static int
kids_check(struct md_store *store, const struct kids *k, size_t olen,
	   const char *ndir)
{
	char to[MD_MAX_NAME + 1];
	size_t i;

	for (i = 0; i < k->n; i++) {
		if (kid_target(k, i, olen, ndir, to, sizeof(to)) < 0) {
			md_set_error(store, MD_ERR_LIMIT,
				     "Mailbox name too long");
			return -1;
		}
		if (faccessat(store->root_fd, to, F_OK, AT_SYMLINK_NOFOLLOW) ==
		    0) {
			md_set_error(store, MD_ERR_EXISTS,
				     "Mailbox already exists");
			return -1;
		}
	}
	return 0;
}

/* Rename each child; with finishing (recovery), a child whose new name
 * is taken already stays (it was renamed before the crash, or is
 * somebody else's). */
static int
kids_rename(struct md_store *store, const struct kids *k, size_t olen,
	    const char *ndir, bool finishing)
{
	char to[MD_MAX_NAME + 1];
	size_t i;

	for (i = 0; i < k->n; i++) {
		if (kid_target(k, i, olen, ndir, to, sizeof(to)) < 0 ||
		    (md_rename_noreplace(store->root_fd, k->v[i],
					 store->root_fd, to) < 0 &&
		     !(finishing && (errno == EEXIST || errno == ENOTEMPTY)))) {
			md_set_syserr(store, "rename", k->v[i]);
			return -1;
		}
		FAULT_POINT("rename.after-child");
	}
	return 0;
}

/* The journal: "<old dir>\n<new dir>\n", written (and synced) before
 * anything moves, removed once everything has. */
static int
journal_write(struct md_store *store, const char *odir, const char *ndir)
{
	char text[2 * MD_MAX_NAME + 4];
	int fd, n = snprintf(text, sizeof(text), "%s\n%s\n", odir, ndir);

	(void)unlinkat(store->root_fd, MD_RENAME_JOURNAL_TMP, 0);
	fd = openat(store->root_fd, MD_RENAME_JOURNAL_TMP,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || io_write_all(fd, text, (size_t)n) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0) {
		md_set_syserr(store, "write", MD_RENAME_JOURNAL_TMP);
		if (fd >= 0)
			(void)close(fd);
		(void)unlinkat(store->root_fd, MD_RENAME_JOURNAL_TMP, 0);
		return -1;
	}
	if (renameat(store->root_fd, MD_RENAME_JOURNAL_TMP, store->root_fd,
		     MD_RENAME_JOURNAL) < 0 ||
	    md_fsync_dir(store->root_fd, "root") < 0) {
		md_set_syserr(store, "rename", MD_RENAME_JOURNAL);
		(void)unlinkat(store->root_fd, MD_RENAME_JOURNAL_TMP, 0);
		return -1;
	}
	FAULT_POINT("rename.after-journal");
	return 0;
}

/* Move odir to ndir, then its children kids (collected by the caller);
 * the root synced. *moved_r tells whether anything moved. With finishing, what
 * a crash left half done is completed: a folder gone already (moved before the
 * crash) or whose new name is taken stays as it is. */
static int
rename_all(struct md_store *store, const char *odir, const char *ndir,
	   const struct kids *kids, bool finishing, bool *moved_r)
{
	*moved_r = false;
	if (md_rename_noreplace(store->root_fd, odir, store->root_fd, ndir) ==
	    0) {
		*moved_r = true;
	} else if (!finishing ||
		   (errno != ENOENT && errno != EEXIST && errno != ENOTEMPTY)) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			md_set_error(store, MD_ERR_EXISTS,
				     "Mailbox already exists");
		else
			md_set_syserr(store, "rename", odir);
		return -1;
	}
	FAULT_POINT("rename.after-folder");
	if (kids_rename(store, kids, strlen(odir), ndir, finishing) < 0)
		return -1;
	*moved_r = true;
	return md_fsync_dir(store->root_fd, "root");
}

/* A journal line: a folder directory name. */
static bool
journal_dir_ok(const char *p, size_t len)
{
	return len >= 2 && len <= MD_MAX_NAME && p[0] == '.' &&
	       memchr(p, '/', len) == NULL && memchr(p, '\0', len) == NULL;
}

int
md_rename_recover(struct md_store *store)
{
	char text[2 * MD_MAX_NAME + 8], odir[MD_MAX_NAME + 1],
		ndir[MD_MAX_NAME + 1];
	const char *nl1, *nl2;
	struct kids kids = {0};
	bool moved;
	ssize_t n;
	int fd, ret = 0;

	if (faccessat(store->root_fd, MD_RENAME_JOURNAL, F_OK,
		      AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (md_lock_store(store, store->root_fd, MD_RENAME_LOCK) < 0)
		return -1;
	fd = openat(store->root_fd, MD_RENAME_JOURNAL,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) /* finished by another session meanwhile */
		goto out;
	n = io_read(fd, text, sizeof(text) - 1);
	(void)close(fd);
	text[n > 0 ? n : 0] = '\0';
	nl1 = n > 0 ? memchr(text, '\n', (size_t)n) : NULL;
	nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(text + n - nl1 - 1)) : NULL;
	if (nl2 == NULL || !journal_dir_ok(text, (size_t)(nl1 - text)) ||
	    !journal_dir_ok(nl1 + 1, (size_t)(nl2 - nl1 - 1))) {
		log_error("maildir: %s is damaged; removed", MD_RENAME_JOURNAL);
	} else {
		(void)snprintf(odir, sizeof(odir), "%.*s", (int)(nl1 - text),
			       text);
		(void)snprintf(ndir, sizeof(ndir), "%.*s", (int)(nl2 - nl1 - 1),
			       nl1 + 1);
		log_warn("maildir: finishing the interrupted rename of %s to "
			 "%s",
			 odir, ndir);
		ret = kids_collect(store, odir, &kids);
		if (ret == 0)
			ret = rename_all(store, odir, ndir, &kids, true,
					 &moved);
		kids_free(&kids);
	}
	if (ret == 0 && (unlinkat(store->root_fd, MD_RENAME_JOURNAL, 0) < 0 ||
			 md_fsync_dir(store->root_fd, "root") < 0)) {
		md_set_syserr(store, "unlink", MD_RENAME_JOURNAL);
		ret = -1;
	}
out:
	md_lock_release(store->root_fd, MD_RENAME_LOCK);
	return ret;
}

/* RFC 3501 6.3.5: renaming INBOX moves its messages to a new folder. */
static int
rename_inbox(struct md_store *store, const char *newname)
{
	struct md_copy_result res = {0};
	struct md_box *box;
	uint32_t *uids, i, n;
	const struct md_msg *m;
	int ret;

	if (md_box_create(store, newname) < 0)
		return -1;
	if (md_box_open(store, "INBOX", false, &box) < 0)
		return -1;
	m = md_box_messages(box, &n);
	uids = xcalloc(n + 1, sizeof(*uids));
	for (i = 0; i < n; i++)
		uids[i] = m[i].uid;
	ret = md_move(box, uids, n, newname, &res);
	free(uids);
	md_copy_result_free(&res);
	md_box_free(&box);
	return ret;
}

int
md_box_rename(struct md_store *store, const char *oldname, const char *newname)
{
	char odir[MD_MAX_NAME + 1], ndir[MD_MAX_NAME + 1];
	struct kids kids = {0};
	bool moved;
	size_t olen;
	int fd, ret = -1;

	if (md_name_to_dir(oldname, odir, sizeof(odir)) < 0 ||
	    md_name_to_dir(newname, ndir, sizeof(ndir)) < 0) {
		md_set_error(store, MD_ERR_BADNAME, "Invalid mailbox name");
		return -1;
	}
	if (ndir[0] == '\0') {
		md_set_error(store, MD_ERR_EXISTS, "Mailbox already exists");
		return -1;
	}
	if (odir[0] == '\0')
		return rename_inbox(store, newname);
	olen = strlen(odir);
	if (strncmp(ndir, odir, olen) == 0 &&
	    (ndir[olen] == '\0' || ndir[olen] == '.')) {
		md_set_error(store, MD_ERR_NOTALLOWED,
			     "Cannot rename a mailbox into itself");
		return -1;
	}
	if (md_rename_recover(store) < 0)
		return -1;
	fd = openat(store->root_fd, odir,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		md_set_error(store, MD_ERR_NOTFOUND, "Mailbox does not exist");
		return -1;
	}
	(void)close(fd);
	/* One rename at a time per store: the journal has room for one. */
	if (md_lock_store(store, store->root_fd, MD_RENAME_LOCK) < 0)
		return -1;
	if (kids_collect(store, odir, &kids) < 0)
		goto out;
	if (kids_check(store, &kids, olen, ndir) < 0)
		goto out;
	if (faccessat(store->root_fd, ndir, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		md_set_error(store, MD_ERR_EXISTS, "Mailbox already exists");
		goto out;
	}
	/* The journal first: from then on a crash leaves a rename that the
	 * next session finishes, never a folder renamed without its
	 * children. */
	if (journal_write(store, odir, ndir) < 0)
		goto out;
	if (rename_all(store, odir, ndir, &kids, false, &moved) < 0) {
		/* When something moved (then an I/O error), the journal
		 * stays: the next recovery finishes the rest. When nothing
		 * did (a folder created meanwhile under the new name), it
		 * goes, with the error. */
		if (!moved)
			(void)unlinkat(store->root_fd, MD_RENAME_JOURNAL, 0);
		goto out;
	}
	if (unlinkat(store->root_fd, MD_RENAME_JOURNAL, 0) < 0)
		md_set_syserr(store, "unlink", MD_RENAME_JOURNAL);
	else
		ret = 0;
	(void)md_fsync_dir(store->root_fd, "root");
out:
	kids_free(&kids);
	md_lock_release(store->root_fd, MD_RENAME_LOCK);
	return ret;
}
