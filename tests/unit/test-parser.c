/* Unit tests for the command parser: valid forms and a catalogue of
 * malformed ones. Each input goes through the framer whole, one byte at a
 * time and split at every offset; each run must stay NEED_MORE until the
 * end and give the same tree (or the same BAD) at the end. Also the typed
 * getters of args.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/imap-private.h"

/* Render the tree: atoms as a:x, quoted as q:x, literals as l:x (NUL, CR
 * and LF as \0 \r \n), lists in parentheses. */
static void
dump_str(struct buf *b, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\0')
			buf_puts(b, "\\0");
		else if (s[i] == '\r')
			buf_puts(b, "\\r");
		else if (s[i] == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, s[i]);
	}
}

static void
dump_args(struct buf *b, const struct imap_arg *args, unsigned count)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		if (i > 0)
			buf_putc(b, ' ');
		switch (a->type) {
		case IMAP_ARG_ATOM:
			buf_puts(b, "a:");
			break;
		case IMAP_ARG_QUOTED:
			buf_puts(b, "q:");
			break;
		case IMAP_ARG_LITERAL:
			buf_puts(b, "l:");
			break;
		case IMAP_ARG_LIST:
			buf_putc(b, '(');
			dump_args(b, a->list, a->count);
			buf_putc(b, ')');
			continue;
		}
		dump_str(b, a->str, a->len);
	}
}

static uint64_t
limit_1k(void *ctx, const char *name, size_t len)
{
	(void)ctx;
	(void)name;
	(void)len;
	return 1024;
}

struct parse_case {
	const char *name;
	const char *input;
	size_t len;           /* 0: strlen */
	const char *expected; /* "tag|NAME|args" or "BAD tag|text" */
};

#define BIN(s) s, sizeof(s) - 1

static const struct parse_case cases[] = {
	/* Valid forms. */
	{"no_arguments", "a NOOP\r\n", 0, "a|NOOP|"},
	{"name_upper_cased", "a1 noOp\r\n", 0, "a1|NOOP|"},
	{"tag_with_specials", "A.1-]x NOOP\r\n", 0, "A.1-]x|NOOP|"},
	{"atoms", "a LOGIN alice secret\r\n", 0, "a|LOGIN|a:alice a:secret"},
	{"quoted_with_escapes", "a X \"a\\\\b\\\"c\"\r\n", 0, "a|X|q:a\\b\"c"},
	{"empty_quoted", "a X \"\"\r\n", 0, "a|X|q:"},
	{"quoted_utf8", "a X \"\xc3\xa9\"\r\n", 0, "a|X|q:\xc3\xa9"},
	{"quoted_with_parens_and_braces", "a X \"(a) {3}\"\r\n", 0,
	 "a|X|q:(a) {3}"},
	{"sync_literal", "a X {3}\r\nabc\r\n", 0, "a|X|l:abc"},
	{"nonsync_literal", "a X {3+}\r\nabc\r\n", 0, "a|X|l:abc"},
	{"literal_then_more", "a X {3}\r\nabc def\r\n", 0, "a|X|l:abc a:def"},
	{"literal_holding_crlf", "a X {4}\r\n\r\n\r\n\r\n", 0,
	 "a|X|l:\\r\\n\\r\\n"},
	{"literal_holding_marker", "a X {5}\r\n{99}\r\r\n", 0, "a|X|l:{99}\\r"},
	{"literal_in_list", "a X ({3}\r\nabc b)\r\n", 0, "a|X|(l:abc a:b)"},
	{"empty_literal", "a X {0}\r\n\r\n", 0, "a|X|l:"},
	{"literal_with_nul_kept", BIN("a X {3}\r\na\0b\r\n"), "a|X|l:a\\0b"},
	{"two_literals", "a LOGIN {5}\r\nalice {6+}\r\nsecret\r\n", 0,
	 "a|LOGIN|l:alice l:secret"},
	{"nested_lists", "a X (a (b c) ())\r\n", 0, "a|X|(a:a (a:b a:c) ())"},
	{"nil_is_an_atom", "a X NIL nil\r\n", 0, "a|X|a:NIL a:nil"},
	{"sequence_set_token", "a X 1:*,3 *:4\r\n", 0, "a|X|a:1:*,3 a:*:4"},
	{"flag_list", "a X (\\Seen \\Deleted $Junk)\r\n", 0,
	 "a|X|(a:\\Seen a:\\Deleted a:$Junk)"},
	{"list_wildcards", "a X \"\" %/*\r\n", 0, "a|X|q: a:%/*"},
	{"fetch_section_with_spaces",
	 "a FETCH 1 (BODY[HEADER.FIELDS (From To)]<0.100> UID)\r\n", 0,
	 "a|FETCH|a:1 (a:BODY[HEADER.FIELDS (From To)]<0.100> a:UID)"},
	{"fetch_section_literal_names",
	 "a FETCH 1 BODY[HEADER.FIELDS ({4}\r\nFrom {7+}\r\nSubject)]\r\n", 0,
	 "a|FETCH|a:1 a:BODY[HEADER.FIELDS (\"From\" \"Subject\")]"},
	{"fetch_section_literal_escaped",
	 "a FETCH 1 BODY[HEADER.FIELDS ({3}\r\na\"b)]\r\n", 0,
	 "a|FETCH|a:1 a:BODY[HEADER.FIELDS (\"a\\\"b\")]"},
	{"fetch_section_literal_holding_bracket",
	 "a FETCH 1 BODY[HEADER.FIELDS ({3}\r\na]b)]\r\n", 0,
	 "a|FETCH|a:1 a:BODY[HEADER.FIELDS (\"a]b\")]"},
	{"fetch_section_literal_not_a_name",
	 "a FETCH 1 BODY[HEADER.FIELDS ({3}\r\na b)]\r\n", 0,
	 "BAD a|Invalid header field name"},
	{"fetch_section_plain", "a FETCH 1 BODY.PEEK[1.2.MIME]\r\n", 0,
	 "a|FETCH|a:1 a:BODY.PEEK[1.2.MIME]"},
	{"unclosed_bracket_is_a_char", "a X foo[bar\r\n", 0, "a|X|a:foo[bar"},
	{"first_close_bracket_closes", "a X [a [b] c]\r\n", 0,
	 "a|X|a:[a [b] a:c]"},
	{"many_unclosed_brackets", "a X [[[ [[ [\r\n", 0, "a|X|a:[[[ a:[[ a:["},
	{"resp_special_in_atom", "a X a]b\r\n", 0, "a|X|a:a]b"},
	{"date_time", "a X \"17-Jul-1996 02:44:25 -0700\"\r\n", 0,
	 "a|X|q:17-Jul-1996 02:44:25 -0700"},
	{"bare_lf_normalised", "a X y\n", 0, "a|X|a:y"},
	{"number_like_atom", "a X 4294967296\r\n", 0, "a|X|a:4294967296"},
	/* Malformed. */
	{"empty_line", "\r\n", 0, "BAD *|Invalid tag"},
	{"leading_space", " NOOP\r\n", 0, "BAD *|Invalid tag"},
	{"plus_in_tag", "a+ NOOP\r\n", 0, "BAD *|Invalid tag"},
	{"star_in_tag", "a* NOOP\r\n", 0, "BAD *|Invalid tag"},
	{"quote_in_tag", "a\" NOOP\r\n", 0, "BAD *|Invalid tag"},
	{"tag_only", "a\r\n", 0, "BAD a|Missing command"},
	{"tag_space_only", "a \r\n", 0, "BAD a|Missing command"},
	{"double_space", "a  NOOP\r\n", 0, "BAD a|Missing command"},
	{"ctl_in_name", "a NO\x01OP\r\n", 0, "BAD a|Invalid command name"},
	{"double_space_between_args", "a X a  b\r\n", 0,
	 "BAD a|Unexpected space"},
	{"trailing_space", "a X a \r\n", 0, "BAD a|Trailing space"},
	{"name_trailing_space", "a NOOP \r\n", 0, "BAD a|Trailing space"},
	{"unclosed_list", "a X (a\r\n", 0, "BAD a|Unbalanced parentheses"},
	{"unclosed_inner_list", "a X (a (b)\r\n", 0,
	 "BAD a|Unbalanced parentheses"},
	{"stray_close", "a X a)\r\n", 0, "BAD a|Unbalanced parentheses"},
	{"only_close", "a X )\r\n", 0, "BAD a|Unbalanced parentheses"},
	{"space_after_open", "a X ( a)\r\n", 0, "BAD a|Unexpected space"},
	{"space_before_close", "a X (a )\r\n", 0, "BAD a|Trailing space"},
	{"list_glued_to_atom", "a X (a)b\r\n", 0,
	 "BAD a|Missing space between arguments"},
	{"unterminated_quoted", "a X \"abc\r\n", 0,
	 "BAD a|Unterminated quoted string"},
	{"bad_escape", "a X \"a\\x\"\r\n", 0,
	 "BAD a|Invalid escape in quoted string"},
	{"nul_in_quoted", BIN("a X \"a\0b\"\r\n"),
	 "BAD a|NUL byte in quoted string"},
	{"cr_in_quoted", "a X \"a\rb\"\r\n", 0,
	 "BAD a|Unterminated quoted string"},
	{"quote_glued_to_atom", "a X a\"b\"\r\n", 0,
	 "BAD a|Missing space between arguments"},
	{"literal_marker_not_at_end", "a X {3}x\r\n", 0,
	 "BAD a|Missing CRLF after literal size"},
	{"empty_literal_size", "a X {}\r\n", 0, "BAD a|Invalid literal size"},
	{"negative_literal_size", "a X {-1}\r\n", 0,
	 "BAD a|Invalid literal size"},
	{"literal_glued_to_atom", "a X {1}\r\nab\r\n", 0,
	 "BAD a|Missing space between arguments"},
	{"too_deep",
	 "a X (((((((((((((((((((((((((((((((((x)))))))))))))))))"
	 ")))))))))))))))))\r\n",
	 0, "BAD a|Too deeply nested parentheses"},
	{"eight_bit_atom", "a X \xc3\xa9\r\n", 0,
	 "BAD a|8-bit character outside a string"},
	{"ctl_in_args", "a X \x01\r\n", 0, "BAD a|Missing argument"},
	{"del_in_atom", "a X a\x7f\r\n", 0,
	 "BAD a|Missing space between arguments"},
	{"stray_cr", "a X a\rb\r\n", 0,
	 "BAD a|Missing space between arguments"},
};

/* Feed the framer in pieces (step 0: whole; split: first piece length),
 * checking no command completes early, then parse. */
static void
run(const struct parse_case *c, size_t step, size_t split, struct buf *res)
{
	struct imap_limits lim;
	struct imap_frame f;
	struct arena *a = arena_new();
	size_t len = c->len != 0 ? c->len : strlen(c->input), pos = 0;
	enum imap_frame_event ev = IMAP_FRAME_NEED_MORE;
	struct imap_command cmd;
	const char *data, *error;
	size_t dlen;

	imap_limits_default(&lim);
	imap_frame_init(&f, &lim, limit_1k, NULL);
	while (pos < len) {
		size_t n = len - pos, used;

		if (step != 0 && n > step)
			n = step;
		if (split != 0 && pos == 0)
			n = split;
		while (n > 0) {
			used = imap_frame_feed(&f, c->input + pos, n, &ev);
			pos += used;
			n -= used;
			if (ev == IMAP_FRAME_COMMAND && pos != len)
				fail_msg("%s: command complete at %zu of %zu",
					 c->name, pos, len);
			if (ev != IMAP_FRAME_NEED_MORE &&
			    ev != IMAP_FRAME_CONTINUE &&
			    ev != IMAP_FRAME_COMMAND)
				fail_msg("%s: frame event %d", c->name,
					 (int)ev);
		}
	}
	if (ev != IMAP_FRAME_COMMAND)
		fail_msg("%s: no command at the end", c->name);
	data = imap_frame_command(&f, &dlen);
	buf_reset(res);
	if (imap_parse_command(a, &lim, data, dlen, &cmd, &error) ==
	    IMAP_PARSE_OK) {
		buf_printf(res, "%s|%s|", cmd.tag, cmd.name);
		dump_args(res, cmd.args, cmd.count);
	} else {
		buf_printf(res, "BAD %s|%s", cmd.tag != NULL ? cmd.tag : "*",
			   error);
	}
	imap_frame_deinit(&f);
	arena_free(&a);
}

static void
check(const struct parse_case *c, size_t step, size_t split)
{
	struct buf res;

	buf_init(&res, 0);
	run(c, step, split, &res);
	if (strcmp(buf_cstr(&res), c->expected) != 0)
		fail_msg("%s (step %zu, split %zu): got\n  %s\nexpected\n  %s",
			 c->name, step, split, buf_cstr(&res), c->expected);
	buf_free(&res);
}

static void
parser_cases_whole_bytewise_and_split(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		size_t len = cases[i].len != 0 ? cases[i].len
					       : strlen(cases[i].input);

		check(&cases[i], 0, 0);
		check(&cases[i], 1, 0);
		for (k = 1; k < len; k++)
			check(&cases[i], 0, k);
	}
}

/* Parse one command line directly (no literals) for the getter tests. */
static struct imap_arg *
parse_args(struct arena *a, const char *line, unsigned *count_r)
{
	struct imap_limits lim;
	struct imap_command cmd;
	const char *error;

	imap_limits_default(&lim);
	if (imap_parse_command(a, &lim, line, strlen(line), &cmd, &error) !=
	    IMAP_PARSE_OK)
		fail_msg("%s: %s", line, error);
	*count_r = cmd.count;
	return cmd.args;
}

static void
getters_numbers(void **state)
{
	struct arena *a = arena_new();
	const char *error;
	uint32_t n;
	unsigned count;
	struct imap_arg *args = parse_args(a,
					   "a X 0 4294967295 4294967296 01 "
					   "\"5\" -1 99999999999999999999\r\n",
					   &count);

	(void)state;
	assert_int_equal(count, 7);
	assert_int_equal(imap_arg_get_number(&args[0], &n, &error), 0);
	assert_int_equal(n, 0);
	assert_int_equal(imap_arg_get_nz_number(&args[0], &n, &error), -1);
	assert_int_equal(imap_arg_get_number(&args[1], &n, &error), 0);
	assert_int_equal(n, 4294967295u);
	assert_int_equal(imap_arg_get_number(&args[2], &n, &error), -1);
	assert_string_equal(error, "Invalid number (0 to 4294967295)");
	assert_int_equal(imap_arg_get_nz_number(&args[3], &n, &error), -1);
	assert_int_equal(imap_arg_get_number(&args[4], &n, &error), -1);
	assert_int_equal(imap_arg_get_number(&args[5], &n, &error), -1);
	assert_int_equal(imap_arg_get_number(&args[6], &n, &error), -1);
	arena_free(&a);
}

static void
getters_seqset_refuses_zero(void **state)
{
	struct arena *a = arena_new();
	struct imap_seqset set;
	const char *error;
	unsigned count;
	struct imap_arg *args =
		parse_args(a, "a X 1:* 0 1,0 4294967296 \"1\"\r\n", &count);

	(void)state;
	assert_int_equal(imap_arg_get_seqset(a, &args[0], &set, &error), 0);
	assert_int_equal(imap_arg_get_seqset(a, &args[1], &set, &error), -1);
	assert_string_equal(error, "Invalid sequence set");
	assert_int_equal(imap_arg_get_seqset(a, &args[2], &set, &error), -1);
	assert_int_equal(imap_arg_get_seqset(a, &args[3], &set, &error), -1);
	assert_int_equal(imap_arg_get_seqset(a, &args[4], &set, &error), -1);
	arena_free(&a);
}

static void
getters_strings(void **state)
{
	struct arena *a = arena_new();
	const char *s, *error;
	size_t len;
	unsigned count;
	struct imap_arg *args = parse_args(
		a, "a X abc \"q\" NIL a]b a%b \\Seen (x) a[b\r\n", &count);

	(void)state;
	assert_int_equal(imap_arg_get_astring(&args[0], &s, &len, &error), 0);
	assert_string_equal(s, "abc");
	assert_int_equal(imap_arg_get_string(&args[0], &s, &len, &error), -1);
	assert_int_equal(imap_arg_get_string(&args[1], &s, &len, &error), 0);
	assert_int_equal(imap_arg_get_nstring(&args[2], &s, &len, &error), 0);
	assert_null(s);
	assert_int_equal(imap_arg_get_nstring(&args[1], &s, &len, &error), 0);
	assert_string_equal(s, "q");
	assert_true(imap_arg_is_nil(&args[2]));
	assert_int_equal(imap_arg_get_astring(&args[3], &s, &len, &error), 0);
	assert_int_equal(imap_arg_get_astring(&args[4], &s, &len, &error), -1);
	assert_int_equal(imap_arg_get_astring(&args[5], &s, &len, &error), -1);
	assert_int_equal(imap_arg_get_astring(&args[6], &s, &len, &error), -1);
	assert_int_equal(imap_arg_get_astring(&args[7], &s, &len, &error), 0);
	arena_free(&a);
}

static void
getters_mailbox(void **state)
{
	struct arena *a = arena_new();
	const char *name, *error;
	unsigned count;
	struct imap_arg *args = parse_args(
		a, "a X inbox InBoX Entw&APw-rfe \"&AGE-\" INBOX.x \"\" &\r\n",
		&count);

	(void)state;
	assert_int_equal(imap_arg_get_mailbox(a, &args[0], &name, &error), 0);
	assert_string_equal(name, "INBOX");
	assert_int_equal(imap_arg_get_mailbox(a, &args[1], &name, &error), 0);
	assert_string_equal(name, "INBOX");
	assert_int_equal(imap_arg_get_mailbox(a, &args[2], &name, &error), 0);
	assert_string_equal(name, "Entw\xc3\xbcrfe");
	assert_int_equal(imap_arg_get_mailbox(a, &args[3], &name, &error), -1);
	assert_string_equal(error, "Invalid modified UTF-7 in mailbox name");
	assert_int_equal(imap_arg_get_mailbox(a, &args[4], &name, &error), 0);
	assert_string_equal(name, "INBOX.x");
	assert_int_equal(imap_arg_get_mailbox(a, &args[5], &name, &error), 0);
	assert_string_equal(name, "");
	assert_int_equal(imap_arg_get_mailbox(a, &args[6], &name, &error), -1);
	arena_free(&a);
}

static void
getters_mailbox_nul_literal_is_bad(void **state)
{
	struct arena *a = arena_new();
	struct imap_limits lim;
	struct imap_command cmd;
	const char *name, *error;
	static const char line[] = "a X {7}\r\nINBOX\0x\r\n";

	(void)state;
	imap_limits_default(&lim);
	assert_int_equal(imap_parse_command(a, &lim, line, sizeof(line) - 1,
					    &cmd, &error),
			 IMAP_PARSE_OK);
	assert_int_equal(imap_arg_get_mailbox(a, &cmd.args[0], &name, &error),
			 -1);
	assert_string_equal(error, "NUL byte in string");
	arena_free(&a);
}

static void
getters_datetime(void **state)
{
	struct arena *a = arena_new();
	const char *error;
	time_t t;
	int tz;
	unsigned count;
	struct imap_arg *args = parse_args(
		a,
		"a X \"17-Jul-1996 02:44:25 -0700\" \" 1-Jan-1970 00:00:00 "
		"+0000\" \"29-Feb-2023 00:00:00 +0000\" \"29-Feb-2024 "
		"23:59:60 +0130\" \"17-Jul-1996 24:00:00 +0000\" 17-Jul-1996 "
		"\"1-jan-2000\" 32-Jan-2000\r\n",
		&count);

	(void)state;
	assert_int_equal(imap_arg_get_datetime(&args[0], &t, &tz, &error), 0);
	assert_int_equal(t, 837596665);
	assert_int_equal(tz, -420);
	assert_int_equal(imap_arg_get_datetime(&args[1], &t, &tz, &error), 0);
	assert_int_equal(t, 0);
	assert_int_equal(imap_arg_get_datetime(&args[2], &t, &tz, &error), -1);
	assert_int_equal(imap_arg_get_datetime(&args[3], &t, &tz, &error), 0);
	assert_int_equal(tz, 90);
	assert_int_equal(imap_arg_get_datetime(&args[4], &t, &tz, &error), -1);
	assert_int_equal(imap_arg_get_date(&args[5], &t, &error), 0);
	assert_int_equal(t, 837561600);
	assert_int_equal(imap_arg_get_date(&args[6], &t, &error), 0);
	assert_int_equal(t, 946684800);
	assert_int_equal(imap_arg_get_date(&args[7], &t, &error), -1);
	arena_free(&a);
}

static void
getters_flag_list(void **state)
{
	struct arena *a = arena_new();
	struct imap_flags flags;
	const char *error;
	unsigned count;
	struct imap_arg *args = parse_args(
		a,
		"a X (\\Seen \\deleted $Junk) () (\\Recent) (\\Foo) (\"x\") "
		"\\Seen (a]b)\r\n",
		&count);

	(void)state;
	assert_int_equal(imap_arg_get_flag_list(a, &args[0], &flags, &error),
			 0);
	assert_int_equal(flags.system, IMAP_FLAG_SEEN | IMAP_FLAG_DELETED);
	assert_int_equal(flags.keyword_count, 1);
	assert_string_equal(flags.keywords[0], "$Junk");
	assert_int_equal(imap_arg_get_flag_list(a, &args[1], &flags, &error),
			 0);
	assert_int_equal(flags.system, 0);
	assert_int_equal(imap_arg_get_flag_list(a, &args[2], &flags, &error),
			 -1);
	assert_int_equal(imap_arg_get_flag_list(a, &args[3], &flags, &error),
			 -1);
	assert_int_equal(imap_arg_get_flag_list(a, &args[4], &flags, &error),
			 -1);
	assert_int_equal(imap_arg_get_flag_list(a, &args[5], &flags, &error),
			 -1);
	assert_int_equal(imap_arg_get_flag_list(a, &args[6], &flags, &error),
			 -1);
	arena_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parser_cases_whole_bytewise_and_split),
		cmocka_unit_test(getters_numbers),
		cmocka_unit_test(getters_seqset_refuses_zero),
		cmocka_unit_test(getters_strings),
		cmocka_unit_test(getters_mailbox),
		cmocka_unit_test(getters_mailbox_nul_literal_is_bad),
		cmocka_unit_test(getters_datetime),
		cmocka_unit_test(getters_flag_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
