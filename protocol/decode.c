/* Text helpers for SEARCH: base64 and quoted-printable decoding (RFC 2045
 * sections 6.7 and 6.8), case-insensitive matching with ASCII and Latin-1
 * folding, and the HEADER / BODY / TEXT search over a parsed message
 * (RFC 3501 section 6.4.4). Never touches the filesystem.
 */
#include "protocol/mime-private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
mime_decode_base64(struct buf *out, const unsigned char *s, size_t len)
{
	unsigned char chunk[768];
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i, n = 0;

	for (i = 0; i < len && s[i] != '='; i++) {
		int v = b64val(s[i]);

		/* Characters outside the alphabet (line ends) are ignored,
		 * as RFC 2045 section 6.8 asks. */
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			chunk[n++] = (unsigned char)((acc >> bits) & 0xFF);
		}
		/* Bytes go out a chunk at a time, not one call each. */
		if (n == sizeof(chunk)) {
			if (buf_append(out, chunk, n) < 0)
				return -1;
			n = 0;
		}
	}
	return buf_append(out, chunk, n);
}

int
mime_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Length of a soft line break at s[i] ("=", optional white space, then a
 * line end), or 0. */
static size_t
soft_break(const unsigned char *s, size_t i, size_t len)
{
	size_t j = i + 1;

	while (j < len && (s[j] == ' ' || s[j] == '\t'))
		j++;
	if (j < len && s[j] == '\r')
		j++;
	if (j < len && s[j] == '\n')
		return j + 1 - i;
	return j == len ? j - i : 0;
}

int
mime_decode_qp(struct buf *out, const unsigned char *s, size_t len)
{
	size_t i = 0, n;
	int h, l;

	while (i < len) {
		const unsigned char *eq = memchr(s + i, '=', len - i);
		size_t run = eq == NULL ? len - i : (size_t)(eq - (s + i));
		char c;

		/* The bytes up to the next "=" are literal: one append. */
		if (buf_append(out, s + i, run) < 0)
			return -1;
		i += run;
		if (i == len)
			break;
		if (i + 2 < len && (h = mime_hexval(s[i + 1])) >= 0 &&
		    (l = mime_hexval(s[i + 2])) >= 0) {
			c = (char)(h * 16 + l);
			i += 3;
		} else if ((n = soft_break(s, i, len)) > 0) {
			i += n;
			continue;
		} else {
			c = '=';
			i++;
		}
		if (buf_putc(out, c) < 0)
			return -1;
	}
	return 0;
}

/* Fold in place: ASCII upper case, and UTF-8 U+00C0..U+00DE (but for
 * U+00D7, the multiplication sign) to their lower-case forms. The length
 * does not change. */
static void
fold(unsigned char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (unsigned char)(s[i] + 32);
		else if (s[i] == 0xC3 && i + 1 < len && s[i + 1] >= 0x80 &&
			 s[i + 1] <= 0x9E && s[i + 1] != 0x97) {
			s[i + 1] = (unsigned char)(s[i + 1] + 0x20);
			i++;
		}
	}
}

/* Is needle in hay, both folded? hay is folded in place: the callers own
 * it as scratch. */
static bool
contains_folding(unsigned char *hay, size_t hay_len, const char *needle)
{
	size_t nlen = strlen(needle);
	unsigned char *n;
	bool found;

	if (nlen == 0)
		return true;
	if (nlen > hay_len)
		return false;
	n = xmalloc(nlen + 1);
	memcpy(n, needle, nlen + 1);
	fold(hay, hay_len);
	fold(n, nlen);
	found = memmem(hay, hay_len, n, nlen) != NULL;
	free(n);
	return found;
}

bool
mime_text_contains(const unsigned char *hay, size_t hay_len, const char *needle)
{
	unsigned char *h;
	bool found;

	if (strlen(needle) > hay_len)
		return false;
	h = xmalloc(hay_len + 1);
	memcpy(h, hay, hay_len);
	found = contains_folding(h, hay_len, needle);
	free(h);
	return found;
}

/* Append the decoded UTF-8 text of a leaf part's body to out. */
static void
leaf_text(struct buf *out, const struct mime_message *m,
	  const struct mime_part *p)
{
	const unsigned char *body = m->data + p->body_start;
	size_t len = p->body_end - p->body_start;
	const char *enc = p->encoding != NULL ? p->encoding : "7bit";
	const char *cs = "us-ascii";
	const struct mime_param *pa;
	struct buf raw;

	for (pa = p->params; pa != NULL; pa = pa->next)
		if (strcasecmp(pa->name, "charset") == 0)
			cs = pa->is_extended ? pa->utf8 : pa->value;
	buf_init(&raw, 0);
	if (strcasecmp(enc, "base64") == 0)
		(void)mime_decode_base64(&raw, body, len); /* no maximum */
	else if (strcasecmp(enc, "quoted-printable") == 0)
		(void)mime_decode_qp(&raw, body, len); /* no maximum */
	else
		(void)buf_append(&raw, body, len); /* no maximum */
	(void)mime_charset_to_utf8(out, cs,
				   (const unsigned char *)buf_cstr(&raw),
				   raw.len); /* unknown charset: raw bytes */
	(void)buf_putc(out, '\n');
	buf_free(&raw);
}

/* Append "Name: decoded value" lines of the header of p, only those
 * named name when name is not NULL. Returns whether any field matched. */
static bool
header_text(struct buf *out, struct arena *a, const struct mime_message *m,
	    const struct mime_part *p, const char *name)
{
	struct mime_header_iter it;
	struct mime_field f;
	bool any = false;

	mime_header_iter_init(&it, m->data, p->hdr_start, p->hdr_end);
	while (mime_header_next(&it, &f)) {
		char *v;

		if (name != NULL &&
		    (strlen(name) != f.name_len ||
		     strncasecmp((const char *)f.name, name, f.name_len) != 0))
			continue;
		any = true;
		v = mime_field_value(a, m->data, &f);
		v = mime_decode_header(a, v, strlen(v));
		if (name == NULL) {
			(void)buf_append(out, f.name, f.name_len);
			(void)buf_puts(out, ": ");
		}
		(void)buf_puts(out, v);
		(void)buf_putc(out, '\n');
	}
	return any;
}

/* Collect the searchable text of the body of part p: the decoded text
 * leaves and, for TEXT (with_headers), the decoded header of every part
 * below p, MIME headers and encapsulated messages' headers alike. BODY
 * leaves every header out, as Dovecot does. */
static void
body_text(struct buf *out, struct arena *a, const struct mime_message *m,
	  const struct mime_part *p, bool with_headers)
{
	const struct mime_part *ch;

	if (p->is_multipart || p->is_rfc822) {
		for (ch = p->children; ch != NULL; ch = ch->next) {
			if (with_headers)
				(void)header_text(out, a, m, ch, NULL);
			body_text(out, a, m, ch, with_headers);
		}
		return;
	}
	if (strcasecmp(p->type, "text") == 0 ||
	    strcasecmp(p->type, "message") == 0)
		leaf_text(out, m, p);
}

bool
mime_search_message(struct arena *a, const struct mime_message *m,
		    const char *needle, enum mime_search_where where,
		    const char *header_name)
{
	struct arena_mark mark = arena_mark(a);
	struct buf text;
	bool found, any;

	buf_init(&text, 0);
	if (where == MIME_SEARCH_HEADER) {
		any = header_text(&text, a, m, m->root, header_name);
		found = any && contains_folding((unsigned char *)text.data,
						text.len, needle);
	} else {
		if (where == MIME_SEARCH_TEXT)
			(void)header_text(&text, a, m, m->root, NULL);
		body_text(&text, a, m, m->root, where == MIME_SEARCH_TEXT);
		found = contains_folding((unsigned char *)text.data, text.len,
					 needle);
	}
	buf_free(&text);
	/* The decoded strings are scratch: give their memory back. */
	arena_rewind(a, mark);
	return found;
}

bool
mime_search_text(const unsigned char *msg, size_t len, const char *needle,
		 enum mime_search_where where, const char *header_name)
{
	struct arena *a = arena_new();
	bool found = mime_search_message(a, mime_parse(a, msg, len), needle,
					 where, header_name);

	arena_free(&a);
	return found;
}
