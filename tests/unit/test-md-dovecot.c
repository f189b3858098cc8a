/* Unit tests for taking over a Maildir from Dovecot or Courier
 * (maildir/dovecot.c): the first scan of a folder with no imapmoved-uidlist
 * keeps the UIDVALIDITY, the next UID and each file's UID from
 * dovecot-uidlist (version 3) or courierimapuiddb (version 1), gives new
 * files UIDs above them, takes keyword names from dovecot-keywords, and
 * ignores a list it does not understand or one made stale by our own; and
 * reads Dovecot 2.3's subscriptions file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "maildir/maildir-private.h"
#include "tests/unit/md-testlib.h"

struct fx {
	char *root;
	struct md_store *s;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->root = tl_tmpdir();
	if (md_store_open(fx->root, true, &fx->s) < 0)
		return -1;
	md_store_set_lock(fx->s, 0, 5);
	/* Three messages Dovecot knew (one read, one flagged with its
	 * keyword "a"), and one it never saw, still in new/. */
	tl_write(fx->root, "cur/1700000001.M1P1.h,S=6:2,S", "one\r\n");
	tl_write(fx->root, "cur/1700000002.M2P1.h,S=6:2,Fa", "two\r\n");
	tl_write(fx->root, "cur/1700000003.M3P1.h,S=8:2,", "three\r\n");
	tl_deliver(fx->root, "", "1700000009.M9P1.h", "late\r\n");
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	md_store_free(&fx->s);
	tl_rmrf(&fx->root);
	free(fx);
	return 0;
}

/* The box's UIDs as "uid,uid,..." and its \Recent ones as "r:uid,...". */
static void
uids_of(struct fx *fx, char *out, size_t size, uint32_t *uidvalidity_r,
	uint32_t *uidnext_r, struct md_box **box_r)
{
	const struct md_msg *m;
	struct md_box *b;
	uint32_t i, n;
	size_t len = 0;

	assert_int_equal(md_box_open(fx->s, "INBOX", false, &b), 0);
	m = md_box_messages(b, &n);
	out[0] = '\0';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%u%s",
					i ? "," : "", m[i].uid,
					m[i].recent ? "r" : "");
	*uidvalidity_r = md_box_uidvalidity(b);
	*uidnext_r = md_box_uidnext(b);
	if (box_r != NULL)
		*box_r = b;
	else
		md_box_free(&b);
}

static void
dovecot_v3_uids_are_kept(void **state)
{
	struct fx *fx = *state;
	const char *const *kw;
	const struct md_msg *m;
	struct md_box *b;
	uint32_t v, next, n;
	char got[256];

	tl_write(fx->root, "dovecot-uidlist",
		 "3 V1600000000 N20 G3085f01b7f11094c501100008c4a11c1\n"
		 "3 :1700000001.M1P1.h,S=6\n"
		 "7 S6 W7 :1700000002.M2P1.h,S=6:2,F\n"
		 "11 :1700000003.M3P1.h,S=8\n"
		 "12 :1700000004.M4P1.h,S=5\n");
	tl_write(fx->root, "dovecot-keywords", "0 $Important\n");
	uids_of(fx, got, sizeof(got), &v, &next, &b);
	assert_string_equal(got, "3,7,11,20r");
	assert_int_equal(v, 1600000000);
	assert_int_equal(next, 21);
	m = md_box_messages(b, &n);
	assert_int_equal(m[1].flags, MD_FLAG_FLAGGED);
	assert_int_equal(m[1].keywords, 1);
	kw = md_box_keywords(b);
	assert_non_null(kw[0]);
	assert_string_equal(kw[0], "$Important");
	md_box_free(&b);
	/* Ours now exists: the next open is the same, nothing \Recent. */
	uids_of(fx, got, sizeof(got), &v, &next, NULL);
	assert_string_equal(got, "3,7,11,20");
	assert_int_equal(v, 1600000000);
}

static void
courier_v1_uids_are_kept(void **state)
{
	struct fx *fx = *state;
	uint32_t v, next;
	char got[256];

	tl_write(fx->root, "courierimapuiddb",
		 "1 1500000000 9\n"
		 "2 1700000001.M1P1.h,S=6:2,S\n"
		 "5 1700000003.M3P1.h,S=8\n");
	uids_of(fx, got, sizeof(got), &v, &next, NULL);
	/* The file Courier did not list gets a UID after the new one's
	 * arrival order: both are new. */
	assert_string_equal(got, "2,5,9r,10r");
	assert_int_equal(v, 1500000000);
	assert_int_equal(next, 11);
}

/* Lists this reader must not trust give new UIDs, as without them. */
static void
lists_not_understood_are_ignored(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage\n",
		"3 N20\n3 :1700000001.M1P1.h,S=6\n", /* no V */
		"3 V5 N20\n7 :1700000001.M1P1.h\n3 :1700000002.M2P1.h\n",
		"3 V5 N20\n25 :1700000001.M1P1.h,S=6\n", /* uid >= N */
		"3 V5 N20\n3 1700000001.M1P1.h,S=6\n",   /* no " :" */
		"3 V5 N20\n3 :../../etc/passwd\n",
		"2 V5 N20\n",
	};
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char path[4200], got[256];
		uint32_t v, next;

		tl_write(fx->root, "dovecot-uidlist", bad[i]);
		(void)snprintf(path, sizeof(path), "%s/%s", fx->root,
			       MD_UIDLIST);
		(void)unlink(path);
		uids_of(fx, got, sizeof(got), &v, &next, NULL);
		if (strcmp(got, "1,2,3,4") != 0 && strcmp(got, "1r,2r,3r,4r"))
			fail_msg("list %zu: %s", i, got);
		assert_int_not_equal(v, 5);
		assert_int_equal(next, 5);
	}
}

/* Once we have our own list, Dovecot's is history. */
static void
our_list_wins(void **state)
{
	struct fx *fx = *state;
	uint32_t v, next;
	char got[256];

	uids_of(fx, got, sizeof(got), &v, &next, NULL);
	assert_string_equal(got, "1r,2r,3r,4r");
	tl_write(fx->root, "dovecot-uidlist",
		 "3 V1600000000 N20\n3 :1700000001.M1P1.h,S=6\n");
	uids_of(fx, got, sizeof(got), &v, &next, NULL);
	assert_string_equal(got, "1,2,3,4");
	assert_int_not_equal(v, 1600000000);
}

/* Dovecot 2.3's subscriptions file: a "V<TAB>2" header, an empty line,
 * names with TAB as the hierarchy separator. */
static void
dovecot_v2_subscriptions_are_read(void **state)
{
	struct fx *fx = *state;
	char **names;
	size_t n;

	tl_write(fx->root, "subscriptions", "V\t2\n\nWork\nWork\tSub\n");
	assert_int_equal(md_store_subscriptions(fx->s, &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "Work");
	assert_string_equal(names[1], "Work.Sub");
	md_names_free(&names, n);
	/* The old format: one name per line, kept as it is. */
	tl_write(fx->root, "subscriptions", "Work\nV\n");
	assert_int_equal(md_store_subscriptions(fx->s, &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[1], "V");
	md_names_free(&names, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(dovecot_v3_uids_are_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(courier_v1_uids_are_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			lists_not_understood_are_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(our_list_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(
			dovecot_v2_subscriptions_are_read, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
