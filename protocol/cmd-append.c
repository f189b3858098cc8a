/* APPEND (RFC 3501 6.3.11, LITERAL+ RFC 7888, APPENDUID RFC 4315): the
 * message literal is streamed. When the framer reaches it, the command so
 * far is checked and the store's append is begun (so a missing mailbox is
 * refused with NO [TRYCREATE] before any "+"); its bytes then go chunk by
 * chunk into md_append_write() as they arrive, and the handler, run once
 * the whole command is in, commits them. Never holds the message in memory.
 */
#include "protocol/imap-private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"

/* The arguments of an APPEND after its name. */
struct append_args {
	const char *mailbox;
	struct imap_flags flags;
	time_t date; /* 0: none given */
};

/* append          = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP
 *                   literal                               (RFC 3501 9)
 * Checks args[0..count) where the last is the message literal. Returns 0
 * or -1 with a static text for BAD. */
static int
parse_args(struct arena *a, const struct imap_arg *args, unsigned count,
	   struct append_args *r, const char **error_r)
{
	unsigned i = 1;
	int tz;

	memset(r, 0, sizeof(*r));
	if (count < 2 || count > 4) {
		*error_r = "Wrong number of arguments";
		return -1;
	}
	if (args[count - 1].type != IMAP_ARG_LITERAL) {
		*error_r = "The message must be a literal";
		return -1;
	}
	if (imap_arg_get_mailbox(a, &args[0], &r->mailbox, error_r) < 0)
		return -1;
	if (i < count - 1 && args[i].type == IMAP_ARG_LIST) {
		if (imap_arg_get_flag_list(a, &args[i], &r->flags, error_r) < 0)
			return -1;
		i++;
	}
	if (i < count - 1) {
		if (imap_arg_get_datetime(&args[i], &r->date, &tz, error_r) < 0)
			return -1;
		i++;
	}
	if (i != count - 1) {
		*error_r = "Unexpected argument";
		return -1;
	}
	return 0;
}

/* Forget the append in progress: remove its tmp/ file. */
void
imap_append_reset(struct imap_session *s)
{
	md_append_abort(&s->append);
	s->append_failed = false;
	s->append_err = MD_ERR_NONE;
}

/* A command struct for answering from the framer's hook. */
static void
hook_cmd(struct imap_session *s, const struct imap_command *pc,
	 struct imap_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->s = s;
	cmd->tag = pc->tag;
	cmd->name = pc->name;
	cmd->def = imap_command_find("APPEND", 6);
}

/* The message literal of an APPEND: check everything before it and begin
 * the append. Anything wrong is answered here and the literal refused. */
static enum imap_frame_lit_action
start_message(struct imap_session *s, const struct imap_command *pc)
{
	struct append_args aa;
	struct imap_cmd cmd;
	const char *error;

	hook_cmd(s, pc, &cmd);
	if ((s->state & IMAP_STATES_AUTHED) == 0) {
		imap_resp_tagged(s, pc->tag, IMAP_RESP_BAD, NULL,
				 "Command not allowed before authentication");
		return IMAP_FRAME_LIT_REFUSE;
	}
	if (s->append != NULL || s->append_failed) {
		imap_resp_tagged(s, pc->tag, IMAP_RESP_BAD, NULL,
				 "One message per APPEND");
		return IMAP_FRAME_LIT_REFUSE;
	}
	if (parse_args(s->arena, pc->args, pc->count, &aa, &error) < 0) {
		imap_resp_tagged(s, pc->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_FRAME_LIT_REFUSE;
	}
	if (md_append_begin(s->store, aa.mailbox, &s->append) < 0) {
		imap_cmd_store_error(&cmd, true);
		return IMAP_FRAME_LIT_REFUSE;
	}
	return IMAP_FRAME_LIT_STREAM;
}

/* Is the command in cmd[0..len) an APPEND? (tag SP name SP ...) */
static bool
is_append(const char *cmd, size_t len)
{
	const char *sp = memchr(cmd, ' ', len);

	return sp != NULL && (size_t)(sp - cmd) + 8 <= len &&
	       strncasecmp(sp + 1, "APPEND ", 7) == 0;
}

enum imap_frame_lit_action
imap_append_literal_start(void *ctx, const char *cmd, size_t marker,
			  uint64_t size, bool nonsync)
{
	struct imap_session *s = ctx;
	struct imap_command pc;
	const char *error;
	char *text;

	(void)nonsync;
	/* Other commands' literals (passwords among them) are kept, within
	 * the small limit the command table gave them. */
	if (!is_append(cmd, marker))
		return IMAP_FRAME_LIT_KEEP;
	/* The command so far, ended as if the literal were empty and the
	 * last argument, is a whole command the parser can read. */
	text = arena_alloc(s->arena, marker + 8);
	memcpy(text, cmd, marker);
	memcpy(text + marker, "{0}\r\n\r\n", 8);
	if (imap_parse_command(s->arena, &s->cfg.limits, text, marker + 7, &pc,
			       &error) == IMAP_PARSE_OK &&
	    pc.count >= 2)
		return start_message(s, &pc);
	/* The mailbox name as a literal, or an APPEND that will be answered
	 * BAD once it is in: only a small literal is kept. */
	if (size <= s->cfg.limits.max_small_literal)
		return IMAP_FRAME_LIT_KEEP;
	imap_resp_tagged(s, pc.tag, IMAP_RESP_NO, "TOOBIG", "Literal too big.");
	return IMAP_FRAME_LIT_REFUSE;
}

void
imap_append_literal_data(void *ctx, const char *data, size_t len)
{
	struct imap_session *s = ctx;
	const char *text;

	if (s->append == NULL)
		return;
	if (md_append_write(s->append, data, len) == 0)
		return;
	/* Keep reading the literal (the client sends it anyway) but drop
	 * the message now; the handler reports why. */
	s->append_err = md_last_error(s->store, &text);
	(void)snprintf(s->append_err_text, sizeof(s->append_err_text), "%s",
		       text);
	md_append_abort(&s->append);
	s->append_failed = true;
}

enum imap_status
cmd_append(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct append_args aa;
	uint32_t uidvalidity, uid;
	const char *error;
	char *code;

	if (parse_args(s->arena, cmd->args, cmd->count, &aa, &error) < 0) {
		imap_append_reset(s);
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	if (s->append_failed) {
		/* md_append_write() failed while the literal came in. */
		imap_cmd_error(cmd, s->append_err, s->append_err_text, true);
		imap_append_reset(s);
		return IMAP_STATUS_CONTINUE;
	}
	if (s->append == NULL) {
		/* The literal was not streamed: its start was refused. */
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL,
				 "Message literal expected");
		return IMAP_STATUS_CONTINUE;
	}
	if (md_append_commit(&s->append, imap_flags_to_md(aa.flags.system),
			     aa.flags.keywords, aa.flags.keyword_count, aa.date,
			     &uidvalidity, &uid) < 0) {
		imap_cmd_store_error(cmd, true);
		return IMAP_STATUS_CONTINUE;
	}
	/* resp-code-apnd  = "APPENDUID" SP nz-number SP append-uid
	 *                                                  (RFC 4315 4) */
	code = arena_printf(s->arena, "APPENDUID %u %u", uidvalidity, uid);
	imap_cmd_tagged(cmd, IMAP_RESP_OK, code, "APPEND completed.");
	return IMAP_STATUS_CONTINUE;
}
