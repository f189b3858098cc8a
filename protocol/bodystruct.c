/* BODY and BODYSTRUCTURE (RFC 3501 sections 7.4.2 and 9) from the part
 * tree of mime.c: basic, text, message/rfc822 and multipart bodies, with
 * the extension data of BODYSTRUCTURE. Never touches the filesystem.
 */
#include "protocol/mime-private.h"

#include <string.h>

static int
sp(struct buf *out)
{
	return buf_putc(out, ' ');
}

static bool
has_param(const struct mime_param *p, const char *name)
{
	for (; p != NULL; p = p->next)
		if (strcasecmp(p->name, name) == 0)
			return true;
	return false;
}

/* body-fld-param = "(" string SP string *(SP string SP string) ")" / nil
 * A text part without a charset gets the RFC 2045 default us-ascii. */
static int
write_params(struct buf *out, struct arena *a, const struct mime_param *p,
	     bool add_charset)
{
	bool first = true;

	if (p == NULL && !add_charset)
		return buf_puts(out, "NIL");
	if (buf_putc(out, '(') < 0)
		return -1;
	if (add_charset) {
		if (buf_puts(out, "\"charset\" \"us-ascii\"") < 0)
			return -1;
		first = false;
	}
	for (; p != NULL; p = p->next) {
		const char *name = p->is_extended
					   ? arena_printf(a, "%s*", p->name)
					   : p->name;

		if ((!first && sp(out) < 0) ||
		    mime_write_nstring(out, name) < 0 || sp(out) < 0 ||
		    mime_write_nstring(out, p->value) < 0)
			return -1;
		first = false;
	}
	return buf_putc(out, ')');
}

/* body-fld-dsp = "(" string SP body-fld-param ")" / nil */
static int
write_disposition(struct buf *out, struct arena *a, const struct mime_part *p)
{
	if (p->disposition == NULL)
		return buf_puts(out, "NIL");
	if (buf_putc(out, '(') < 0 ||
	    mime_write_nstring(out, p->disposition) < 0 || sp(out) < 0 ||
	    write_params(out, a, p->disp_params, false) < 0)
		return -1;
	return buf_putc(out, ')');
}

/* body-fld-lang = nstring / "(" string *(SP string) ")"
 * Always the list form when present, as Dovecot writes it too. */
static int
write_language(struct buf *out, const char *lang)
{
	const char *seps = ", \t", *s;
	size_t n = 0, len;

	if (lang == NULL || lang[strspn(lang, seps)] == '\0')
		return buf_puts(out, "NIL");
	if (buf_putc(out, '(') < 0)
		return -1;
	for (s = lang + strspn(lang, seps); *s != '\0'; s += strspn(s, seps)) {
		len = strcspn(s, seps);
		if ((n++ > 0 && sp(out) < 0) ||
		    mime_write_nstring_n(out, s, len) < 0)
			return -1;
		s += len;
	}
	return buf_putc(out, ')');
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc, the tail shared by
 * body-ext-1part and body-ext-mpart. */
static int
write_ext_tail(struct buf *out, struct arena *a, const struct mime_part *p)
{
	if (sp(out) < 0 || write_disposition(out, a, p) < 0 || sp(out) < 0 ||
	    write_language(out, p->language) < 0 || sp(out) < 0)
		return -1;
	return mime_write_nstring(out, p->location);
}

/* body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart] */
static int
write_multipart(struct buf *out, struct arena *a,
		const struct mime_message *msg, const struct mime_part *p,
		bool extended)
{
	const struct mime_part *ch;

	for (ch = p->children; ch != NULL; ch = ch->next)
		if (mime_write_bodystructure(out, a, msg, ch, extended) < 0)
			return -1;
	if (sp(out) < 0 || mime_write_nstring(out, p->subtype) < 0)
		return -1;
	if (!extended)
		return 0;
	if (sp(out) < 0 || write_params(out, a, p->params, false) < 0)
		return -1;
	return write_ext_tail(out, a, p);
}

/* body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP
 *               body-fld-enc SP body-fld-octets */
static int
write_fields(struct buf *out, struct arena *a, const struct mime_part *p,
	     bool is_text)
{
	bool add_charset = is_text && !has_param(p->params, "charset");

	if (write_params(out, a, p->params, add_charset) < 0 || sp(out) < 0 ||
	    mime_write_nstring(out, p->id) < 0 || sp(out) < 0 ||
	    mime_write_nstring(out, p->description) < 0 || sp(out) < 0 ||
	    mime_write_nstring(out,
			       p->encoding != NULL ? p->encoding : "7bit") < 0)
		return -1;
	return buf_printf(out, " %llu", (unsigned long long)p->body_size);
}

/* body-type-1part = (body-type-basic / body-type-msg / body-type-text)
 *                   [SP body-ext-1part]
 * body-type-msg   = media-message SP body-fields SP envelope
 *                   SP body SP body-fld-lines
 * body-type-text  = media-text SP body-fields SP body-fld-lines
 * body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang
 *                   [SP body-fld-loc *(SP body-extension)]]] */
static int
write_single(struct buf *out, struct arena *a, const struct mime_message *msg,
	     const struct mime_part *p, bool extended)
{
	bool is_text = strcasecmp(p->type, "text") == 0;

	if (mime_write_nstring(out, p->type) < 0 || sp(out) < 0 ||
	    mime_write_nstring(out, p->subtype) < 0 || sp(out) < 0 ||
	    write_fields(out, a, p, is_text) < 0)
		return -1;
	if (p->is_rfc822 &&
	    (sp(out) < 0 || mime_write_envelope(out, a, msg, p->children) < 0 ||
	     sp(out) < 0 ||
	     mime_write_bodystructure(out, a, msg, p->children, extended) < 0))
		return -1;
	if ((is_text || p->is_rfc822) &&
	    buf_printf(out, " %llu", (unsigned long long)p->body_lines) < 0)
		return -1;
	if (!extended)
		return 0;
	if (sp(out) < 0 || mime_write_nstring(out, p->md5) < 0)
		return -1;
	return write_ext_tail(out, a, p);
}

/* body = "(" (body-type-1part / body-type-mpart) ")" */
int
mime_write_bodystructure(struct buf *out, struct arena *a,
			 const struct mime_message *msg,
			 const struct mime_part *p, bool extended)
{
	int r;

	if (buf_putc(out, '(') < 0)
		return -1;
	r = p->is_multipart ? write_multipart(out, a, msg, p, extended)
			    : write_single(out, a, msg, p, extended);
	if (r < 0)
		return -1;
	return buf_putc(out, ')');
}
