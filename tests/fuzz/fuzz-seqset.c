/* libFuzzer target for sequence sets: the parser accepts exactly the
 * RFC 3501 sequence-set syntax, resolving "*" keeps membership and gives
 * sorted, disjoint, non-adjacent ranges, the iterator walks exactly those
 * numbers, and the UIDPLUS uid-set writer prints a set that parses back to
 * the same ranges. The first input byte is the value of "*".
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "protocol/imap-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Iterate and print only sets this small, to keep each run fast. */
#define MAX_WALK 65536

/* seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT, at most
 * 4294967295. Written independently of protocol/seqset.c. */
static bool
ref_number(const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i;

	if (len == 1 && s[0] == '*')
		return true;
	if (len == 0 || s[0] < '1' || s[0] > '9')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return false;
	}
	return true;
}

/* sequence-set = (seq-number / seq-range) *("," sequence-set) */
static bool
ref_valid(const char *s, size_t len)
{
	size_t start = 0, i;

	for (i = 0; i <= len; i++) {
		const char *item = s + start, *colon;
		size_t item_len = i - start;

		if (i < len && s[i] != ',')
			continue;
		colon = memchr(item, ':', item_len);
		if (colon == NULL) {
			if (!ref_number(item, item_len))
				return false;
		} else {
			size_t left = (size_t)(colon - item);

			if (!ref_number(item, left) ||
			    !ref_number(colon + 1, item_len - left - 1))
				return false;
		}
		start = i + 1;
	}
	return true;
}

static bool
in_resolved(const struct imap_seqset *set, uint32_t n)
{
	unsigned i;

	for (i = 0; i < set->count; i++) {
		if (n >= set->ranges[i].lo && n <= set->ranges[i].hi)
			return true;
	}
	return false;
}

static void
check_point(const struct imap_seqset *sent, const struct imap_seqset *res,
	    uint32_t n, uint32_t star)
{
	if (imap_seqset_contains(sent, n, star) != in_resolved(res, n))
		abort();
	if (imap_seqset_contains(res, n, star) != in_resolved(res, n))
		abort();
}

/* Walk the resolved set, print it as a uid-set and parse that back. */
static void
walk_and_print(struct arena *a, const struct imap_seqset *res, uint64_t total)
{
	struct imap_seqset_iter it;
	struct imap_seqset again;
	struct buf b;
	uint32_t *nums, n;
	size_t count = 0;
	unsigned i;

	nums = xreallocarray(NULL, total > 0 ? total : 1, sizeof(*nums));
	imap_seqset_iter_init(&it, res);
	while (imap_seqset_iter_next(&it, &n)) {
		if (count == total || !in_resolved(res, n) ||
		    (count > 0 && n <= nums[count - 1]))
			abort();
		nums[count++] = n;
	}
	if (count != total)
		abort();
	if (total == 0 || nums[0] == 0) {
		/* "*" in an empty set resolves to 0, which has no wire form. */
		free(nums);
		return;
	}
	buf_init(&b, 0);
	if (imap_uidset_append(&b, nums, count) < 0 ||
	    imap_seqset_parse(a, b.data, b.len, &again) < 0)
		abort();
	imap_seqset_resolve(&again, 1);
	if (again.count != res->count)
		abort();
	for (i = 0; i < res->count; i++) {
		if (again.ranges[i].lo != res->ranges[i].lo ||
		    again.ranges[i].hi != res->ranges[i].hi)
			abort();
	}
	buf_free(&b);
	free(nums);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_seqset sent, res;
	struct arena *a;
	const char *s;
	uint64_t total = 0;
	uint32_t star;
	unsigned i;
	size_t len;
	int ret;

	if (size < 1 || size > 4096)
		return 0;
	star = data[0];
	s = (const char *)data + 1;
	len = size - 1;
	a = arena_new();
	ret = imap_seqset_parse(a, s, len, &sent);
	if ((ret == 0) != ref_valid(s, len))
		abort();
	if (ret < 0)
		goto out;
	if (sent.count == 0)
		abort();
	res.count = sent.count;
	res.ranges = arena_alloc(a, sent.count * sizeof(*res.ranges));
	memcpy(res.ranges, sent.ranges, sent.count * sizeof(*res.ranges));
	imap_seqset_resolve(&res, star);

	/* Sorted, each range ordered, neither overlapping nor adjacent. */
	for (i = 0; i < res.count; i++) {
		if (res.ranges[i].lo > res.ranges[i].hi)
			abort();
		if (i > 0 && (uint64_t)res.ranges[i].lo <=
				     (uint64_t)res.ranges[i - 1].hi + 1)
			abort();
		total += (uint64_t)res.ranges[i].hi - res.ranges[i].lo + 1;
	}
	if (imap_seqset_max(&res) != res.ranges[res.count - 1].hi)
		abort();

	/* Membership is unchanged at every edge of every range sent. */
	check_point(&sent, &res, 0, star);
	check_point(&sent, &res, 1, star);
	check_point(&sent, &res, star, star);
	check_point(&sent, &res, UINT32_MAX, star);
	for (i = 0; i < sent.count; i++) {
		uint32_t e[2] = {sent.ranges[i].lo, sent.ranges[i].hi};
		unsigned k;

		for (k = 0; k < 2; k++) {
			uint32_t n = e[k] == 0 ? star : e[k];

			check_point(&sent, &res, n, star);
			if (n > 0)
				check_point(&sent, &res, n - 1, star);
			if (n < UINT32_MAX)
				check_point(&sent, &res, n + 1, star);
		}
	}
	if (total <= MAX_WALK)
		walk_and_print(a, &res, total);
out:
	arena_free(&a);
	return 0;
}
