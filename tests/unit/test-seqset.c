/* Unit tests for sequence sets: the grammar (nz-number, "*", ranges,
 * lists), 32-bit overflow and 0 refused, membership with "*" resolved,
 * and iteration after sorting and merging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/num.h"
#include "protocol/imap-private.h"

static const char *const valid[] = {
	"1",   "*",       "1:*", "*:4", "1,3:5", "4294967295", "1:4294967295",
	"5:1", "1,2,3,4", "*:*",
};

static const char *const invalid[] = {
	"",   "0",   "0:5",  "1:0",   "4294967296", "99999999999999999999",
	"1,", ",1",  "1::2", "1:",    ":1",         "a",
	"01", "1 2", "-1",   "1:*:2", "$",          "1,,2",
	"+1",
};

static void
seqset_grammar(void **state)
{
	struct arena *a = arena_new();
	struct imap_seqset set;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(valid) / sizeof(*valid); i++) {
		if (imap_seqset_parse(a, valid[i], strlen(valid[i]), &set) < 0)
			fail_msg("valid %s refused", valid[i]);
	}
	for (i = 0; i < sizeof(invalid) / sizeof(*invalid); i++) {
		if (imap_seqset_parse(a, invalid[i], strlen(invalid[i]),
				      &set) == 0)
			fail_msg("invalid \"%s\" accepted", invalid[i]);
	}
	arena_free(&a);
}

static const struct {
	const char *set;
	uint32_t star;
	const char *in, *out; /* comma-separated numbers */
} members[] = {
	{"1:*", 10, "1,5,10", "0,11"}, {"*:4", 10, "4,7,10", "3,11"},
	{"*", 7, "7", "6,8"},          {"1,3:5", 10, "1,3,4,5", "2,6"},
	{"5:1", 10, "1,3,5", "6"},     {"4294967295", 3, "4294967295", "3"},
};

static void
check_numbers(const struct imap_seqset *set, uint32_t star, const char *list,
	      bool want, const char *name)
{
	char copy[64], *tok, *save = NULL;

	snprintf(copy, sizeof(copy), "%s", list); /* test data is short */
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		uint32_t n;

		assert_int_equal(num_parse_u32(tok, strlen(tok), &n), 0);
		if (imap_seqset_contains(set, n, star) != want)
			fail_msg("%s: %u %s", name, n,
				 want ? "missing" : "present");
	}
}

static void
seqset_membership_resolves_star(void **state)
{
	struct arena *a = arena_new();
	struct imap_seqset set;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(members) / sizeof(*members); i++) {
		assert_int_equal(imap_seqset_parse(a, members[i].set,
						   strlen(members[i].set),
						   &set),
				 0);
		check_numbers(&set, members[i].star, members[i].in, true,
			      members[i].set);
		check_numbers(&set, members[i].star, members[i].out, false,
			      members[i].set);
	}
	arena_free(&a);
}

static void
seqset_iterates_sorted_merged(void **state)
{
	struct arena *a = arena_new();
	struct imap_seqset set;
	struct imap_seqset_iter it;
	uint32_t n, got[16];
	unsigned count = 0;
	const uint32_t want[] = {1, 2, 3, 4, 5, 7, 8, 9};

	(void)state;
	assert_int_equal(imap_seqset_parse(a, "7:*,3,1:2,4:5,2:3", 17, &set),
			 0);
	imap_seqset_resolve(&set, 9);
	assert_int_equal(set.count, 2);
	assert_int_equal(imap_seqset_max(&set), 9);
	imap_seqset_iter_init(&it, &set);
	while (imap_seqset_iter_next(&it, &n) && count < 16)
		got[count++] = n;
	assert_int_equal(count, 8);
	assert_memory_equal(got, want, sizeof(want));
	arena_free(&a);
}

static void
seqset_iterates_up_to_uint32_max(void **state)
{
	struct arena *a = arena_new();
	struct imap_seqset set;
	struct imap_seqset_iter it;
	uint32_t n = 0;
	unsigned count = 0;

	(void)state;
	assert_int_equal(imap_seqset_parse(a, "4294967294:*", 12, &set), 0);
	imap_seqset_resolve(&set, 4294967295u);
	imap_seqset_iter_init(&it, &set);
	while (imap_seqset_iter_next(&it, &n))
		count++;
	assert_int_equal(count, 2);
	assert_int_equal(n, 4294967295u);
	arena_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seqset_grammar),
		cmocka_unit_test(seqset_membership_resolves_star),
		cmocka_unit_test(seqset_iterates_sorted_merged),
		cmocka_unit_test(seqset_iterates_up_to_uint32_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
