/* libFuzzer target: the UID-list reader. Any input is either refused or
 * parsed into a list that formats back to the same bytes. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir/maildir-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md_uidlist ul, again;
	size_t len;
	char *out;

	if (md_uidlist_parse((const char *)data, size, &ul) < 0)
		return 0;
	/* A parsed list formats to a list that parses to the same list. */
	out = md_uidlist_format(&ul, &len);
	assert(md_uidlist_parse(out, len, &again) == 0);
	assert(again.count == ul.count && again.uidnext == ul.uidnext &&
	       again.uidvalidity == ul.uidvalidity);
	assert(ul.count == 0 || strcmp(again.recs[ul.count - 1].name,
				       ul.recs[ul.count - 1].name) == 0);
	free(out);
	md_uidlist_clear(&again);
	md_uidlist_clear(&ul);
	return 0;
}
