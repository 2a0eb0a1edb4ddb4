/* buf — a growable byte buffer with a hard maximum.
 *
 * Ownership: a buf owns its data; buf_free (or buf_wipe) releases it. The data
 * is always NUL-terminated after a successful append, so b->data can be used
 * as a C string when the content has no NUL bytes. A zeroed buf (BUF_INIT) is
 * valid and empty with no maximum beyond BUF_DEFAULT_MAX. */
#ifndef DEADBOLT_BUF_H
#define DEADBOLT_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define BUF_DEFAULT_MAX ((size_t)64 << 20) /* 64 MiB when max is 0 */

typedef struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0 means BUF_DEFAULT_MAX */
} buf;

#define BUF_INIT {0}

void buf_init(buf *b, size_t max);
/* Each append returns 0, or -1 when it would pass the maximum or memory ran
 * out; on -1 the buffer is unchanged. */
int buf_append(buf *b, const void *p, size_t n);
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Appends s percent-encoded as RFC 3986 (unreserved A-Z a-z 0-9 - _ . ~ kept);
 * keep_slash leaves '/' as is (for URI paths). */
int buf_put_uri_encoded(buf *b, const char *s, size_t n, int keep_slash);
const char *buf_cstr(const buf *b); /* "" for an empty buffer */
void buf_reset(buf *b);             /* len = 0, keeps the memory */
void buf_free(buf *b);
void buf_wipe(buf *b); /* cleanse then free: for buffers that held secrets */

#endif
