/* A per-command bump allocator over chunks. Everything allocated from an
 * arena lives until arena_reset(), arena_rewind() past it, or arena_free().
 * Mark and rewind let a loop over many messages reuse the same memory. */
#ifndef LIB_ARENA_H
#define LIB_ARENA_H

#include <stddef.h>

struct arena;

struct arena_mark {
	void *chunk;
	size_t used;
};

/* Never NULL (allocation failure ends the process). */
struct arena *arena_new(void);
/* Free everything; accepts NULL and sets *ap to NULL. */
void arena_free(struct arena **ap);
/* Memory aligned for any type, owned by the arena. size 0 is allowed. */
void *arena_alloc(struct arena *a, size_t size);
/* Like arena_alloc, zero-filled, checking nmemb * size for overflow. */
void *arena_calloc(struct arena *a, size_t nmemb, size_t size);
/* A NUL-terminated copy of the first n bytes of s (NUL bytes are kept). */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Remember the current position; rewinding frees all allocated since. */
struct arena_mark arena_mark(struct arena *a);
void arena_rewind(struct arena *a, struct arena_mark m);
/* Free all allocations, keeping the first chunk for reuse. */
void arena_reset(struct arena *a);

#endif
