/* Content-Type and Content-Disposition parameters (RFC 2045 section 5.1),
 * with RFC 2231 continuations merged and charsets decoded to UTF-8, and
 * RFC 2047 encoded words in plain values decoded as many mailers expect.
 * Never touches the filesystem.
 */
#include "protocol/mime-private.h"

#include <string.h>

/* Segments of one RFC 2231 parameter beyond this index are dropped. */
#define MAX_SEGMENTS 64
/* Parameters after this many are ignored, which keeps merging cheap. */
#define MAX_PARAMS 256

struct raw_param {
	const char *base;
	int section;      /* -1 for name*, -2 for a plain name */
	bool is_extended; /* the segment ends in '*' */
	const char *value;
};

struct seg_group {
	struct mime_param *param;
	const struct raw_param *seg[MAX_SEGMENTS];
};

static bool
is_tspecial_or_ctl(unsigned char c)
{
	return c <= ' ' || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* value := token / quoted-string; a broken unquoted value runs to ';'. */
static const char *
take_value(struct arena *a, const char **sp)
{
	const char *s = *sp, *t;
	struct buf b;
	char *v;

	if (*s == '"') {
		buf_init(&b, 0);
		for (s++; *s != '\0' && *s != '"'; s++) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			(void)buf_putc(&b, *s); /* no maximum: cannot fail */
		}
		if (*s == '"')
			s++;
		*sp = s;
		v = arena_strndup(a, buf_cstr(&b), b.len);
		buf_free(&b);
		return v;
	}
	t = s;
	while (*s != '\0' && *s != ';')
		s++;
	*sp = s;
	while (s > t && (s[-1] == ' ' || s[-1] == '\t'))
		s--;
	return arena_strndup(a, t, (size_t)(s - t));
}

/* Split an attribute into its base name, section and '*' marker. */
static void
split_attribute(struct arena *a, const char *attr, size_t n,
		struct raw_param *r)
{
	const char *star = memchr(attr, '*', n);
	const char *p;
	int sec = 0;

	r->section = -2;
	r->is_extended = false;
	if (star == NULL || star == attr) {
		r->base = arena_strndup(a, attr, n);
		return;
	}
	r->base = arena_strndup(a, attr, (size_t)(star - attr));
	p = star + 1;
	if (p == attr + n) {
		r->section = -1;
		r->is_extended = true;
		return;
	}
	for (; p < attr + n && *p >= '0' && *p <= '9'; p++)
		if (sec < MAX_SEGMENTS)
			sec = sec * 10 + (*p - '0');
	r->section = sec < MAX_SEGMENTS ? sec : MAX_SEGMENTS;
	r->is_extended = p < attr + n && *p == '*';
}

static void
pct_decode(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		int h, l;

		if (*s == '%' && (h = mime_hexval((unsigned char)s[1])) >= 0 &&
		    (l = mime_hexval((unsigned char)s[2])) >= 0) {
			(void)buf_putc(out, (char)(h * 16 + l));
			s += 2;
		} else
			(void)buf_putc(out, *s);
	}
}

static void
pct_encode(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (is_tspecial_or_ctl(c) || c == '*' || c == '\'' || c == '%')
			(void)buf_printf(out, "%%%02X", c);
		else
			(void)buf_putc(out, (char)c);
	}
}

/* charset'language'%XX... (RFC 2231 section 4) to UTF-8. */
static const char *
decode_extended(struct arena *a, const char *v)
{
	const char *q1 = strchr(v, '\''), *q2 = NULL, *cs = "us-ascii";
	struct buf raw, out;
	const char *res;

	if (q1 != NULL && (q2 = strchr(q1 + 1, '\'')) != NULL) {
		cs = arena_strndup(a, v, (size_t)(q1 - v));
		v = q2 + 1;
	}
	buf_init(&raw, 0);
	buf_init(&out, 0);
	pct_decode(&raw, v);
	(void)mime_charset_to_utf8(&out, *cs != '\0' ? cs : "us-ascii",
				   (const unsigned char *)buf_cstr(&raw),
				   raw.len); /* unknown: bytes kept */
	res = arena_strndup(a, buf_cstr(&out), out.len);
	buf_free(&raw);
	buf_free(&out);
	return res;
}

/* Merge the segments of one RFC 2231 parameter in section order. */
static void
merge_group(struct arena *a, struct seg_group *g)
{
	struct mime_param *p = g->param;
	struct buf b;
	bool first = true;
	int i;

	buf_init(&b, 0);
	for (i = 0; i < MAX_SEGMENTS; i++) {
		const struct raw_param *r = g->seg[i];

		if (r == NULL)
			continue;
		if (first)
			p->is_extended = r->is_extended;
		first = false;
		if (p->is_extended && !r->is_extended)
			pct_encode(&b, r->value);
		else if (!p->is_extended && r->is_extended)
			pct_decode(&b, r->value);
		else
			(void)buf_puts(&b, r->value);
	}
	p->value = arena_strndup(a, buf_cstr(&b), b.len);
	buf_free(&b);
	p->utf8 = p->is_extended
			  ? decode_extended(a, p->value)
			  : mime_decode_header(a, p->value, strlen(p->value));
}

/* Read the raw attribute=value pairs after the first ';'. */
static size_t
read_raw(struct arena *a, const char *s, struct raw_param **raw_r)
{
	size_t n = 0, cap = 8;
	struct raw_param *raw = arena_calloc(a, cap, sizeof(*raw));

	while (n < MAX_PARAMS && (s = strchr(s, ';')) != NULL) {
		const char *attr = skip_ws(s + 1), *e = attr;

		while (*e != '\0' && !is_tspecial_or_ctl((unsigned char)*e))
			e++;
		s = skip_ws(e);
		if (e == attr || *s != '=')
			continue;
		s = skip_ws(s + 1);
		if (n == cap) {
			struct raw_param *nr =
				arena_calloc(a, cap * 2, sizeof(*nr));

			memcpy(nr, raw, n * sizeof(*nr));
			raw = nr;
			cap *= 2;
		}
		split_attribute(a, attr, (size_t)(e - attr), &raw[n]);
		raw[n].value = take_value(a, &s);
		n++;
	}
	*raw_r = raw;
	return n;
}

struct mime_param *
mime_params_parse(struct arena *a, const char *s)
{
	struct raw_param *raw;
	size_t n = read_raw(a, s, &raw), i, j, ngroups = 0;
	struct seg_group *groups = arena_calloc(a, n, sizeof(*groups));
	struct mime_param *head = NULL, **tail = &head;

	for (i = 0; i < n; i++) {
		struct seg_group *g = NULL;
		int sec = raw[i].section < 0 ? 0 : raw[i].section;

		if (raw[i].section == MAX_SEGMENTS)
			continue;
		for (j = 0; raw[i].section != -2 && j < ngroups; j++)
			if (groups[j].param->utf8 == NULL &&
			    strcasecmp(groups[j].param->name, raw[i].base) == 0)
				g = &groups[j];
		if (g == NULL) {
			g = &groups[ngroups++];
			g->param = arena_calloc(a, 1, sizeof(*g->param));
			g->param->name = raw[i].base;
			*tail = g->param;
			tail = &g->param->next;
			/* A plain parameter is complete on its own; marking
			 * it keeps later starred ones out of its group. */
			if (raw[i].section == -2) {
				g->param->value = raw[i].value;
				g->param->utf8 = mime_decode_header(
					a, raw[i].value, strlen(raw[i].value));
				continue;
			}
		}
		if (g->seg[sec] == NULL)
			g->seg[sec] = &raw[i];
	}
	for (j = 0; j < ngroups; j++)
		if (groups[j].param->utf8 == NULL)
			merge_group(a, &groups[j]);
	return head;
}
