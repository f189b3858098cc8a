/* The command table and the dispatcher (RFC 3501 sections 3 and 6): the
 * table is data (name, handler, states, flags, arity); the dispatcher
 * parses a framed command, finds its entry, checks state and arity and
 * only then calls the handler. Handlers never call each other.
 */
#include "protocol/imap-private.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

#define SEL IMAP_STATE_SELECTED
#define AUTHED IMAP_STATES_AUTHED
#define SEQ IMAP_CMD_USES_SEQ
#define UID IMAP_CMD_HAS_UID

/* One line per command, sorted by name: name, handler, states, flags
 * (SEQ: refers to sequence numbers, so its non-UID form defers EXPUNGE;
 * UID: has a "UID x" form; IMAP_CMD_BIG_LITERAL: APPEND), least and most
 * arguments (after "UID x" for the UID form). */
static const struct imap_command_def commands[] = {
	{"APPEND", cmd_append, AUTHED, IMAP_CMD_BIG_LITERAL, 2, 4},
	{"AUTHENTICATE", cmd_authenticate, IMAP_STATE_NOT_AUTH, 0, 1, 2},
	{"CAPABILITY", cmd_capability, IMAP_STATES_ANY, 0, 0, 0},
	{"CHECK", cmd_check, SEL, 0, 0, 0},
	{"CLOSE", cmd_close, SEL, 0, 0, 0},
	{"COPY", cmd_copy, SEL, SEQ | UID, 2, 2},
	{"CREATE", cmd_create, AUTHED, 0, 1, 1},
	{"DELETE", cmd_delete, AUTHED, 0, 1, 1},
	{"EXAMINE", cmd_select, AUTHED, 0, 1, 1},
	{"EXPUNGE", cmd_expunge, SEL, UID, 0, 1},
	{"FETCH", cmd_fetch, SEL, SEQ | UID, 2, 2},
	{"ID", cmd_id, IMAP_STATES_ANY, 0, 1, 1},
	{"IDLE", cmd_idle, AUTHED, 0, 0, 0},
	{"LIST", cmd_list, AUTHED, 0, 2, 2},
	{"LOGIN", cmd_login, IMAP_STATE_NOT_AUTH, 0, 2, 2},
	{"LOGOUT", cmd_logout, IMAP_STATES_ANY, 0, 0, 0},
	{"LSUB", cmd_list, AUTHED, 0, 2, 2},
	{"MOVE", cmd_move, SEL, SEQ | UID, 2, 2},
	{"NOOP", cmd_noop, IMAP_STATES_ANY, 0, 0, 0},
	{"RENAME", cmd_rename, AUTHED, 0, 2, 2},
	{"SEARCH", cmd_search, SEL, SEQ | UID, 1, UINT_MAX},
	{"SELECT", cmd_select, AUTHED, 0, 1, 1},
	{"STARTTLS", cmd_starttls, IMAP_STATE_NOT_AUTH, 0, 0, 0},
	{"STATUS", cmd_status, AUTHED, 0, 2, 2},
	{"STORE", cmd_store, SEL, SEQ | UID, 3, UINT_MAX},
	{"SUBSCRIBE", cmd_subscribe, AUTHED, 0, 1, 1},
	{"UNSELECT", cmd_unselect, SEL, 0, 0, 0},
	{"UNSUBSCRIBE", cmd_subscribe, AUTHED, 0, 1, 1},
};

const struct imap_command_def *
imap_command_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(*commands); i++) {
		if (strlen(commands[i].name) == len &&
		    memcmp(commands[i].name, name, len) == 0)
			return &commands[i];
	}
	return NULL;
}

/* The framer's question: how many literal bytes may this command carry?
 * Unknown commands get the small limit; they are answered BAD once
 * framed, which keeps the literal bytes from ever being read as a
 * command. */
uint64_t
imap_command_literal_limit(void *ctx, const char *name, size_t len)
{
	const struct imap_session *s = ctx;
	const struct imap_command_def *def;
	char upper[32];
	size_t i;

	if (len < sizeof(upper)) {
		for (i = 0; i < len; i++)
			upper[i] = (char)toupper((unsigned char)name[i]);
		def = imap_command_find(upper, len);
		if (def != NULL && (def->flags & IMAP_CMD_BIG_LITERAL) != 0)
			return s->cfg.limits.max_literal_size;
	}
	return s->cfg.limits.max_small_literal;
}

/* Why a known command may not run in this state. */
static const char *
state_error(const struct imap_session *s, const struct imap_command_def *def)
{
	if (s->state == IMAP_STATE_NOT_AUTH)
		return "Command not allowed before authentication";
	if (def->states == IMAP_STATE_NOT_AUTH)
		return "Already authenticated";
	if (def->states == IMAP_STATE_SELECTED)
		return "No mailbox selected";
	return "Command not allowed in this state";
}

/* "UID" SP (copy / move / fetch / search / store)    (RFC 3501 9, 6851)
 * Finds the entry for the command after UID. */
static const struct imap_command_def *
find_uid_command(struct imap_cmd *cmd, const char **error_r)
{
	const struct imap_command_def *def;
	char *name;
	size_t i;

	if (cmd->count == 0 || cmd->args[0].type != IMAP_ARG_ATOM) {
		*error_r = "Missing command after UID";
		return NULL;
	}
	name = cmd->args[0].str;
	for (i = 0; i < cmd->args[0].len; i++)
		name[i] = (char)toupper((unsigned char)name[i]);
	def = imap_command_find(name, cmd->args[0].len);
	if (def == NULL || (def->flags & IMAP_CMD_HAS_UID) == 0) {
		*error_r = "Unknown UID command";
		return NULL;
	}
	cmd->name = name;
	cmd->is_uid = true;
	cmd->args++;
	cmd->count--;
	return def;
}

enum imap_status
imap_dispatch(struct imap_session *s, const char *data, size_t len)
{
	struct imap_command pc;
	struct imap_cmd cmd;
	const struct imap_command_def *def;
	const char *error;
	enum imap_status st;

	if (imap_parse_command(s->arena, &s->cfg.limits, data, len, &pc,
			       &error) != IMAP_PARSE_OK) {
		imap_resp_tagged(s, pc.tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.s = s;
	cmd.tag = pc.tag;
	cmd.name = pc.name;
	cmd.args = pc.args;
	cmd.count = pc.count;
	def = imap_command_find(pc.name, strlen(pc.name));
	error = "Unknown command";
	if (def == NULL && strcmp(pc.name, "UID") == 0)
		def = find_uid_command(&cmd, &error);
	if (def == NULL) {
		imap_resp_tagged(s, cmd.tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	if ((def->states & s->state) == 0) {
		imap_resp_tagged(s, cmd.tag, IMAP_RESP_BAD, NULL,
				 state_error(s, def));
		return IMAP_STATUS_CONTINUE;
	}
	if (cmd.count < def->min_args || cmd.count > def->max_args) {
		imap_resp_tagged(s, cmd.tag, IMAP_RESP_BAD, NULL,
				 "Wrong number of arguments");
		return IMAP_STATUS_CONTINUE;
	}
	cmd.def = def;
	if (def->handler != cmd_select && def->handler != cmd_logout)
		imap_view_fill(&s->view);
	/* Untagged updates are sent by the handlers before their tagged
	 * reply (imap_cmd_tagged() in imap-sync.c), which defers EXPUNGEs
	 * as RFC 3501 7.4.1 asks for the commands flagged USES_SEQ. */
	st = def->handler(&cmd);
	return s->must_close ? IMAP_STATUS_CLOSE : st;
}
