/*
 * ap_buf.h - a growable byte buffer with a hard cap.
 *
 * The cap is fixed when the buffer is created; an append that would pass it
 * fails with AP_ETOOBIG and leaves the buffer unchanged.  The data is always
 * followed by a NUL byte (not counted in len), so text can be used as a C
 * string.  A zeroed struct is not usable: call ap_buf_init().
 */
#ifndef AP_BUF_H
#define AP_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct ap_buf {
	char *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap;   /* bytes allocated */
	size_t limit; /* hard maximum of len */
};

void ap_buf_init(struct ap_buf *b, size_t limit);
/* Frees the data; the buffer may be reused after ap_buf_init(). NULL ok. */
void ap_buf_free(struct ap_buf *b);
/* Empties the buffer and keeps its memory. */
void ap_buf_reset(struct ap_buf *b);
int ap_buf_append(struct ap_buf *b, const void *data, size_t len);
int ap_buf_appends(struct ap_buf *b, const char *s);
int ap_buf_printf(struct ap_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ap_buf_vprintf(struct ap_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Removes the first n bytes (n <= len). */
void ap_buf_consume(struct ap_buf *b, size_t n);
/* Hands the data to the caller (who frees it with free()); empties b. */
char *ap_buf_steal(struct ap_buf *b, size_t *ret_len);

/* The one grow-by-doubling of a malloc'd array: *(void **)arrayp holds
 * *cap elements of size bytes, n of them used.  When n == *cap it is
 * reallocated to twice as many (first when *cap is 0) and *cap updated;
 * else nothing is done.  0, or AP_ENOMEM with the array and *cap as they
 * were.  Use: if (ap_grow(&v, &cap, n, sizeof(*v), 64) < 0) ... */
int ap_grow(void *arrayp, size_t *cap, size_t n, size_t size, size_t first);

#endif
