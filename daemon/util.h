/* Small helpers shared by the daemon and qfctl: allocation that cannot
 * return NULL, a growable string buffer, time. */
#ifndef QF_UTIL_H
#define QF_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QF_MUST_CHECK __attribute__((warn_unused_result))

/* Allocation failure aborts: the daemon cannot do anything useful without
 * memory, and a half-built finding must never be committed. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

struct buf {
	char *data;
	size_t len, cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_add(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* caller frees the returned string; the buffer is left empty */
char *buf_steal(struct buf *b);

/* CLOCK_MONOTONIC and CLOCK_REALTIME in milliseconds */
int64_t now_mono_ms(void);
int64_t now_real_ms(void);
int64_t now_real_us(void);

/* Reads a whole file; caller frees. NULL with errno on failure. */
char *read_file(const char *path, size_t *len);

/* Replaces every occurrence of needle in s (in place) with '*'s. Used to keep
 * secrets out of error texts that came from libraries. */
void scrub_secret(char *s, const char *needle);

#endif
