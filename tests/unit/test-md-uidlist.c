/* Unit tests for the UID list: format round trip, the strict reader
 * (truncated and garbage lists are refused, never crash), the reset of
 * UIDVALIDITY with reassigned UIDs, and the keyword table file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "maildir/maildir-private.h"
#include "tests/unit/md-testlib.h"

#define GOOD                                                                   \
	"imapmoved-uidlist 1\n"                                                \
	"V1700000000 N8 R5 C2 n1700000000.000000001 c0.000000000\n"            \
	"3 120 1699999999 1.M1P1.h,S=120:2,S\n"                                \
	"7 5 1700000001 2.M1P1.h with space:2,\n"

static void
good_list_round_trips(void **state)
{
	struct md_uidlist ul;
	size_t len;
	char *out;

	(void)state;
	assert_int_equal(md_uidlist_parse(GOOD, strlen(GOOD), &ul), 0);
	assert_int_equal(ul.uidvalidity, 1700000000);
	assert_int_equal(ul.uidnext, 8);
	assert_int_equal(ul.recent_uid, 5);
	assert_int_equal(ul.new_mtime.tv_nsec, 1);
	assert_int_equal(ul.count, 2);
	assert_int_equal(ul.recs[1].uid, 7);
	assert_int_equal(ul.recs[0].size, 120);
	assert_int_equal(ul.recs[1].mtime, 1700000001);
	assert_string_equal(ul.recs[1].name, "2.M1P1.h with space:2,");
	assert_non_null(md_uidlist_find(&ul, 7));
	assert_null(md_uidlist_find(&ul, 4));
	out = md_uidlist_format(&ul, &len);
	assert_int_equal(len, strlen(GOOD));
	assert_string_equal(out, GOOD);
	free(out);
	md_uidlist_clear(&ul);
}

static void
bad_lists_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"imapmoved-uidlist 2\n",
		"imapmoved-uidlist 1\n",
		"imapmoved-uidlist 1\nV1 N2 R1 C0 n0.0 c0.0",
		"imapmoved-uidlist 1\nV0 N2 R1 C0 n0.0 c0.0\n",
		"imapmoved-uidlist 1\nV1 N0 R0 C0 n0.0 c0.0\n",
		"imapmoved-uidlist 1\nV1 N2 R3 C0 n0.0 c0.0\n",
		"imapmoved-uidlist 1\nV1 N2 R1 C1 n0.0 c0.0\n",
		"imapmoved-uidlist 1\nV1 N2 R1 C0 n0.0 c0.0 x\n",
		"imapmoved-uidlist 1\nV1 N2 R1 C0 n0.1000000000 c0.0\n",
		"imapmoved-uidlist 1\nV-1 N2 R1 C0 n0.0 c0.0\n",
		"imapmoved-uidlist 1\nV1 N3 R1 C1 n0.0 c0.0\n1 1 1 a",
		"imapmoved-uidlist 1\nV1 N3 R1 C1 n0.0 c0.0\n3 1 1 a\n",
		"imapmoved-uidlist 1\nV1 N3 R1 C1 n0.0 c0.0\n0 1 1 a\n",
		"imapmoved-uidlist 1\nV1 N5 R1 C2 n0.0 c0.0\n2 1 1 a\n2 1 1 "
		"b\n",
		"imapmoved-uidlist 1\nV1 N5 R1 C2 n0.0 c0.0\n3 1 1 a\n2 1 1 "
		"b\n",
		"imapmoved-uidlist 1\nV1 N3 R1 C1 n0.0 c0.0\n1 1 1 .hidden\n",
		"imapmoved-uidlist 1\nV1 N3 R1 C1 n0.0 c0.0\n1 1 1 ../x\n",
		"imapmoved-uidlist 1\nV1 N3 R1 C1 n0.0 c0.0\n1 1 1 \n",
		"imapmoved-uidlist 1\nV1 N3 R1 C1 n0.0 c0.0\n1 x 1 a\n",
		"imapmoved-uidlist 1\nV1 N3 R1 C1 n0.0 c0.0\n1  1 1 a\n",
		"imapmoved-uidlist 1\nV1 N3 R1 C2 n0.0 c0.0\n1 1 1 a\n",
	};
	struct md_uidlist ul;
	size_t i, cut;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (md_uidlist_parse(bad[i], strlen(bad[i]), &ul) != -1)
			fail_msg("case %zu accepted", i);
	/* Every truncation of a good list is refused, and nothing leaks. */
	for (cut = 0; cut < strlen(GOOD); cut++)
		if (md_uidlist_parse(GOOD, cut, &ul) != -1)
			fail_msg("truncation at %zu accepted", cut);
	/* NUL bytes inside a record. */
	{
		char nul[] = "imapmoved-uidlist 1\nV1 N3 R1 C1 n0.0 c0.0\n"
			     "1 1 1 a\0b\n";

		assert_int_equal(md_uidlist_parse(nul, sizeof(nul) - 1, &ul),
				 -1);
	}
}

static void
garbage_lists_never_crash(void **state)
{
	char data[512];
	struct md_uidlist ul;
	unsigned seed = 12345;
	size_t i, j;

	(void)state;
	for (i = 0; i < 2000; i++) {
		size_t len = strlen(GOOD);

		memcpy(data, GOOD, len);
		for (j = 0; j < 1 + i % 5; j++) {
			seed = seed * 1103515245 + 12345;
			data[(seed >> 8) % len] = (char)(seed >> 16);
		}
		if (md_uidlist_parse(data, len, &ul) == 0) {
			assert_true(ul.count <= 2);
			md_uidlist_clear(&ul);
		}
	}
}

static void
corrupt_list_on_disk_resets_uidvalidity_and_reassigns(void **state)
{
	char *root = tl_tmpdir();
	struct md_store *s;
	struct md_box *b;
	const struct md_msg *m;
	uint32_t n, old_uv;

	(void)state;
	assert_int_equal(md_store_open(root, true, &s), 0);
	tl_deliver(root, "", "1.M1P1.h", "a\n");
	tl_deliver(root, "", "2.M1P1.h", "b\n");
	assert_int_equal(md_box_open(s, "INBOX", false, &b), 0);
	old_uv = md_box_uidvalidity(b);
	md_box_free(&b);
	{
		char garbage[100];

		(void)snprintf(garbage, sizeof(garbage),
			       "imapmoved-uidlist 1\nV%u N2 garb", old_uv);
		tl_write(root, "imapmoved-uidlist", garbage);
	}
	assert_int_equal(md_box_open(s, "INBOX", false, &b), 0);
	m = md_box_messages(b, &n);
	assert_int_equal(n, 2);
	assert_int_not_equal(md_box_uidvalidity(b), 0);
	assert_int_not_equal(md_box_uidvalidity(b), old_uv);
	assert_int_equal(m[0].uid, 1);
	assert_int_equal(m[1].uid, 2);
	md_box_free(&b);
	/* A lost list too. */
	tl_write(root, "imapmoved-uidlist", "");
	assert_int_equal(md_box_open(s, "INBOX", false, &b), 0);
	md_box_messages(b, &n);
	assert_int_equal(n, 2);
	md_box_free(&b);
	md_store_free(&s);
	tl_rmrf(&root);
}

static void
unreadable_list_fails_instead_of_resetting(void **state)
{
	char *root = tl_tmpdir(), path[4096], saved[4096];
	struct md_store *s;
	struct md_box *b;
	uint32_t uv;

	(void)state;
	assert_int_equal(md_store_open(root, true, &s), 0);
	tl_deliver(root, "", "1.M1P1.h", "a\n");
	assert_int_equal(md_box_open(s, "INBOX", false, &b), 0);
	uv = md_box_uidvalidity(b);
	md_box_free(&b);
	/* A directory in its place: open works, read fails (EISDIR). */
	(void)snprintf(path, sizeof(path), "%s/imapmoved-uidlist", root);
	(void)snprintf(saved, sizeof(saved), "%s/saved", root);
	assert_int_equal(rename(path, saved), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(md_box_open(s, "INBOX", false, &b), -1);
	assert_int_equal(md_last_error(s, NULL), MD_ERR_INTERNAL);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rename(saved, path), 0);
	assert_int_equal(md_box_open(s, "INBOX", false, &b), 0);
	assert_int_equal(md_box_uidvalidity(b), uv);
	md_box_free(&b);
	md_store_free(&s);
	tl_rmrf(&root);
}

static void
uidvalidity_new_avoids_old_value(void **state)
{
	uint32_t now = md_uidvalidity_new(0);

	(void)state;
	assert_int_not_equal(now, 0);
	assert_int_not_equal(md_uidvalidity_new(now), now);
}

static void
keywords_file_round_trips_dovecot_format(void **state)
{
	char *root = tl_tmpdir();
	struct md_keywords kw, back;
	uint32_t bits;
	bool added;
	int fd;

	(void)state;
	tl_write(root, "imapmoved-keywords",
		 "0 $Forwarded\n2 Junk\nx bad\n30 toolarge\n3 has space\n"
		 "2 dup\n4 NonJunk");
	fd = open(root, O_RDONLY | O_DIRECTORY);
	assert_int_equal(md_keywords_read(fd, &kw), 0);
	assert_string_equal(kw.names[0], "$Forwarded");
	assert_null(kw.names[1]);
	assert_string_equal(kw.names[2], "Junk");
	assert_null(kw.names[3]);
	assert_null(kw.names[4]); /* no final newline: cut off */
	assert_int_equal(md_keywords_find(&kw, "junk"), 2);
	assert_int_equal(md_keywords_add(&kw, "New", &added), 1);
	assert_true(added);
	assert_int_equal(md_keywords_write(fd, &kw), 0);
	assert_int_equal(md_keywords_read(fd, &back), 0);
	assert_string_equal(back.names[1], "New");
	md_keywords_clear(&back);
	back.names[5] = strdup("Other");
	assert_int_equal(md_keywords_map(&kw, 0x7, &back, &bits, &added), 0);
	assert_true(added);
	assert_string_equal(back.names[0], "$Forwarded");
	assert_string_equal(back.names[1], "New");
	assert_string_equal(back.names[2], "Junk");
	assert_int_equal(bits, 0x7);
	md_keywords_clear(&kw);
	md_keywords_clear(&back);
	(void)close(fd);
	tl_rmrf(&root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_list_round_trips),
		cmocka_unit_test(bad_lists_refused),
		cmocka_unit_test(garbage_lists_never_crash),
		cmocka_unit_test(
			corrupt_list_on_disk_resets_uidvalidity_and_reassigns),
		cmocka_unit_test(unreadable_list_fails_instead_of_resetting),
		cmocka_unit_test(uidvalidity_new_avoids_old_value),
		cmocka_unit_test(keywords_file_round_trips_dovecot_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
