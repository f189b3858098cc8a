/* Internals of protocol/ shared by its .c files and its unit tests; nothing
 * outside protocol/ (and tests/) includes this header. The path of one
 * command: frame.c collects the bytes of a whole command within the limits,
 * parser.c turns them into an argument tree in the per-command arena,
 * dispatch.c looks the command up in the table and checks state and arity,
 * a cmd-*.c handler runs and answers through resp.c.
 */
#ifndef PROTOCOL_IMAP_PRIVATE_H
#define PROTOCOL_IMAP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/arena.h"
#include "lib/buf.h"
#include "maildir/maildir.h"
#include "protocol/imap.h"

/* ------------------------------------------------------------------ */
/* frame.c: CRLF lines, literals and limits (RFC 3501 7.5, RFC 7888). */

/* What the framer found; see imap_frame_feed(). */
enum imap_frame_event {
	IMAP_FRAME_NEED_MORE,       /* every byte consumed, nothing complete */
	IMAP_FRAME_COMMAND,         /* a whole command is in the frame */
	IMAP_FRAME_RAW_LINE,        /* the line asked for by expect_raw_line */
	IMAP_FRAME_CONTINUE,        /* a {n} literal was accepted: send "+" */
	IMAP_FRAME_LITERAL_REFUSED, /* a {n} literal is too big: tagged NO */
	IMAP_FRAME_LINE_TOO_LONG,   /* the command was dropped: tagged BAD */
	IMAP_FRAME_FATAL_LITERAL,   /* a {n+} literal is too big: BAD + BYE */
	IMAP_FRAME_DROPPED, /* the literal_start hook refused a literal and
			       answered; the command is over */
};

/* Asked once per command, at its first literal: the most literal bytes
 * the command may carry in total (the name is the command name as sent,
 * not NUL-terminated; "UID" commands pass the word after UID). */
typedef uint64_t imap_frame_literal_limit_fn(void *ctx, const char *name,
					     size_t name_len);

/* What to do with a literal the size limit accepted. */
enum imap_frame_lit_action {
	IMAP_FRAME_LIT_KEEP,   /* keep it in the command buffer */
	IMAP_FRAME_LIT_STREAM, /* hand its bytes to literal_data as they come */
	IMAP_FRAME_LIT_REFUSE, /* the hook answered the command: drop it */
};

/* Asked at each literal once the limit accepted it (when set with
 * imap_frame_set_stream()). cmd holds the command so far, the literal's
 * "{" at offset marker (the bytes before it are the command up to the
 * literal); size is its length, nonsync true for {n+}. */
typedef enum imap_frame_lit_action
imap_frame_literal_start_fn(void *ctx, const char *cmd, size_t marker,
			    uint64_t size, bool nonsync);
/* The bytes of a streamed literal, straight from the input (not copied),
 * in order, in chunks of any size. */
typedef void imap_frame_literal_data_fn(void *ctx, const char *data,
					size_t len);

enum imap_frame_state {
	IMAP_FRAME_ST_LINE,
	IMAP_FRAME_ST_LITERAL,
	IMAP_FRAME_ST_STREAM,
	IMAP_FRAME_ST_DISCARD,
	IMAP_FRAME_ST_DISCARD_LITERAL,
	IMAP_FRAME_ST_RAW_LINE,
	IMAP_FRAME_ST_RAW_DISCARD,
};

#define IMAP_FRAME_TAIL 32

struct imap_frame {
	const struct imap_limits *limits;
	imap_frame_literal_limit_fn *literal_limit;
	imap_frame_literal_start_fn *literal_start; /* NULL: keep all */
	imap_frame_literal_data_fn *literal_data;
	void *ctx;
	enum imap_frame_state state;
	/* The command so far, every line end written as CRLF, literal data
	 * in place after its "{n}\r\n". Wiped before it is freed or grown,
	 * since it may hold a password. */
	char *data;
	size_t len, cap;
	size_t line_start;   /* offset of the current line in data */
	size_t line_bytes;   /* non-literal bytes of the command so far */
	uint64_t lit_budget; /* literal bytes still allowed; see above */
	bool lit_budget_set;
	uint64_t lit_left; /* bytes of the current literal still to come */
	bool complete;     /* an event ended the command: reset on next feed */
	/* While discarding: the last bytes seen, to find a {n+} at the end
	 * of the dropped line. */
	char tail[IMAP_FRAME_TAIL];
	size_t tail_len;
	/* For IMAP_FRAME_LITERAL_REFUSED and FATAL_LITERAL: the size sent. */
	uint64_t refused_size;
	/* Dropping a command the literal_start hook refused: its end gives
	 * IMAP_FRAME_DROPPED, not LINE_TOO_LONG. */
	bool drop_silent;
};

void imap_frame_init(struct imap_frame *f, const struct imap_limits *limits,
		     imap_frame_literal_limit_fn *literal_limit, void *ctx);
/* Wipe and free the buffer. */
void imap_frame_deinit(struct imap_frame *f);
/* Let start decide, literal by literal, which literals are streamed to
 * data instead of being kept (APPEND's message). A streamed literal
 * stays in the command as an empty "{0}" literal, so the parser later
 * sees a complete command without its bytes. */
void imap_frame_set_stream(struct imap_frame *f,
			   imap_frame_literal_start_fn *start,
			   imap_frame_literal_data_fn *data);
/* Consume bytes from data until an event happens or the input ends.
 * Returns the number of bytes consumed (so the caller feeds the rest after
 * handling the event) and sets *ev_r. After COMMAND or RAW_LINE the bytes
 * are in imap_frame_command() until the next imap_frame_reset(). */
size_t imap_frame_feed(struct imap_frame *f, const void *data, size_t len,
		       enum imap_frame_event *ev_r);
/* The whole command (ending in CRLF) or the raw line (without CRLF). */
const char *imap_frame_command(const struct imap_frame *f, size_t *len_r);
/* The tag of the command being framed (valid tag characters only), or
 * NULL when the bytes so far hold none. Points into the frame. */
const char *imap_frame_tag(const struct imap_frame *f, size_t *len_r);
/* Forget the current command (wiping its bytes); the next byte starts a
 * new command. */
void imap_frame_reset(struct imap_frame *f);
/* The next line is a SASL response, not a command: deliver it whole as
 * IMAP_FRAME_RAW_LINE, without literal processing. */
void imap_frame_expect_raw_line(struct imap_frame *f);

/* ------------------------------------------------------------------ */
/* parser.c: the argument tree (RFC 3501 section 9). */

enum imap_arg_type {
	IMAP_ARG_ATOM,    /* also NIL and numbers; see args.c */
	IMAP_ARG_QUOTED,  /* quoted string, escapes removed */
	IMAP_ARG_LITERAL, /* {n} or {n+} literal */
	IMAP_ARG_LIST,    /* parenthesised list */
};

struct imap_arg {
	enum imap_arg_type type;
	/* ATOM, QUOTED, LITERAL: the bytes, NUL-terminated in the arena
	 * (a literal may hold NUL bytes: len is the truth); NULL for a
	 * LIST. Writable so that a password can be wiped in place. */
	char *str;
	size_t len;
	/* LIST: the elements. */
	struct imap_arg *list;
	unsigned count;
};

struct imap_command {
	const char *tag;
	const char *name; /* upper case */
	struct imap_arg *args;
	unsigned count;
};

enum imap_parse_result {
	IMAP_PARSE_OK,
	IMAP_PARSE_BAD,
};

/* Parse one framed command (data ends in CRLF) into the arena. On BAD,
 * *error_r is a static text for the tagged BAD and cmd_r->tag is the tag
 * when one was read (else NULL). Everything lives in the arena. */
enum imap_parse_result imap_parse_command(struct arena *a,
					  const struct imap_limits *limits,
					  const char *data, size_t len,
					  struct imap_command *cmd_r,
					  const char **error_r);
/* Wipe the bytes of a string argument (a password) in place. */
void imap_arg_wipe(const struct imap_arg *arg);
/* True for a valid tag: 1*<any ASTRING-CHAR except "+">. */
bool imap_is_tag(const char *s, size_t len);
/* True for ATOM-CHAR (RFC 3501 section 9). */
bool imap_is_atom_char(unsigned char c);

/* ------------------------------------------------------------------ */
/* seqset.c: sequence sets (RFC 3501 section 9, "sequence-set"). */

/* A range; 0 stands for "*". lo and hi are as sent (lo may be > hi). */
struct imap_seq_range {
	uint32_t lo, hi;
};

struct imap_seqset {
	struct imap_seq_range *ranges; /* in the arena */
	unsigned count;
};

/* Parse len bytes. Returns 0, or -1 on a syntax error, 0 or a number over
 * 2^32-1. */
int imap_seqset_parse(struct arena *a, const char *s, size_t len,
		      struct imap_seqset *set_r);
/* Is n in the set when "*" means star? */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
			  uint32_t star);
/* Replace "*" by star, order each range, sort and merge the ranges. */
void imap_seqset_resolve(struct imap_seqset *set, uint32_t star);
/* The largest number in a resolved set (0 when empty). */
uint32_t imap_seqset_max(const struct imap_seqset *set);

/* Iterates over a resolved set in ascending order. */
struct imap_seqset_iter {
	const struct imap_seqset *set;
	unsigned range;
	uint64_t next;
};
void imap_seqset_iter_init(struct imap_seqset_iter *it,
			   const struct imap_seqset *set);
/* Returns false at the end. */
bool imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *n_r);

/* ------------------------------------------------------------------ */
/* args.c: typed getters. Each returns 0, or -1 with a static text for the
 * tagged BAD in *error_r. Results live in the arena or in the argument. */

/* "NIL" as an atom, any case. */
bool imap_arg_is_nil(const struct imap_arg *arg);
/* An atom equal to word, any case. */
bool imap_arg_is_atom(const struct imap_arg *arg, const char *word);
/* astring: atom (ASTRING-CHARs), quoted or literal, NUL-free. */
int imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
			 size_t *len_r, const char **error_r);
/* string: quoted or literal (NUL-free). */
int imap_arg_get_string(const struct imap_arg *arg, const char **str_r,
			size_t *len_r, const char **error_r);
/* nstring: NIL gives NULL, else as string. */
int imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r,
			 size_t *len_r, const char **error_r);
/* number: 0 .. 4294967295; nz-number rejects 0. */
int imap_arg_get_number(const struct imap_arg *arg, uint32_t *n_r,
			const char **error_r);
int imap_arg_get_nz_number(const struct imap_arg *arg, uint32_t *n_r,
			   const char **error_r);
/* sequence-set atom. */
int imap_arg_get_seqset(struct arena *a, const struct imap_arg *arg,
			struct imap_seqset *set_r, const char **error_r);
/* mailbox: "INBOX" in any case becomes "INBOX"; otherwise the astring is
 * decoded from modified UTF-7 to UTF-8 (invalid is BAD). */
int imap_arg_get_mailbox(struct arena *a, const struct imap_arg *arg,
			 const char **name_r, const char **error_r);
/* date-time (quoted): seconds since the epoch (UTC) and the zone offset
 * in minutes east of UTC. */
int imap_arg_get_datetime(const struct imap_arg *arg, time_t *t_r,
			  int *tz_minutes_r, const char **error_r);
/* date (SEARCH): the day at 00:00 UTC. */
int imap_arg_get_date(const struct imap_arg *arg, time_t *t_r,
		      const char **error_r);

enum imap_flag {
	IMAP_FLAG_ANSWERED = 1 << 0,
	IMAP_FLAG_FLAGGED = 1 << 1,
	IMAP_FLAG_DELETED = 1 << 2,
	IMAP_FLAG_SEEN = 1 << 3,
	IMAP_FLAG_DRAFT = 1 << 4,
};

struct imap_flags {
	unsigned system;       /* enum imap_flag bits */
	const char **keywords; /* in the arena, as sent */
	unsigned keyword_count;
};

/* flag-list: "(" [flag *(SP flag)] ")". \Recent and unknown \-flags are
 * BAD; keywords are atoms. */
int imap_arg_get_flag_list(struct arena *a, const struct imap_arg *arg,
			   struct imap_flags *flags_r, const char **error_r);

/* ------------------------------------------------------------------ */
/* utf7.c: modified UTF-7 mailbox names (RFC 3501 section 5.1.3). */

/* Append the UTF-8 form of len bytes of modified UTF-7 to dest. Returns 0,
 * or -1 (dest may hold a partial result) on invalid input or over dest's
 * maximum. */
int imap_utf7_to_utf8(const char *src, size_t len, struct buf *dest);
/* Append the modified UTF-7 form of len bytes of UTF-8. Returns 0, or -1
 * on invalid UTF-8, U+0000 or over dest's maximum. */
int imap_utf8_to_utf7(const char *src, size_t len, struct buf *dest);

/* ------------------------------------------------------------------ */
/* The session (session.c) and the command table (dispatch.c). */

enum imap_state {
	IMAP_STATE_NOT_AUTH = 1 << 0,
	IMAP_STATE_AUTH = 1 << 1,
	IMAP_STATE_SELECTED = 1 << 2,
	IMAP_STATE_LOGOUT = 1 << 3,
};

#define IMAP_STATES_ANY                                                        \
	(IMAP_STATE_NOT_AUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define IMAP_STATES_AUTHED (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

enum imap_sasl_mech {
	IMAP_SASL_NONE,
	IMAP_SASL_PLAIN,
	IMAP_SASL_LOGIN,
};

/* One message as the client knows it (selected.c): what was last reported
 * to the client, so that sync can tell what changed since. */
struct imap_view_msg {
	uint32_t uid;
	uint32_t flags;    /* MD_FLAG_* bits, as last reported */
	uint32_t keywords; /* keyword bits of the box, as last reported */
	bool recent;
};

/* The selected mailbox: the box and the client's view of it. msgs[i] is
 * sequence number i + 1; UIDs ascend. The view may hold "ghosts": messages
 * the box no longer has whose EXPUNGE is still pending (RFC 3501 7.4.1). */
struct imap_view {
	struct md_box *box;   /* NULL when no mailbox is selected */
	uint32_t uidvalidity; /* of box when selected */
	struct imap_view_msg *msgs;
	uint32_t count;
	uint32_t cap;
	uint32_t keywords_sent; /* keyword bits announced in FLAGS */
	uint32_t recent_sent;   /* the last RECENT count sent */
	/* Just selected: msgs not filled yet, the view is the box's
	 * messages as they are (count of them). Filled by imap_view_fill()
	 * before any command other than SELECT, EXAMINE or LOGOUT runs, so
	 * that a SELECT of a large box answers without copying it. */
	bool lazy;
	/* The box's inotify descriptor is in use (set at the first IDLE of
	 * this selection, cmd-idle.c); false also after a failure. */
	bool is_watched;
};

struct imap_session {
	struct imap_config cfg;
	char *session_id;
	const struct imap_hooks *hooks;
	void *ctx;
	enum imap_state state;
	bool is_secure;
	/* TLS was started with STARTTLS: never offer it again. */
	bool tls_active;
	bool write_failed;
	bool closed;

	struct imap_frame frame;
	struct arena *arena; /* reset after every command */
	struct buf out;      /* responses not yet passed to hooks->write */

	unsigned bad_in_row;
	unsigned auth_failures;

	/* A SASL exchange waiting for the client's next line. */
	enum imap_sasl_mech sasl_mech;
	unsigned sasl_step;
	char *sasl_tag;  /* malloc'd */
	char *sasl_user; /* malloc'd, LOGIN mechanism only */

	/* After login: owned by the session (from the auth hook). */
	char *user;
	char *maildir;
	struct md_store *store; /* opened at login */
	struct imap_view view;  /* the selected mailbox, if any */
	/* APPEND's message being streamed (cmd-append.c): the store's
	 * append handle, or the error that ended it while the literal was
	 * still coming. Reset after every command. */
	struct md_append *append;
	bool append_failed;
	enum md_err append_err;
	char append_err_text[128];
	/* A * BYE was sent by a handler or by sync (the mailbox was deleted
	 * or its UIDVALIDITY changed): the dispatcher ends the session. */
	bool must_close;
	/* IDLE (cmd-idle.c): the IDLE command's tag (malloc'd) while idling,
	 * NULL otherwise. */
	char *idle_tag;
	/* inotify failed once in this session: IDLE polls from then on, and
	 * the failure is logged only once. */
	bool watch_unavailable;
	/* After IMAP_STATUS_HANDOFF: the bytes that followed the login. */
	struct buf handoff_input;
};

struct imap_command_def;

/* What a handler is given. */
struct imap_cmd {
	struct imap_session *s;
	const struct imap_command_def *def;
	const char *tag;
	const char *name;
	bool is_uid;
	const struct imap_arg *args; /* after the name (and after UID x) */
	unsigned count;
};

typedef enum imap_status imap_cmd_handler(struct imap_cmd *cmd);

enum imap_cmd_flag {
	/* Refers to messages by sequence number: in its non-UID form,
	 * untagged EXPUNGEs wait until a later command (RFC 3501 5.5, 7.4.1;
	 * see imap_cmd_tagged()). */
	IMAP_CMD_USES_SEQ = 1 << 0,
	/* Has a "UID x" form. */
	IMAP_CMD_HAS_UID = 1 << 1,
	/* May carry a message literal up to limits.max_literal_size
	 * (APPEND); every other command gets limits.max_small_literal. */
	IMAP_CMD_BIG_LITERAL = 1 << 2,
};

struct imap_command_def {
	const char *name;
	imap_cmd_handler *handler;
	unsigned states; /* enum imap_state bits */
	unsigned flags;  /* enum imap_cmd_flag bits */
	unsigned min_args, max_args;
};

/* The table entry for an upper-case command name, or NULL. */
const struct imap_command_def *imap_command_find(const char *name, size_t len);
/* Frame literal limit for a command name (any case). */
uint64_t imap_command_literal_limit(void *ctx, const char *name, size_t len);
/* Parse and run one framed command. */
enum imap_status imap_dispatch(struct imap_session *s, const char *data,
			       size_t len);

/* Session helpers used by the handlers. */
/* Append the current capability list (without "CAPABILITY "). */
void imap_capability_append(const struct imap_session *s, struct buf *b);
/* Log in with checked credentials; writes the tagged result. Returns
 * CONTINUE or CLOSE (too many failures). */
enum imap_status imap_session_login(struct imap_session *s, const char *tag,
				    const char *authzid, const char *user,
				    const char *pass);
/* Does a plaintext password need refusing? Writes the NO if so. */
bool imap_session_refuse_plaintext(struct imap_session *s, const char *tag);
/* Feed the client's line during AUTHENTICATE (cmd-authenticate.c). */
enum imap_status imap_sasl_continue(struct imap_session *s, const char *line,
				    size_t len);
/* End a pending SASL exchange, wiping what it holds. */
void imap_sasl_clear(struct imap_session *s);
/* The maildir root given by the auth hook, or NULL before login. */

/* The handlers (cmd-*.c). */
imap_cmd_handler cmd_capability;
imap_cmd_handler cmd_noop;
imap_cmd_handler cmd_logout;
imap_cmd_handler cmd_login;
imap_cmd_handler cmd_authenticate;
imap_cmd_handler cmd_id;
imap_cmd_handler cmd_starttls;
imap_cmd_handler cmd_select; /* SELECT and EXAMINE */
imap_cmd_handler cmd_search; /* SEARCH and UID SEARCH */
imap_cmd_handler cmd_close;
imap_cmd_handler cmd_unselect;
imap_cmd_handler cmd_expunge; /* EXPUNGE and UID EXPUNGE */
imap_cmd_handler cmd_check;
imap_cmd_handler cmd_append;
imap_cmd_handler cmd_create;
imap_cmd_handler cmd_delete;
imap_cmd_handler cmd_rename;
imap_cmd_handler cmd_subscribe; /* SUBSCRIBE and UNSUBSCRIBE */
imap_cmd_handler cmd_list;      /* LIST and LSUB */
imap_cmd_handler cmd_status;
imap_cmd_handler cmd_fetch; /* FETCH and UID FETCH */
imap_cmd_handler cmd_store; /* STORE and UID STORE */
imap_cmd_handler cmd_copy;  /* COPY and UID COPY */
imap_cmd_handler cmd_move;  /* MOVE and UID MOVE */

/* cmd-append.c: the framer's hooks for APPEND's message literal, and the
 * reset (abort of an unfinished append) run after every command and at
 * session end. */
imap_frame_literal_start_fn imap_append_literal_start;
imap_frame_literal_data_fn imap_append_literal_data;
void imap_append_reset(struct imap_session *s);

/* cmd-idle.c: IDLE, the client's line while idling ("DONE" or a BAD),
 * and the end of an IDLE at session end. */
imap_cmd_handler cmd_idle;
enum imap_status imap_idle_line(struct imap_session *s, const char *line,
				size_t len);
void imap_idle_clear(struct imap_session *s);

/* ------------------------------------------------------------------ */
/* resp.c: everything written to the client goes through here. */

enum imap_resp_kind {
	IMAP_RESP_OK,
	IMAP_RESP_NO,
	IMAP_RESP_BAD,
	IMAP_RESP_BYE,
};

/* The RFC 5530 response code for a store error kind (static string):
 * NOTFOUND NONEXISTENT, EXISTS ALREADYEXISTS, PERM NOPERM, LOCKED INUSE,
 * NOSPACE OVERQUOTA, LIMIT LIMIT, EXPUNGED EXPUNGEISSUED, TOOBIG TOOBIG,
 * BADNAME and NOTALLOWED CANNOT, INTERNAL (and NONE) SERVERBUG. */
const char *imap_resp_code_for(enum md_err kind);

/* "tag OK [code] text\r\n"; tag NULL writes "*". code may be NULL. text
 * is server text, never client data. A BAD counts towards
 * max_bad_commands, anything else resets the count. */
void imap_resp_tagged(struct imap_session *s, const char *tag,
		      enum imap_resp_kind kind, const char *code,
		      const char *text);
/* "* OK|NO|BAD|BYE [code] text\r\n". */
void imap_resp_untagged(struct imap_session *s, enum imap_resp_kind kind,
			const char *code, const char *text);
/* Raw bytes of a response the caller built (must end in CRLF). */
void imap_resp_raw(struct imap_session *s, const void *data, size_t len);
/* Hand the buffered output to the write hook. Returns 0 or -1. */
int imap_resp_flush(struct imap_session *s);

/* Append str as an atom when it is a non-empty run of ASTRING-CHARs (and
 * not "NIL"), else as a quoted string when it is short 7-bit text, else as
 * a literal. Returns 0 or -1 (over b's maximum). */
int imap_resp_astring(struct buf *b, const char *str, size_t len);
/* Quoted string or literal, never an atom. */
int imap_resp_string(struct buf *b, const char *str, size_t len);
/* NIL for NULL, else as imap_resp_string. */
int imap_resp_nstring(struct buf *b, const char *str, size_t len);
/* A mailbox name from the store (UTF-8), written in modified UTF-7 as an
 * astring. Returns 0, or -1 (not UTF-8, or over b's maximum). */
int imap_resp_mailbox(struct buf *b, const char *name);

/* ------------------------------------------------------------------ */
/* selected.c: the selected mailbox and the client's view of it. */

/* Select box (owned by the session from now on): fill the view from its
 * messages, state SELECTED. The caller closed any earlier selection. */
void imap_view_open(struct imap_session *s, struct md_box *box);
/* Forget the selection silently (no expunge, no response): free the box
 * and the view, state AUTH. No-op when nothing is selected. */
void imap_view_close(struct imap_session *s);

/* Field ids in the store's metadata cache (md_cache_get): blobs that are
 * a pure function of the message file, used by FETCH (cmd-fetch.c) and
 * SEARCH (search-match.c). FETCH_CACHE_GEN is part of every id: bump it
 * whenever what a field holds changes (a fix in the ENVELOPE writer), so
 * that files written by an older server are never used. */
#define FETCH_CACHE_GEN 1u
#define FETCH_CACHE_ID(n) (FETCH_CACHE_GEN << 8 | (n))
#define FETCH_CACHE_ENVELOPE FETCH_CACHE_ID(1) /* the ENVELOPE list */
#define FETCH_CACHE_BODY FETCH_CACHE_ID(2)     /* the BODY list */
#define FETCH_CACHE_BODYSTRUCTURE FETCH_CACHE_ID(3)
/* The raw top-level header with its blank line (mime_header_block_len()
 * bytes): BODY[HEADER], HEADER.FIELDS[.NOT] and RFC822.HEADER are
 * answered from a parse of it, as they are from the file, and SEARCH's
 * header keys read it. */
#define FETCH_CACHE_HEADER FETCH_CACHE_ID(4)
/* RFC822.SIZE of a file whose name gives no ,W= size: 8 bytes, LE. */
#define FETCH_CACHE_WIRE_SIZE FETCH_CACHE_ID(5)
/* The answer to one HEADER.FIELDS[.NOT] list of the top-level message:
 * ids with the top bit set carry 24 bits of a hash of the list, and the
 * blob starts with the list itself (fields_key()) and a NUL, so that two
 * lists with the same hash are told apart (a mismatch is a miss). */
#define FETCH_CACHE_FIELDS(hash)                                               \
	(1u << 31 | FETCH_CACHE_GEN << 24 | ((hash)&0xffffffu))
/* Fill a lazy view from its box (no-op otherwise). */
void imap_view_fill(struct imap_view *v);
/* Make room for n entries in v->msgs. */
void imap_view_reserve(struct imap_view *v, uint32_t n);
/* The keyword bits that have a name in box. */
uint32_t imap_box_keyword_mask(const struct md_box *box);
/* Index (sequence number - 1) of uid in the view, or -1 when absent.
 * Binary search. */
long imap_view_index(const struct imap_view *v, uint32_t uid);
/* Resolve a parsed sequence set (modified in place: "*" resolved, sorted,
 * merged) against the view into the UIDs it names, ascending and unique,
 * allocated in the session arena (valid until the end of the command).
 * Sequence numbers: "*" is the number of messages; a number above it
 * (or any number, "*" included, on an empty mailbox) is an error (-1,
 * *error_r is a static text for a tagged BAD). UIDs: "*" is the highest
 * UID in the view (UIDNEXT when empty) and UIDs not in the view are
 * skipped, so the result may be empty. Ghost entries (pending EXPUNGE)
 * are included: callers find them absent from the box (md_box_find()). */
int imap_view_resolve(struct imap_session *s, struct imap_seqset *set,
		      bool is_uid, uint32_t **uids_r, size_t *count_r,
		      const char **error_r);
/* Parse argument arg as a sequence set and resolve it as above: a
 * convenience for FETCH, STORE, COPY, MOVE, UID EXPUNGE. */
int imap_view_resolve_arg(struct imap_cmd *cmd, const struct imap_arg *arg,
			  uint32_t **uids_r, size_t *count_r,
			  const char **error_r);
/* Append "(" flag *(SP flag) ")" for these MD_FLAG_* bits and keyword
 * bits of the selected box (\Recent last when recent). */
void imap_flags_append(const struct imap_session *s, struct buf *b,
		       uint32_t flags, uint32_t keywords, bool recent);
/* MD_FLAG_* bits for enum imap_flag bits. */
uint32_t imap_flags_to_md(unsigned imap_system);
/* Record the box's current flags of view entry index as what the client
 * knows (after STORE or a FETCH that set \Seen reported them, or chose
 * not to with .SILENT); with send, first write
 * "* seq FETCH ([UID n ]FLAGS (...))" (the UID item when with_uid).
 * A ghost entry (gone from the box) is left alone. */
void imap_view_report_flags(struct imap_session *s, uint32_t index, bool send,
			    bool with_uid);

/* ------------------------------------------------------------------ */
/* imap-sync.c: the one place untagged EXISTS, EXPUNGE, RECENT, FLAGS and
 * FETCH (FLAGS) updates are sent for changes made by others. */

/* Sync the selected box with the disk and report to the client, in this
 * order: FLAGS and PERMANENTFLAGS when keywords appeared; for each view
 * entry in sequence order, EXPUNGE when it left the box (only when
 * allow_expunge; else it stays as a ghost) or FETCH (FLAGS) when its flags
 * changed; EXISTS when messages arrived; RECENT when the count changed.
 * EXPUNGE numbers are those the client holds at that moment (each one
 * shifts the later ones down). When the box was deleted or its
 * UIDVALIDITY changed, writes * BYE and sets s->must_close. No-op when
 * nothing is selected. Everything is found by comparing the view with
 * md_box_messages(), so a handler may call md_box_sync() itself
 * beforehand (EXPUNGE does, to see others' \Deleted) without losing an
 * update. */
void imap_sync(struct imap_session *s, bool allow_expunge);
/* Write "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" for the
 * selected box (empty PERMANENTFLAGS when read-only; "\*" while fewer
 * than 26 keywords exist) and record its keywords as announced. */
void imap_sync_send_flags(struct imap_session *s);
/* Send them only when the box gained keywords since they were last sent:
 * STORE and APPEND-to-self call this after creating keywords and before
 * any FETCH that shows them. */
void imap_sync_announce_keywords(struct imap_session *s);
/* Report EXPUNGE for the view entries with these UIDs (any order; UIDs
 * not in the view are ignored) and drop them from the view: for the
 * session's own EXPUNGE and MOVE, whose EXPUNGEs are due whatever the
 * deferral rule says. The box must no longer hold them. */
void imap_view_expunged(struct imap_session *s, const uint32_t *uids,
			size_t count);
/* Does this command defer EXPUNGEs? True for the non-UID form of a
 * command flagged IMAP_CMD_USES_SEQ (FETCH, STORE, SEARCH, COPY, MOVE),
 * RFC 3501 5.5 and 7.4.1. */
bool imap_cmd_defers_expunge(const struct imap_cmd *cmd);
/* End a command: unless kind is BAD, sync (deferring EXPUNGE as above),
 * then write the tagged response. Every handler that may run in the
 * selected state ends through this (or imap_cmd_store_error). */
void imap_cmd_tagged(struct imap_cmd *cmd, enum imap_resp_kind kind,
		     const char *code, const char *text);
/* End a command with NO for the store's last error: the RFC 5530 code
 * (TRYCREATE instead of NONEXISTENT when is_target: the missing mailbox
 * is the target of APPEND, COPY or MOVE), the store's text, or for
 * INTERNAL a generic text with the session id. */
void imap_cmd_store_error(struct imap_cmd *cmd, bool is_target);
/* The same for an error kind and text kept from earlier. */
void imap_cmd_error(struct imap_cmd *cmd, enum md_err kind, const char *text,
		    bool is_target);

/* ------------------------------------------------------------------ */
/* uidset.c: the uid-set of COPYUID (RFC 4315 3). */

/* Append uids[0..count) as a uid-set in their order, runs of consecutive
 * ascending UIDs as "lo:hi" ("1:3,5"). Returns 0, or -1 over b's maximum.
 * count 0 appends nothing. */
int imap_uidset_append(struct buf *b, const uint32_t *uids, size_t count);

/* ------------------------------------------------------------------ */
/* base64.c: base64 for SASL (RFC 4648 section 4, strict padding). */
/* Decode len bytes into dest, which has room for len / 4 * 3 bytes (so
 * no copy is left behind by growing a buffer: the result may be a
 * password). Returns 0 and sets *len_r, or -1 on invalid input. */
int imap_base64_decode(const char *src, size_t len, unsigned char *dest,
		       size_t *len_r);

#endif
