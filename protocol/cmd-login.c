/* LOGIN (RFC 3501 6.2.3): user name and password as astrings, refused on
 * a non-secure connection unless plaintext_auth (RFC 3501 6.2.3, RFC
 * 5530 PRIVACYREQUIRED), checked by the server's authenticate hook. The
 * password is wiped from the arena once used and never logged.
 */
#include "protocol/imap-private.h"

#include <string.h>

/* login           = "LOGIN" SP userid SP password
 * userid          = astring
 * password        = astring                                (RFC 3501 9) */
enum imap_status
cmd_login(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	enum imap_status st = IMAP_STATUS_CONTINUE;
	const char *user, *pass, *error;
	size_t user_len, pass_len;

	if (imap_arg_get_astring(&cmd->args[0], &user, &user_len, &error) < 0 ||
	    imap_arg_get_astring(&cmd->args[1], &pass, &pass_len, &error) < 0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		goto wipe;
	}
	if (imap_session_refuse_plaintext(s, cmd->tag))
		goto wipe;
	st = imap_session_login(s, cmd->tag, NULL, user, pass);
wipe:
	imap_arg_wipe(&cmd->args[1]);
	return st;
}
