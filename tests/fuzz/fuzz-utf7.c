/* libFuzzer target for modified UTF-7: decoding what we encoded gives it
 * back, and (because decoding is strict) encoding what we decoded gives
 * back the very input, so every name has one wire form.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/imap-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(const char *in, size_t len,
	   int (*there)(const char *, size_t, struct buf *),
	   int (*back)(const char *, size_t, struct buf *))
{
	struct buf mid, out;

	buf_init(&mid, 0);
	buf_init(&out, 0);
	if (there(in, len, &mid) == 0) {
		if (back(mid.data != NULL ? mid.data : "", mid.len, &out) !=
			    0 ||
		    out.len != len ||
		    (len > 0 && memcmp(out.data, in, len) != 0))
			abort();
	}
	buf_free(&mid);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;

	round_trip(in, size, imap_utf8_to_utf7, imap_utf7_to_utf8);
	round_trip(in, size, imap_utf7_to_utf8, imap_utf8_to_utf7);
	return 0;
}
