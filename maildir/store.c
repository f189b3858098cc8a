/* The store object: opening a Maildir root, error kinds and texts, tuning,
 * and the fault points of the test build. Never speaks IMAP. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/num.h"

void
md_set_error(struct md_store *store, enum md_err err, const char *fmt, ...)
{
	va_list ap;

	store->err = err;
	va_start(ap, fmt);
	(void)vsnprintf(store->err_text, sizeof(store->err_text), fmt, ap);
	va_end(ap);
}

void
md_set_syserr(struct md_store *store, const char *what, const char *path)
{
	int saved = errno;

	log_error("maildir: %s %s/%s: %s", what, store->root, path,
		  strerror(saved));
	switch (saved) {
	case ENOSPC:
	case EDQUOT:
		md_set_error(store, MD_ERR_NOSPACE, "Mailbox is over quota");
		break;
	case EACCES:
	case EPERM:
	case EROFS:
		md_set_error(store, MD_ERR_PERM, "Permission denied");
		break;
	default:
		md_set_error(store, MD_ERR_INTERNAL, "Internal store error");
		break;
	}
	errno = saved;
}

enum md_err
md_last_error(const struct md_store *store, const char **text_r)
{
	if (text_r != NULL)
		*text_r = store->err_text;
	return store->err;
}

/* Create dir (mode 0700) inside dirfd unless it exists. 0 or -1. */
static int
mkdir_if_missing(int dirfd, const char *dir)
{
	if (mkdirat(dirfd, dir, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* mkdir -p for the parents of root (mode 0700), as a first login into a
 * home directory that has no Maildir yet expects. */
static int
make_parents(const char *root)
{
	char path[4096];
	size_t len = strlen(root), i;

	if (len >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, root, len + 1);
	for (i = 1; i < len; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
		path[i] = '/';
	}
	return 0;
}

static int
make_root(const char *root)
{
	int fd;

	if (mkdir(root, 0700) < 0 && errno != EEXIST &&
	    (errno != ENOENT || make_parents(root) < 0 ||
	     (mkdir(root, 0700) < 0 && errno != EEXIST)))
		return -1;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (mkdir_if_missing(fd, "cur") < 0 ||
	    mkdir_if_missing(fd, "new") < 0 ||
	    mkdir_if_missing(fd, "tmp") < 0) {
		int saved = errno;

		(void)close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
md_store_open(const char *root, bool create, struct md_store **store_r)
{
	struct md_store *store;
	int fd;

	*store_r = NULL;
	if (create)
		fd = make_root(root);
	else
		fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		log_error("maildir: open %s: %s", root, strerror(errno));
		return -1;
	}
	store = xcalloc(1, sizeof(*store));
	store->root = xstrdup(root);
	store->root_fd = fd;
	store->lock_stale_secs = 10;
	store->lock_wait_secs = 30;
	store->cache_max = MD_CACHE_DEFAULT_MAX;
	*store_r = store;
	return 0;
}

void
md_store_free(struct md_store **storep)
{
	struct md_store *store = *storep;

	if (store == NULL)
		return;
	*storep = NULL;
	(void)close(store->root_fd);
	free(store->root);
	free(store);
}

void
md_store_set_lock(struct md_store *store, unsigned stale_secs,
		  unsigned wait_secs)
{
	store->lock_stale_secs = stale_secs;
	store->lock_wait_secs = wait_secs;
}

void
md_store_set_max_message(struct md_store *store, size_t max)
{
	store->max_message = max;
}

void
md_uids_free(struct md_uids *u)
{
	free(u->uids);
	u->uids = NULL;
	u->count = 0;
	u->cap = 0;
}

void
md_uids_push(struct md_uids *u, uint32_t uid)
{
	if (u->count == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 16;
		u->uids = xreallocarray(u->uids, u->cap, sizeof(*u->uids));
	}
	u->uids[u->count++] = uid;
}

void
md_copy_result_free(struct md_copy_result *r)
{
	md_uids_free(&r->src);
	md_uids_free(&r->dst);
}

int
md_rename_noreplace(int olddirfd, const char *oldname, int newdirfd,
		    const char *newname)
{
	if (renameat2(olddirfd, oldname, newdirfd, newname, RENAME_NOREPLACE) ==
	    0) {
		FAULT_SYSCALL();
		return 0;
	}
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (faccessat(newdirfd, newname, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	if (renameat(olddirfd, oldname, newdirfd, newname) < 0)
		return -1;
	FAULT_SYSCALL();
	return 0;
}

int
md_fsync_dir(int fd, const char *what)
{
	if (fsync(fd) < 0) {
		int saved = errno;

		log_error("maildir: fsync %s: %s", what, strerror(saved));
		errno = saved;
		return -1;
	}
	FAULT_SYSCALL();
	return 0;
}

/* How long after a change a directory's mtime can still be shared by a
 * later change: the kernel stamps with its coarse clock, so a change one
 * tick later may get the same time. Twice the tick, at least 10 ms. */
static long
coarse_margin_ns(void)
{
	struct timespec res;
	long ns = 10000000;

	if (clock_getres(CLOCK_REALTIME_COARSE, &res) == 0 && res.tv_sec == 0 &&
	    2 * res.tv_nsec > ns)
		ns = 2 * res.tv_nsec;
	return ns;
}

static int64_t
ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

void
md_dir_stamp(int fd, bool wait, struct timespec *ts_r)
{
	struct timespec now;
	struct stat st;
	int64_t age, margin;

	ts_r->tv_sec = 0;
	ts_r->tv_nsec = 0;
	if (fstat(fd, &st) < 0 || clock_gettime(CLOCK_REALTIME, &now) < 0)
		return;
	/* Directory mtimes come from a coarse clock: two changes within one
	 * tick give the same mtime, so a stamp is trusted only when every
	 * later change must give a later mtime. A filesystem that keeps
	 * whole seconds (tv_nsec 0) needs two seconds of quiet; one that
	 * keeps nanoseconds needs only the kernel's clock tick, and when
	 * the caller allows it (it just changed the directory itself) we
	 * wait out that tick and look again, so a sync that moved files
	 * still leaves a stamp the next sync can trust. */
	if (now.tv_sec - st.st_mtim.tv_sec >= 2) {
		*ts_r = st.st_mtim;
		return;
	}
	if (st.st_mtim.tv_nsec == 0)
		return;
	margin = coarse_margin_ns();
	age = ts_ns(&now) - ts_ns(&st.st_mtim);
	if (age < margin && wait && age > -margin) {
		struct timespec d = {0, (long)(margin - age)};

		(void)nanosleep(&d, NULL);
		if (fstat(fd, &st) < 0 ||
		    clock_gettime(CLOCK_REALTIME, &now) < 0)
			return;
		age = ts_ns(&now) - ts_ns(&st.st_mtim);
	}
	if (age >= margin)
		*ts_r = st.st_mtim;
}

#ifdef IMAPMOVED_FAULTS
struct md_stats md_stats;

void
md_fault_point(const char *name)
{
	static char last[64];
	static uint64_t hits;
	const char *env = getenv("IMAPMOVED_FAULT");
	size_t n = strlen(name);
	uint64_t want = 1;

	if (env == NULL || strncmp(env, name, n) != 0)
		return;
	if (env[n] == ':') {
		if (num_parse_str_u64(env + n + 1, UINT64_MAX, &want) < 0)
			return;
	} else if (env[n] != '\0') {
		return;
	}
	if (strcmp(last, name) != 0) {
		(void)snprintf(last, sizeof(last), "%s", name);
		hits = 0;
	}
	if (++hits == want)
		_exit(99);
}

static bool fault_armed;

void
md_fault_arm(bool on)
{
	fault_armed = on;
}

void
md_fault_syscall(void)
{
	if (fault_armed)
		md_fault_point("syscall");
}

bool
md_fault_fake_exdev(void)
{
	const char *env = getenv("IMAPMOVED_FAKE_EXDEV");

	return env != NULL && strcmp(env, "1") == 0;
}
#endif
