/* Unit tests for the uid-set writer of COPYUID (RFC 4315 3): runs of
 * consecutive ascending UIDs become ranges, the order of the UIDs is kept
 * (so source and target sets pair up), and a buffer maximum is honoured.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/imap-private.h"

static const struct {
	const char *name;
	uint32_t uids[8];
	size_t count;
	const char *want;
} cases[] = {
	{"empty_set_writes_nothing", {0}, 0, ""},
	{"single_uid", {7}, 1, "7"},
	{"consecutive_uids_become_one_range", {1, 2, 3}, 3, "1:3"},
	{"gap_splits_ranges", {1, 2, 3, 5}, 4, "1:3,5"},
	{"order_kept_not_sorted", {5, 1, 2}, 3, "5,1:2"},
	{"descending_neighbours_not_merged", {3, 2}, 2, "3,2"},
	{"repeated_uid_not_a_range", {4, 4}, 2, "4,4"},
	{"uint32_max_ends_a_run",
	 {4294967294u, 4294967295u, 1},
	 3,
	 "4294967294:4294967295,1"},
	{"ranges_and_singles", {1, 3, 4, 6, 7, 8, 10}, 7, "1,3:4,6:8,10"},
};

static void
uidset_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct buf b;

		buf_init(&b, 0);
		if (imap_uidset_append(&b, cases[i].uids, cases[i].count) != 0)
			fail_msg("%s: append failed", cases[i].name);
		if (strcmp(buf_cstr(&b), cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
				 buf_cstr(&b), cases[i].want);
		buf_free(&b);
	}
}

static void
uidset_over_buffer_maximum_fails(void **state)
{
	const uint32_t uids[] = {100, 200, 300};
	struct buf b;

	(void)state;
	buf_init(&b, 6);
	assert_int_equal(imap_uidset_append(&b, uids, 3), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uidset_cases),
		cmocka_unit_test(uidset_over_buffer_maximum_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
