/* What goes on the wire for one alert: the body per receiver format and
 * the signature. No I/O here, so every byte is unit-testable. */
#ifndef QF_WEBHOOK_H
#define QF_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>" fits in this */
#define WEBHOOK_SIG_MAX 96

/* The json format body of the webhook contract. finding_json is the
 * finding object as PostgreSQL rendered it (exact numerics), inserted
 * verbatim. Caller frees. */
char *webhook_json_body(const char *event, int64_t alert_id, const char *finding_json, time_t sent_at);

/* Writes the X-Qingfeng-Signature value for body into out. */
void webhook_sign(const char *secret, time_t t, const char *body, size_t len, char out[WEBHOOK_SIG_MAX]);

#endif
