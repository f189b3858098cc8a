/* libFuzzer target for the response writer: any bytes written as an
 * astring or a string must parse back through our own parser to exactly
 * those bytes, but for NUL, which no IMAP string can carry (CHAR8 excludes
 * it): it comes back as 0x80.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/imap-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
parse_back(const struct buf *form, const char *in, size_t len)
{
	struct imap_limits lim;
	struct imap_command cmd;
	struct arena *a = arena_new();
	struct buf line;
	const char *error;
	size_t i;

	imap_limits_default(&lim);
	buf_init(&line, 0);
	if (buf_puts(&line, "a X ") < 0 ||
	    buf_append(&line, form->data, form->len) < 0 ||
	    buf_puts(&line, "\r\n") < 0)
		abort();
	if (imap_parse_command(a, &lim, line.data, line.len, &cmd, &error) !=
		    IMAP_PARSE_OK ||
	    cmd.count != 1 || cmd.args[0].type == IMAP_ARG_LIST ||
	    cmd.args[0].len != len)
		abort();
	for (i = 0; i < len; i++)
		if (cmd.args[0].str[i] != (in[i] != '\0' ? in[i] : '\x80'))
			abort();
	buf_free(&line);
	arena_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct buf b;

	buf_init(&b, 0);
	if (imap_resp_astring(&b, in, size) < 0)
		abort();
	parse_back(&b, in, size);
	buf_reset(&b);
	if (imap_resp_string(&b, in, size) < 0)
		abort();
	parse_back(&b, in, size);
	buf_free(&b);
	return 0;
}
