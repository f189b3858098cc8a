/* The public interface of server/: the configuration reader, the
 * Dovecot-compatible passwd file, authentication and privilege drop, the
 * session loop and the listener. Only server/main.c and the unit tests
 * include it; TLS lives behind server/tls.h and is reached only through
 * transport.c.
 *
 * Convention: int functions return 0 on success and -1 on failure unless
 * stated; a failure text is written to err (errlen bytes, always
 * NUL-terminated) as "FILE:LINE: reason" where a file line is known.
 */
#ifndef SERVER_SERVER_H
#define SERVER_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "lib/log.h"

/* ---- addr.c: listen addresses and peers ---- */

/* One socket address to bind or a peer's address. */
struct server_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Parse a listen address "A.B.C.D:PORT", "[IPv6]:PORT" or "*:PORT"
 * (port 1..65535; no host names, so no DNS at start-up). "*" yields two
 * addresses, 0.0.0.0 and [::], the others one. Returns the count written
 * to addrs_r (1 or 2), or -1 with a static reason in *why_r. */
int server_addr_parse(const char *spec, struct server_addr addrs_r[2],
		      const char **why_r);
/* Format sa for log lines: "192.0.2.1:143", "[2001:db8::1]:143", "local"
 * for AF_UNIX. IPv4-mapped IPv6 addresses are shown as IPv4. */
void server_addr_format(const struct sockaddr *sa, socklen_t len, char *out,
			size_t outlen);
/* True for a loopback peer (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104) and
 * for AF_UNIX: connections where a password cannot be sniffed. */
bool server_addr_is_local(const struct sockaddr *sa, socklen_t len);
/* Describe the peer of fd into out and say whether it is local: a socket's
 * peer address, or "pipe" (local) when fd is not a socket. */
void server_peer_of_fd(int fd, char *out, size_t outlen, bool *is_local_r);

/* ---- config.c ---- */

struct server_listen {
	char *spec;    /* as written, for messages */
	unsigned line; /* config line, 0 for the built-in default */
	bool is_tls;   /* listen_tls: implicit TLS (RFC 8314) */
	struct server_addr addrs[2];
	int n_addrs;
};

struct server_config {
	char *path; /* the file read, for messages */
	struct server_listen *listens;
	size_t n_listens;
	char *tls_cert; /* NULL when TLS is not configured */
	char *tls_key;
	char *tls_priority; /* NULL: tls.c's secure default */
	unsigned tls_cert_line;
	char *passwd_file;
	unsigned passwd_file_line;
	char *maildir; /* template, checked at load */
	bool has_default_uid;
	uid_t default_uid;
	bool has_default_gid;
	gid_t default_gid;
	/* The user of login processes (session.c), when set. */
	bool has_login_user;
	uid_t login_uid;
	gid_t login_gid;
	char *default_home; /* NULL when unset; a template like maildir */
	bool plaintext_auth;
	unsigned max_connections;        /* 0: no limit */
	unsigned max_connections_per_ip; /* 0: no limit */
	size_t max_line_length;
	uint64_t max_literal_size;
	unsigned idle_timeout;  /* seconds */
	unsigned login_timeout; /* seconds */
	/* IDLE: seconds between "* OK Still here"; mailbox_watch = poll
	 * (never inotify); seconds between checks without inotify. */
	unsigned idle_keepalive;
	bool mailbox_watch_poll;
	unsigned mailbox_poll_interval;
	enum log_level log_level;
	unsigned max_auth_failures;
	unsigned auth_failure_delay; /* seconds; 0 disables the delay */
};

#define SERVER_DEFAULT_LISTEN "*:143"
#define SERVER_DEFAULT_MAILDIR "%h/Maildir"
#define SERVER_DEFAULT_PASSWD_FILE SYSCONFDIR "/imapmoved.passwd"
#define SERVER_DEFAULT_MAX_CONNECTIONS 1000
#define SERVER_DEFAULT_MAX_CONNECTIONS_PER_IP 20
#define SERVER_DEFAULT_IDLE_TIMEOUT (30 * 60)
#define SERVER_DEFAULT_LOGIN_TIMEOUT 60
/* Dovecot's imap_idle_notify_interval and mailbox_idle_check_interval. */
#define SERVER_DEFAULT_IDLE_KEEPALIVE (2 * 60)
#define SERVER_DEFAULT_MAILBOX_POLL_INTERVAL 30
#define SERVER_DEFAULT_MAX_AUTH_FAILURES 3
#define SERVER_DEFAULT_AUTH_FAILURE_DELAY 2
/* The largest file config_load() and passwd_load() read. */
#define SERVER_MAX_FILE_SIZE ((size_t)4 * 1024 * 1024)

/* Fill *c with the defaults (no listen address yet; config_parse() adds
 * SERVER_DEFAULT_LISTEN when the file names none). Free with
 * config_free(). */
void config_init(struct server_config *c);
/* Parse len bytes of text named name (used in messages and to resolve
 * relative paths against its directory) into *c, which config_parse()
 * initialises. On -1 *c is freed (zeroed) and err holds
 * "NAME:LINE: reason". */
int config_parse(const char *name, const char *text, size_t len,
		 struct server_config *c, char *err, size_t errlen);
/* Read and parse the file at path. */
int config_load(const char *path, struct server_config *c, char *err,
		size_t errlen);
/* The name of the i-th config key, or NULL past the last (for the check
 * that imapmoved.conf.example documents every key). */
const char *config_key_name(size_t i);
/* Free the strings and arrays; *c is left zeroed (config_free() again is
 * harmless). */
void config_free(struct server_config *c);

/* ---- mailpath.c: the maildir template ---- */

/* Expand tmpl: %u user, %n its local part (before the first '@'), %d its
 * domain (after it, "" without one), %h home, %% a percent sign. The
 * values put in for %u, %n and %d must not contain '/' nor be "." or
 * "..", a path component they are part of must not end up empty, "." or
 * "..", %h needs a non-empty home, and the result must be an absolute
 * path. Returns 0 and a malloc'd *path_r (caller frees), or -1 with a
 * static reason in *why_r. home may be NULL. */
int mailpath_expand(const char *tmpl, const char *user, const char *home,
		    char **path_r, const char **why_r);
/* Check that tmpl uses only the escapes above. Returns 0 or -1 with a
 * static reason in *why_r. */
int mailpath_check(const char *tmpl, const char **why_r);

/* ---- passwd.c: user:password:uid:gid:gecos:home:shell:extra ---- */

enum passwd_scheme {
	PASSWD_SCHEME_CRYPT, /* crypt(3): $6$, $5$, $y$, $2b$, ... */
	PASSWD_SCHEME_PLAIN, /* {PLAIN} or {CLEARTEXT} */
};

struct passwd_entry {
	char *user;
	enum passwd_scheme scheme;
	char *secret; /* the hash or plain text, without "{SCHEME}" */
	bool has_uid;
	uid_t uid;
	bool has_gid;
	gid_t gid;
	char *home; /* NULL when the field is empty */
	unsigned line;
};

struct passwd_file {
	struct passwd_entry *entries;
	size_t n_entries;
};

/* Parse text named name. Returns 0 and *pf_r (free with passwd_free), or
 * -1 with "NAME:LINE: reason" in err. */
int passwd_parse(const char *name, const char *text, size_t len,
		 struct passwd_file **pf_r, char *err, size_t errlen);
int passwd_load(const char *path, struct passwd_file **pf_r, char *err,
		size_t errlen);
/* The reason entry e can never log in although its line parses ("uid 0
 * is not allowed": mail is never served as root), or NULL when it can.
 * Login refuses such an entry like a wrong password; -t reports it. */
const char *passwd_entry_problem(const struct passwd_entry *e);
/* -t's check of every entry: 0, or -1 with "NAME:LINE: reason" in err
 * for the first entry passwd_entry_problem() refuses. */
int passwd_check(const struct passwd_file *pf, const char *name, char *err,
		 size_t errlen);
/* Free; accepts NULL, sets *pfp to NULL. Wipes the secrets. */
void passwd_free(struct passwd_file **pfp);
/* The entry for user (exact match), or NULL. Owned by pf. */
const struct passwd_entry *passwd_lookup(const struct passwd_file *pf,
					 const char *user);
/* Check pass against e in constant time for its length. Returns 1 on a
 * match, 0 on a mismatch, -1 when crypt(3) cannot handle the hash. */
int passwd_verify(const struct passwd_entry *e, const char *pass);
/* Do the same work as passwd_verify() would for a user that does not
 * exist (crypt(3) over the first crypt hash in pf, or a fixed SHA-512
 * one), so an unknown user costs the same time as a wrong password. */
void passwd_verify_dummy(const struct passwd_file *pf, const char *pass);

/* ---- privdrop.c ---- */

/* When running as root: setgroups(1, &gid), setgid, setuid, then check
 * that the drop held (real and effective ids, setuid(0) fails). uid 0 is
 * refused. When not root: nothing changes and 0 is returned. Returns 0,
 * or -1 (logged); the caller must then end the session. */
int privdrop(uid_t uid, gid_t gid);

/* ---- auth.c: the authenticate hook's logic ---- */

enum auth_outcome {
	AUTH_OUTCOME_OK,
	AUTH_OUTCOME_FAIL,     /* unknown user or wrong password */
	AUTH_OUTCOME_TEMPFAIL, /* our trouble: passwd file, template */
	AUTH_OUTCOME_FATAL,    /* privileges half dropped: end the session */
};

/* Sleeps the failure delay of secs seconds (0: none), cut short when
 * *stop is set (stop may be NULL). */
typedef void auth_delay_fn(unsigned secs, volatile sig_atomic_t *stop);

struct auth_state {
	const struct server_config *cfg;
	unsigned failures;
	/* When set (SIGTERM), a failure delay is cut short. */
	volatile sig_atomic_t *stop;
	/* NULL: sleep for real. Tests record the delays instead. */
	auth_delay_fn *delay;
};

/* Check user/pass against the passwd file, and on success drop privileges
 * to the user and expand the maildir template. On AUTH_OUTCOME_OK sets a
 * malloc'd *maildir_r and *user_r (caller frees). A failure sleeps the
 * growing failure delay before returning. Logs one line either way, never
 * the password. */
enum auth_outcome auth_login(struct auth_state *st, const char *authzid,
			     const char *user, const char *pass,
			     char **maildir_r, char **user_r);
/* The delay after the n-th failure (n >= 1): base, 2 base, 4 base, ...,
 * at most AUTH_MAX_DELAY seconds. */
unsigned auth_failure_delay(unsigned base, unsigned n);
/* Could e, once its password matched, be served? 0, or -1 with why a
 * login would fail ("no uid and default_uid is unset", "maildir: the
 * expanded path is not absolute", ...) in why. For -t. */
int auth_check_user(const struct server_config *cfg,
		    const struct passwd_entry *e, char *why, size_t len);
#define AUTH_MAX_DELAY 30

/* ---- transport.c: plain or TLS bytes (the only caller of tls.h) ---- */

struct tls_ctx;
struct tls_conn;

struct transport {
	int fd_in;
	int fd_out;
	struct tls_conn *tls;
	uint64_t bytes_in; /* application bytes, after TLS */
	uint64_t bytes_out;
};

void transport_init(struct transport *t, int fd_in, int fd_out);
/* As read(2): the count, 0 at end of stream, -1 on error. */
ssize_t transport_read(struct transport *t, void *p, size_t n);
/* Write all n bytes. Returns 0 or -1. */
int transport_write(struct transport *t, const void *p, size_t n);
/* True when TLS holds decrypted bytes not yet read. */
bool transport_pending(const struct transport *t);
/* Start TLS as the server on the transport's fds. Returns 0, or -1 with
 * the reason in err. */
int transport_start_tls(struct transport *t, struct tls_ctx *ctx,
			unsigned timeout_secs, char *err, size_t errlen);
/* Bound each TLS write wait (see tls_conn_set_write_timeout); plain
 * connections use SO_SNDTIMEO instead. */
void transport_set_write_timeout(struct transport *t, unsigned secs);
/* Why the last transport_read() or transport_write() failed: the TLS
 * error, or strerror(saved_errno) when plain. */
const char *transport_error(const struct transport *t, int saved_errno);
/* Protocol and cipher, or NULL when plain. */
const char *transport_tls_describe(const struct transport *t);
/* End TLS (close_notify) if started; the fds stay open. */
void transport_finish(struct transport *t);
/* Load the TLS credentials named by cfg (tls_cert, tls_key,
 * tls_priority). Returns 0 with *ctx_r set (NULL when cfg has no
 * tls_cert), or -1 with "FILE:LINE: reason" in err. */
int transport_tls_load(const struct server_config *cfg, struct tls_ctx **ctx_r,
		       char *err, size_t errlen);
void transport_tls_free(struct tls_ctx **ctxp);
/* Undo the library set-up done by the first transport_tls_load(). */
void transport_tls_deinit(void);

/* ---- session.c ---- */

struct session_params {
	const struct server_config *cfg;
	int fd_in;
	int fd_out;
	struct tls_ctx *tls; /* NULL when TLS is not configured */
	bool implicit_tls;   /* handshake before the greeting */
	const char *session_id;
	const char *peer; /* for log lines */
	bool is_local;    /* loopback or pipe */
};

/* Serve one connection until it ends. Installs its own SIGTERM handler
 * (the shutdown BYE). Returns the process exit status (0, or 1 after an
 * internal error). Closes nothing the caller passed in. */
int session_run(const struct session_params *p);

/* ---- limits.c: the listener's table of children ---- */

struct conn_table;

struct conn_table *conn_table_new(void);
void conn_table_free(struct conn_table **tp);
/* Record a child serving peer sa. */
void conn_table_add(struct conn_table *t, pid_t pid, const struct sockaddr *sa,
		    socklen_t len);
/* Forget pid. Returns true when it was known. */
bool conn_table_remove(struct conn_table *t, pid_t pid);
size_t conn_table_count(const struct conn_table *t);
/* Children serving the same IP address as sa (port ignored; IPv4-mapped
 * IPv6 counts as IPv4). */
size_t conn_table_count_ip(const struct conn_table *t,
			   const struct sockaddr *sa, socklen_t len);
/* Send sig to every child. */
void conn_table_kill(const struct conn_table *t, int sig);
/* Reap the children in t as they end (waitpid(pid, WNOHANG), checked
 * every 50 ms) for at most ms milliseconds; a child that is gone or no
 * child of ours leaves the table. Never blocks longer than ms. Logs each
 * child still running at the end and returns how many there are. */
size_t conn_table_wait(struct conn_table *t, unsigned ms);

/* ---- listen.c ---- */

struct listen_opts {
	const char *config_path; /* re-read on SIGHUP */
	bool foreground;         /* -f: no daemon, log to stderr */
};

/* Run the standalone server with cfg (which it takes over and frees):
 * bind the listen addresses (or take systemd's LISTEN_FDS), daemonise
 * unless foreground, accept and fork until SIGTERM. Returns the exit
 * status. */
int listen_run(struct server_config *cfg, const struct listen_opts *o);

#endif
