/* Inside the chat formats: what chat.c (message layout and size),
 * chat_text.c (record text made inert), chat_sign.c (signatures, URLs)
 * and chat_answer.c (vendor answers) share. chat.h is the interface for
 * everyone else. */
#ifndef QF_CHAT_INT_H
#define QF_CHAT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "chat.h"
#include "util.h"

static inline bool chat_is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Appends record text s[0..n) to b, inert for format f: at most max
 * bytes of it (0 = all), on one line (quote NULL) or with quote starting
 * every line. The rules are at the top of chat_text.c. */
void chat_put_data(struct buf *b, enum chat_format f, const char *s, size_t n, size_t max, const char *quote);
/* "k=v · k2=v2" for an evidence object (JSON text), its values as
 * written, each inert; the raw text (as data) when it is not an object. */
void chat_put_evidence(struct buf *b, enum chat_format f, const char *ev);

#endif
