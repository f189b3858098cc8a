/* The authenticate hook's logic: passwd-file lookup, crypt(3) check,
 * failure delay, then the privilege drop and the maildir path. An unknown
 * user and a wrong password get the same answer after the same work, and
 * the log says which (never the password). Nothing here touches mail.
 */
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/mem.h"

unsigned
auth_failure_delay(unsigned base, unsigned n)
{
	unsigned d = base;

	while (n > 1 && d < AUTH_MAX_DELAY) {
		d *= 2;
		n--;
	}
	return d < AUTH_MAX_DELAY ? d : AUTH_MAX_DELAY;
}

/* A client-supplied name made safe for a log line: printable ASCII, at
 * most 64 bytes. */
static void
log_safe(const char *in, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outlen && i < 64; i++) {
		out[i] = in[i];
		if (in[i] <= 0x20 || in[i] >= 0x7f)
			out[i] = '?';
	}
	out[i] = '\0';
}

static void
sleep_secs(unsigned secs, volatile sig_atomic_t *stop)
{
	struct timespec ts = {(time_t)secs, 0};
	sigset_t mask;

	/* Sleep with SIGTERM unblocked, so a shutdown cuts the delay short
	 * even though the session keeps it blocked outside its ppoll(). */
	if (secs == 0 || sigprocmask(SIG_BLOCK, NULL, &mask) < 0)
		return;
	(void)sigdelset(&mask, SIGTERM);
	while (ppoll(NULL, 0, &ts, &mask) < 0 && errno == EINTR &&
	       (stop == NULL || !*stop))
		;
}

static enum auth_outcome
failed(struct auth_state *st, const char *user, const char *reason)
{
	char name[80];

	st->failures++;
	log_safe(user, name, sizeof(name));
	log_info("login failed: user=%s reason=\"%s\" failures=%u", name,
		 reason, st->failures);
	(st->delay != NULL ? st->delay : sleep_secs)(
		auth_failure_delay(st->cfg->auth_failure_delay, st->failures),
		st->stop);
	return AUTH_OUTCOME_FAIL;
}

/* The uid and gid to serve e's mail as: its own, else the config's.
 * Returns NULL, or why there are none (a static string). */
static const char *
user_ids(const struct server_config *cfg, const struct passwd_entry *e,
	 uid_t *uid_r, gid_t *gid_r)
{
	if (geteuid() != 0) {
		*uid_r = geteuid();
		*gid_r = getegid();
		return NULL;
	}
	if (!e->has_uid && !cfg->has_default_uid)
		return "no uid and default_uid is unset";
	if (!e->has_gid && !cfg->has_default_gid)
		return "no gid and default_gid is unset";
	*uid_r = e->has_uid ? e->uid : cfg->default_uid;
	*gid_r = e->has_gid ? e->gid : cfg->default_gid;
	return NULL;
}

/* The user's Maildir root from the template, or NULL with *why_r set to
 * "<setting>: <reason>" in why (len bytes). */
static char *
user_maildir(const struct server_config *cfg, const struct passwd_entry *e,
	     char *why, size_t len)
{
	char *home = NULL, *path = NULL;
	const char *reason = NULL;

	if (e->home != NULL) {
		home = xstrdup(e->home);
	} else if (cfg->default_home != NULL &&
		   mailpath_expand(cfg->default_home, e->user, NULL, &home,
				   &reason) < 0) {
		(void)snprintf(why, len, "default_home: %s", reason);
		return NULL;
	}
	if (mailpath_expand(cfg->maildir, e->user, home, &path, &reason) < 0)
		(void)snprintf(why, len, "maildir: %s", reason);
	free(home);
	return path;
}

int
auth_check_user(const struct server_config *cfg, const struct passwd_entry *e,
		char *why, size_t len)
{
	const char *ids;
	char *path;
	uid_t uid;
	gid_t gid;

	ids = user_ids(cfg, e, &uid, &gid);
	if (ids != NULL) {
		(void)snprintf(why, len, "%s", ids);
		return -1;
	}
	path = user_maildir(cfg, e, why, len);
	if (path == NULL)
		return -1;
	free(path);
	return 0;
}

/* The password matched: drop privileges and find the Maildir. */
static enum auth_outcome
succeeded(struct auth_state *st, const struct passwd_entry *e, char **maildir_r,
	  char **user_r)
{
	const char *ids;
	char why[256];
	uid_t uid;
	gid_t gid;
	char *path;

	ids = user_ids(st->cfg, e, &uid, &gid);
	if (ids != NULL) {
		log_error("login: user %s has %s", e->user, ids);
		return AUTH_OUTCOME_TEMPFAIL;
	}
	path = user_maildir(st->cfg, e, why, sizeof(why));
	if (path == NULL) {
		log_error("login: user %s: %s", e->user, why);
		return AUTH_OUTCOME_TEMPFAIL;
	}
	if (privdrop(uid, gid) < 0) {
		free(path);
		return AUTH_OUTCOME_FATAL;
	}
	log_info("login: user=%s uid=%lu maildir=%s", e->user,
		 (unsigned long)uid, path);
	*maildir_r = path;
	*user_r = xstrdup(e->user);
	return AUTH_OUTCOME_OK;
}

enum auth_outcome
auth_login(struct auth_state *st, const char *authzid, const char *user,
	   const char *pass, char **maildir_r, char **user_r)
{
	struct passwd_file *pf = NULL;
	const struct passwd_entry *e;
	enum auth_outcome r;
	const char *why;
	char err[512];
	int v;

	if (passwd_load(st->cfg->passwd_file, &pf, err, sizeof(err)) < 0) {
		log_error("login: %s", err);
		return AUTH_OUTCOME_TEMPFAIL;
	}
	e = passwd_lookup(pf, user);
	if (e == NULL) {
		passwd_verify_dummy(pf, pass);
		r = failed(st, user, "unknown user");
	} else if ((v = passwd_verify(e, pass)) <= 0) {
		if (v < 0)
			log_error("login: user %s: libcrypt refused the hash "
				  "on line %u",
				  e->user, e->line);
		r = failed(st, user,
			   v < 0 ? "unusable hash" : "wrong password");
	} else if (authzid != NULL && authzid[0] != '\0' &&
		   strcmp(authzid, user) != 0) {
		/* No proxy logins: acting as another user is refused like a
		 * wrong password. */
		r = failed(st, user, "authorization identity differs");
	} else if ((why = passwd_entry_problem(e)) != NULL) {
		/* The client learns no more than from a wrong password; the
		 * admin reads why in the log (and from -t). */
		log_error("login: user %s on line %u: %s", e->user, e->line,
			  why);
		r = failed(st, user, why);
	} else {
		r = succeeded(st, e, maildir_r, user_r);
	}
	passwd_free(&pf);
	return r;
}
