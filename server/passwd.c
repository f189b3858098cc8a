/* The Dovecot-compatible passwd file, user:password:uid:gid:gecos:home:
 * shell:extra, and the password check with crypt(3) from libcrypt.
 * Schemes: {SHA512-CRYPT}, {SHA256-CRYPT}, {BLF-CRYPT}, {MD5-CRYPT},
 * {CRYPT}, a bare crypt string, {PLAIN} and {CLEARTEXT}. The parser is
 * strict (a bad line fails the whole file with FILE:LINE), and secrets are
 * wiped when freed. Never logs a password or a hash.
 */
#include "server.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/io.h"
#include "lib/mem.h"
#include "lib/num.h"

/* Used by passwd_verify_dummy() when the file holds no crypt hash: the
 * SHA-512 crypt of a string nobody types, at the default 5000 rounds. */
static const char dummy_hash[] =
	"$6$Yq2Xp0Lr7vNw3Kds$4IFNjBh2wyyjQmmDNxnCUq/6E0WHUQJDPTLWMBkp0XYK5nM."
	"YJNg.BR4aP4jikdS3FJ3M9.9Y7lJOJw8ZM/ZK/";

#define PASSWD_NFIELDS 8

struct scheme {
	const char *name;
	enum passwd_scheme scheme;
	const char *prefix; /* the crypt prefix the scheme implies, or "" */
};

static const struct scheme schemes[] = {
	{"SHA512-CRYPT", PASSWD_SCHEME_CRYPT, "$6$"},
	{"SHA256-CRYPT", PASSWD_SCHEME_CRYPT, "$5$"},
	{"BLF-CRYPT", PASSWD_SCHEME_CRYPT, "$2"},
	{"MD5-CRYPT", PASSWD_SCHEME_CRYPT, "$1$"},
	{"CRYPT", PASSWD_SCHEME_CRYPT, ""},
	{"PLAIN", PASSWD_SCHEME_PLAIN, ""},
	{"CLEARTEXT", PASSWD_SCHEME_PLAIN, ""},
};

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* password = "{" scheme "}" secret / crypt-string
 * Sets e->scheme and e->secret, or returns -1 with a reason. */
static int
parse_password(struct passwd_entry *e, const char *field, const char **why_r)
{
	const struct scheme *sc = NULL;
	const char *close, *secret = field;
	size_t i, nlen;

	if (field[0] == '{') {
		close = strchr(field, '}');
		if (close == NULL) {
			*why_r = "'{' without '}' in the password";
			return -1;
		}
		nlen = (size_t)(close - field - 1);
		for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
			if (strlen(schemes[i].name) == nlen &&
			    strncasecmp(schemes[i].name, field + 1, nlen) == 0)
				sc = &schemes[i];
		}
		if (sc == NULL) {
			*why_r = "unsupported password scheme";
			return -1;
		}
		secret = close + 1;
	}
	if (secret[0] == '\0') {
		*why_r = "empty password";
		return -1;
	}
	e->scheme = sc != NULL ? sc->scheme : PASSWD_SCHEME_CRYPT;
	if (e->scheme == PASSWD_SCHEME_CRYPT) {
		if (sc != NULL &&
		    strncmp(secret, sc->prefix, strlen(sc->prefix)) != 0) {
			*why_r = "the hash does not match its {SCHEME}";
			return -1;
		}
		if (crypt_checksalt(secret) != CRYPT_SALT_OK &&
		    crypt_checksalt(secret) != CRYPT_SALT_METHOD_LEGACY) {
			*why_r = "not a crypt(3) hash this libcrypt supports";
			return -1;
		}
	}
	e->secret = xstrdup(secret);
	return 0;
}

/* uid and gid: empty (use the config default) or a number. */
static int
parse_id_field(const char *field, bool *has_r, uint32_t *id_r,
	       const char **why_r)
{
	uint64_t n;

	*has_r = false;
	if (field[0] == '\0')
		return 0;
	if (num_parse_str_u64(field, UINT32_MAX - 1, &n) < 0) {
		*why_r = "uid and gid must be numbers";
		return -1;
	}
	*has_r = true;
	*id_r = (uint32_t)n;
	return 0;
}

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

/* Split line at the first 7 colons (extra fields may hold colons).
 * Returns the number of fields. */
static size_t
split_fields(char *line, char *fields[PASSWD_NFIELDS])
{
	size_t n = 0;
	char *p = line, *colon;

	fields[n++] = p;
	while (n < PASSWD_NFIELDS && (colon = strchr(p, ':')) != NULL) {
		*colon = '\0';
		p = colon + 1;
		fields[n++] = p;
	}
	return n;
}

static int
parse_entry(char *line, struct passwd_entry *e, const char **why_r)
{
	char *f[PASSWD_NFIELDS];
	size_t n = split_fields(line, f);
	uint32_t id = 0;

	if (n < 2) {
		*why_r = "expected user:password[:uid:gid:gecos:home:...]";
		return -1;
	}
	if (f[0][0] == '\0' || has_control(f[0])) {
		*why_r = "empty user name or control character in it";
		return -1;
	}
	if (parse_password(e, f[1], why_r) < 0)
		return -1;
	e->user = xstrdup(f[0]);
	if (n > 2 && parse_id_field(f[2], &e->has_uid, &id, why_r) < 0)
		return -1;
	e->uid = (uid_t)id;
	id = 0;
	if (n > 3 && parse_id_field(f[3], &e->has_gid, &id, why_r) < 0)
		return -1;
	e->gid = (gid_t)id;
	if (n > 5 && f[5][0] != '\0') {
		if (f[5][0] != '/') {
			*why_r = "home must be an absolute path";
			return -1;
		}
		e->home = xstrdup(f[5]);
	}
	return 0;
}

static void
entry_free(struct passwd_entry *e)
{
	free(e->user);
	wipe_free(e->secret);
	free(e->home);
	memset(e, 0, sizeof(*e));
}

/* Append the entry on line (a writable copy); -1 with a reason. */
static int
add_line(struct passwd_file *pf, char *line, unsigned lineno, char *why,
	 size_t whylen)
{
	struct passwd_entry e;
	const struct passwd_entry *dup;
	const char *reason = NULL;

	memset(&e, 0, sizeof(e));
	if (parse_entry(line, &e, &reason) < 0) {
		(void)snprintf(why, whylen, "%s", reason);
		entry_free(&e);
		return -1;
	}
	dup = passwd_lookup(pf, e.user);
	if (dup != NULL) {
		(void)snprintf(why, whylen,
			       "user '%.64s' is already on line %u", e.user,
			       dup->line);
		entry_free(&e);
		return -1;
	}
	e.line = lineno;
	pf->entries = xreallocarray(pf->entries, pf->n_entries + 1,
				    sizeof(*pf->entries));
	pf->entries[pf->n_entries++] = e;
	return 0;
}

int
passwd_parse(const char *name, const char *text, size_t len,
	     struct passwd_file **pf_r, char *err, size_t errlen)
{
	struct passwd_file *pf = xcalloc(1, sizeof(*pf));
	const char *s = text, *end = text + len, *nl;
	char why[160], *line;
	unsigned lineno = 0;
	size_t llen;
	int r = 0;

	while (r == 0 && s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL)
			nl = end;
		llen = (size_t)(nl - s);
		if (llen > 0 && s[llen - 1] == '\r')
			llen--;
		lineno++;
		line = xstrndup(s, llen);
		if (strlen(line) != llen) {
			(void)snprintf(why, sizeof(why), "NUL byte");
			r = -1;
		} else if (line[0] != '\0' && line[0] != '#') {
			r = add_line(pf, line, lineno, why, sizeof(why));
		}
		wipe_free(line);
		s = nl + 1;
	}
	if (r < 0) {
		(void)snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
		passwd_free(&pf);
		return -1;
	}
	*pf_r = pf;
	return 0;
}

int
passwd_load(const char *path, struct passwd_file **pf_r, char *err,
	    size_t errlen)
{
	struct buf b;
	int r;

	buf_init(&b, SERVER_MAX_FILE_SIZE);
	if (io_read_file(path, &b) < 0) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		buf_free(&b);
		return -1;
	}
	r = passwd_parse(path, buf_cstr(&b), b.len, pf_r, err, errlen);
	if (b.data != NULL)
		explicit_bzero(b.data, b.len);
	buf_free(&b);
	return r;
}

const char *
passwd_entry_problem(const struct passwd_entry *e)
{
	if (e->has_uid && e->uid == 0)
		return "uid 0 is not allowed";
	if (e->has_gid && e->gid == 0)
		return "gid 0 is not allowed";
	return NULL;
}

int
passwd_check(const struct passwd_file *pf, const char *name, char *err,
	     size_t errlen)
{
	const char *why;
	size_t i;

	for (i = 0; i < pf->n_entries; i++) {
		why = passwd_entry_problem(&pf->entries[i]);
		if (why != NULL) {
			(void)snprintf(err, errlen, "%s:%u: %s", name,
				       pf->entries[i].line, why);
			return -1;
		}
	}
	return 0;
}

void
passwd_free(struct passwd_file **pfp)
{
	struct passwd_file *pf = *pfp;
	size_t i;

	if (pf == NULL)
		return;
	for (i = 0; i < pf->n_entries; i++)
		entry_free(&pf->entries[i]);
	free(pf->entries);
	free(pf);
	*pfp = NULL;
}

const struct passwd_entry *
passwd_lookup(const struct passwd_file *pf, const char *user)
{
	size_t i;

	for (i = 0; i < pf->n_entries; i++) {
		if (strcmp(pf->entries[i].user, user) == 0)
			return &pf->entries[i];
	}
	return NULL;
}

/* Compare in time that depends only on the expected length: no early
 * exit at the first differing byte. */
static bool
equal_ct(const char *expected, const char *got)
{
	size_t elen = strlen(expected), glen = strlen(got), i;
	volatile unsigned char diff = elen != glen;

	for (i = 0; i < elen; i++)
		diff |= (unsigned char)expected[i] ^
			(unsigned char)(i < glen ? got[i] : 0);
	return diff == 0;
}

/* crypt(3) of pass with hash as setting: 1 match, 0 mismatch, -1 when
 * libcrypt refuses the hash. */
static int
crypt_check(const char *hash, const char *pass)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *out;
	int r;

	out = crypt_rn(pass, hash, cd, sizeof(*cd));
	if (out == NULL || out[0] == '*')
		r = -1;
	else
		r = equal_ct(hash, out) ? 1 : 0;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return r;
}

int
passwd_verify(const struct passwd_entry *e, const char *pass)
{
	if (e->scheme == PASSWD_SCHEME_PLAIN)
		return equal_ct(e->secret, pass) ? 1 : 0;
	return crypt_check(e->secret, pass);
}

void
passwd_verify_dummy(const struct passwd_file *pf, const char *pass)
{
	const char *hash = dummy_hash;
	size_t i;

	for (i = 0; pf != NULL && i < pf->n_entries; i++) {
		if (pf->entries[i].scheme == PASSWD_SCHEME_CRYPT) {
			hash = pf->entries[i].secret;
			break;
		}
	}
	/* The result is meaningless: only the work matters. */
	(void)crypt_check(hash, pass);
}
