/* Dot-lock files (the UID-list and subscriptions locks): created with the
 * link(2) technique so they also hold on NFS, holding "pid host", and broken
 * with a log line when stale. Never holds a lock across a return to IMAP. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/log.h"
#include "lib/num.h"

/* Create the private file that is then linked to the lock name. */
static int
make_tmp(int dirfd, const char *lockname, char *tmp, size_t tmpsize)
{
	static unsigned counter;
	char host[256], body[300];
	int fd, n;

	if (gethostname(host, sizeof(host)) < 0)
		(void)snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, "/ \n")] = '\0';
	n = snprintf(tmp, tmpsize, "%s.%s.%ld.%u", lockname, host,
		     (long)getpid(), ++counter);
	if (n < 0 || (size_t)n >= tmpsize) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0600);
	if (fd < 0)
		return -1;
	FAULT_SYSCALL();
	n = snprintf(body, sizeof(body), "%ld %s\n", (long)getpid(), host);
	if (io_write_all(fd, body, (size_t)n) < 0 || close(fd) < 0) {
		int saved = errno;

		(void)unlinkat(dirfd, tmp, 0);
		errno = saved;
		return -1;
	}
	FAULT_SYSCALL();
	return 0;
}

/* Decide whether the lock at lockname is stale, and if so remove it.
 * Returns 1 when removed (retry now), 0 when not stale, -1 on error. */
static int
break_if_stale(int dirfd, const char *lockname, unsigned stale_secs)
{
	char data[300], host[256];
	struct stat st, st2;
	uint64_t pid = 0;
	ssize_t r;
	char *sp;
	bool same_host, dead = false;
	time_t age;
	int fd;

	fd = openat(dirfd, lockname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	if (fstat(fd, &st) < 0) {
		(void)close(fd);
		return -1;
	}
	r = io_read(fd, data, sizeof(data) - 1);
	(void)close(fd);
	data[r > 0 ? r : 0] = '\0';
	data[strcspn(data, "\n")] = '\0';
	sp = strchr(data, ' ');
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, "/ \n")] = '\0';
	same_host =
		sp != NULL && strcmp(sp + 1, host) == 0 &&
		num_parse_u64(data, (size_t)(sp - data), INT32_MAX, &pid) == 0;
	if (same_host)
		dead = kill((pid_t)pid, 0) < 0 && errno == ESRCH;
	age = time(NULL) - st.st_mtime;
	if (same_host ? !(dead && age >= (time_t)stale_secs)
		      : age < (time_t)(stale_secs > 600 ? stale_secs : 600))
		return 0;
	/* Remove it only if it is still the file we judged. */
	if (fstatat(dirfd, lockname, &st2, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 1 : -1;
	if (st2.st_ino != st.st_ino || st2.st_dev != st.st_dev)
		return 1;
	log_warn("maildir: breaking stale lock %s (owner \"%s\", %lld s old)",
		 lockname, data, (long long)age);
	if (unlinkat(dirfd, lockname, 0) < 0 && errno != ENOENT)
		return -1;
	return 1;
}

static void
backoff(unsigned *ms)
{
	struct timespec ts = {0, (long)*ms * 1000000L};

	(void)nanosleep(&ts, NULL);
	if (*ms < 32)
		*ms *= 2;
}

int
md_lock_take(int dirfd, const char *lockname, unsigned stale_secs,
	     unsigned wait_secs)
{
	char tmp[400];
	struct timespec start, now;
	unsigned ms = 1;
	int ret = -1;

	if (make_tmp(dirfd, lockname, tmp, sizeof(tmp)) < 0) {
		log_error("maildir: lock file for %s: %s", lockname,
			  strerror(errno));
		return -1;
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct stat st;
		int r;

		if (linkat(dirfd, tmp, dirfd, lockname, 0) == 0) {
			FAULT_SYSCALL();
			ret = 1;
			break;
		}
		/* Over NFS link() may report failure after succeeding: the
		 * link count of our file tells the truth. */
		if (errno != EEXIST &&
		    (fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		     st.st_nlink != 2)) {
			log_error("maildir: link %s: %s", lockname,
				  strerror(errno));
			break;
		}
		if (errno != EEXIST) {
			ret = 1;
			break;
		}
		r = break_if_stale(dirfd, lockname, stale_secs);
		if (r < 0) {
			log_error("maildir: check lock %s: %s", lockname,
				  strerror(errno));
			break;
		}
		if (r > 0)
			continue;
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)wait_secs) {
			ret = 0;
			break;
		}
		backoff(&ms);
	}
	/* The lock name now holds the only link we need. */
	(void)unlinkat(dirfd, tmp, 0);
	FAULT_SYSCALL();
	return ret;
}

void
md_lock_release(int dirfd, const char *lockname)
{
	if (unlinkat(dirfd, lockname, 0) < 0)
		log_error("maildir: unlock %s: %s", lockname, strerror(errno));
	FAULT_SYSCALL();
}

int
md_lock_store(struct md_store *store, int dirfd, const char *lockname)
{
	int r = md_lock_take(dirfd, lockname, store->lock_stale_secs,
			     store->lock_wait_secs);

	if (r > 0)
		return 0;
	if (r == 0)
		md_set_error(store, MD_ERR_LOCKED,
			     "Mailbox is locked by another session");
	else
		md_set_error(store, MD_ERR_INTERNAL, "Internal store error");
	return -1;
}
