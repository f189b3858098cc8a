/* Unit tests for lib/: buffers with limits, the arena, strict numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/num.h"

static void
buf_append_past_max_fails_unchanged(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "abcdef"), 0);
	assert_int_equal(buf_puts(&b, "xyz"), -1);
	assert_int_equal(b.len, 6);
	assert_string_equal(buf_cstr(&b), "abcdef");
	assert_int_equal(buf_printf(&b, "%d", 12), 0);
	assert_int_equal(buf_printf(&b, "%d", 1), -1);
	assert_string_equal(buf_cstr(&b), "abcdef12");
	buf_consume(&b, 3);
	assert_string_equal(buf_cstr(&b), "def12");
	buf_free(&b);
	assert_string_equal(buf_cstr(&b), "");
}

static void
buf_grows_past_first_chunk(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 10000);
	assert_int_equal(b.data[9999], 'a' + 9999 % 26);
	assert_int_equal(b.data[10000], '\0');
	buf_free(&b);
}

static void
arena_mark_rewind_reuses_memory(void **state)
{
	struct arena *a = arena_new();
	struct arena_mark m;
	char *p, *q;
	int i;

	(void)state;
	p = arena_strdup(a, "keep");
	m = arena_mark(a);
	for (i = 0; i < 1000; i++)
		(void)arena_alloc(a, 1000);
	arena_rewind(a, m);
	q = arena_printf(a, "%s-%d", p, 7);
	assert_string_equal(p, "keep");
	assert_string_equal(q, "keep-7");
	assert_true((uintptr_t)arena_alloc(a, 3) % sizeof(void *) == 0);
	arena_reset(a);
	arena_free(&a);
	assert_null(a);
	arena_free(&a);
}

struct num_case {
	const char *in;
	int ret;
	uint32_t val;
};

static void
num_u32_strict(void **state)
{
	static const struct num_case cases[] = {
		{"0", 0, 0},
		{"4294967295", 0, 4294967295u},
		{"4294967296", -1, 0},
		{"99999999999999999999999", -1, 0},
		{"", -1, 0},
		{"-1", -1, 0},
		{"+1", -1, 0},
		{" 1", -1, 0},
		{"1 ", -1, 0},
		{"12a", -1, 0},
		{"007", 0, 7},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t v = 12345;
		int r = num_parse_u32(cases[i].in, strlen(cases[i].in), &v);

		if (r != cases[i].ret || (r == 0 && v != cases[i].val))
			fail_msg("case \"%s\": ret %d val %u", cases[i].in, r,
				 v);
	}
}

static void
num_size_and_duration_suffixes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(num_parse_size("64M", &v), 0);
	assert_true(v == 64ull * 1024 * 1024);
	assert_int_equal(num_parse_size("12", &v), 0);
	assert_true(v == 12);
	assert_int_equal(num_parse_size("M", &v), -1);
	assert_int_equal(num_parse_size("99999999999999999999G", &v), -1);
	assert_int_equal(num_parse_duration("30m", &v), 0);
	assert_true(v == 1800);
	assert_int_equal(num_parse_duration("2x", &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_append_past_max_fails_unchanged),
		cmocka_unit_test(buf_grows_past_first_chunk),
		cmocka_unit_test(arena_mark_rewind_reuses_memory),
		cmocka_unit_test(num_u32_strict),
		cmocka_unit_test(num_size_and_duration_suffixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
