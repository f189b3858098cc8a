/* Unit tests for FETCH over the metadata cache: what one session computes
 * (ENVELOPE, BODY, BODYSTRUCTURE, header sections) another session gets
 * byte for byte from the cache, and a missing, torn or corrupt cache file
 * gives exactly the answer computed from the files. */
#include "tests/unit/imap-testlib.h"

#include "lib/log.h"

struct fx {
	char *root;
	struct md_store *st;
	char cache[4200]; /* the INBOX cache file */
};

static const char *const fixtures[] = {"mime-plain", "mime-alternative",
				       "mime-nested-rfc822", "mime-bare-lf"};
#define NFIX (sizeof(fixtures) / sizeof(*fixtures))

/* Every cached item: a second FETCH of these reads no message file. */
#define ITEMS                                                                  \
	"(UID FLAGS RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE RFC822.HEADER "    \
	"BODY.PEEK[HEADER.FIELDS (From Subject Date Message-ID)] "             \
	"BODY.PEEK[HEADER.FIELDS.NOT (Subject)] BODY.PEEK[HEADER]<5.20>)"
/* The same with items that need the file (a part, a size the file name
 * does not give). */
#define ITEMS_MIXED                                                            \
	"(ENVELOPE BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[1] "           \
	"RFC822.SIZE BODYSTRUCTURE)"

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct md_box *b;
	size_t i;

	fx->root = tl_tmpdir();
	if (md_store_open(fx->root, true, &fx->st) < 0)
		return -1;
	for (i = 0; i < NFIX; i++) {
		char path[256], name[64];
		struct buf m;

		(void)snprintf(path, sizeof(path), "tests/data/%s.eml",
			       fixtures[i]);
		(void)snprintf(name, sizeof(name), "1700000000.M%zuP1.host", i);
		buf_init(&m, 0);
		if (io_read_file(path, &m) < 0)
			return -1;
		tl_deliver(fx->root, "", name, buf_cstr(&m));
		buf_free(&m);
	}
	/* Claim \Recent once, so that the sessions' outputs agree. */
	if (md_box_open(fx->st, "INBOX", false, &b) < 0)
		return -1;
	md_box_free(&b);
	(void)snprintf(fx->cache, sizeof(fx->cache), "%s/imapmoved-cache",
		       fx->root);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	md_store_free(&fx->st);
	tl_rmrf(&fx->root);
	free(fx);
	return 0;
}

/* The output of one new session's SELECT + FETCH 1:* (malloc'd). */
static char *
session_fetch(const struct fx *fx, const char *items)
{
	char cmd[512];
	struct tc c;
	char *out;

	tc_open(&c, fx->root);
	(void)tc_run(&c, "s SELECT INBOX\r\n");
	(void)snprintf(cmd, sizeof(cmd), "f FETCH 1:* %s\r\n", items);
	out = xstrdup(tc_run(&c, cmd));
	tc_close(&c);
	return out;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : st.st_size;
}

/* Replace the bytes of the file in cur/ holding needle by other bytes of
 * the same length, keeping its name (which Maildir forbids): only an
 * answer from the cache can still show the old bytes. */
static void
rewrite_in_place(const char *root, const char *needle, const char *repl)
{
	char dir[4096], path[8192];
	struct dirent *de;
	DIR *d;

	(void)snprintf(dir, sizeof(dir), "%s/cur", root);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		struct buf m;
		char *p;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		buf_init(&m, 0);
		assert_int_equal(io_read_file(path, &m), 0);
		p = m.len > 0 ? strstr(m.data, needle) : NULL;
		if (p != NULL) {
			memcpy(p, repl, strlen(repl));
			fd = open(path, O_WRONLY | O_TRUNC);
			assert_true(fd >= 0);
			assert_int_equal(io_write_all(fd, m.data, m.len), 0);
			assert_int_equal(close(fd), 0);
		}
		buf_free(&m);
	}
	(void)closedir(d);
}

static void
second_session_gets_byte_identical_answer_from_cache(void **state)
{
	struct fx *fx = *state;
	char *first, *second, *third;

	first = session_fetch(fx, ITEMS);
	assert_non_null(strstr(first, "f OK FETCH completed."));
	assert_non_null(strstr(first, "ENVELOPE (\"Mon, 7 Feb 1994"));
	assert_true(file_size(fx->cache) > 0);
	second = session_fetch(fx, ITEMS);
	tc_expect("second session", second, first);
	/* The same subject length, so sizes and literals do not change. */
	rewrite_in_place(fx->root, "afternoon meeting", "AFTERNOON MEETING");
	third = session_fetch(fx, ITEMS);
	assert_non_null(strstr(third, "afternoon meeting"));
	assert_null(strstr(third, "AFTERNOON MEETING"));
	tc_expect("after the in-place rewrite", third, first);
	free(first);
	free(second);
	free(third);
}

static void
size_of_a_file_without_w_comes_from_cache(void **state)
{
	struct fx *fx = *state;
	char *first, *second;

	first = session_fetch(fx, "RFC822.SIZE");
	assert_non_null(strstr(first, "* 4 FETCH (RFC822.SIZE "));
	/* One bare LF fewer: counted again, the size would drop by one. */
	rewrite_in_place(fx->root, "Subject: bare LF\n", "Subject: bare LFx");
	second = session_fetch(fx, "RFC822.SIZE");
	tc_expect("cached size", second, first);
	free(first);
	free(second);
}

/* Damage the cache file in different ways: the answer must always be
 * the one computed from the files. */
static void
damaged_cache_gives_the_uncached_answer(void **state)
{
	static const char *const damage[] = {"truncate", "flip", "garbage",
					     "empty"};
	struct fx *fx = *state;
	char *truth, *filled, *got;
	size_t i;

	/* The mixed items first: the cache then holds part of the items. */
	truth = session_fetch(fx, ITEMS_MIXED);
	got = session_fetch(fx, ITEMS_MIXED);
	tc_expect("mixed", got, truth);
	free(got);
	free(truth);
	truth = session_fetch(fx, ITEMS);
	for (i = 0; i < sizeof(damage) / sizeof(*damage); i++) {
		struct buf m;
		size_t j;
		int fd;

		filled = session_fetch(fx, ITEMS); /* makes sure it exists */
		tc_expect(damage[i], filled, truth);
		free(filled);
		buf_init(&m, 0);
		assert_int_equal(io_read_file(fx->cache, &m), 0);
		if (strcmp(damage[i], "truncate") == 0)
			m.len = m.len / 2 + 3;
		else if (strcmp(damage[i], "flip") == 0)
			for (j = 40; j < m.len; j += 97)
				m.data[j] ^= 0x20;
		else if (strcmp(damage[i], "garbage") == 0)
			memset(m.data + 16, 'Z', m.len - 16);
		else
			m.len = 0;
		fd = open(fx->cache, O_WRONLY | O_TRUNC);
		assert_true(fd >= 0);
		assert_int_equal(io_write_all(fd, m.data, m.len), 0);
		assert_int_equal(close(fd), 0);
		buf_free(&m);
		got = session_fetch(fx, ITEMS);
		tc_expect(damage[i], got, truth);
		free(got);
		/* And once more, from whatever the last session rebuilt. */
		got = session_fetch(fx, ITEMS);
		tc_expect(damage[i], got, truth);
		free(got);
	}
	free(truth);
}

static void
no_cache_file_gives_the_same_answer(void **state)
{
	struct fx *fx = *state;
	char *first, *second;

	first = session_fetch(fx, ITEMS);
	assert_int_equal(unlink(fx->cache), 0);
	second = session_fetch(fx, ITEMS);
	tc_expect("no cache", second, first);
	free(first);
	free(second);
}

/* FNV-1a over s, as the cache key of a header list is hashed. */
static uint32_t
fnv(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* A field name whose HEADER.FIELDS list key ("F\n" + name) has the same
 * 24-bit hash as the list (Subject): found by counting in hex. */
static void
colliding_name(char *out, size_t size)
{
	const char *want = "F\nSUBJECT";
	uint32_t target = fnv(want, strlen(want)) & 0xffffff;
	char key[32];
	uint32_t n;

	for (n = 0;; n++) {
		int len = snprintf(key, sizeof(key), "F\nZ%X", n);

		if ((fnv(key, (size_t)len) & 0xffffff) == target)
			break;
	}
	(void)snprintf(out, size, "%s", key + 2);
}

static void
header_lists_sharing_a_hash_are_told_apart(void **state)
{
	struct fx *fx = *state;
	char name[32], items[64];
	char *subject, *other, *again;

	colliding_name(name, sizeof(name));
	(void)snprintf(items, sizeof(items), "BODY.PEEK[HEADER.FIELDS (%s)]",
		       name);
	subject = session_fetch(fx, "BODY.PEEK[HEADER.FIELDS (Subject)]");
	assert_non_null(strstr(subject, "Subject: afternoon meeting"));
	other = session_fetch(fx, items);
	assert_null(strstr(other, "Subject:"));
	again = session_fetch(fx, "BODY.PEEK[HEADER.FIELDS (Subject)]");
	tc_expect("subject again", again, subject);
	free(subject);
	free(other);
	free(again);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			second_session_gets_byte_identical_answer_from_cache,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			damaged_cache_gives_the_uncached_answer, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			no_cache_file_gives_the_same_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(
			size_of_a_file_without_w_comes_from_cache, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			header_lists_sharing_a_hash_are_told_apart, setup,
			teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
