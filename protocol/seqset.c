/* Sequence sets (RFC 3501 section 9, "sequence-set"): parsing, membership
 * with "*" standing for the largest number in use, and iteration after
 * "*" has been resolved. Used for both sequence numbers and UIDs.
 */
#include "protocol/imap-private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/num.h"

/* seq-number      = nz-number / "*"
 * nz-number       = digit-nz *DIGIT                        (RFC 3501 9)
 * Sets *n_r to 0 for "*". */
static int
parse_seq_number(const char *s, size_t len, uint32_t *n_r)
{
	if (len == 1 && s[0] == '*') {
		*n_r = 0;
		return 0;
	}
	if (len == 0 || s[0] == '0')
		return -1;
	return num_parse_u32(s, len, n_r);
}

/* seq-range       = seq-number ":" seq-number
 * sequence-set    = (seq-number / seq-range) *("," sequence-set)
 *                                                          (RFC 3501 9) */
int
imap_seqset_parse(struct arena *a, const char *s, size_t len,
		  struct imap_seqset *set_r)
{
	size_t i, start = 0, count = 1;
	unsigned n = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == ',')
			count++;
	}
	set_r->ranges = arena_calloc(a, count, sizeof(*set_r->ranges));
	set_r->count = 0;
	for (i = 0; i <= len; i++) {
		struct imap_seq_range *r = &set_r->ranges[n];
		const char *colon, *item = s + start;
		size_t item_len = i - start;

		if (i < len && s[i] != ',')
			continue;
		colon = memchr(item, ':', item_len);
		if (colon == NULL) {
			if (parse_seq_number(item, item_len, &r->lo) < 0)
				return -1;
			r->hi = r->lo;
		} else if (parse_seq_number(item, (size_t)(colon - item),
					    &r->lo) < 0 ||
			   parse_seq_number(colon + 1,
					    item_len - (size_t)(colon - item) -
						    1,
					    &r->hi) < 0) {
			return -1;
		}
		n++;
		start = i + 1;
	}
	set_r->count = n;
	return 0;
}

static void
range_bounds(const struct imap_seq_range *r, uint32_t star, uint32_t *lo_r,
	     uint32_t *hi_r)
{
	uint32_t lo = r->lo == 0 ? star : r->lo;
	uint32_t hi = r->hi == 0 ? star : r->hi;

	*lo_r = lo < hi ? lo : hi;
	*hi_r = lo < hi ? hi : lo;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t n, uint32_t star)
{
	unsigned i;

	for (i = 0; i < set->count; i++) {
		uint32_t lo, hi;

		range_bounds(&set->ranges[i], star, &lo, &hi);
		if (n >= lo && n <= hi)
			return true;
	}
	return false;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return 0;
}

void
imap_seqset_resolve(struct imap_seqset *set, uint32_t star)
{
	unsigned i, n = 0;

	for (i = 0; i < set->count; i++)
		range_bounds(&set->ranges[i], star, &set->ranges[i].lo,
			     &set->ranges[i].hi);
	if (set->count == 0)
		return;
	qsort(set->ranges, set->count, sizeof(*set->ranges), range_cmp);
	/* Merge overlapping and adjacent ranges; hi + 1 is computed in 64
	 * bits as hi may be 4294967295. */
	for (i = 1; i < set->count; i++) {
		struct imap_seq_range *last = &set->ranges[n];

		if ((uint64_t)set->ranges[i].lo <= (uint64_t)last->hi + 1) {
			if (set->ranges[i].hi > last->hi)
				last->hi = set->ranges[i].hi;
		} else {
			set->ranges[++n] = set->ranges[i];
		}
	}
	set->count = n + 1;
}

uint32_t
imap_seqset_max(const struct imap_seqset *set)
{
	return set->count == 0 ? 0 : set->ranges[set->count - 1].hi;
}

void
imap_seqset_iter_init(struct imap_seqset_iter *it,
		      const struct imap_seqset *set)
{
	it->set = set;
	it->range = 0;
	it->next = set->count > 0 ? set->ranges[0].lo : 0;
}

bool
imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *n_r)
{
	while (it->range < it->set->count) {
		const struct imap_seq_range *r = &it->set->ranges[it->range];

		if (it->next <= r->hi) {
			*n_r = (uint32_t)it->next++;
			return true;
		}
		if (++it->range < it->set->count)
			it->next = it->set->ranges[it->range].lo;
	}
	return false;
}
