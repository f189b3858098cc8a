/* FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8, 7.4.2): one untagged FETCH
 * per message, items in the order asked. Sizes and dates come from the
 * store's message list; the message is mapped only when an item needs its
 * bytes and parsed only when an item needs its structure. Body literals
 * are streamed from the mapped file in CRLF form through the write hook,
 * never copied whole. Never touches the filesystem itself.
 */
#include "protocol/fetch-private.h"

#include <assert.h>
#include <string.h>
#include <time.h>

/* The cache field ids are in imap-private.h (SEARCH reads the header
 * block too). */

/* An item's bytes found in the cache (data NULL: not found). */
struct cache_hit {
	const void *data;
	size_t len;
};

/* What one message's response is built from. */
struct fetch_msg {
	struct imap_session *s;
	const struct imap_fetch *f;
	uint32_t index;         /* view index: sequence number - 1 */
	const struct md_msg *m; /* the store's record */
	struct md_view view;    /* mapped when has_view */
	bool has_view;
	struct mime_message *mime; /* parsed when needed, in the arena */
	struct buf *b;             /* the response so far */
	struct cache_hit *hits;    /* per item of f, in the arena */
	bool header_cached;        /* the cache had the header block */
	bool has_wire_size;        /* wire_size below came from the cache */
	uint64_t wire_size;
};

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* date-time = DQUOTE date-day-fixed "-" date-month "-" date-year
 *             SP time SP zone DQUOTE                  (RFC 3501 9)
 * The internal date is kept as an instant; it is written in UTC. */
static void
write_date(struct buf *b, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm)); /* out of range: 1900 */
	(void)buf_printf(b, "\"%2d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday,
			 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
			 tm.tm_min, tm.tm_sec); /* no maximum */
}

/* The wire (CRLF) size of the whole message: from the file name's ,W=
 * when known, else counted on the mapped bytes. */
static uint64_t
wire_size(struct fetch_msg *fm)
{
	unsigned char le[8];
	uint64_t n;
	size_t i;

	if (fm->m->vsize > 0 || fm->m->size == 0)
		return fm->m->vsize;
	if (fm->has_wire_size)
		return fm->wire_size;
	n = mime_wire_size((const unsigned char *)fm->view.data, 0,
			   fm->view.size);
	for (i = 0; i < 8; i++)
		le[i] = (unsigned char)(n >> (8 * i));
	md_cache_put(fm->s->view.box, fm->m->uid, FETCH_CACHE_WIRE_SIZE, le,
		     sizeof(le));
	return n;
}

/* The cached RFC822.SIZE into fm; true on a hit. */
static bool
wire_size_from_cache(struct fetch_msg *fm)
{
	const unsigned char *le;
	const void *data;
	size_t len, i;

	if (md_cache_get(fm->s->view.box, fm->m->uid, FETCH_CACHE_WIRE_SIZE,
			 &data, &len) != 1 ||
	    len != 8)
		return false;
	le = data;
	fm->wire_size = 0;
	for (i = 0; i < 8; i++)
		fm->wire_size |= (uint64_t)le[i] << (8 * i);
	fm->has_wire_size = true;
	return true;
}

/* Hand the response so far to the session's output. */
static void
flush_msg(struct fetch_msg *fm)
{
	imap_resp_raw(fm->s, fm->b->data, fm->b->len);
	buf_reset(fm->b);
}

/* mime_view_write's sink: straight into the session output, which hands
 * it to the write hook every few kilobytes. */
static int
resp_sink(void *ctx, const void *data, size_t len)
{
	struct imap_session *s = ctx;

	imap_resp_raw(s, data, len);
	return s->write_failed ? -1 : 0;
}

/* The key of a top-level HEADER.FIELDS[.NOT] list into key_r: "F" or
 * "N", then each name upper-cased after a LF (IMAP strings hold neither
 * NUL nor LF), and its cache field id. Returns 0, or -1 when spec is
 * not such a list. */
static int
fields_key(const struct mime_section *spec, struct buf *key_r,
	   unsigned *field_r)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t i, j;

	if (spec->nparts != 0 || (spec->text != MIME_SECTION_FIELDS &&
				  spec->text != MIME_SECTION_FIELDS_NOT))
		return -1;
	/* key_r has no maximum: these appends cannot fail. */
	(void)buf_putc(key_r, spec->text == MIME_SECTION_FIELDS ? 'F' : 'N');
	for (i = 0; i < spec->nfields; i++) {
		(void)buf_putc(key_r, '\n');
		for (j = 0; spec->fields[i][j] != '\0'; j++) {
			char c = spec->fields[i][j];

			if (c >= 'a' && c <= 'z')
				c = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[c - 'a'];
			(void)buf_putc(key_r, c);
		}
	}
	for (i = 0; i < key_r->len; i++) {
		h ^= (unsigned char)key_r->data[i];
		h *= 16777619u;
	}
	*field_r = FETCH_CACHE_FIELDS(h);
	return 0;
}

/* The cached answer to the header list of it, into *hit_r. true on a hit
 * whose stored list is this list. */
static bool
fields_from_cache(struct fetch_msg *fm, const struct imap_fetch_item *it,
		  struct cache_hit *hit_r)
{
	struct buf key;
	const void *data;
	unsigned field;
	size_t len;
	bool hit = false;

	buf_init(&key, 0);
	if (fields_key(&it->spec, &key, &field) == 0 &&
	    md_cache_get(fm->s->view.box, fm->m->uid, field, &data, &len) ==
		    1 &&
	    len > key.len && memcmp(data, key.data, key.len) == 0 &&
	    ((const char *)data)[key.len] == '\0') {
		hit_r->data = (const char *)data + key.len + 1;
		hit_r->len = len - key.len - 1;
		hit = true;
	}
	buf_free(&key);
	return hit;
}

/* Give the answer v to the header list of it to the cache. */
static void
fields_to_cache(struct fetch_msg *fm, const struct imap_fetch_item *it,
		const struct mime_view *v)
{
	struct buf key;
	unsigned field;

	if (v->convert_lf)
		return; /* not a fields view */
	buf_init(&key, 0);
	if (fields_key(&it->spec, &key, &field) == 0) {
		/* key has no maximum: these appends cannot fail. */
		(void)buf_putc(&key, '\0');
		(void)buf_append(&key, v->data, v->len);
		md_cache_put(fm->s->view.box, fm->m->uid, field, key.data,
			     key.len);
	}
	buf_free(&key);
}

/* "BODY" section ["<" number ">"] SP nstring          (RFC 3501 9)
 * A part that does not exist is NIL; otherwise a literal (or "" when
 * empty) streamed from the message. */
static int
write_section(struct fetch_msg *fm, const struct imap_fetch_item *it,
	      const struct cache_hit *hit)
{
	const struct mime_section *spec = &it->spec;
	uint64_t origin = spec->has_partial ? spec->origin : 0;
	uint64_t count = spec->has_partial ? spec->count : UINT64_MAX;
	struct mime_view v;
	uint64_t size;

	(void)buf_puts(fm->b, it->name); /* no maximum */
	if (spec->has_partial)
		(void)buf_printf(fm->b, "<%llu>",
				 (unsigned long long)spec->origin);
	if (hit->data != NULL) {
		/* A header list answered before: wire bytes. */
		memset(&v, 0, sizeof(v));
		v.data = hit->data;
		v.len = hit->len;
		v.size = hit->len;
	} else if (!it->needs_mime) {
		/* The whole message: no parse needed (and the parse, when
		 * another item made one, may cover the header only). */
		memset(&v, 0, sizeof(v));
		v.data = (const unsigned char *)fm->view.data;
		v.len = fm->view.size;
		v.convert_lf = true;
		v.size = mime_wire_size(v.data, 0, v.len);
	} else if (mime_section_resolve(fm->s->arena, fm->mime, spec, &v) !=
		   0) {
		(void)buf_puts(fm->b, " NIL");
		return 0;
	} else {
		fields_to_cache(fm, it, &v);
	}
	size = mime_view_slice_size(&v, origin, count);
	if (size == 0) {
		(void)buf_puts(fm->b, " \"\"");
		return 0;
	}
	(void)buf_printf(fm->b, " {%llu}\r\n", (unsigned long long)size);
	flush_msg(fm);
	return mime_view_write(&v, origin, count, resp_sink, fm->s);
}

/* The FLAGS item from the store's current flags, recorded in the view as
 * what the client now knows. */
static void
write_flags(struct fetch_msg *fm)
{
	const struct imap_view_msg *vm = &fm->s->view.msgs[fm->index];

	(void)buf_puts(fm->b, "FLAGS "); /* no maximum */
	imap_flags_append(fm->s, fm->b, fm->m->flags & MD_FLAGS_IMAP,
			  fm->m->keywords, vm->recent);
	imap_view_report_flags(fm->s, fm->index, false, false);
}

/* The cache field that answers it, or 0 when the item is not cached
 * (sections of parts and bodies need the file). */
static unsigned
cache_field(const struct imap_fetch_item *it)
{
	switch (it->kind) {
	case IMAP_FETCH_ENVELOPE:
		return FETCH_CACHE_ENVELOPE;
	case IMAP_FETCH_BODY:
		return FETCH_CACHE_BODY;
	case IMAP_FETCH_BODYSTRUCTURE:
		return FETCH_CACHE_BODYSTRUCTURE;
	case IMAP_FETCH_SECTION:
		if (it->spec.nparts == 0 &&
		    (it->spec.text == MIME_SECTION_HEADER ||
		     it->spec.text == MIME_SECTION_FIELDS ||
		     it->spec.text == MIME_SECTION_FIELDS_NOT))
			return FETCH_CACHE_HEADER;
		return 0;
	default:
		return 0;
	}
}

/* ENVELOPE, BODY or BODYSTRUCTURE (the caller wrote the name): from the
 * cache when it had them, else computed from the parse and given to the
 * cache. */
static int
write_structure(struct fetch_msg *fm, const struct imap_fetch_item *it,
		const struct cache_hit *hit)
{
	struct arena *a = fm->s->arena;
	size_t start = fm->b->len;
	int ret;

	if (hit->data != NULL)
		return buf_append(fm->b, hit->data, hit->len);
	/* fetch_one() parsed the message when an item asked for that. */
	assert(fm->mime != NULL);
	if (it->kind == IMAP_FETCH_ENVELOPE)
		ret = mime_write_envelope(fm->b, a, fm->mime, fm->mime->root);
	else
		ret = mime_write_bodystructure(
			fm->b, a, fm->mime, fm->mime->root,
			it->kind == IMAP_FETCH_BODYSTRUCTURE);
	if (ret == 0)
		md_cache_put(fm->s->view.box, fm->m->uid, cache_field(it),
			     fm->b->data + start, fm->b->len - start);
	return ret;
}

/* msg-att = "(" (msg-att-dynamic / msg-att-static)
 *           *(SP (msg-att-dynamic / msg-att-static)) ")"  (RFC 3501 9) */
static int
write_item(struct fetch_msg *fm, const struct imap_fetch_item *it,
	   const struct cache_hit *hit)
{
	/* fetch_one() parsed the message (or the cached header) when an item
	 * asked for that, unless the cache had the item itself. */
	assert(fm->mime != NULL || !it->needs_mime || hit->data != NULL);
	switch (it->kind) {
	case IMAP_FETCH_UID:
		return buf_printf(fm->b, "UID %u", fm->m->uid);
	case IMAP_FETCH_FLAGS:
		write_flags(fm);
		return 0;
	case IMAP_FETCH_INTERNALDATE:
		(void)buf_puts(fm->b, "INTERNALDATE ");
		write_date(fm->b, fm->m->internal_date);
		return 0;
	case IMAP_FETCH_RFC822_SIZE:
		return buf_printf(fm->b, "RFC822.SIZE %llu",
				  (unsigned long long)wire_size(fm));
	case IMAP_FETCH_ENVELOPE:
		(void)buf_puts(fm->b, "ENVELOPE ");
		return write_structure(fm, it, hit);
	case IMAP_FETCH_BODY:
	case IMAP_FETCH_BODYSTRUCTURE:
		(void)buf_puts(fm->b, it->kind == IMAP_FETCH_BODY
					      ? "BODY "
					      : "BODYSTRUCTURE ");
		return write_structure(fm, it, hit);
	case IMAP_FETCH_SECTION:
		return write_section(fm, it, hit);
	}
	return 0;
}

/* Write "* n FETCH (...)" for the message of fm. UID FETCH always
 * includes UID (first, unless asked for elsewhere); FLAGS is added when
 * they differ from what the client knows (this FETCH set \Seen).
 * Returns 0, or -1 when the output failed. */
static int
write_msg(struct fetch_msg *fm, bool is_uid)
{
	const struct imap_view_msg *vm = &fm->s->view.msgs[fm->index];
	bool flags_changed = ((vm->flags ^ fm->m->flags) & MD_FLAGS_IMAP) != 0;
	const char *sep = "";
	size_t i;

	(void)buf_printf(fm->b, "* %u FETCH (", fm->index + 1);
	if (is_uid && !fm->f->has_uid) {
		(void)buf_printf(fm->b, "UID %u", fm->m->uid);
		sep = " ";
	}
	for (i = 0; i < fm->f->count; i++) {
		(void)buf_puts(fm->b, sep);
		if (write_item(fm, &fm->f->items[i], &fm->hits[i]) != 0)
			return -1;
		sep = " ";
	}
	if (flags_changed && !fm->f->has_flags) {
		(void)buf_puts(fm->b, sep);
		write_flags(fm);
	}
	(void)buf_puts(fm->b, ")\r\n");
	flush_msg(fm);
	return 0;
}

/* The length of the top-level header with its blank line, found as the
 * MIME parser finds it (a line holding only CRLF or LF ends it). Items
 * that need no more (ENVELOPE, HEADER.FIELDS of 10,000 messages) then
 * parse only that much. */
static size_t
header_len(const struct md_view *v)
{
	return mime_header_block_len(v->data, v->size);
}

/* Look every item that needs the message's bytes up in the cache (hits
 * go to fm->hits). Returns true when all of them were found and the file
 * need not be read; a cached header block is then parsed for the header
 * sections. */
static bool
from_cache(struct fetch_msg *fm)
{
	const struct imap_fetch *f = fm->f;
	struct cache_hit header = {NULL, 0};
	bool all = true;
	size_t i;

	if (f->has_size && fm->m->vsize == 0 && fm->m->size > 0)
		all = wire_size_from_cache(fm);

	for (i = 0; i < f->count; i++) {
		const struct imap_fetch_item *it = &f->items[i];
		unsigned field = cache_field(it);

		if (!it->needs_mime && it->kind != IMAP_FETCH_SECTION)
			continue; /* answered from the store's record */
		if (field == FETCH_CACHE_HEADER &&
		    fields_from_cache(fm, it, &fm->hits[i]))
			continue;
		if (field == 0 ||
		    md_cache_get(fm->s->view.box, fm->m->uid, field,
				 &fm->hits[i].data, &fm->hits[i].len) != 1) {
			all = false;
			continue;
		}
		if (field == FETCH_CACHE_HEADER) {
			header = fm->hits[i];
			fm->header_cached = true;
			/* The section is resolved on the parse below. */
			fm->hits[i].data = NULL;
		}
	}
	if (all && header.data != NULL)
		fm->mime = mime_parse(fm->s->arena, header.data, header.len);
	return all;
}

/* Give the header block of the mapped message to the cache when an item
 * would have been answered from it. */
static void
put_header(struct fetch_msg *fm)
{
	size_t i;

	if (fm->header_cached)
		return;
	for (i = 0; i < fm->f->count; i++) {
		if (cache_field(&fm->f->items[i]) == FETCH_CACHE_HEADER) {
			md_cache_put(fm->s->view.box, fm->m->uid,
				     FETCH_CACHE_HEADER, fm->view.data,
				     header_len(&fm->view));
			return;
		}
	}
}

/* Fetch one message. Returns 0, 1 when it is no longer there (expunged by
 * another session: nothing written), or -1 on a store error. */
static int
fetch_one(struct imap_session *s, const struct imap_fetch *f, bool is_uid,
	  uint32_t uid, struct buf *b)
{
	struct fetch_msg fm = {.s = s, .f = f, .b = b};
	struct arena_mark mark = arena_mark(s->arena);
	const struct md_msg *msgs;
	uint32_t total;
	long bi = md_box_find(s->view.box, uid);
	int ret;

	if (bi < 0)
		return 1; /* a ghost: its EXPUNGE is pending */
	msgs = md_box_messages(s->view.box, &total);
	fm.m = &msgs[bi];
	fm.index = (uint32_t)imap_view_index(&s->view, uid);
	fm.hits = arena_calloc(s->arena, f->count, sizeof(*fm.hits));
	if ((f->needs_content ||
	     (f->has_size && fm.m->vsize == 0 && fm.m->size > 0)) &&
	    !from_cache(&fm)) {
		if (md_box_view(s->view.box, uid, &fm.view) < 0)
			return md_last_error(s->store, NULL) == MD_ERR_EXPUNGED
				       ? 1
				       : -1;
		fm.has_view = true;
		put_header(&fm);
		if (f->needs_mime)
			fm.mime = mime_parse(
				s->arena, (const unsigned char *)fm.view.data,
				f->needs_body ? fm.view.size
					      : header_len(&fm.view));
	}
	ret = write_msg(&fm, is_uid);
	if (fm.has_view)
		md_view_release(&fm.view);
	/* Parse trees and section views of one message are not needed by
	 * the next: a FETCH 1:* reuses the same arena memory. */
	arena_rewind(s->arena, mark);
	return ret;
}

/* Set \Seen on the messages that lack it, in one store call. Returns 0,
 * or -1 on a store error other than messages found expunged (those are
 * left out of the answer later). */
static int
mark_seen(struct imap_session *s, const uint32_t *uids, size_t count)
{
	uint32_t *todo = arena_alloc(s->arena, (count + 1) * sizeof(*todo));
	const struct md_msg *msgs;
	uint32_t total;
	size_t i, n = 0;

	msgs = md_box_messages(s->view.box, &total);
	for (i = 0; i < count; i++) {
		long bi = md_box_find(s->view.box, uids[i]);

		if (bi >= 0 && (msgs[bi].flags & MD_FLAG_SEEN) == 0)
			todo[n++] = uids[i];
	}
	if (n == 0 || md_box_set_flags(s->view.box, todo, n, MD_FLAGS_ADD,
				       MD_FLAG_SEEN, 0) == 0)
		return 0;
	return md_last_error(s->store, NULL) == MD_ERR_EXPUNGED ? 0 : -1;
}

/* fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
 *         fetch-att / "(" fetch-att *(SP fetch-att) ")")
 * uid   = "UID" SP (copy / fetch / search / store)   (RFC 3501 9) */
enum imap_status
cmd_fetch(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_fetch f;
	const char *error;
	uint32_t *uids;
	size_t count, i;
	bool gone = false;
	struct buf b;
	int ret = 0;

	if (imap_view_resolve_arg(cmd, &cmd->args[0], &uids, &count, &error) <
		    0 ||
	    imap_fetch_parse(s->arena, &cmd->args[1], &f, &error) < 0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	if (f.sets_seen && !md_box_readonly(s->view.box) &&
	    mark_seen(s, uids, count) < 0) {
		imap_cmd_store_error(cmd, false);
		return IMAP_STATUS_CONTINUE;
	}
	buf_init(&b, 0);
	for (i = 0; i < count && ret >= 0 && !s->write_failed; i++) {
		ret = fetch_one(s, &f, cmd->is_uid, uids[i], &b);
		gone |= ret == 1;
	}
	buf_free(&b);
	/* What this command computed serves the next FETCH of any session. */
	md_cache_flush(s->view.box);
	if (ret < 0)
		imap_cmd_store_error(cmd, false);
	else if (gone && !cmd->is_uid)
		/* RFC 2180 4.1.2: the client still numbers them; say why
		 * they are missing. UID FETCH just leaves them out, and the
		 * sync below reports their EXPUNGE. */
		imap_cmd_tagged(cmd, IMAP_RESP_NO, "EXPUNGEISSUED",
				"Some messages were expunged.");
	else
		imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL, "FETCH completed.");
	return IMAP_STATUS_CONTINUE;
}
