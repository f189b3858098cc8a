/* Base64 (RFC 4648 section 4) for SASL exchanges (RFC 4959, RFC 3501
 * 6.2.2). Decoding is strict: padding required, no whitespace, no stray
 * bits, so each value has one encoding.
 */
#include "protocol/imap-private.h"

#include <string.h>

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
val(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return -1;
	return (int)(p - b64);
}

int
imap_base64_decode(const char *src, size_t len, unsigned char *dest,
		   size_t *len_r)
{
	size_t i, n = 0;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		int v[4], k, pad = 0;
		unsigned char out[3];
		uint32_t bits;

		for (k = 0; k < 4; k++) {
			if (src[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad > 0 || (v[k] = val(src[i + k])) < 0) {
				return -1;
			}
		}
		bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		       (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* The bits under the padding must be zero. */
		if ((pad == 1 && (bits & 0xff) != 0) ||
		    (pad == 2 && (bits & 0xffff) != 0))
			return -1;
		out[0] = (unsigned char)(bits >> 16);
		out[1] = (unsigned char)(bits >> 8);
		out[2] = (unsigned char)bits;
		memcpy(dest + n, out, (size_t)(3 - pad));
		n += (size_t)(3 - pad);
	}
	*len_r = n;
	return 0;
}
