/* Webhook body and signature: known-answer vectors (computed with
 * `openssl dgst -sha256 -hmac`), the body stays valid JSON whatever the
 * finding text holds, and within WEBHOOK_BODY_MAX whatever its size. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "utf8.h"
#include "util.h"
#include "webhook.h"

/* n copies of unit */
static char *repeat(const char *unit, size_t n)
{
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < n; i++)
		buf_puts(&b, unit);
	return buf_steal(&b);
}

/* the decoded string at finding.evidence.<key> of a body, or NULL */
static const char *evidence_str(json_t *body, const char *key)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(body, "finding"), "evidence"), key));
}

/* s is the first keep bytes of orig followed by the cut marker for the rest */
static int cut_as(const char *s, const char *orig, size_t keep)
{
	char marker[64];

	snprintf(marker, sizeof marker, WEBHOOK_CUT_FMT, strlen(orig) - keep);
	return s && strlen(s) == keep + strlen(marker) && !strncmp(s, orig, keep) && !strcmp(s + keep, marker);
}

static void test_caps(void)
{
	char *blob = repeat("x", 200000), *cjk = repeat("中", 1000), *esc = repeat("a\\\"\\n\\u0001", 1000);
	struct buf f;
	json_t *j;
	char *body;

	/* a 200 KB record field: cut to 2 KB, marked, the rest intact */
	buf_init(&f);
	buf_printf(&f, "{\"id\": 7, \"message\": \"m\", \"evidence\": {\"amount\": 48000.00, \"invoice_no\": \"%s\", "
		       "\"cjk\": \"%s\", \"esc\": \"%s\", \"%.3000s\": 1}}",
		   blob, cjk, esc, blob);
	body = webhook_json_body("finding.new", 42, f.data, 1764040446);
	j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	ok(j && strlen(body) <= WEBHOOK_BODY_MAX, "a 200 KB value: the body is JSON of %zu bytes, within %d", strlen(body),
	   WEBHOOK_BODY_MAX);
	char key[3001];
	memcpy(key, blob, 3000);
	key[3000] = '\0';
	ok(cut_as(evidence_str(j, "invoice_no"), blob, WEBHOOK_FIELD_MAX) && strstr(body, "\"amount\": 48000.00") &&
		   strstr(body, "\"message\": \"m\"") &&
		   json_integer_value(json_object_get(json_object_get(j, "finding"), "id")) == 7 &&
		   json_object_get(json_object_get(json_object_get(j, "finding"), "evidence"), key) != NULL,
	   "the value is its first %d bytes and '…[cut 197952 bytes]'; numbers keep their digits, short strings "
	   "and a 3000-byte key (rules name keys; records fill values) stay as they were",
	   WEBHOOK_FIELD_MAX);
	const char *c = evidence_str(j, "cjk");
	ok(cut_as(c, cjk, 2046) && utf8_valid(c, strlen(c)), "CJK is cut on a character boundary (2046 bytes kept)");
	char *esc_dec = repeat("a\"\n\001", 1000);
	ok(cut_as(evidence_str(j, "esc"), esc_dec, WEBHOOK_FIELD_MAX), "escapes are counted decoded, and re-encoded");
	json_decref(j);
	free(body);
	buf_free(&f);

	/* many large values: the cap comes down until the whole fits */
	buf_init(&f);
	buf_puts(&f, "{\"id\": 8, \"evidence\": {");
	for (int i = 0; i < 100; i++)
		buf_printf(&f, "%s\"k%d\": \"%.5000s\"", i ? ", " : "", i, blob);
	buf_puts(&f, ", \"list\": [\"");
	buf_add(&f, blob, 3000);
	buf_puts(&f, "\"]}}");
	body = webhook_json_body("finding.new", 43, f.data, 1764040446);
	j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	json_t *ev = json_object_get(json_object_get(j, "finding"), "evidence");
	char k5000[5001];
	memcpy(k5000, blob, 5000);
	k5000[5000] = '\0';
	ok(j && strlen(body) <= WEBHOOK_BODY_MAX && cut_as(json_string_value(json_object_get(ev, "k0")), k5000, 512) &&
		   cut_as(json_string_value(json_object_get(ev, "k99")), k5000, 512) && json_object_size(ev) == 101,
	   "100 values of 5 KB: every one cut to 512 bytes, %zu bytes in all", strlen(body));
	const char *in_list = json_string_value(json_array_get(json_object_get(ev, "list"), 0));
	ok(in_list && !strncmp(in_list, blob, 512) && strstr(in_list, "…[cut 2488 bytes]"), "strings in arrays too");
	json_decref(j);
	free(body);
	buf_free(&f);

	/* too many values for any cap: the caller sends the minimal finding */
	buf_init(&f);
	buf_puts(&f, "{\"evidence\": {");
	for (int i = 0; i < 2000; i++)
		buf_printf(&f, "%s\"k%d\": \"%.100s\"", i ? ", " : "", i, blob);
	buf_puts(&f, "}}");
	body = webhook_json_body("finding.new", 44, f.data, 1764040446);
	j = json_loads(body, 0, NULL);
	char *x100 = repeat("x", 100);
	ok(j && strlen(body) > WEBHOOK_BODY_MAX && cut_as(evidence_str(j, "k1999"), x100, WEBHOOK_FIELD_MIN),
	   "2000 values of 100 bytes: cut to %d bytes each and still over: the length tells the caller",
	   WEBHOOK_FIELD_MIN);
	json_decref(j);
	free(body);
	buf_free(&f);
	free(x100);
	free(esc_dec);
	free(blob);
	free(cjk);
	free(esc);
}

int main(void)
{
	char sig[WEBHOOK_SIG_MAX];

	webhook_sign("s3cret", 1700000000, "{\"version\":1}", 13, sig);
	is_str(sig, "t=1700000000,v1=a88b61052c4236878628e418fb04bb6048d23e65d5ad3c5daf2866200cb2994f",
	       "signature matches openssl's HMAC-SHA256 of \"<t>.<body>\"");
	webhook_sign("k", 1700000000, "", 0, sig);
	is_str(sig, "t=1700000000,v1=5c2999a43333a6877f49c8003f235c4f6de40f85b1b7414b70bd470a8db53d97",
	       "empty body signs \"<t>.\"");
	webhook_sign("s3cret!", 1700000000, "{\"version\":1}", 13, sig);
	ok(strstr(sig, "a88b61052c42") == NULL, "another secret gives another signature");

	const char *finding = "{\"id\": 7, \"evidence\": {\"amount\": 48000.00, \"v\": \"a\\\"b\\\\c\\n\\u0001 😀 中文\"}}";
	char *body = webhook_json_body("finding.new", 42, finding, 1764040446);
	is_str(body,
	       "{\"version\":1,\"event\":\"finding.new\",\"alert_id\":42,\"finding\":{\"id\": 7, \"evidence\": "
	       "{\"amount\": 48000.00, \"v\": \"a\\\"b\\\\c\\n\\u0001 😀 中文\"}},\"sent_at\":\"2025-11-25T03:14:06Z\"}",
	       "body per the webhook contract, finding inserted verbatim");
	json_error_t err;
	json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, &err);
	ok(j != NULL, "body parses as JSON (%s)", j ? "ok" : err.text);
	json_t *v = json_object_get(json_object_get(json_object_get(j, "finding"), "evidence"), "v");
	is_str(json_string_value(v), "a\"b\\c\n\001 😀 中文", "hostile text decodes to the original");
	ok(json_integer_value(json_object_get(j, "alert_id")) == 42, "alert_id is a number");
	json_decref(j);
	free(body);

	body = webhook_json_body("finding.\"x\"\n", 1, "{}", 0);
	j = json_loads(body, 0, NULL);
	ok(j != NULL, "an event name is escaped too");
	is_str(json_string_value(json_object_get(j, "event")), "finding.\"x\"\n", "and decodes intact");
	json_decref(j);
	free(body);
	/* a chain anchor (TRUST.md) carries the head under "anchor" */
	body = webhook_json_body("chain.anchor", 9, "{\"id\": 3, \"hash\": \"ab\"}", 0);
	is_str(body,
	       "{\"version\":1,\"event\":\"chain.anchor\",\"alert_id\":9,\"anchor\":{\"id\": 3, \"hash\": \"ab\"},"
	       "\"sent_at\":\"1970-01-01T00:00:00Z\"}",
	       "a chain anchor's body names the head \"anchor\", not \"finding\"");
	free(body);
	test_caps();
	done_testing();
}
