/* Strict decimal parsing (see num.h). */
#include "num.h"

#include <string.h>

int
num_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *n_r)
{
	uint64_t n = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (n > (max - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*n_r = n;
	return 0;
}

int
num_parse_u32(const char *s, size_t len, uint32_t *n_r)
{
	uint64_t n;

	if (num_parse_u64(s, len, UINT32_MAX, &n) < 0)
		return -1;
	*n_r = (uint32_t)n;
	return 0;
}

int
num_parse_str_u64(const char *s, uint64_t max, uint64_t *n_r)
{
	return num_parse_u64(s, strlen(s), max, n_r);
}

/* Parse a number with a one-letter suffix from units[] scaling it by
 * mult[]; a bare number is scaled by 1. */
static int
parse_scaled(const char *s, const char *units, const uint64_t *mult,
	     uint64_t *n_r)
{
	size_t len = strlen(s);
	uint64_t scale = 1, n;
	const char *u;

	if (len > 0 && (u = strchr(units, s[len - 1])) != NULL) {
		scale = mult[u - units];
		len--;
	}
	if (num_parse_u64(s, len, UINT64_MAX / scale, &n) < 0)
		return -1;
	*n_r = n * scale;
	return 0;
}

int
num_parse_size(const char *s, uint64_t *n_r)
{
	static const uint64_t mult[] = {
		1024, 1024ull * 1024, 1024ull * 1024 * 1024,
		1024, 1024ull * 1024, 1024ull * 1024 * 1024};

	return parse_scaled(s, "KMGkmg", mult, n_r);
}

int
num_parse_duration(const char *s, uint64_t *secs_r)
{
	static const uint64_t mult[] = {1, 60, 3600};

	return parse_scaled(s, "smh", mult, secs_r);
}
