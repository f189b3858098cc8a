/* The framer: collects the bytes of one whole command (its lines and the
 * literals between them) within the limits, before the parser sees any of
 * it (RFC 3501 sections 2.2 and 7.5, RFC 7888 sections 3 and 4). It never
 * allocates for a literal it has not accepted, and it never takes literal
 * bytes for a command.
 *
 * Limits: the bytes of a command outside its literals (CRLFs included)
 * count against max_line_length; the literals of one command together
 * against the budget the command table gives (max_small_literal, or
 * max_literal_size for APPEND).
 *
 * Accepted literals are kept in the command buffer, except those the
 * literal_start hook asks to stream (APPEND's message): their bytes go out
 * to literal_data as they arrive, straight from the input with no copy,
 * and the buffer keeps only an empty "{0}" literal in their place. So a
 * 60 MB APPEND never holds more than a line in memory.
 */
#include "protocol/imap-private.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"

#define FRAME_MIN_CAP 1024

void
imap_frame_init(struct imap_frame *f, const struct imap_limits *limits,
		imap_frame_literal_limit_fn *literal_limit, void *ctx)
{
	memset(f, 0, sizeof(*f));
	f->limits = limits;
	f->literal_limit = literal_limit;
	f->ctx = ctx;
	f->state = IMAP_FRAME_ST_LINE;
}

void
imap_frame_deinit(struct imap_frame *f)
{
	if (f->data != NULL) {
		explicit_bzero(f->data, f->cap);
		free(f->data);
	}
	f->data = NULL;
	f->len = f->cap = 0;
}

void
imap_frame_reset(struct imap_frame *f)
{
	/* The bytes may hold a password (LOGIN, AUTHENTICATE). */
	if (f->data != NULL)
		explicit_bzero(f->data, f->len);
	f->len = 0;
	f->line_start = 0;
	f->line_bytes = 0;
	f->lit_budget = 0;
	f->lit_budget_set = false;
	f->lit_left = 0;
	f->tail_len = 0;
	f->refused_size = 0;
	f->drop_silent = false;
	f->complete = false;
	f->state = IMAP_FRAME_ST_LINE;
}

void
imap_frame_set_stream(struct imap_frame *f, imap_frame_literal_start_fn *start,
		      imap_frame_literal_data_fn *data)
{
	f->literal_start = start;
	f->literal_data = data;
}

void
imap_frame_expect_raw_line(struct imap_frame *f)
{
	imap_frame_reset(f);
	f->state = IMAP_FRAME_ST_RAW_LINE;
}

const char *
imap_frame_command(const struct imap_frame *f, size_t *len_r)
{
	*len_r = f->len;
	return f->data != NULL ? f->data : "";
}

/* Make room for n more bytes. The old block is wiped before it is freed,
 * so a password never lingers in freed memory. */
static void
frame_reserve(struct imap_frame *f, size_t n)
{
	size_t need, cap;
	char *p;

	if (__builtin_add_overflow(f->len, n, &need))
		abort();
	if (need + 1 <= f->cap)
		return;
	cap = f->cap < FRAME_MIN_CAP ? FRAME_MIN_CAP : f->cap;
	while (cap < need + 1) {
		if (__builtin_mul_overflow(cap, 2, &cap))
			abort();
	}
	p = xmalloc(cap);
	if (f->data != NULL) {
		memcpy(p, f->data, f->len);
		explicit_bzero(f->data, f->cap);
		free(f->data);
	}
	f->data = p;
	f->cap = cap;
}

static void
frame_append(struct imap_frame *f, const char *p, size_t n)
{
	frame_reserve(f, n);
	memcpy(f->data + f->len, p, n);
	f->len += n;
	f->data[f->len] = '\0';
}

/* The end of the word that starts at *pos in the first line: stops at SP,
 * CR, LF, "{" or the end. */
static size_t
word_end(const char *p, size_t len, size_t pos)
{
	while (pos < len && p[pos] != ' ' && p[pos] != '\r' && p[pos] != '\n' &&
	       p[pos] != '{')
		pos++;
	return pos;
}

const char *
imap_frame_tag(const struct imap_frame *f, size_t *len_r)
{
	size_t end;

	if (f->data == NULL || f->state == IMAP_FRAME_ST_RAW_LINE ||
	    f->state == IMAP_FRAME_ST_RAW_DISCARD)
		return NULL;
	end = word_end(f->data, f->len, 0);
	if (end >= f->len || f->data[end] != ' ' || !imap_is_tag(f->data, end))
		return NULL;
	*len_r = end;
	return f->data;
}

/* The literal budget of the command being framed: asked of the command
 * table once, by name ("UID x" asks for x). */
static uint64_t
frame_budget(struct imap_frame *f)
{
	size_t tag_end, start, end;

	if (f->lit_budget_set)
		return f->lit_budget;
	frame_reserve(f, 0);
	tag_end = word_end(f->data, f->len, 0);
	start = tag_end < f->len ? tag_end + 1 : tag_end;
	end = word_end(f->data, f->len, start);
	if (end - start == 3 && strncasecmp(f->data + start, "UID", 3) == 0 &&
	    end < f->len && f->data[end] == ' ') {
		start = end + 1;
		end = word_end(f->data, f->len, start);
	}
	f->lit_budget = f->literal_limit(f->ctx, f->data + start, end - start);
	f->lit_budget_set = true;
	return f->lit_budget;
}

/* literal = "{" number ["+"] "}" CRLF *CHAR8   (RFC 3501 9, RFC 7888 8)
 * Look for the marker at the end of a line (p, len ends before CRLF or
 * LF). A number too large for 64 bits reads as UINT64_MAX, which every
 * limit refuses, so no digit count can overflow anything. */
static bool
find_marker(const char *p, size_t len, uint64_t *size_r, bool *nonsync_r,
	    size_t *brace_r)
{
	size_t end, i;
	uint64_t n = 0;

	if (len < 3 || p[len - 1] != '}')
		return false;
	end = len - 1;
	*nonsync_r = p[end - 1] == '+';
	if (*nonsync_r)
		end--;
	i = end;
	while (i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9')
		i--;
	if (i == end || i == 0 || p[i - 1] != '{')
		return false;
	*brace_r = i - 1;
	for (; i < end; i++) {
		unsigned d = (unsigned)(p[i] - '0');

		if (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, d, &n)) {
			n = UINT64_MAX;
			break;
		}
	}
	*size_r = n;
	return true;
}

/* Ask the literal_start hook (when set) what to do with a literal. */
static enum imap_frame_lit_action
literal_action(struct imap_frame *f, size_t marker, uint64_t size, bool nonsync)
{
	if (f->literal_start == NULL)
		return IMAP_FRAME_LIT_KEEP;
	return f->literal_start(f->ctx, f->data, marker, size, nonsync);
}

/* A line of the command ended (its CRLF is in data). Decide whether the
 * command is complete or a literal follows, and whether we accept it. */
static enum imap_frame_event
frame_line_end(struct imap_frame *f)
{
	const char *line = f->data + f->line_start;
	size_t len = f->len - f->line_start - 2, brace;
	uint64_t size;
	bool nonsync;

	if (!find_marker(line, len, &size, &nonsync, &brace)) {
		f->complete = true;
		return IMAP_FRAME_COMMAND;
	}
	if (size > frame_budget(f)) {
		/* Refused before a byte of it is read and before any "+". A
		 * {n+} literal is coming anyway: RFC 7888 section 4 leaves
		 * reading it all or closing; we close. */
		f->refused_size = size;
		f->complete = true;
		return nonsync ? IMAP_FRAME_FATAL_LITERAL
			       : IMAP_FRAME_LITERAL_REFUSED;
	}
	f->lit_budget -= size;
	f->lit_left = size;
	switch (literal_action(f, f->line_start + brace, size, nonsync)) {
	case IMAP_FRAME_LIT_KEEP:
		break;
	case IMAP_FRAME_LIT_STREAM:
		/* Only an empty literal stays in the command. */
		f->len = f->line_start + brace;
		frame_append(f, "{0}\r\n", 5);
		f->line_start = f->len;
		if (size > 0)
			f->state = IMAP_FRAME_ST_STREAM;
		return nonsync ? IMAP_FRAME_NEED_MORE : IMAP_FRAME_CONTINUE;
	case IMAP_FRAME_LIT_REFUSE:
		if (!nonsync) {
			/* No "+" was sent: the client sends nothing more
			 * of this command. */
			f->complete = true;
			return IMAP_FRAME_DROPPED;
		}
		/* A {n+} literal comes anyway: skip it and the rest. */
		f->drop_silent = true;
		f->tail_len = 0;
		f->state = size > 0 ? IMAP_FRAME_ST_DISCARD_LITERAL
				    : IMAP_FRAME_ST_DISCARD;
		return IMAP_FRAME_NEED_MORE;
	}
	f->line_start = f->len;
	if (size > 0)
		f->state = IMAP_FRAME_ST_LITERAL;
	return nonsync ? IMAP_FRAME_NEED_MORE : IMAP_FRAME_CONTINUE;
}

/* Keep the last IMAP_FRAME_TAIL bytes of a dropped line. */
static void
tail_add(struct imap_frame *f, const char *p, size_t n)
{
	if (n >= IMAP_FRAME_TAIL) {
		memcpy(f->tail, p + n - IMAP_FRAME_TAIL, IMAP_FRAME_TAIL);
		f->tail_len = IMAP_FRAME_TAIL;
		return;
	}
	if (f->tail_len + n > IMAP_FRAME_TAIL) {
		size_t drop = f->tail_len + n - IMAP_FRAME_TAIL;

		memmove(f->tail, f->tail + drop, f->tail_len - drop);
		f->tail_len -= drop;
	}
	memcpy(f->tail + f->tail_len, p, n);
	f->tail_len += n;
}

/* A dropped line ended. A {n+} literal at its end is skipped (the client
 * sends it anyway) and dropping goes on; otherwise the command is over. */
static enum imap_frame_event
frame_discard_end(struct imap_frame *f)
{
	size_t len = f->tail_len - 1, brace; /* without the LF */
	uint64_t size;
	bool nonsync;

	if (len > 0 && f->tail[len - 1] == '\r')
		len--;
	if (!find_marker(f->tail, len, &size, &nonsync, &brace) || !nonsync) {
		f->complete = true;
		return f->drop_silent ? IMAP_FRAME_DROPPED
				      : IMAP_FRAME_LINE_TOO_LONG;
	}
	if (size > frame_budget(f)) {
		f->refused_size = size;
		f->complete = true;
		return IMAP_FRAME_FATAL_LITERAL;
	}
	f->lit_budget -= size;
	f->lit_left = size;
	f->tail_len = 0;
	if (size > 0)
		f->state = IMAP_FRAME_ST_DISCARD_LITERAL;
	return IMAP_FRAME_NEED_MORE;
}

/* The command passed max_line_length: keep what fits (for the tag), seed
 * the tail with the end of the stored line so that a {n+} marker across
 * the boundary is still found, and drop the rest of the line. Returns the
 * bytes consumed. */
static size_t
start_discard(struct imap_frame *f, const char *p)
{
	size_t room = f->limits->max_line_length - f->line_bytes;
	size_t keep;

	frame_append(f, p, room);
	f->line_bytes += room;
	keep = f->len - f->line_start;
	if (keep > IMAP_FRAME_TAIL)
		keep = IMAP_FRAME_TAIL;
	f->tail_len = 0;
	tail_add(f, f->data + f->len - keep, keep);
	f->state = IMAP_FRAME_ST_DISCARD;
	return room;
}

/* Lines of a command: take bytes up to LF while the line limit allows. */
static size_t
feed_line(struct imap_frame *f, const char *p, size_t len,
	  enum imap_frame_event *ev_r)
{
	const char *lf = memchr(p, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - p) + 1 : len;

	/* line_bytes <= max_line_length always holds, so no overflow. */
	if (n > f->limits->max_line_length - f->line_bytes)
		return start_discard(f, p);
	f->line_bytes += n;
	if (lf == NULL) {
		frame_append(f, p, n);
		return n;
	}
	frame_append(f, p, n - 1);
	/* A bare LF ends a line too; the parser always sees CRLF. */
	if (f->len == f->line_start || f->data[f->len - 1] != '\r')
		frame_append(f, "\r", 1);
	frame_append(f, "\n", 1);
	*ev_r = frame_line_end(f);
	return n;
}

static size_t
feed_literal(struct imap_frame *f, const char *p, size_t len)
{
	size_t n = f->lit_left < len ? (size_t)f->lit_left : len;

	if (f->state == IMAP_FRAME_ST_LITERAL)
		frame_append(f, p, n);
	else if (f->state == IMAP_FRAME_ST_STREAM)
		f->literal_data(f->ctx, p, n);
	f->lit_left -= n;
	if (f->lit_left == 0) {
		f->state = f->state == IMAP_FRAME_ST_DISCARD_LITERAL
				   ? IMAP_FRAME_ST_DISCARD
				   : IMAP_FRAME_ST_LINE;
		f->line_start = f->len;
	}
	return n;
}

static size_t
feed_discard(struct imap_frame *f, const char *p, size_t len,
	     enum imap_frame_event *ev_r)
{
	const char *lf = memchr(p, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - p) + 1 : len;

	tail_add(f, p, n);
	if (lf != NULL)
		*ev_r = frame_discard_end(f);
	return n;
}

/* A SASL response line: no literals, CRLF removed. */
static size_t
feed_raw(struct imap_frame *f, const char *p, size_t len,
	 enum imap_frame_event *ev_r)
{
	const char *lf = memchr(p, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - p) + 1 : len;

	if (f->state == IMAP_FRAME_ST_RAW_LINE &&
	    n > f->limits->max_line_length - f->line_bytes)
		f->state = IMAP_FRAME_ST_RAW_DISCARD;
	if (f->state == IMAP_FRAME_ST_RAW_LINE) {
		f->line_bytes += n;
		frame_append(f, p, lf != NULL ? n - 1 : n);
	}
	if (lf == NULL)
		return n;
	f->complete = true;
	if (f->state == IMAP_FRAME_ST_RAW_DISCARD) {
		*ev_r = IMAP_FRAME_LINE_TOO_LONG;
		return n;
	}
	if (f->len > 0 && f->data[f->len - 1] == '\r')
		f->data[--f->len] = '\0';
	*ev_r = IMAP_FRAME_RAW_LINE;
	return n;
}

size_t
imap_frame_feed(struct imap_frame *f, const void *data, size_t len,
		enum imap_frame_event *ev_r)
{
	const char *p = data;
	size_t used = 0;

	if (f->complete)
		imap_frame_reset(f);
	*ev_r = IMAP_FRAME_NEED_MORE;
	while (used < len && *ev_r == IMAP_FRAME_NEED_MORE) {
		switch (f->state) {
		case IMAP_FRAME_ST_LINE:
			used += feed_line(f, p + used, len - used, ev_r);
			break;
		case IMAP_FRAME_ST_LITERAL:
		case IMAP_FRAME_ST_STREAM:
		case IMAP_FRAME_ST_DISCARD_LITERAL:
			used += feed_literal(f, p + used, len - used);
			break;
		case IMAP_FRAME_ST_DISCARD:
			used += feed_discard(f, p + used, len - used, ev_r);
			break;
		case IMAP_FRAME_ST_RAW_LINE:
		case IMAP_FRAME_ST_RAW_DISCARD:
			used += feed_raw(f, p + used, len - used, ev_r);
			break;
		}
	}
	return used;
}
