/* The MIME structure parser: RFC 5322 header fields (folded lines) and the
 * RFC 2045/2046 part tree (nested multiparts, message/rfc822, defaults),
 * tolerant of bare LF, NUL and 8-bit bytes, broken or missing boundaries.
 * Sizes are counted on the CRLF wire form. Never touches the filesystem.
 */
#include "protocol/mime-private.h"

#include <string.h>

/* Line ends are counted once per message: lf_at[i] and bare_at[i] hold
 * the LFs and the bare LFs (no CR before) in the first i * COUNT_BLOCK
 * bytes, so the counts of any range cost at most two partial blocks, even
 * for a range nested a hundred multiparts deep. */
#define COUNT_BLOCK 4096

struct parse_ctx {
	struct mime_message *msg;
	struct arena *a;
	uint64_t *lf_at, *bare_at;
};

static bool
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Offset of the LF ending the line at pos, or end when it has none. */
static size_t
line_end(const unsigned char *d, size_t pos, size_t end)
{
	const unsigned char *lf = memchr(d + pos, '\n', end - pos);

	return lf == NULL ? end : (size_t)(lf - d);
}

/* Offset of the next line after the line at pos. */
static size_t
next_line(const unsigned char *d, size_t pos, size_t end)
{
	size_t e = line_end(d, pos, end);

	return e < end ? e + 1 : end;
}

static bool
is_blank_line(const unsigned char *d, size_t pos, size_t end)
{
	if (pos < end && d[pos] == '\r')
		pos++;
	return pos < end && d[pos] == '\n';
}

uint64_t
mime_wire_size(const unsigned char *data, size_t start, size_t end)
{
	uint64_t n = end - start;
	size_t i;

	for (i = start; i < end; i++) {
		const unsigned char *lf = memchr(data + i, '\n', end - i);

		if (lf == NULL)
			break;
		i = (size_t)(lf - data);
		if (i == 0 || data[i - 1] != '\r')
			n++;
	}
	return n;
}

static void
count_blocks(struct parse_ctx *c)
{
	const unsigned char *d = c->msg->data;
	size_t len = c->msg->len, n = len / COUNT_BLOCK + 1, i;
	uint64_t lf = 0, bare = 0;

	c->lf_at = arena_calloc(c->a, n, sizeof(*c->lf_at));
	c->bare_at = arena_calloc(c->a, n, sizeof(*c->bare_at));
	for (i = 0; i < len; i++) {
		if (i % COUNT_BLOCK == 0) {
			c->lf_at[i / COUNT_BLOCK] = lf;
			c->bare_at[i / COUNT_BLOCK] = bare;
		}
		if (d[i] == '\n') {
			lf++;
			bare += i == 0 || d[i - 1] != '\r';
		}
	}
	if (len % COUNT_BLOCK == 0) {
		c->lf_at[n - 1] = lf;
		c->bare_at[n - 1] = bare;
	}
}

/* LFs and bare LFs in the first x bytes of the message. */
static void
count_before(const struct parse_ctx *c, size_t x, uint64_t *lf_r,
	     uint64_t *bare_r)
{
	const unsigned char *d = c->msg->data;
	size_t i = x / COUNT_BLOCK * COUNT_BLOCK;

	*lf_r = c->lf_at[x / COUNT_BLOCK];
	*bare_r = c->bare_at[x / COUNT_BLOCK];
	for (; i < x; i++)
		if (d[i] == '\n') {
			(*lf_r)++;
			*bare_r += i == 0 || d[i - 1] != '\r';
		}
}

/* Wire size and LF count of the body of p. */
static void
count_body(const struct parse_ctx *c, struct mime_part *p)
{
	uint64_t lf_s, bare_s, lf_e, bare_e;

	count_before(c, p->body_start, &lf_s, &bare_s);
	count_before(c, p->body_end, &lf_e, &bare_e);
	p->body_size = (p->body_end - p->body_start) + (bare_e - bare_s);
	p->body_lines = lf_e - lf_s;
}

size_t
mime_header_block_len(const char *d, size_t size)
{
	const char *lf;
	size_t pos = 0;

	while (pos < size) {
		if (d[pos] == '\n' ||
		    (d[pos] == '\r' && pos + 1 < size && d[pos + 1] == '\n'))
			return pos + (d[pos] == '\r' ? 2 : 1);
		lf = memchr(d + pos, '\n', size - pos);
		if (lf == NULL)
			break;
		pos = (size_t)(lf - d) + 1;
	}
	return size;
}

void
mime_header_iter_init(struct mime_header_iter *it, const unsigned char *data,
		      size_t start, size_t end)
{
	it->data = data;
	it->pos = start;
	it->end = end;
}

bool
mime_header_next(struct mime_header_iter *it, struct mime_field *f_r)
{
	const unsigned char *d = it->data;

	while (it->pos < it->end && !is_blank_line(d, it->pos, it->end)) {
		size_t ls = it->pos, le = line_end(d, ls, it->end);
		const unsigned char *colon;
		size_t n;

		it->pos = le < it->end ? le + 1 : it->end;
		/* A continuation line with no field before it, or a line
		 * without a colon, is not a field: skip it. */
		colon = is_wsp(d[ls]) ? NULL : memchr(d + ls, ':', le - ls);
		if (colon == NULL)
			continue;
		n = (size_t)(colon - (d + ls));
		while (n > 0 && is_wsp(d[ls + n - 1]))
			n--;
		/* The field goes on over the folded lines below it. */
		while (it->pos < it->end && is_wsp(d[it->pos]))
			it->pos = next_line(d, it->pos, it->end);
		if (n == 0)
			continue;
		f_r->name = d + ls;
		f_r->name_len = n;
		f_r->start = ls;
		f_r->value_start = (size_t)(colon - d) + 1;
		f_r->end = it->pos;
		return true;
	}
	return false;
}

/* The unfolded value of f without leading white space, and without
 * trailing white space when trim_end is set. */
static char *
field_value(struct arena *a, const unsigned char *data,
	    const struct mime_field *f, bool trim_end)
{
	size_t s = f->value_start, e = f->end, n = 0, i;
	char *v;

	while (s < e && (is_wsp(data[s]) || data[s] == '\r' || data[s] == '\n'))
		s++;
	while (e > s && ((trim_end && is_wsp(data[e - 1])) ||
			 data[e - 1] == '\r' || data[e - 1] == '\n'))
		e--;
	/* Size is safe: at most e - s bytes are copied, plus the NUL. */
	v = arena_alloc(a, e - s + 1);
	for (i = s; i < e; i++)
		if (data[i] != '\r' && data[i] != '\n')
			v[n++] = (char)data[i];
	v[n] = '\0';
	return v;
}

char *
mime_field_value(struct arena *a, const unsigned char *data,
		 const struct mime_field *f)
{
	return field_value(a, data, f, true);
}

static bool
name_is(const struct mime_field *f, const char *name)
{
	return strlen(name) == f->name_len &&
	       strncasecmp((const char *)f->name, name, f->name_len) == 0;
}

char *
mime_part_header(struct arena *a, const struct mime_message *msg,
		 const struct mime_part *p, const char *name)
{
	struct mime_header_iter it;
	struct mime_field f;

	mime_header_iter_init(&it, msg->data, p->hdr_start, p->hdr_end);
	while (mime_header_next(&it, &f))
		if (name_is(&f, name))
			return mime_field_value(a, msg->data, &f);
	return NULL;
}

/* A MIME token (RFC 2045 section 5.1) copied into the arena, or NULL. */
static const char *
take_token(struct arena *a, const char **sp)
{
	const char *s = *sp, *t;

	while (is_wsp((unsigned char)*s))
		s++;
	t = s;
	while (*s != '\0' && (unsigned char)*s > ' ' &&
	       (unsigned char)*s < 0x7f &&
	       strchr("()<>@,;:\\\"/[]?=", *s) == NULL)
		s++;
	if (s == t)
		return NULL;
	*sp = s;
	return arena_strndup(a, t, (size_t)(s - t));
}

/* Skip RFC 822 comments and whitespace. */
static const char *
skip_cfws(const char *s)
{
	int depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '(')
			depth++;
		else if (*s == ')' && depth > 0)
			depth--;
		else if (*s == '\\' && depth > 0 && s[1] != '\0')
			s++;
		else if (depth == 0 && !is_wsp((unsigned char)*s))
			break;
	}
	return s;
}

/* content := "Content-Type" ":" type "/" subtype *(";" parameter)
 * (RFC 2045 section 5.1). Leaves the defaults when the value is invalid. */
static void
parse_content_type(struct parse_ctx *c, struct mime_part *p, const char *v)
{
	const char *s = skip_cfws(v), *type, *sub;

	if ((type = take_token(c->a, &s)) == NULL)
		return;
	s = skip_cfws(s);
	if (*s != '/')
		return;
	s = skip_cfws(s + 1);
	if ((sub = take_token(c->a, &s)) == NULL)
		return;
	p->type = type;
	p->subtype = sub;
	p->params = mime_params_parse(c->a, s);
}

static void
parse_disposition(struct parse_ctx *c, struct mime_part *p, const char *v)
{
	const char *s = skip_cfws(v), *type;

	if ((type = take_token(c->a, &s)) == NULL)
		return;
	p->disposition = type;
	p->disp_params = mime_params_parse(c->a, s);
}

static void
parse_mime_fields(struct parse_ctx *c, struct mime_part *p)
{
	struct mime_header_iter it;
	struct mime_field f;
	const unsigned char *d = c->msg->data;

	bool seen_type = false;

	mime_header_iter_init(&it, d, p->hdr_start, p->hdr_end);
	while (mime_header_next(&it, &f)) {
		const char *tok;

		if (f.name_len < 8 ||
		    strncasecmp((const char *)f.name, "content-", 8) != 0)
			continue;
		/* The first occurrence of each field wins, even an invalid
		 * one (which leaves the defaults, RFC 2045 section 5.2). */
		if (name_is(&f, "content-type") && !seen_type) {
			seen_type = true;
			parse_content_type(c, p, mime_field_value(c->a, d, &f));
		} else if (name_is(&f, "content-transfer-encoding") &&
			   p->encoding == NULL) {
			tok = mime_field_value(c->a, d, &f);
			p->encoding = take_token(c->a, &tok);
		} else if (name_is(&f, "content-id") && p->id == NULL)
			p->id = mime_field_value(c->a, d, &f);
		else if (name_is(&f, "content-description") &&
			 p->description == NULL)
			/* Free text: trailing blanks are kept, as Dovecot
			 * does. */
			p->description = field_value(c->a, d, &f, false);
		else if (name_is(&f, "content-md5") && p->md5 == NULL)
			p->md5 = mime_field_value(c->a, d, &f);
		else if (name_is(&f, "content-language") && p->language == NULL)
			p->language = mime_field_value(c->a, d, &f);
		else if (name_is(&f, "content-location") && p->location == NULL)
			p->location = mime_field_value(c->a, d, &f);
		else if (name_is(&f, "content-disposition") &&
			 p->disposition == NULL)
			parse_disposition(c, p, mime_field_value(c->a, d, &f));
	}
}

static const char *
param_get(const struct mime_param *p, const char *name)
{
	for (; p != NULL; p = p->next)
		if (strcasecmp(p->name, name) == 0)
			return p->is_extended ? p->utf8 : p->value;
	return NULL;
}

static struct mime_part *
new_part(struct parse_ctx *c, struct mime_part *parent)
{
	struct mime_part *p = arena_calloc(c->a, 1, sizeof(*p));

	p->parent = parent;
	c->msg->nparts++;
	return p;
}

static void parse_part(struct parse_ctx *c, struct mime_part *p, size_t start,
		       size_t end, unsigned depth, bool in_digest);

/* The delimiter of RFC 2046 section 5.1.1: "--" boundary, then either
 * "--" (close-delimiter) or transport padding to the line end. Returns 0
 * for no delimiter, 1 for a delimiter, 2 for the close-delimiter. */
static int
delimiter_kind(const unsigned char *d, size_t ls, size_t le, const char *b,
	       size_t blen)
{
	size_t i;

	if (le - ls < blen + 2 || d[ls] != '-' || d[ls + 1] != '-' ||
	    memcmp(d + ls + 2, b, blen) != 0)
		return 0;
	i = ls + 2 + blen;
	if (le - i >= 2 && d[i] == '-' && d[i + 1] == '-')
		return 2;
	for (; i < le; i++)
		if (!is_wsp(d[i]) && d[i] != '\r')
			return 0;
	return 1;
}

static void
add_child(struct parse_ctx *c, struct mime_part *p, struct mime_part **tail,
	  size_t start, size_t end, unsigned depth)
{
	struct mime_part *ch = new_part(c, p);
	/* The empty part made up for a multipart without parts (depth
	 * MIME_MAX_DEPTH) is text/plain even in a digest. */
	bool digest =
		strcasecmp(p->subtype, "digest") == 0 && depth < MIME_MAX_DEPTH;

	if (*tail == NULL)
		p->children = ch;
	else
		(*tail)->next = ch;
	*tail = ch;
	p->nchildren++;
	parse_part(c, ch, start, end, depth + 1, digest);
}

/* The raw offset where a part before the delimiter line at ls ends: the
 * line end before the delimiter belongs to the delimiter. */
static size_t
part_end_before(const unsigned char *d, size_t part_start, size_t ls)
{
	size_t e = ls;

	if (e > part_start && d[e - 1] == '\n')
		e--;
	if (e > part_start && d[e - 1] == '\r')
		e--;
	return e;
}

/* Find the next delimiter line of p at or after pos: a line starting
 * with "--" boundary (dash, dlen bytes). Sets *ls_r, *le_r (its start and
 * line end) and returns its kind, or returns 0 when there is none. */
static int
next_delimiter(const unsigned char *d, const struct mime_part *p, size_t pos,
	       const char *dash, size_t dlen, size_t *ls_r, size_t *le_r)
{
	size_t end = p->body_end;
	const unsigned char *hit;

	while (pos < end &&
	       (hit = memmem(d + pos, end - pos, dash, dlen)) != NULL) {
		size_t i = (size_t)(hit - d);

		if (i == p->body_start || d[i - 1] == '\n') {
			size_t le = line_end(d, i, end);
			int kind = delimiter_kind(d, i, le, dash + 2, dlen - 2);

			if (kind != 0) {
				*ls_r = i;
				*le_r = le;
				return kind;
			}
		}
		pos = i + 1;
	}
	return 0;
}

/* Split the body of multipart p at its boundary (RFC 2046 section 5.1.1).
 * Preamble and epilogue are skipped; a missing close-delimiter ends the
 * last part at the end of the body; no delimiter at all gives one empty
 * text/plain part, so the answer keeps the 1*body of RFC 3501's ABNF. */
static void
split_multipart(struct parse_ctx *c, struct mime_part *p, const char *b,
		unsigned depth)
{
	const unsigned char *d = c->msg->data;
	const char *dash = arena_printf(c->a, "--%s", b);
	size_t dlen = strlen(dash), pos = p->body_start, end = p->body_end;
	size_t part_start = 0, ls, le;
	bool in_part = false, closed = false;
	struct mime_part *tail = NULL;
	int kind;

	while ((kind = next_delimiter(d, p, pos, dash, dlen, &ls, &le)) != 0) {
		if (in_part)
			add_child(c, p, &tail, part_start,
				  part_end_before(d, part_start, ls), depth);
		if (kind == 2 || c->msg->nparts >= MIME_MAX_PARTS) {
			closed = true;
			break;
		}
		pos = le < end ? le + 1 : end;
		in_part = true;
		part_start = pos;
	}
	if (!closed && in_part)
		add_child(c, p, &tail, part_start, end, depth);
	if (p->nchildren == 0)
		add_child(c, p, &tail, end, end, MIME_MAX_DEPTH);
}

/* Make a part that cannot be descended into an opaque leaf. */
static void
make_opaque(struct mime_part *p)
{
	p->type = "application";
	p->subtype = "octet-stream";
	p->is_multipart = false;
	p->is_rfc822 = false;
}

static void
find_header_end(struct parse_ctx *c, struct mime_part *p, size_t start,
		size_t end)
{
	const unsigned char *d = c->msg->data;
	size_t pos = start;

	p->hdr_start = start;
	while (pos < end && !is_blank_line(d, pos, end))
		pos = next_line(d, pos, end);
	/* The blank line belongs to the header; without one the header runs
	 * to the end and the body is empty. */
	if (pos < end)
		pos = next_line(d, pos, end);
	p->hdr_end = pos;
	p->body_start = pos;
	p->body_end = end;
}

static void
parse_part(struct parse_ctx *c, struct mime_part *p, size_t start, size_t end,
	   unsigned depth, bool in_digest)
{
	const char *boundary;

	find_header_end(c, p, start, end);
	parse_mime_fields(c, p);
	count_body(c, p);
	if (p->type == NULL) {
		/* RFC 2046 section 5.1.5: a digest's parts default to
		 * message/rfc822; everything else to text/plain. */
		p->type = in_digest ? "message" : "text";
		p->subtype = in_digest ? "rfc822" : "plain";
	}
	p->is_multipart = strcasecmp(p->type, "multipart") == 0;
	p->is_rfc822 = strcasecmp(p->type, "message") == 0 &&
		       strcasecmp(p->subtype, "rfc822") == 0;
	if (!p->is_multipart && !p->is_rfc822)
		return;
	if (depth >= MIME_MAX_DEPTH || c->msg->nparts >= MIME_MAX_PARTS) {
		make_opaque(p);
		return;
	}
	if (p->is_rfc822) {
		struct mime_part *m = new_part(c, p);

		m->is_message_root = true;
		p->children = m;
		p->nchildren = 1;
		parse_part(c, m, p->body_start, p->body_end, depth + 1, false);
		return;
	}
	boundary = param_get(p->params, "boundary");
	if (boundary == NULL || *boundary == '\0' || strlen(boundary) > 200) {
		/* Without a usable boundary nothing can be split: the
		 * multipart keeps its type and gets one empty part, as
		 * Dovecot answers too. */
		struct mime_part *tail = NULL;

		add_child(c, p, &tail, p->body_end, p->body_end,
			  MIME_MAX_DEPTH);
		return;
	}
	split_multipart(c, p, boundary, depth);
}

struct mime_message *
mime_parse(struct arena *a, const unsigned char *data, size_t len)
{
	struct parse_ctx c = {0};
	struct mime_message *msg = arena_calloc(a, 1, sizeof(*msg));

	msg->data = data;
	msg->len = len;
	msg->arena = a;
	c.msg = msg;
	c.a = a;
	count_blocks(&c);
	msg->root = new_part(&c, NULL);
	msg->root->is_message_root = true;
	parse_part(&c, msg->root, 0, len, 0, false);
	return msg;
}
