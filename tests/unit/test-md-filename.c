/* Unit tests for maildir/ names: message file names (flags, keywords,
 * sizes, odd names), unique names, and mailbox name validation with the
 * UTF-8 <-> modified UTF-7 directory mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "maildir/maildir-private.h"

static void
parse_splits_base_flags_keywords_and_size(void **state)
{
	static const struct {
		const char *name, *base;
		uint32_t flags, keywords;
		bool has_size;
		size_t size;
	} cases[] = {
		{"1.M2P3.host,S=1234:2,FS", "1.M2P3.host,S=1234",
		 MD_FLAG_FLAGGED | MD_FLAG_SEEN, 0, true, 1234},
		{"1.M2P3.host:2,", "1.M2P3.host", 0, 0, false, 0},
		{"1.M2P3.host", "1.M2P3.host", 0, 0, false, 0},
		{"1.host,S=12,W=14:2,DRTac", "1.host,S=12,W=14",
		 MD_FLAG_DRAFT | MD_FLAG_ANSWERED | MD_FLAG_DELETED, 0x5, true,
		 12},
		{"1.host,S=:2,S", "1.host,S=", MD_FLAG_SEEN, 0, false, 0},
		{"1.host,S=12x:2,S", "1.host,S=12x", MD_FLAG_SEEN, 0, false, 0},
		{"1.host,S=99999999999999999999999:2,",
		 "1.host,S="
		 "99999999999999999999999",
		 0, 0, false, 0},
		{"1.host,S=x,S=7:2,", "1.host,S=x,S=7", 0, 0, true, 7},
		{"1.host,W=9,S=8,S=6", "1.host,W=9,S=8,S=6", 0, 0, true, 8},
		{"1.host,S", "1.host,S", 0, 0, false, 0},
		{"1.host:1,S", "1.host", 0, 0, false, 0},
		{"1.host:2,S,9z", "1.host", MD_FLAG_SEEN, 1u << 25, false, 0},
		{"odd name with spaces:2,P", "odd name with spaces",
		 MD_FLAG_PASSED, 0, false, 0},
		{"", "", 0, 0, false, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct md_fname f;

		md_fname_parse(cases[i].name, &f);
		if (f.base_len != strlen(cases[i].base) ||
		    memcmp(f.base, cases[i].base, f.base_len) != 0 ||
		    f.flags != cases[i].flags ||
		    f.keywords != cases[i].keywords ||
		    f.has_size != cases[i].has_size || f.size != cases[i].size)
			fail_msg("case %zu (%s)", i, cases[i].name);
	}
}

static void
build_orders_flags_then_keywords(void **state)
{
	char out[128];

	(void)state;
	assert_int_equal(
		md_fname_build("b", 1,
			       MD_FLAG_SEEN | MD_FLAG_DRAFT | MD_FLAG_DELETED |
				       MD_FLAG_ANSWERED | MD_FLAG_FLAGGED |
				       MD_FLAG_PASSED,
			       (1u << 25) | 1u, out, sizeof(out)),
		0);
	assert_string_equal(out, "b:2,DFPRSTaz");
	assert_int_equal(md_fname_build("b", 1, 0, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "b:2,");
	assert_int_equal(md_fname_build("b", 1, 0, 0, out, 10), -1);
}

static void
unique_names_differ_and_carry_size(void **state)
{
	char a[256], b[256];
	struct md_fname f;

	(void)state;
	assert_int_equal(md_fname_unique(42, 44, a, sizeof(a)), 0);
	assert_int_equal(md_fname_unique(42, 0, b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_null(strchr(a, '/'));
	assert_null(strchr(a, ':'));
	md_fname_parse(a, &f);
	assert_true(f.has_size);
	assert_int_equal(f.size, 42);
	assert_true(f.has_vsize);
	assert_int_equal(f.vsize, 44);
	md_fname_parse(b, &f);
	assert_false(f.has_vsize);
	assert_int_equal(md_fname_unique(1, 0, a, 8), -1);
}

static void
mailbox_names_validated(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{"INBOX", true},
		{"Archive", true},
		{"A.B.C", true},
		{"Entwürfe", true},
		{"日本語", true},
		{"a&b", true},
		{"", false},
		{".hidden", false},
		{"A..B", false},
		{"A.", false},
		{"a/b", false},
		{"../etc", false},
		{"a\tb", false},
		{"a\x7f", false},
		{"bad\xff", false},
		{"over\xc0\xaflong", false},
		{"sur\xed\xa0\x80", false},
		{"a*", false},
		{"a%", false},
		{"a\nb", false},
	};
	char longname[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (md_name_valid(cases[i].name) != cases[i].ok)
			fail_msg("case %zu (%s)", i, cases[i].name);
	memset(longname, 'a', 254);
	longname[254] = '\0';
	assert_true(md_name_valid(longname));
	longname[254] = 'a';
	longname[255] = '\0';
	assert_false(md_name_valid(longname));
}

static void
names_map_to_mutf7_dirs_and_back(void **state)
{
	static const struct {
		const char *name, *dir;
	} cases[] = {
		{"INBOX", ""},
		{"inbox", ""},
		{"inbox.Sub", ".INBOX.Sub"},
		{"Archive.2024", ".Archive.2024"},
		{"Entwürfe", ".Entw&APw-rfe"},
		{"a&b", ".a&-b"},
		{"日本語", ".&ZeVnLIqe-"},
		{"~peter/mail/台北/日本語", NULL},
		{"😀", ".&2D3eAA-"},
		{"x.ü.y", ".x.&APw-.y"},
	};
	char dir[300], back[600];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = md_name_to_dir(cases[i].name, dir, sizeof(dir));

		if (cases[i].dir == NULL) {
			if (r != -1)
				fail_msg("case %zu accepted", i);
			continue;
		}
		if (r != 0 || strcmp(dir, cases[i].dir) != 0)
			fail_msg("case %zu: got %s", i, dir);
		if (dir[0] == '\0' || strncmp(cases[i].name, "inbox.", 6) == 0)
			continue;
		if (md_dir_to_name(dir, back, sizeof(back)) != 0 ||
		    strcmp(back, cases[i].name) != 0)
			fail_msg("case %zu: back %s", i, back);
	}
}

static void
undecodable_dir_names_are_not_folders(void **state)
{
	static const char *const bad[] = {
		".",      "..",    ".&",          ".&Jjo", ".&AGE-",
		".&2D0-", ".a..b", ".&U,BTFw-x.", ".a/b",  ".&-&",
	};
	char out[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (md_dir_to_name(bad[i], out, sizeof(out)) == 0)
			fail_msg("case %zu (%s) decoded to %s", i, bad[i], out);
	assert_int_equal(md_dir_to_name(".&U,BTFw-", out, sizeof(out)), 0);
	assert_string_equal(out, "台北");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_splits_base_flags_keywords_and_size),
		cmocka_unit_test(build_orders_flags_then_keywords),
		cmocka_unit_test(unique_names_differ_and_carry_size),
		cmocka_unit_test(mailbox_names_validated),
		cmocka_unit_test(names_map_to_mutf7_dirs_and_back),
		cmocka_unit_test(undecodable_dir_names_are_not_folders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
