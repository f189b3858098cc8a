/* Dropping root for good after a login: supplementary groups, gid, uid,
 * in that order (each later step needs the privilege the earlier keeps),
 * then a check that the drop held. Mail is never served as uid 0; a
 * failure here ends the session, because the process may be half-dropped.
 */
#include "server.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

int
privdrop(uid_t uid, gid_t gid)
{
	int saved;

	if (geteuid() != 0)
		return 0; /* not root: serve mail as ourselves */
	if (uid == 0 || gid == 0) {
		log_error("privdrop: refusing to serve mail as uid %lu gid %lu",
			  (unsigned long)uid, (unsigned long)gid);
		return -1;
	}
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		saved = errno;
		log_error("privdrop: to uid %lu gid %lu: %s",
			  (unsigned long)uid, (unsigned long)gid,
			  strerror(saved));
		return -1;
	}
	/* setuid() as root sets real, effective and saved ids; verify all
	 * of them, and that root cannot be regained. */
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid || setuid(0) == 0 || setgid(0) == 0) {
		log_error("privdrop: the drop to uid %lu gid %lu did not hold",
			  (unsigned long)uid, (unsigned long)gid);
		return -1;
	}
	return 0;
}
