/* Modified UTF-7 for mailbox names (RFC 3501 section 5.1.3) to and from
 * UTF-8, strictly: only the one encoding an encoder would produce is
 * accepted (printable ASCII never base64-encoded, "&" always as "&-",
 * shifts never adjacent, no stray bits, surrogates paired, no U+0000),
 * so each name has exactly one wire form.
 */
#include "protocol/imap-private.h"

#include <string.h>

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* The value of a modified BASE64 character (RFC 3501 5.1.3: "," for
 * "/"), or -1. */
static int
b64val(unsigned char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b64chars, c);
	return p == NULL ? -1 : (int)(p - b64chars);
}

static int
put_utf8(struct buf *b, uint32_t cp)
{
	char out[4];
	size_t n;

	if (cp < 0x80) {
		out[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		out[0] = (char)(0xf0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(b, out, n);
}

/* State of one base64 section while decoding. */
struct b64_dec {
	uint32_t bits;
	unsigned nbits;
	uint32_t high; /* a pending high surrogate, or 0 */
	unsigned chars;
};

/* One UTF-16 unit came out of a base64 section. */
static int
dec_unit(struct b64_dec *d, uint32_t u, struct buf *dest)
{
	uint32_t cp;

	if (d->high != 0) {
		if (u < 0xdc00 || u > 0xdfff)
			return -1;
		cp = 0x10000 + ((d->high - 0xd800) << 10) + (u - 0xdc00);
		d->high = 0;
	} else if (u >= 0xd800 && u <= 0xdbff) {
		d->high = u;
		return 0;
	} else if (u >= 0xdc00 && u <= 0xdfff) {
		return -1;
	} else {
		cp = u;
		/* Printable ASCII must stand for itself; NUL never. */
		if (cp == 0 || (cp >= 0x20 && cp <= 0x7e))
			return -1;
	}
	d->chars++;
	return put_utf8(dest, cp);
}

/* The base64 part of "&...-", from src[*i] (after "&") through "-". */
static int
dec_section(const char *src, size_t len, size_t *i, struct buf *dest)
{
	struct b64_dec d = {0, 0, 0, 0};

	for (; *i < len && src[*i] != '-'; (*i)++) {
		int v = b64val((unsigned char)src[*i]);

		if (v < 0)
			return -1;
		d.bits = (d.bits << 6) | (uint32_t)v;
		d.nbits += 6;
		if (d.nbits >= 16) {
			d.nbits -= 16;
			if (dec_unit(&d, (d.bits >> d.nbits) & 0xffff, dest) <
			    0)
				return -1;
			d.bits &= (1u << d.nbits) - 1;
		}
	}
	if (*i >= len)
		return -1; /* no closing "-" */
	(*i)++;
	/* Fewer than 6 leftover bits, all zero; nothing half-done. */
	if (d.nbits >= 6 || d.bits != 0 || d.high != 0 || d.chars == 0)
		return -1;
	return 0;
}

int
imap_utf7_to_utf8(const char *src, size_t len, struct buf *dest)
{
	bool after_section = false;
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)src[i++];

		if (c < 0x20 || c > 0x7e)
			return -1;
		if (c != '&') {
			after_section = false;
			if (buf_putc(dest, (char)c) < 0)
				return -1;
			continue;
		}
		if (i < len && src[i] == '-') {
			i++;
			after_section = false;
			if (buf_putc(dest, '&') < 0)
				return -1;
			continue;
		}
		/* Two sections in a row would have been one. */
		if (after_section || dec_section(src, len, &i, dest) < 0)
			return -1;
		after_section = true;
	}
	return 0;
}

/* Decode one UTF-8 sequence strictly (no overlong forms, no surrogates,
 * nothing above U+10FFFF). Returns its length or 0 when invalid. */
static size_t
utf8_next(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	size_t n, i;
	uint32_t cp, min;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

/* State of one base64 section while encoding. */
struct b64_enc {
	bool open;
	uint32_t bits;
	unsigned nbits;
};

static int
enc_unit(struct b64_enc *e, uint32_t u, struct buf *dest)
{
	e->bits = (e->bits << 16) | u;
	e->nbits += 16;
	while (e->nbits >= 6) {
		e->nbits -= 6;
		if (buf_putc(dest, b64chars[(e->bits >> e->nbits) & 0x3f]) < 0)
			return -1;
	}
	e->bits &= (1u << e->nbits) - 1;
	return 0;
}

/* A code point as one UTF-16 unit or a surrogate pair. */
static int
enc_cp(struct b64_enc *e, uint32_t cp, struct buf *dest)
{
	if (cp < 0x10000)
		return enc_unit(e, cp, dest);
	if (enc_unit(e, 0xd800 + ((cp - 0x10000) >> 10), dest) < 0)
		return -1;
	return enc_unit(e, 0xdc00 + ((cp - 0x10000) & 0x3ff), dest);
}

static int
enc_close(struct b64_enc *e, struct buf *dest)
{
	if (!e->open)
		return 0;
	if (e->nbits > 0 &&
	    buf_putc(dest, b64chars[(e->bits << (6 - e->nbits)) & 0x3f]) < 0)
		return -1;
	e->open = false;
	e->bits = 0;
	e->nbits = 0;
	return buf_putc(dest, '-');
}

int
imap_utf8_to_utf7(const char *src, size_t len, struct buf *dest)
{
	const unsigned char *s = (const unsigned char *)src;
	struct b64_enc e = {false, 0, 0};
	size_t i = 0, n;
	uint32_t cp;
	int ret;

	while (i < len) {
		if ((n = utf8_next(s + i, len - i, &cp)) == 0 || cp == 0)
			return -1;
		i += n;
		if (cp >= 0x20 && cp <= 0x7e) {
			if (enc_close(&e, dest) < 0)
				return -1;
			ret = cp == '&' ? buf_puts(dest, "&-")
					: buf_putc(dest, (char)cp);
			if (ret < 0)
				return -1;
			continue;
		}
		if (!e.open) {
			if (buf_putc(dest, '&') < 0)
				return -1;
			e.open = true;
		}
		ret = enc_cp(&e, cp, dest);
		if (ret < 0)
			return -1;
	}
	return enc_close(&e, dest);
}
