/* The public interface of protocol/: one IMAP session as a byte machine.
 *
 * server/ pushes the bytes it reads from the client (after TLS) into
 * imap_session_input(); protocol/ frames them (CRLF, literals, limits),
 * parses, runs commands and writes every response through the write hook.
 * protocol/ never touches a socket or a file: credentials are checked by
 * the auth hook, which server/ implements (passwd file, crypt(3), failure
 * delay, privilege drop), and mail is reached only through maildir/.
 *
 * RFC 3501 (IMAP4rev1), RFC 7888 (LITERAL+), RFC 4959 (SASL-IR),
 * RFC 2971 (ID), RFC 2595 (STARTTLS), RFC 2177 (IDLE).
 */
#ifndef PROTOCOL_IMAP_H
#define PROTOCOL_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits applied by the framer and parser before anything is allocated. */
struct imap_limits {
	size_t max_line_length;    /* one command line, default 64 KiB */
	uint64_t max_literal_size; /* an APPEND literal, default 64 MiB */
	size_t max_small_literal;  /* any other literal, default 64 KiB */
	unsigned max_nesting;      /* parenthesis depth, default 32 */
	unsigned max_bad_commands; /* BADs in a row before BYE, default 20 */
};

#define IMAP_DEFAULT_MAX_LINE_LENGTH ((size_t)64 * 1024)
#define IMAP_DEFAULT_MAX_LITERAL_SIZE (64ull * 1024 * 1024)
#define IMAP_DEFAULT_MAX_SMALL_LITERAL ((size_t)64 * 1024)
#define IMAP_DEFAULT_MAX_NESTING 32
#define IMAP_DEFAULT_MAX_BAD_COMMANDS 20

/* Fill *l with the defaults above. */
void imap_limits_default(struct imap_limits *l);

enum imap_auth_result {
	IMAP_AUTH_OK,       /* logged in; *maildir_r is set */
	IMAP_AUTH_FAIL,     /* wrong user or password (same answer) */
	IMAP_AUTH_TEMPFAIL, /* server-side trouble: NO [UNAVAILABLE] */
};

/* What server/ provides. ctx is passed back unchanged. */
struct imap_hooks {
	/* Send bytes to the client (server/ may buffer them until
	 * imap_session_input() returns). Returns 0, or -1 when the
	 * connection is lost; protocol/ then stops writing and
	 * imap_session_input() returns IMAP_STATUS_CLOSE. */
	int (*write)(void *ctx, const void *data, size_t len);
	/* Check credentials. user and pass are NUL-free (protocol/ refuses
	 * NUL bytes with BAD before calling). authzid is NULL or the SASL
	 * authorization identity. On IMAP_AUTH_OK the hook has already
	 * dropped privileges to the mail user, and sets *maildir_r to a
	 * malloc'd path of the user's Maildir root (protocol/ frees it) and
	 * *user_r to a malloc'd canonical user name. The hook applies the
	 * failure delay itself; protocol/ counts failures and closes the
	 * session after max_auth_failures. */
	enum imap_auth_result (*authenticate)(void *ctx, const char *authzid,
					      const char *user,
					      const char *pass,
					      char **maildir_r, char **user_r);
};

/* Per-connection facts and settings from server/. */
struct imap_config {
	struct imap_limits limits;
	/* Allow LOGIN / AUTHENTICATE on a connection that is not secure. */
	bool plaintext_auth;
	/* The connection is TLS, a loopback address or a local pipe:
	 * passwords may be sent. */
	bool is_secure;
	/* STARTTLS may be offered (plain connection, TLS configured). */
	bool starttls_available;
	/* Failed authentications before * BYE, default 3. */
	unsigned max_auth_failures;
	/* Seconds before autologout: not authenticated / authenticated. */
	unsigned login_timeout;
	unsigned idle_timeout;
	/* Identifier put in log lines and in [SERVERBUG] texts. */
	const char *session_id;
	/* Never watch the selected mailbox with inotify: an IDLE checks it
	 * every poll_interval seconds instead (mailbox_watch = poll). */
	bool watch_poll;
	/* Seconds between checks of an IDLE without inotify, default 30. */
	unsigned poll_interval;
	/* A login process (server/ separates privileges): a successful
	 * LOGIN or AUTHENTICATE answers OK without opening the store and
	 * returns IMAP_STATUS_HANDOFF; the authenticated session continues
	 * in another process (imap_session_new_authenticated()). */
	bool handoff_after_login;
};

/* Fill *c with defaults: limits default, plaintext_auth false, is_secure
 * false, starttls_available false, max_auth_failures 3, login_timeout 60,
 * idle_timeout 1800, session_id "", watch_poll false, poll_interval 30. */
void imap_config_default(struct imap_config *c);

/* What server/ must do after imap_session_input() returns. */
enum imap_status {
	IMAP_STATUS_CONTINUE, /* flush output, keep reading */
	IMAP_STATUS_STARTTLS, /* flush, then handshake; later input is TLS */
	IMAP_STATUS_CLOSE,    /* flush, then close the connection */
	/* flush, then hand the connection to the authenticated session
	 * (handoff_after_login): imap_session_user(), imap_session_maildir()
	 * and imap_session_handoff_input() say who and what follows. */
	IMAP_STATUS_HANDOFF,
};

struct imap_session;

/* Create a session and write the greeting
 * ("* OK [CAPABILITY ...] imapmoved ready."). cfg is copied (session_id
 * too); hooks must stay valid for the session's life. Never NULL. */
struct imap_session *imap_session_new(const struct imap_config *cfg,
				      const struct imap_hooks *hooks,
				      void *ctx);
/* A session already authenticated as user (another process answered the
 * login, see handoff_after_login): no greeting; the store at maildir is
 * opened. NULL when it cannot be (logged). */
struct imap_session *
imap_session_new_authenticated(const struct imap_config *cfg,
			       const struct imap_hooks *hooks, void *ctx,
			       const char *maildir, const char *user);
/* After IMAP_STATUS_HANDOFF: the Maildir the login found, and the client
 * bytes that followed the login command (pipelined commands), valid until
 * the session is freed. */
const char *imap_session_maildir(const struct imap_session *s);
void imap_session_handoff_input(const struct imap_session *s,
				const void **data_r, size_t *len_r);
/* Free everything; accepts NULL, sets *sp to NULL. */
void imap_session_free(struct imap_session **sp);

/* Feed len bytes read from the client. All bytes are consumed (buffered
 * internally as needed, within the limits). After IMAP_STATUS_STARTTLS any
 * bytes that followed the STARTTLS line have been discarded. */
enum imap_status imap_session_input(struct imap_session *s, const void *data,
				    size_t len);

/* server/ calls this when TLS is established after IMAP_STATUS_STARTTLS
 * (and for implicit TLS before imap_session_new, via cfg->is_secure). It
 * marks the connection secure and stops offering STARTTLS. */
void imap_session_tls_started(struct imap_session *s);

/* Seconds the session may stay silent in its current state before
 * autologout (login_timeout before authentication, idle_timeout after). */
unsigned imap_session_timeout(const struct imap_session *s);
/* The timeout passed: write "* BYE ..." and return IMAP_STATUS_CLOSE. */
enum imap_status imap_session_timeout_expired(struct imap_session *s);
/* The server is shutting down (SIGTERM): write "* BYE ..." and return
 * IMAP_STATUS_CLOSE. */
enum imap_status imap_session_shutdown(struct imap_session *s);

/* Change notification and IDLE (RFC 2177). server/ polls the client and
 * imap_session_watch_fd() together; RFC 3501 allows untagged updates only
 * around commands, so outside IDLE a change is only noted and the next
 * command reports it (every command brings the view up to date). */

/* The descriptor that becomes readable when the selected mailbox changes
 * (an inotify descriptor owned by the session), or -1: nothing selected,
 * no IDLE yet in this selection, or no inotify (then see
 * imap_session_poll_interval()). It changes with the selection: ask again
 * after every imap_session_input(). */
int imap_session_watch_fd(struct imap_session *s);
/* While idling with a mailbox selected but no watch descriptor, the
 * seconds between calls to imap_session_changed() server/ must make;
 * 0 otherwise. */
unsigned imap_session_poll_interval(const struct imap_session *s);
/* The watch descriptor is readable, or the poll interval passed: read
 * the pending events and, while idling, write the untagged EXPUNGE,
 * EXISTS, RECENT and FETCH (FLAGS) updates. Returns CONTINUE (flush the
 * output) or CLOSE (the mailbox was deleted or the client is gone: a
 * BYE was written). server/ may wait a few milliseconds after the
 * descriptor became readable before calling, so that a burst of
 * deliveries is reported in one go. */
enum imap_status imap_session_changed(struct imap_session *s);
/* True between an IDLE command and its DONE. */
bool imap_session_is_idling(const struct imap_session *s);
/* While idling, write "* OK Still here" (so that NAT boxes see traffic);
 * otherwise write nothing. Returns CONTINUE, or CLOSE when the client
 * is gone. */
enum imap_status imap_session_keepalive(struct imap_session *s);

/* True once LOGIN or AUTHENTICATE succeeded. */
bool imap_session_is_authenticated(const struct imap_session *s);
/* The logged-in user, or NULL. Owned by the session. */
const char *imap_session_user(const struct imap_session *s);

#endif
