/* libFuzzer target for the authenticated and selected states on a real
 * Maildir: each input is a session (already logged in) on a fresh
 * temporary Maildir holding INBOX with three messages and a folder tree,
 * so SELECT, LIST/LSUB patterns, STATUS, CREATE/DELETE/RENAME, APPEND
 * streaming, EXPUNGE and the sync all run on fuzzed bytes. The first byte
 * picks the limits and whether the input goes in whole or byte by byte.
 * No input may crash or leak; answers are not compared (the Maildir's
 * UIDVALIDITY and the clock differ between runs).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "protocol/imap-private.h"
#include "tests/unit/md-testlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *root;

static int
sink(void *ctx, const void *p, size_t len)
{
	struct buf *b = ctx;

	/* Keep only the tail: the answers are not checked. */
	if (b->len > 65536)
		buf_reset(b);
	return buf_append(b, p, len) < 0 ? -1 : 0;
}

static enum imap_auth_result
auth(void *ctx, const char *authzid, const char *user, const char *pass,
     char **maildir_r, char **user_r)
{
	(void)ctx;
	(void)authzid;
	(void)pass;
	*maildir_r = xstrdup(root);
	*user_r = xstrdup(user);
	return IMAP_AUTH_OK;
}

static const struct imap_hooks hooks = {sink, auth};

/* A fresh directory, on tmpfs when there is one (fsync is then cheap). */
static char *
fuzz_tmpdir(void)
{
	char tmpl[] = "/dev/shm/imapmoved-fz-XXXXXX";

	if (mkdtemp(tmpl) != NULL)
		return strdup(tmpl);
	return tl_tmpdir();
}

/* The template: INBOX with three messages (one \Seen, one \Deleted),
 * folders A, A.b and C.d (C only implied), subscriptions A and Z. Built
 * once (appends fsync, which is slow) and copied for each input. */
static char *
make_template(void)
{
	char *dir = fuzz_tmpdir();
	struct md_store *st;

	if (md_store_open(dir, true, &st) < 0)
		abort();
	(void)tl_append(st, "INBOX", "Subject: a\r\n\r\none\r\n", MD_FLAG_SEEN);
	(void)tl_append(st, "INBOX", "Subject: b\r\n\r\ntwo\r\n",
			MD_FLAG_DELETED);
	(void)tl_append(st, "INBOX", "Subject: c\r\n\r\nthree\r\n", 0);
	(void)md_box_create(st, "A");
	(void)md_box_create(st, "A.b");
	(void)md_box_create(st, "C.d");
	(void)md_store_subscribe(st, "A", true);
	(void)md_store_subscribe(st, "Z", true);
	md_store_free(&st);
	return dir;
}

/* Copy directory from (an fd) into the new directory to (an fd). Test
 * code: no fsync, errors abort. */
static void
copy_tree(int from, int to)
{
	DIR *d = fdopendir(dup(from));
	struct dirent *de;

	if (d == NULL)
		abort();
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		int in, out;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(from, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			abort();
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(to, de->d_name, 0700) < 0)
				abort();
			in = openat(from, de->d_name, O_RDONLY | O_DIRECTORY);
			out = openat(to, de->d_name, O_RDONLY | O_DIRECTORY);
			if (in < 0 || out < 0)
				abort();
			copy_tree(in, out);
		} else {
			char buf[4096];
			ssize_t n;

			in = openat(from, de->d_name, O_RDONLY);
			out = openat(to, de->d_name,
				     O_WRONLY | O_CREAT | O_EXCL, 0600);
			if (in < 0 || out < 0)
				abort();
			while ((n = read(in, buf, sizeof(buf))) > 0) {
				if (io_write_all(out, buf, (size_t)n) < 0)
					abort();
			}
			/* The store trusts mtimes (internal dates and
			 * its no-readdir check). */
			{
				struct timespec ts[2] = {st.st_atim,
							 st.st_mtim};

				(void)futimens(out, ts);
			}
		}
		(void)close(in);
		(void)close(out);
	}
	(void)closedir(d);
}

static char *tmpl;

static void
remove_template(void)
{
	tl_rmrf(&tmpl);
}

/* A fresh copy of the template. */
static char *
make_maildir(void)
{
	char *dir = fuzz_tmpdir();
	int from, to;

	if (tmpl == NULL) {
		tmpl = make_template();
		(void)atexit(remove_template);
	}
	from = open(tmpl, O_RDONLY | O_DIRECTORY);
	to = open(dir, O_RDONLY | O_DIRECTORY);
	if (from < 0 || to < 0)
		abort();
	copy_tree(from, to);
	(void)close(from);
	(void)close(to);
	return dir;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char login[] = "L LOGIN alice secret\r\n";
	struct imap_config cfg;
	struct imap_session *s;
	struct buf out;
	char *dir;
	size_t i;
	uint8_t mode;

	if (size == 0)
		return 0;
	log_set_level(LOG_LEVEL_ERROR);
	mode = data[0];
	data++;
	size--;
	dir = make_maildir();
	root = dir;
	imap_config_default(&cfg);
	cfg.is_secure = true;
	cfg.limits.max_bad_commands = 0;
	if ((mode & 1) != 0) {
		cfg.limits.max_line_length = 64;
		cfg.limits.max_small_literal = 16;
		cfg.limits.max_literal_size = 256;
	}
	buf_init(&out, 0);
	s = imap_session_new(&cfg, &hooks, &out);
	if (imap_session_input(s, login, sizeof(login) - 1) ==
	    IMAP_STATUS_CONTINUE) {
		if ((mode & 2) != 0) {
			for (i = 0; i < size; i++) {
				if (imap_session_input(s, data + i, 1) !=
				    IMAP_STATUS_CONTINUE)
					break;
			}
		} else {
			(void)imap_session_input(s, data, size);
		}
	}
	imap_session_free(&s);
	buf_free(&out);
	tl_rmrf(&dir);
	return 0;
}
