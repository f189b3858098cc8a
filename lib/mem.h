/* Allocation wrappers: they log and end the process on out-of-memory, as
 * Dovecot and OpenSMTPD do, so callers never handle a NULL from them. */
#ifndef LIB_MEM_H
#define LIB_MEM_H

#include <stddef.h>

/* Each returns memory the caller frees with free(3); never NULL. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Like xrealloc for an array of nmemb elements, checking the product. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
