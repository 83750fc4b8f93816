/*
 * buf.h - growable byte buffer with a hard cap.
 *
 * Invariants: `data` is NULL or holds `len` bytes followed by a NUL (so text can be used as a C
 * string); `len < cap_limit` always.  The cap is set at init and never exceeded: an append that
 * would pass it fails with -1 and leaves the buffer as it was.  Buffers fed from the network always
 * get a cap.
 */
#ifndef GW_BUF_H
#define GW_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t cap_limit;   /* most bytes the buffer may ever hold */
};

/* Prepares an empty buffer that may grow to `cap_limit` bytes.  Allocates nothing. */
void buf_init(struct buf *b, size_t cap_limit);

/* Frees the storage and leaves an empty buffer with the same cap. */
void buf_release(struct buf *b);

/* Forgets the content, keeps the storage. */
void buf_reset(struct buf *b);

/* Forgets the content past its first `len` bytes (nothing when it is no longer than that). */
void buf_truncate(struct buf *b, size_t len);

/* Appends; 0 on success, -1 past the cap or out of memory (buffer unchanged). */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hands the storage to the caller (who frees it with free()) and leaves the buffer empty.  Returns
 * an empty allocated string when nothing was appended; NULL only when out of memory. */
char *buf_detach(struct buf *b, size_t *len);

/* The content as a C string ("" when empty); valid until the next change to the buffer. */
const char *buf_cstr(const struct buf *b);

#endif
