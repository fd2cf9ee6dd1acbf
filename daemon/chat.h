/* Chat-webhook formats (RECEIVERS.md): the request body and URL for
 * DingTalk, WeCom, Feishu and Slack robots, and what their answers mean.
 * Pure functions, no I/O, so every byte on the wire is unit-testable. */
#ifndef QF_CHAT_H
#define QF_CHAT_H

#include <stdbool.h>
#include <stddef.h>

enum chat_format { CHAT_DINGTALK, CHAT_WECOM, CHAT_FEISHU, CHAT_SLACK };

/* "dingtalk", "wecom", "feishu", "slack" -> *out. 0 ok, -1 unknown. */
int chat_format_parse(const char *name, enum chat_format *out);
/* The name chat_format_parse() accepts; a static string. */
const char *chat_format_name(enum chat_format f);

/* The vendor's size limit in bytes, and what it applies to:
 *   dingtalk 20000  the whole request body
 *   wecom     4096  markdown.content (UTF-8, before JSON escaping)
 *   feishu   20000  the whole request body ("20 KB", read as 20000 to be safe)
 *   slack    40000  the whole request body (Slack truncates "text" beyond
 *                   40,000 characters; bytes >= characters, so this is safe)
 * chat_render() always stays within it. */
size_t chat_byte_limit(enum chat_format f);
/* true when chat_byte_limit() bounds the whole body, false when it bounds
 * the markdown content only (wecom) */
bool chat_limit_is_body(enum chat_format f);
/* Messages per minute per robot: 20, 20, 100 (feishu also caps 5/s, see
 * chat_rate_per_second), slack 60 (1/s with short bursts). */
int chat_rate_per_minute(enum chat_format f);
/* Per-second cap where the vendor has one (feishu 5, slack 1), else 0. */
int chat_rate_per_second(enum chat_format f);

/* One alert, built by the caller from the finding payload. Every string
 * may be NULL (shown as "-" or left out). All record text is data: it is
 * escaped and neutralised, never interpreted as markup, mention or link;
 * bidi controls and zero-width characters in it are shown as U+FFFD. */
struct chat_alert {
	const char *event; /* "finding.new" | "finding.retriggered" | "finding.escalated" | "finding.reminder"
			    * | "finding.resolved" | "finding.overdue" */
	long long alert_id, finding_id;
	const char *rule_id, *title, *level, *supervision, *risk, *duty, *department, *subject, *status, *message;
	long hit_count;
	const char *evidence_json; /* the evidence object as JSON text, may be NULL */
	const char *owner;	   /* the finding's owner role (disposal), may be NULL */
	/* finding.overdue: the step late (sign|close), its deadline, and how
	 * many days late; overdue_step NULL otherwise */
	const char *overdue_step, *overdue_due;
	double days_late;
	/* the finding in the web console (console.url + "/findings/ID"), or
	 * NULL: a button (feishu card, dingtalk actionCard) or a link "签收 /
	 * 查看" in the message; built from the configuration, never from
	 * record text */
	const char *link;
};

struct chat_opts {
	/* detail = "minimal": only event, rule, title, level, department, the
	 * 423 dimensions and the finding id; no subject, status, message or
	 * evidence */
	bool minimal;
	/* Who to @ in this message (the caller picks them by level): mobiles
	 * for dingtalk, user ids for wecom (<@userid>), feishu (open_id or
	 * user_id, <at id=...>) and slack (U.../W..., <@U...>). Only
	 * [A-Za-z0-9_.+-] ids of at most 64 bytes are used, the first 20 of
	 * them; "all", "here", "channel" and "everyone" are dropped: nobody
	 * can mention everyone. */
	const char *const *mentions;
	int nmentions;
	const char *secret; /* feishu signs inside the body; NULL = unsigned */
	long long now_s;    /* clock for the feishu timestamp (injectable for tests) */
};

/* The visible marker appended where content was cut to the byte limit. */
#define CHAT_CUT_MARKER "…（已截断 truncated）"
/* What ends a field of record text cut to its cap (title 200 bytes, one
 * evidence value 200, ...), with the bytes cut (printf format). */
#define CHAT_FIELD_CUT_FMT "…［cut %zu bytes］"

/* The request body for n >= 1 alerts. n == 1: one message. n > 1: ONE
 * digest message with a line per alert (finding id, rule, level, title,
 * department); when they do not all fit the byte limit it lists the first
 * ones and ends with "… and K more (另有 K 条)". *included (optional)
 * receives how many alerts, from the start of the array, the message
 * covers: the caller must send the rest in a later message. The body is
 * always valid JSON, valid UTF-8 and within chat_byte_limit(); content
 * that had to be cut ends with CHAT_CUT_MARKER. NULL when n < 1 or alerts
 * or o is NULL. Caller frees. */
char *chat_render(enum chat_format f, const struct chat_alert *alerts, int n, const struct chat_opts *o,
		  int *included);

/* The URL to POST to. dingtalk with a secret appends
 * "&timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(key=secret, msg="<ms>\n<secret>")))>"
 * ('?' instead of '&' when the URL has no query yet); otherwise a copy
 * (wecom's key and feishu's token are already in the URL). Caller frees. */
char *chat_url(enum chat_format f, const char *base_url, const char *secret, long long now_ms);

/* base64(HMAC-SHA256(key="<ts_s>\n<secret>", msg="")), the feishu body
 * signature; out needs 45 bytes. Exposed for tests and the receiver. */
#define CHAT_SIGN_MAX 45
void chat_feishu_sign(const char *secret, long long ts_s, char out[CHAT_SIGN_MAX]);
/* base64(HMAC-SHA256(key=secret, msg="<ts_ms>\n<secret>")), the dingtalk
 * signature before URL-encoding; out needs 45 bytes. */
void chat_dingtalk_sign(const char *secret, long long ts_ms, char out[CHAT_SIGN_MAX]);

enum chat_verdict { CHAT_OK, CHAT_RETRY, CHAT_DEAD };

/* Classifies the vendor's answer. The chat APIs answer HTTP 200 even on
 * failure; the JSON body's code decides:
 *   dingtalk errcode 0 ok; 130101 (too fast), -1 (busy) retry; 310000, 300005 dead
 *   wecom    errcode 0 ok; 45009 (freq limit), -1 (busy) retry; 93000, 40058 dead
 *   feishu   code 0 ok; 11232 (throttled) retry; 19021, 19022, 19024, 9499 dead
 *   slack    2xx with body "ok" ok; 429 retry; 4xx (invalid_payload, ...) dead
 * For all: http_status 0 (transport error, no answer), 408, 429 and 5xx
 * retry; other 4xx dead unless the body carries a transient vendor code;
 * an unknown nonzero vendor code is a configuration error: dead. Writes a
 * short human reason (e.g. "dingtalk errcode 310000: sign not match") into
 * why (NUL-terminated, at most whylen bytes). The reason never quotes more
 * than a short, masked excerpt of the vendor's text: long token-like runs
 * (keys, access tokens) are replaced by "***"; a short secret is not
 * token-like, so callers still scrub_secret() why before storing it.
 * Headers are not seen here: on slack's 429 the caller honours Retry-After. */
enum chat_verdict chat_classify(enum chat_format f, long http_status, const char *body, size_t len, char *why,
				size_t whylen);

#endif
