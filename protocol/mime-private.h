/* The MIME parser of protocol/: a message held as a read-only byte range
 * becomes a tree of parts, from which FETCH writes ENVELOPE, BODY,
 * BODYSTRUCTURE and BODY[section], and SEARCH matches decoded text.
 *
 * Offsets in struct mime_part are raw offsets into the message bytes.
 * Sizes and line counts are those of the wire form, where every bare LF
 * counts as CRLF. Nothing here touches the filesystem; internal to
 * protocol/ (fetch.c and search.c use it).
 */
#ifndef PROTOCOL_MIME_PRIVATE_H
#define PROTOCOL_MIME_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/buf.h"

/* Parser bounds: a multipart or message/rfc822 part nested deeper than
 * MIME_MAX_DEPTH becomes an opaque application/octet-stream leaf, and a
 * multipart stops splitting once the message has MIME_MAX_PARTS parts
 * (the rest of its body stays in its last part). */
#define MIME_MAX_DEPTH 100
#define MIME_MAX_PARTS 10000

/* One Content-Type or Content-Disposition parameter. RFC 2231
 * continuations (name*0, name*1*, ...) are merged into one parameter. */
struct mime_param {
	struct mime_param *next;
	const char *name;  /* without any '*' suffix */
	const char *value; /* as sent on the wire: for an extended parameter
			      the merged charset'lang'%XX form */
	bool is_extended;  /* written as name* (RFC 2231 charset form) */
	const char *utf8;  /* the value decoded to UTF-8 (or raw bytes for an
			      unknown charset) */
};

struct mime_part {
	struct mime_part *parent;
	/* The first child: the parts of a multipart, or the encapsulated
	 * message of a message/rfc822 part (its only child). */
	struct mime_part *children;
	struct mime_part *next; /* next sibling */
	unsigned nchildren;
	bool is_message_root; /* the top-level message or one encapsulated
				 in a message/rfc822 part */

	/* Raw byte offsets. The header includes its terminating blank line
	 * when there is one; the body runs from body_start to body_end. */
	size_t hdr_start, hdr_end;
	size_t body_start, body_end;
	uint64_t body_size;  /* wire octets */
	uint64_t body_lines; /* LF count of the body */

	/* Content-Type, with RFC 2045/2046 defaults filled in. */
	const char *type, *subtype;
	struct mime_param *params;
	bool is_multipart, is_rfc822;
	/* Other MIME fields: NULL when absent (written as NIL). Values are
	 * unfolded and trimmed (the description keeps trailing blanks). */
	const char *id, *description, *encoding, *md5, *location;
	const char *language; /* raw value: comma-separated tags */
	const char *disposition;
	struct mime_param *disp_params;
};

struct mime_message {
	const unsigned char *data;
	size_t len;
	struct mime_part *root;
	unsigned nparts;
	struct arena *arena; /* owns the tree and its strings */
};

/* Parse len bytes at data (which must stay valid and unchanged while the
 * result is used). Never fails: malformed input still gives a tree.
 * Everything is allocated from the arena a, and lives as long as it. */
struct mime_message *mime_parse(struct arena *a, const unsigned char *data,
				size_t len);

/* Header iteration over the raw range [start, end). */
struct mime_header_iter {
	const unsigned char *data;
	size_t pos, end;
};
struct mime_field {
	const unsigned char *name; /* not NUL-terminated */
	size_t name_len;
	size_t start;       /* raw offset of the field's first byte */
	size_t value_start; /* raw offset just after the colon */
	size_t end;         /* raw offset after the field's last line end */
};
void mime_header_iter_init(struct mime_header_iter *it,
			   const unsigned char *data, size_t start, size_t end);
/* The length of the top-level header of a message of size bytes with its
 * blank line, found as the parser finds it (a line holding only CRLF or
 * LF ends it); size when there is no blank line. */
size_t mime_header_block_len(const char *data, size_t size);
/* Returns true and fills *f_r with the next field, false at the end.
 * Lines without a colon are skipped. */
bool mime_header_next(struct mime_header_iter *it, struct mime_field *f_r);
/* The value of field f unfolded (CR and LF removed) and trimmed, as a
 * NUL-terminated string in the arena. */
char *mime_field_value(struct arena *a, const unsigned char *data,
		       const struct mime_field *f);
/* The unfolded value of the first field named name (case-insensitive) in
 * the header range of part p, or NULL. */
char *mime_part_header(struct arena *a, const struct mime_message *msg,
		       const struct mime_part *p, const char *name);

/* Wire (CRLF) size of the raw range [start, end) of data: every LF not
 * preceded by CR counts two octets. */
uint64_t mime_wire_size(const unsigned char *data, size_t start, size_t end);

/* Parse a Content-Type or Content-Disposition style parameter list
 * ("; a=b; c*0=..."), merging RFC 2231 continuations. */
struct mime_param *mime_params_parse(struct arena *a, const char *s);

/* Write an IMAP nstring: NIL for NULL, a quoted string when the bytes are
 * printable ASCII and short, a literal {n}CRLF otherwise (NUL bytes are
 * sent as 0x80). Returns 0, or -1 when out exceeds its maximum. */
int mime_write_nstring(struct buf *out, const char *s);
int mime_write_nstring_n(struct buf *out, const char *s, size_t n);

/* ENVELOPE per RFC 3501 section 7.4.2 for the message whose header is
 * the header range of part p (a message root: msg->root, or the child of
 * a message/rfc822 part). The first occurrence of each field is used;
 * Sender and Reply-To default to From; a group gives its start and end
 * markers; an address without a domain gets the host "" (Dovecot writes
 * "MISSING_DOMAIN"). Returns 0 or -1 (out full). */
int mime_write_envelope(struct buf *out, struct arena *a,
			const struct mime_message *msg,
			const struct mime_part *p);

/* BODY (extended false) or BODYSTRUCTURE (extended true) of part p, the
 * parenthesised list only. Returns 0 or -1 (out full). */
int mime_write_bodystructure(struct buf *out, struct arena *a,
			     const struct mime_message *msg,
			     const struct mime_part *p, bool extended);

/* A BODY[section]<partial> specification. */
enum mime_section_text {
	MIME_SECTION_ALL,    /* [] or [1.2]: the whole message or part body */
	MIME_SECTION_HEADER, /* HEADER */
	MIME_SECTION_FIELDS, /* HEADER.FIELDS (list) */
	MIME_SECTION_FIELDS_NOT, /* HEADER.FIELDS.NOT (list) */
	MIME_SECTION_TEXT,       /* TEXT */
	MIME_SECTION_MIME,       /* MIME */
};
struct mime_section {
	const uint32_t *parts; /* part numbers, nparts of them (may be 0) */
	size_t nparts;
	enum mime_section_text text;
	const char *const *fields; /* header names for FIELDS / FIELDS_NOT */
	size_t nfields;
	bool has_partial;
	uint64_t origin, count; /* <origin.count> when has_partial */
};

/* What a section resolves to: either a raw range of the message, written
 * with bare LF turned into CRLF, or bytes already in wire form (built in
 * the arena for HEADER.FIELDS, valid until the arena is rewound past
 * them). size is the wire size before partial: the literal of
 * BODY[section] is mime_view_slice_size() octets, and RFC822.SIZE is the
 * size of the empty section (mime_wire_size over the whole message). */
struct mime_view {
	const unsigned char *data;
	size_t len;
	bool convert_lf;
	uint64_t size;
};

/* Resolve spec against msg (RFC 3501 section 6.4.5). Returns 0; a part
 * that does not exist, or HEADER/TEXT of a part that is not
 * message/rfc822, gives an empty view and returns 1. Partial is not
 * applied here. */
int mime_section_resolve(struct arena *a, const struct mime_message *msg,
			 const struct mime_section *spec,
			 struct mime_view *view_r);

typedef int (*mime_write_fn)(void *ctx, const void *data, size_t len);
/* Write the wire bytes [origin, origin + count) of view (clipped to its
 * size) through fn, NUL bytes as 0x80 (a literal cannot carry NUL).
 * Returns 0, or the first non-zero return of fn. */
int mime_view_write(const struct mime_view *view, uint64_t origin,
		    uint64_t count, mime_write_fn fn, void *ctx);
/* Wire size of the slice mime_view_write would write. */
uint64_t mime_view_slice_size(const struct mime_view *view, uint64_t origin,
			      uint64_t count);
/* Resolve spec, apply its partial, and append the bytes to out. Returns
 * 0, or -1 when out exceeds its maximum. */
int mime_section_fetch(struct arena *a, const struct mime_message *msg,
		       const struct mime_section *spec, struct buf *out);

/* Decode an unstructured header value with RFC 2047 encoded words (B and
 * Q; UTF-8, US-ASCII, ISO-8859-1, ISO-8859-15 and Windows-1252 charsets;
 * unknown charsets keep their bytes) into UTF-8. Whitespace between
 * adjacent encoded words is dropped. Result NUL-terminated in the arena. */
char *mime_decode_header(struct arena *a, const char *s, size_t len);
/* Convert len bytes in charset cs to UTF-8 appended to out; returns false
 * when the charset is unknown (the bytes are then appended unchanged). */
bool mime_charset_to_utf8(struct buf *out, const char *cs,
			  const unsigned char *s, size_t len);

/* Transfer decodings, appending to out. Invalid input is skipped, never
 * an error. Return 0, or -1 when out exceeds its maximum. */
/* The value of hex digit c (either case), or -1. */
int mime_hexval(unsigned char c);
int mime_decode_base64(struct buf *out, const unsigned char *s, size_t len);
int mime_decode_qp(struct buf *out, const unsigned char *s, size_t len);

/* Case-insensitive substring search: ASCII letters and the Latin-1
 * letters of UTF-8 (U+00C0..U+00FE) fold to lower case. */
bool mime_text_contains(const unsigned char *hay, size_t hay_len,
			const char *needle);

enum mime_search_where {
	MIME_SEARCH_HEADER, /* the named header fields (decoded values) */
	MIME_SEARCH_BODY,   /* the decoded text of every text leaf */
	MIME_SEARCH_TEXT,   /* every header of every part, and the body */
};
/* SEARCH HEADER name / BODY / TEXT over a message. header_name is used
 * only for MIME_SEARCH_HEADER; an empty needle matches when the field
 * exists (RFC 3501 section 6.4.4). BODY searches the decoded text and
 * message leaves (charset converted to UTF-8); TEXT adds the decoded
 * headers of the message and of every part (as Dovecot does). The needle
 * is UTF-8. Parses msg with a scratch arena of its own. */
bool mime_search_text(const unsigned char *msg, size_t len, const char *needle,
		      enum mime_search_where where, const char *header_name);
/* The same over a message already parsed; scratch memory comes from a
 * and is given back (arena_rewind) before returning. */
bool mime_search_message(struct arena *a, const struct mime_message *m,
			 const char *needle, enum mime_search_where where,
			 const char *header_name);

#endif
