/* libFuzzer target for the MIME parser: arbitrary bytes are parsed, and
 * ENVELOPE, BODY, BODYSTRUCTURE, a few sections and the SEARCH helpers run
 * over the result. Checks that literal sizes match the bytes written. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/buf.h"
#include "protocol/mime-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t part_lists[][3] = {
	{1, 0, 0}, {2, 0, 0}, {1, 1, 0}, {2, 1, 0}, {1, 2, 1}, {3, 1, 2},
};
static const char *const field_names[] = {"Subject", "from", "X-None"};

static void
check_sections(struct arena *a, const struct mime_message *m)
{
	struct mime_section spec = {0};
	struct mime_view v;
	struct buf out;
	size_t i;
	int t;

	buf_init(&out, 0);
	spec.fields = field_names;
	spec.nfields = 3;
	for (i = 0; i < sizeof(part_lists) / sizeof(part_lists[0]); i++)
		for (t = MIME_SECTION_ALL; t <= MIME_SECTION_MIME; t++) {
			spec.parts = part_lists[i];
			spec.nparts = i % 4;
			spec.text = (enum mime_section_text)t;
			spec.has_partial = (i & 1) != 0;
			spec.origin = i * 3;
			spec.count = 17;
			(void)mime_section_resolve(a, m, &spec, &v);
			buf_reset(&out);
			if (mime_section_fetch(a, m, &spec, &out) != 0)
				abort();
			if (out.len !=
			    (spec.has_partial
				     ? mime_view_slice_size(&v, spec.origin,
							    spec.count)
				     : v.size))
				abort();
		}
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct mime_message *m = mime_parse(a, data, size);
	struct buf out;

	buf_init(&out, 0);
	if (mime_write_envelope(&out, a, m, m->root) != 0 ||
	    mime_write_bodystructure(&out, a, m, m->root, false) != 0 ||
	    mime_write_bodystructure(&out, a, m, m->root, true) != 0)
		abort();
	check_sections(a, m);
	(void)mime_search_text(data, size, "\xc3\xa9t\xc3\xa9",
			       MIME_SEARCH_TEXT, NULL);
	(void)mime_search_text(data, size, "a", MIME_SEARCH_HEADER, "subject");
	buf_free(&out);
	arena_free(&a);
	return 0;
}
