/* The compact uid-set writer of UIDPLUS (RFC 4315 3): "1:3,5" for the UIDs
 * 1 2 3 5, keeping their order, so that the source and target sets of a
 * COPYUID still pair up element by element. Shared by COPY and MOVE.
 * Never touches the filesystem.
 */
#include "protocol/imap-private.h"

/* uid-set         = (uniqueid / uid-range) *("," uid-set)
 * uid-range       = (uniqueid ":" uniqueid)              (RFC 4315 4)
 * A run of UIDs each one above the previous becomes one range. */
int
imap_uidset_append(struct buf *b, const uint32_t *uids, size_t count)
{
	size_t i = 0;
	int ret = 0;

	while (i < count && ret == 0) {
		size_t j = i;

		while (j + 1 < count && uids[j] != UINT32_MAX &&
		       uids[j + 1] == uids[j] + 1)
			j++;
		if (i > 0)
			ret = buf_putc(b, ',');
		if (ret == 0 && j == i)
			ret = buf_printf(b, "%u", uids[i]);
		else if (ret == 0)
			ret = buf_printf(b, "%u:%u", uids[i], uids[j]);
		i = j + 1;
	}
	return ret;
}
