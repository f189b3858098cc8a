/* The maildir template: turns "maildir = /var/mail/%d/%n" and a user into
 * the path of that user's Maildir root. User names come from the passwd
 * file, but the expansion still refuses any that would leave the intended
 * directory ("..", a slash), so a careless passwd file cannot point one
 * user at another's mail.
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/mem.h"

/* A value that becomes (part of) one path component: no slash, and not
 * "." or ".." on its own. */
static bool
safe_component(const char *s, size_t len)
{
	if (memchr(s, '/', len) != NULL)
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && memcmp(s, "..", 2) == 0))
		return false;
	return true;
}

int
mailpath_check(const char *tmpl, const char **why_r)
{
	const char *p;

	for (p = tmpl; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p == '\0') {
			*why_r = "'%' at the end (write %% for a percent sign)";
			return -1;
		}
		if (strchr("undh%", *p) == NULL) {
			*why_r = "unknown escape (use %u, %n, %d, %h or %%)";
			return -1;
		}
	}
	return 0;
}

/* The text that replaces escape c, as (s, len), or -1 with a reason. */
static int
escape_value(char c, const char *user, const char *home, const char **s_r,
	     size_t *len_r, const char **why_r)
{
	const char *at = strchr(user, '@');

	switch (c) {
	case 'u':
		*s_r = user;
		*len_r = strlen(user);
		break;
	case 'n':
		*s_r = user;
		*len_r = at != NULL ? (size_t)(at - user) : strlen(user);
		break;
	case 'd':
		*s_r = at != NULL ? at + 1 : "";
		*len_r = strlen(*s_r);
		break;
	case 'h':
		if (home == NULL || home[0] == '\0') {
			*why_r =
				"the template uses %h but the user has no home";
			return -1;
		}
		*s_r = home;
		*len_r = strlen(home);
		return 0;
	default:
		*s_r = "%";
		*len_r = 1;
		return 0;
	}
	if (!safe_component(*s_r, *len_r)) {
		*why_r = "the user name is unsafe in a path";
		return -1;
	}
	return 0;
}

/* The component of b that ends at its end and starts at start came (at
 * least in part) from the user name: it must not be empty, "." or "..",
 * or "/var/mail/%d/%n" with user "@" would name the shared root itself. */
static bool
component_ok(const struct buf *b, size_t start)
{
	return b->len > start &&
	       safe_component(b->data + start, b->len - start);
}

int
mailpath_expand(const char *tmpl, const char *user, const char *home,
		char **path_r, const char **why_r)
{
	struct buf b;
	const char *p, *s;
	size_t len, start = 0;  /* where the current path component begins */
	bool from_user = false; /* and whether the user name is in it */

	if (mailpath_check(tmpl, why_r) < 0)
		return -1;
	buf_init(&b, 4096);
	for (p = tmpl; *p != '\0'; p++) {
		if (*p == '/' && from_user && !component_ok(&b, start))
			goto fail_component;
		if (*p != '%') {
			s = p;
			len = 1;
		} else if (escape_value(*++p, user, home, &s, &len, why_r) <
			   0) {
			goto fail;
		} else if (strchr("und", *p) != NULL) {
			from_user = true;
		}
		if (buf_append(&b, s, len) < 0) {
			*why_r = "the expanded path is too long";
			goto fail;
		}
		if (s == p && *p == '/') {
			start = b.len;
			from_user = false;
		}
	}
	if (from_user && !component_ok(&b, start))
		goto fail_component;
	if (b.len == 0 || b.data[0] != '/') {
		*why_r = "the expanded path is not absolute";
		goto fail;
	}
	*path_r = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return 0;
fail_component:
	*why_r =
		"the user name leaves an empty, \".\" or \"..\" path component";
fail:
	buf_free(&b);
	return -1;
}
