/* Helpers for the protocol/ unit tests that drive whole sessions against a
 * real temporary Maildir: a fake write hook capturing output, an
 * authenticate hook handing out the Maildir, and a logged-in session in
 * one call. Test code only. */
#ifndef TESTS_UNIT_IMAP_TESTLIB_H
#define TESTS_UNIT_IMAP_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/mem.h"
#include "protocol/imap-private.h"
#include "tests/unit/md-testlib.h"

/* One client: its session and everything written to it. */
struct tc {
	struct imap_session *s;
	struct buf out;
	const char *root;
	struct imap_config cfg;
};

static int
tc_write(void *ctx, const void *data, size_t len)
{
	struct tc *c = ctx;

	return buf_append(&c->out, data, len);
}

static enum imap_auth_result
tc_auth(void *ctx, const char *authzid, const char *user, const char *pass,
	char **maildir_r, char **user_r)
{
	struct tc *c = ctx;

	(void)authzid;
	if (strcmp(pass, "secret") != 0)
		return IMAP_AUTH_FAIL;
	*maildir_r = xstrdup(c->root);
	*user_r = xstrdup(user);
	return IMAP_AUTH_OK;
}

static const struct imap_hooks tc_hooks = {tc_write, tc_auth};

/* Feed input and return everything written meanwhile (NUL-terminated,
 * valid until the next call). */
static inline const char *
tc_run(struct tc *c, const char *input)
{
	buf_reset(&c->out);
	(void)imap_session_input(c->s, input, strlen(input));
	return buf_cstr(&c->out);
}

/* Like tc_run, for input holding NUL bytes or not a C string. */
static inline const char *
tc_run_len(struct tc *c, const char *input, size_t len, enum imap_status *st_r)
{
	enum imap_status st;

	buf_reset(&c->out);
	st = imap_session_input(c->s, input, len);
	if (st_r != NULL)
		*st_r = st;
	return buf_cstr(&c->out);
}

/* A session on root, not logged in, greeting cleared. */
static inline void
tc_open_unauth(struct tc *c, const char *root)
{
	memset(c, 0, sizeof(*c));
	c->root = root;
	buf_init(&c->out, 0);
	imap_config_default(&c->cfg);
	c->cfg.is_secure = true;
	c->cfg.session_id = "t1";
	c->s = imap_session_new(&c->cfg, &tc_hooks, c);
	buf_reset(&c->out);
}

/* A session on root, logged in, output cleared. */
static inline void
tc_open(struct tc *c, const char *root)
{
	tc_open_unauth(c, root);
	(void)tc_run(c, "L LOGIN alice secret\r\n");
	assert_non_null(strstr(buf_cstr(&c->out), "L OK "));
	buf_reset(&c->out);
}

static inline void
tc_close(struct tc *c)
{
	imap_session_free(&c->s);
	buf_free(&c->out);
}

/* assert_string_equal with the case name in the failure message. */
#define tc_expect(name, got, want)                                             \
	do {                                                                   \
		const char *got_ = (got);                                      \
		if (strcmp(got_, (want)) != 0)                                 \
			fail_msg("%s:\n--- got ---\n%s--- want ---\n%s",       \
				 (name), got_, (want));                        \
	} while (0)

/* The usual fixture: a temporary Maildir, and a store on it that plays
 * "another process" writing to the same Maildir. */
struct tl_fx {
	char *root;
	struct md_store *st;
};

static inline int
tl_fx_setup(void **state)
{
	struct tl_fx *fx = calloc(1, sizeof(*fx));

	fx->root = tl_tmpdir();
	if (md_store_open(fx->root, true, &fx->st) < 0)
		return -1;
	*state = fx;
	return 0;
}

static inline int
tl_fx_teardown(void **state)
{
	struct tl_fx *fx = *state;

	md_store_free(&fx->st);
	tl_rmrf(&fx->root);
	free(fx);
	return 0;
}

#endif
