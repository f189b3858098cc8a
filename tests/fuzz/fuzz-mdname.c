/* libFuzzer target: mailbox name validation and the UTF-8 -> modified
 * UTF-7 directory mapping. A valid name maps to a directory name that maps
 * back to it; no directory name ever contains '/' or is "." or "..". */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "maildir/maildir-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[512], dir[MD_MAX_NAME + 1], back[1024];

	if (size >= sizeof(name))
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	/* Any bytes as a directory entry: decoded names are valid ones. */
	if (md_dir_to_name(name, back, sizeof(back)) == 0)
		assert(md_name_valid(back));
	if (md_name_to_dir(name, dir, sizeof(dir)) < 0)
		return 0;
	assert(md_name_valid(name));
	assert(strchr(dir, '/') == NULL && strcmp(dir, ".") != 0 &&
	       strcmp(dir, "..") != 0);
	if (dir[0] == '\0' || strncasecmp(name, "INBOX.", 6) == 0)
		return 0;
	assert(dir[0] == '.');
	assert(md_dir_to_name(dir, back, sizeof(back)) == 0);
	assert(strcmp(back, name) == 0);
	return 0;
}
