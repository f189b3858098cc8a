/* ENVELOPE (RFC 3501 section 7.4.2) from an RFC 5322 header: address
 * lists with groups, route addresses and comments, parsed tolerantly, and
 * the nstring writer the FETCH data items share (resp.c's). Never touches the
 * filesystem.
 */
#include "protocol/mime-private.h"
#include "protocol/imap-private.h"

#include <string.h>

/* The FETCH data items write their strings with resp.c's writer. */
int
mime_write_nstring_n(struct buf *out, const char *s, size_t n)
{
	return imap_resp_string(out, s, n);
}

int
mime_write_nstring(struct buf *out, const char *s)
{
	return imap_resp_nstring(out, s, s != NULL ? strlen(s) : 0);
}

struct address {
	struct address *next;
	const char *name, *adl, *mailbox, *host;
};

struct addr_parser {
	struct arena *a;
	const char *s;
	const char *comment; /* the last comment seen, a name fallback */
	struct address *head, **tail;
};

static void
skip_cfws(struct addr_parser *p)
{
	const char *s = p->s, *cstart = NULL;
	int depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '(') {
			if (depth++ == 0)
				cstart = s + 1;
		} else if (*s == ')' && depth > 0) {
			if (--depth == 0)
				p->comment = arena_strndup(
					p->a, cstart, (size_t)(s - cstart));
		} else if (*s == '\\' && depth > 0 && s[1] != '\0')
			s++;
		else if (depth == 0 && *s != ' ' && *s != '\t')
			break;
	}
	p->s = s;
}

static bool
is_atom_char(char c)
{
	return (unsigned char)c > ' ' && c != 0x7f &&
	       strchr("()<>[]:;@\\,\"", c) == NULL;
}

/* word = atom / quoted-string. Appends the word without quoting to name
 * (space-separated) and as written to raw. Returns false at no word. */
static bool
read_word(struct addr_parser *p, struct buf *name, struct buf *raw)
{
	const char *s = p->s, *start = s;

	if (name->len > 0)
		(void)buf_putc(name, ' '); /* no maximum: cannot fail */
	if (*s == '"') {
		for (s++; *s != '\0' && *s != '"'; s++) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			(void)buf_putc(name, *s);
		}
		if (*s == '"')
			s++;
	} else {
		while (is_atom_char(*s))
			s++;
		if (s == start) {
			if (name->len > 0)
				buf_truncate(name, name->len - 1);
			return false;
		}
		(void)buf_append(name, start, (size_t)(s - start));
	}
	(void)buf_append(raw, start, (size_t)(s - start));
	p->s = s;
	return true;
}

/* Collect raw text up to one of the stop characters, dropping CFWS
 * (domain, route, and the parts of a broken address). */
static char *
read_until(struct addr_parser *p, const char *stop)
{
	struct buf b;
	char *v;

	buf_init(&b, 0);
	for (skip_cfws(p); *p->s != '\0' && strchr(stop, *p->s) == NULL;
	     skip_cfws(p)) {
		if (*p->s == '[') {
			const char *e = strchr(p->s, ']');
			size_t n = e != NULL ? (size_t)(e - p->s) + 1
					     : strlen(p->s);

			(void)buf_append(&b, p->s, n);
			p->s += n;
		} else if (*p->s == '"') {
			struct buf ign;

			buf_init(&ign, 0);
			(void)read_word(p, &ign, &b);
			buf_free(&ign);
		} else
			(void)buf_putc(&b, *p->s++);
	}
	v = arena_strndup(p->a, buf_cstr(&b), b.len);
	buf_free(&b);
	return v;
}

/* domain = dot-atom / domain-literal, CFWS allowed around the dots
 * (RFC 5322 sections 3.4.1, 4.4); stops at anything else. */
static char *
read_domain(struct addr_parser *p)
{
	struct buf b;
	char *v;

	buf_init(&b, 0);
	for (skip_cfws(p); *p->s == '[' || is_atom_char(*p->s); skip_cfws(p)) {
		const char *t = p->s;

		if (*t == '[') {
			const char *e = strchr(t, ']');

			p->s = e != NULL ? e + 1 : t + strlen(t);
		} else
			while (is_atom_char(*p->s))
				p->s++;
		(void)buf_append(&b, t, (size_t)(p->s - t));
		skip_cfws(p);
		if (b.data[b.len - 1] != '.' && *p->s != '.')
			break;
	}
	v = arena_strndup(p->a, buf_cstr(&b), b.len);
	buf_free(&b);
	return v;
}

static void
add(struct addr_parser *p, const char *name, const char *adl,
    const char *mailbox, const char *host)
{
	struct address *ad = arena_calloc(p->a, 1, sizeof(*ad));

	ad->name = name != NULL && *name != '\0' ? name : NULL;
	ad->adl = adl != NULL && *adl != '\0' ? adl : NULL;
	ad->mailbox = mailbox;
	ad->host = host;
	*p->tail = ad;
	p->tail = &ad->next;
}

/* angle-addr = [CFWS] "<" [obs-route] addr-spec ">" [CFWS]
 * obs-route = obs-domain-list ":"   (RFC 5322 sections 3.4, 4.4) */
static void
angle_addr(struct addr_parser *p, const char *name)
{
	char *adl = NULL, *local, *host = NULL;

	p->s++;
	skip_cfws(p);
	if (*p->s == '@') {
		adl = read_until(p, ":>");
		if (*p->s == ':')
			p->s++;
	}
	local = read_until(p, "@>");
	if (*p->s == '@') {
		p->s++;
		host = read_until(p, ">");
	}
	if (*p->s == '>')
		p->s++;
	if (*local == '\0' && host == NULL && (name == NULL || *name == '\0'))
		return; /* "<>", the null return path: no address */
	add(p, name, adl, local, host != NULL ? host : "");
}

/* mailbox = name-addr / addr-spec, or group when the phrase ends in ":".
 * Reads one of them; stops before "," or ";". */
static void read_mailbox(struct addr_parser *p, bool in_group);

static void
read_group(struct addr_parser *p, const char *name)
{
	p->s++;
	add(p, NULL, NULL, name, NULL);
	for (skip_cfws(p); *p->s != '\0' && *p->s != ';'; skip_cfws(p)) {
		if (*p->s == ',') {
			p->s++;
			continue;
		}
		read_mailbox(p, true);
	}
	if (*p->s == ';')
		p->s++;
	add(p, NULL, NULL, NULL, NULL);
}

static void
read_mailbox(struct addr_parser *p, bool in_group)
{
	struct buf name, raw;
	char *nm;
	const char *host;

	buf_init(&name, 0);
	buf_init(&raw, 0);
	p->comment = NULL;
	for (skip_cfws(p); read_word(p, &name, &raw); skip_cfws(p))
		;
	nm = arena_strndup(p->a, buf_cstr(&name), name.len);
	if (*p->s == '<')
		angle_addr(p, nm);
	else if (*p->s == ':' && !in_group)
		read_group(p, nm);
	else if (*p->s == '@' || raw.len > 0) {
		host = "";
		if (*p->s == '@') {
			p->s++;
			host = read_domain(p);
		}
		skip_cfws(p);
		add(p, p->comment, NULL,
		    arena_strndup(p->a, buf_cstr(&raw), raw.len), host);
	}
	/* Whatever is left of a broken address, up to the next separator. */
	(void)read_until(p, in_group ? ",;" : ",");
	buf_free(&name);
	buf_free(&raw);
}

/* address-list = (address *("," address)) (RFC 5322 section 3.4) */
static struct address *
parse_addresses(struct arena *a, const char *s)
{
	struct addr_parser p = {.a = a, .s = s};

	p.tail = &p.head;
	for (skip_cfws(&p); *p.s != '\0'; skip_cfws(&p)) {
		if (*p.s == ',' || *p.s == ';') {
			p.s++;
			continue;
		}
		read_mailbox(&p, false);
	}
	return p.head;
}

/* env-from = "(" 1*address ")" / nil
 * address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")" */
static int
write_addresses(struct buf *out, const struct address *ad)
{
	if (ad == NULL)
		return buf_puts(out, "NIL");
	if (buf_putc(out, '(') < 0)
		return -1;
	for (; ad != NULL; ad = ad->next)
		if (buf_putc(out, '(') < 0 ||
		    mime_write_nstring(out, ad->name) < 0 ||
		    buf_putc(out, ' ') < 0 ||
		    mime_write_nstring(out, ad->adl) < 0 ||
		    buf_putc(out, ' ') < 0 ||
		    mime_write_nstring(out, ad->mailbox) < 0 ||
		    buf_putc(out, ' ') < 0 ||
		    mime_write_nstring(out, ad->host) < 0 ||
		    buf_putc(out, ')') < 0)
			return -1;
	return buf_putc(out, ')');
}

enum env_field {
	ENV_DATE,
	ENV_SUBJECT,
	ENV_FROM,
	ENV_SENDER,
	ENV_REPLY_TO,
	ENV_TO,
	ENV_CC,
	ENV_BCC,
	ENV_IN_REPLY_TO,
	ENV_MESSAGE_ID,
	ENV_COUNT
};

static const char *const env_names[ENV_COUNT] = {
	"date", "subject", "from", "sender",      "reply-to",
	"to",   "cc",      "bcc",  "in-reply-to", "message-id",
};

static bool
is_address_field(int i)
{
	return i >= ENV_FROM && i <= ENV_BCC;
}

/* envelope = "(" env-date SP env-subject SP env-from SP env-sender SP
 *   env-reply-to SP env-to SP env-cc SP env-bcc SP env-in-reply-to SP
 *   env-message-id ")"   (RFC 3501 section 9) */
int
mime_write_envelope(struct buf *out, struct arena *a,
		    const struct mime_message *msg, const struct mime_part *p)
{
	const char *val[ENV_COUNT] = {NULL};
	struct address *addr[ENV_COUNT] = {NULL};
	struct mime_header_iter it;
	struct mime_field f;
	int i;

	mime_header_iter_init(&it, msg->data, p->hdr_start, p->hdr_end);
	while (mime_header_next(&it, &f))
		for (i = 0; i < ENV_COUNT; i++)
			if (val[i] == NULL &&
			    f.name_len == strlen(env_names[i]) &&
			    strncasecmp((const char *)f.name, env_names[i],
					f.name_len) == 0)
				val[i] = mime_field_value(a, msg->data, &f);
	for (i = ENV_FROM; i <= ENV_BCC; i++)
		if (val[i] != NULL)
			addr[i] = parse_addresses(a, val[i]);
	/* Sender and Reply-To default to From when absent or empty (RFC
	 * 3501 section 7.4.2). */
	if (addr[ENV_SENDER] == NULL)
		addr[ENV_SENDER] = addr[ENV_FROM];
	if (addr[ENV_REPLY_TO] == NULL)
		addr[ENV_REPLY_TO] = addr[ENV_FROM];
	if (buf_putc(out, '(') < 0)
		return -1;
	for (i = 0; i < ENV_COUNT; i++) {
		if (i > 0 && buf_putc(out, ' ') < 0)
			return -1;
		if (is_address_field(i) ? write_addresses(out, addr[i]) < 0
					: mime_write_nstring(out, val[i]) < 0)
			return -1;
	}
	return buf_putc(out, ')');
}
