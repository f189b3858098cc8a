/* libFuzzer target for the framer, parser, dispatcher and commands: the
 * input drives a whole session with fake hooks, whole and split in two,
 * and both must answer the same; the first byte picks the connection
 * kind, the limits and the split.
 * When the input is one command line it also goes straight to the parser,
 * through every typed getter and through the SEARCH program parser. No
 * input may crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "protocol/imap-private.h"
#include "protocol/search-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	if (strcmp(user, "alice") != 0 || strcmp(pass, "secret") != 0)
		return user[0] == 't' ? IMAP_AUTH_TEMPFAIL : IMAP_AUTH_FAIL;
	/* A path no one can create (not even root): the store cannot open,
	 * so login answers NO [UNAVAILABLE] and no input touches the disk,
	 * which also keeps the whole and split runs comparable. */
	*maildir_r = xstrdup("/dev/null/imapmoved-fuzz");
	*user_r = xstrdup(user);
	return IMAP_AUTH_OK;
}

static const struct imap_hooks hooks = {sink, auth};

/* Feed one chunk, following STARTTLS as server/ would. Sets *tls when a
 * STARTTLS happened (what it discards depends on the chunks). */
static bool
feed(struct imap_session *s, const uint8_t *p, size_t len, bool *tls)
{
	enum imap_status st = imap_session_input(s, p, len);

	if (st == IMAP_STATUS_STARTTLS) {
		imap_session_tls_started(s);
		*tls = true;
	}
	return st != IMAP_STATUS_CLOSE;
}

/* Run a session over data in two chunks split at split; the output lands
 * in out. */
static bool
run_session(uint8_t mode, const uint8_t *data, size_t size, size_t split,
	    struct buf *out)
{
	struct imap_config cfg;
	struct imap_session *s;
	bool tls = false;

	imap_config_default(&cfg);
	cfg.is_secure = (mode & 1) != 0;
	cfg.plaintext_auth = (mode & 2) != 0;
	cfg.starttls_available = (mode & 4) != 0;
	if ((mode & 8) != 0) {
		cfg.limits.max_line_length = 40;
		cfg.limits.max_small_literal = 16;
		cfg.limits.max_nesting = 3;
		cfg.limits.max_bad_commands = 5;
	}
	s = imap_session_new(&cfg, &hooks, out);
	if (feed(s, data, split, &tls))
		(void)feed(s, data + split, size - split, &tls);
	if ((mode & 0x80) != 0)
		(void)imap_session_timeout_expired(s);
	imap_session_free(&s);
	return tls;
}

/* The answers may not depend on how the bytes were cut into chunks
 * (STARTTLS aside: it discards the rest of its chunk by design). */
static void
run_sessions(uint8_t mode, const uint8_t *data, size_t size)
{
	struct buf whole, split;
	bool tls;

	buf_init(&whole, 0);
	buf_init(&split, 0);
	tls = run_session(mode, data, size, size, &whole);
	tls |= run_session(mode, data, size,
			   (size_t)((mode >> 4) & 7) * size / 8, &split);
	if (!tls && (whole.len != split.len ||
		     (whole.len > 0 &&
		      memcmp(whole.data, split.data, whole.len) != 0))) {
		/* Show both answers, so a crasher explains itself. */
		(void)fprintf(stderr,
			      "mode 0x%02x\n--- whole:\n%s\n--- split:\n%s\n",
			      mode, buf_cstr(&whole), buf_cstr(&split));
		abort();
	}
	buf_free(&whole);
	buf_free(&split);
}

/* Every getter over every argument, recursively into lists. */
static void
try_getters(struct arena *a, const struct imap_arg *args, unsigned count)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		const struct imap_arg *arg = &args[i];
		const char *str, *error;
		size_t len;
		uint32_t n;
		struct imap_seqset set;
		struct imap_flags flags;
		time_t t;
		int tz;

		(void)imap_arg_get_astring(arg, &str, &len, &error);
		(void)imap_arg_get_nstring(arg, &str, &len, &error);
		(void)imap_arg_get_nz_number(arg, &n, &error);
		if (imap_arg_get_seqset(a, arg, &set, &error) == 0) {
			(void)imap_seqset_contains(&set, 7, 10);
			imap_seqset_resolve(&set, 10);
		}
		(void)imap_arg_get_mailbox(a, arg, &str, &error);
		(void)imap_arg_get_datetime(arg, &t, &tz, &error);
		(void)imap_arg_get_date(arg, &t, &error);
		(void)imap_arg_get_flag_list(a, arg, &flags, &error);
		if (arg->type == IMAP_ARG_LIST)
			try_getters(a, arg->list, arg->count);
	}
}

static void
run_parser(const uint8_t *data, size_t size)
{
	struct imap_limits lim;
	struct imap_command cmd;
	struct arena *a;
	const char *error;

	if (size < 2 || data[size - 2] != '\r' || data[size - 1] != '\n')
		return;
	imap_limits_default(&lim);
	a = arena_new();
	if (imap_parse_command(a, &lim, (const char *)data, size, &cmd,
			       &error) == IMAP_PARSE_OK) {
		struct search_key *root;

		try_getters(a, cmd.args, cmd.count);
		/* Every line is also tried as a search program. */
		(void)search_parse(a, &lim, cmd.args, cmd.count, &root, &error);
	}
	arena_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	log_set_level(LOG_LEVEL_ERROR);
	run_sessions(data[0], data + 1, size - 1);
	run_parser(data + 1, size - 1);
	return 0;
}
