/* Fuzz target: message rendering (daemon/chat.c, daemon/webhook.c).
 *
 * Input: a header (digest size, flags, ids, hit count, sent_at, how many
 * mentions), then NUL-separated strings: the mentions first, then the
 * alerts' fields, taken in turn from the strings left ("" = NULL).
 *
 * The flags pick the chat format (bits 2-3), detail full or minimal (bit
 * 4), mentions (bit 0) and a feishu secret (bit 1). For one alert and for
 * a digest of all of them the body must be (RECEIVERS.md, chat.h):
 *   - valid UTF-8 and JSON (no duplicate keys) of the format's shape;
 *   - within chat_byte_limit(): the whole body, or wecom's markdown.content;
 *   - free of record text that acts: no "://", no word-initial "www.", no
 *     control, C1, bidi, zero-width or line-separator characters, no mention but the
 *     configured valid ones (dingtalk '@' and atMobiles, wecom/slack "<@",
 *     feishu "<at"), no other markup tag;
 *   - honest about a digest: 1 <= included <= n, and "… and K more" names
 *     the alerts left out;
 *   - minimal: the same bytes whatever the subject, status, hit count,
 *     message and evidence (it must not carry them).
 * webhook_json_body: parses, carries the event, alert id and finding
 * unchanged but for string values over the cap (their first bytes and
 * the cut marker), within WEBHOOK_BODY_MAX unless every cut is down to
 * WEBHOOK_FIELD_MIN, sent_at as RFC 3339 UTC. chat_classify: the verdict rules of
 * chat.h, a short valid UTF-8 reason without long token-like runs.
 */
#include <jansson.h>
#include <strings.h>
#include <time.h>

#include "chat.h"
#include "fuzz.h"
#include "utf8.h"
#include "webhook.h"

#define NFIELDS 12
#define MAX_ALERTS 40
#define MAX_POOL 600

static const char FEISHU_SECRET[] = "fuzz-secret";
static const long long NOW_S = 1700000000;

/* chat.h: [A-Za-z0-9_.+-], 1..64 bytes, not one of the everyone names */
static bool mention_valid(const char *m)
{
	static const char *const everyone[] = { "all", "here", "channel", "everyone" };
	size_t n = m ? strlen(m) : 0;

	if (!n || n > 64 || strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-") != n)
		return false;
	for (size_t i = 0; i < 4; i++)
		if (!strcasecmp(m, everyone[i]))
			return false;
	return true;
}

struct allowed {
	const char *v[20];
	int n;
};

/* the mentions a message may carry: the first 20 valid ones */
static void allowed_mentions(const struct chat_opts *o, struct allowed *a)
{
	a->n = 0;
	for (int i = 0; o->mentions && i < o->nmentions && a->n < 20; i++)
		if (mention_valid(o->mentions[i]))
			a->v[a->n++] = o->mentions[i];
}

/* the mention id at s (up to the first character not allowed in one) is
 * one of a; returns its length. The id is then overwritten with 'x': it
 * comes from the configuration, and may look like "www.example" */
static size_t mention_at(char *s, const struct allowed *a, const char *where)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-");

	for (int i = 0; i < a->n; i++)
		if (strlen(a->v[i]) == n && !strncmp(a->v[i], s, n)) {
			memset(s, 'x', n);
			return n;
		}
	fuzz_fail("only configured mentions", "%s: a mention of '%.*s' nobody configured", where, (int)(n ? n : 20), s);
}

static bool is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* What record text may never produce (chat.c's header comment). */
static void check_inert(const char *s, size_t n, bool one_line, const char *where)
{
	const unsigned char *u = (const unsigned char *)s;

	const char *url = memmem(s, n, "://", 3);
	FUZZ_CHECK(!url, "%s: a URL scheme survived at %zu: ...%.80s", where, url ? (size_t)(url - s) : 0,
		   url ? (url - s > 40 ? url - 40 : s) : "");
	for (size_t i = 0; i < n; i++) {
		unsigned c = u[i];
		if (c < 0x20 || c == 0x7F)
			FUZZ_CHECK(c == '\n' && !one_line, "%s: control character 0x%02x at %zu", where, c, i);
		if ((c == 'w' || c == 'W') && (i == 0 || !is_alnum(u[i - 1])) && n - i >= 4)
			FUZZ_CHECK(strncasecmp(s + i, "www.", 4), "%s: a word-initial www. at %zu: %.60s", where, i,
				   s + i);
		if (c == 0xC2 && i + 1 < n)
			FUZZ_CHECK(u[i + 1] >= 0xA0, "%s: a C1 control at %zu", where, i);
		if ((c == 0xE2 || c == 0xEF) && i + 2 < n) {
			unsigned cp = (c & 0x0F) << 12 | (u[i + 1] & 0x3F) << 6 | (u[i + 2] & 0x3F);
			FUZZ_CHECK(!(cp >= 0x202A && cp <= 0x202E) && !(cp >= 0x2066 && cp <= 0x2069) && cp != 0x2028 &&
					   cp != 0x2029 && !(cp >= 0x200B && cp <= 0x200F) && cp != 0x2060 && cp != 0xFEFF,
				   "%s: U+%04X (bidi control, zero-width or line separator) at %zu", where, cp, i);
		}
		if (c == 0xD8 && i + 1 < n)
			FUZZ_CHECK(u[i + 1] != 0x9C, "%s: U+061C (arabic letter mark) at %zu", where, i);
	}
}

/* Every markup trigger in content is one the renderer made (the
 * mentions' ids are blanked in s on the way). */
static void check_tags(enum chat_format f, char *s, const struct allowed *a)
{
	const char *name = chat_format_name(f);

	for (char *p = s; *p; p++) {
		if (f == CHAT_DINGTALK && *p == '@') {
			p += mention_at(p + 1, a, name);
		} else if (f != CHAT_DINGTALK && *p == '<') {
			if ((f == CHAT_WECOM || f == CHAT_SLACK) && p[1] == '@') {
				p += 2 + mention_at(p + 2, a, name);
				FUZZ_CHECK(*p == '>', "%s: an unclosed <@ mention", name);
			} else if (f == CHAT_FEISHU && !strncmp(p, "<at id=", 7)) {
				p += 7 + mention_at(p + 7, a, name);
				FUZZ_CHECK(!strncmp(p, "></at>", 6), "%s: a malformed <at> mention", name);
				p += 5;
			} else if (f == CHAT_WECOM && (!strncmp(p, "<font color=\"warning\">", 22) ||
						       !strncmp(p, "<font color=\"comment\">", 22))) {
				p += 21;
			} else if (f == CHAT_WECOM && !strncmp(p, "</font>", 7)) {
				p += 6;
			} else {
				fuzz_fail("no markup from record text", "%s: a tag the renderer did not make: %.60s", name, p);
			}
		}
	}
}

static const char *str_at(json_t *root, const char *a, const char *b)
{
	json_t *x = json_object_get(root, a);
	return json_string_value(b ? json_object_get(x, b) : x);
}

/* Checks one chat body; n alerts asked for, inc included. */
static void check_body(enum chat_format f, const char *body, int n, int inc, const struct chat_opts *o)
{
	const char *name = chat_format_name(f);
	size_t blen = body ? strlen(body) : 0;
	const char *content = NULL, *title = NULL;
	struct allowed a;
	json_error_t err;

	FUZZ_CHECK(body, "%s: chat_render returned NULL for n = %d", name, n);
	FUZZ_CHECK(oracle_utf8(body, blen), "%s: body is not valid UTF-8", name);
	json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, &err);
	FUZZ_CHECK(json_is_object(j), "%s: body is not a JSON object: %s: %.300s", name, err.text, body);
	FUZZ_CHECK(inc >= 1 && inc <= n, "%s: included %d of %d", name, inc, n);
	allowed_mentions(o, &a);

	switch (f) {
	case CHAT_DINGTALK: {
		FUZZ_CHECK(!strcmp(str_at(j, "msgtype", NULL), "markdown"), "dingtalk: msgtype");
		title = str_at(j, "markdown", "title");
		content = str_at(j, "markdown", "text");
		json_t *at = json_object_get(j, "at");
		FUZZ_CHECK(json_is_false(json_object_get(at, "isAtAll")), "dingtalk: isAtAll is not false");
		json_t *mob = json_object_get(at, "atMobiles");
		FUZZ_CHECK(json_is_array(mob) && json_array_size(mob) == (size_t)a.n, "dingtalk: atMobiles has %zu, want %d",
			   json_array_size(mob), a.n);
		for (int i = 0; i < a.n; i++)
			FUZZ_CHECK(!strcmp(json_string_value(json_array_get(mob, (size_t)i)), a.v[i]),
				   "dingtalk: atMobiles[%d]", i);
		break;
	}
	case CHAT_WECOM:
		FUZZ_CHECK(!strcmp(str_at(j, "msgtype", NULL), "markdown"), "wecom: msgtype");
		content = str_at(j, "markdown", "content");
		break;
	case CHAT_FEISHU: {
		FUZZ_CHECK(!strcmp(str_at(j, "msg_type", NULL), "interactive"), "feishu: msg_type");
		json_t *card = json_object_get(j, "card");
		title = str_at(json_object_get(card, "header"), "title", "content");
		content = json_string_value(json_object_get(json_array_get(json_object_get(card, "elements"), 0), "content"));
		if (o->secret) {
			char ts[24], sig[CHAT_SIGN_MAX];
			snprintf(ts, sizeof ts, "%lld", o->now_s);
			chat_feishu_sign(o->secret, o->now_s, sig);
			FUZZ_CHECK(str_at(j, "timestamp", NULL) && !strcmp(str_at(j, "timestamp", NULL), ts) &&
					   str_at(j, "sign", NULL) && !strcmp(str_at(j, "sign", NULL), sig),
				   "feishu: timestamp and sign");
		} else {
			FUZZ_CHECK(!json_object_get(j, "sign"), "feishu: signed without a secret");
		}
		break;
	}
	case CHAT_SLACK:
		content = str_at(j, "text", NULL);
		break;
	}
	FUZZ_CHECK(content, "%s: no message content", name);
	size_t clen = strlen(content);
	if (chat_limit_is_body(f))
		FUZZ_CHECK(blen <= chat_byte_limit(f), "%s: body of %zu bytes > limit %zu", name, blen, chat_byte_limit(f));
	else
		FUZZ_CHECK(clen <= chat_byte_limit(f), "%s: content of %zu bytes > limit %zu", name, clen,
			   chat_byte_limit(f));
	char *text = strdup(content);
	if (!text)
		abort();
	check_tags(f, text, &a);
	check_inert(text, clen, false, name);
	free(text);
	if (title) {
		check_inert(title, strlen(title), true, name);
		FUZZ_CHECK(!strchr(title, '<') || f == CHAT_FEISHU, "%s: a tag in the title", name);
	}
	if (inc < n) {
		char more[80];
		snprintf(more, sizeof more, "… and %d more (另有 %d 条)", n - inc, n - inc);
		FUZZ_CHECK(strstr(content, more), "%s: %d of %d alerts included, but no '%s'", name, inc, n, more);
	}
	json_decref(j);
}

/* got is orig, or for a string its first bytes and WEBHOOK_CUT_FMT for the
 * rest: *longest gets the most bytes kept of a cut one. A string over
 * WEBHOOK_FIELD_MAX is always cut, one within WEBHOOK_FIELD_MIN never. */
static bool same_or_cut(json_t *orig, json_t *got, size_t *longest)
{
	if (json_is_string(orig) && json_is_string(got)) {
		const char *o = json_string_value(orig), *g = json_string_value(got);
		size_t on = json_string_length(orig), gn = json_string_length(got);
		const char *m = NULL;
		char want[64];
		if (json_equal(orig, got))
			return on <= WEBHOOK_FIELD_MAX;
		for (const char *p = g; (p = memmem(p, gn - (size_t)(p - g), "…[cut ", 8)) != NULL; p++)
			m = p; /* the last one: the kept text may hold a marker of its own */
		if (!m)
			return false;
		size_t k = (size_t)(m - g);
		snprintf(want, sizeof want, WEBHOOK_CUT_FMT, on - k);
		if (on <= WEBHOOK_FIELD_MIN || k > WEBHOOK_FIELD_MAX || k > on || memcmp(o, g, k) ||
		    strlen(want) != gn - k || memcmp(want, m, gn - k) || !oracle_utf8(g, k))
			return false;
		if (k > *longest)
			*longest = k;
		return true;
	}
	if (json_is_object(orig) && json_is_object(got)) {
		const char *key;
		json_t *v;
		if (json_object_size(orig) != json_object_size(got))
			return false;
		json_object_foreach (orig, key, v)
			if (!same_or_cut(v, json_object_get(got, key), longest))
				return false;
		return true;
	}
	if (json_is_array(orig) && json_is_array(got)) {
		if (json_array_size(orig) != json_array_size(got))
			return false;
		for (size_t i = 0; i < json_array_size(orig); i++)
			if (!same_or_cut(json_array_get(orig, i), json_array_get(got, i), longest))
				return false;
		return true;
	}
	return json_equal(orig, got);
}

/* The json webhook body for one alert. */
static void check_webhook(const struct chat_alert *al, const char *finding_json, time_t sent_at)
{
	const char *event = al->event ? al->event : "finding.new";
	char *body = webhook_json_body(event, al->alert_id, finding_json, sent_at);
	json_error_t err;
	char when[32];
	struct tm tm;

	FUZZ_CHECK(body && oracle_utf8(body, strlen(body)), "webhook: body is not valid UTF-8");
	json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, &err);
	FUZZ_CHECK(json_is_object(j) && json_object_size(j) == 5, "webhook: not the contract's object: %s", err.text);
	FUZZ_CHECK(json_integer_value(json_object_get(j, "version")) == 1, "webhook: version");
	json_t *ev = json_string_or_fixed(event);
	FUZZ_CHECK(json_equal(json_object_get(j, "event"), ev), "webhook: event changed");
	json_decref(ev);
	FUZZ_CHECK(json_is_integer(json_object_get(j, "alert_id")) &&
			   json_integer_value(json_object_get(j, "alert_id")) == al->alert_id,
		   "webhook: alert_id");
	json_t *fj = json_loads(finding_json, JSON_DECODE_ANY, NULL);
	size_t longest = 0;
	FUZZ_CHECK(same_or_cut(fj, json_object_get(j, "finding"), &longest),
		   "webhook: the finding changed on its way, more than a cut of its long strings");
	FUZZ_CHECK(strlen(body) <= WEBHOOK_BODY_MAX || longest <= WEBHOOK_FIELD_MIN,
		   "webhook: a body of %zu bytes with strings kept to %zu bytes", strlen(body), longest);
	json_decref(fj);
	gmtime_r(&sent_at, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	const char *got = json_string_value(json_object_get(j, "sent_at"));
	FUZZ_CHECK(got && !strcmp(got, when), "webhook: sent_at '%s', want '%s'", got ? got : "(none)", when);
	json_decref(j);
	free(body);
}

/* The finding object as PostgreSQL would render it, from the alert. */
static char *finding_of(const struct chat_alert *al)
{
	json_t *o = json_object();
	const struct {
		const char *k, *v;
	} s[] = { { "rule_id", al->rule_id }, { "title", al->title },	   { "level", al->level },
		  { "supervision", al->supervision }, { "risk", al->risk }, { "duty", al->duty },
		  { "subject", al->subject }, { "department", al->department }, { "status", al->status },
		  { "message", al->message } };

	json_object_set_new(o, "id", json_integer(al->finding_id));
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		json_object_set_new(o, s[i].k, s[i].v ? json_string_or_fixed(s[i].v) : json_null());
	json_object_set_new(o, "hit_count", json_integer(al->hit_count));
	json_t *ev = al->evidence_json ? json_loads(al->evidence_json, JSON_DECODE_ANY, NULL) : NULL;
	json_object_set_new(o, "evidence", ev ? ev : json_object());
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* chat_classify on a vendor answer: the verdict rules and a safe reason. */
static void check_classify(enum chat_format f, long status, const char *body, size_t len, size_t whylen)
{
	char why[512];
	enum chat_verdict v;

	memset(why, 'X', sizeof why);
	v = chat_classify(f, status, body, len, why, whylen);
	FUZZ_CHECK(v == CHAT_OK || v == CHAT_RETRY || v == CHAT_DEAD, "classify: verdict %d", (int)v);
	FUZZ_CHECK(memchr(why, 0, whylen), "classify: why is not terminated within %zu bytes", whylen);
	FUZZ_CHECK(oracle_utf8(why, strlen(why)), "classify: why is not valid UTF-8");
	if (status <= 0 || status == 408 || status == 429 || status >= 500)
		FUZZ_CHECK(v == CHAT_RETRY, "classify: HTTP %ld must be retried", status);
	if (v == CHAT_OK)
		FUZZ_CHECK(status >= 200 && status < 300, "classify: ok on HTTP %ld", status);
	/* a long token-like run with a digit is masked, unless it is a number */
	for (const char *p = why; *p;) {
		size_t k = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+/=-");
		const char *digit = strpbrk(p, "0123456789");
		if (k >= 16 && digit && digit < p + k && strspn(p, "0123456789-") < k && body &&
		    memmem(body, len, p, k))
			fuzz_fail("tokens masked", "classify: the token-like '%.*s' is in why: %s", (int)k, p, why);
		p += k ? k : 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum chat_format formats[] = { CHAT_DINGTALK, CHAT_WECOM, CHAT_FEISHU, CHAT_SLACK };
	struct fdp f = { data, size };
	struct chat_alert al[MAX_ALERTS], bare[MAX_ALERTS];
	char *pool[MAX_POOL];
	int npool = 0;

	int n = 1 + fdp_byte(&f) % MAX_ALERTS;
	uint8_t flags = fdp_byte(&f);
	long long alert_id = (long long)fdp_u64(&f, 8);
	long long finding_id = (long long)fdp_u64(&f, 8);
	long hit = (long)(int32_t)fdp_u64(&f, 4);
	/* sent_at is the daemon's clock: 1970 .. 9999 */
	time_t sent_at = (time_t)(fdp_u64(&f, 5) % 253402300800ULL);
	int nm = fdp_byte(&f) % 26;
	long status = (long)fdp_u64(&f, 2) % 700;
	size_t whylen = 1 + fdp_byte(&f) * 2;
	char *s;
	while (npool < MAX_POOL && (s = fdp_str(&f)) != NULL)
		pool[npool++] = s;

	/* mentions first, then the fields in turn */
	if (nm > npool)
		nm = npool;
	const char *const *mentions = (const char *const *)pool;
	int base = nm, left = npool - nm, k = 0;
#define NEXT() (left ? (*pool[base + k % left] ? pool[base + k++ % left] : (k++, NULL)) : NULL)
	for (int i = 0; i < n; i++) {
		struct chat_alert *a = &al[i];
		/* ids from the whole range: wrap around rather than overflow */
		a->alert_id = (long long)((unsigned long long)alert_id + (unsigned)i);
		a->finding_id = (long long)((unsigned long long)finding_id - (unsigned)i);
		a->hit_count = hit + i;
		a->event = NEXT();
		a->rule_id = NEXT();
		a->title = NEXT();
		a->level = NEXT();
		a->supervision = NEXT();
		a->risk = NEXT();
		a->duty = NEXT();
		a->department = NEXT();
		a->subject = NEXT();
		a->status = NEXT();
		a->message = NEXT();
		a->evidence_json = NEXT();
		bare[i] = *a;
		bare[i].subject = bare[i].status = bare[i].message = bare[i].evidence_json = NULL;
		bare[i].hit_count = 0;
	}
#undef NEXT

	/* one format and detail per input (bits 2-4 of the flags), so each
	 * run is short and the coverage tells the formats apart */
	enum chat_format fmt = formats[(flags >> 2) & 3];
	int minimal = (flags >> 4) & 1;
	struct chat_opts o = { minimal, (flags & 1) ? mentions : NULL, nm, (flags & 2) ? FEISHU_SECRET : NULL, NOW_S };
	int counts[2] = { 1, n };
	for (int c = 0; c < (n > 1 ? 2 : 1); c++) {
		int inc = -1;
		char *body = chat_render(fmt, al, counts[c], &o, &inc);
		check_body(fmt, body, counts[c], inc, &o);
		if (minimal) {
			int inc2 = -1;
			char *b2 = chat_render(fmt, bare, counts[c], &o, &inc2);
			FUZZ_CHECK(b2 && !strcmp(body, b2) && inc == inc2,
				   "%s minimal: the body depends on subject, status, hits, message or evidence",
				   chat_format_name(fmt));
			free(b2);
		}
		free(body);
	}
	/* the vendor's answer: the last string as the body */
	const char *ans = npool ? pool[npool - 1] : NULL;
	check_classify(fmt, status - 50, ans, ans ? strlen(ans) : 0, whylen);

	/* the json format: an engine-made finding, and any JSON the input has */
	char *fj = finding_of(&al[0]);
	check_webhook(&al[0], fj, sent_at);
	free(fj);
	for (int i = 0; i < npool && i < 4; i++) {
		/* as PostgreSQL renders jsonb: no duplicate keys */
		json_t *x = json_loads(pool[i], JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
		if (x)
			check_webhook(&al[0], pool[i], sent_at);
		json_decref(x);
	}

	for (int i = 0; i < npool; i++)
		free(pool[i]);
	return 0;
}
