/* Chat-webhook formats (daemon/chat.c): golden bodies for the four
 * vendors, signature known-answer vectors computed independently with
 * openssl(1), byte limits and UTF-8-safe cutting, mention/link injection
 * from record text, minimal detail, digests and answer classification. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "tap.h"
#include "utf8.h"
#include "util.h"

/* Known answers. DingTalk (URL sign, key = secret, msg = "<ms>\n<secret>"):
 *   printf '%s\n%s' 1700000000000 "$S" | openssl dgst -sha256 -hmac "$S" -binary | base64
 *   python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=""))' "$B64"
 * Feishu (body sign, key = "<s>\n<secret>", empty message):
 *   printf '' | openssl dgst -sha256 -hmac "$(printf '%s\n%s' 1700000000 "$S")" -binary | base64 */
#define DING_SECRET "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DING_SIGN_B64 "bTgY2yDbep+wesS7jKiNj+srsHoADES4+C4f8LCHFtU="
#define DING_SIGN_URL "bTgY2yDbep%2BwesS7jKiNj%2BsrsHoADES4%2BC4f8LCHFtU%3D"
#define DING_SIGN2_URL "qz6%2Bhou7rn6cAXfEu8SOFJoM6KWxWW8zImzzP85I19c%3D" /* secret "s3cret", ms 1 */
#define FEISHU_SECRET "qBdG5fJ6vNqCp7TGM2xfKe"
#define FEISHU_SIGN "TQ30U48g2kVk+ZsaLrB5Eh3z0JZchXJSPNyttMbxL0o="

static const char GOLD_DINGTALK[] =
	"{\"msgtype\":\"markdown\",\"markdown\":{\"title\":\"🟠【橙色 ORANGE】F09 制单审批同一人 creator approves own payment\",\"text\":\"### 🟠【橙色 ORANGE】F09 制单审批同一人 creator approves own payment\\n"
	"**新风险点 new finding** · 告警 alert #42\\n"
	"\\n"
	"- 部门 department: 财务处 Finance\\n"
	"- 对象 subject: P-1001\\n"
	"- 监督 supervision: 财务监督 financial\\n"
	"- 风险 risk: 非技术风险 non-technical\\n"
	"- 责任 duty: 监督责任 supervisory\\n"
	"- 状态 status: open · 命中 hits: 3\\n"
	"- 编号 finding id: 7\\n"
	"\\n"
	"**说明 message:**\\n"
	"\\n"
	"> 付款 P-1 由张三制单并审批 (48,000.00 元)\\n"
	"> ＊＊同一人＊＊ ＜＠U1＞ see http：//evil.example\\n"
	"\\n"
	"**证据 evidence:** table=records.payment · payment_id=P-1 · amount=48000.00 · created_by=P-1001\\n"
	"\\n"
	"@13800000001\\n"
	"\\n"
	"qingfeng 清风 · qfctl findings show 7\"},\"at\":{\"atMobiles\":[\"13800000001\"],\"isAtAll\":false}}";

static const char GOLD_WECOM[] =
	"{\"msgtype\":\"markdown\",\"markdown\":{\"content\":\"### 🟠 <font color=\\\"warning\\\">【橙色 ORANGE】</font>F09 制单审批同一人 creator approves own payment\\n"
	"**新风险点 new finding** · 告警 alert #42\\n"
	"> 部门 department: 财务处 Finance\\n"
	"> 对象 subject: P-1001\\n"
	"> 监督 supervision: 财务监督 financial\\n"
	"> 风险 risk: 非技术风险 non-technical\\n"
	"> 责任 duty: 监督责任 supervisory\\n"
	"> 状态 status: open · 命中 hits: 3\\n"
	"> 编号 finding id: 7\\n"
	"**说明 message:**\\n"
	"> 付款 P-1 由张三制单并审批 (48,000.00 元)\\n"
	"> ＊＊同一人＊＊ ＜＠U1＞ see http：//evil.example\\n"
	"**证据 evidence:** table=records.payment · payment_id=P-1 · amount=48000.00 · created_by=P-1001\\n"
	"\\n"
	"<@zhangsan>\\n"
	"qingfeng 清风 · qfctl findings show 7\"}}";

static const char GOLD_FEISHU[] =
	"{\"timestamp\":\"1700000000\",\"sign\":\"TQ30U48g2kVk+ZsaLrB5Eh3z0JZchXJSPNyttMbxL0o=\",\"msg_type\":\"interactive\",\"card\":{\"header\":{\"title\":{\"tag\":\"plain_text\",\"content\":\"【橙色 ORANGE】F09 制单审批同一人 creator approves own payment\"},\"template\":\"orange\"},\"elements\":[{\"tag\":\"markdown\",\"content\":\"**新风险点 new finding** · 告警 alert #42\\n"
	"**部门 department**: 财务处 Finance\\n"
	"**对象 subject**: P-1001\\n"
	"**监督 supervision**: 财务监督 financial\\n"
	"**风险 risk**: 非技术风险 non-technical\\n"
	"**责任 duty**: 监督责任 supervisory\\n"
	"**状态 status**: open · 命中 hits: 3\\n"
	"**编号 finding id**: 7\\n"
	"**说明 message:**\\n"
	"付款 P-1 由张三制单并审批 (48,000.00 元)\\n"
	"＊＊同一人＊＊ ＜＠U1＞ see http：//evil.example\\n"
	"**证据 evidence:** table=records.payment · payment_id=P-1 · amount=48000.00 · created_by=P-1001\\n"
	"\\n"
	"<at id=ou_7d8a6e6df7621556ce0d21922b676706></at>\\n"
	"qingfeng 清风 · qfctl findings show 7\"}]}}";

static const char GOLD_SLACK[] =
	"{\"text\":\"🟠 *【橙色 ORANGE】F09 制单审批同一人 creator approves own payment*\\n"
	"*新风险点 new finding* · 告警 alert #42\\n"
	"*部门 department*: 财务处 Finance\\n"
	"*对象 subject*: P-1001\\n"
	"*监督 supervision*: 财务监督 financial\\n"
	"*风险 risk*: 非技术风险 non-technical\\n"
	"*责任 duty*: 监督责任 supervisory\\n"
	"*状态 status*: open · 命中 hits: 3\\n"
	"*编号 finding id*: 7\\n"
	"*说明 message:*\\n"
	"> 付款 P-1 由张三制单并审批 (48,000.00 元)\\n"
	"> ＊＊同一人＊＊ &lt;＠U1&gt; see http：//evil.example\\n"
	"*证据 evidence:* table=records.payment · payment_id=P-1 · amount=48000.00 · created_by=P-1001\\n"
	"\\n"
	"<@U024BE7LH>\\n"
	"qingfeng 清风 · qfctl findings show 7\"}";

static const char *const DING_M[] = { "13800000001", "all" };
static const char *const WECOM_M[] = { "zhangsan", "@all" };
static const char *const FEISHU_M[] = { "ou_7d8a6e6df7621556ce0d21922b676706", "all" };
static const char *const SLACK_M[] = { "U024BE7LH", "channel" };
static const char *const *const MENTIONS[] = { DING_M, WECOM_M, FEISHU_M, SLACK_M };
/* the real mention each format may produce, as it appears in the text */
static const char *const OWN_MENTION[] = { "@13800000001", "<@zhangsan>", "<at id=ou_7d8a6e6df7621556ce0d21922b676706></at>",
					   "<@U024BE7LH>" };

static const enum chat_format ALL[] = { CHAT_DINGTALK, CHAT_WECOM, CHAT_FEISHU, CHAT_SLACK };

static struct chat_alert sample(void)
{
	struct chat_alert a = {
		.event = "finding.new",
		.alert_id = 42,
		.finding_id = 7,
		.rule_id = "F09",
		.title = "制单审批同一人 creator approves own payment",
		.level = "orange",
		.supervision = "financial",
		.risk = "non-technical",
		.duty = "supervisory",
		.department = "财务处 Finance",
		.subject = "P-1001",
		.status = "open",
		.message = "付款 P-1 由张三制单并审批 (48,000.00 元)\n**同一人** <@U1> see http://evil.example",
		.hit_count = 3,
		.evidence_json = "{\"table\": \"records.payment\", \"payment_id\": \"P-1\", \"amount\": 48000.00, "
				 "\"created_by\": \"P-1001\"}",
	};
	return a;
}

static struct chat_opts opts(enum chat_format f)
{
	struct chat_opts o = { false, MENTIONS[f], 2, f == CHAT_FEISHU ? FEISHU_SECRET : NULL, 1700000000 };
	return o;
}

/* Every piece of text a client shows, decoded from the JSON body:
 * title + content. NULL if the body is not JSON of the format's shape. */
static char *shown(enum chat_format f, const char *body)
{
	json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	const char *a = NULL, *b = NULL;
	struct buf out;

	if (!j)
		return NULL;
	switch (f) {
	case CHAT_DINGTALK:
		a = json_string_value(json_object_get(json_object_get(j, "markdown"), "title"));
		b = json_string_value(json_object_get(json_object_get(j, "markdown"), "text"));
		break;
	case CHAT_WECOM:
		a = "";
		b = json_string_value(json_object_get(json_object_get(j, "markdown"), "content"));
		break;
	case CHAT_FEISHU: {
		json_t *card = json_object_get(j, "card");
		a = json_string_value(json_object_get(json_object_get(json_object_get(card, "header"), "title"), "content"));
		b = json_string_value(json_object_get(json_array_get(json_object_get(card, "elements"), 0), "content"));
		break;
	}
	case CHAT_SLACK:
		a = "";
		b = json_string_value(json_object_get(j, "text"));
		break;
	}
	if (!a || !b) {
		json_decref(j);
		return NULL;
	}
	buf_init(&out);
	buf_printf(&out, "%s\n%s", a, b);
	json_decref(j);
	return buf_steal(&out);
}

/* the content the wecom limit applies to */
static size_t wecom_content_len(const char *body)
{
	json_t *j = json_loads(body, 0, NULL);
	size_t n = json_string_length(json_object_get(json_object_get(j, "markdown"), "content"));
	json_decref(j);
	return n;
}

static bool within_limit(enum chat_format f, const char *body)
{
	size_t n = chat_limit_is_body(f) ? strlen(body) : wecom_content_len(body);
	return n <= chat_byte_limit(f);
}

/* s with every occurrence of each allowed[] removed (caller frees) */
static char *without(const char *s, const char *const *allowed)
{
	char *r = xstrdup(s);

	for (int i = 0; allowed[i]; i++) {
		size_t n = strlen(allowed[i]);
		char *p;
		while ((p = strstr(r, allowed[i])) != NULL)
			memmove(p, p + n, strlen(p + n) + 1);
	}
	return r;
}

/* n bytes of mixed ASCII, CJK and emoji (1-, 3- and 4-byte characters) */
static char *mixed_text(size_t n)
{
	static const char *const parts[] = { "abc ", "中文", "😀", "x", "检测报告", "🟠" };
	struct buf b;

	buf_init(&b);
	for (int i = 0; b.len < n; i++) {
		const char *p = parts[i % 6];
		if (b.len + strlen(p) > n)
			break;
		buf_puts(&b, p);
		if (i % 97 == 96)
			buf_puts(&b, "\n");
	}
	return buf_steal(&b);
}

static void test_names(void)
{
	enum chat_format f = CHAT_SLACK;

	ok(chat_format_parse("dingtalk", &f) == 0 && f == CHAT_DINGTALK, "dingtalk parses");
	ok(chat_format_parse("wecom", &f) == 0 && f == CHAT_WECOM, "wecom parses");
	ok(chat_format_parse("feishu", &f) == 0 && f == CHAT_FEISHU, "feishu parses");
	ok(chat_format_parse("slack", &f) == 0 && f == CHAT_SLACK, "slack parses");
	ok(chat_format_parse("json", &f) == -1 && chat_format_parse("DingTalk", &f) == -1 &&
		   chat_format_parse(NULL, &f) == -1,
	   "json, wrong case and NULL are not chat formats");
	ok(chat_byte_limit(CHAT_DINGTALK) == 20000 && chat_byte_limit(CHAT_WECOM) == 4096 &&
		   chat_byte_limit(CHAT_FEISHU) == 20000 && chat_byte_limit(CHAT_SLACK) == 40000,
	   "byte limits per RECEIVERS.md");
	ok(chat_rate_per_minute(CHAT_DINGTALK) == 20 && chat_rate_per_minute(CHAT_WECOM) == 20 &&
		   chat_rate_per_minute(CHAT_FEISHU) == 100 && chat_rate_per_minute(CHAT_SLACK) == 60,
	   "rates per minute");
	ok(chat_rate_per_second(CHAT_FEISHU) == 5 && chat_rate_per_second(CHAT_DINGTALK) == 0, "feishu also 5/s");
}

static void test_golden(void)
{
	static const char *const gold[] = { GOLD_DINGTALK, GOLD_WECOM, GOLD_FEISHU, GOLD_SLACK };
	struct chat_alert a = sample();

	for (int i = 0; i < 4; i++) {
		struct chat_opts o = opts(ALL[i]);
		int inc = -1;
		char *body = chat_render(ALL[i], &a, 1, &o, &inc);
		is_str(body, gold[i], "%s: golden body", chat_format_name(ALL[i]));
		ok(inc == 1, "%s: one alert included", chat_format_name(ALL[i]));
		free(body);
	}
}

static void test_signing(void)
{
	char sig[CHAT_SIGN_MAX], *u;

	chat_dingtalk_sign(DING_SECRET, 1700000000000LL, sig);
	is_str(sig, DING_SIGN_B64, "dingtalk sign = base64(HMAC-SHA256(secret, \"<ms>\\n<secret>\")) (openssl)");
	u = chat_url(CHAT_DINGTALK, "https://oapi.dingtalk.com/robot/send?access_token=abc", DING_SECRET, 1700000000000LL);
	is_str(u, "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000&sign=" DING_SIGN_URL,
	       "dingtalk URL gains &timestamp and the URL-encoded sign");
	free(u);
	u = chat_url(CHAT_DINGTALK, "http://127.0.0.1:8080/hook", "s3cret", 1);
	is_str(u, "http://127.0.0.1:8080/hook?timestamp=1&sign=" DING_SIGN2_URL, "'?' when the URL has no query yet");
	free(u);
	u = chat_url(CHAT_DINGTALK, "http://h/robot/send?", "s3cret", 1);
	is_str(u, "http://h/robot/send?timestamp=1&sign=" DING_SIGN2_URL, "no doubled separator after a bare '?'");
	free(u);
	u = chat_url(CHAT_DINGTALK, "https://oapi.dingtalk.com/robot/send?access_token=abc", NULL, 1);
	is_str(u, "https://oapi.dingtalk.com/robot/send?access_token=abc", "no secret: URL unchanged");
	free(u);
	u = chat_url(CHAT_WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "x", 1);
	is_str(u, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "wecom URL is a copy");
	free(u);
	u = chat_url(CHAT_FEISHU, "https://open.feishu.cn/open-apis/bot/v2/hook/t", FEISHU_SECRET, 1);
	is_str(u, "https://open.feishu.cn/open-apis/bot/v2/hook/t", "feishu signs in the body, not the URL");
	free(u);

	chat_feishu_sign(FEISHU_SECRET, 1700000000, sig);
	is_str(sig, FEISHU_SIGN, "feishu sign = base64(HMAC-SHA256(key=\"<s>\\n<secret>\", \"\")) (openssl)");

	struct chat_alert a = sample();
	struct chat_opts o = opts(CHAT_FEISHU);
	char *body = chat_render(CHAT_FEISHU, &a, 1, &o, NULL);
	json_t *j = json_loads(body, 0, NULL);
	is_str(json_string_value(json_object_get(j, "timestamp")), "1700000000", "feishu timestamp is now_s, a string");
	is_str(json_string_value(json_object_get(j, "sign")), FEISHU_SIGN, "feishu body carries the sign");
	json_decref(j);
	free(body);
	o.secret = NULL;
	body = chat_render(CHAT_FEISHU, &a, 1, &o, NULL);
	ok(!strstr(body, "\"sign\"") && !strstr(body, "\"timestamp\""), "unsigned feishu body has neither field");
	free(body);
	o.secret = FEISHU_SECRET;
	body = chat_render(CHAT_FEISHU, &a, 1, &o, NULL);
	ok(!strstr(body, FEISHU_SECRET), "the feishu secret itself is not in the body");
	free(body);
}

static void test_limits(void)
{
	char *big = mixed_text(100 * 1024);
	struct chat_alert a = sample();

	a.message = big;
	a.evidence_json = "{\"note\": \"证据很长 long evidence\", \"blob\": \"" /* filled below */;
	struct buf ev;
	buf_init(&ev);
	buf_puts(&ev, "{\"table\": \"records.payment\", \"blob\": \"");
	buf_puts(&ev, big);
	buf_puts(&ev, "\"}");
	for (char *p = ev.data; *p; p++)
		if (*p == '\n')
			*p = ' ';
	a.evidence_json = ev.data;
	a.department = big; /* one-line fields are capped, not the end of the message */

	for (int i = 0; i < 4; i++) {
		enum chat_format f = ALL[i];
		struct chat_opts o = opts(f);
		int inc = 0;
		char *body = chat_render(f, &a, 1, &o, &inc);
		char *text = shown(f, body);
		const char *name = chat_format_name(f);
		ok(text != NULL, "%s: 100 KB message still gives a JSON body", name);
		ok(within_limit(f, body), "%s: within %zu bytes (body %zu)", name, chat_byte_limit(f), strlen(body));
		ok(utf8_valid(body, strlen(body)) && text && utf8_valid(text, strlen(text)),
		   "%s: body and decoded text are valid UTF-8", name);
		ok(text && strstr(text, CHAT_CUT_MARKER), "%s: the cut is marked", name);
		ok(text && strstr(text, OWN_MENTION[i]) && strstr(text, "qfctl findings show 7"),
		   "%s: mentions and footer survive the cut", name);
		ok(text && strstr(text, "finding id") && strstr(text, "7\n"), "%s: the finding id survives the cut", name);
		ok(inc == 1, "%s: included = 1", name);
		free(text);
		free(body);
	}

	/* every cut position inside 1-, 3- and 4-byte characters */
	int bad = 0, cuts = 0;
	for (int i = 0; i < 4; i++) {
		enum chat_format f = ALL[i];
		size_t lim = chat_byte_limit(f);
		for (size_t n = lim - 700; n < lim + 300; n += (f == CHAT_WECOM ? 1 : 3)) {
			char *m = mixed_text(n);
			struct chat_alert b = sample();
			struct chat_opts o = opts(f);
			b.message = m;
			char *body = chat_render(f, &b, 1, &o, NULL);
			char *text = shown(f, body);
			if (!text || !within_limit(f, body) || !utf8_valid(text, strlen(text)))
				bad++;
			if (text && strstr(text, CHAT_CUT_MARKER)) {
				cuts++;
				/* a cut slack text never ends in half an escape */
				char *mk = strstr(text, CHAT_CUT_MARKER);
				char *amp = NULL;
				for (char *p = text; p < mk; p++)
					if (*p == '&')
						amp = p;
					else if (*p == ';')
						amp = NULL;
				if (f == CHAT_SLACK && amp && mk - amp < 6)
					bad++;
			}
			free(text);
			free(body);
			free(m);
		}
	}
	ok(bad == 0, "messages around every limit: valid, within limit (%d bad)", bad);
	ok(cuts > 100, "and many of them were cut (%d)", cuts);

	/* slack escapes grow the text: a message of '&' cut on an escape boundary */
	struct buf amp;
	buf_init(&amp);
	for (int i = 0; i < 12000; i++)
		buf_puts(&amp, "a&<");
	struct chat_alert s = sample();
	struct chat_opts so = opts(CHAT_SLACK);
	s.message = amp.data;
	char *body = chat_render(CHAT_SLACK, &s, 1, &so, NULL);
	char *text = shown(CHAT_SLACK, body);
	char *mk = text ? strstr(text, "\n" CHAT_CUT_MARKER) : NULL;
	ok(within_limit(CHAT_SLACK, body) && mk, "slack: escaped text is cut to the limit");
	ok(mk && (!strncmp(mk - 5, "&amp;", 5) || !strncmp(mk - 4, "&lt;", 4) || mk[-1] == 'a'),
	   "slack: the cut never splits &amp; or &lt;");
	free(text);
	free(body);
	buf_free(&amp);
	buf_free(&ev);
	free(big);
}

/* record text with every trick we know; each wrapped in markers */
static const char INJECT[] = "Z0 @all Z1 @所有人 Z2 <@U1> Z3 <!channel> Z4 [x](http://evil.example) "
			     "Z5 <at user_id=\"all\"></at> Z6 @13800000000 Z7 **bold** Z8 x</font>y "
			     "Z9 <at id=all></at> Z10 https://evil.example/p Z11 www.evil.example "
			     "Z12 <http://evil.example|click> Z13 ![i](http://evil.example/i.png) Z14 <!here> "
			     "Z15 &lt;@U2&gt; Z16 \xE2\x80\xAEgnp.exe Z17 `code` Z18 ~~s~~ \\*x\\* __u__ "
			     /* dropped controls must not join a URL back together (found by fuzz_render) */
			     "Z19 http:\x01//evil.example Z20 w\xE2\x80\xAEww.evil.example Z21 https:\xC2\x85/\x7F/evil "
			     "Z22 www\xE2\x81\xA6.evil.example "
			     "<font color=\"info\">f</font>\n# heading\n---\n> quote\n===";

static void test_injection(void)
{
	static const char *const active[] = {
		"@all", "@所有人", "<@U1>", "<!channel>", "<!here>", "](http", "://", "www.evil", "<at ",
		"@13800000000", "**bold**", "x</font>", "<http", "![", "&lt;@U2", "\xE2\x80\xAE", "`code`",
		"~~s~~", "__u__", "\\*x", "<font color=\"info\">", "\n# heading", "\n---", "\n===", NULL,
	};
	static const char *const ev = "{\"@all\": \"<!channel> [x](http://evil.example)\", "
				      "\"k\": \"<at id=all></at> @13800000000 **bold**\"}";
	/* the markup each format itself writes, removed before looking for raw < and @ */
	static const char *const own_ding[] = { "@13800000001", NULL };
	static const char *const own_wecom[] = { "<font color=\"warning\">", "</font>", "<@zhangsan>", NULL };
	static const char *const own_feishu[] = { "<at id=ou_7d8a6e6df7621556ce0d21922b676706></at>", NULL };
	static const char *const own_slack[] = { "<@U024BE7LH>", NULL };
	static const char *const *const own[] = { own_ding, own_wecom, own_feishu, own_slack };
	/* configured mentions that must be dropped */
	static const char *const evil_m[] = { "13800000001", "all", "@all", "", "13800000000>", "所有人",
					      "<!channel>", "here", "ou_1 <at id=all>", NULL };
	struct chat_alert a = sample();

	a.title = INJECT;
	a.rule_id = "F09<@U1>";
	a.department = INJECT;
	a.subject = INJECT;
	a.message = INJECT;
	a.status = "open @all";
	a.evidence_json = ev;
	a.level = "orange";
	for (int i = 0; i < 4; i++) {
		enum chat_format f = ALL[i];
		const char *name = chat_format_name(f);
		struct chat_opts o = opts(f);
		char *body = chat_render(f, &a, 1, &o, NULL);
		char *text = shown(f, body);
		int found = 0;
		ok(text != NULL, "%s: hostile text still gives a valid body", name);
		/* what is left once the format's own markup and mentions are taken out */
		char *rest = text ? without(text, own[i]) : NULL;
		for (int k = 0; rest && active[k]; k++)
			if (strstr(rest, active[k])) {
				printf("#   %s: active form '%s' found\n", name, active[k]);
				found++;
			}
		ok(rest && found == 0, "%s: no mention, link, tag or markup survives from record text", name);
		ok(text && strstr(text, "Z0") && strstr(text, "Z18") && strstr(text, "bold") && strstr(text, "evil.example"),
		   "%s: the text itself is still shown", name);
		ok(rest && !strchr(rest, '<') && !strchr(rest, '@') && !strpbrk(rest, "[]`|\\"),
		   "%s: no raw < @ [ ] ` | \\ but the format's own markup", name);
		free(rest);
		free(text);
		free(body);

		/* digests too */
		struct chat_alert two[2] = { a, a };
		two[1].finding_id = 8;
		body = chat_render(f, two, 2, &o, NULL);
		text = shown(f, body);
		found = 0;
		rest = text ? without(text, own[i]) : NULL;
		for (int k = 0; rest && active[k]; k++)
			found += strstr(rest, active[k]) != NULL;
		ok(text && found == 0 && rest && !strchr(rest, '<') && !strchr(rest, '@'), "%s: digest is inert too",
		   name);
		free(rest);
		free(text);
		free(body);

		/* only well-formed configured mentions are used */
		int nm = 0;
		while (evil_m[nm])
			nm++;
		o.mentions = evil_m;
		o.nmentions = nm;
		a.message = "m";
		body = chat_render(f, &a, 1, &o, NULL);
		text = shown(f, body);
		int real = 0;
		const char *needle = f == CHAT_DINGTALK ? "@" : f == CHAT_FEISHU ? "<at id=" : "<@";
		for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p++)
			real++;
		ok(real == 1, "%s: of %d configured mentions only the valid one is used (%d)", name, nm, real);
		if (f == CHAT_DINGTALK) {
			json_t *j = json_loads(body, 0, NULL);
			json_t *at = json_object_get(j, "at");
			char *atj = json_dumps(at, JSON_COMPACT);
			is_str(atj, "{\"atMobiles\":[\"13800000001\"],\"isAtAll\":false}", "dingtalk: at lists it, isAtAll false");
			free(atj);
			json_decref(j);
		}
		a.message = INJECT;
		free(text);
		free(body);
	}
}

/* every bidi control and zero-width character the renderer must show as
 * U+FFFD: name, UTF-8 */
static const char *const HIDDEN[][2] = {
	{ "U+061C", "\xD8\x9C" },     { "U+200B", "\xE2\x80\x8B" }, { "U+200C", "\xE2\x80\x8C" },
	{ "U+200D", "\xE2\x80\x8D" }, { "U+200E", "\xE2\x80\x8E" }, { "U+200F", "\xE2\x80\x8F" },
	{ "U+202A", "\xE2\x80\xAA" }, { "U+202B", "\xE2\x80\xAB" }, { "U+202C", "\xE2\x80\xAC" },
	{ "U+202D", "\xE2\x80\xAD" }, { "U+202E", "\xE2\x80\xAE" }, { "U+2060", "\xE2\x81\xA0" },
	{ "U+2066", "\xE2\x81\xA6" }, { "U+2067", "\xE2\x81\xA7" }, { "U+2068", "\xE2\x81\xA8" },
	{ "U+2069", "\xE2\x81\xA9" }, { "U+FEFF", "\xEF\xBB\xBF" },
};
#define NHIDDEN (int)(sizeof HIDDEN / sizeof HIDDEN[0])
#define FFFD "\xEF\xBF\xBD"

/* Bidi controls and zero-width characters in record text: each shows as
 * U+FFFD where it was, in every field, in every format, in one message
 * and in a digest; nothing else around it changes. */
static void test_hidden(void)
{
	for (int h = 0; h < NHIDDEN; h++) {
		const char *c = HIDDEN[h][1];
		char name[64], title[64], dept[64], subj[64], msg[64], ev[128];
		char want_name[64], want_title[64], want_dept[64], want_msg[64], want_ev[64];

		snprintf(name, sizeof name, "张%s三", c);
		snprintf(title, sizeof title, "exe%s.gnp", c);
		snprintf(dept, sizeof dept, "%s财务处", c);
		snprintf(subj, sizeof subj, "P%s1001", c);
		snprintf(msg, sizeof msg, "付款%s人", c);
		snprintf(ev, sizeof ev, "{\"vendor%s\": \"V%s1\"}", c, c);
		snprintf(want_name, sizeof want_name, "张" FFFD "三");
		snprintf(want_title, sizeof want_title, "exe" FFFD ".gnp");
		snprintf(want_dept, sizeof want_dept, FFFD "财务处");
		snprintf(want_msg, sizeof want_msg, "付款" FFFD "人");
		snprintf(want_ev, sizeof want_ev, "vendor" FFFD "=V" FFFD "1");
		for (int i = 0; i < 4; i++) {
			enum chat_format f = ALL[i];
			struct chat_alert a = sample();
			struct chat_opts o = opts(f);
			a.title = title;
			a.department = dept;
			a.subject = name;
			a.message = msg;
			a.evidence_json = ev;
			a.status = subj;
			char *body = chat_render(f, &a, 1, &o, NULL);
			char *text = shown(f, body);
			struct chat_alert two[2] = { a, a };
			two[1].subject = subj;
			char *dbody = chat_render(f, two, 2, &o, NULL);
			char *dtext = shown(f, dbody);
			ok(text && !strstr(text, c) && dtext && !strstr(dtext, c) && strstr(text, want_name) && strstr(text, want_title) && strstr(text, want_dept) &&
				   strstr(text, want_msg) && strstr(text, want_ev) && strstr(text, "P" FFFD "1001") &&
				   dtext && strstr(dtext, want_title) && strstr(dtext, want_dept) &&
				   strstr(dtext, "P" FFFD "1001"),
			   "%s %s: none left, each shown as U+FFFD in subject, title, department, message, evidence, "
			   "status and digest",
			   chat_format_name(f), HIDDEN[h][0]);
			free(dtext);
			free(dbody);
			free(text);
			free(body);
		}
	}
	/* a title (dingtalk markdown.title, feishu card header) is record text too */
	struct chat_alert a = sample();
	struct chat_opts o = opts(CHAT_FEISHU);
	a.title = "\xE2\x80\xAE" "fdp.exe";
	char *body = chat_render(CHAT_FEISHU, &a, 1, &o, NULL);
	json_t *j = json_loads(body, 0, NULL);
	const char *hdr = json_string_value(json_object_get(
		json_object_get(json_object_get(json_object_get(j, "card"), "header"), "title"), "content"));
	ok(hdr && strstr(hdr, FFFD "fdp.exe") && !strstr(hdr, "\xE2\x80\xAE"), "feishu: the card header too (%s)",
	   hdr ? hdr : "(none)");
	json_decref(j);
	free(body);
	/* only those: U+2028 stays a line break, accents, CJK and emoji stay */
	a = sample();
	a.message = "a\xE2\x80\xA8" "b é ü 中文 😀\xE2\x80\x8B!";
	o = opts(CHAT_SLACK);
	body = chat_render(CHAT_SLACK, &a, 1, &o, NULL);
	char *text = shown(CHAT_SLACK, body);
	ok(text && strstr(text, "> a\n> b é ü 中文 😀" FFFD "!") && strstr(text, FFFD) == strrchr(text, '\xBD') - 2,
	   "a zero-width space among other text: it alone is replaced");
	free(text);
	free(body);
}

/* A field longer than its cap ends with how much was cut. */
static void test_field_cut(void)
{
	struct buf ev, title;
	char want_ev[64], want_title[64];

	buf_init(&ev);
	buf_puts(&ev, "{\"payment_id\": \"P-1\", \"invoice_no\": \"");
	for (int i = 0; i < 200000; i++)
		buf_add(&ev, "x", 1);
	buf_puts(&ev, "\", \"amount\": 48000.00}");
	buf_init(&title);
	for (int i = 0; i < 100; i++)
		buf_puts(&title, "中"); /* 300 bytes: cut at 198, a character boundary */
	snprintf(want_ev, sizeof want_ev, CHAT_FIELD_CUT_FMT, (size_t)(200000 - 200));
	snprintf(want_title, sizeof want_title, CHAT_FIELD_CUT_FMT, (size_t)(300 - 198));
	for (int i = 0; i < 4; i++) {
		enum chat_format f = ALL[i];
		const char *name = chat_format_name(f);
		struct chat_alert a = sample();
		struct chat_opts o = opts(f);
		a.evidence_json = ev.data;
		a.title = title.data;
		char *body = chat_render(f, &a, 1, &o, NULL);
		char *text = shown(f, body);
		ok(text && within_limit(f, body) && strstr(text, want_ev) && strstr(text, "amount=48000.00"),
		   "%s: a 200 KB evidence value: within the limit, it ends with '%s', the next one follows", name,
		   want_ev);
		ok(text && strstr(text, want_title), "%s: a 300-byte title ends with '%s'", name, want_title);
		free(text);
		free(body);
	}
	buf_free(&ev);
	buf_free(&title);
}

static void test_minimal(void)
{
	struct chat_alert a = sample();

	a.subject = "SUBJ-张三-4711";
	a.message = "MSG-secret-text";
	a.evidence_json = "{\"payment_id\": \"EVID-P-99\", \"amount\": 12345.67}";
	a.department = "DEPT-财务处";
	for (int i = 0; i < 4; i++) {
		enum chat_format f = ALL[i];
		const char *name = chat_format_name(f);
		struct chat_opts o = opts(f);
		o.minimal = true;
		char *body = chat_render(f, &a, 1, &o, NULL);
		ok(body && !strstr(body, "4711") && !strstr(body, "张三") && !strstr(body, "MSG-secret") &&
			   !strstr(body, "EVID-P-99") && !strstr(body, "12345.67") && !strstr(body, "subject") &&
			   !strstr(body, "evidence"),
		   "%s: minimal has no subject, message or evidence", name);
		ok(body && strstr(body, "F09") && strstr(body, "creator approves own payment") && strstr(body, "ORANGE") &&
			   strstr(body, "DEPT-财务处") && strstr(body, "财务监督 financial") && strstr(body, "非技术风险") &&
			   strstr(body, "监督责任") && strstr(body, "finding id") && strstr(body, "findings show 7"),
		   "%s: minimal has rule, title, level, department, 423 dimensions and finding id", name);
		free(body);
		struct chat_alert two[2] = { a, a };
		body = chat_render(f, two, 2, &o, NULL);
		ok(body && !strstr(body, "4711") && !strstr(body, "MSG-secret") && !strstr(body, "EVID"),
		   "%s: minimal digest has no subject, message or evidence", name);
		free(body);
	}
}

static void test_digest(void)
{
	enum { N = 100 };
	struct chat_alert a[N];
	static char titles[N][200];
	static const char *const levels[] = { "yellow", "orange", "red" };

	for (int i = 0; i < N; i++) {
		a[i] = sample();
		a[i].finding_id = 1001 + i;
		a[i].alert_id = 5001 + i;
		a[i].level = levels[i % 3];
		a[i].event = i % 10 ? "finding.new" : "finding.escalated";
		snprintf(titles[i], sizeof titles[i], "制单审批同一人 creator approves own payment, voucher %d, %s", i,
			 "另附凭证与审批流程记录 with the voucher and the approval trail attached");
		a[i].title = titles[i];
	}
	for (int k = 0; k < 4; k++) {
		enum chat_format f = ALL[k];
		const char *name = chat_format_name(f);
		struct chat_opts o = opts(f);
		int inc = -1;
		char *body = chat_render(f, a, N, &o, &inc);
		char *text = shown(f, body);
		char more[64], id[32];
		int listed = 0, wrong = 0;

		ok(text && within_limit(f, body), "%s: digest of %d is JSON within the limit", name, N);
		ok(inc >= 1 && inc <= N, "%s: included = %d", name, inc);
		for (int i = 0; text && i < N; i++) {
			snprintf(id, sizeof id, "#%lld ", a[i].finding_id);
			bool in = strstr(text, id) != NULL;
			listed += in;
			wrong += in != (i < inc);
		}
		ok(listed == inc && wrong == 0, "%s: exactly the first %d finding ids are listed (%d)", name, inc, listed);
		snprintf(more, sizeof more, "… and %d more (另有 %d 条)", N - inc, N - inc);
		if (inc < N)
			ok(text && strstr(text, more), "%s: ends with '%s'", name, more);
		else
			ok(text && !strstr(text, "more (另有"), "%s: everything fits, no 'more' line", name);
		ok(text && strstr(text, "红色 RED") && strstr(text, "100 条告警"), "%s: digest header has the top level", name);
		ok(text && strstr(text, OWN_MENTION[k]), "%s: digest keeps the mentions", name);
		if (f == CHAT_FEISHU)
			ok(body && strstr(body, "\"template\":\"red\""), "feishu: digest card is red");
		free(text);
		free(body);

		/* the caller sends the rest in later digests: every alert once */
		int off = 0, msgs = 0, sum = 0;
		bool stuck = false;
		while (off < N && msgs < N) {
			int got = 0;
			body = chat_render(f, a + off, N - off, &o, &got);
			if (!body || got < 1 || !within_limit(f, body)) {
				stuck = true;
				free(body);
				break;
			}
			off += got, sum += got, msgs++;
			free(body);
		}
		ok(!stuck && sum == N, "%s: %d digests cover all %d alerts", name, msgs, N);
	}
	char *plain = chat_render(CHAT_WECOM, a, N, &(struct chat_opts){ 0 }, NULL);
	ok(plain && !strstr(plain, "<@"), "opts without mentions work");
	free(plain);
	ok(chat_render(CHAT_WECOM, a, 0, &(struct chat_opts){ 0 }, NULL) == NULL, "n = 0 renders nothing");
	ok(chat_render(CHAT_WECOM, a, 1, NULL, NULL) == NULL, "no opts renders nothing");
}

struct verdict_case {
	enum chat_format f;
	long http;
	const char *body;
	enum chat_verdict want;
	const char *why; /* expected prefix of why, or NULL */
};

static void test_classify(void)
{
	static const struct verdict_case cases[] = {
		{ CHAT_DINGTALK, 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", CHAT_OK, "dingtalk errcode 0: ok" },
		{ CHAT_DINGTALK, 200, "{\"errcode\":130101,\"errmsg\":\"send too fast, exceed 20 times per minute\"}",
		  CHAT_RETRY, "dingtalk errcode 130101: send too fast" },
		{ CHAT_DINGTALK, 200, "{\"errcode\":310000,\"errmsg\":\"sign not match\"}", CHAT_DEAD,
		  "dingtalk errcode 310000: sign not match" },
		{ CHAT_DINGTALK, 200, "{\"errcode\":310000}", CHAT_DEAD,
		  "dingtalk errcode 310000: sign, keyword, ip or timestamp rejected" },
		{ CHAT_DINGTALK, 200, "{\"errcode\":300005,\"errmsg\":\"token is not exist\"}", CHAT_DEAD,
		  "dingtalk errcode 300005: token is not exist" },
		{ CHAT_DINGTALK, 200, "{\"errcode\":-1,\"errmsg\":\"系统繁忙\"}", CHAT_RETRY, "dingtalk errcode -1" },
		{ CHAT_DINGTALK, 200, "{\"errcode\":460101,\"errmsg\":\"message too long\"}", CHAT_DEAD,
		  "dingtalk errcode 460101: message too long" },
		{ CHAT_DINGTALK, 200, "<html>proxy</html>", CHAT_DEAD, "dingtalk HTTP 200 without \"errcode\"" },
		{ CHAT_DINGTALK, 200, "", CHAT_DEAD, NULL },
		{ CHAT_DINGTALK, 0, NULL, CHAT_RETRY, "dingtalk: no HTTP answer" },
		{ CHAT_DINGTALK, 429, "", CHAT_RETRY, "dingtalk HTTP 429" },
		{ CHAT_DINGTALK, 502, "<html>bad gateway</html>", CHAT_RETRY, "dingtalk HTTP 502" },
		{ CHAT_DINGTALK, 404, "not found", CHAT_DEAD, "dingtalk HTTP 404" },
		{ CHAT_DINGTALK, 403, "{\"errcode\":310000,\"errmsg\":\"ip not in whitelist\"}", CHAT_DEAD, NULL },
		{ CHAT_WECOM, 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", CHAT_OK, "wecom errcode 0" },
		{ CHAT_WECOM, 200, "{\"errcode\":45009,\"errmsg\":\"api freq out of limit\"}", CHAT_RETRY,
		  "wecom errcode 45009: api freq out of limit" },
		{ CHAT_WECOM, 200, "{\"errcode\":93000,\"errmsg\":\"invalid webhook url, hint: [1700000000_12_abcdef0123456789abcdef]\"}",
		  CHAT_DEAD, "wecom errcode 93000: invalid webhook url, hint: [***]" },
		{ CHAT_WECOM, 200, "{\"errcode\":40058,\"errmsg\":\"markdown.content exceed max length 4096\"}", CHAT_DEAD,
		  "wecom errcode 40058" },
		{ CHAT_WECOM, 200, "{\"errcode\":-1,\"errmsg\":\"system busy\"}", CHAT_RETRY, "wecom errcode -1" },
		{ CHAT_WECOM, 200, "{\"errcode\":40008,\"errmsg\":\"invalid message type\"}", CHAT_DEAD, "wecom errcode 40008" },
		{ CHAT_WECOM, 503, "", CHAT_RETRY, "wecom HTTP 503" },
		{ CHAT_FEISHU, 200, "{\"code\":0,\"msg\":\"success\",\"data\":{}}", CHAT_OK, "feishu code 0: success" },
		{ CHAT_FEISHU, 200, "{\"code\":11232,\"msg\":\"frequency limited\"}", CHAT_RETRY, "feishu code 11232" },
		{ CHAT_FEISHU, 400, "{\"code\":11232,\"msg\":\"frequency limited\"}", CHAT_RETRY, "feishu code 11232" },
		{ CHAT_FEISHU, 200, "{\"code\":19021,\"msg\":\"sign match fail or timestamp is not within one hour from current time\"}",
		  CHAT_DEAD, "feishu code 19021: sign match fail" },
		{ CHAT_FEISHU, 200, "{\"code\":19022,\"msg\":\"Ip Not Allowed\"}", CHAT_DEAD, "feishu code 19022" },
		{ CHAT_FEISHU, 200, "{\"code\":19024,\"msg\":\"Key Words Not Found\"}", CHAT_DEAD, "feishu code 19024" },
		{ CHAT_FEISHU, 400, "{\"code\":9499,\"msg\":\"Bad Request\",\"data\":{}}", CHAT_DEAD, "feishu HTTP 400, code 9499" },
		{ CHAT_FEISHU, 200, "{\"code\":19001,\"msg\":\"param invalid: incoming webhook access token invalid\"}",
		  CHAT_DEAD, "feishu code 19001" },
		{ CHAT_FEISHU, 500, "", CHAT_RETRY, "feishu HTTP 500" },
		{ CHAT_SLACK, 200, "ok", CHAT_OK, "slack HTTP 200: ok" },
		{ CHAT_SLACK, 200, "ok\n", CHAT_OK, NULL },
		{ CHAT_SLACK, 200, "not ok", CHAT_DEAD, NULL },
		{ CHAT_SLACK, 429, "rate_limited", CHAT_RETRY, "slack HTTP 429: rate_limited" },
		{ CHAT_SLACK, 400, "invalid_payload", CHAT_DEAD, "slack HTTP 400: invalid_payload" },
		{ CHAT_SLACK, 403, "action_prohibited", CHAT_DEAD, "slack HTTP 403" },
		{ CHAT_SLACK, 404, "no_service", CHAT_DEAD, "slack HTTP 404: no_service" },
		{ CHAT_SLACK, 410, "channel_is_archived", CHAT_DEAD, NULL },
		{ CHAT_SLACK, 500, "rollup_error", CHAT_RETRY, "slack HTTP 500" },
		{ CHAT_SLACK, 0, NULL, CHAT_RETRY, "slack: no HTTP answer" },
	};
	static const char *const vname[] = { "ok", "retry", "dead" };
	char why[160], shown_body[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct verdict_case *c = &cases[i];
		memset(why, 'X', sizeof why);
		enum chat_verdict v = chat_classify(c->f, c->http, c->body, c->body ? strlen(c->body) : 0, why, sizeof why);
		/* the body on one TAP line */
		size_t o = 0;
		for (const char *p = c->body ? c->body : "(none)"; *p && o + 3 < sizeof shown_body; p++)
			if (*p == '\n')
				shown_body[o++] = '\\', shown_body[o++] = 'n';
			else
				shown_body[o++] = *p;
		shown_body[o] = '\0';
		ok(v == c->want && memchr(why, '\0', sizeof why) &&
			   (!c->why || !strncmp(why, c->why, strlen(c->why))),
		   "%s HTTP %ld %s -> %s (%s)", chat_format_name(c->f), c->http, shown_body, vname[c->want], why);
	}

	/* secrets the vendor might echo never reach why */
	static const char *const echoes[][2] = {
		{ "{\"errcode\":310000,\"errmsg\":\"sign not match, secret " DING_SECRET "\"}", DING_SECRET },
		{ "{\"errcode\":300005,\"errmsg\":\"token abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789 is not exist\"}",
		  "abcdef0123456789" },
		{ "{\"errcode\":93000,\"errmsg\":\"invalid webhook url key=693a91f6-7aaa-4bc4-97a0-0ec2fa5aaa01\"}",
		  "693a91f6" },
		{ "{\"code\":19021,\"msg\":\"sign " FEISHU_SECRET " wrong\"}", FEISHU_SECRET },
	};
	static const enum chat_format ef[] = { CHAT_DINGTALK, CHAT_DINGTALK, CHAT_WECOM, CHAT_FEISHU };
	for (int i = 0; i < 4; i++) {
		chat_classify(ef[i], 200, echoes[i][0], strlen(echoes[i][0]), why, sizeof why);
		ok(!strstr(why, echoes[i][1]) && strstr(why, "***"), "%s: an echoed secret is masked (%s)",
		   chat_format_name(ef[i]), why);
	}
	const char *sl = "invalid_token for T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";
	chat_classify(CHAT_SLACK, 403, sl, strlen(sl), why, sizeof why);
	ok(!strstr(why, "B00000000") && !strstr(why, "XXXXXXXX"), "slack: an echoed webhook path is masked (%s)", why);

	/* why is always a NUL-terminated, valid UTF-8 string of at most whylen bytes */
	char small[12];
	const char *cjk = "{\"errcode\":310000,\"errmsg\":\"签名不匹配\"}";
	chat_classify(CHAT_DINGTALK, 200, cjk, strlen(cjk), small, sizeof small);
	ok(strlen(small) < sizeof small && utf8_valid(small, strlen(small)), "why is cut on a character boundary ('%s')",
	   small);
	char huge[4096];
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "{\"errcode\":310000,\"errmsg\":\"");
	for (int i = 0; i < 500; i++)
		buf_puts(&b, "签名 ");
	buf_puts(&b, "\"}");
	chat_classify(CHAT_DINGTALK, 200, b.data, b.len, huge, sizeof huge);
	ok(strlen(huge) < 160 && utf8_valid(huge, strlen(huge)), "the vendor text is quoted briefly (%zu bytes)",
	   strlen(huge));
	buf_free(&b);
	ok(chat_classify(CHAT_FEISHU, 200, "{\"code\":0}", 10, NULL, 0) == CHAT_OK, "why may be NULL");
}

int main(void)
{
	test_names();
	test_golden();
	test_signing();
	test_limits();
	test_injection();
	test_hidden();
	test_field_cut();
	test_minimal();
	test_digest();
	test_classify();
	done_testing();
}
