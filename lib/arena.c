/* Bump allocator over a list of chunks (see arena.h). Chunks are kept in a
 * singly linked list, newest first; large requests get a chunk of their own. */
#include "arena.h"

#include <stdarg.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define ARENA_CHUNK 8192
#define ARENA_ALIGN alignof(max_align_t)

struct chunk {
	struct chunk *prev;
	size_t size;
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct chunk *cur;
};

static struct chunk *
chunk_new(struct chunk *prev, size_t size)
{
	struct chunk *c;

	if (size > SIZE_MAX - sizeof(*c))
		size = SIZE_MAX - sizeof(*c); /* xmalloc fails and exits */
	c = xmalloc(sizeof(*c) + size);
	c->prev = prev;
	c->size = size;
	c->used = 0;
	return c;
}

struct arena *
arena_new(void)
{
	struct arena *a = xmalloc(sizeof(*a));

	a->cur = chunk_new(NULL, ARENA_CHUNK);
	return a;
}

void
arena_free(struct arena **ap)
{
	struct arena *a = *ap;
	struct chunk *c, *prev;

	if (a == NULL)
		return;
	for (c = a->cur; c != NULL; c = prev) {
		prev = c->prev;
		free(c);
	}
	free(a);
	*ap = NULL;
}

void *
arena_alloc(struct arena *a, size_t size)
{
	struct chunk *c = a->cur;
	size_t off = (c->used + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	void *p;

	if (off > c->size || size > c->size - off) {
		size_t want = size > ARENA_CHUNK / 2 ? size : ARENA_CHUNK;

		c = chunk_new(c, want);
		a->cur = c;
		off = 0;
	}
	p = c->data + off;
	c->used = off + size;
	return p;
}

void *
arena_calloc(struct arena *a, size_t nmemb, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &total))
		total = SIZE_MAX; /* chunk_new clamps and xmalloc exits */
	p = arena_alloc(a, total);
	memset(p, 0, total);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return arena_strdup(a, "");
	p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	(void)vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

struct arena_mark
arena_mark(struct arena *a)
{
	struct arena_mark m = {a->cur, a->cur->used};

	return m;
}

void
arena_rewind(struct arena *a, struct arena_mark m)
{
	struct chunk *prev;

	while (a->cur != m.chunk && a->cur->prev != NULL) {
		prev = a->cur->prev;
		free(a->cur);
		a->cur = prev;
	}
	a->cur->used = m.used;
}

void
arena_reset(struct arena *a)
{
	struct chunk *prev;

	while (a->cur->prev != NULL) {
		prev = a->cur->prev;
		free(a->cur);
		a->cur = prev;
	}
	a->cur->used = 0;
}
