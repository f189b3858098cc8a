/* A growable byte buffer that carries its own maximum: an append past the
 * maximum fails instead of growing, so every limit is part of the object.
 * The data is always NUL-terminated (the NUL is not counted in len). */
#ifndef LIB_BUF_H
#define LIB_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NULL until the first append */
	size_t len; /* bytes in use */
	size_t cap; /* bytes allocated */
	size_t max; /* len never exceeds this */
};

/* Initialise an empty buffer that may hold at most max bytes
 * (0 means SIZE_MAX - 1). Allocates nothing. */
void buf_init(struct buf *b, size_t max);
/* Append n bytes. Returns 0, or -1 (buffer unchanged) when len + n > max. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
/* Append formatted text. Returns 0, or -1 (buffer unchanged) over max. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Remove the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Make len 0, keeping the allocation. */
void buf_reset(struct buf *b);
/* Shorten to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);
/* Free the storage; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);
/* Return the data as a C string (never NULL; "" when empty). */
const char *buf_cstr(const struct buf *b);

#endif
