/* Unit tests for the framer: literal acceptance and refusal before any
 * byte of the literal is read, the per-command literal budget asked of
 * the command table by name, line limits with the rest of the line
 * dropped, SASL raw lines, and no allocation for refused literals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/imap-private.h"

struct policy {
	char last_name[32];
	unsigned calls;
};

/* BIG gets 100 bytes of literals, anything else 10. */
static uint64_t
policy(void *ctx, const char *name, size_t len)
{
	struct policy *p = ctx;

	p->calls++;
	snprintf(p->last_name, sizeof(p->last_name), "%.*s", (int)len, name);
	return len == 3 && memcmp(name, "BIG", 3) == 0 ? 100 : 10;
}

struct frame_case {
	const char *name;
	const char *input;
	enum imap_frame_event event; /* the first event other than NEED_MORE */
	size_t consumed;             /* bytes consumed when it happened */
	const char *policy_name;     /* NULL: policy never asked */
};

static const struct frame_case cases[] = {
	{"plain_command", "a NOOP\r\nb", IMAP_FRAME_COMMAND, 8, NULL},
	{"bare_lf", "a NOOP\nb", IMAP_FRAME_COMMAND, 7, NULL},
	{"sync_literal_accepted", "a X {10}\r\n0123456789", IMAP_FRAME_CONTINUE,
	 10, "X"},
	{"sync_literal_refused_before_data", "a X {11}\r\n01234567890",
	 IMAP_FRAME_LITERAL_REFUSED, 10, "X"},
	{"nonsync_literal_read", "a X {10+}\r\n0123456789\r\nb",
	 IMAP_FRAME_COMMAND, 23, "X"},
	{"nonsync_literal_too_big_fatal", "a X {11+}\r\n0123456789",
	 IMAP_FRAME_FATAL_LITERAL, 11, "X"},
	{"huge_literal_refused_unread", "a X {999999999999}\r\nxxxx",
	 IMAP_FRAME_LITERAL_REFUSED, 20, "X"},
	{"huge_nonsync_literal_fatal", "a X {999999999999+}\r\nxxxx",
	 IMAP_FRAME_FATAL_LITERAL, 21, "X"},
	{"literal_budget_by_command_name", "a BIG {100}\r\n",
	 IMAP_FRAME_CONTINUE, 13, "BIG"},
	{"literal_budget_by_uid_subcommand", "a UID BIG {100}\r\n",
	 IMAP_FRAME_CONTINUE, 17, "BIG"},
	{"literals_share_budget", "a X {6+}\r\n012345 {5}\r\n",
	 IMAP_FRAME_LITERAL_REFUSED, 22, "X"},
	{"marker_needs_digits", "a X {}\r\n", IMAP_FRAME_COMMAND, 8, NULL},
	{"marker_needs_open_brace", "a X 5}\r\n", IMAP_FRAME_COMMAND, 8, NULL},
	{"marker_plus_only", "a X {+}\r\n", IMAP_FRAME_COMMAND, 9, NULL},
	{"zero_literal", "a X {0}\r\n\r\n", IMAP_FRAME_CONTINUE, 9, "X"},
	{"line_too_long", "a X 0123456789012345678901234567890123456789\r\nb",
	 IMAP_FRAME_LINE_TOO_LONG, 46, NULL},
	{"line_too_long_sync_marker_ends",
	 "a X 0123456789012345678901234567890123456789 {5}\r\nb",
	 IMAP_FRAME_LINE_TOO_LONG, 50, NULL},
	{"line_too_long_nonsync_skipped",
	 "a X 0123456789012345678901234567890123456789 {5+}\r\n"
	 "ab\r\nc\r\nd",
	 IMAP_FRAME_LINE_TOO_LONG, 58, "X"},
	{"line_too_long_nonsync_too_big",
	 "a X 0123456789012345678901234567890123456789 {50+}\r\n",
	 IMAP_FRAME_FATAL_LITERAL, 52, "X"},
};

static void
frame_events(void **state)
{
	struct imap_limits lim;
	size_t i;

	(void)state;
	imap_limits_default(&lim);
	lim.max_line_length = 40;
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct frame_case *c = &cases[i];
		struct policy p = {"", 0};
		struct imap_frame f;
		enum imap_frame_event ev = IMAP_FRAME_NEED_MORE;
		size_t len = strlen(c->input), pos = 0;

		imap_frame_init(&f, &lim, policy, &p);
		/* One byte at a time, so "consumed" is exact. */
		while (pos < len && ev == IMAP_FRAME_NEED_MORE)
			pos += imap_frame_feed(&f, c->input + pos, 1, &ev);
		if (ev != c->event || pos != c->consumed)
			fail_msg("%s: event %d after %zu bytes, expected %d "
				 "after %zu",
				 c->name, (int)ev, pos, (int)c->event,
				 c->consumed);
		if (c->policy_name == NULL
			    ? p.calls != 0
			    : strcmp(p.last_name, c->policy_name) != 0)
			fail_msg("%s: policy asked %u times, last for %s",
				 c->name, p.calls, p.last_name);
		imap_frame_deinit(&f);
	}
}

static void
refused_literal_allocates_nothing(void **state)
{
	struct imap_limits lim;
	struct imap_frame f;
	struct policy p = {"", 0};
	enum imap_frame_event ev;
	static const char in[] = "a X {99999999}\r\n";

	(void)state;
	imap_limits_default(&lim);
	imap_frame_init(&f, &lim, policy, &p);
	assert_int_equal(imap_frame_feed(&f, in, sizeof(in) - 1, &ev),
			 sizeof(in) - 1);
	assert_int_equal(ev, IMAP_FRAME_LITERAL_REFUSED);
	assert_int_equal(f.refused_size, 99999999);
	assert_true(f.cap <= 1024);
	imap_frame_deinit(&f);
}

static void
frame_tag_of_dropped_command(void **state)
{
	struct imap_limits lim;
	struct imap_frame f;
	struct policy p = {"", 0};
	enum imap_frame_event ev;
	const char *tag;
	size_t len;
	static const char in[] =
		"tag1 X 0123456789012345678901234567890123\r\n";

	(void)state;
	imap_limits_default(&lim);
	lim.max_line_length = 20;
	imap_frame_init(&f, &lim, policy, &p);
	assert_int_equal(imap_frame_feed(&f, in, sizeof(in) - 1, &ev),
			 sizeof(in) - 1);
	assert_int_equal(ev, IMAP_FRAME_LINE_TOO_LONG);
	tag = imap_frame_tag(&f, &len);
	assert_non_null(tag);
	assert_int_equal(len, 4);
	assert_memory_equal(tag, "tag1", 4);
	imap_frame_reset(&f);
	assert_int_equal(imap_frame_feed(&f, "+x NOOP\r\n", 9, &ev), 9);
	assert_null(imap_frame_tag(&f, &len));
	imap_frame_deinit(&f);
}

static void
raw_line_for_sasl(void **state)
{
	struct imap_limits lim;
	struct imap_frame f;
	struct policy p = {"", 0};
	enum imap_frame_event ev;
	const char *line;
	size_t len;

	(void)state;
	imap_limits_default(&lim);
	lim.max_line_length = 10;
	imap_frame_init(&f, &lim, policy, &p);
	imap_frame_expect_raw_line(&f);
	/* A literal marker means nothing in a SASL line. */
	assert_int_equal(imap_frame_feed(&f, "ab{3}\r\nc", 8, &ev), 7);
	assert_int_equal(ev, IMAP_FRAME_RAW_LINE);
	line = imap_frame_command(&f, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(line, "ab{3}", 5);
	imap_frame_expect_raw_line(&f);
	assert_int_equal(imap_frame_feed(&f, "0123456789abc\r\nx", 16, &ev),
			 15);
	assert_int_equal(ev, IMAP_FRAME_LINE_TOO_LONG);
	/* After an event the next feed starts a new command. */
	assert_int_equal(imap_frame_feed(&f, "x NOOP\r\n", 8, &ev), 8);
	assert_int_equal(ev, IMAP_FRAME_COMMAND);
	assert_int_equal(p.calls, 0);
	imap_frame_deinit(&f);
}

static void
command_bytes_have_crlf_and_literals(void **state)
{
	struct imap_limits lim;
	struct imap_frame f;
	struct policy p = {"", 0};
	enum imap_frame_event ev;
	const char *data;
	size_t len, used;
	static const char in[] = "a X {2}\nab\n";

	(void)state;
	imap_limits_default(&lim);
	imap_frame_init(&f, &lim, policy, &p);
	used = imap_frame_feed(&f, in, sizeof(in) - 1, &ev);
	assert_int_equal(ev, IMAP_FRAME_CONTINUE);
	used += imap_frame_feed(&f, in + used, sizeof(in) - 1 - used, &ev);
	assert_int_equal(ev, IMAP_FRAME_COMMAND);
	assert_int_equal(used, sizeof(in) - 1);
	data = imap_frame_command(&f, &len);
	assert_int_equal(len, 13);
	assert_memory_equal(data, "a X {2}\r\nab\r\n", 13);
	imap_frame_deinit(&f);
}

/* ---- Streamed literals (APPEND) ---- */

struct streamer {
	struct buf streamed; /* bytes handed to the data hook */
	struct buf trace;    /* events, and each command's bytes */
};

/* A 7-byte literal is streamed, a 9-byte one refused, others kept. */
static enum imap_frame_lit_action
stream_start(void *ctx, const char *cmd, size_t marker, uint64_t size,
	     bool nonsync)
{
	struct streamer *st = ctx;

	(void)nonsync;
	assert_true(marker > 0 && cmd[marker] == '{');
	if (size == 7)
		return IMAP_FRAME_LIT_STREAM;
	if (size == 9) {
		assert_int_equal(buf_puts(&st->trace, "[refused]"), 0);
		return IMAP_FRAME_LIT_REFUSE;
	}
	return IMAP_FRAME_LIT_KEEP;
}

static void
stream_data(void *ctx, const char *data, size_t len)
{
	struct streamer *st = ctx;

	assert_true(len > 0);
	assert_int_equal(buf_append(&st->streamed, data, len), 0);
}

static uint64_t
stream_policy(void *ctx, const char *name, size_t len)
{
	(void)ctx;
	(void)name;
	(void)len;
	return 100;
}

struct stream_case {
	const char *name;
	const char *input;
	const char *trace;    /* C continue, D dropped, <command> */
	const char *streamed; /* bytes the data hook got */
};

static const struct stream_case stream_cases[] = {
	{"sync_streamed_leaves_empty_literal", "a BIG {7}\r\nabcdefg\r\n",
	 "C<a BIG {0}\r\n\r\n>", "abcdefg"},
	{"nonsync_streamed_rest_of_line_kept", "a BIG x {7+}\r\nabcdefg y\r\n",
	 "<a BIG x {0}\r\n y\r\n>", "abcdefg"},
	{"kept_literal_in_buffer", "a BIG {3}\r\nabc\r\n",
	 "C<a BIG {3}\r\nabc\r\n>", ""},
	{"kept_then_streamed", "a BIG {3}\r\nabc {7}\r\nabcdefg\r\n",
	 "CC<a BIG {3}\r\nabc {0}\r\n\r\n>", "abcdefg"},
	{"sync_refused_ends_command", "a BIG {9}\r\nb NOOP\r\n",
	 "[refused]D<b NOOP\r\n>", ""},
	{"nonsync_refused_skips_literal_and_line",
	 "a BIG {9+}\r\n123456789 rest {2+}\r\nxy\r\nb NOOP\r\n",
	 "[refused]D<b NOOP\r\n>", ""},
	{"literal_bytes_never_read_as_command", "a BIG {7+}\r\nb NOOP\n\r\n",
	 "<a BIG {0}\r\n\r\n>", "b NOOP\n"},
};

/* Each case fed in chunks of every size from 1 to its length: the trace
 * and the streamed bytes never depend on the cut, and the command
 * buffer never holds a streamed byte. */
static void
stream_hooks(void **state)
{
	struct imap_limits lim;
	size_t i, chunk;

	(void)state;
	imap_limits_default(&lim);
	for (i = 0; i < sizeof(stream_cases) / sizeof(*stream_cases); i++) {
		const struct stream_case *c = &stream_cases[i];
		size_t len = strlen(c->input);

		for (chunk = 1; chunk <= len; chunk++) {
			struct streamer st;
			struct imap_frame f;
			size_t pos = 0;

			buf_init(&st.streamed, 0);
			buf_init(&st.trace, 0);
			imap_frame_init(&f, &lim, stream_policy, &st);
			imap_frame_set_stream(&f, stream_start, stream_data);
			while (pos < len) {
				size_t n =
					chunk < len - pos ? chunk : len - pos;
				size_t used = 0;

				while (used < n) {
					enum imap_frame_event ev;
					const char *cmd;
					size_t clen;

					used += imap_frame_feed(
						&f, c->input + pos + used,
						n - used, &ev);
					if (ev == IMAP_FRAME_CONTINUE)
						(void)buf_putc(&st.trace, 'C');
					else if (ev == IMAP_FRAME_DROPPED)
						(void)buf_putc(&st.trace, 'D');
					else if (ev == IMAP_FRAME_COMMAND) {
						cmd = imap_frame_command(&f,
									 &clen);
						(void)buf_putc(&st.trace, '<');
						(void)buf_append(&st.trace, cmd,
								 clen);
						(void)buf_putc(&st.trace, '>');
					} else if (ev != IMAP_FRAME_NEED_MORE)
						fail_msg("%s: event %d",
							 c->name, (int)ev);
				}
				pos += n;
			}
			if (strcmp(buf_cstr(&st.trace), c->trace) != 0 ||
			    strcmp(buf_cstr(&st.streamed), c->streamed) != 0)
				fail_msg("%s (chunk %zu): trace %s streamed %s",
					 c->name, chunk, buf_cstr(&st.trace),
					 buf_cstr(&st.streamed));
			imap_frame_deinit(&f);
			buf_free(&st.streamed);
			buf_free(&st.trace);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frame_events),
		cmocka_unit_test(refused_literal_allocates_nothing),
		cmocka_unit_test(frame_tag_of_dropped_command),
		cmocka_unit_test(raw_line_for_sasl),
		cmocka_unit_test(command_bytes_have_crlf_and_literals),
		cmocka_unit_test(stream_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
