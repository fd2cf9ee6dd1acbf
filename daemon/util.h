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

/* Parts of a receiver URL at least this long are scrubbed on their own:
 * shorter ones carry little secret and turn up in ordinary text. */
#define SCRUB_MIN 6

/*
 * Replaces in s (in place, with '*'s) everything of a receiver's
 * configuration that may be a credential, wherever it appears in text the
 * receiver or a library sent back: the whole url; its userinfo; every path
 * segment, query value and fragment of at least SCRUB_MIN bytes (tokens
 * live there: DingTalk access_token=, WeCom key=, Feishu /hook/<token>,
 * Slack /services/T../B../<token>) but the chat vendors' public path words
 * (webhook, services, ...); and secret. Each as written, percent-decoded
 * and percent-encoded, longest first, so a token that contains another is
 * scrubbed whole. url and secret may be NULL.
 */
void scrub_receiver(char *s, const char *url, const char *secret);

#endif
