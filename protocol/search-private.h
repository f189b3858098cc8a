/* SEARCH internals of protocol/ (RFC 3501 6.4.4): the search program
 * parsed into a key tree (search.c) and matched against the messages of a
 * box (search-match.c). cmd-search.c and the unit tests use it; nothing
 * outside protocol/ includes it.
 */
#ifndef PROTOCOL_SEARCH_PRIVATE_H
#define PROTOCOL_SEARCH_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/imap-private.h"

/* A search program may nest NOT, OR and parenthesised groups this many
 * times the parser's max_nesting deep: a group counts like a list for the
 * parser, but clients build long OR chains without parentheses (one OR
 * per address of a list), so chains get more room. Bounds the recursion
 * of both parsing and matching. */
#define SEARCH_DEPTH_FACTOR 4

enum search_key_type {
	SEARCH_ALL,
	SEARCH_AND, /* children: every one must match */
	SEARCH_OR,  /* children: two, either must match */
	SEARCH_NOT, /* children: one, which must not match */
	SEARCH_SEQSET,
	SEARCH_UIDSET,
	SEARCH_FLAGS,     /* flags: all of them set */
	SEARCH_NOFLAGS,   /* flags: none of them set */
	SEARCH_KEYWORD,   /* str: the keyword is set */
	SEARCH_UNKEYWORD, /* str: the keyword is not set */
	SEARCH_RECENT,
	SEARCH_NEW, /* \Recent and not \Seen */
	SEARCH_OLD, /* not \Recent */
	SEARCH_BEFORE,
	SEARCH_ON,
	SEARCH_SINCE,
	SEARCH_SENTBEFORE,
	SEARCH_SENTON,
	SEARCH_SENTSINCE,
	SEARCH_LARGER,
	SEARCH_SMALLER,
	SEARCH_HEADER, /* field, str: the field exists and contains str */
	SEARCH_BODY,   /* str: in the decoded text of the body */
	SEARCH_TEXT,   /* str: in the header or the body */
};

struct search_key {
	enum search_key_type type;
	struct search_key *children; /* AND, OR, NOT */
	unsigned count;
	uint32_t flags;         /* FLAGS, NOFLAGS: MD_FLAG_* bits */
	uint32_t number;        /* LARGER, SMALLER: octets */
	int64_t day;            /* dates: days since 1970-01-01 */
	struct imap_seqset set; /* SEQSET, UIDSET: as parsed ("*" is 0) */
	const char *field;      /* HEADER: the field name */
	const char *str;        /* KEYWORD, UNKEYWORD, HEADER, BODY, TEXT;
				   NUL-free, UTF-8 for text keys */
	uint32_t kw_bit;        /* KEYWORD, UNKEYWORD: the box's bit, set by
				   search_begin() (0: no such keyword) */
	unsigned cost;          /* how much matching costs: see search.c */
};

/* search          = "SEARCH" [SP "CHARSET" SP astring] 1*(SP search-key)
 * Parse the search keys args[0 .. count) (after any CHARSET) into one
 * tree, the top-level keys ANDed; AND children ordered cheapest first.
 * Returns 0 and *root_r (in the arena, pointing into args' strings), or -1
 * with a static text for the tagged BAD in *error_r. */
int search_parse(struct arena *a, const struct imap_limits *limits,
		 const struct imap_arg *args, unsigned count,
		 struct search_key **root_r, const char **error_r);

/* Matching a tree against the messages of a box, one message at a time. */
struct search_ctx;

/* Start matching root against box (of store), whose messages the client
 * numbers 1 .. seq_count (the view) and whose largest UID in the view is
 * max_uid (what "*" means in UID sets); keyword names are resolved to the
 * box's bits in the tree. Scratch memory comes from a and is given back
 * after each message; the context itself lives in a. */
struct search_ctx *search_begin(struct arena *a, struct md_store *store,
				struct md_box *box, struct search_key *root,
				uint32_t seq_count, uint32_t max_uid);
/* Does the message with sequence number seq, UID uid and the given \Recent
 * state match? Flags, keywords, sizes and internal dates come from the
 * box without I/O; the message is read only when a key still undecided
 * needs its content, its header only when no key needs more, and its
 * MIME structure parsed only for BODY and TEXT. A message the box no
 * longer holds, or whose file is gone, never matches. */
bool search_match(struct search_ctx *ctx, uint32_t seq, uint32_t uid,
		  bool recent);
/* Did a message fail to be read for another reason than being expunged?
 * The search must then end with the store's error (md_last_error()):
 * its result would be incomplete. */
bool search_failed(const struct search_ctx *ctx);
/* How many messages search_match() had to read (for tests). */
uint32_t search_opened(const struct search_ctx *ctx);

#endif
