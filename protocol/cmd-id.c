/* ID (RFC 2971): the client's parameters are checked for shape and
 * limits, then ignored; the answer names the server and its version.
 */
#include "protocol/imap-private.h"

#ifndef IMAPMOVED_VERSION
#define IMAPMOVED_VERSION "unknown"
#endif

/* RFC 2971 section 3.3: at most 30 pairs, fields of 30 octets, values of
 * 1024 octets. */
#define ID_MAX_PAIRS 30
#define ID_MAX_FIELD 30
#define ID_MAX_VALUE 1024

/* The version is a compile-time constant of plain characters. */
static const char id_response[] =
	"* ID (\"name\" \"imapmoved\" \"version\" \"" IMAPMOVED_VERSION
	"\")\r\n";

/* id ::= "ID" SPACE id_params_list
 * id_params_list ::= "(" #(string SPACE nstring) ")" / nil  (RFC 2971 4) */
static int
check_params(const struct imap_arg *arg, const char **error_r)
{
	const char *str;
	size_t len;
	unsigned i;

	if (imap_arg_is_nil(arg))
		return 0;
	if (arg->type != IMAP_ARG_LIST || arg->count % 2 != 0 ||
	    arg->count > 2 * ID_MAX_PAIRS) {
		*error_r = "Invalid ID parameter list";
		return -1;
	}
	for (i = 0; i < arg->count; i += 2) {
		if (imap_arg_get_string(&arg->list[i], &str, &len, error_r) <
			    0 ||
		    imap_arg_get_nstring(&arg->list[i + 1], &str, &len,
					 error_r) < 0)
			return -1;
		if (arg->list[i].len > ID_MAX_FIELD || len > ID_MAX_VALUE) {
			*error_r = "ID field or value too long";
			return -1;
		}
	}
	return 0;
}

enum imap_status
cmd_id(struct imap_cmd *cmd)
{
	const char *error;

	if (check_params(&cmd->args[0], &error) < 0) {
		imap_resp_tagged(cmd->s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	imap_resp_raw(cmd->s, id_response, sizeof(id_response) - 1);
	imap_resp_tagged(cmd->s, cmd->tag, IMAP_RESP_OK, NULL, "ID completed.");
	return IMAP_STATUS_CONTINUE;
}
