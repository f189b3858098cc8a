/* The Maildir++ store under every IMAP command: folders, flags, UID lists
 * under a lock file, append, copy, move, expunge and crash recovery.
 * Knows nothing of IMAP syntax: errors are enum md_err kinds plus a short
 * text, and mailbox names are UTF-8 (mapped privately to modified UTF-7
 * directory names).
 *
 * Conventions for every function below:
 * - int functions return 0 on success and -1 on failure; on failure the
 *   kind and a short text are kept on the store (md_last_error()) and any
 *   internal detail has been logged.
 * - Pointers into a box (md_box_messages(), md_box_keywords()) stay valid
 *   until the next call that changes that box: md_box_sync(),
 *   md_box_set_flags(), md_box_expunge(), md_move(), md_box_keyword_index()
 *   with create, or md_box_free().
 * - Destructors take a pointer to the caller's pointer, accept NULL and set
 *   it to NULL.
 * - A store and its boxes belong to one thread; several processes may use
 *   the same Maildir at once (and a delivery agent may write into new/). */
#ifndef MAILDIR_MAILDIR_H
#define MAILDIR_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Error kinds. protocol/resp.c maps them to RFC 5530 response codes:
 * NOTFOUND NONEXISTENT (TRYCREATE for an APPEND/COPY/MOVE target), EXISTS
 * ALREADYEXISTS, PERM NOPERM, LOCKED INUSE, NOSPACE OVERQUOTA, LIMIT LIMIT,
 * EXPUNGED EXPUNGEISSUED, TOOBIG TOOBIG, BADNAME and NOTALLOWED CANNOT,
 * INTERNAL SERVERBUG. */
enum md_err {
	MD_ERR_NONE = 0,
	MD_ERR_NOTFOUND,   /* mailbox (or message) does not exist */
	MD_ERR_EXISTS,     /* mailbox already exists */
	MD_ERR_PERM,       /* EACCES/EPERM, or a write to a read-only box */
	MD_ERR_LOCKED,     /* the UID-list lock could not be taken in time */
	MD_ERR_NOSPACE,    /* ENOSPC or EDQUOT */
	MD_ERR_LIMIT,      /* a store limit: 26 keywords, name too long */
	MD_ERR_EXPUNGED,   /* some messages were expunged by someone else */
	MD_ERR_TOOBIG,     /* message over the append size limit */
	MD_ERR_BADNAME,    /* mailbox name refused (see md_name_valid) */
	MD_ERR_NOTALLOWED, /* e.g. DELETE INBOX, RENAME a box into itself */
	MD_ERR_INTERNAL,   /* anything else; details are in the log */
};

/* System flags: bit (c - 'A') for the Maildir info letter c, so unknown
 * upper-case letters set by other software survive a flag change. */
#define MD_FLAG_LETTER(c) (1u << ((c) - 'A'))
#define MD_FLAG_DRAFT MD_FLAG_LETTER('D')    /* \Draft */
#define MD_FLAG_FLAGGED MD_FLAG_LETTER('F')  /* \Flagged */
#define MD_FLAG_PASSED MD_FLAG_LETTER('P')   /* $Forwarded-like, no IMAP flag */
#define MD_FLAG_ANSWERED MD_FLAG_LETTER('R') /* \Answered */
#define MD_FLAG_SEEN MD_FLAG_LETTER('S')     /* \Seen */
#define MD_FLAG_DELETED MD_FLAG_LETTER('T')  /* \Deleted */
/* The five IMAP system flags a client may set (\Recent is not stored). */
#define MD_FLAGS_IMAP                                                          \
	(MD_FLAG_DRAFT | MD_FLAG_FLAGGED | MD_FLAG_ANSWERED | MD_FLAG_SEEN |   \
	 MD_FLAG_DELETED)
/* Keywords: bit i is keyword letter 'a' + i of the box (md_box_keywords). */
#define MD_MAX_KEYWORDS 26

struct md_store;
struct md_box;
struct md_append;

/* One message as the store sees it. */
struct md_msg {
	uint32_t uid;
	uint32_t flags;    /* MD_FLAG_* bits */
	uint32_t keywords; /* bit i = keyword i of the box */
	bool recent;       /* \Recent for this box object (see md_box_open) */
	size_t size;  /* file size in bytes (the file's own line endings) */
	size_t vsize; /* size with CRLF line ends (RFC822.SIZE); 0: unknown */
	time_t internal_date; /* the file's mtime, set at delivery/append */
};

/* A growable UID array filled by the store; start it zeroed, free it with
 * md_uids_free(). */
struct md_uids {
	uint32_t *uids;
	size_t count;
	size_t cap;
};
void md_uids_free(struct md_uids *u);

/* ---- Store ---- */

/* Open the Maildir at root (the INBOX). With create, a missing root and its
 * cur/ new/ tmp/ are created (mode 0700). Returns 0 and *store_r, or -1
 * (logged; *store_r is NULL, so md_last_error() is not available). */
int md_store_open(const char *root, bool create, struct md_store **store_r);
void md_store_free(struct md_store **store);
/* Tune the UID-list lock: a lock whose owner pid is gone (on this host) and
 * whose age is at least stale_secs is broken with a log line; a lock held
 * by another host is broken at max(stale_secs, 600) seconds of age; a lock
 * that cannot be taken within wait_secs fails with MD_ERR_LOCKED. A live
 * owner on this host is never broken, however long it holds the lock.
 * Defaults: stale 10 (so a crashed session blocks others briefly), wait 30.
 * The same settings apply to the subscriptions lock. */
void md_store_set_lock(struct md_store *store, unsigned stale_secs,
		       unsigned wait_secs);
/* Largest message md_append_write() accepts (0: no limit, the default). */
void md_store_set_max_message(struct md_store *store, size_t max);
/* The last error kind; *text_r (if text_r is not NULL) gets a short
 * human-readable text owned by the store, valid until the next call. */
enum md_err md_last_error(const struct md_store *store, const char **text_r);

/* Is name (UTF-8) an acceptable mailbox name? Refused: empty, not UTF-8,
 * control characters, '/', '*', '%', a leading or trailing '.', an empty
 * component (".."), more than 255 bytes once encoded. "INBOX" in any case is
 * the root. */
bool md_name_valid(const char *name);

/* ---- Folders ---- */

#define MD_FOLDER_NOSELECT 0x1    /* exists only as a parent of others */
#define MD_FOLDER_HASCHILDREN 0x2 /* has at least one child folder */

struct md_folder {
	char *name; /* UTF-8, delimiter '.', "INBOX" for the root */
	unsigned flags;
};
/* Every folder, INBOX first then sorted by name (bytewise), including
 * \Noselect parents implied by their children. The caller frees the array
 * with md_folders_free(). Returns 0 or -1. */
int md_store_list(struct md_store *store, struct md_folder **folders_r,
		  size_t *count_r);
void md_folders_free(struct md_folder **folders, size_t count);
/* Create a folder (parents are not created: they show as \Noselect).
 * Errors: BADNAME, EXISTS (also for INBOX), PERM, NOSPACE. */
int md_box_create(struct md_store *store, const char *name);
/* Delete a folder and its messages; its children stay (it then shows as a
 * \Noselect parent). Errors: BADNAME, NOTALLOWED (INBOX), NOTFOUND. */
int md_box_delete(struct md_store *store, const char *name);
/* Rename a folder and all its children. Renaming INBOX creates newname and
 * moves INBOX's messages into it (INBOX stays, empty; its children do not
 * move). Errors: BADNAME, NOTFOUND, EXISTS, NOTALLOWED (into itself). */
int md_box_rename(struct md_store *store, const char *oldname,
		  const char *newname);
/* Subscriptions live in the file "subscriptions" at the root, one UTF-8
 * name per line. Subscribing does not require the folder to exist;
 * subscribing twice or unsubscribing an absent name is not an error. */
int md_store_subscribe(struct md_store *store, const char *name, bool on);
/* The subscribed names (caller frees with md_names_free()). */
int md_store_subscriptions(struct md_store *store, char ***names_r,
			   size_t *count_r);
void md_names_free(char ***names, size_t count);

/* ---- Boxes ---- */

/* Open and sync a mailbox. Messages new since any box object last claimed
 * them are \Recent in this box object only (claiming is skipped when
 * readonly, so EXAMINE never takes \Recent away). readonly boxes refuse
 * set-flags, expunge and being a move source with MD_ERR_PERM.
 * Errors: BADNAME, NOTFOUND (includes \Noselect), PERM, LOCKED. */
int md_box_open(struct md_store *store, const char *name, bool readonly,
		struct md_box **box_r);
void md_box_free(struct md_box **box);
const char *md_box_name(const struct md_box *box); /* UTF-8, owned by box */
bool md_box_readonly(const struct md_box *box);
uint32_t md_box_uidvalidity(const struct md_box *box);
/* The next UID that will be assigned (as of the last sync). */
uint32_t md_box_uidnext(const struct md_box *box);
/* The messages in UID order; *count_r gets their number. */
/* How many of the box's messages are \Recent for this box object. */
uint32_t md_box_recent_count(const struct md_box *box);
const struct md_msg *md_box_messages(const struct md_box *box,
				     uint32_t *count_r);
/* Index of uid in md_box_messages(), or -1 when absent. */
long md_box_find(const struct md_box *box, uint32_t uid);
/* The keyword names of the box, indexed by keyword bit (NULL when unused);
 * MD_MAX_KEYWORDS entries. */
const char *const *md_box_keywords(const struct md_box *box);
/* The bit index of keyword name (compared case-insensitively). With create,
 * an unknown keyword is added to the box's keyword file. Returns 0 and
 * *index_r, or -1: NOTFOUND (unknown without create, or a name that cannot
 * be stored: space, control or non-ASCII bytes, leading backslash), LIMIT
 * (26 in use), LOCKED. */
int md_box_keyword_index(struct md_box *box, const char *name, bool create,
			 unsigned *index_r);

/* STATUS without selecting: counts as a read-only md_box_open() would see
 * them (recent: messages no session has claimed yet), without building the
 * message array. Errors as md_box_open(). */
struct md_status {
	uint32_t messages, recent, unseen;
	uint32_t uidnext, uidvalidity;
};
int md_box_status(struct md_store *store, const char *name,
		  struct md_status *status_r);

/* What md_box_sync() found. Arrays are owned by the box and valid until the
 * next md_box_sync(). */
struct md_sync_result {
	bool uidvalidity_changed; /* the list was lost: the session must end */
	bool keywords_changed;    /* md_box_keywords() gained names */
	const uint32_t *vanished; /* UIDs gone since the previous view */
	size_t vanished_count;
	const uint32_t *changed; /* UIDs whose flags or keywords changed */
	size_t changed_count;
	uint32_t first_new; /* index of the first new message; == count when
			       none (new messages are always at the end) */
};
/* Bring the box up to date with the disk (for NOOP, CHECK, IDLE). Cheap
 * when nothing changed: no directory is read when new/ and cur/ are as the
 * UID list recorded them. result may be NULL. Errors: NOTFOUND (the folder
 * was deleted meanwhile: end the selection), LOCKED, INTERNAL. A folder
 * renamed meanwhile stays selected under its new directory. */
int md_box_sync(struct md_box *box, struct md_sync_result *result);

/* How md_box_set_flags() combines flags with a message's flags. */
enum md_flag_op {
	MD_FLAGS_ADD,
	MD_FLAGS_REMOVE,
	MD_FLAGS_REPLACE,
};
/* Change the flags of the messages with the given UIDs (rename within cur/,
 * retried when another process renamed the file meanwhile). UIDs not in the
 * box are ignored. md_box_messages() reflects the result. Returns 0, or -1
 * with EXPUNGED when some files were found gone (the others are changed and
 * the gone ones are removed from the box view at the next sync), or another
 * kind (then the changes made so far are in md_box_messages()). */
int md_box_set_flags(struct md_box *box, const uint32_t *uids, size_t count,
		     enum md_flag_op op, uint32_t flags, uint32_t keywords);
/* Expunge the messages with the given UIDs (unlink, drop their records).
 * The UIDs really removed are appended to expunged_r (in UID order), and
 * md_box_messages() no longer holds them. Messages already gone count as
 * expunged. Errors: PERM (read-only), LOCKED, INTERNAL. */
int md_box_expunge(struct md_box *box, const uint32_t *uids, size_t count,
		   struct md_uids *expunged_r);

/* A read-only view of a message's bytes (read into memory when small,
 * mmap'd when big; data is not NUL-terminated; size 0 gives a non-NULL
 * empty data). */
struct md_view {
	const char *data;
	size_t size;
	void *map_;      /* private */
	size_t map_len_; /* private */
	void *copy_;     /* private */
};
/* Map the message with uid. Errors: NOTFOUND (uid not in the box),
 * EXPUNGED (its file is gone), INTERNAL. */
int md_box_view(struct md_box *box, uint32_t uid, struct md_view *view_r);
void md_view_release(struct md_view *view);

/* ---- Append (streaming) ---- */

/* Start appending to mailbox name: creates a file in its tmp/. The caller
 * then writes the message in chunks and commits or aborts.
 * Errors: BADNAME, NOTFOUND (the IMAP TRYCREATE case), PERM, NOSPACE. */
int md_append_begin(struct md_store *store, const char *name,
		    struct md_append **app_r);
/* Errors: TOOBIG (over md_store_set_max_message), NOSPACE, INTERNAL. On
 * error the append is still open: the caller must abort it. */
int md_append_write(struct md_append *app, const void *data, size_t len);
/* Make the message visible with flags (MD_FLAG_*), the keyword names given
 * (added to the box's keyword file as needed) and internal_date as mtime
 * (0: now). On success *uidvalidity_r and *uid_r are set. The append is
 * freed and *app set to NULL whatever the result. Errors: LIMIT (26
 * keywords), BADNAME (a keyword with space, control or non-ASCII bytes or
 * a leading backslash), NOSPACE, LOCKED, INTERNAL. */
int md_append_commit(struct md_append **app, uint32_t flags,
		     const char *const *keywords, size_t keyword_count,
		     time_t internal_date, uint32_t *uidvalidity_r,
		     uint32_t *uid_r);
/* Remove the tmp/ file and free the append. Accepts NULL. */
void md_append_abort(struct md_append **app);

/* ---- Copy and move ---- */

/* Result of a copy or move: src[i] became dst[i] in the target. */
struct md_copy_result {
	uint32_t dst_uidvalidity;
	struct md_uids src;
	struct md_uids dst;
};
void md_copy_result_free(struct md_copy_result *r);

/* Copy the messages with the given UIDs (in that order) into the folder
 * target, by hard link where possible, else by copy + fsync. Flags and
 * keywords (by name) and the internal date travel with them. UIDs not in
 * the box are skipped. On -1 the messages listed in result were copied.
 * Errors: BADNAME, NOTFOUND (target missing: TRYCREATE), NOSPACE, LIMIT. */
int md_box_copy(struct md_box *box, const uint32_t *uids, size_t count,
		const char *target, struct md_copy_result *result);
/* Move the messages with the given UIDs (in that order) into target by
 * rename(2) (see move.c for the algorithm and its crash guarantees). UIDs
 * not in the box, or expunged meanwhile, are skipped; a message whose flags
 * another process changed meanwhile moves with the new flags. Target UIDs
 * are given in the order of uids. The moved messages
 * leave md_box_messages() (result->src lists them, in the order moved, and
 * those are the ones to report as expunged). Moving into the box itself
 * gives the messages new UIDs. On -1 the messages in result->src were
 * moved and all others are untouched; result->dst.count is then 0 when the
 * target UIDs are not known (no COPYUID can be given). Errors: PERM (read-only
 * source), BADNAME, NOTFOUND (target missing: TRYCREATE), LOCKED, NOSPACE,
 * LIMIT. */
int md_move(struct md_box *box, const uint32_t *uids, size_t count,
	    const char *target, struct md_copy_result *result);

/* ---- Metadata cache ---- */

/* A per-mailbox cache of opaque blobs keyed by (UID, field), shared by
 * every box object (every session) of the mailbox through the file
 * imapmoved-cache beside the UID list. The caller chooses the field ids
 * and what they hold; a blob must be a pure function of the message
 * file's bytes, because an entry is valid exactly as long as the box has
 * the same file (base name) for that UID. It is only a cache: a missing,
 * stale or corrupt file gives misses, never an error, and never wrong
 * data. */

/* Look up field of uid. Returns 1 and *data_r, *len_r on a hit (pointing
 * into the box's mapping of the file, valid until the next
 * md_cache_flush() or md_box_free() of box), 0 on a miss (also when the
 * file cannot be read: logged). The first lookup after md_cache_flush()
 * looks at the file again, so one command sees one state of it. */
int md_cache_get(struct md_box *box, uint32_t uid, unsigned field,
		 const void **data_r, size_t *len_r);
/* Remember data (copied) as field of uid, for the next md_cache_flush().
 * Ignored when uid is not in the box or data exceeds 1 MiB. */
void md_cache_put(struct md_box *box, uint32_t uid, unsigned field,
		  const void *data, size_t len);
/* Write what was put (call once per command). Failures (a busy lock for
 * a rewrite, a full disk) are logged and only lose the new entries. */
void md_cache_flush(struct md_box *box);
/* Bound of each mailbox's cache file in bytes (default 64 MiB; 0 turns
 * the cache off: every get misses, puts are dropped). */
void md_store_set_cache_max(struct md_store *store, size_t max);

/* ---- Change notification (IDLE) ---- */

/* An inotify descriptor that becomes readable when new/, cur/ or the UID
 * list of the box change; owned by the box (closed by md_box_free).
 * Returns the fd, or -1 (INTERNAL). */
int md_box_watch_fd(struct md_box *box);
/* Empty the descriptor's queue after poll said readable. Returns 1 when
 * something relevant changed (call md_box_sync), 0 when not, -1 on error. */
int md_box_watch_drain(struct md_box *box);

#endif
