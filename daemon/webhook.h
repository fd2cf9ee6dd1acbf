/* What goes on the wire for one alert: the body per receiver format and
 * the signature. No I/O here, so every byte is unit-testable. */
#ifndef QF_WEBHOOK_H
#define QF_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>" fits in this */
#define WEBHOOK_SIG_MAX 96

/* The json body's size limit: far above any finding a rule writes (about
 * 1 KB), far below what receivers and proxies refuse (nginx: 1 MB). */
#define WEBHOOK_BODY_MAX 65536
/* Bytes of one string value of the finding (evidence, message, names):
 * a record's field may hold a whole document. */
#define WEBHOOK_FIELD_MAX 2048
/* the least the cap goes down to, to bring a body under WEBHOOK_BODY_MAX */
#define WEBHOOK_FIELD_MIN 64
/* what replaces the end of a string value that was cut (printf format) */
#define WEBHOOK_CUT_FMT "…[cut %zu bytes]"

/* The json format body of the webhook contract. finding_json is the
 * finding object as PostgreSQL rendered it (exact numerics), inserted as
 * it is but for its string values (keys are kept) of more than
 * WEBHOOK_FIELD_MAX bytes: each is cut on a UTF-8 character boundary and
 * ends with WEBHOOK_CUT_FMT, the bytes cut. Should the body still exceed
 * WEBHOOK_BODY_MAX, the cap is halved until it fits or reaches
 * WEBHOOK_FIELD_MIN; the caller checks the length and sends the minimal
 * finding instead of one still too large. Caller frees. */
/* An event chain.* (a chain anchor) carries its object under "anchor"
 * instead of "finding". */
char *webhook_json_body(const char *event, int64_t alert_id, const char *finding_json, time_t sent_at);

/* Writes the X-Qingfeng-Signature value for body into out. */
void webhook_sign(const char *secret, time_t t, const char *body, size_t len, char out[WEBHOOK_SIG_MAX]);

#endif
