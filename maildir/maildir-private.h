/* Internals of maildir/: shared by its .c files and its unit tests, never
 * included from outside maildir/ (make lint checks). */
#ifndef MAILDIR_MAILDIR_PRIVATE_H
#define MAILDIR_MAILDIR_PRIVATE_H

#include "maildir.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Fault points for crash tests: in -DIMAPMOVED_FAULTS builds, the process
 * calls _exit(99) when env IMAPMOVED_FAULT names the point ("name", or
 * "name:N" for its N-th hit). Release builds compile them to nothing.
 * The points: append.after-fsync, append.after-lock, append.after-rename,
 * append.after-list; flags.after-rename (per message); expunge.after-unlink
 * (per message), expunge.after-fsync, expunge.after-list; copy.after-link
 * (per message), copy.after-list; move.after-rename (per message),
 * move.exdev-after-unlink (per message), move.after-fsync,
 * move.after-target-list, move.after-source-list; sync.after-new-rename
 * (per file); uidlist.after-write, uidlist.after-fsync,
 * uidlist.after-rename (per list write); rename.after-journal,
 * rename.after-folder, rename.after-child (per child folder).
 * "syscall:K" counts instead every state-changing system call of the store
 * (create, write, fsync, close of a written file, rename, link, unlink)
 * made while md_move() runs, FAULT_SYSCALL() marking each, and exits after
 * the K-th: a sweep over K visits every state a crash can leave on disk.
 * Calls that only read change nothing, so they need no mark. */
#ifdef IMAPMOVED_FAULTS
void md_fault_point(const char *name);
/* Arm or disarm the "syscall" counting (md_move() arms it). */
void md_fault_arm(bool on);
void md_fault_syscall(void);
#define FAULT_POINT(name) md_fault_point(name)
#define FAULT_SYSCALL() md_fault_syscall()
#define FAULT_ARM(on) md_fault_arm(on)
/* In fault builds, env IMAPMOVED_FAKE_EXDEV=1 makes move's rename fail with
 * EXDEV, to exercise the cross-filesystem fallback. */
bool md_fault_fake_exdev(void);
#else
#define FAULT_POINT(name) ((void)0)
#define FAULT_SYSCALL() ((void)0)
#define FAULT_ARM(on) ((void)0)
#define md_fault_fake_exdev() false
#endif

/* Test-only statistics (fault builds): how often the store read new/ or
 * cur/ (a scan or a re-find by base name) and how often it wrote the UID list,
 * so tests can check that a sync with nothing new does neither. */
struct md_stats {
	unsigned long dir_reads;
	unsigned long list_writes;
};
#ifdef IMAPMOVED_FAULTS
extern struct md_stats md_stats;
#define MD_STAT(field) ((void)md_stats.field++)
#else
#define MD_STAT(field) ((void)0)
#endif

#define MD_UIDLIST "imapmoved-uidlist"
#define MD_UIDLIST_LOCK "imapmoved-uidlist.lock"
#define MD_UIDLIST_TMP "imapmoved-uidlist.tmp"
#define MD_KEYWORDS "imapmoved-keywords"
#define MD_SUBSCRIPTIONS "subscriptions"
#define MD_SUBSCRIPTIONS_LOCK "subscriptions.lock"
#define MD_MOVE_JOURNAL "imapmoved-move-journal"
#define MD_CACHE "imapmoved-cache"
#define MD_CACHE_TMP "imapmoved-cache.tmp"
#define MD_RENAME_JOURNAL "imapmoved-rename-journal"
#define MD_RENAME_JOURNAL_TMP "imapmoved-rename-journal.tmp"
#define MD_RENAME_LOCK "imapmoved-rename.lock"
#define MD_INDEX "imapmoved-index"
#define MD_INDEX_TMP "imapmoved-index.tmp"
/* Boxes smaller than this get no binary index: their text list parses in
 * well under a millisecond. */
#define MD_INDEX_MIN 512
/* Default bound of a box's metadata cache file. */
#define MD_CACHE_DEFAULT_MAX ((size_t)64 * 1024 * 1024)
#define MD_MAX_NAME 255
/* Every upper-case letter bit of struct md_msg flags. */
#define MD_FLAG_ALL 0x3ffffffu

struct md_store {
	char *root;
	int root_fd;
	unsigned lock_stale_secs;
	unsigned lock_wait_secs;
	size_t max_message;
	size_t cache_max; /* bound of each cache file; 0: no cache */
	enum md_err err;
	char err_text[160];
};

/* ---- errors (store.c) ---- */
void md_set_error(struct md_store *store, enum md_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Log "what path: strerror(errno)" and set the kind from errno (ENOSPC and
 * EDQUOT: NOSPACE; EACCES, EPERM, EROFS: PERM; else INTERNAL). */
void md_set_syserr(struct md_store *store, const char *what, const char *path);

/* ---- names (mdname.c) ---- */
bool md_name_is_inbox(const char *name);
/* A malloc'd copy of name with a first component "inbox" in any case
 * written "INBOX", as listings show it. */
char *md_name_canonical(const char *name);
/* The directory name of a UTF-8 mailbox name: "" for INBOX, else "." +
 * modified UTF-7. Returns 0 or -1 (invalid name). out has MD_MAX_NAME+1. */
int md_name_to_dir(const char *name, char *out, size_t outsize);
/* The UTF-8 name of directory entry dir (".xxx"); -1 when it is not a
 * folder name we can decode. */
int md_dir_to_name(const char *dir, char *out, size_t outsize);
/* Open the folder directory of name (O_DIRECTORY|O_NOFOLLOW). Sets NOTFOUND
 * when missing or not selectable (no cur/). Returns the fd or -1. */
int md_box_dir_open(struct md_store *store, const char *name);

/* ---- file names (filename.c) ---- */
struct md_fname {
	const char *base; /* points into the parsed name */
	size_t base_len;
	uint32_t flags;
	uint32_t keywords;
	bool has_size;
	size_t size;
	bool has_vsize; /* ",W=": the size with CRLF line ends */
	size_t vsize;
};
/* Split a file name into base, flags and keywords and find ",S=". Letters
 * other than A-Z and a-z in the info are ignored. */
void md_fname_parse(const char *name, struct md_fname *f);
/* Build "base:2,<flags>" into out (ASCII order). Returns 0 or -1 when out
 * is too small. */
int md_fname_build(const char *base, size_t base_len, uint32_t flags,
		   uint32_t keywords, char *out, size_t outsize);
/* A new unique base name with ",S=size" (and ",W=vsize" unless 0). */
int md_fname_unique(size_t size, size_t vsize, char *out, size_t outsize);

/* ---- locks (lock.c) ---- */
/* Take the dot-lock lockname in directory dirfd. Returns 1 when taken, 0
 * when it could not be taken within wait_secs, -1 on error (logged). */
int md_lock_take(int dirfd, const char *lockname, unsigned stale_secs,
		 unsigned wait_secs);
/* Remove the lock (logs on failure). */
void md_lock_release(int dirfd, const char *lockname);
/* Same as md_lock_take, setting LOCKED / INTERNAL on the store. 0 or -1. */
int md_lock_store(struct md_store *store, int dirfd, const char *lockname);

/* ---- the UID list (uidlist.c) ---- */
struct md_rec {
	uint32_t uid;
	size_t size;
	int64_t mtime;
	char *name; /* full file name in cur/ (or new/), malloc'd */
};
struct md_uidlist {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t recent_uid; /* first UID not yet claimed as \Recent */
	struct timespec new_mtime, cur_mtime; /* 0 means "rescan" */
	struct md_rec *recs;
	size_t count, cap;
};
/* Parse a list; -1 when it is not a valid list (any garbage). */
int md_uidlist_parse(const char *data, size_t len, struct md_uidlist *ul);
/* Read MD_UIDLIST in dirfd: 1 read, 0 missing, -1 garbage (logged; ul is
 * then empty but for uidvalidity: the old value when it could be salvaged
 * from the garbage, so the new one can differ, else 0), -2 the file could
 * not be read (logged; never a reason to reset UIDVALIDITY). st_r
 * (may be NULL) gets the file's stat. */
int md_uidlist_read(int dirfd, struct md_uidlist *ul, struct stat *st_r);
/* Serialise into a malloc'd string (caller frees). */
char *md_uidlist_format(const struct md_uidlist *ul, size_t *len_r);
/* Atomically replace MD_UIDLIST in dirfd (temp, fsync, rename, fsync dir).
 * Caller holds the lock. Returns 0 or -1 with errno set (logged). */
int md_uidlist_write(int dirfd, const struct md_uidlist *ul);
void md_uidlist_clear(struct md_uidlist *ul);
struct md_rec *md_uidlist_add(struct md_uidlist *ul, uint32_t uid,
			      const char *name, size_t size, int64_t mtime);
/* Binary search by uid; NULL when absent. */
struct md_rec *md_uidlist_find(const struct md_uidlist *ul, uint32_t uid);
/* Remove records whose name is NULL (compacts the array). */
void md_uidlist_compact(struct md_uidlist *ul);
/* A fresh UIDVALIDITY: the clock, but never equal to not_this. */
uint32_t md_uidvalidity_new(uint32_t not_this);

/* ---- keywords (keywords.c) ---- */
struct md_keywords {
	char *names[MD_MAX_KEYWORDS];
};
/* Read MD_KEYWORDS of dirfd ("<index> <name>" lines, the dovecot-keywords
 * format). A missing file gives no keywords. Returns 0 or -1. */
int md_keywords_read(int dirfd, struct md_keywords *kw);
int md_keywords_write(int dirfd, const struct md_keywords *kw);
void md_keywords_clear(struct md_keywords *kw);
/* A keyword name we can store: printable ASCII without space, not a
 * system flag (no leading backslash), at most 128 bytes. */
bool md_keyword_valid(const char *name);
/* Index of name or -1. */
int md_keywords_find(const struct md_keywords *kw, const char *name);
/* Index of name, adding it in the first free slot; -1 when full. *added_r
 * tells whether the table changed. */
int md_keywords_add(struct md_keywords *kw, const char *name, bool *added_r);
/* Map keyword bits from table from into table to (adding as needed).
 * Returns 0, or -1 when to is full. *added_r is set when to changed. */
int md_keywords_map(const struct md_keywords *from, uint32_t bits,
		    struct md_keywords *to, uint32_t *out_r, bool *added_r);

/* ---- metadata cache (cache.c) ---- */
struct md_cache;
void md_cache_free(struct md_cache **cache);

/* ---- box internals (box.c, sync.c) ---- */
struct md_box {
	struct md_store *store;
	char *name;
	int dirfd;
	int cur_fd, new_fd, tmp_fd;
	bool readonly;
	bool has_lock;
	uint32_t uidvalidity, uidnext;
	struct md_msg *msgs; /* heap, or the records of ix (msgs_mapped) */
	bool msgs_mapped;
	/* Parallel to msgs: the current file name in cur/ (NULL: marked
	 * gone) and the base name. Both NULL while the names are still
	 * those of ix; md_box_fname() and md_box_base() read either. A name
	 * inside ix is never freed. */
	char **fnames;
	char **bases;
	uint32_t count, cap;
	/* The binary index the box was opened from (index.c), kept mapped
	 * for the box's life: its records and names may be in use. */
	struct {
		void *p;
		size_t len;
		const uint32_t *offs;
		const char *names;
		size_t names_len;
	} ix;
	bool want_index; /* first sync of md_box_open(): use or write ix */
	struct md_keywords kw;
	struct md_uids vanished, changed;
	int watch_fd;
	int watch_dir_wd; /* the watch on the box directory itself */
	/* What the last sync saw, for the no-work check. */
	struct stat list_st;
	struct timespec new_mtime, cur_mtime;
	struct md_cache *cache; /* created by the first cache call */
};
/* Open a folder's directories without syncing it (for append, copy and
 * move targets). Returns 0 or -1 (NOTFOUND, BADNAME, ...). */
int md_box_open_raw(struct md_store *store, const char *name,
		    struct md_box **box_r);
/* Copy file src_name of directory src_fd into box's tmp/ (fsync'd, mtime
 * set), then rename it to cur/dst_name without replacing. Returns 0, or -1
 * with errno set (logged). */
int md_copy_file(int src_fd, const char *src_name, struct md_box *box,
		 const char *dst_name, int64_t mtime);
/* Lock the box's list (idempotent within the box); 0 or -1 (LOCKED...). */
int md_box_lock(struct md_box *box);
void md_box_unlock(struct md_box *box);
/* Under the lock: read the list, scan new/ and cur/ (moving new/ files to
 * cur/, assigning UIDs, dropping vanished records, deduplicating after an
 * EXDEV move) and write the list when it changed. force: scan even when the
 * recorded mtimes match. With recent_from_r, the messages not yet claimed as
 * \Recent are claimed: *recent_from_r gets the first claimed UID (uidnext
 * when none). Returns 0, or -1 (error set on the store; ul is then empty
 * and needs no clearing). */
int md_sync_locked(struct md_store *store, int dirfd, int new_fd, int cur_fd,
		   bool force, struct md_uidlist *ul, uint32_t *recent_from_r);
/* Under the lock, for an operation that adds or drops records it knows
 * (append, expunge): the list as it is, without reading a directory; the
 * full md_sync_locked() only when the list is missing or damaged or a
 * move journal waits for recovery. Never records new stamps, so the
 * next sync still scans whatever changed. Returns 0 or -1 (error set). */
int md_list_load_locked(struct md_box *box, struct md_uidlist *ul);
/* After a crash inside an EXDEV move (move.c), the source box holds a
 * journal naming the target folder and the base names being moved: each
 * file present in both is removed from the source. Returns 0 or -1. */
int md_recover_journal(struct md_store *store, int dirfd, int cur_fd);
/* Do the recorded mtimes of new/ and cur/ match the directories? */
bool md_stamps_current(const struct md_uidlist *ul, int new_fd, int cur_fd);
/* Message names (box.c). The current file name of message idx in cur/,
 * NULL when marked gone. */
const char *md_box_fname(const struct md_box *box, uint32_t idx);
/* The base name of message idx: its file name without ":2,info". */
const char *md_box_base(const struct md_box *box, uint32_t idx);
/* Replace the file name of message idx by name (malloc'd, taken; NULL
 * marks the message gone for md_box_view_compact()). */
void md_box_set_fname(struct md_box *box, uint32_t idx, char *name);

/* ---- folders (folder.c) ---- */
/* Finish a folder RENAME that a crash interrupted (its journal is at the
 * root): every folder of the old name and its children ends under the new
 * name. Cheap when there is none (one faccessat). 0 or -1 (error set). */
int md_rename_recover(struct md_store *store);

/* ---- taking over from Dovecot or Courier (dovecot.c) ---- */
struct md_dovecot_ent {
	const char *base; /* into the map's data, not NUL-terminated */
	size_t base_len;
	uint32_t uid;
	bool taken; /* given to a file already */
};
struct md_dovecot_map {
	char *data;
	struct md_dovecot_ent *ents; /* sorted by base name */
	size_t count, cap;
	uint32_t uidvalidity, uidnext;
};
/* Read dirfd's dovecot-uidlist (or courierimapuiddb): 1 and *m filled, or 0
 * (missing, unreadable or not understood: logged; *m empty). */
int md_dovecot_map_read(int dirfd, struct md_dovecot_map *m);
/* The entry of base name base, or NULL (m may be NULL). */
struct md_dovecot_ent *md_dovecot_map_find(struct md_dovecot_map *m,
					   const char *base, size_t base_len);
void md_dovecot_map_free(struct md_dovecot_map *m);

/* ---- binary index (index.c) ---- */
/* Open box's view from its index when the index is current (see index.c):
 * 0 and the view set (msgs mapped), or -1 (nothing changed; read the
 * list). */
int md_index_load(struct md_box *box);
/* Write the index of box's view, just made from list ul (box->list_st is
 * that list's stat). Best effort: failures are logged, not returned. */
void md_index_write(struct md_box *box, const struct md_uidlist *ul);

/* Open a fresh directory stream on directory fd (own offset). */
DIR *md_opendir(int fd);
void md_uids_push(struct md_uids *u, uint32_t uid);
/* Replace the box's view by ul (taking its names), computing the sync result
 * arrays. */
void md_box_apply(struct md_box *box, struct md_uidlist *ul, bool claim_recent,
		  uint32_t recent_from, struct md_sync_result *result);
/* Remove from the box view the messages whose fnames[] entry is NULL. */
void md_box_view_compact(struct md_box *box);
/* Find the current cur/ (or new/) name of a file with base name base by
 * reading cur/; returns a malloc'd name or NULL. */
char *md_refind(int cur_fd, const char *base, size_t base_len);
/* The names of cur/, listed on first use and then shared by a batch
 * (expunge, flag changes) so files renamed meanwhile are re-found by base
 * name with one directory read, not one per message. */
struct md_listing {
	char **v; /* sorted by base name */
	size_t n, cap;
	bool read;
};
/* The current name of the file with base name base, or NULL. */
const char *md_listing_find(int cur_fd, struct md_listing *l, const char *base);
void md_listing_free(struct md_listing *l);
/* rename(2) that never replaces: renameat2(RENAME_NOREPLACE), or where the
 * filesystem lacks it, a check then renameat (racy only there). 0 or -1
 * with errno (EEXIST when the new name exists). */
int md_rename_noreplace(int olddirfd, const char *oldname, int newdirfd,
			const char *newname);
/* fsync a directory fd, logging on failure. 0 or -1 with errno. */
int md_fsync_dir(int fd, const char *what);
/* The state of a directory as recorded in the list: its mtime, or zero
 * when it was modified too recently to be trusted (same-tick problem).
 * wait: on a filesystem with sub-second mtimes, wait out the clock tick
 * (milliseconds) rather than return zero for a just-changed directory. */
void md_dir_stamp(int fd, bool wait, struct timespec *ts_r);

#endif
