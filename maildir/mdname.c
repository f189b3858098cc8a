/* Mailbox names: which UTF-8 names are acceptable, and their Maildir++
 * directory names ("." + modified UTF-7, RFC 3501 section 5.1.3, as Dovecot
 * and Courier store them). The wire form of names belongs to protocol/;
 * this mapping only names files. No name can yield a path outside the root. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/mem.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

bool
md_name_is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

/* Decode one UTF-8 sequence at s (n bytes left). Returns its length and
 * *cp_r, or 0 when invalid (overlong, surrogate, above U+10FFFF). */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp_r)
{
	uint32_t cp, min;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return len;
}

/* Append c to out (o is the fill); -1 when full (keeping room for NUL). */
static int
put(char *out, size_t outsize, size_t *o, char c)
{
	if (*o + 1 >= outsize)
		return -1;
	out[(*o)++] = c;
	return 0;
}

/* Encode the UTF-16 units u[0..n) in modified base64 with '&' and '-'. */
static int
put_b64(const uint16_t *u, size_t n, char *out, size_t outsize, size_t *o)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	if (put(out, outsize, o, '&') < 0)
		return -1;
	for (i = 0; i < n; i++) {
		acc = acc << 16 | u[i];
		bits += 16;
		while (bits >= 6) {
			bits -= 6;
			if (put(out, outsize, o, b64[(acc >> bits) & 0x3f]) < 0)
				return -1;
		}
	}
	if (bits > 0 &&
	    put(out, outsize, o, b64[(acc << (6 - bits)) & 0x3f]) < 0)
		return -1;
	return put(out, outsize, o, '-');
}

/* Check a name's characters and encode it; out may be NULL to check only.
 * Returns the encoded length or -1. */
static long
encode(const char *name, char *out, size_t outsize)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = strlen(name), i = 0, o = 0, nu = 0;
	uint16_t units[MD_MAX_NAME];
	char scratch[MD_MAX_NAME + 1];

	if (out == NULL) {
		out = scratch;
		outsize = sizeof(scratch);
	}
	while (i < n) {
		uint32_t cp;
		size_t len = utf8_next(s + i, n - i, &cp);

		if (len == 0 || cp < 0x20 || cp == 0x7f || cp == '/' ||
		    cp == '*' || cp == '%')
			return -1;
		if (cp >= 0x80) {
			if (nu + 2 > sizeof(units) / sizeof(units[0]))
				return -1;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[nu++] = (uint16_t)(0xd800 | (cp >> 10));
				units[nu++] = (uint16_t)(0xdc00 | (cp & 0x3ff));
			} else {
				units[nu++] = (uint16_t)cp;
			}
			i += len;
			continue;
		}
		if (nu > 0 && put_b64(units, nu, out, outsize, &o) < 0)
			return -1;
		nu = 0;
		if (put(out, outsize, &o, (char)cp) < 0)
			return -1;
		if (cp == '&' && put(out, outsize, &o, '-') < 0)
			return -1;
		i += len;
	}
	if (nu > 0 && put_b64(units, nu, out, outsize, &o) < 0)
		return -1;
	out[o] = '\0';
	return (long)o;
}

bool
md_name_valid(const char *name)
{
	size_t n = strlen(name);
	long len;

	if (n == 0 || name[0] == '.' || name[n - 1] == '.' ||
	    strstr(name, "..") != NULL)
		return false;
	/* Room for the leading '.' of the directory name. */
	len = encode(name, NULL, 0);
	return len >= 0 && len < MD_MAX_NAME;
}

char *
md_name_canonical(const char *name)
{
	char *c = xstrdup(name);

	/* Overwrite the first five bytes in place, keeping the rest. */
	if (md_name_is_inbox(name) || strncasecmp(name, "INBOX.", 6) == 0)
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
		memcpy(c, "INBOX", 5);
	return c;
}

int
md_name_to_dir(const char *name, char *out, size_t outsize)
{
	if (!md_name_valid(name) || outsize < 2)
		return -1;
	if (md_name_is_inbox(name)) {
		out[0] = '\0';
		return 0;
	}
	out[0] = '.';
	/* The first component "inbox" in any case is INBOX's child. */
	if (strncasecmp(name, "INBOX.", 6) == 0) {
		if (outsize < 8)
			return -1;
		memcpy(out + 1, "INBOX.", 6);
		return encode(name + 6, out + 7, outsize - 7) < 0 ? -1 : 0;
	}
	return encode(name, out + 1, outsize - 1) < 0 ? -1 : 0;
}

/* Append code point cp as UTF-8. */
static int
put_utf8(uint32_t cp, char *out, size_t outsize, size_t *o)
{
	char b[4];
	size_t n, i;

	if (cp < 0x80) {
		b[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12), n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18), n = 4;
	}
	for (i = 1; i < n; i++)
		b[i] = (char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3f));
	for (i = 0; i < n; i++)
		if (put(out, outsize, o, b[i]) < 0)
			return -1;
	return 0;
}

/* Decode one "&...-" run starting after '&' at s; *used_r gets the bytes
 * consumed including '-'. Returns 0 or -1. */
static int
decode_b64(const char *s, size_t *used_r, char *out, size_t outsize, size_t *o)
{
	uint32_t acc = 0, hi = 0;
	int bits = 0;
	size_t i = 0, units = 0;

	for (; s[i] != '-'; i++) {
		const char *p = s[i] ? strchr(b64, s[i]) : NULL;
		uint32_t u;

		if (p == NULL)
			return -1;
		acc = acc << 6 | (uint32_t)(p - b64);
		bits += 6;
		if (bits < 16)
			continue;
		bits -= 16;
		u = (acc >> bits) & 0xffff;
		units++;
		if (hi != 0) {
			if (u < 0xdc00 || u > 0xdfff)
				return -1;
			u = 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00);
			hi = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			hi = u;
			continue;
		} else if ((u >= 0xdc00 && u <= 0xdfff) || u < 0x80) {
			/* Lone low surrogates and ASCII must not be encoded. */
			return -1;
		}
		if (put_utf8(u, out, outsize, o) < 0)
			return -1;
	}
	if (units == 0 || hi != 0 || bits >= 6 ||
	    (acc & ((1u << bits) - 1)) != 0)
		return -1;
	*used_r = i + 1;
	return 0;
}

int
md_dir_to_name(const char *dir, char *out, size_t outsize)
{
	size_t i = 1, o = 0;

	if (dir[0] != '.' || dir[1] == '\0')
		return -1;
	while (dir[i] != '\0') {
		size_t used;

		if (dir[i] != '&') {
			if (put(out, outsize, &o, dir[i++]) < 0)
				return -1;
			continue;
		}
		if (dir[i + 1] == '-') {
			if (put(out, outsize, &o, '&') < 0)
				return -1;
			i += 2;
			continue;
		}
		if (decode_b64(dir + i + 1, &used, out, outsize, &o) < 0)
			return -1;
		i += 1 + used;
	}
	out[o] = '\0';
	return md_name_valid(out) && !md_name_is_inbox(out) ? 0 : -1;
}

int
md_box_dir_open(struct md_store *store, const char *name)
{
	char dir[MD_MAX_NAME + 1];
	int fd;

	if (md_name_to_dir(name, dir, sizeof(dir)) < 0) {
		md_set_error(store, MD_ERR_BADNAME, "Invalid mailbox name");
		return -1;
	}
	if (dir[0] != '\0' && md_rename_recover(store) < 0)
		return -1;
	/* O_NOFOLLOW: a symlinked folder could point out of the root. */
	fd = openat(store->root_fd, dir[0] ? dir : ".",
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) {
		md_set_error(store, MD_ERR_NOTFOUND, "Mailbox does not exist");
		return -1;
	}
	if (fd < 0) {
		md_set_syserr(store, "open", dir);
		return -1;
	}
	if (faccessat(fd, "cur", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		(void)close(fd);
		md_set_error(store, MD_ERR_NOTFOUND, "Mailbox does not exist");
		return -1;
	}
	return fd;
}
