/* LIST and LSUB (RFC 3501 6.3.8, 6.3.9; CHILDREN, RFC 3348): folder names
 * matched against reference + pattern with the "*" and "%" wildcards,
 * attributes \Noselect, \HasChildren and \HasNoChildren, the `""` query
 * for the hierarchy delimiter, and names in modified UTF-7 on the wire.
 * Matching is a table walk in O(pattern x name), never backtracking.
 */
#include "protocol/imap-private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Longer patterns are refused: no folder name comes near it. */
#define LIST_MAX_PATTERN 1024

/* Does name match pattern? "*" matches anything, "%" anything but the
 * delimiter '.'. INBOX matches case-insensitively (RFC 3501 5.1). */
static bool
list_match(struct arena *a, const char *pat, const char *name)
{
	size_t p = strlen(pat), n = strlen(name), i, j;
	bool ci = strcmp(name, "INBOX") == 0;
	/* next[j]: pat[i+1..] matches name[j..]; cur the same for pat[i..]. */
	bool *cur = arena_calloc(a, n + 1, sizeof(bool));
	bool *next = arena_calloc(a, n + 1, sizeof(bool));
	bool *t;

	next[n] = true;
	for (i = p; i-- > 0;) {
		char c = pat[i];

		cur[n] = (c == '*' || c == '%') && next[n];
		for (j = n; j-- > 0;) {
			if (c == '*')
				cur[j] = next[j] || cur[j + 1];
			else if (c == '%')
				cur[j] = next[j] ||
					 (name[j] != '.' && cur[j + 1]);
			else if (ci)
				cur[j] = toupper((unsigned char)c) ==
						 (unsigned char)name[j] &&
					 next[j + 1];
			else
				cur[j] = c == name[j] && next[j + 1];
		}
		t = cur;
		cur = next;
		next = t;
	}
	return next[0];
}

/* Write "* LIST|LSUB (attrs) "." name". */
static void
list_line(struct imap_session *s, const char *what, const char *attrs,
	  const char *name)
{
	struct buf b;

	buf_init(&b, 0);
	/* b has no maximum; name is valid UTF-8 from the store. */
	(void)buf_printf(&b, "* %s (%s) \".\" ", what, attrs);
	if (imap_resp_mailbox(&b, name) == 0) {
		(void)buf_puts(&b, "\r\n");
		imap_resp_raw(s, b.data, b.len);
	}
	buf_free(&b);
}

static const char *
folder_attrs(unsigned flags)
{
	if ((flags & MD_FOLDER_NOSELECT) != 0)
		return (flags & MD_FOLDER_HASCHILDREN) != 0
			       ? "\\Noselect \\HasChildren"
			       : "\\Noselect \\HasNoChildren";
	return (flags & MD_FOLDER_HASCHILDREN) != 0 ? "\\HasChildren"
						    : "\\HasNoChildren";
}

static int
list_folders(struct imap_session *s, const char *pattern)
{
	struct md_folder *folders;
	size_t count, i;

	if (md_store_list(s->store, &folders, &count) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		if (list_match(s->arena, pattern, folders[i].name))
			list_line(s, "LIST", folder_attrs(folders[i].flags),
				  folders[i].name);
	}
	md_folders_free(&folders, count);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is name among the sorted names? */
static bool
has_name(char **names, size_t count, const char *name)
{
	return bsearch(&name, names, count, sizeof(*names), cmp_str) != NULL;
}

/* LSUB: the subscribed names that match; with a trailing "%", also the
 * levels above a subscribed name that match while the name itself does
 * not, as \Noselect (RFC 3501 6.3.9). */
static int
list_subscribed(struct imap_session *s, const char *pattern)
{
	size_t plen = strlen(pattern), count, i, n = 0;
	bool pct = plen > 0 && pattern[plen - 1] == '%';
	char **names, **out;

	if (md_store_subscriptions(s->store, &names, &count) < 0)
		return -1;
	if (count > 1) /* names is NULL when nothing is subscribed */
		qsort(names, count, sizeof(*names), cmp_str);
	/* Each name and each of its parents at most once: the parents are
	 * collected first, then sorted and deduplicated. */
	out = arena_alloc(s->arena, (count + 1) * sizeof(*out));
	for (i = 0; i < count; i++) {
		char *dot, *parent;

		if (list_match(s->arena, pattern, names[i])) {
			list_line(s, "LSUB", "", names[i]);
			continue;
		}
		if (!pct)
			continue;
		parent = arena_strdup(s->arena, names[i]);
		while ((dot = strrchr(parent, '.')) != NULL) {
			*dot = '\0';
			if (!has_name(names, count, parent) &&
			    list_match(s->arena, pattern, parent)) {
				out[n++] = parent;
				break;
			}
		}
	}
	qsort(out, n, sizeof(*out), cmp_str);
	for (i = 0; i < n; i++) {
		if (i == 0 || strcmp(out[i], out[i - 1]) != 0)
			list_line(s, "LSUB", "\\Noselect", out[i]);
	}
	md_names_free(&names, count);
	return 0;
}

/* list-mailbox    = 1*list-char / string
 * list-char       = ATOM-CHAR / list-wildcards / resp-specials
 * The pattern or reference, decoded from modified UTF-7 into the arena. */
static int
get_list_name(struct arena *a, const struct imap_arg *arg, const char **r,
	      const char **error_r)
{
	size_t i;
	struct buf b;

	if (arg->type == IMAP_ARG_LIST || memchr(arg->str, '\0', arg->len)) {
		*error_r = "Expected a mailbox pattern";
		return -1;
	}
	for (i = 0; arg->type == IMAP_ARG_ATOM && i < arg->len; i++) {
		unsigned char c = (unsigned char)arg->str[i];

		if (!imap_is_atom_char(c) && c != '%' && c != '*' && c != ']') {
			*error_r = "Invalid character in pattern";
			return -1;
		}
	}
	if (arg->len > LIST_MAX_PATTERN) {
		*error_r = "Pattern too long";
		return -1;
	}
	buf_init(&b, 0);
	if (imap_utf7_to_utf8(arg->str, arg->len, &b) < 0) {
		buf_free(&b);
		*error_r = "Invalid modified UTF-7 in mailbox name";
		return -1;
	}
	*r = arena_strndup(a, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

/* list            = "LIST" SP mailbox SP list-mailbox
 * lsub            = "LSUB" SP mailbox SP list-mailbox       (RFC 3501 9) */
enum imap_status
cmd_list(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	bool lsub = cmd->name[1] == 'S';
	const char *ref, *pat, *error;
	char *pattern;
	int ret;

	if (get_list_name(s->arena, &cmd->args[0], &ref, &error) < 0 ||
	    get_list_name(s->arena, &cmd->args[1], &pat, &error) < 0) {
		imap_resp_tagged(s, cmd->tag, IMAP_RESP_BAD, NULL, error);
		return IMAP_STATUS_CONTINUE;
	}
	if (!lsub && pat[0] == '\0') {
		/* The delimiter and the root of the reference (6.3.8). */
		const char *dot = strchr(ref, '.');
		char *root = arena_strndup(s->arena, ref,
					   dot != NULL ? (size_t)(dot - ref + 1)
						       : 0);

		list_line(s, "LIST", "\\Noselect", root);
		imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL, "LIST completed.");
		return IMAP_STATUS_CONTINUE;
	}
	pattern = arena_printf(s->arena, "%s%s", ref, pat);
	ret = lsub ? list_subscribed(s, pattern) : list_folders(s, pattern);
	if (ret < 0)
		imap_cmd_store_error(cmd, false);
	else
		imap_cmd_tagged(cmd, IMAP_RESP_OK, NULL,
				lsub ? "LSUB completed." : "LIST completed.");
	return IMAP_STATUS_CONTINUE;
}
