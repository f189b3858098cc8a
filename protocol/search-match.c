/* Matching a SEARCH key tree against one message at a time (RFC 3501
 * 6.4.4). A first pass decides with what the box knows without I/O
 * (flags, keywords, UIDs, sizes, internal dates); only when it cannot is
 * the message read, its header scanned for header keys, and its MIME
 * structure parsed for BODY and TEXT. Never touches the filesystem itself:
 * the bytes come from maildir's read-only view.
 */
#include "protocol/search-private.h"

#include <string.h>
#include <strings.h>

#include "protocol/mime-private.h"

/* The answer of a key: the first pass says MAYBE where it would need the
 * message's content. */
enum tri {
	TRI_NO,
	TRI_YES,
	TRI_MAYBE,
};

/* The message being matched, loaded lazily. */
struct msg_state {
	uint32_t seq, uid;
	bool recent;
	const struct md_msg *m;
	bool opened; /* md_box_view() was tried */
	bool gone;   /* ... and failed: the message cannot match */
	struct md_view view;
	/* The top-level header block with its blank line: from the
	 * metadata cache, or the start of view. NULL until a header key
	 * needs it. */
	const unsigned char *hdr;
	size_t hdr_len;
	struct mime_message *mime; /* NULL until BODY or TEXT needs it */
	bool has_wire_size;
	uint64_t wire_size;
	bool has_sent_day;
	int64_t sent_day; /* see sent_day() */
};

struct search_ctx {
	struct arena *a;
	struct md_store *store;
	struct md_box *box;
	const struct search_key *root;
	uint32_t seq_count, max_uid;
	uint32_t opened;
	bool failed;
	struct msg_state cur;
};

static enum tri
tri_of(bool b)
{
	return b ? TRI_YES : TRI_NO;
}

/* Resolve keyword names to the box's bits once, before any message. */
static void
bind_keywords(struct md_box *box, struct search_key *k)
{
	unsigned i, idx;

	if (k->type == SEARCH_KEYWORD || k->type == SEARCH_UNKEYWORD) {
		/* An unknown keyword is set on no message: not an error. */
		k->kw_bit = md_box_keyword_index(box, k->str, false, &idx) == 0
				    ? 1u << idx
				    : 0;
	}
	for (i = 0; i < k->count; i++)
		bind_keywords(box, &k->children[i]);
}

struct search_ctx *
search_begin(struct arena *a, struct md_store *store, struct md_box *box,
	     struct search_key *root, uint32_t seq_count, uint32_t max_uid)
{
	struct search_ctx *c = arena_calloc(a, 1, sizeof(*c));

	c->a = a;
	c->store = store;
	c->box = box;
	c->root = root;
	c->seq_count = seq_count;
	c->max_uid = max_uid;
	bind_keywords(box, root);
	return c;
}

uint32_t
search_opened(const struct search_ctx *c)
{
	return c->opened;
}

bool
search_failed(const struct search_ctx *c)
{
	return c->failed;
}

/* Map the message. A message expunged meanwhile (by another session)
 * just does not match; any other failure stops the search. */
static bool
load(struct search_ctx *c)
{
	struct msg_state *m = &c->cur;

	if (m->opened)
		return !m->gone;
	m->opened = true;
	c->opened++;
	if (md_box_view(c->box, m->uid, &m->view) < 0) {
		enum md_err kind = md_last_error(c->store, NULL);

		m->gone = true;
		if (kind != MD_ERR_EXPUNGED && kind != MD_ERR_NOTFOUND)
			c->failed = true;
		return false;
	}
	return true;
}

static const unsigned char *
msg_data(const struct search_ctx *c)
{
	return (const unsigned char *)c->cur.view.data;
}

/* The header block, for the header keys: from the metadata cache when it
 * has it (a warm SEARCH FROM then opens no file), else read from the file
 * and given to the cache for the next search or FETCH. */
static bool
load_header(struct search_ctx *c)
{
	struct msg_state *m = &c->cur;
	const void *data;
	size_t len;

	if (m->hdr != NULL)
		return true;
	if (!m->opened && md_cache_get(c->box, m->uid, FETCH_CACHE_HEADER,
				       &data, &len) == 1) {
		m->hdr = data;
		m->hdr_len = len;
		return true;
	}
	if (!load(c))
		return false;
	m->hdr = msg_data(c);
	m->hdr_len = mime_header_block_len(m->view.data, m->view.size);
	md_cache_put(c->box, m->uid, FETCH_CACHE_HEADER, m->hdr, m->hdr_len);
	return true;
}

/* The day (since 1970-01-01) of the internal date t. A Maildir keeps it
 * as an mtime with no zone, and FETCH writes it in UTC ("+0000"), so its
 * date is the UTC one: ON matches the day the client is shown. */
static int64_t
utc_day(time_t t)
{
	int64_t secs = (int64_t)t;

	return secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
}

/* LARGER and SMALLER compare RFC822.SIZE, the size with CRLF line ends.
 * The store knows it for most messages; for the rest the file size
 * bounds it (each byte at most doubles), which decides most keys, and
 * only the others count the bare LFs. */
static enum tri
match_size(struct search_ctx *c, const struct search_key *k, bool full)
{
	struct msg_state *m = &c->cur;
	uint64_t lo = m->m->size, hi = 2 * (uint64_t)m->m->size;

	if (m->m->vsize > 0)
		lo = hi = m->m->vsize;
	else if (m->has_wire_size)
		lo = hi = m->wire_size;
	if (k->type == SEARCH_LARGER) {
		if (lo > k->number || hi <= k->number)
			return tri_of(lo > k->number);
	} else {
		if (hi < k->number || lo >= k->number)
			return tri_of(hi < k->number);
	}
	if (!full)
		return TRI_MAYBE;
	if (!load(c))
		return TRI_NO;
	m->wire_size = mime_wire_size(msg_data(c), 0, m->view.size);
	m->has_wire_size = true;
	return match_size(c, k, true);
}

static bool
field_is(const struct mime_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->name_len == n &&
	       strncasecmp((const char *)f->name, name, n) == 0;
}

/* HEADER field string: some field of that name whose value (unfolded,
 * RFC 2047 words decoded) contains the string; an empty string matches
 * any such field. Reads the header only: the iterator stops at the
 * blank line. */
static bool
header_match(struct search_ctx *c, const char *field, const char *needle)
{
	struct mime_header_iter it;
	struct mime_field f;

	mime_header_iter_init(&it, c->cur.hdr, 0, c->cur.hdr_len);
	while (mime_header_next(&it, &f)) {
		char *v;

		if (!field_is(&f, field))
			continue;
		if (needle[0] == '\0')
			return true;
		v = mime_field_value(c->a, c->cur.hdr, &f);
		v = mime_decode_header(c->a, v, strlen(v));
		if (mime_text_contains((const unsigned char *)v, strlen(v),
				       needle))
			return true;
	}
	return false;
}

static bool
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool
is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Skip white space and comments (nested). Dashes are not skipped: a
 * "1-Mar-2024" Date: field is no RFC 5322 date, and Dovecot does not
 * read it either. */
static const char *
skip_cfws(const char *s)
{
	unsigned depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '(')
			depth++;
		else if (*s == ')' && depth > 0)
			depth--;
		else if (depth == 0 && *s != ' ' && *s != '\t')
			break;
	}
	return s;
}

/* Digits at *sp, at most max + 1 of them (so that a caller sees when
 * there are too many); returns how many were read. */
static unsigned
read_digits(const char **sp, unsigned max, unsigned *v_r)
{
	const char *s = *sp;
	unsigned n = 0, v = 0;

	while (is_digit(*s) && n <= max) {
		v = v * 10 + (unsigned)(*s++ - '0');
		n++;
	}
	*sp = s;
	*v_r = v;
	return n;
}

/* date-time       = [ day-of-week "," ] date time [CFWS]
 * date            = day month year
 * day             = ([FWS] 1*2DIGIT FWS) / obs-day
 * year            = (FWS 4*DIGIT FWS) / obs-year      (RFC 5322 3.3)
 * obs-year        = [CFWS] 2*DIGIT [CFWS]             (RFC 5322 4.3)
 * Only the date is read: SENT* keys disregard time and zone (RFC 3501
 * 6.4.4), so the day is the one written in the header. Two-digit years
 * below 50 are 20xx, others 19xx; three-digit years add 1900. */
static bool
parse_sent_day(const char *s, int64_t *day_r)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	unsigned day, year, nd, mon;
	struct tm tm;
	time_t t;

	s = skip_cfws(s);
	if (is_alpha(*s)) {
		while (is_alpha(*s))
			s++;
		s = skip_cfws(s);
		if (*s == ',')
			s = skip_cfws(s + 1);
	}
	nd = read_digits(&s, 2, &day);
	if (nd < 1 || nd > 2)
		return false;
	s = skip_cfws(s);
	for (mon = 0; mon < 12; mon++) {
		if (strncasecmp(s, months + (size_t)3 * mon, 3) == 0)
			break;
	}
	if (mon == 12)
		return false;
	while (is_alpha(*s))
		s++;
	s = skip_cfws(s);
	nd = read_digits(&s, 4, &year);
	if (nd < 2 || nd > 4)
		return false;
	if (nd == 2)
		year += year < 50 ? 2000 : 1900;
	else if (nd == 3)
		year += 1900;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)year - 1900;
	tm.tm_mon = (int)mon;
	tm.tm_mday = (int)day;
	t = timegm(&tm);
	/* timegm() normalises 31 Feb into March: refuse such dates. */
	if (t == (time_t)-1 || tm.tm_mday != (int)day || tm.tm_mon != (int)mon)
		return false;
	*day_r = (int64_t)t / 86400; /* midnight UTC: exact */
	return true;
}

/* The day of the first Date: field. A message without one, or whose
 * field is not a date, was sent on 1 Jan 1970 (day 0), as in Dovecot: it
 * matches SENTBEFORE and never SENTON or SENTSINCE a later day. */
static int64_t
sent_day(struct search_ctx *c)
{
	struct msg_state *m = &c->cur;
	struct mime_header_iter it;
	struct mime_field f;

	if (!m->has_sent_day) {
		m->has_sent_day = true;
		mime_header_iter_init(&it, m->hdr, 0, m->hdr_len);
		while (mime_header_next(&it, &f)) {
			if (!field_is(&f, "Date"))
				continue;
			if (!parse_sent_day(mime_field_value(c->a, m->hdr, &f),
					    &m->sent_day))
				m->sent_day = 0;
			break;
		}
	}
	return m->sent_day;
}

static bool
compare_day(enum search_key_type type, int64_t day, int64_t key_day)
{
	switch (type) {
	case SEARCH_BEFORE:
	case SEARCH_SENTBEFORE:
		return day < key_day;
	case SEARCH_ON:
	case SEARCH_SENTON:
		return day == key_day;
	default: /* SINCE, SENTSINCE */
		return day >= key_day;
	}
}

/* The keys that need the message's bytes. */
static bool
match_content(struct search_ctx *c, const struct search_key *k)
{
	switch (k->type) {
	case SEARCH_HEADER:
		return load_header(c) && header_match(c, k->field, k->str);
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE:
		return load_header(c) &&
		       compare_day(k->type, sent_day(c), k->day);
	default: /* BODY, TEXT */
		if (!load(c))
			return false;
		if (c->cur.mime == NULL)
			c->cur.mime =
				mime_parse(c->a, msg_data(c), c->cur.view.size);
		return mime_search_message(c->a, c->cur.mime, k->str,
					   k->type == SEARCH_BODY
						   ? MIME_SEARCH_BODY
						   : MIME_SEARCH_TEXT,
					   NULL);
	}
}

static enum tri eval(struct search_ctx *c, const struct search_key *k,
		     bool full);

/* AND (every child) or OR (some child), deciding as soon as one child
 * does. */
static enum tri
eval_list(struct search_ctx *c, const struct search_key *k, bool full)
{
	enum tri decisive = k->type == SEARCH_AND ? TRI_NO : TRI_YES;
	enum tri r = k->type == SEARCH_AND ? TRI_YES : TRI_NO;
	unsigned i;

	for (i = 0; i < k->count; i++) {
		enum tri t = eval(c, &k->children[i], full);

		if (t == decisive)
			return t;
		if (t == TRI_MAYBE)
			r = TRI_MAYBE;
	}
	return r;
}

/* The flag-like keys: decided from the box and the view alone. */
static enum tri
eval_cheap(struct search_ctx *c, const struct search_key *k)
{
	const struct msg_state *m = &c->cur;
	bool seen = (m->m->flags & MD_FLAG_SEEN) != 0;

	switch (k->type) {
	case SEARCH_SEQSET:
		return tri_of(
			imap_seqset_contains(&k->set, m->seq, c->seq_count));
	case SEARCH_UIDSET:
		return tri_of(
			imap_seqset_contains(&k->set, m->uid, c->max_uid));
	case SEARCH_FLAGS:
		return tri_of((m->m->flags & k->flags) == k->flags);
	case SEARCH_NOFLAGS:
		return tri_of((m->m->flags & k->flags) == 0);
	case SEARCH_KEYWORD:
		return tri_of((m->m->keywords & k->kw_bit) != 0);
	case SEARCH_UNKEYWORD:
		return tri_of((m->m->keywords & k->kw_bit) == 0);
	case SEARCH_RECENT:
		return tri_of(m->recent);
	case SEARCH_NEW:
		return tri_of(m->recent && !seen);
	case SEARCH_OLD:
		return tri_of(!m->recent);
	default: /* ALL */
		return TRI_YES;
	}
}

/* One key. Without full, keys needing the message's bytes answer MAYBE. */
static enum tri
eval(struct search_ctx *c, const struct search_key *k, bool full)
{
	enum tri t;

	switch (k->type) {
	case SEARCH_AND:
	case SEARCH_OR:
		return eval_list(c, k, full);
	case SEARCH_NOT:
		t = eval(c, &k->children[0], full);
		return t == TRI_MAYBE ? t : tri_of(t == TRI_NO);
	case SEARCH_BEFORE:
	case SEARCH_ON:
	case SEARCH_SINCE:
		return tri_of(compare_day(
			k->type, utc_day(c->cur.m->internal_date), k->day));
	case SEARCH_LARGER:
	case SEARCH_SMALLER:
		return match_size(c, k, full);
	case SEARCH_HEADER:
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE:
	case SEARCH_BODY:
	case SEARCH_TEXT:
		return full ? tri_of(match_content(c, k)) : TRI_MAYBE;
	default:
		return eval_cheap(c, k);
	}
}

bool
search_match(struct search_ctx *c, uint32_t seq, uint32_t uid, bool recent)
{
	struct msg_state *m = &c->cur;
	const struct md_msg *msgs;
	struct arena_mark mark;
	uint32_t count;
	long i = md_box_find(c->box, uid);
	enum tri t;

	/* A view entry whose EXPUNGE is still pending matches nothing. */
	if (i < 0)
		return false;
	msgs = md_box_messages(c->box, &count);
	memset(m, 0, sizeof(*m));
	m->seq = seq;
	m->uid = uid;
	m->recent = recent;
	m->m = &msgs[i];
	t = eval(c, c->root, false);
	if (t != TRI_MAYBE)
		return t == TRI_YES;
	mark = arena_mark(c->a);
	t = eval(c, c->root, true);
	if (m->opened && !m->gone)
		md_view_release(&m->view);
	/* Decoded headers and the MIME tree are per message. */
	arena_rewind(c->a, mark);
	return t == TRI_YES && !m->gone;
}
