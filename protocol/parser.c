/* The command parser: turns one framed command (whole, ending in CRLF, its
 * literals in place) into a tag, an upper-case name and a tree of
 * arguments in the per-command arena (RFC 3501 section 9, RFC 7888).
 * The tree is generic; args.c reads typed values out of it. Any syntax
 * error is BAD with a static text; nothing here writes to the client.
 */
#include "protocol/imap-private.h"

#include <ctype.h>
#include <string.h>

#include "lib/num.h"

struct parser {
	struct arena *a;
	const struct imap_limits *limits;
	const char *p;
	size_t len;
	size_t pos;
	const char *error;
	size_t no_bracket_until; /* see bracket_end() */
	bool bracket_literal;    /* the last bracket_end() met a literal */
};

/* CHAR = %x01-7F; CTL = %x00-1F / %x7F */
static bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* ATOM-CHAR       = <any CHAR except atom-specials>
 * atom-specials   = "(" / ")" / "{" / SP / CTL / list-wildcards /
 *                   quoted-specials / resp-specials        (RFC 3501 9) */
bool
imap_is_atom_char(unsigned char c)
{
	if (c >= 0x80 || is_ctl(c))
		return false;
	return strchr("(){ %*\"\\]", c) == NULL;
}

void
imap_arg_wipe(const struct imap_arg *arg)
{
	if (arg->str != NULL)
		explicit_bzero(arg->str, arg->len);
}

/* tag             = 1*<any ASTRING-CHAR except "+">
 * ASTRING-CHAR    = ATOM-CHAR / resp-specials              (RFC 3501 9) */
bool
imap_is_tag(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+' || (!imap_is_atom_char(c) && c != ']'))
			return false;
	}
	return true;
}

static int
fail(struct parser *ps, const char *error)
{
	if (ps->error == NULL)
		ps->error = error;
	return -1;
}

static bool
at(const struct parser *ps, char c)
{
	return ps->pos < ps->len && ps->p[ps->pos] == c;
}

static bool
at_crlf(const struct parser *ps)
{
	return ps->pos + 1 < ps->len && ps->p[ps->pos] == '\r' &&
	       ps->p[ps->pos + 1] == '\n';
}

/* Bytes an atom-like token may hold: ATOM-CHAR plus list-wildcards,
 * resp-specials and "\" (flags, LIST patterns, sequence sets and FETCH
 * sections all arrive as such tokens; args.c checks each use). */
static bool
is_token_char(unsigned char c)
{
	return imap_is_atom_char(c) || c == '%' || c == '*' || c == ']' ||
	       c == '\\';
}

/* The literal "{N}" CRLF or "{N+}" CRLF and its N bytes at pos: the
 * position after them, or 0 when there is none (or it runs past the
 * command). *data_r and *len_r get its bytes. */
static size_t
literal_at(const struct parser *ps, size_t pos, size_t *data_r, size_t *len_r)
{
	size_t start = pos + 1, end = start;
	uint64_t n;

	if (pos >= ps->len || ps->p[pos] != '{')
		return 0;
	while (end < ps->len && ps->p[end] >= '0' && ps->p[end] <= '9')
		end++;
	if (num_parse_u64(ps->p + start, end - start, UINT64_MAX, &n) < 0)
		return 0;
	if (end < ps->len && ps->p[end] == '+')
		end++;
	if (end + 2 >= ps->len || ps->p[end] != '}' || ps->p[end + 1] != '\r' ||
	    ps->p[end + 2] != '\n' || n > ps->len - (end + 3))
		return 0;
	*data_r = end + 3;
	*len_r = (size_t)n;
	return end + 3 + (size_t)n;
}

/* A "[...]" inside a token (FETCH's BODY[HEADER.FIELDS (A B)]) may hold
 * spaces, parentheses and literals (a header-fld-name is an astring, RFC
 * 3501 9): when a "]" closes it before the line ends, return the position
 * after it, else 0 (the "[" is then just a char). Section specs never nest
 * brackets, so the first "]" outside a literal closes. A failed scan is
 * remembered: no later "[" before the same end can succeed, which keeps a
 * line of many "[" linear. */
static size_t
bracket_end(struct parser *ps, size_t pos)
{
	size_t after, data, n;

	ps->bracket_literal = false;
	if (pos < ps->no_bracket_until)
		return 0;
	for (pos++; pos < ps->len; pos++) {
		unsigned char c = (unsigned char)ps->p[pos];

		if (c == ']')
			return pos + 1;
		if (c == '{' && (after = literal_at(ps, pos, &data, &n)) != 0) {
			ps->bracket_literal = true;
			pos = after - 1;
			continue;
		}
		if (c >= 0x80 || is_ctl(c))
			break;
	}
	ps->no_bracket_until = pos;
	return 0;
}

/* The token [start, end) with each literal inside its brackets written as
 * a quoted string, so that the section parser (section.c) sees the same
 * text as for a quoted header name. Only printable ASCII can be a field
 * name; anything else fails. */
static int
unliteral_token(struct parser *ps, size_t start, size_t end, char **out_r,
		size_t *len_r)
{
	char *out = arena_alloc(ps->a, 2 * (end - start) + 1);
	size_t pos = start, o = 0, data, n, after, i;

	while (pos < end) {
		after = ps->p[pos] == '{' ? literal_at(ps, pos, &data, &n) : 0;
		if (after == 0 || after > end) {
			out[o++] = ps->p[pos++];
			continue;
		}
		out[o++] = '"';
		for (i = data; i < data + n; i++) {
			unsigned char c = (unsigned char)ps->p[i];

			if (c < 0x21 || c > 0x7e)
				return fail(ps, "Invalid header field name");
			if (c == '"' || c == '\\')
				out[o++] = '\\';
			out[o++] = (char)c;
		}
		out[o++] = '"';
		pos = after;
	}
	out[o] = '\0';
	*out_r = out;
	*len_r = o;
	return 0;
}

/* atom            = 1*ATOM-CHAR   (and the wider tokens described above) */
static int
parse_token(struct parser *ps, struct imap_arg *arg)
{
	size_t start = ps->pos, end;
	bool has_literal = false;

	while (ps->pos < ps->len) {
		unsigned char c = (unsigned char)ps->p[ps->pos];

		if (c == '[' && (end = bracket_end(ps, ps->pos)) != 0) {
			ps->pos = end;
			has_literal |= ps->bracket_literal;
		} else if (is_token_char(c))
			ps->pos++;
		else
			break;
	}
	if (ps->pos == start) {
		if (ps->pos < ps->len && (unsigned char)ps->p[ps->pos] >= 0x80)
			return fail(ps, "8-bit character outside a string");
		return fail(ps, "Missing argument");
	}
	arg->type = IMAP_ARG_ATOM;
	if (has_literal)
		return unliteral_token(ps, start, ps->pos, &arg->str,
				       &arg->len);
	arg->len = ps->pos - start;
	arg->str = arena_strndup(ps->a, ps->p + start, arg->len);
	return 0;
}

/* quoted          = DQUOTE *QUOTED-CHAR DQUOTE
 * QUOTED-CHAR     = <any TEXT-CHAR except quoted-specials> /
 *                   "\" quoted-specials
 * TEXT-CHAR       = <any CHAR except CR and LF>           (RFC 3501 9)
 * 8-bit bytes are let through as RFC 9051 allows UTF-8 here; NUL never. */
static int
parse_quoted(struct parser *ps, struct imap_arg *arg)
{
	size_t start = ps->pos + 1, end = start, n = 0;
	char *out;

	/* First find the end, so that only what is needed is allocated. */
	for (;; end++) {
		unsigned char c;

		if (end >= ps->len)
			return fail(ps, "Unterminated quoted string");
		c = (unsigned char)ps->p[end];
		if (c == '"')
			break;
		if (c == '\\') {
			end++;
			if (end >= ps->len ||
			    (ps->p[end] != '"' && ps->p[end] != '\\'))
				return fail(ps,
					    "Invalid escape in quoted string");
		} else if (c == '\0') {
			return fail(ps, "NUL byte in quoted string");
		} else if (c == '\r' || c == '\n') {
			return fail(ps, "Unterminated quoted string");
		}
	}
	out = arena_alloc(ps->a, end - start + 1);
	for (ps->pos = start; ps->pos < end; ps->pos++) {
		if (ps->p[ps->pos] == '\\')
			ps->pos++;
		out[n++] = ps->p[ps->pos];
	}
	out[n] = '\0';
	ps->pos = end + 1;
	arg->type = IMAP_ARG_QUOTED;
	arg->str = out;
	arg->len = n;
	return 0;
}

/* literal         = "{" number "}" CRLF *CHAR8              (RFC 3501 9)
 * literal         =/ "{" number64 "+}" CRLF *CHAR8         (RFC 7888 8)
 * The framer has checked the size against the limits already. */
static int
parse_literal(struct parser *ps, struct imap_arg *arg)
{
	size_t start = ++ps->pos;
	uint64_t n;

	while (ps->pos < ps->len && ps->p[ps->pos] >= '0' &&
	       ps->p[ps->pos] <= '9')
		ps->pos++;
	if (num_parse_u64(ps->p + start, ps->pos - start, UINT64_MAX, &n) < 0)
		return fail(ps, "Invalid literal size");
	if (at(ps, '+'))
		ps->pos++;
	if (!at(ps, '}'))
		return fail(ps, "Invalid literal");
	ps->pos++;
	if (!at_crlf(ps))
		return fail(ps, "Missing CRLF after literal size");
	ps->pos += 2;
	if (n > ps->len - ps->pos)
		return fail(ps, "Literal longer than the command");
	arg->type = IMAP_ARG_LITERAL;
	arg->len = (size_t)n;
	arg->str = arena_strndup(ps->a, ps->p + ps->pos, arg->len);
	ps->pos += arg->len;
	return 0;
}

static int parse_list(struct parser *ps, struct imap_arg *arg, unsigned depth);

/* One argument: a list, a quoted string, a literal or an atom-like token.
 */
static int
parse_arg(struct parser *ps, struct imap_arg *arg, unsigned depth)
{
	memset(arg, 0, sizeof(*arg));
	if (ps->pos >= ps->len)
		return fail(ps, "Missing argument");
	switch (ps->p[ps->pos]) {
	case '(':
		return parse_list(ps, arg, depth + 1);
	case '"':
		return parse_quoted(ps, arg);
	case '{':
		return parse_literal(ps, arg);
	case ')':
		return fail(ps, "Unbalanced parentheses");
	case ' ':
		return fail(ps, "Unexpected space");
	default:
		return parse_token(ps, arg);
	}
}

/* Arguments separated by single spaces until end (")" or CRLF). Grows the
 * array in the arena by doubling; the copies left behind are bounded by
 * twice the final size. */
static int
parse_args(struct parser *ps, unsigned depth, bool in_list,
	   struct imap_arg **args_r, unsigned *count_r)
{
	struct imap_arg *args = NULL, *bigger;
	unsigned count = 0, cap = 0;

	for (;;) {
		if (in_list && at_crlf(ps))
			return fail(ps, "Unbalanced parentheses");
		if (in_list ? at(ps, ')') : at_crlf(ps)) {
			if (count > 0)
				return fail(ps, "Trailing space");
			break;
		}
		if (count == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			bigger = arena_calloc(ps->a, cap, sizeof(*bigger));
			if (count > 0)
				memcpy(bigger, args, count * sizeof(*args));
			args = bigger;
		}
		if (parse_arg(ps, &args[count++], depth) < 0)
			return -1;
		if (in_list ? at(ps, ')') : at_crlf(ps))
			break;
		if (at_crlf(ps) || at(ps, ')'))
			return fail(ps, "Unbalanced parentheses");
		if (!at(ps, ' '))
			return fail(ps, in_list ? "Missing ')' or space"
						: "Missing space between "
						  "arguments");
		ps->pos++;
	}
	*args_r = args;
	*count_r = count;
	return 0;
}

/* "(" [arg *(SP arg)] ")"   (the shape of flag-list, fetch-att lists,
 * search-key groups, id_params_list; RFC 3501 9, RFC 2971 4) */
static int
parse_list(struct parser *ps, struct imap_arg *arg, unsigned depth)
{
	if (depth > ps->limits->max_nesting)
		return fail(ps, "Too deeply nested parentheses");
	ps->pos++; /* "(" */
	arg->type = IMAP_ARG_LIST;
	if (at(ps, ' '))
		return fail(ps, "Unexpected space");
	if (parse_args(ps, depth, true, &arg->list, &arg->count) < 0)
		return -1;
	if (!at(ps, ')'))
		return fail(ps, "Unbalanced parentheses");
	ps->pos++;
	return 0;
}

/* The command name: an atom, upper-cased. */
static int
parse_name(struct parser *ps, const char **name_r)
{
	size_t start = ps->pos, i;
	char *name;

	while (ps->pos < ps->len &&
	       imap_is_atom_char((unsigned char)ps->p[ps->pos]))
		ps->pos++;
	if (ps->pos == start)
		return fail(ps, "Missing command");
	name = arena_strndup(ps->a, ps->p + start, ps->pos - start);
	for (i = 0; name[i] != '\0'; i++)
		name[i] = (char)toupper((unsigned char)name[i]);
	*name_r = name;
	return 0;
}

/* command         = tag SP (command-any / command-auth / command-nonauth /
 *                   command-select) CRLF                   (RFC 3501 9) */
enum imap_parse_result
imap_parse_command(struct arena *a, const struct imap_limits *limits,
		   const char *data, size_t len, struct imap_command *cmd_r,
		   const char **error_r)
{
	struct parser ps = {a, limits, data, len, 0, NULL, 0, false};
	size_t tag_end;

	memset(cmd_r, 0, sizeof(*cmd_r));
	tag_end = 0;
	while (tag_end < len && data[tag_end] != ' ' && data[tag_end] != '\r')
		tag_end++;
	if (!imap_is_tag(data, tag_end)) {
		*error_r = "Invalid tag";
		return IMAP_PARSE_BAD;
	}
	cmd_r->tag = arena_strndup(a, data, tag_end);
	ps.pos = tag_end;
	if (!at(&ps, ' ')) {
		*error_r = "Missing command";
		return IMAP_PARSE_BAD;
	}
	ps.pos++;
	if (parse_name(&ps, &cmd_r->name) < 0)
		goto bad;
	if (at(&ps, ' ')) {
		ps.pos++;
		if (at_crlf(&ps)) {
			fail(&ps, "Trailing space");
			goto bad;
		}
	} else if (!at_crlf(&ps)) {
		fail(&ps, "Invalid command name");
		goto bad;
	}
	if (parse_args(&ps, 0, false, &cmd_r->args, &cmd_r->count) < 0)
		goto bad;
	if (ps.pos + 2 != len) {
		fail(&ps, "Garbage after command");
		goto bad;
	}
	return IMAP_PARSE_OK;
bad:
	*error_r = ps.error;
	return IMAP_PARSE_BAD;
}
