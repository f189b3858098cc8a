/* FETCH items (RFC 3501 6.4.5, 7.4.2): the parsed form of a FETCH
 * command's item list, shared by fetch.c (the parser), cmd-fetch.c (the
 * handler) and the unit tests. Internal to protocol/.
 */
#ifndef PROTOCOL_FETCH_PRIVATE_H
#define PROTOCOL_FETCH_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/arena.h"
#include "protocol/imap-private.h"
#include "protocol/mime-private.h"

enum imap_fetch_kind {
	IMAP_FETCH_UID,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODY,          /* BODY: the non-extensible structure */
	IMAP_FETCH_BODYSTRUCTURE, /* with extension data */
	IMAP_FETCH_SECTION,       /* BODY[...], BODY.PEEK[...], RFC822... */
};

struct imap_fetch_item {
	enum imap_fetch_kind kind;
	/* IMAP_FETCH_SECTION only. */
	struct mime_section spec;
	/* The item name of the response without any "<origin>":
	 * "BODY[1.MIME]", "RFC822.HEADER" (in the arena). */
	const char *name;
	bool sets_seen;  /* BODY[...] without .PEEK, RFC822, RFC822.TEXT */
	bool needs_mime; /* anything but the whole message needs a parse */
	bool needs_body; /* ...of more than the top-level header */
};

struct imap_fetch {
	struct imap_fetch_item *items; /* in the arena, in request order */
	size_t count;
	bool has_uid;       /* UID was asked for */
	bool has_flags;     /* FLAGS was asked for */
	bool sets_seen;     /* some item sets \Seen */
	bool needs_mime;    /* some item needs the parsed message */
	bool needs_body;    /* ...beyond its header (else only the header
			       is parsed: ENVELOPE, HEADER.FIELDS) */
	bool needs_content; /* some item needs the message bytes */
	bool has_size;      /* RFC822.SIZE (bytes needed when unknown) */
};

/* fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
 *         fetch-att / "(" fetch-att *(SP fetch-att) ")")  (RFC 3501 9)
 * Parse the item argument into *f_r (everything in the arena). Returns
 * 0, or -1 with a static text for the tagged BAD in *error_r. */
int imap_fetch_parse(struct arena *a, const struct imap_arg *arg,
		     struct imap_fetch *f_r, const char **error_r);

#endif
