/* The configuration file: "key = value" lines, '#' comments, every key in
 * one table with its parser. Anything unknown or malformed is an error
 * naming FILE:LINE, so a typo never silently falls back to a default.
 * Reads only the one file; checking that the files it names exist is
 * main.c's -t.
 */
#include "server.h"

#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/io.h"
#include "lib/mem.h"
#include "lib/num.h"

/* What a key's parser sees besides the value. */
struct cfg_parse {
	struct server_config *c;
	const char *dir; /* directory of the config file, for relative paths */
	unsigned line;
};

typedef int (*cfg_setter)(struct cfg_parse *p, const char *value,
			  const char **why_r);

struct cfg_key {
	const char *name;
	cfg_setter set;
	bool is_repeatable;
};

/* A path as written, or made absolute against the config's directory so
 * a daemon that has left its start directory still finds it. */
static char *
resolve_path(const struct cfg_parse *p, const char *value)
{
	struct buf b;
	char *r;

	if (value[0] == '/' || p->dir == NULL)
		return xstrdup(value);
	buf_init(&b, 0);
	(void)buf_printf(&b, "%s/%s", p->dir, value); /* no max: cannot fail */
	r = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return r;
}

static void
replace_str(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}

static int
set_listen_common(struct cfg_parse *p, const char *value, bool is_tls,
		  const char **why_r)
{
	struct server_config *c = p->c;
	struct server_listen *l;
	struct server_addr addrs[2];
	int n;

	n = server_addr_parse(value, addrs, why_r);
	if (n < 0)
		return -1;
	c->listens = xreallocarray(c->listens, c->n_listens + 1,
				   sizeof(*c->listens));
	l = &c->listens[c->n_listens++];
	memset(l, 0, sizeof(*l));
	l->spec = xstrdup(value);
	l->line = p->line;
	l->is_tls = is_tls;
	l->n_addrs = n;
	memcpy(l->addrs, addrs, sizeof(addrs));
	return 0;
}

static int
set_listen(struct cfg_parse *p, const char *value, const char **why_r)
{
	return set_listen_common(p, value, false, why_r);
}

static int
set_listen_tls(struct cfg_parse *p, const char *value, const char **why_r)
{
	return set_listen_common(p, value, true, why_r);
}

/* An optional path: empty means unset. */
static int
set_opt_path(struct cfg_parse *p, char **dst, const char *value)
{
	replace_str(dst, value[0] != '\0' ? resolve_path(p, value) : NULL);
	return 0;
}

static int
set_tls_cert(struct cfg_parse *p, const char *value, const char **why_r)
{
	(void)why_r;
	p->c->tls_cert_line = p->line;
	return set_opt_path(p, &p->c->tls_cert, value);
}

static int
set_tls_key(struct cfg_parse *p, const char *value, const char **why_r)
{
	(void)why_r;
	return set_opt_path(p, &p->c->tls_key, value);
}

static int
set_tls_priority(struct cfg_parse *p, const char *value, const char **why_r)
{
	(void)why_r;
	replace_str(&p->c->tls_priority,
		    value[0] != '\0' ? xstrdup(value) : NULL);
	return 0;
}

static int
set_passwd_file(struct cfg_parse *p, const char *value, const char **why_r)
{
	if (value[0] == '\0') {
		*why_r = "a passwd file is required";
		return -1;
	}
	p->c->passwd_file_line = p->line;
	replace_str(&p->c->passwd_file, resolve_path(p, value));
	return 0;
}

static int
set_maildir(struct cfg_parse *p, const char *value, const char **why_r)
{
	if (value[0] == '\0') {
		*why_r = "a maildir template is required";
		return -1;
	}
	if (mailpath_check(value, why_r) < 0)
		return -1;
	if (value[0] != '/' && value[0] != '%') {
		*why_r = "the template must give an absolute path";
		return -1;
	}
	replace_str(&p->c->maildir, xstrdup(value));
	return 0;
}

/* Whether a checked template has a %h escape (not "%%h"). */
static bool
uses_home(const char *tmpl)
{
	const char *p;

	for (p = tmpl; *p != '\0'; p++) {
		if (*p == '%' && *++p == 'h')
			return true;
	}
	return false;
}

static int
set_default_home(struct cfg_parse *p, const char *value, const char **why_r)
{
	if (value[0] == '\0') {
		replace_str(&p->c->default_home, NULL);
		return 0;
	}
	if (mailpath_check(value, why_r) < 0)
		return -1;
	if (value[0] != '/') {
		*why_r = "default_home must be an absolute path";
		return -1;
	}
	if (uses_home(value)) {
		*why_r = "default_home cannot use %h";
		return -1;
	}
	replace_str(&p->c->default_home, xstrdup(value));
	return 0;
}

/* A user or group id: a number or a name from the system databases.
 * 0 is refused: mail is never served as root. */
static int
parse_id(const char *value, bool is_group, uint64_t *id_r, const char **why_r)
{
	const struct passwd *pw;
	const struct group *gr;

	if (num_parse_str_u64(value, UINT32_MAX - 1, id_r) < 0) {
		if (is_group) {
			gr = getgrnam(value);
			*id_r = gr != NULL ? gr->gr_gid : 0;
			*why_r = gr != NULL ? NULL : "no such group";
		} else {
			pw = getpwnam(value);
			*id_r = pw != NULL ? pw->pw_uid : 0;
			*why_r = pw != NULL ? NULL : "no such user";
		}
		if (*why_r != NULL)
			return -1;
	}
	if (*id_r == 0) {
		*why_r = "mail is never served as root (id 0)";
		return -1;
	}
	return 0;
}

static int
set_default_uid(struct cfg_parse *p, const char *value, const char **why_r)
{
	uint64_t id;

	p->c->has_default_uid = false;
	if (value[0] == '\0')
		return 0;
	if (parse_id(value, false, &id, why_r) < 0)
		return -1;
	p->c->has_default_uid = true;
	p->c->default_uid = (uid_t)id;
	return 0;
}

/* login_user: a name (its uid and primary gid) or a number (gid the
 * same number, or that uid's group when the database knows it). */
static int
set_login_user(struct cfg_parse *p, const char *value, const char **why_r)
{
	const struct passwd *pw;
	uint64_t id;

	p->c->has_login_user = false;
	if (value[0] == '\0')
		return 0;
	if (parse_id(value, false, &id, why_r) < 0)
		return -1;
	pw = getpwuid((uid_t)id);
	p->c->has_login_user = true;
	p->c->login_uid = (uid_t)id;
	p->c->login_gid = pw != NULL ? pw->pw_gid : (gid_t)id;
	if (p->c->login_gid == 0) {
		*why_r = "its group is root's (gid 0)";
		return -1;
	}
	return 0;
}

static int
set_default_gid(struct cfg_parse *p, const char *value, const char **why_r)
{
	uint64_t id;

	p->c->has_default_gid = false;
	if (value[0] == '\0')
		return 0;
	if (parse_id(value, true, &id, why_r) < 0)
		return -1;
	p->c->has_default_gid = true;
	p->c->default_gid = (gid_t)id;
	return 0;
}

static int
set_plaintext_auth(struct cfg_parse *p, const char *value, const char **why_r)
{
	if (strcmp(value, "yes") == 0) {
		p->c->plaintext_auth = true;
	} else if (strcmp(value, "no") == 0) {
		p->c->plaintext_auth = false;
	} else {
		*why_r = "expected yes or no";
		return -1;
	}
	return 0;
}

/* A plain count within [min, max]. */
static int
parse_count(const char *value, uint64_t min, uint64_t max, unsigned *n_r,
	    const char **why_r)
{
	uint64_t n;

	if (num_parse_str_u64(value, UINT32_MAX, &n) < 0) {
		*why_r = "expected a whole number";
		return -1;
	}
	if (n < min || n > max) {
		*why_r = "number out of range";
		return -1;
	}
	*n_r = (unsigned)n;
	return 0;
}

static int
set_max_connections(struct cfg_parse *p, const char *value, const char **why_r)
{
	return parse_count(value, 0, 1000000, &p->c->max_connections, why_r);
}

static int
set_max_connections_per_ip(struct cfg_parse *p, const char *value,
			   const char **why_r)
{
	return parse_count(value, 0, 1000000, &p->c->max_connections_per_ip,
			   why_r);
}

static int
set_max_auth_failures(struct cfg_parse *p, const char *value,
		      const char **why_r)
{
	return parse_count(value, 1, 100, &p->c->max_auth_failures, why_r);
}

static int
parse_size(const char *value, uint64_t min, uint64_t max, uint64_t *n_r,
	   const char **why_r)
{
	if (num_parse_size(value, n_r) < 0) {
		*why_r = "expected a size such as 65536, 64K, 64M or 1G";
		return -1;
	}
	if (*n_r < min || *n_r > max) {
		*why_r = "size out of range";
		return -1;
	}
	return 0;
}

static int
set_max_line_length(struct cfg_parse *p, const char *value, const char **why_r)
{
	uint64_t n;

	/* 128 bytes still hold any pre-login command a client needs. */
	if (parse_size(value, 128, 64ull * 1024 * 1024, &n, why_r) < 0)
		return -1;
	p->c->max_line_length = (size_t)n;
	return 0;
}

static int
set_max_literal_size(struct cfg_parse *p, const char *value, const char **why_r)
{
	return parse_size(value, 1, UINT32_MAX, &p->c->max_literal_size, why_r);
}

static int
parse_duration(const char *value, uint64_t min, uint64_t max, unsigned *n_r,
	       const char **why_r)
{
	uint64_t n;

	if (num_parse_duration(value, &n) < 0) {
		*why_r = "expected a duration such as 90, 90s, 30m or 1h";
		return -1;
	}
	if (n < min || n > max) {
		*why_r = "duration out of range";
		return -1;
	}
	*n_r = (unsigned)n;
	return 0;
}

static int
set_idle_timeout(struct cfg_parse *p, const char *value, const char **why_r)
{
	/* RFC 3501 section 5.4 asks for at least 30 minutes; shorter values
	 * are allowed (for tests) and documented as non-compliant. */
	return parse_duration(value, 1, 7ull * 24 * 3600, &p->c->idle_timeout,
			      why_r);
}

static int
set_login_timeout(struct cfg_parse *p, const char *value, const char **why_r)
{
	return parse_duration(value, 1, 3600, &p->c->login_timeout, why_r);
}

static int
set_idle_keepalive(struct cfg_parse *p, const char *value, const char **why_r)
{
	return parse_duration(value, 1, 3600, &p->c->idle_keepalive, why_r);
}

static int
set_mailbox_watch(struct cfg_parse *p, const char *value, const char **why_r)
{
	if (strcmp(value, "inotify") == 0) {
		p->c->mailbox_watch_poll = false;
	} else if (strcmp(value, "poll") == 0) {
		p->c->mailbox_watch_poll = true;
	} else {
		*why_r = "expected inotify or poll";
		return -1;
	}
	return 0;
}

static int
set_mailbox_poll_interval(struct cfg_parse *p, const char *value,
			  const char **why_r)
{
	return parse_duration(value, 1, 3600, &p->c->mailbox_poll_interval,
			      why_r);
}

static int
set_auth_failure_delay(struct cfg_parse *p, const char *value,
		       const char **why_r)
{
	return parse_duration(value, 0, AUTH_MAX_DELAY,
			      &p->c->auth_failure_delay, why_r);
}

static int
set_log_level(struct cfg_parse *p, const char *value, const char **why_r)
{
	if (log_level_parse(value, &p->c->log_level) < 0) {
		*why_r = "expected error, warn, info or debug";
		return -1;
	}
	return 0;
}

static const struct cfg_key cfg_keys[] = {
	{"listen", set_listen, true},
	{"listen_tls", set_listen_tls, true},
	{"tls_cert", set_tls_cert, false},
	{"tls_key", set_tls_key, false},
	{"tls_priority", set_tls_priority, false},
	{"passwd_file", set_passwd_file, false},
	{"maildir", set_maildir, false},
	{"default_uid", set_default_uid, false},
	{"default_gid", set_default_gid, false},
	{"default_home", set_default_home, false},
	{"login_user", set_login_user, false},
	{"plaintext_auth", set_plaintext_auth, false},
	{"max_connections", set_max_connections, false},
	{"max_connections_per_ip", set_max_connections_per_ip, false},
	{"max_line_length", set_max_line_length, false},
	{"max_literal_size", set_max_literal_size, false},
	{"idle_timeout", set_idle_timeout, false},
	{"login_timeout", set_login_timeout, false},
	{"idle_keepalive", set_idle_keepalive, false},
	{"mailbox_watch", set_mailbox_watch, false},
	{"mailbox_poll_interval", set_mailbox_poll_interval, false},
	{"log_level", set_log_level, false},
	{"max_auth_failures", set_max_auth_failures, false},
	{"auth_failure_delay", set_auth_failure_delay, false},
};
#define CFG_NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

const char *
config_key_name(size_t i)
{
	return i < CFG_NKEYS ? cfg_keys[i].name : NULL;
}

void
config_init(struct server_config *c)
{
	memset(c, 0, sizeof(*c));
	c->passwd_file = xstrdup(SERVER_DEFAULT_PASSWD_FILE);
	c->maildir = xstrdup(SERVER_DEFAULT_MAILDIR);
	c->max_connections = SERVER_DEFAULT_MAX_CONNECTIONS;
	c->max_connections_per_ip = SERVER_DEFAULT_MAX_CONNECTIONS_PER_IP;
	c->max_line_length = (size_t)64 * 1024;
	c->max_literal_size = 64ull * 1024 * 1024;
	c->idle_timeout = SERVER_DEFAULT_IDLE_TIMEOUT;
	c->login_timeout = SERVER_DEFAULT_LOGIN_TIMEOUT;
	c->idle_keepalive = SERVER_DEFAULT_IDLE_KEEPALIVE;
	c->mailbox_watch_poll = false;
	c->mailbox_poll_interval = SERVER_DEFAULT_MAILBOX_POLL_INTERVAL;
	c->log_level = LOG_LEVEL_INFO;
	c->max_auth_failures = SERVER_DEFAULT_MAX_AUTH_FAILURES;
	c->auth_failure_delay = SERVER_DEFAULT_AUTH_FAILURE_DELAY;
}

void
config_free(struct server_config *c)
{
	size_t i;

	for (i = 0; i < c->n_listens; i++)
		free(c->listens[i].spec);
	free(c->listens);
	free(c->path);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_priority);
	free(c->passwd_file);
	free(c->maildir);
	free(c->default_home);
	memset(c, 0, sizeof(*c));
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* A '#' at the start of a line or after a blank starts a comment, so a
 * value may contain '#' inside a word ("tls_priority = A#B" stays). */
static void
strip_comment(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

static const struct cfg_key *
find_key(const char *name, size_t *index_r)
{
	size_t i;

	for (i = 0; i < CFG_NKEYS; i++) {
		if (strcmp(cfg_keys[i].name, name) == 0) {
			*index_r = i;
			return &cfg_keys[i];
		}
	}
	return NULL;
}

/* One non-blank line. seen[] holds the line each key was last set on.
 * Returns 0 or -1 with the reason in err (without the FILE:LINE prefix). */
static int
parse_line(struct cfg_parse *p, char *line, unsigned *seen, char *err,
	   size_t errlen)
{
	const struct cfg_key *k;
	const char *why = NULL;
	char *eq, *key, *value;
	size_t idx;

	eq = strchr(line, '=');
	if (eq == NULL) {
		(void)snprintf(err, errlen, "expected 'key = value'");
		return -1;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	k = find_key(key, &idx);
	if (k == NULL) {
		(void)snprintf(err, errlen, "unknown key '%.64s'", key);
		return -1;
	}
	if (!k->is_repeatable && seen[idx] != 0) {
		(void)snprintf(err, errlen, "%s is already set on line %u",
			       k->name, seen[idx]);
		return -1;
	}
	seen[idx] = p->line;
	if (k->set(p, value, &why) < 0) {
		(void)snprintf(err, errlen, "%s: %s: '%.128s'", k->name, why,
			       value);
		return -1;
	}
	return 0;
}

/* Checks across keys, after the whole file is read. */
static int
check_whole(struct server_config *c, const unsigned *seen, char *err,
	    size_t errlen, unsigned *line_r)
{
	size_t i, key_idx = 0;

	for (i = 0; i < c->n_listens; i++) {
		if (c->listens[i].is_tls &&
		    (c->tls_cert == NULL || c->tls_key == NULL)) {
			*line_r = c->listens[i].line;
			(void)snprintf(err, errlen,
				       "listen_tls needs tls_cert and tls_key");
			return -1;
		}
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		(void)find_key(c->tls_cert != NULL ? "tls_cert" : "tls_key",
			       &key_idx);
		*line_r = seen[key_idx];
		(void)snprintf(err, errlen, "tls_cert and tls_key go together");
		return -1;
	}
	return 0;
}

/* No listen address in the file: the standard IMAP port on all
 * addresses. */
static void
add_default_listen(struct server_config *c)
{
	struct cfg_parse p = {c, NULL, 0};
	const char *why = NULL;
	int r;

	if (c->n_listens > 0)
		return;
	r = set_listen(&p, SERVER_DEFAULT_LISTEN, &why);
	assert(r == 0); /* a constant that parses */
	(void)r;
}

/* The directory part of name, malloc'd, or NULL when name has none. */
static char *
dir_of(const char *name)
{
	const char *slash = strrchr(name, '/');

	if (slash == NULL)
		return NULL;
	if (slash == name)
		return xstrdup("/");
	return xstrndup(name, (size_t)(slash - name));
}

int
config_parse(const char *name, const char *text, size_t len,
	     struct server_config *c, char *err, size_t errlen)
{
	unsigned seen[CFG_NKEYS] = {0};
	struct cfg_parse p = {c, NULL, 0};
	char reason[256];
	const char *s = text, *end = text + len, *nl;
	char *dir, *line;
	int r = 0;

	config_init(c);
	c->path = xstrdup(name);
	dir = dir_of(name);
	p.dir = dir;
	while (r == 0 && s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL)
			nl = end;
		p.line++;
		line = xstrndup(s, (size_t)(nl - s));
		if (strlen(line) != (size_t)(nl - s)) {
			(void)snprintf(reason, sizeof(reason), "NUL byte");
			r = -1;
		} else {
			strip_comment(line);
			if (*trim(line) != '\0')
				r = parse_line(&p, trim(line), seen, reason,
					       sizeof(reason));
		}
		free(line);
		s = nl + 1;
	}
	if (r == 0)
		r = check_whole(c, seen, reason, sizeof(reason), &p.line);
	free(dir);
	if (r < 0) {
		(void)snprintf(err, errlen, "%s:%u: %s", name, p.line, reason);
		config_free(c);
		return -1;
	}
	add_default_listen(c);
	return 0;
}

int
config_load(const char *path, struct server_config *c, char *err, size_t errlen)
{
	struct buf b;
	int r;

	buf_init(&b, SERVER_MAX_FILE_SIZE);
	if (io_read_file(path, &b) < 0) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		buf_free(&b);
		memset(c, 0, sizeof(*c));
		return -1;
	}
	r = config_parse(path, buf_cstr(&b), b.len, c, err, errlen);
	buf_free(&b);
	return r;
}
