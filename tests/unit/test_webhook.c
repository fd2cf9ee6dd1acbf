/* Webhook body and signature: known-answer vectors (computed with
 * `openssl dgst -sha256 -hmac`), and the body stays valid JSON whatever
 * the finding text holds. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "webhook.h"

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
	done_testing();
}
