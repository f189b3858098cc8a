/* md-bench: timings of the maildir/ store on a scratch Maildir, for
 * `make bench` and by hand (never a timed test). Usage: md-bench [N]
 * (default 10000). Prints cold and warm open times, then a move of N
 * messages against a plain loop of N renames (the physical limit) and
 * against copy + flag \Deleted + expunge. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/num.h"
#include "maildir/maildir.h"

static double
now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* N message files straight into dir/cur/, as another server left them. */
static void
fill(const char *dir, uint32_t n)
{
	char path[4096], body[128];
	uint32_t i;

	for (i = 0; i < n; i++) {
		int fd, len;

		(void)snprintf(path, sizeof(path),
			       "%s/cur/%u.M%uP1.bench,S=%d:2,S", dir,
			       1700000000 + i, i, 40);
		len = snprintf(body, sizeof(body),
			       "Message-ID: <%u@b>\n\n%-20s\n", i, "x");
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || io_write_all(fd, body, (size_t)len) < 0 ||
		    close(fd) < 0)
			die(path);
	}
}

/* Put the directory mtimes in the past, as on any mailbox at rest. */
static void
settle(const char *dir)
{
	struct timespec ts[2];
	char path[4096];
	const char *sub[] = {"cur", "new"};
	int i;

	(void)clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 60;
	ts[1] = ts[0];
	for (i = 0; i < 2; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, sub[i]);
		if (utimensat(AT_FDCWD, path, ts, 0) < 0)
			die(path);
	}
}

static double
time_open(struct md_store *s, const char *box, uint32_t *n_r)
{
	struct md_box *b;
	double t = now();

	if (md_box_open(s, box, false, &b) < 0)
		die("md_box_open");
	t = now() - t;
	md_box_messages(b, n_r);
	md_box_free(&b);
	return t;
}

/* The physical limit: rename every file of src/cur into dst/cur. */
static double
raw_renames(const char *src, const char *dst)
{
	char from[4200], to[4200];
	struct dirent *de;
	double t = now();
	DIR *d;
	int sfd, dfd;

	(void)snprintf(from, sizeof(from), "%s/cur", src);
	(void)snprintf(to, sizeof(to), "%s/cur", dst);
	sfd = open(from, O_RDONLY | O_DIRECTORY);
	dfd = open(to, O_RDONLY | O_DIRECTORY);
	d = opendir(from);
	if (sfd < 0 || dfd < 0 || d == NULL)
		die(from);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    renameat(sfd, de->d_name, dfd, de->d_name) < 0)
			die("renameat");
	(void)fsync(sfd);
	(void)fsync(dfd);
	t = now() - t;
	(void)closedir(d);
	(void)close(sfd);
	(void)close(dfd);
	return t;
}

static uint32_t *
all_uids(struct md_box *b, uint32_t *n_r)
{
	const struct md_msg *m = md_box_messages(b, n_r);
	uint32_t *u = calloc(*n_r + 1, sizeof(*u)), i;

	for (i = 0; i < *n_r; i++)
		u[i] = m[i].uid;
	return u;
}

static double
store_move(struct md_store *s, const char *from, const char *to)
{
	struct md_copy_result r = {0};
	struct md_box *b;
	uint32_t n, *u;
	double t;

	if (md_box_open(s, from, false, &b) < 0)
		die("open");
	u = all_uids(b, &n);
	t = now();
	if (md_move(b, u, n, to, &r) < 0 || r.src.count != n)
		die("md_move");
	t = now() - t;
	md_copy_result_free(&r);
	free(u);
	md_box_free(&b);
	return t;
}

static double
three_step(struct md_store *s, const char *from, const char *to)
{
	struct md_copy_result r = {0};
	struct md_uids ex = {0};
	struct md_box *b;
	uint32_t n, *u;
	double t;

	if (md_box_open(s, from, false, &b) < 0)
		die("open");
	u = all_uids(b, &n);
	t = now();
	if (md_box_copy(b, u, n, to, &r) < 0 ||
	    md_box_set_flags(b, u, n, MD_FLAGS_ADD, MD_FLAG_DELETED, 0) < 0 ||
	    md_box_expunge(b, u, n, &ex) < 0)
		die("copy/store/expunge");
	t = now() - t;
	md_copy_result_free(&r);
	md_uids_free(&ex);
	free(u);
	md_box_free(&b);
	return t;
}

int
main(int argc, char **argv)
{
	char tmpl[] = "/tmp/imapmoved-bench-XXXXXX", a[4096], b[4096];
	struct md_store *s = NULL;
	uint64_t n64 = 10000;
	uint32_t n, got;
	int i;
	double cold, warm, raw, mv, three;
	char *root;

	if (argc > 1 && num_parse_str_u64(argv[1], 10000000, &n64) < 0)
		return 2;
	n = (uint32_t)n64;
	root = mkdtemp(tmpl);
	if (root == NULL || md_store_open(root, true, &s) < 0 ||
	    md_box_create(s, "A") < 0 || md_box_create(s, "B") < 0 ||
	    md_box_create(s, "C") < 0 || md_box_create(s, "D") < 0)
		die("setup");
	(void)snprintf(a, sizeof(a), "%s/.A", root);
	(void)snprintf(b, sizeof(b), "%s/.B", root);
	fill(root, n);
	settle(root);
	cold = time_open(s, "INBOX", &got);
	settle(root);
	(void)time_open(s, "INBOX", &got); /* records the settled mtimes */
	warm = time_open(s, "INBOX", &got);
	for (i = 0; i < 4; i++) {
		double t = time_open(s, "INBOX", &got);

		warm = t < warm ? t : warm;
	}
	printf("open %u messages: cold %.1f ms, warm (best of 5) %.3f ms\n",
	       got, cold * 1e3, warm * 1e3);
	fill(a, n);
	raw = raw_renames(a, b);
	mv = store_move(s, "INBOX", "C");
	three = three_step(s, "C", "D");
	printf("move %u: raw renames %.1f ms, md_move %.1f ms (%.2fx), "
	       "copy+store+expunge %.1f ms (%.2fx slower than move)\n",
	       n, raw * 1e3, mv * 1e3, mv / raw, three * 1e3, three / mv);
	md_store_free(&s);
	{
		char cmd[4200];

		(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}
