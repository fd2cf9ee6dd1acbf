/* Webhook bodies and signatures (DATA-CONTRACT.md, "Webhook contract"). */
#include "webhook.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "utf8.h"

char *webhook_json_body(const char *event, int64_t alert_id, const char *finding_json, time_t sent_at)
{
	char when[32];
	struct tm tm;
	struct buf b;
	json_t *ev = json_string_or_fixed(event);
	char *ev_text = json_dumps(ev, JSON_ENCODE_ANY);

	gmtime_r(&sent_at, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_init(&b);
	buf_printf(&b, "{\"version\":1,\"event\":%s,\"alert_id\":%lld,\"finding\":%s,\"sent_at\":\"%s\"}",
		   ev_text ? ev_text : "\"\"", (long long)alert_id, finding_json, when);
	free(ev_text);
	json_decref(ev);
	return buf_steal(&b);
}

void webhook_sign(const char *secret, time_t t, const char *body, size_t len, char out[WEBHOOK_SIG_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char ts[24];
	struct buf msg;

	snprintf(ts, sizeof ts, "%lld", (long long)t);
	buf_init(&msg);
	buf_printf(&msg, "%s.", ts);
	buf_add(&msg, body, len);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg.data, msg.len, md, &mdlen);
	buf_free(&msg);
	int n = snprintf(out, WEBHOOK_SIG_MAX, "t=%s,v1=", ts);
	for (unsigned i = 0; i < mdlen && n + 2 < WEBHOOK_SIG_MAX; i++)
		n += snprintf(out + n, (size_t)(WEBHOOK_SIG_MAX - n), "%02x", md[i]);
}
