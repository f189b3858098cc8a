/* mime-dump FILE [SECTION...]: print the ENVELOPE, BODY and BODYSTRUCTURE
 * of a message file and the bytes of each BODY[SECTION]<partial>, for the
 * Dovecot comparison in tests/interop/run-mime-dovecot.py. Each item is
 * printed as "NAME LEN\n" followed by LEN bytes and "\n". A SECTION is
 * written as in FETCH without brackets, with HEADER.FIELDS names
 * separated by spaces and no parentheses: "2.HEADER.FIELDS FROM TO<0.9>".
 * An argument "?BODY needle", "?TEXT needle" or "?HEADER name needle"
 * prints SEARCH with the content 1 when the message matches, else 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/io.h"
#include "lib/num.h"
#include "protocol/mime-private.h"

#define MAX_NUMS 32

static const struct {
	const char *name;
	enum mime_section_text text;
} texts[] = {
	{"HEADER.FIELDS.NOT", MIME_SECTION_FIELDS_NOT},
	{"HEADER.FIELDS", MIME_SECTION_FIELDS},
	{"HEADER", MIME_SECTION_HEADER},
	{"TEXT", MIME_SECTION_TEXT},
	{"MIME", MIME_SECTION_MIME},
};

/* Read digits at *sp into *v_r; returns -1 when there are none. */
static int
take_number(const char **sp, uint64_t *v_r)
{
	const char *s = *sp;
	size_t n = strspn(s, "0123456789");

	if (num_parse_u64(s, n, UINT64_MAX, v_r) < 0)
		return -1;
	*sp = s + n;
	return 0;
}

static int
parse_partial(const char *s, struct mime_section *spec)
{
	if (*s == '\0')
		return 0;
	if (*s++ != '<' || take_number(&s, &spec->origin) < 0 || *s++ != '.' ||
	    take_number(&s, &spec->count) < 0 || strcmp(s, ">") != 0)
		return -1;
	spec->has_partial = true;
	return 0;
}

static int
parse_section(struct arena *a, const char *s, struct mime_section *spec)
{
	uint32_t *parts = arena_calloc(a, MAX_NUMS, sizeof(*parts));
	const char **fields = arena_calloc(a, MAX_NUMS, sizeof(*fields));
	uint64_t v;
	size_t i;

	memset(spec, 0, sizeof(*spec));
	spec->parts = parts;
	spec->fields = fields;
	while (spec->nparts < MAX_NUMS && take_number(&s, &v) == 0) {
		if (v == 0 || v > UINT32_MAX)
			return -1;
		parts[spec->nparts++] = (uint32_t)v;
		if (*s == '.')
			s++;
	}
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strncmp(s, texts[i].name, strlen(texts[i].name)) == 0) {
			spec->text = texts[i].text;
			s += strlen(texts[i].name);
			break;
		}
	while (*s == ' ' && spec->nfields < MAX_NUMS) {
		size_t n = strcspn(s + 1, " <");

		fields[spec->nfields++] = arena_strndup(a, s + 1, n);
		s += 1 + n;
	}
	return parse_partial(s, spec);
}

/* "?BODY x", "?TEXT x", "?HEADER name x": returns 1 or 0, -1 if bad. */
static int
search(struct arena *a, const struct mime_message *m, const char *q)
{
	enum mime_search_where where;
	const char *name = NULL, *sp;

	if (strncmp(q, "?BODY ", 6) == 0) {
		where = MIME_SEARCH_BODY;
		q += 6;
	} else if (strncmp(q, "?TEXT ", 6) == 0) {
		where = MIME_SEARCH_TEXT;
		q += 6;
	} else if (strncmp(q, "?HEADER ", 8) == 0 &&
		   (sp = strchr(q + 8, ' ')) != NULL) {
		where = MIME_SEARCH_HEADER;
		name = arena_strndup(a, q + 8, (size_t)(sp - (q + 8)));
		q = sp + 1;
	} else
		return -1;
	return mime_search_message(a, m, q, where, name) ? 1 : 0;
}

static void
print_item(const char *name, const struct buf *b)
{
	printf("%s %zu\n", name, b->len);
	if (b->len > 0 && fwrite(b->data, 1, b->len, stdout) != b->len)
		exit(1);
	putchar('\n');
}

int
main(int argc, char **argv)
{
	struct arena *a = arena_new();
	struct mime_message *m;
	struct mime_section spec;
	struct buf msg, out;
	int i;

	if (argc < 2) {
		(void)fprintf(stderr, /* nothing to do if stderr fails */
			      "usage: mime-dump FILE [SECTION...]\n");
		return 2;
	}
	buf_init(&msg, 0);
	buf_init(&out, 0);
	if (io_read_file(argv[1], &msg) < 0) {
		perror(argv[1]);
		return 1;
	}
	m = mime_parse(a, (const unsigned char *)buf_cstr(&msg), msg.len);
	if (mime_write_envelope(&out, a, m, m->root) < 0)
		return 1;
	print_item("ENVELOPE", &out);
	buf_reset(&out);
	if (mime_write_bodystructure(&out, a, m, m->root, false) < 0)
		return 1;
	print_item("BODY", &out);
	buf_reset(&out);
	if (mime_write_bodystructure(&out, a, m, m->root, true) < 0)
		return 1;
	print_item("BODYSTRUCTURE", &out);
	for (i = 2; i < argc; i++) {
		buf_reset(&out);
		if (argv[i][0] == '?') {
			int r = search(a, m, argv[i]);

			if (r < 0 || buf_putc(&out, (char)('0' + r)) < 0)
				return 2;
			print_item("SEARCH", &out);
			continue;
		}
		if (parse_section(a, argv[i], &spec) < 0) {
			(void)fprintf(stderr, "bad section %s\n",
				      argv[i]); /* exits with 2 anyway */
			return 2;
		}
		if (mime_section_fetch(a, m, &spec, &out) < 0)
			return 1;
		print_item("SECTION", &out);
	}
	buf_free(&out);
	buf_free(&msg);
	arena_free(&a);
	return 0;
}
