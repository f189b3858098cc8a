/* libFuzzer target for FETCH: the input becomes the item list of a FETCH
 * and a UID FETCH of every message of a Maildir (built once, examined
 * read-only so it never changes) holding multipart, nested, bare-LF, NUL
 * and broken messages. The answers must be well formed: every literal
 * announces exactly the bytes that follow it, and each command ends with
 * its tagged response. No input may crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/num.h"
#include "protocol/imap-private.h"
#include "tests/unit/md-testlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const messages[] = {
	"From: a@b.c\r\nSubject: plain\r\n\r\nhello\r\n",
	"From: a@b.c\nContent-Type: multipart/mixed; boundary=x\n\n--x\n"
	"Content-Type: text/plain\n\none\n--x\nContent-Type: message/rfc822\n"
	"\nSubject: in\nContent-Type: multipart/alternative; boundary=y\n\n"
	"--y\n\nA\n--y\nContent-Type: text/html\n\n<b>B</b>\n--y--\n--x--\n",
	"Subject: nul\r\n\r\nab\0cd\r\n",
	"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nbroken",
	"no header at all",
};

static char *root;

static void
remove_root(void)
{
	tl_rmrf(&root);
}

static void
make_maildir(void)
{
	struct md_store *st;
	struct md_append *app;
	uint32_t uv, uid;
	size_t i, len;

	root = tl_tmpdir();
	if (md_store_open(root, true, &st) < 0)
		abort();
	for (i = 0; i < sizeof(messages) / sizeof(*messages); i++) {
		/* The NUL message is one byte longer than its strlen. */
		len = strlen(messages[i]);
		if (i == 2)
			len += 1 + strlen(messages[i] + len + 1);
		if (md_append_begin(st, "INBOX", &app) < 0 ||
		    md_append_write(app, messages[i], len) < 0 ||
		    md_append_commit(&app, 0, NULL, 0, 0, &uv, &uid) < 0)
			abort();
	}
	md_store_free(&st);
	(void)atexit(remove_root);
}

static int
sink(void *ctx, const void *p, size_t len)
{
	if (buf_append(ctx, p, len) < 0)
		abort();
	return 0;
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

/* Every response starts with "* ", "+ " or a tag, and a line that ends
 * in {n} is followed by exactly n bytes of literal. Aborts otherwise;
 * returns the number of tagged responses with tag t. */
static unsigned
check_well_formed(const struct buf *out, char t)
{
	const char *p = out->data, *end = out->data + out->len;
	bool at_start = true;
	unsigned tagged = 0;

	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		const char *brace;
		uint64_t n = 0;

		if (eol == NULL)
			abort();
		if (at_start && p[0] == t && p[1] == ' ')
			tagged++;
		if (eol > p && eol[-1] == '}' &&
		    (brace = memrchr(p, '{', (size_t)(eol - p))) != NULL &&
		    num_parse_u64(brace + 1, (size_t)(eol - 1 - brace - 1),
				  UINT64_MAX, &n) == 0) {
			if ((uint64_t)(end - (eol + 2)) < n)
				abort();
			p = eol + 2 + n;
			at_start = false;
			continue;
		}
		p = eol + 2;
		at_start = true;
	}
	return tagged;
}

/* The input with CR and LF made spaces, so that it stays one FETCH. */
static void
run(const char *prefix, const uint8_t *data, size_t size, char t)
{
	struct imap_config cfg;
	struct imap_session *s;
	struct buf in, out;
	size_t i;

	buf_init(&in, 0);
	buf_init(&out, 0);
	(void)buf_puts(&in, "l LOGIN u p\r\ns EXAMINE INBOX\r\n");
	(void)buf_puts(&in, prefix);
	for (i = 0; i < size; i++)
		(void)buf_putc(&in, data[i] == '\r' || data[i] == '\n'
					    ? ' '
					    : (char)data[i]);
	(void)buf_puts(&in, "\r\n");
	imap_config_default(&cfg);
	cfg.is_secure = true;
	s = imap_session_new(&cfg, &hooks, &out);
	(void)imap_session_input(s, in.data, in.len);
	imap_session_free(&s);
	/* A literal in the input leaves the command waiting: no tag. */
	if (check_well_formed(&out, t) > 1)
		abort();
	buf_free(&in);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (root == NULL) {
		log_set_level(LOG_LEVEL_ERROR);
		make_maildir();
	}
	run("f FETCH 1:* ", data, size, 'f');
	run("g UID FETCH 1:* ", data, size, 'g');
	return 0;
}
