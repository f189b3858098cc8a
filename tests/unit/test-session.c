/* Unit tests for whole sessions: bytes in through imap_session_input(),
 * responses captured by a fake write hook, credentials checked by a fake
 * authenticate hook. Each table case is run with its input whole, one
 * byte at a time and split at every offset, and must answer the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "protocol/imap-private.h"
#include "tests/unit/md-testlib.h"

/* The Maildir the fake authenticate hook hands out (the store is opened
 * at login). */
static char *maildir_root;

struct fake {
	struct buf out;
	size_t out_at_auth; /* bytes written when the hook was called */
	bool fail_writes;
	unsigned auth_calls;
	char authzid[64];
};

static int
fake_write(void *ctx, const void *data, size_t len)
{
	struct fake *f = ctx;

	if (f->fail_writes)
		return -1;
	assert_int_equal(buf_append(&f->out, data, len), 0);
	return 0;
}

/* alice/secret logs in; "temp" is a server-side failure; an authzid
 * other than the user is refused. */
static enum imap_auth_result
fake_auth(void *ctx, const char *authzid, const char *user, const char *pass,
	  char **maildir_r, char **user_r)
{
	struct fake *f = ctx;

	f->auth_calls++;
	f->out_at_auth = f->out.len;
	snprintf(f->authzid, sizeof(f->authzid), "%s",
		 authzid != NULL ? authzid : "(null)");
	if (strcmp(user, "temp") == 0)
		return IMAP_AUTH_TEMPFAIL;
	if (authzid != NULL && strcmp(authzid, user) != 0)
		return IMAP_AUTH_FAIL;
	if (strcmp(user, "alice") != 0 || strcmp(pass, "secret") != 0)
		return IMAP_AUTH_FAIL;
	*maildir_r = xstrdup(maildir_root);
	*user_r = xstrdup("alice");
	return IMAP_AUTH_OK;
}

static const struct imap_hooks hooks = {fake_write, fake_auth};

enum cfg_kind {
	CFG_INSECURE,  /* defaults: plain connection, plaintext_auth no */
	CFG_SECURE,    /* TLS or loopback */
	CFG_PLAINTEXT, /* plain connection, plaintext_auth yes */
	CFG_STARTTLS,  /* plain connection, STARTTLS offered */
	CFG_SMALL,     /* secure, with tiny limits */
	CFG_LOCAL_TLS, /* loopback (secure) with STARTTLS offered */
};

static void
make_cfg(enum cfg_kind kind, struct imap_config *cfg)
{
	imap_config_default(cfg);
	cfg->session_id = "t1";
	cfg->is_secure = kind == CFG_SECURE || kind == CFG_SMALL ||
			 kind == CFG_LOCAL_TLS;
	cfg->plaintext_auth = kind == CFG_PLAINTEXT;
	cfg->starttls_available = kind == CFG_STARTTLS ||
				  kind == CFG_LOCAL_TLS;
	if (kind == CFG_SMALL) {
		cfg->limits.max_line_length = 64;
		cfg->limits.max_small_literal = 16;
		cfg->limits.max_nesting = 3;
		cfg->limits.max_bad_commands = 3;
	}
}

#define CAPS_PRE "IMAP4rev1 LITERAL+ SASL-IR ID"
#define CAPS_INSECURE CAPS_PRE " LOGINDISABLED"
#define CAPS_SECURE CAPS_PRE " AUTH=PLAIN AUTH=LOGIN"
#define CAPS_POST "IMAP4rev1 LITERAL+ ID UNSELECT CHILDREN UIDPLUS MOVE IDLE"
#define LOGGED_IN "OK [CAPABILITY " CAPS_POST "] Logged in\r\n"
#define AUTH_FAILED "NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
#define PRIVACY                                                                \
	"NO [PRIVACYREQUIRED] Plaintext authentication disallowed on "         \
	"non-secure connections.\r\n"
#define CONT "+ Ready for literal data\r\n"
/* base64 of "\0alice\0secret" */
#define PLAIN_ALICE "AGFsaWNlAHNlY3JldA=="

struct session_case {
	const char *name;
	enum cfg_kind cfg;
	const char *input;
	size_t input_len;     /* 0: strlen(input) */
	const char *expected; /* output after the greeting */
	enum imap_status status;
};

#define BIN(s) s, sizeof(s) - 1

static const struct session_case cases[] = {
	{"capability_insecure_has_logindisabled_no_auth", CFG_INSECURE,
	 "a CAPABILITY\r\n", 0,
	 "* CAPABILITY " CAPS_INSECURE "\r\na OK Capability completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"capability_secure_offers_auth_mechanisms", CFG_SECURE,
	 "a CAPABILITY\r\n", 0,
	 "* CAPABILITY " CAPS_SECURE "\r\na OK Capability completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"capability_plaintext_allowed_offers_auth", CFG_PLAINTEXT,
	 "a CAPABILITY\r\n", 0,
	 "* CAPABILITY " CAPS_SECURE "\r\na OK Capability completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"capability_starttls_offered", CFG_STARTTLS, "a CAPABILITY\r\n", 0,
	 "* CAPABILITY " CAPS_PRE " STARTTLS LOGINDISABLED\r\n"
	 "a OK Capability completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"login_ok_then_post_login_capability", CFG_SECURE,
	 "a LOGIN alice secret\r\nb CAPABILITY\r\n", 0,
	 "a " LOGGED_IN "* CAPABILITY " CAPS_POST
	 "\r\nb OK Capability completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"login_wrong_password_fails", CFG_SECURE, "a LOGIN alice wrong\r\n", 0,
	 "a " AUTH_FAILED, IMAP_STATUS_CONTINUE},
	{"login_unknown_user_same_answer", CFG_SECURE, "a LOGIN bob secret\r\n",
	 0, "a " AUTH_FAILED, IMAP_STATUS_CONTINUE},
	{"login_tempfail_is_unavailable", CFG_SECURE, "a LOGIN temp x\r\n", 0,
	 "a NO [UNAVAILABLE] Authentication temporarily unavailable.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"login_insecure_privacy_required", CFG_INSECURE,
	 "a LOGIN alice secret\r\n", 0, "a " PRIVACY, IMAP_STATUS_CONTINUE},
	{"login_insecure_allowed_by_plaintext_auth", CFG_PLAINTEXT,
	 "a LOGIN alice secret\r\n", 0, "a " LOGGED_IN, IMAP_STATUS_CONTINUE},
	{"login_three_failures_bye", CFG_SECURE,
	 "a LOGIN alice x\r\nb LOGIN alice y\r\nc LOGIN alice z\r\n"
	 "d LOGIN alice secret\r\n",
	 0,
	 "a " AUTH_FAILED "b " AUTH_FAILED "c " AUTH_FAILED
	 "* BYE Too many authentication failures.\r\n",
	 IMAP_STATUS_CLOSE},
	{"login_quoted_and_sync_literal", CFG_SECURE,
	 "a LOGIN \"alice\" {6}\r\nsecret\r\n", 0, CONT "a " LOGGED_IN,
	 IMAP_STATUS_CONTINUE},
	{"login_literal_plus_needs_no_continuation", CFG_SECURE,
	 "a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n", 0, "a " LOGGED_IN,
	 IMAP_STATUS_CONTINUE},
	{"login_quoted_escapes", CFG_SECURE,
	 "a LOGIN \"al\\\\ice\" \"se\\\"cret\"\r\n", 0, "a " AUTH_FAILED,
	 IMAP_STATUS_CONTINUE},
	{"login_nul_in_literal_is_bad", CFG_SECURE,
	 BIN("a LOGIN {7+}\r\nalice\0x secret\r\n"),
	 "a BAD NUL byte in string\r\n", IMAP_STATUS_CONTINUE},
	{"login_nul_in_password_literal_is_bad", CFG_SECURE,
	 BIN("a LOGIN alice {8+}\r\nsecret\0x\r\n"),
	 "a BAD NUL byte in string\r\n", IMAP_STATUS_CONTINUE},
	{"login_nul_in_quoted_is_bad", CFG_SECURE,
	 BIN("a LOGIN \"alice\0x\" secret\r\n"),
	 "a BAD NUL byte in quoted string\r\n", IMAP_STATUS_CONTINUE},
	{"login_wrong_arity_is_bad", CFG_SECURE, "a LOGIN alice\r\n", 0,
	 "a BAD Wrong number of arguments\r\n", IMAP_STATUS_CONTINUE},
	{"login_list_argument_is_bad", CFG_SECURE, "a LOGIN (alice) x\r\n", 0,
	 "a BAD Expected a string\r\n", IMAP_STATUS_CONTINUE},
	{"login_after_login_is_bad", CFG_SECURE,
	 "a LOGIN alice secret\r\nb LOGIN alice secret\r\n", 0,
	 "a " LOGGED_IN "b BAD Already authenticated\r\n",
	 IMAP_STATUS_CONTINUE},
	{"huge_sync_literal_refused_before_continuation", CFG_SECURE,
	 "a LOGIN {999999999999}\r\nb NOOP\r\n", 0,
	 "a NO [TOOBIG] Literal too big.\r\nb OK NOOP completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"literal_over_small_limit_refused", CFG_SMALL,
	 "a LOGIN {17}\r\nb NOOP\r\n", 0,
	 "a NO [TOOBIG] Literal too big.\r\nb OK NOOP completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"literal_at_small_limit_accepted", CFG_SMALL,
	 "a LOGIN {16}\r\n0123456789abcdef x\r\n", 0, CONT "a " AUTH_FAILED,
	 IMAP_STATUS_CONTINUE},
	{"literals_of_a_command_share_the_limit", CFG_SMALL,
	 "a LOGIN {10}\r\n0123456789 {7}\r\nb NOOP\r\n", 0,
	 CONT "a NO [TOOBIG] Literal too big.\r\nb OK NOOP completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"huge_literal_plus_bad_and_bye", CFG_SECURE,
	 "a LOGIN {999999999999+}\r\nxyz\r\nb NOOP\r\n", 0,
	 "a BAD [TOOBIG] Literal too big.\r\n"
	 "* BYE Non-synchronizing literal too big.\r\n",
	 IMAP_STATUS_CLOSE},
	{"literal_size_overflowing_64_bits_refused", CFG_SECURE,
	 "a LOGIN {123456789012345678901234567890}\r\nb NOOP\r\n", 0,
	 "a NO [TOOBIG] Literal too big.\r\nb OK NOOP completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"zero_length_literal", CFG_SECURE, "a LOGIN {0}\r\n secret\r\n", 0,
	 CONT "a " AUTH_FAILED, IMAP_STATUS_CONTINUE},
	{"pipelined_commands_answered_in_order", CFG_SECURE,
	 "a NOOP\r\nb CAPABILITY\r\nc LOGIN alice secret\r\nd NOOP\r\n", 0,
	 "a OK NOOP completed.\r\n* CAPABILITY " CAPS_SECURE
	 "\r\nb OK Capability completed.\r\nc " LOGGED_IN
	 "d OK NOOP completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"line_too_long_bad_and_usable", CFG_SMALL,
	 "a NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "xxxxxxxxxxxxxxxxxxxxxxxx\r\nb NOOP\r\n",
	 0, "a BAD Command line too long.\r\nb OK NOOP completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"line_too_long_skips_literal_plus", CFG_SMALL,
	 "a LOGIN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "xxxxxxxxxxxxxxx {8+}\r\nc NOOP\r\n\r\nb NOOP\r\n",
	 0, "a BAD Command line too long.\r\nb OK NOOP completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"line_too_long_sync_literal_not_continued", CFG_SMALL,
	 "a LOGIN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "xxxxxxxxxxxxxxx {8}\r\nb NOOP\r\n",
	 0, "a BAD Command line too long.\r\nb OK NOOP completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"nesting_too_deep_is_bad", CFG_SMALL, "a ID ((((\"x\"))))\r\n", 0,
	 "a BAD Too deeply nested parentheses\r\n", IMAP_STATUS_CONTINUE},
	{"nesting_within_limit_parses", CFG_SMALL, "a ID (((\"x\")))\r\n", 0,
	 "a BAD Invalid ID parameter list\r\n", IMAP_STATUS_CONTINUE},
	{"unbalanced_parentheses_is_bad", CFG_SECURE, "a ID (\"a\" \"b\"\r\n",
	 0, "a BAD Unbalanced parentheses\r\n", IMAP_STATUS_CONTINUE},
	{"unknown_command_is_bad", CFG_SECURE, "a FROB\r\n", 0,
	 "a BAD Unknown command\r\n", IMAP_STATUS_CONTINUE},
	{"unknown_command_after_login_is_bad", CFG_SECURE,
	 "a LOGIN alice secret\r\nb XYZZY INBOX\r\n", 0,
	 "a " LOGGED_IN "b BAD Unknown command\r\n", IMAP_STATUS_CONTINUE},
	{"uid_prefix_unknown_command_is_bad", CFG_SECURE,
	 "a UID XYZZY 1:* FLAGS\r\n", 0, "a BAD Unknown UID command\r\n",
	 IMAP_STATUS_CONTINUE},
	{"missing_tag_is_untagged_bad", CFG_SECURE, "\r\n", 0,
	 "* BAD Invalid tag\r\n", IMAP_STATUS_CONTINUE},
	{"plus_tag_is_untagged_bad", CFG_SECURE, "+a NOOP\r\n", 0,
	 "* BAD Invalid tag\r\n", IMAP_STATUS_CONTINUE},
	{"missing_command_is_bad", CFG_SECURE, "a\r\n", 0,
	 "a BAD Missing command\r\n", IMAP_STATUS_CONTINUE},
	{"trailing_space_is_bad", CFG_SECURE, "a NOOP \r\n", 0,
	 "a BAD Trailing space\r\n", IMAP_STATUS_CONTINUE},
	{"noop_with_argument_is_bad", CFG_SECURE, "a NOOP x\r\n", 0,
	 "a BAD Wrong number of arguments\r\n", IMAP_STATUS_CONTINUE},
	{"bare_lf_ends_a_line", CFG_SECURE, "a NOOP\nb NOOP\r\n", 0,
	 "a OK NOOP completed.\r\nb OK NOOP completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"lower_case_command_names", CFG_SECURE, "a noop\r\n", 0,
	 "a OK NOOP completed.\r\n", IMAP_STATUS_CONTINUE},
	{"too_many_bad_commands_bye", CFG_SMALL,
	 "a FROB\r\nb FROB\r\nc FROB\r\nd NOOP\r\n", 0,
	 "a BAD Unknown command\r\nb BAD Unknown command\r\n"
	 "c BAD Unknown command\r\n* BYE Too many invalid commands.\r\n",
	 IMAP_STATUS_CLOSE},
	{"good_command_resets_bad_count", CFG_SMALL,
	 "a FROB\r\nb FROB\r\nc NOOP\r\nd FROB\r\n", 0,
	 "a BAD Unknown command\r\nb BAD Unknown command\r\n"
	 "c OK NOOP completed.\r\nd BAD Unknown command\r\n",
	 IMAP_STATUS_CONTINUE},
	{"logout_bye_then_ok_then_close", CFG_SECURE, "a LOGOUT\r\nb NOOP\r\n",
	 0, "* BYE Logging out.\r\na OK Logout completed.\r\n",
	 IMAP_STATUS_CLOSE},
	{"starttls_unavailable_is_bad", CFG_SECURE, "a STARTTLS\r\n", 0,
	 "a BAD STARTTLS is not available.\r\n", IMAP_STATUS_CONTINUE},
	{"starttls_offered_on_loopback", CFG_LOCAL_TLS,
	 "a CAPABILITY\r\nb STARTTLS\r\n", 0,
	 "* CAPABILITY " CAPS_PRE " STARTTLS AUTH=PLAIN AUTH=LOGIN\r\n"
	 "a OK Capability completed.\r\n"
	 "b OK Begin TLS negotiation now.\r\n",
	 IMAP_STATUS_STARTTLS},
	{"starttls_not_configured_is_bad", CFG_INSECURE, "a STARTTLS\r\n", 0,
	 "a BAD STARTTLS is not available.\r\n", IMAP_STATUS_CONTINUE},
	{"id_nil", CFG_INSECURE, "a ID NIL\r\n", 0,
	 "* ID (\"name\" \"imapmoved\" \"version\" \"" IMAPMOVED_VERSION
	 "\")\r\na OK ID completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"id_with_params", CFG_INSECURE,
	 "a ID (\"name\" \"mutt\" \"version\" NIL)\r\n", 0,
	 "* ID (\"name\" \"imapmoved\" \"version\" \"" IMAPMOVED_VERSION
	 "\")\r\na OK ID completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"id_odd_list_is_bad", CFG_INSECURE, "a ID (\"name\")\r\n", 0,
	 "a BAD Invalid ID parameter list\r\n", IMAP_STATUS_CONTINUE},
	{"authenticate_plain_sasl_ir", CFG_SECURE,
	 "a AUTHENTICATE PLAIN " PLAIN_ALICE "\r\n", 0, "a " LOGGED_IN,
	 IMAP_STATUS_CONTINUE},
	{"authenticate_plain_continuation", CFG_SECURE,
	 "a AUTHENTICATE PLAIN\r\n" PLAIN_ALICE "\r\nb NOOP\r\n", 0,
	 "+ \r\na " LOGGED_IN "b OK NOOP completed.\r\n", IMAP_STATUS_CONTINUE},
	{"authenticate_plain_lower_case_mechanism", CFG_SECURE,
	 "a authenticate plain " PLAIN_ALICE "\r\n", 0, "a " LOGGED_IN,
	 IMAP_STATUS_CONTINUE},
	{"authenticate_plain_cancel_is_bad", CFG_SECURE,
	 "a AUTHENTICATE PLAIN\r\n*\r\nb NOOP\r\n", 0,
	 "+ \r\na BAD Authentication cancelled.\r\nb OK NOOP completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"authenticate_plain_wrong_password", CFG_SECURE,
	 /* "\0alice\0wrong" */
	 "a AUTHENTICATE PLAIN AGFsaWNlAHdyb25n\r\n", 0, "a " AUTH_FAILED,
	 IMAP_STATUS_CONTINUE},
	{"authenticate_plain_authzid_passed_to_hook", CFG_SECURE,
	 /* "bob\0alice\0secret" */
	 "a AUTHENTICATE PLAIN Ym9iAGFsaWNlAHNlY3JldA==\r\n", 0,
	 "a " AUTH_FAILED, IMAP_STATUS_CONTINUE},
	{"authenticate_plain_extra_nul_is_bad", CFG_SECURE,
	 /* "\0alice\0sec\0ret" */
	 "a AUTHENTICATE PLAIN AGFsaWNlAHNlYwByZXQ=\r\n", 0,
	 "a BAD Invalid PLAIN response.\r\n", IMAP_STATUS_CONTINUE},
	{"authenticate_plain_invalid_base64_is_bad", CFG_SECURE,
	 "a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA=\r\n", 0,
	 "a BAD Invalid base64 in SASL response.\r\n", IMAP_STATUS_CONTINUE},
	{"authenticate_plain_empty_ir_fails", CFG_SECURE,
	 "a AUTHENTICATE PLAIN =\r\n", 0, "a BAD Invalid PLAIN response.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"authenticate_insecure_privacy_required", CFG_INSECURE,
	 "a AUTHENTICATE PLAIN " PLAIN_ALICE "\r\n", 0, "a " PRIVACY,
	 IMAP_STATUS_CONTINUE},
	{"authenticate_unknown_mechanism_is_no", CFG_SECURE,
	 "a AUTHENTICATE CRAM-MD5\r\n", 0,
	 "a NO Unsupported authentication mechanism.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"authenticate_login_mechanism", CFG_SECURE,
	 "a AUTHENTICATE LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n", 0,
	 "+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\na " LOGGED_IN,
	 IMAP_STATUS_CONTINUE},
	{"authenticate_login_with_initial_user", CFG_SECURE,
	 "a AUTHENTICATE LOGIN YWxpY2U=\r\nc2VjcmV0\r\n", 0,
	 "+ UGFzc3dvcmQ6\r\na " LOGGED_IN, IMAP_STATUS_CONTINUE},
	{"authenticate_login_nul_in_user_is_bad", CFG_SECURE,
	 /* "alice\0x" */
	 "a AUTHENTICATE LOGIN YWxpY2UAeA==\r\nb NOOP\r\n", 0,
	 "a BAD NUL byte in LOGIN response.\r\nb OK NOOP completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"authenticate_plain_nul_in_password_is_bad", CFG_SECURE,
	 /* "\0alice\0secret\0x" */
	 "a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldAB4\r\n", 0,
	 "a BAD Invalid PLAIN response.\r\n", IMAP_STATUS_CONTINUE},
	{"authenticate_quoted_initial_response_is_bad", CFG_SECURE,
	 "a AUTHENTICATE PLAIN \"" PLAIN_ALICE "\"\r\n", 0,
	 "a BAD Invalid initial response.\r\n", IMAP_STATUS_CONTINUE},
	{"authenticate_login_cancel_at_password", CFG_SECURE,
	 "a AUTHENTICATE LOGIN\r\nYWxpY2U=\r\n*\r\n", 0,
	 "+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\na BAD Authentication "
	 "cancelled.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"authenticate_sasl_line_too_long_is_bad", CFG_SMALL,
	 "a AUTHENTICATE PLAIN\r\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nb NOOP\r\n",
	 0, "+ \r\na BAD SASL response too long.\r\nb OK NOOP completed.\r\n",
	 IMAP_STATUS_CONTINUE},
	{"authenticate_after_login_is_bad", CFG_SECURE,
	 "a LOGIN alice secret\r\nb AUTHENTICATE PLAIN\r\n", 0,
	 "a " LOGGED_IN "b BAD Already authenticated\r\n",
	 IMAP_STATUS_CONTINUE},
};

/* Feed input in pieces of at most step bytes (0: whole, split: the first
 * piece is split bytes long and the rest whole), stopping at the first
 * status other than CONTINUE. */
static enum imap_status
drive(const struct session_case *c, size_t step, size_t split, struct fake *f)
{
	struct imap_config cfg;
	struct imap_session *s;
	enum imap_status st = IMAP_STATUS_CONTINUE;
	size_t len = c->input_len != 0 ? c->input_len : strlen(c->input);
	size_t pos = 0;

	make_cfg(c->cfg, &cfg);
	memset(f, 0, sizeof(*f));
	buf_init(&f->out, 0);
	s = imap_session_new(&cfg, &hooks, f);
	buf_reset(&f->out); /* the greeting is tested on its own */
	while (pos < len && st == IMAP_STATUS_CONTINUE) {
		size_t n = len - pos;

		if (step != 0 && n > step)
			n = step;
		if (split != 0 && pos == 0)
			n = split;
		st = imap_session_input(s, c->input + pos, n);
		pos += n;
	}
	imap_session_free(&s);
	assert_null(s);
	return st;
}

static void
check(const struct session_case *c, size_t step, size_t split)
{
	struct fake f;
	enum imap_status st = drive(c, step, split, &f);

	if (strcmp(buf_cstr(&f.out), c->expected) != 0 || st != c->status)
		fail_msg("%s (step %zu, split %zu): got status %d and\n%s"
			 "expected status %d and\n%s",
			 c->name, step, split, (int)st, buf_cstr(&f.out),
			 (int)c->status, c->expected);
	buf_free(&f.out);
}

static void
session_cases_whole_bytewise_and_split(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct session_case *c = &cases[i];
		size_t len =
			c->input_len != 0 ? c->input_len : strlen(c->input);

		check(c, 0, 0);
		check(c, 1, 0);
		for (k = 1; k < len; k++)
			check(c, 0, k);
	}
}

static struct imap_session *
new_session(enum cfg_kind kind, struct fake *f)
{
	struct imap_config cfg;

	make_cfg(kind, &cfg);
	memset(f, 0, sizeof(*f));
	buf_init(&f->out, 0);
	return imap_session_new(&cfg, &hooks, f);
}

static enum imap_status
input(struct imap_session *s, const char *str)
{
	return imap_session_input(s, str, strlen(str));
}

static void
greeting_lists_capabilities(void **state)
{
	struct fake f;
	struct imap_session *s;

	(void)state;
	s = new_session(CFG_INSECURE, &f);
	assert_string_equal(buf_cstr(&f.out), "* OK [CAPABILITY " CAPS_INSECURE
					      "] imapmoved ready.\r\n");
	imap_session_free(&s);
	buf_free(&f.out);
	s = new_session(CFG_SECURE, &f);
	assert_string_equal(buf_cstr(&f.out), "* OK [CAPABILITY " CAPS_SECURE
					      "] imapmoved ready.\r\n");
	imap_session_free(&s);
	imap_session_free(&s); /* a second free is a no-op */
	buf_free(&f.out);
}

static void
literal_continuation_only_after_accepting(void **state)
{
	struct fake f;
	struct imap_session *s;

	(void)state;
	s = new_session(CFG_SECURE, &f);
	buf_reset(&f.out);
	assert_int_equal(input(s, "a LOGIN {5}\r\n"), IMAP_STATUS_CONTINUE);
	assert_string_equal(buf_cstr(&f.out), CONT);
	assert_int_equal(input(s, "alice {6}\r\n"), IMAP_STATUS_CONTINUE);
	assert_string_equal(buf_cstr(&f.out), CONT CONT);
	assert_int_equal(input(s, "secret\r\n"), IMAP_STATUS_CONTINUE);
	assert_string_equal(buf_cstr(&f.out), CONT CONT "a " LOGGED_IN);
	imap_session_free(&s);
	buf_free(&f.out);
}

static void
login_stores_user_and_maildir(void **state)
{
	struct fake f;
	struct imap_session *s;

	(void)state;
	s = new_session(CFG_SECURE, &f);
	assert_false(imap_session_is_authenticated(s));
	assert_null(imap_session_user(s));
	assert_int_equal(imap_session_timeout(s), 60);
	input(s, "a LOGIN alice secret\r\n");
	assert_true(imap_session_is_authenticated(s));
	assert_string_equal(imap_session_user(s), "alice");
	assert_string_equal(imap_session_maildir(s), maildir_root);
	assert_int_equal(imap_session_timeout(s), 1800);
	assert_string_equal(f.authzid, "(null)");
	imap_session_free(&s);
	buf_free(&f.out);
}

static void
login_password_wiped_from_buffers(void **state)
{
	struct fake f;
	struct imap_session *s;

	(void)state;
	s = new_session(CFG_SECURE, &f);
	input(s, "a LOGIN alice {6}\r\n");
	input(s, "secret\r\n");
	assert_non_null(s->frame.data);
	assert_null(memmem(s->frame.data, s->frame.cap, "secret", 6));
	imap_session_free(&s);
	buf_free(&f.out);
}

static void
earlier_answers_written_before_auth_hook(void **state)
{
	struct fake f;
	struct imap_session *s;

	(void)state;
	s = new_session(CFG_SECURE, &f);
	buf_reset(&f.out);
	input(s, "a NOOP\r\nb LOGIN alice wrong\r\n");
	assert_int_equal(f.out_at_auth, strlen("a OK NOOP completed.\r\n"));
	imap_session_free(&s);
	buf_free(&f.out);
}

static void
starttls_discards_pipelined_bytes(void **state)
{
	struct fake f;
	struct imap_session *s;

	(void)state;
	s = new_session(CFG_STARTTLS, &f);
	buf_reset(&f.out);
	assert_int_equal(input(s, "a STARTTLS\r\nb LOGIN alice secret\r\n"),
			 IMAP_STATUS_STARTTLS);
	assert_string_equal(buf_cstr(&f.out),
			    "a OK Begin TLS negotiation now.\r\n");
	assert_int_equal(f.auth_calls, 0);
	imap_session_tls_started(s);
	buf_reset(&f.out);
	assert_int_equal(input(s, "c CAPABILITY\r\nd STARTTLS\r\n"),
			 IMAP_STATUS_CONTINUE);
	assert_string_equal(buf_cstr(&f.out),
			    "* CAPABILITY " CAPS_SECURE
			    "\r\nc OK Capability completed.\r\n"
			    "d BAD TLS is already active.\r\n");
	imap_session_free(&s);
	buf_free(&f.out);
}

static void
starttls_discards_partial_command(void **state)
{
	struct fake f;
	struct imap_session *s;

	(void)state;
	s = new_session(CFG_STARTTLS, &f);
	buf_reset(&f.out);
	assert_int_equal(input(s, "a STARTTLS\r\nb NO"), IMAP_STATUS_STARTTLS);
	imap_session_tls_started(s);
	buf_reset(&f.out);
	assert_int_equal(input(s, "c NOOP\r\n"), IMAP_STATUS_CONTINUE);
	assert_string_equal(buf_cstr(&f.out), "c OK NOOP completed.\r\n");
	imap_session_free(&s);
	buf_free(&f.out);
}

static void
thousands_of_pipelined_commands_bounded(void **state)
{
	struct fake f;
	struct imap_session *s;
	struct buf in, want;
	unsigned i;

	(void)state;
	buf_init(&in, 0);
	buf_init(&want, 0);
	for (i = 0; i < 5000; i++) {
		assert_int_equal(buf_printf(&in, "t%u NOOP\r\n", i), 0);
		assert_int_equal(
			buf_printf(&want, "t%u OK NOOP completed.\r\n", i), 0);
	}
	s = new_session(CFG_SECURE, &f);
	buf_reset(&f.out);
	assert_int_equal(imap_session_input(s, in.data, in.len),
			 IMAP_STATUS_CONTINUE);
	assert_string_equal(buf_cstr(&f.out), buf_cstr(&want));
	/* Only one command is ever buffered. */
	assert_true(s->frame.cap <= 1024);
	imap_session_free(&s);
	buf_free(&f.out);
	buf_free(&in);
	buf_free(&want);
}

static void
timeout_and_shutdown_say_bye(void **state)
{
	struct fake f;
	struct imap_session *s;

	(void)state;
	s = new_session(CFG_SECURE, &f);
	buf_reset(&f.out);
	assert_int_equal(imap_session_timeout_expired(s), IMAP_STATUS_CLOSE);
	assert_string_equal(buf_cstr(&f.out),
			    "* BYE Autologout; idle for too long.\r\n");
	assert_int_equal(input(s, "a NOOP\r\n"), IMAP_STATUS_CLOSE);
	imap_session_free(&s);
	buf_free(&f.out);
	s = new_session(CFG_SECURE, &f);
	buf_reset(&f.out);
	assert_int_equal(imap_session_shutdown(s), IMAP_STATUS_CLOSE);
	assert_string_equal(buf_cstr(&f.out),
			    "* BYE Server shutting down.\r\n");
	imap_session_free(&s);
	buf_free(&f.out);
}

static void
write_failure_closes(void **state)
{
	struct fake f;
	struct imap_session *s;

	(void)state;
	s = new_session(CFG_SECURE, &f);
	f.fail_writes = true;
	assert_int_equal(input(s, "a NOOP\r\n"), IMAP_STATUS_CLOSE);
	assert_int_equal(input(s, "b NOOP\r\n"), IMAP_STATUS_CLOSE);
	imap_session_free(&s);
	buf_free(&f.out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(session_cases_whole_bytewise_and_split),
		cmocka_unit_test(greeting_lists_capabilities),
		cmocka_unit_test(literal_continuation_only_after_accepting),
		cmocka_unit_test(login_stores_user_and_maildir),
		cmocka_unit_test(login_password_wiped_from_buffers),
		cmocka_unit_test(earlier_answers_written_before_auth_hook),
		cmocka_unit_test(starttls_discards_pipelined_bytes),
		cmocka_unit_test(starttls_discards_partial_command),
		cmocka_unit_test(thousands_of_pipelined_commands_bounded),
		cmocka_unit_test(timeout_and_shutdown_say_bye),
		cmocka_unit_test(write_failure_closes),
	};

	int ret;

	log_set_level(LOG_LEVEL_ERROR); /* keep the test output readable */
	maildir_root = tl_tmpdir();
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	tl_rmrf(&maildir_root);
	return ret;
}
