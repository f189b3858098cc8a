/* RFC 2047 encoded words (=?charset?B|Q?text?=) in header values, and the
 * few charsets SEARCH needs converted to UTF-8: UTF-8, US-ASCII,
 * ISO-8859-1, ISO-8859-15 and Windows-1252. Unknown charsets keep their
 * bytes. Never touches the filesystem.
 */
#include "protocol/mime-private.h"

#include <string.h>

/* Longest encoded word accepted, well above RFC 2047's 75 characters. */
#define MAX_WORD 1024

/* Windows-1252 0x80..0x9F; 0 marks an unassigned byte, kept as U+0080+. */
static const uint16_t cp1252_high[32] = {
	0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
	0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

static void
put_utf8(struct buf *out, unsigned cp)
{
	char u[3];

	if (cp < 0x80) {
		(void)buf_putc(out, (char)cp);
		return;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		(void)buf_append(out, u, 2);
		return;
	}
	u[0] = (char)(0xE0 | (cp >> 12));
	u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
	u[2] = (char)(0x80 | (cp & 0x3F));
	(void)buf_append(out, u, 3);
}

static unsigned
latin9(unsigned char c)
{
	switch (c) {
	case 0xA4:
		return 0x20AC;
	case 0xA6:
		return 0x0160;
	case 0xA8:
		return 0x0161;
	case 0xB4:
		return 0x017D;
	case 0xB8:
		return 0x017E;
	case 0xBC:
		return 0x0152;
	case 0xBD:
		return 0x0153;
	case 0xBE:
		return 0x0178;
	default:
		return c;
	}
}

/* Compare a charset name, ignoring case and any RFC 2231 "*lang". */
static bool
charset_is(const char *cs, const char *name)
{
	size_t n = strcspn(cs, "*");

	return n == strlen(name) && strncasecmp(cs, name, n) == 0;
}

bool
mime_charset_to_utf8(struct buf *out, const char *cs, const unsigned char *s,
		     size_t len)
{
	enum { LATIN1, LATIN9, CP1252 } kind;
	size_t i;

	if (charset_is(cs, "utf-8") || charset_is(cs, "utf8") ||
	    charset_is(cs, "us-ascii") || charset_is(cs, "ascii")) {
		(void)buf_append(out, s, len);
		return true;
	}
	if (charset_is(cs, "iso-8859-1") || charset_is(cs, "latin1") ||
	    charset_is(cs, "iso8859-1"))
		kind = LATIN1;
	else if (charset_is(cs, "iso-8859-15") || charset_is(cs, "latin9"))
		kind = LATIN9;
	else if (charset_is(cs, "windows-1252") || charset_is(cs, "cp1252"))
		kind = CP1252;
	else {
		(void)buf_append(out, s, len);
		return false;
	}
	for (i = 0; i < len; i++) {
		unsigned c = s[i];

		if (kind == LATIN9)
			c = latin9(s[i]);
		else if (kind == CP1252 && c >= 0x80 && c < 0xA0 &&
			 cp1252_high[c - 0x80] != 0)
			c = cp1252_high[c - 0x80];
		put_utf8(out, c);
	}
	return true;
}

/* Q encoding (RFC 2047 section 4.2): "_" is a space, =XX a byte. */
static void
decode_q(struct buf *out, const char *s, size_t len)
{
	size_t i;
	int h, l;

	for (i = 0; i < len; i++) {
		if (s[i] == '_')
			(void)buf_putc(out, ' ');
		else if (s[i] == '=' && i + 2 < len &&
			 (h = mime_hexval((unsigned char)s[i + 1])) >= 0 &&
			 (l = mime_hexval((unsigned char)s[i + 2])) >= 0) {
			(void)buf_putc(out, (char)(h * 16 + l));
			i += 2;
		} else
			(void)buf_putc(out, s[i]);
	}
}

/* The ends of the encoded-text of candidate words, found once per header
 * value: offsets of the next "?=" and the next white space at or after a
 * position that only grows, so a header full of unterminated words stays
 * linear. */
struct word_scan {
	const char *s;
	size_t len;
	size_t close, ws; /* stale when below the position asked for */
};

static size_t
next_close(struct word_scan *w, size_t t)
{
	if (w->close < t) {
		const char *p = memmem(w->s + t, w->len - t, "?=", 2);

		w->close = p != NULL ? (size_t)(p - w->s) : w->len;
	}
	return w->close;
}

static size_t
next_ws(struct word_scan *w, size_t t)
{
	if (w->ws < t) {
		for (w->ws = t; w->ws < w->len; w->ws++)
			if (strchr(" \t\r\n", w->s[w->ws]) != NULL &&
			    w->s[w->ws] != '\0')
				break;
	}
	return w->ws;
}

/* encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
 * (RFC 2047 section 2). When one starts at offset i, decodes it into out
 * and returns its length; else returns 0. */
static size_t
encoded_word(struct buf *out, struct word_scan *w, size_t i)
{
	const char *s = w->s + i, *cs, *q, *text;
	size_t len = w->len - i, cslen, t, e;
	char csname[64], enc;
	struct buf raw;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	cs = s + 2;
	q = memchr(cs, '?',
		   len - 2 < sizeof(csname) ? len - 2 : sizeof(csname));
	if (q == NULL || q == cs || (size_t)(q - cs) >= sizeof(csname) ||
	    (size_t)(q - s) + 4 > len || q[2] != '?')
		return 0;
	cslen = (size_t)(q - cs);
	enc = q[1];
	if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q')
		return 0;
	text = q + 3;
	t = (size_t)(text - w->s);
	/* No white space inside a word; RFC 2047 allows 75 characters and
	 * we take up to MAX_WORD. */
	e = next_close(w, t);
	if (e >= w->len || next_ws(w, t) < e || e + 2 - i > MAX_WORD)
		return 0;
	memcpy(csname, cs, cslen);
	csname[cslen] = '\0';
	buf_init(&raw, 0);
	if (enc == 'B' || enc == 'b')
		(void)mime_decode_base64(&raw, (const unsigned char *)text,
					 e - t);
	else
		decode_q(&raw, text, e - t);
	(void)mime_charset_to_utf8(out, csname,
				   (const unsigned char *)buf_cstr(&raw),
				   raw.len); /* unknown charset: bytes kept */
	buf_free(&raw);
	return e + 2 - i;
}

char *
mime_decode_header(struct arena *a, const char *s, size_t len)
{
	struct word_scan w = {.s = s, .len = len};
	struct buf out;
	size_t i = 0, ws_mark = 0, n;
	bool after_word = false, only_ws = false;
	char *res;

	buf_init(&out, 0);
	while (i < len) {
		size_t before = out.len;

		if (s[i] == '=' && (n = encoded_word(&out, &w, i)) > 0) {
			/* Whitespace between two encoded words is dropped
			 * (RFC 2047 section 6.2). */
			if (after_word && only_ws && before > ws_mark) {
				memmove(out.data + ws_mark, out.data + before,
					out.len - before);
				buf_truncate(&out, ws_mark + out.len - before);
			}
			after_word = true;
			only_ws = true;
			ws_mark = out.len;
			i += n;
			continue;
		}
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			only_ws = false;
		if (s[i] != '\r' && s[i] != '\n')
			(void)buf_putc(&out, s[i]);
		i++;
	}
	res = arena_strndup(a, buf_cstr(&out), out.len);
	buf_free(&out);
	return res;
}
