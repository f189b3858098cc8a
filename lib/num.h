/* Strict number parsing: decimal digits only, no sign, no space, no empty
 * string, overflow is an error. Never atoi/strtoul. */
#ifndef LIB_NUM_H
#define LIB_NUM_H

#include <stddef.h>
#include <stdint.h>

/* Parse len bytes of s as a decimal number not above max.
 * Returns 0 and sets *n_r, or -1 (nothing set) on any other input. */
int num_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *n_r);
/* The same for 32 bits: 0 .. 4294967295. */
int num_parse_u32(const char *s, size_t len, uint32_t *n_r);
/* A NUL-terminated string: the whole string must be the number. */
int num_parse_str_u64(const char *s, uint64_t max, uint64_t *n_r);
/* Parse a size with an optional K, M or G suffix (powers of 1024), as used
 * in config files ("64M"). Returns 0 or -1. */
int num_parse_size(const char *s, uint64_t *n_r);
/* Parse a duration with an optional s, m or h suffix into seconds. */
int num_parse_duration(const char *s, uint64_t *secs_r);

#endif
