/* BODY[section]<partial> (RFC 3501 section 6.4.5): a section
 * specification resolves to bytes of the message in CRLF wire form,
 * whatever line ends the stored file uses; partial fetches are cut on
 * that wire form. Never touches the filesystem.
 */
#include "protocol/mime-private.h"

#include <string.h>

/* Part n of a container: the nth part of a multipart, else (n == 1)
 * the container itself. *is_self_r tells which. */
static const struct mime_part *
nth_part(const struct mime_part *c, uint32_t n, bool *is_self_r)
{
	const struct mime_part *ch;

	*is_self_r = !c->is_multipart;
	if (!c->is_multipart)
		return n == 1 ? c : NULL;
	for (ch = c->children; ch != NULL && n > 1; n--)
		ch = ch->next;
	return n == 1 ? ch : NULL;
}

/* section-part = nz-number *("." nz-number)   (RFC 3501 section 9)
 * The first number counts in the message; after a message/rfc822 part
 * in its encapsulated message, after a multipart in it. A message that
 * is not multipart has only a part 1, itself (RFC 3501 section 6.4.5);
 * like Dovecot we give a leaf part inside a multipart that same part 1,
 * once: "1.1" is part 1 when part 1 is a leaf, "1.1.1" is nothing. */
static const struct mime_part *
find_part(const struct mime_message *msg, const uint32_t *parts, size_t n)
{
	const struct mime_part *p = msg->root;
	bool is_self = false;
	size_t i;

	for (i = 0; i < n && p != NULL; i++) {
		if (i > 0 && p->is_rfc822)
			p = nth_part(p->children, parts[i], &is_self);
		else if (i == 0 || p->is_multipart || !is_self)
			p = nth_part(p, parts[i], &is_self);
		else
			return NULL;
	}
	return p;
}

static void
raw_view(struct mime_view *v, const struct mime_message *msg, size_t start,
	 size_t end)
{
	v->data = msg->data + start;
	v->len = end - start;
	v->convert_lf = true;
	/* Counted on the view alone, exactly as mime_view_write walks it, so
	 * the literal size always matches the bytes written. */
	v->size = mime_wire_size(v->data, 0, v->len);
}

/* Whether the header range ends with the blank line. */
static bool
has_blank_line(const unsigned char *d, size_t start, size_t end)
{
	size_t ls;

	if (end == start || d[end - 1] != '\n')
		return false;
	ls = end - 1;
	while (ls > start && d[ls - 1] != '\n')
		ls--;
	return end - ls == 1 || (end - ls == 2 && d[ls] == '\r');
}

static bool
field_listed(const struct mime_field *f, const struct mime_section *spec)
{
	size_t i;

	for (i = 0; i < spec->nfields; i++)
		if (strlen(spec->fields[i]) == f->name_len &&
		    strncasecmp(spec->fields[i], (const char *)f->name,
				f->name_len) == 0)
			return true;
	return false;
}

static void
append_crlf(struct buf *b, const unsigned char *d, size_t start, size_t end)
{
	size_t i;

	for (i = start; i < end; i++) {
		if (d[i] == '\n' && (i == start || d[i - 1] != '\r'))
			(void)buf_putc(b, '\r'); /* no maximum: cannot fail */
		(void)buf_putc(b, (char)d[i]);
	}
}

/* HEADER.FIELDS [".NOT"] SP header-list: the matching fields with their
 * continuation lines, in message order, then the blank line. */
static void
fields_view(struct arena *a, const struct mime_message *msg,
	    const struct mime_part *m, const struct mime_section *spec,
	    struct mime_view *v)
{
	bool want = spec->text == MIME_SECTION_FIELDS;
	const unsigned char *d = msg->data;
	struct mime_header_iter it;
	struct mime_field f;
	struct buf b;

	buf_init(&b, 0);
	mime_header_iter_init(&it, d, m->hdr_start, m->hdr_end);
	while (mime_header_next(&it, &f)) {
		if (field_listed(&f, spec) != want)
			continue;
		append_crlf(&b, d, f.start, f.end);
		if (d[f.end - 1] != '\n')
			(void)buf_puts(&b, "\r\n");
	}
	if (has_blank_line(d, m->hdr_start, m->hdr_end))
		(void)buf_puts(&b, "\r\n");
	v->data = (const unsigned char *)arena_strndup(a, buf_cstr(&b), b.len);
	v->len = b.len;
	v->convert_lf = false;
	v->size = b.len;
	buf_free(&b);
}

int
mime_section_resolve(struct arena *a, const struct mime_message *msg,
		     const struct mime_section *spec, struct mime_view *view_r)
{
	const struct mime_part *p = msg->root, *m;

	memset(view_r, 0, sizeof(*view_r));
	view_r->data = msg->data;
	if (spec->nparts == 0 && spec->text == MIME_SECTION_ALL) {
		raw_view(view_r, msg, 0, msg->len);
		return 0;
	}
	if (spec->nparts > 0 &&
	    (p = find_part(msg, spec->parts, spec->nparts)) == NULL)
		return 1;
	switch (spec->text) {
	case MIME_SECTION_ALL:
		raw_view(view_r, msg, p->body_start, p->body_end);
		return 0;
	case MIME_SECTION_MIME:
		if (spec->nparts == 0)
			return 1;
		raw_view(view_r, msg, p->hdr_start, p->hdr_end);
		return 0;
	default:
		break;
	}
	/* HEADER, HEADER.FIELDS and TEXT name the top-level message or a
	 * message/rfc822 part. */
	if (spec->nparts == 0)
		m = p;
	else if (p->is_rfc822)
		m = p->children;
	else
		return 1;
	if (spec->text == MIME_SECTION_TEXT)
		raw_view(view_r, msg, m->body_start, m->body_end);
	else if (spec->text == MIME_SECTION_HEADER)
		raw_view(view_r, msg, m->hdr_start, m->hdr_end);
	else
		fields_view(a, msg, m, spec, view_r);
	return 0;
}

struct emitter {
	mime_write_fn fn;
	void *ctx;
	uint64_t pos, lo, hi; /* wire position, wanted [lo, hi) */
};

/* A literal carries CHAR8, which excludes NUL (RFC 3501 section 4.3):
 * each NUL goes out as 0x80, as Dovecot does, so sizes do not change. */
static int
write_no_nul(struct emitter *e, const unsigned char *s, size_t n)
{
	static const unsigned char subst = 0x80;
	const unsigned char *nul;
	int r;

	while ((nul = memchr(s, '\0', n)) != NULL) {
		size_t k = (size_t)(nul - s);

		if ((k > 0 && (r = e->fn(e->ctx, s, k)) != 0) ||
		    (r = e->fn(e->ctx, &subst, 1)) != 0)
			return r;
		s += k + 1;
		n -= k + 1;
	}
	return n > 0 ? e->fn(e->ctx, s, n) : 0;
}

/* Send the part of bytes [pos, pos + n) that falls inside [lo, hi). */
static int
emit(struct emitter *e, const unsigned char *s, size_t n)
{
	uint64_t start = e->pos, end = e->pos + n;

	e->pos = end;
	if (end <= e->lo || start >= e->hi)
		return 0;
	if (start < e->lo) {
		s += e->lo - start;
		start = e->lo;
	}
	if (end > e->hi)
		end = e->hi;
	return end > start ? write_no_nul(e, s, (size_t)(end - start)) : 0;
}

uint64_t
mime_view_slice_size(const struct mime_view *view, uint64_t origin,
		     uint64_t count)
{
	if (origin >= view->size)
		return 0;
	return count < view->size - origin ? count : view->size - origin;
}

int
mime_view_write(const struct mime_view *view, uint64_t origin, uint64_t count,
		mime_write_fn fn, void *ctx)
{
	static const unsigned char crlf[2] = {'\r', '\n'};
	struct emitter e = {.fn = fn, .ctx = ctx, .lo = origin};
	const unsigned char *d = view->data, *lf;
	size_t i = 0;
	int r;

	e.hi = origin + mime_view_slice_size(view, origin, count);
	if (!view->convert_lf)
		return emit(&e, d, view->len);
	while (i < view->len && e.pos < e.hi) {
		lf = memchr(d + i, '\n', view->len - i);
		if (lf == NULL)
			return emit(&e, d + i, view->len - i);
		if (lf > d + i && lf[-1] == '\r')
			r = emit(&e, d + i, (size_t)(lf - (d + i)) + 1);
		else if ((r = emit(&e, d + i, (size_t)(lf - (d + i)))) == 0)
			r = emit(&e, crlf, 2);
		if (r != 0)
			return r;
		i = (size_t)(lf - d) + 1;
	}
	return 0;
}

static int
buf_sink(void *ctx, const void *data, size_t len)
{
	return buf_append(ctx, data, len);
}

int
mime_section_fetch(struct arena *a, const struct mime_message *msg,
		   const struct mime_section *spec, struct buf *out)
{
	struct mime_view v;

	(void)mime_section_resolve(a, msg, spec, &v); /* 1: empty view */
	if (spec->has_partial)
		return mime_view_write(&v, spec->origin, spec->count, buf_sink,
				       out);
	return mime_view_write(&v, 0, UINT64_MAX, buf_sink, out);
}
