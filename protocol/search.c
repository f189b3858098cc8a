/* The SEARCH program parser (RFC 3501 6.4.4 and the search-key rule of
 * section 9): the argument tree of a SEARCH command becomes a tree of
 * search keys, with the nesting bounded and the children of each AND put
 * cheapest first so that matching decides without reading a message
 * whenever it can. Never touches the filesystem or the client.
 */
#include "protocol/search-private.h"

#include <string.h>
#include <strings.h>

struct sp {
	struct arena *a;
	const struct imap_arg *args;
	unsigned count;
	unsigned pos;
	unsigned max_depth;
	const char *error;
};

/* What follows a key's name. */
enum key_arg {
	ARG_NONE,
	ARG_ASTRING, /* astring */
	ARG_DATE,    /* date */
	ARG_NUMBER,  /* number */
	ARG_SEQSET,  /* sequence-set */
	ARG_KEYWORD, /* flag-keyword */
	ARG_HEADER,  /* header-fld-name SP astring */
	ARG_KEY,     /* search-key */
	ARG_KEY2,    /* search-key SP search-key */
};

/* search-key      = "ALL" / "ANSWERED" / "BCC" SP astring /
 *                   "BEFORE" SP date / "BODY" SP astring /
 *                   "CC" SP astring / "DELETED" / "FLAGGED" /
 *                   "FROM" SP astring / "KEYWORD" SP flag-keyword /
 *                   "NEW" / "OLD" / "ON" SP date / "RECENT" / "SEEN" /
 *                   "SINCE" SP date / "SUBJECT" SP astring /
 *                   "TEXT" SP astring / "TO" SP astring /
 *                   "UNANSWERED" / "UNDELETED" / "UNFLAGGED" /
 *                   "UNKEYWORD" SP flag-keyword / "UNSEEN" /
 *                   "DRAFT" / "HEADER" SP header-fld-name SP astring /
 *                   "LARGER" SP number / "NOT" SP search-key /
 *                   "OR" SP search-key SP search-key /
 *                   "SENTBEFORE" SP date / "SENTON" SP date /
 *                   "SENTSINCE" SP date / "SMALLER" SP number /
 *                   "UID" SP sequence-set / "UNDRAFT" / sequence-set /
 *                   "(" search-key *(SP search-key) ")"  (RFC 3501 9)
 * BCC, CC, FROM, SUBJECT and TO are HEADER keys on that field (field). */
static const struct {
	const char *name;
	enum search_key_type type;
	enum key_arg arg;
	uint32_t flags;
	const char *field;
} key_defs[] = {
	{"ALL", SEARCH_ALL, ARG_NONE, 0, NULL},
	{"ANSWERED", SEARCH_FLAGS, ARG_NONE, MD_FLAG_ANSWERED, NULL},
	{"BCC", SEARCH_HEADER, ARG_ASTRING, 0, "Bcc"},
	{"BEFORE", SEARCH_BEFORE, ARG_DATE, 0, NULL},
	{"BODY", SEARCH_BODY, ARG_ASTRING, 0, NULL},
	{"CC", SEARCH_HEADER, ARG_ASTRING, 0, "Cc"},
	{"DELETED", SEARCH_FLAGS, ARG_NONE, MD_FLAG_DELETED, NULL},
	{"DRAFT", SEARCH_FLAGS, ARG_NONE, MD_FLAG_DRAFT, NULL},
	{"FLAGGED", SEARCH_FLAGS, ARG_NONE, MD_FLAG_FLAGGED, NULL},
	{"FROM", SEARCH_HEADER, ARG_ASTRING, 0, "From"},
	{"HEADER", SEARCH_HEADER, ARG_HEADER, 0, NULL},
	{"KEYWORD", SEARCH_KEYWORD, ARG_KEYWORD, 0, NULL},
	{"LARGER", SEARCH_LARGER, ARG_NUMBER, 0, NULL},
	{"NEW", SEARCH_NEW, ARG_NONE, 0, NULL},
	{"NOT", SEARCH_NOT, ARG_KEY, 0, NULL},
	{"OLD", SEARCH_OLD, ARG_NONE, 0, NULL},
	{"ON", SEARCH_ON, ARG_DATE, 0, NULL},
	{"OR", SEARCH_OR, ARG_KEY2, 0, NULL},
	{"RECENT", SEARCH_RECENT, ARG_NONE, 0, NULL},
	{"SEEN", SEARCH_FLAGS, ARG_NONE, MD_FLAG_SEEN, NULL},
	{"SENTBEFORE", SEARCH_SENTBEFORE, ARG_DATE, 0, NULL},
	{"SENTON", SEARCH_SENTON, ARG_DATE, 0, NULL},
	{"SENTSINCE", SEARCH_SENTSINCE, ARG_DATE, 0, NULL},
	{"SINCE", SEARCH_SINCE, ARG_DATE, 0, NULL},
	{"SMALLER", SEARCH_SMALLER, ARG_NUMBER, 0, NULL},
	{"SUBJECT", SEARCH_HEADER, ARG_ASTRING, 0, "Subject"},
	{"TEXT", SEARCH_TEXT, ARG_ASTRING, 0, NULL},
	{"TO", SEARCH_HEADER, ARG_ASTRING, 0, "To"},
	{"UID", SEARCH_UIDSET, ARG_SEQSET, 0, NULL},
	{"UNANSWERED", SEARCH_NOFLAGS, ARG_NONE, MD_FLAG_ANSWERED, NULL},
	{"UNDELETED", SEARCH_NOFLAGS, ARG_NONE, MD_FLAG_DELETED, NULL},
	{"UNDRAFT", SEARCH_NOFLAGS, ARG_NONE, MD_FLAG_DRAFT, NULL},
	{"UNFLAGGED", SEARCH_NOFLAGS, ARG_NONE, MD_FLAG_FLAGGED, NULL},
	{"UNKEYWORD", SEARCH_UNKEYWORD, ARG_KEYWORD, 0, NULL},
	{"UNSEEN", SEARCH_NOFLAGS, ARG_NONE, MD_FLAG_SEEN, NULL},
};

#define N_KEY_DEFS (sizeof(key_defs) / sizeof(*key_defs))

/* Cost classes, in the order matching should try keys: what the box
 * knows (flags, numbers, internal dates), sizes (known for most messages,
 * counted for the rest), the header alone, the whole decoded message. */
enum {
	COST_FREE,
	COST_SIZE,
	COST_HEADER,
	COST_BODY,
	COST_CLASSES,
};

static int
fail(struct sp *p, const char *error)
{
	if (p->error == NULL)
		p->error = error;
	return -1;
}

static const struct imap_arg *
next_arg(struct sp *p, const char *missing)
{
	if (p->pos >= p->count) {
		(void)fail(p, missing);
		return NULL;
	}
	return &p->args[p->pos++];
}

/* astring, kept NUL-terminated (every argument string is). */
static int
get_astring(struct sp *p, const char **str_r)
{
	const struct imap_arg *arg = next_arg(p, "Missing search string");
	const char *error;
	size_t len;

	if (arg == NULL)
		return -1;
	if (imap_arg_get_astring(arg, str_r, &len, &error) < 0)
		return fail(p, error);
	return 0;
}

/* flag-keyword    = atom                                   (RFC 3501 9) */
static int
get_keyword(struct sp *p, const char **str_r)
{
	const struct imap_arg *arg = next_arg(p, "Missing keyword");
	size_t i;

	if (arg == NULL)
		return -1;
	if (arg->type != IMAP_ARG_ATOM)
		return fail(p, "Invalid keyword");
	for (i = 0; i < arg->len; i++) {
		if (!imap_is_atom_char((unsigned char)arg->str[i]))
			return fail(p, "Invalid keyword");
	}
	*str_r = arg->str;
	return 0;
}

/* date: the day number (imap_arg_get_date gives its midnight UTC, an
 * exact multiple of a day, so the division is exact). */
static int
get_date(struct sp *p, int64_t *day_r)
{
	const struct imap_arg *arg = next_arg(p, "Missing date");
	const char *error;
	time_t t;

	if (arg == NULL)
		return -1;
	if (imap_arg_get_date(arg, &t, &error) < 0)
		return fail(p, error);
	*day_r = (int64_t)t / 86400;
	return 0;
}

static int
get_number(struct sp *p, uint32_t *n_r)
{
	const struct imap_arg *arg = next_arg(p, "Missing number");
	const char *error;

	if (arg == NULL)
		return -1;
	if (imap_arg_get_number(arg, n_r, &error) < 0)
		return fail(p, error);
	return 0;
}

static int
get_seqset(struct sp *p, struct imap_seqset *set_r)
{
	const struct imap_arg *arg = next_arg(p, "Missing sequence set");
	const char *error;

	if (arg == NULL)
		return -1;
	if (imap_arg_get_seqset(p->a, arg, set_r, &error) < 0)
		return fail(p, error);
	return 0;
}

static int parse_key(struct sp *p, unsigned depth, struct search_key *k);

/* NOT and OR: n sub-keys, one level deeper. */
static int
parse_children(struct sp *p, unsigned depth, unsigned n, struct search_key *k)
{
	unsigned i;

	k->children = arena_calloc(p->a, n, sizeof(*k->children));
	k->count = n;
	for (i = 0; i < n; i++) {
		if (parse_key(p, depth + 1, &k->children[i]) < 0)
			return -1;
	}
	return 0;
}

/* The argument of a key found in key_defs[d]. */
static int
parse_key_arg(struct sp *p, unsigned depth, size_t d, struct search_key *k)
{
	switch (key_defs[d].arg) {
	case ARG_NONE:
		return 0;
	case ARG_ASTRING:
		return get_astring(p, &k->str);
	case ARG_DATE:
		return get_date(p, &k->day);
	case ARG_NUMBER:
		return get_number(p, &k->number);
	case ARG_SEQSET:
		return get_seqset(p, &k->set);
	case ARG_KEYWORD:
		return get_keyword(p, &k->str);
	case ARG_HEADER:
		if (get_astring(p, &k->field) < 0)
			return -1;
		return get_astring(p, &k->str);
	case ARG_KEY:
		return parse_children(p, depth, 1, k);
	case ARG_KEY2:
		return parse_children(p, depth, 2, k);
	}
	return fail(p, "Invalid search key");
}

/* What matching one key costs (see the COST_ classes); a NOT or OR costs
 * what its dearest child costs. */
static unsigned
key_cost(const struct search_key *k)
{
	unsigned i, cost = COST_FREE;

	switch (k->type) {
	case SEARCH_LARGER:
	case SEARCH_SMALLER:
		return COST_SIZE;
	case SEARCH_HEADER:
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE:
		return COST_HEADER;
	case SEARCH_BODY:
	case SEARCH_TEXT:
		return COST_BODY;
	default:
		break;
	}
	for (i = 0; i < k->count; i++) {
		if (k->children[i].cost > cost)
			cost = k->children[i].cost;
	}
	return cost;
}

/* A key given by name (an atom). */
static int
parse_named(struct sp *p, unsigned depth, const struct imap_arg *arg,
	    struct search_key *k)
{
	size_t d;

	/* sequence-set: the one key that is not a word. */
	if ((arg->str[0] >= '0' && arg->str[0] <= '9') || arg->str[0] == '*') {
		p->pos--;
		k->type = SEARCH_SEQSET;
		return get_seqset(p, &k->set);
	}
	for (d = 0; d < N_KEY_DEFS; d++) {
		if (imap_arg_is_atom(arg, key_defs[d].name))
			break;
	}
	if (d == N_KEY_DEFS)
		return fail(p, "Unknown search key");
	k->type = key_defs[d].type;
	k->flags = key_defs[d].flags;
	k->field = key_defs[d].field;
	return parse_key_arg(p, depth, d, k);
}

static int parse_and(struct sp *p, unsigned depth, struct search_key *k);

/* One search-key at p->pos. depth counts the NOT, OR and groups around
 * it, bounded so that neither parsing nor matching recurses without
 * limit. */
static int
parse_key(struct sp *p, unsigned depth, struct search_key *k)
{
	const struct imap_arg *arg;
	struct sp sub;
	int ret;

	if (depth > p->max_depth)
		return fail(p, "Search program nested too deeply");
	arg = next_arg(p, "Missing search key");
	if (arg == NULL)
		return -1;
	memset(k, 0, sizeof(*k));
	if (arg->type == IMAP_ARG_LIST) {
		/* "(" search-key *(SP search-key) ")" */
		if (arg->count == 0)
			return fail(p, "Empty search key list");
		sub = *p;
		sub.args = arg->list;
		sub.count = arg->count;
		sub.pos = 0;
		ret = parse_and(&sub, depth + 1, k);
		p->error = sub.error;
	} else if (arg->type != IMAP_ARG_ATOM) {
		ret = fail(p, "Expected a search key");
	} else {
		ret = parse_named(p, depth, arg, k);
	}
	if (ret == 0)
		k->cost = key_cost(k);
	return ret;
}

/* Reorder children cheapest first, keeping the client's order within a
 * cost class (a counting sort: linear however many keys). */
static void
sort_by_cost(struct arena *a, struct search_key *keys, unsigned n)
{
	struct search_key *tmp = arena_alloc(a, n * sizeof(*tmp));
	unsigned cls, i, out = 0;

	for (cls = 0; cls < COST_CLASSES; cls++) {
		for (i = 0; i < n; i++) {
			if (keys[i].cost == cls)
				tmp[out++] = keys[i];
		}
	}
	memcpy(keys, tmp, n * sizeof(*keys));
}

/* The keys from p->pos to the end, ANDed; a single key stands alone. */
static int
parse_and(struct sp *p, unsigned depth, struct search_key *k)
{
	/* Each key takes at least one argument: the rest bound the count. */
	unsigned cap = p->count - p->pos, n = 0;
	struct search_key *keys = arena_calloc(p->a, cap, sizeof(*keys));

	while (p->pos < p->count) {
		if (parse_key(p, depth, &keys[n++]) < 0)
			return -1;
	}
	if (n == 1) {
		*k = keys[0];
		return 0;
	}
	sort_by_cost(p->a, keys, n);
	memset(k, 0, sizeof(*k));
	k->type = SEARCH_AND;
	k->children = keys;
	k->count = n;
	return 0;
}

/* An OR is commutative: try the cheaper side first. */
static void
order_or(struct search_key *k)
{
	unsigned i;

	for (i = 0; i < k->count; i++)
		order_or(&k->children[i]);
	if (k->type == SEARCH_OR && k->children[1].cost < k->children[0].cost) {
		struct search_key t = k->children[0];

		k->children[0] = k->children[1];
		k->children[1] = t;
	}
}

int
search_parse(struct arena *a, const struct imap_limits *limits,
	     const struct imap_arg *args, unsigned count,
	     struct search_key **root_r, const char **error_r)
{
	struct sp p = {a, args, count, 0, 0, NULL};
	struct search_key *root = arena_calloc(a, 1, sizeof(*root));

	p.max_depth = limits->max_nesting * SEARCH_DEPTH_FACTOR;
	if (count == 0) {
		*error_r = "Missing search key";
		return -1;
	}
	if (parse_and(&p, 0, root) < 0) {
		*error_r = p.error != NULL ? p.error : "Invalid search key";
		return -1;
	}
	root->cost = key_cost(root);
	order_or(root);
	*root_r = root;
	return 0;
}
