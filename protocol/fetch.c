/* The FETCH item parser (RFC 3501 6.4.5 and 9): macros, simple items and
 * BODY[section]<partial> specifications, read out of the argument tree
 * (a section arrives as one token, brackets and all, see parser.c) into
 * struct imap_fetch. Pure parsing: never touches a mailbox or the client.
 */
#include "protocol/fetch-private.h"

#include <string.h>
#include <strings.h>

#include "lib/num.h"

/* Items without a section, by name (any case). */
static const struct {
	const char *name;
	enum imap_fetch_kind kind;
} simple_items[] = {
	{"UID", IMAP_FETCH_UID},
	{"FLAGS", IMAP_FETCH_FLAGS},
	{"INTERNALDATE", IMAP_FETCH_INTERNALDATE},
	{"RFC822.SIZE", IMAP_FETCH_RFC822_SIZE},
	{"ENVELOPE", IMAP_FETCH_ENVELOPE},
	{"BODY", IMAP_FETCH_BODY},
	{"BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE},
};

/* "RFC822" [".HEADER" / ".TEXT"]: the same as BODY[], BODY.PEEK[HEADER]
 * and BODY[TEXT], under their own response names (RFC 3501 6.4.5). */
static const struct {
	const char *name;
	enum mime_section_text text;
	bool sets_seen;
} rfc822_items[] = {
	{"RFC822", MIME_SECTION_ALL, true},
	{"RFC822.HEADER", MIME_SECTION_HEADER, false},
	{"RFC822.TEXT", MIME_SECTION_TEXT, true},
};

/* The words of section-text, and the response spelling of each. */
static const struct {
	const char *word;
	enum mime_section_text text;
} section_words[] = {
	{"HEADER", MIME_SECTION_HEADER},
	{"HEADER.FIELDS", MIME_SECTION_FIELDS},
	{"HEADER.FIELDS.NOT", MIME_SECTION_FIELDS_NOT},
	{"TEXT", MIME_SECTION_TEXT},
	{"MIME", MIME_SECTION_MIME},
};

#define N_OF(a) (sizeof(a) / sizeof(*(a)))

/* A read position in one token. */
struct cur {
	const char *s;
	size_t pos, len;
};

static bool
cur_at(const struct cur *c, char ch)
{
	return c->pos < c->len && c->s[c->pos] == ch;
}

static bool
cur_digit(const struct cur *c)
{
	return c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9';
}

/* number = 1*DIGIT; nz-number = digit-nz *DIGIT   (RFC 3501 9) */
static int
cur_number(struct cur *c, bool nonzero, uint32_t *n_r)
{
	size_t start = c->pos;

	while (cur_digit(c))
		c->pos++;
	if (num_parse_u32(c->s + start, c->pos - start, n_r) < 0)
		return -1;
	if (nonzero && (*n_r == 0 || c->s[start] == '0'))
		return -1;
	return 0;
}

/* header-fld-name = astring                          (RFC 3501 9)
 * Inside the brackets an atom ends at SP, ")" or "]"; a quoted name
 * may hold escaped quotes and backslashes. The name is kept unescaped. */
static int
field_name(struct arena *a, struct cur *c, const char **name_r)
{
	size_t start = c->pos, n = 0;
	char *out;

	if (!cur_at(c, '"')) {
		while (c->pos < c->len && c->s[c->pos] != ')' &&
		       imap_is_atom_char((unsigned char)c->s[c->pos]))
			c->pos++;
		if (c->pos == start)
			return -1;
		*name_r = arena_strndup(a, c->s + start, c->pos - start);
		return 0;
	}
	out = arena_alloc(a, c->len - start);
	for (c->pos++; c->pos < c->len && c->s[c->pos] != '"'; c->pos++) {
		if (c->s[c->pos] == '\\' && c->pos + 1 < c->len)
			c->pos++;
		out[n++] = c->s[c->pos];
	}
	if (!cur_at(c, '"') || n == 0)
		return -1;
	c->pos++;
	out[n] = '\0';
	*name_r = out;
	return 0;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")"
 * (RFC 3501 9), appended to the response name as given. */
static int
header_list(struct arena *a, struct cur *c, struct mime_section *spec,
	    struct buf *name)
{
	/* At most one name per two bytes of the token. */
	const char **fields = arena_alloc(a, (c->len / 2 + 1) * sizeof(char *));
	size_t n = 0;

	if (!cur_at(c, ' '))
		return -1;
	c->pos++;
	if (!cur_at(c, '('))
		return -1;
	c->pos++;
	(void)buf_puts(name, " ("); /* name has no maximum */
	for (;;) {
		if (field_name(a, c, &fields[n]) < 0)
			return -1;
		if (n > 0)
			(void)buf_putc(name, ' ');
		(void)imap_resp_astring(name, fields[n], strlen(fields[n]));
		n++;
		if (cur_at(c, ')'))
			break;
		if (!cur_at(c, ' '))
			return -1;
		c->pos++;
	}
	c->pos++;
	(void)buf_putc(name, ')');
	spec->fields = fields;
	spec->nfields = n;
	return 0;
}

/* section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list /
 *                   "TEXT"
 * section-text    = section-msgtext / "MIME"          (RFC 3501 9) */
static int
section_text(struct arena *a, struct cur *c, struct mime_section *spec,
	     struct buf *name)
{
	size_t start = c->pos, len, i;

	while (c->pos < c->len && c->s[c->pos] != ']' && c->s[c->pos] != ' ')
		c->pos++;
	len = c->pos - start;
	for (i = 0; i < N_OF(section_words); i++) {
		if (strlen(section_words[i].word) == len &&
		    strncasecmp(section_words[i].word, c->s + start, len) == 0)
			break;
	}
	if (i == N_OF(section_words))
		return -1;
	spec->text = section_words[i].text;
	if (spec->text == MIME_SECTION_MIME && spec->nparts == 0)
		return -1;
	(void)buf_puts(name, section_words[i].word); /* no maximum */
	if (spec->text == MIME_SECTION_FIELDS ||
	    spec->text == MIME_SECTION_FIELDS_NOT)
		return header_list(a, c, spec, name);
	return 0;
}

/* section      = "[" [section-spec] "]"
 * section-spec = section-msgtext / (section-part ["." section-text])
 * section-part = nz-number *("." nz-number)          (RFC 3501 9)
 * c is just after "[". */
static int
section(struct arena *a, struct cur *c, struct mime_section *spec,
	struct buf *name)
{
	/* At most one part number per two bytes of the token. */
	uint32_t *parts = arena_alloc(a, (c->len / 2 + 1) * sizeof(uint32_t));

	spec->parts = parts;
	while (cur_digit(c)) {
		if (cur_number(c, true, &parts[spec->nparts]) < 0)
			return -1;
		(void)buf_printf(name, "%s%u", spec->nparts > 0 ? "." : "",
				 parts[spec->nparts]); /* no maximum */
		spec->nparts++;
		if (!cur_at(c, '.'))
			break;
		c->pos++;
		if (!cur_digit(c)) {
			(void)buf_putc(name, '.');
			if (section_text(a, c, spec, name) < 0)
				return -1;
			break;
		}
	}
	if (spec->nparts == 0 && !cur_at(c, ']') &&
	    section_text(a, c, spec, name) < 0)
		return -1;
	if (!cur_at(c, ']'))
		return -1;
	c->pos++;
	(void)buf_putc(name, ']');
	return 0;
}

/* ["<" number "." nz-number ">"]                      (RFC 3501 9) */
static int
partial(struct cur *c, struct mime_section *spec)
{
	uint32_t origin, count;

	if (c->pos == c->len)
		return 0;
	if (!cur_at(c, '<'))
		return -1;
	c->pos++;
	if (cur_number(c, false, &origin) < 0 || !cur_at(c, '.'))
		return -1;
	c->pos++;
	if (cur_number(c, true, &count) < 0 || !cur_at(c, '>'))
		return -1;
	c->pos++;
	spec->has_partial = true;
	spec->origin = origin;
	spec->count = count;
	return c->pos == c->len ? 0 : -1;
}

/* "BODY" section [partial] / "BODY.PEEK" section [partial] */
static int
body_section(struct arena *a, const char *s, size_t len,
	     struct imap_fetch_item *it)
{
	struct cur c = {s, 0, len};
	struct buf name;
	int ret = -1;

	if (len >= 5 && strncasecmp(s, "BODY[", 5) == 0) {
		it->sets_seen = true;
		c.pos = 5;
	} else if (len >= 10 && strncasecmp(s, "BODY.PEEK[", 10) == 0) {
		c.pos = 10;
	} else {
		return -1;
	}
	buf_init(&name, 0);
	(void)buf_puts(&name, "BODY["); /* no maximum */
	if (section(a, &c, &it->spec, &name) == 0 &&
	    partial(&c, &it->spec) == 0) {
		it->kind = IMAP_FETCH_SECTION;
		it->name = arena_strndup(a, buf_cstr(&name), name.len);
		it->needs_mime = it->spec.nparts > 0 ||
				 it->spec.text != MIME_SECTION_ALL;
		it->needs_body = it->spec.nparts > 0 ||
				 it->spec.text == MIME_SECTION_TEXT;
		ret = 0;
	}
	buf_free(&name);
	return ret;
}

/* fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" /
 *             "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
 *             "BODY" ["STRUCTURE"] / "UID" /
 *             "BODY" section ["<" number "." nz-number ">"] /
 *             "BODY.PEEK" section ["<" number "." nz-number ">"]
 *                                                      (RFC 3501 9) */
static int
fetch_att(struct arena *a, const char *s, size_t len,
	  struct imap_fetch_item *it)
{
	size_t i;

	memset(it, 0, sizeof(*it));
	for (i = 0; i < N_OF(simple_items); i++) {
		if (strcasecmp(s, simple_items[i].name) == 0) {
			it->kind = simple_items[i].kind;
			it->needs_body = it->kind == IMAP_FETCH_BODY ||
					 it->kind == IMAP_FETCH_BODYSTRUCTURE;
			it->needs_mime = it->needs_body ||
					 it->kind == IMAP_FETCH_ENVELOPE;
			return 0;
		}
	}
	for (i = 0; i < N_OF(rfc822_items); i++) {
		if (strcasecmp(s, rfc822_items[i].name) == 0) {
			it->kind = IMAP_FETCH_SECTION;
			it->spec.text = rfc822_items[i].text;
			it->name = rfc822_items[i].name;
			it->sets_seen = rfc822_items[i].sets_seen;
			it->needs_mime = it->spec.text != MIME_SECTION_ALL;
			it->needs_body = it->spec.text == MIME_SECTION_TEXT;
			return 0;
		}
	}
	return body_section(a, s, len, it);
}

/* The macros (RFC 3501 6.4.5); they stand alone, never in a list. */
static const char *const macro_all[] = {"FLAGS", "INTERNALDATE", "RFC822.SIZE",
					"ENVELOPE", NULL};
static const char *const macro_fast[] = {"FLAGS", "INTERNALDATE", "RFC822.SIZE",
					 NULL};
static const char *const macro_full[] = {
	"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY", NULL};

static const char *const *
macro(const struct imap_arg *arg)
{
	if (arg->type != IMAP_ARG_ATOM)
		return NULL;
	if (strcasecmp(arg->str, "ALL") == 0)
		return macro_all;
	if (strcasecmp(arg->str, "FAST") == 0)
		return macro_fast;
	if (strcasecmp(arg->str, "FULL") == 0)
		return macro_full;
	return NULL;
}

/* Fill the summary flags of f from its items. */
static void
summarise(struct imap_fetch *f)
{
	size_t i;

	for (i = 0; i < f->count; i++) {
		const struct imap_fetch_item *it = &f->items[i];

		f->has_uid |= it->kind == IMAP_FETCH_UID;
		f->has_flags |= it->kind == IMAP_FETCH_FLAGS;
		f->has_size |= it->kind == IMAP_FETCH_RFC822_SIZE;
		f->sets_seen |= it->sets_seen;
		f->needs_mime |= it->needs_mime;
		f->needs_body |= it->needs_body;
		f->needs_content |=
			it->needs_mime || it->kind == IMAP_FETCH_SECTION;
	}
}

int
imap_fetch_parse(struct arena *a, const struct imap_arg *arg,
		 struct imap_fetch *f_r, const char **error_r)
{
	const char *const *m = macro(arg);
	const struct imap_arg *list = arg;
	unsigned n = 1, i;

	memset(f_r, 0, sizeof(*f_r));
	if (m != NULL) {
		for (n = 0; m[n] != NULL; n++)
			;
		f_r->items = arena_alloc(a, n * sizeof(*f_r->items));
		for (i = 0; i < n; i++) /* the macros hold known items */
			(void)fetch_att(a, m[i], strlen(m[i]), &f_r->items[i]);
		f_r->count = n;
		summarise(f_r);
		return 0;
	}
	if (arg->type == IMAP_ARG_LIST) {
		list = arg->list;
		n = arg->count;
		if (n == 0) {
			*error_r = "Empty FETCH item list";
			return -1;
		}
	}
	f_r->items = arena_alloc(a, n * sizeof(*f_r->items));
	for (i = 0; i < n; i++) {
		if (list[i].type != IMAP_ARG_ATOM ||
		    fetch_att(a, list[i].str, list[i].len, &f_r->items[i]) <
			    0) {
			*error_r = "Invalid or unknown FETCH item";
			return -1;
		}
	}
	f_r->count = n;
	summarise(f_r);
	return 0;
}
