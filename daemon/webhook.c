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

/*
 * Appends the JSON text s to b with every string value (not key) longer
 * than max bytes, decoded, cut to max on a character boundary and marked.
 * The text is valid JSON (PostgreSQL's jsonb rendering); a string that
 * does not decode is copied as it is. Works on the text, not on a parsed
 * tree, so numbers keep PostgreSQL's exact digits and keys their order.
 */
static void cap_strings(struct buf *b, const char *s, size_t max)
{
	size_t n = strlen(s), from = 0, i = 0;

	while (i < n) {
		if (s[i] != '"') {
			i++;
			continue;
		}
		size_t a = i;
		for (i++; i < n && s[i] != '"'; i++)
			if (s[i] == '\\')
				i++;
		if (i >= n)
			break; /* unterminated: copied as it is */
		size_t z = ++i, k = z;
		while (k < n && strchr(" \t\r\n", s[k]))
			k++;
		/* escapes only ever shorten a string when decoded, so a short
		 * token is a short string */
		if (z - a - 2 <= max || (k < n && s[k] == ':'))
			continue;
		json_t *j = json_loadb(s + a, z - a, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		size_t len = json_string_length(j);
		if (json_is_string(j) && len > max) {
			const char *v = json_string_value(j);
			size_t keep = utf8_cut(v, len, max);
			struct buf t;
			buf_init(&t);
			buf_add(&t, v, keep);
			buf_printf(&t, WEBHOOK_CUT_FMT, len - keep);
			json_t *cut = json_stringn(t.data, t.len);
			char *text = json_dumps(cut, JSON_ENCODE_ANY);
			if (text) {
				buf_add(b, s + from, a - from);
				buf_puts(b, text);
				from = z;
			}
			free(text);
			json_decref(cut);
			buf_free(&t);
		}
		json_decref(j);
	}
	buf_add(b, s + from, n - from);
}

char *webhook_json_body(const char *event, int64_t alert_id, const char *finding_json, time_t sent_at)
{
	char when[32];
	struct tm tm;
	struct buf b, f;
	json_t *ev = json_string_or_fixed(event);
	char *ev_text = json_dumps(ev, JSON_ENCODE_ANY);
	/* an anchor of the history chain (TRUST.md) carries the head, not a finding */
	const char *what = event && !strncmp(event, "chain.", 6) ? "anchor" : "finding";

	gmtime_r(&sent_at, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_init(&b);
	buf_init(&f);
	for (size_t max = WEBHOOK_FIELD_MAX;; max /= 2) {
		buf_reset(&b);
		buf_reset(&f);
		cap_strings(&f, finding_json, max);
		buf_printf(&b, "{\"version\":1,\"event\":%s,\"alert_id\":%lld,\"%s\":%s,\"sent_at\":\"%s\"}",
			   ev_text ? ev_text : "\"\"", (long long)alert_id, what, f.data, when);
		if (b.len <= WEBHOOK_BODY_MAX || max / 2 < WEBHOOK_FIELD_MIN)
			break;
	}
	buf_free(&f);
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
