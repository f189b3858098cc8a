/* Taking over a Maildir that Dovecot (or Courier) served: when a folder has
 * no imapmoved-uidlist yet, its dovecot-uidlist (or Courier's
 * courierimapuiddb, the same format's version 1) gives the UIDVALIDITY, the
 * next UID and the UID of each file, so that the first scan keeps them and
 * clients see the same UIDs as before: no cache thrown away, no message
 * downloaded twice. The file is only read, never written.
 *
 * Formats (https://doc.dovecot.org, "Maildir Mailbox Format"):
 *   version 3:  "3 V<uidvalidity> N<nextuid> [G<guid>] [other fields]"
 *               then "<uid> [<ext> ...] :<file name>" per message
 *   version 1:  "1 <uidvalidity> <nextuid>"
 *               then "<uid> <file name>" per message
 * A file name may carry ":2,<info>"; only its base name counts. Anything
 * this reader does not understand makes it ignore the whole file (the
 * folder then gets new UIDs, as without it).
 */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/num.h"

/* A list bigger than this is not read (a million messages take ~100 MB). */
#define DOVECOT_MAX_LIST ((size_t)256 * 1024 * 1024)

static const char *const list_names[] = {"dovecot-uidlist", "courierimapuiddb"};

void
md_dovecot_map_free(struct md_dovecot_map *m)
{
	free(m->data);
	free(m->ents);
	memset(m, 0, sizeof(*m));
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct md_dovecot_ent *x = a, *y = b;
	size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
	int c = memcmp(x->base, y->base, n);

	return c != 0 ? c
		      : (x->base_len > y->base_len) -
				(x->base_len < y->base_len);
}

/* "<letter><u32>" anywhere among the header's fields. */
static int
header_field(const char *line, const char *end, char tag, uint32_t *v_r)
{
	const char *p = line;

	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *fe = sp ? sp : end;

		if (*p == tag && fe - p > 1)
			return num_parse_u32(p + 1, (size_t)(fe - p - 1), v_r);
		p = fe + 1;
	}
	return -1;
}

/* One record line [p, end) of a version 3 (v3) or 1 list into m. */
static int
parse_record(char *p, char *end, bool v3, struct md_dovecot_map *m)
{
	char *sp = memchr(p, ' ', (size_t)(end - p)), *name, *colon;
	struct md_dovecot_ent *e;
	uint32_t uid;

	/* Dovecot writes them ascending: anything else is not its list. */
	if (sp == NULL || num_parse_u32(p, (size_t)(sp - p), &uid) < 0 ||
	    uid == 0 || uid >= m->uidnext ||
	    (m->count > 0 && uid <= m->ents[m->count - 1].uid))
		return -1;
	if (v3) {
		/* Extension fields, then " :" and the name. */
		name = memchr(sp, ':', (size_t)(end - sp));
		if (name == NULL || name[-1] != ' ')
			return -1;
		name++;
	} else {
		name = sp + 1;
	}
	if (name >= end || *name == '.' ||
	    memchr(name, '/', (size_t)(end - name)))
		return -1;
	colon = memchr(name, ':', (size_t)(end - name));
	if (m->count == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 256;
		m->ents = xreallocarray(m->ents, m->cap, sizeof(*m->ents));
	}
	e = &m->ents[m->count++];
	e->base = name;
	e->base_len = (size_t)((colon ? colon : end) - name);
	e->uid = uid;
	e->taken = false;
	return 0;
}

static int
parse(struct md_dovecot_map *m, size_t len)
{
	char *p = m->data, *end = m->data + len, *nl;
	bool v3;

	nl = memchr(p, '\n', len);
	if (nl == NULL)
		return -1;
	if (p[0] == '3' && p[1] == ' ') {
		v3 = true;
		if (header_field(p + 2, nl, 'V', &m->uidvalidity) < 0 ||
		    header_field(p + 2, nl, 'N', &m->uidnext) < 0)
			return -1;
	} else if (p[0] == '1' && p[1] == ' ') {
		char *sp = memchr(p + 2, ' ', (size_t)(nl - p - 2));

		v3 = false;
		if (sp == NULL ||
		    num_parse_u32(p + 2, (size_t)(sp - p - 2),
				  &m->uidvalidity) < 0 ||
		    num_parse_u32(sp + 1, (size_t)(nl - sp - 1), &m->uidnext) <
			    0)
			return -1;
	} else {
		return -1;
	}
	if (m->uidvalidity == 0 || m->uidnext == 0)
		return -1;
	for (p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl > p && parse_record(p, nl, v3, m) < 0)
			return -1;
	}
	if (m->count > 1)
		qsort(m->ents, m->count, sizeof(*m->ents), ent_cmp);
	return 0;
}

int
md_dovecot_map_read(int dirfd, struct md_dovecot_map *m)
{
	struct stat st;
	size_t i, len = 0;
	ssize_t r = 0;
	int fd = -1;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < sizeof(list_names) / sizeof(*list_names) && fd < 0; i++)
		fd = openat(dirfd, list_names[i],
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	i--;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > DOVECOT_MAX_LIST) {
		(void)close(fd);
		return 0;
	}
	m->data = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size &&
	       (r = io_read(fd, m->data + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)r;
	(void)close(fd);
	m->data[len] = '\0';
	if (r < 0 || memchr(m->data, '\0', len) != NULL || parse(m, len) < 0) {
		log_warn("maildir: %s not understood; UIDs will be new",
			 list_names[i]);
		md_dovecot_map_free(m);
		return 0;
	}
	log_info("maildir: taking UIDs from %s (UIDVALIDITY %u, %zu messages)",
		 list_names[i], m->uidvalidity, m->count);
	return 1;
}

struct md_dovecot_ent *
md_dovecot_map_find(struct md_dovecot_map *m, const char *base, size_t base_len)
{
	struct md_dovecot_ent key = {0};

	if (m == NULL || m->count == 0)
		return NULL;
	key.base = base;
	key.base_len = base_len;
	return bsearch(&key, m->ents, m->count, sizeof(*m->ents), ent_cmp);
}
