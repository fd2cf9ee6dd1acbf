/* Chat-webhook messages (RECEIVERS.md): the request body for DingTalk,
 * WeCom, Feishu and Slack robots, one alert or a digest, within each
 * vendor's size limit. Record text goes in only through chat_text.c,
 * which makes it inert; signing and URLs are chat_sign.c, what the
 * vendors answer chat_answer.c. Only struct chat_opts.mentions produce
 * real mentions. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat_int.h"
#include "utf8.h"

#define FIELD_MAX 200     /* bytes of a one-line field (title, department, subject) */
#define DIGEST_FIELD_MAX 100
#define MENTION_MAX 64    /* bytes of one mention id */
#define MENTIONS_MAX 20   /* mentions in one message: keeps the tail small */

/* ------------------------------------------------------------------ */
/* formats                                                             */

static const char *const FORMAT_NAMES[] = { "dingtalk", "wecom", "feishu", "slack" };

int chat_format_parse(const char *name, enum chat_format *out)
{
	if (!name)
		return -1;
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, FORMAT_NAMES[i])) {
			*out = (enum chat_format)i;
			return 0;
		}
	return -1;
}

const char *chat_format_name(enum chat_format f)
{
	return (unsigned)f < 4 ? FORMAT_NAMES[f] : "?";
}

size_t chat_byte_limit(enum chat_format f)
{
	switch (f) {
	case CHAT_DINGTALK: return 20000;
	case CHAT_WECOM: return 4096;
	case CHAT_FEISHU: return 20000;
	case CHAT_SLACK: return 40000;
	}
	return 4096;
}

bool chat_limit_is_body(enum chat_format f)
{
	return f != CHAT_WECOM;
}

int chat_rate_per_minute(enum chat_format f)
{
	switch (f) {
	case CHAT_DINGTALK: return 20;
	case CHAT_WECOM: return 20;
	case CHAT_FEISHU: return 100;
	case CHAT_SLACK: return 60;
	}
	return 20;
}

int chat_rate_per_second(enum chat_format f)
{
	return f == CHAT_FEISHU ? 5 : f == CHAT_SLACK ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* labels                                                              */

static const char *const EVENT_LABELS[][2] = {
	{ "finding.new", "新风险点 new finding" },
	{ "finding.retriggered", "再次触发 re-triggered" },
	{ "finding.escalated", "风险升级 escalated" },
	{ "finding.reminder", "提醒 reminder" },
	{ "finding.resolved", "已办结 resolved" },
	{ "finding.overdue", "督办 overdue" },
	{ "finding.evidence_changed", "证据被改 evidence changed after the finding" },
	{ NULL, NULL },
};
static const char *const SUPERVISION_LABELS[][2] = {
	{ "technical", "技术监督 technical" },
	{ "financial", "财务监督 financial" },
	{ "disciplinary", "纪律监督 disciplinary" },
	{ NULL, NULL },
};
static const char *const RISK_LABELS[][2] = {
	{ "technical", "技术风险 technical" },
	{ "non-technical", "非技术风险 non-technical" },
	{ NULL, NULL },
};
static const char *const DUTY_LABELS[][2] = {
	{ "primary", "主体责任 primary" },
	{ "supervisory", "监督责任 supervisory" },
	{ "dual-duty", "一岗双责 dual-duty" },
	{ "impartiality", "检验公正性 impartiality" },
	{ NULL, NULL },
};

static const char *label_of(const char *const tbl[][2], const char *v)
{
	for (size_t i = 0; v && tbl[i][0]; i++)
		if (!strcmp(tbl[i][0], v))
			return tbl[i][1];
	return NULL;
}

struct level_style {
	const char *name, *label, *emoji, *feishu, *wecom;
	int rank;
};

static const struct level_style LEVELS[] = {
	{ "red", "红色 RED", "🔴", "red", "warning", 3 },
	{ "orange", "橙色 ORANGE", "🟠", "orange", "warning", 2 },
	{ "yellow", "黄色 YELLOW", "🟡", "yellow", "comment", 1 },
};
static const struct level_style LEVEL_UNKNOWN = { NULL, NULL, "⚪", "grey", "comment", 0 };

static const struct level_style *level_of(const char *level)
{
	for (size_t i = 0; level && i < sizeof LEVELS / sizeof LEVELS[0]; i++)
		if (!strcmp(LEVELS[i].name, level))
			return &LEVELS[i];
	return &LEVEL_UNKNOWN;
}

static void put_field(struct buf *b, enum chat_format f, const char *s, size_t max)
{
	if (s && *s)
		chat_put_data(b, f, s, strlen(s), max, NULL);
	else
		buf_puts(b, "-");
}

/* A known value's bilingual label, else the value itself as data. */
static void put_label(struct buf *b, enum chat_format f, const char *const tbl[][2], const char *v)
{
	const char *l = label_of(tbl, v);

	if (l)
		buf_puts(b, l);
	else
		put_field(b, f, v, 64);
}

static void put_level(struct buf *b, enum chat_format f, const char *level)
{
	const struct level_style *ls = level_of(level);

	if (ls->label)
		buf_puts(b, ls->label);
	else
		put_field(b, f, level, 32);
}

/* ------------------------------------------------------------------ */
/* mentions                                                            */

static bool mention_ok(const char *m)
{
	static const char *const everyone[] = { "all", "here", "channel", "everyone", NULL };
	size_t n = m ? strlen(m) : 0;

	if (n == 0 || n > MENTION_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!chat_is_alnum((unsigned char)m[i]) && !strchr("_.+-", m[i]))
			return false;
	for (int i = 0; everyone[i]; i++)
		if (!strcasecmp(m, everyone[i]))
			return false;
	return true;
}

/* the mention line ("" when nobody is mentioned) */
static void put_mentions(struct buf *b, enum chat_format f, const struct chat_opts *o)
{
	int used = 0;

	for (int i = 0; o->mentions && i < o->nmentions && used < MENTIONS_MAX; i++) {
		const char *m = o->mentions[i];
		if (!mention_ok(m))
			continue;
		if (used++)
			buf_add(b, " ", 1);
		switch (f) {
		case CHAT_DINGTALK: buf_printf(b, "@%s", m); break;
		case CHAT_WECOM: buf_printf(b, "<@%s>", m); break;
		case CHAT_FEISHU: buf_printf(b, "<at id=%s></at>", m); break;
		case CHAT_SLACK: buf_printf(b, "<@%s>", m); break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* message layout                                                      */

/* What surrounds record text, per format. */
struct style {
	const char *block;            /* between blocks */
	const char *field_pre, *field_mid; /* "<pre>label<mid>value\n" */
	const char *strong_on, *strong_off;
	const char *quote;            /* message line prefix */
	const char *bullet;           /* digest line prefix */
};

static const struct style STYLES[] = {
	[CHAT_DINGTALK] = { "\n\n", "- ", ": ", "**", "**", "> ", "- " },
	[CHAT_WECOM] = { "\n", "> ", ": ", "**", "**", "> ", "- " },
	[CHAT_FEISHU] = { "\n", "**", "**: ", "**", "**", "", "- " },
	[CHAT_SLACK] = { "\n", "*", "*: ", "*", "*", "> ", "• " },
};

/* the level badge that starts a header line */
static void put_badge(struct buf *b, enum chat_format f, const char *level)
{
	const struct level_style *ls = level_of(level);

	switch (f) {
	case CHAT_DINGTALK:
	case CHAT_SLACK:
		buf_printf(b, "%s【", ls->emoji);
		put_level(b, f, level);
		buf_puts(b, "】");
		break;
	case CHAT_WECOM:
		buf_printf(b, "%s <font color=\"%s\">【", ls->emoji, ls->wecom);
		put_level(b, f, level);
		buf_puts(b, "】</font>");
		break;
	case CHAT_FEISHU: /* the card header's template colour says it */
		buf_puts(b, "【");
		put_level(b, f, level);
		buf_puts(b, "】");
		break;
	}
}

enum piece_kind { P_ATOMIC, P_SPLIT, P_ITEM };

struct piece {
	char *s;
	size_t len;
	enum piece_kind kind;
};

struct doc {
	enum chat_format f;
	const struct style *st;
	struct piece *v;
	int n, cap;
	struct buf title; /* dingtalk markdown.title, feishu card header */
	struct buf tail;  /* mentions and footer: never cut */
	const char *template;
	const char *link; /* the console's page of the finding, or NULL */
	bool card;	  /* dingtalk: an actionCard with the link as its button */
};

#define LINK_TITLE "签收 / 查看 sign / view"

static void doc_add(struct doc *d, struct buf *b, enum piece_kind kind)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->v = xrealloc(d->v, (size_t)d->cap * sizeof *d->v);
	}
	d->v[d->n].len = b->len;
	d->v[d->n].s = buf_steal(b);
	d->v[d->n].kind = kind;
	d->n++;
}

static void doc_free(struct doc *d)
{
	for (int i = 0; i < d->n; i++)
		free(d->v[i].s);
	free(d->v);
	buf_free(&d->title);
	buf_free(&d->tail);
}

static void field(struct doc *d, struct buf *b, const char *label)
{
	buf_printf(b, "%s%s%s", d->st->field_pre, label, d->st->field_mid);
}

static void put_tail(struct doc *d, const struct chat_opts *o, const char *footer)
{
	struct buf m;

	buf_init(&m);
	put_mentions(&m, d->f, o);
	buf_puts(&d->tail, "\n"); /* every piece ends a line: this leaves one blank line */
	if (m.len) {
		buf_add(&d->tail, m.data, m.len);
		buf_puts(&d->tail, d->st->block);
	}
	buf_puts(&d->tail, footer);
	buf_free(&m);
}

static void render_one(struct doc *d, const struct chat_alert *a, const struct chat_opts *o)
{
	enum chat_format f = d->f;
	const struct style *st = d->st;
	const char *ev = label_of(EVENT_LABELS, a->event);
	struct buf b;

	buf_init(&b);

	/* title: the notification line, and the card header on feishu */
	if (f != CHAT_FEISHU)
		buf_printf(&d->title, "%s", level_of(a->level)->emoji);
	buf_puts(&d->title, "【");
	put_level(&d->title, f, a->level);
	buf_puts(&d->title, "】");
	put_field(&d->title, f, a->rule_id, 32);
	buf_add(&d->title, " ", 1);
	put_field(&d->title, f, a->title, FIELD_MAX);

	/* header line (on feishu the card header) and event line */
	if (f != CHAT_FEISHU) {
		if (f == CHAT_SLACK) {
			buf_printf(&b, "%s *【", level_of(a->level)->emoji);
			put_level(&b, f, a->level);
			buf_puts(&b, "】");
		} else {
			buf_puts(&b, "### ");
			put_badge(&b, f, a->level);
		}
		put_field(&b, f, a->rule_id, 32);
		buf_add(&b, " ", 1);
		put_field(&b, f, a->title, FIELD_MAX);
		buf_puts(&b, f == CHAT_SLACK ? "*\n" : "\n");
	}
	buf_puts(&b, st->strong_on);
	if (ev)
		buf_puts(&b, ev);
	else
		put_field(&b, f, a->event, 64);
	buf_printf(&b, "%s · 告警 alert #%lld%s", st->strong_off, a->alert_id, st->block);
	doc_add(d, &b, P_ATOMIC);
	if (a->overdue_step) {
		/* plainly: overdue, for which step, how long, whose */
		bool sign = !strcmp(a->overdue_step, "sign");
		buf_printf(&b, "%s逾期 overdue%s: %s, ", st->strong_on, st->strong_off,
			   sign ? "未按期签收 not signed for" : "未按期办结 not closed");
		buf_puts(&b, "时限 due ");
		put_field(&b, f, a->overdue_due, 40);
		buf_printf(&b, ", 已逾期 %.1f 天 days late · 责任人 owner: ", a->days_late);
		put_field(&b, f, a->owner, 64);
		buf_puts(&b, st->block);
		doc_add(d, &b, P_ATOMIC);
	}

	/* the finding's fields, id last */
	field(d, &b, "部门 department");
	put_field(&b, f, a->department, FIELD_MAX);
	buf_add(&b, "\n", 1);
	if (!o->minimal) {
		field(d, &b, "对象 subject");
		put_field(&b, f, a->subject, FIELD_MAX);
		buf_add(&b, "\n", 1);
	}
	field(d, &b, "监督 supervision");
	put_label(&b, f, SUPERVISION_LABELS, a->supervision);
	buf_add(&b, "\n", 1);
	field(d, &b, "风险 risk");
	put_label(&b, f, RISK_LABELS, a->risk);
	buf_add(&b, "\n", 1);
	field(d, &b, "责任 duty");
	put_label(&b, f, DUTY_LABELS, a->duty);
	buf_add(&b, "\n", 1);
	if (!o->minimal) {
		field(d, &b, "状态 status");
		put_field(&b, f, a->status, 32);
		buf_printf(&b, " · 命中 hits: %ld\n", a->hit_count);
	}
	if (a->owner) {
		field(d, &b, "责任人 owner");
		put_field(&b, f, a->owner, 64);
		buf_add(&b, "\n", 1);
	}
	field(d, &b, "编号 finding id");
	buf_printf(&b, "%lld\n", a->finding_id);
	doc_add(d, &b, P_ATOMIC);

	if (!o->minimal && a->message && *a->message) {
		buf_printf(&b, "%s%s说明 message:%s\n", f == CHAT_DINGTALK ? "\n" : "", st->strong_on, st->strong_off);
		if (f == CHAT_DINGTALK)
			buf_add(&b, "\n", 1);
		buf_puts(&b, st->quote);
		doc_add(d, &b, P_ATOMIC);
		chat_put_data(&b, f, a->message, strlen(a->message), 0, st->quote);
		buf_add(&b, "\n", 1);
		doc_add(d, &b, P_SPLIT);
	}
	if (!o->minimal && a->evidence_json && *a->evidence_json) {
		buf_printf(&b, "%s%s证据 evidence:%s ", f == CHAT_DINGTALK ? "\n" : "", st->strong_on, st->strong_off);
		doc_add(d, &b, P_ATOMIC);
		chat_put_evidence(&b, f, a->evidence_json);
		buf_add(&b, "\n", 1);
		doc_add(d, &b, P_SPLIT);
	}
	/* the console's link: a button on feishu's card and dingtalk's
	 * actionCard, a link in the others' text */
	if (d->link && f == CHAT_SLACK)
		buf_printf(&b, "<%s|%s>\n", d->link, LINK_TITLE);
	else if (d->link && f != CHAT_FEISHU && !d->card)
		buf_printf(&b, "[%s](%s)\n", LINK_TITLE, d->link);
	buf_printf(&b, "qingfeng 清风 · qfctl findings show %lld", a->finding_id);
	put_tail(d, o, b.data);
	buf_free(&b);
}

static const char *digest_event(const char *event)
{
	if (!event || !strcmp(event, "finding.new"))
		return NULL;
	if (!strcmp(event, "finding.retriggered"))
		return "再次 again";
	if (!strcmp(event, "finding.escalated"))
		return "升级 escalated";
	if (!strcmp(event, "finding.reminder"))
		return "提醒 reminder";
	if (!strcmp(event, "finding.overdue"))
		return "督办 overdue";
	if (!strcmp(event, "finding.resolved"))
		return "已办结 resolved";
	if (!strcmp(event, "finding.evidence_changed"))
		return "证据被改 evidence changed";
	return "?";
}

static void render_digest(struct doc *d, const struct chat_alert *a, int n, const struct chat_opts *o)
{
	enum chat_format f = d->f;
	const struct level_style *top = &LEVEL_UNKNOWN;
	const char *top_level = a[0].level;
	struct buf b, what;

	/* the most severe level names the digest */
	for (int i = 0; i < n; i++)
		if (level_of(a[i].level)->rank > top->rank) {
			top = level_of(a[i].level);
			top_level = a[i].level;
		}
	buf_init(&b);
	buf_init(&what);
	buf_printf(&what, "汇总 digest: %d 条告警 alerts", n);

	if (f != CHAT_FEISHU)
		buf_puts(&d->title, top->emoji);
	buf_puts(&d->title, "【");
	put_level(&d->title, f, top_level);
	buf_puts(&d->title, "】");
	buf_add(&d->title, what.data, what.len);

	if (f == CHAT_SLACK) {
		buf_printf(&b, "%s *%s*\n", top->emoji, d->title.data + strlen(top->emoji));
	} else if (f != CHAT_FEISHU) {
		buf_puts(&b, "### ");
		put_badge(&b, f, top_level);
		buf_printf(&b, "%s%s", what.data, d->st->block);
	}
	if (b.len)
		doc_add(d, &b, P_ATOMIC);

	for (int i = 0; i < n; i++) {
		const char *ev = digest_event(a[i].event);
		buf_printf(&b, "%s%s【", d->st->bullet, f == CHAT_FEISHU ? "" : level_of(a[i].level)->emoji);
		put_level(&b, f, a[i].level);
		buf_printf(&b, "】#%lld ", a[i].finding_id);
		put_field(&b, f, a[i].rule_id, 32);
		buf_add(&b, " ", 1);
		put_field(&b, f, a[i].title, FIELD_MAX);
		buf_puts(&b, " · ");
		put_field(&b, f, a[i].department, DIGEST_FIELD_MAX);
		if (!o->minimal) {
			buf_puts(&b, " · ");
			put_field(&b, f, a[i].subject, DIGEST_FIELD_MAX);
		}
		if (ev)
			buf_printf(&b, " · %s", ev);
		/* what changed is the news of an evidence_changed alert (TRUST.md) */
		if (!o->minimal && a[i].event && !strcmp(a[i].event, "finding.evidence_changed") && a[i].message) {
			buf_puts(&b, ": ");
			put_field(&b, f, a[i].message, FIELD_MAX);
		}
		buf_add(&b, "\n", 1);
		doc_add(d, &b, P_ITEM);
	}
	put_tail(d, o, "qingfeng 清风 · qfctl findings list --status open");
	buf_free(&b);
	buf_free(&what);
}

/* ------------------------------------------------------------------ */
/* the body and its size                                               */

static json_t *jstr(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);

	return j ? j : json_string_or_fixed(s);
}

static json_t *mentions_json(const struct chat_opts *o)
{
	json_t *a = json_array();

	for (int i = 0; o->mentions && i < o->nmentions && json_array_size(a) < MENTIONS_MAX; i++)
		if (mention_ok(o->mentions[i]))
			json_array_append_new(a, json_string(o->mentions[i]));
	return a;
}

/* The whole body around content. */
static char *wrap(const struct doc *d, const struct chat_opts *o, const char *content, size_t len)
{
	json_t *root = json_object(), *x;
	char *body;

	switch (d->f) {
	case CHAT_DINGTALK:
		if (d->card) { /* mentions need markdown: a card only without them */
			json_object_set_new(root, "msgtype", json_string("actionCard"));
			x = json_object();
			json_object_set_new(x, "title", jstr(d->title.data, d->title.len));
			json_object_set_new(x, "text", jstr(content, len));
			json_object_set_new(x, "btnOrientation", json_string("0"));
			json_object_set_new(x, "singleTitle", json_string(LINK_TITLE));
			json_object_set_new(x, "singleURL", json_string(d->link));
			json_object_set_new(root, "actionCard", x);
			break;
		}
		json_object_set_new(root, "msgtype", json_string("markdown"));
		x = json_object();
		json_object_set_new(x, "title", jstr(d->title.data, d->title.len));
		json_object_set_new(x, "text", jstr(content, len));
		json_object_set_new(root, "markdown", x);
		x = json_object();
		json_object_set_new(x, "atMobiles", mentions_json(o));
		json_object_set_new(x, "isAtAll", json_false());
		json_object_set_new(root, "at", x);
		break;
	case CHAT_WECOM:
		json_object_set_new(root, "msgtype", json_string("markdown"));
		x = json_object();
		json_object_set_new(x, "content", jstr(content, len));
		json_object_set_new(root, "markdown", x);
		break;
	case CHAT_FEISHU: {
		if (o->secret && *o->secret) {
			char ts[24], sig[CHAT_SIGN_MAX];
			snprintf(ts, sizeof ts, "%lld", o->now_s);
			chat_feishu_sign(o->secret, o->now_s, sig);
			json_object_set_new(root, "timestamp", json_string(ts));
			json_object_set_new(root, "sign", json_string(sig));
		}
		json_object_set_new(root, "msg_type", json_string("interactive"));
		json_t *card = json_object(), *header = json_object(), *title = json_object();
		json_t *elements = json_array(), *md = json_object();
		json_object_set_new(title, "tag", json_string("plain_text"));
		json_object_set_new(title, "content", jstr(d->title.data, d->title.len));
		json_object_set_new(header, "title", title);
		json_object_set_new(header, "template", json_string(d->template));
		json_object_set_new(card, "header", header);
		json_object_set_new(md, "tag", json_string("markdown"));
		json_object_set_new(md, "content", jstr(content, len));
		json_array_append_new(elements, md);
		if (d->link) {
			json_t *act = json_object(), *btn = json_object(), *txt = json_object(), *acts = json_array();
			json_object_set_new(txt, "tag", json_string("plain_text"));
			json_object_set_new(txt, "content", json_string(LINK_TITLE));
			json_object_set_new(btn, "tag", json_string("button"));
			json_object_set_new(btn, "text", txt);
			json_object_set_new(btn, "type", json_string("primary"));
			json_object_set_new(btn, "url", json_string(d->link));
			json_array_append_new(acts, btn);
			json_object_set_new(act, "tag", json_string("action"));
			json_object_set_new(act, "actions", acts);
			json_array_append_new(elements, act);
		}
		json_object_set_new(card, "elements", elements);
		json_object_set_new(root, "card", card);
		break;
	}
	case CHAT_SLACK:
		json_object_set_new(root, "text", jstr(content, len));
		break;
	}
	body = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!body)
		abort(); /* only out of memory: every string is valid UTF-8 */
	return body;
}

/* What s[0..n) adds to the measured size: its JSON-escaped length where
 * the limit is on the body, its raw length where it is on the content. */
static size_t cost(enum chat_format f, const char *s, size_t n)
{
	size_t c = 0;

	if (!chat_limit_is_body(f))
		return n;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\' || ch == '\b' || ch == '\f' || ch == '\n' || ch == '\r' || ch == '\t')
			c += 2;
		else if (ch < 0x20)
			c += 6;
		else
			c += 1;
	}
	return c;
}

/* Longest prefix of s[0..n) on a character boundary costing at most
 * budget; never splits one of slack's &amp; &lt; &gt; escapes. */
static size_t cut_to(enum chat_format f, const char *s, size_t n, size_t budget)
{
	size_t i = 0, used = 0;

	while (i < n) {
		unsigned char lead = (unsigned char)s[i];
		size_t k = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
		if (k > n - i)
			k = n - i; /* not reached: the text is valid UTF-8 */
		size_t c = cost(f, s + i, k);
		if (used + c > budget)
			break;
		used += c;
		i += k;
	}
	if (f == CHAT_SLACK) {
		for (size_t j = i; j > 0 && i - j < 5; j--) {
			if (s[j - 1] == ';')
				break;
			if (s[j - 1] == '&') {
				i = j - 1;
				break;
			}
		}
	}
	return i;
}

static size_t measure(enum chat_format f, const char *body, size_t content_len)
{
	return chat_limit_is_body(f) ? strlen(body) : content_len;
}

/*
 * Joins the pieces and the tail into the body, within the limit: whole
 * if it fits; otherwise atomic pieces while they fit, a split piece cut
 * to what is left, then the cut marker; digest items while they fit, then
 * "… and K more". *included: digest items in the body (1 for one alert).
 * Sizes are computed, not rendered: a body's size is the size of the body
 * around empty content plus the content's escaped size, exactly; the
 * result is still measured, and cut further if that ever disagrees.
 */
static char *assemble(struct doc *d, const struct chat_opts *o, int nitems, int *included)
{
	enum chat_format f = d->f;
	size_t limit = chat_byte_limit(f), fixed = 0, total, extra = 0;
	struct buf c, more;
	char *body;

	if (chat_limit_is_body(f)) {
		body = wrap(d, o, "", 0);
		fixed = strlen(body);
		free(body);
	}
	total = fixed + cost(f, d->tail.data, d->tail.len);
	for (int i = 0; i < d->n; i++)
		total += cost(f, d->v[i].s, d->v[i].len);
	buf_init(&c);
	buf_init(&more);
	if (total <= limit) {
		for (int i = 0; i < d->n; i++)
			buf_add(&c, d->v[i].s, d->v[i].len);
		buf_add(&c, d->tail.data, d->tail.len);
		body = wrap(d, o, c.data, c.len);
		if (measure(f, body, c.len) <= limit) {
			*included = nitems ? nitems : 1;
			goto out;
		}
		extra = measure(f, body, c.len) - limit;
		free(body);
	}

	for (;;) {
		int taken = 0;
		bool cut = false;

		/* room for the worst "more" line (K = nitems), or the marker */
		buf_reset(&more);
		if (nitems)
			buf_printf(&more, "%s… and %d more (另有 %d 条)\n", f == CHAT_DINGTALK ? "\n" : "", nitems, nitems);
		buf_printf(&more, "\n%s\n", CHAT_CUT_MARKER);
		size_t reserve = fixed + cost(f, more.data, more.len) + cost(f, d->tail.data, d->tail.len) + extra;
		size_t avail = limit > reserve ? limit - reserve : 0, used = 0;

		buf_reset(&c);
		for (int i = 0; i < d->n; i++) {
			const struct piece *p = &d->v[i];
			size_t pc = cost(f, p->s, p->len);
			if (used + pc <= avail) {
				buf_add(&c, p->s, p->len);
				used += pc;
				taken += p->kind == P_ITEM;
				continue;
			}
			/* a digest always covers at least one alert, so the
			 * caller's loop over the rest makes progress */
			if (p->kind == P_SPLIT || (p->kind == P_ITEM && taken == 0)) {
				size_t k = cut_to(f, p->s, p->len, avail - used);
				buf_add(&c, p->s, k);
				used += cost(f, p->s, k);
				taken += p->kind == P_ITEM;
				cut = true;
			}
			cut |= p->kind != P_ITEM;
			break;
		}
		buf_reset(&more);
		if (cut)
			buf_printf(&more, "\n%s\n", CHAT_CUT_MARKER);
		if (nitems && taken < nitems)
			buf_printf(&more, "%s… and %d more (另有 %d 条)\n", f == CHAT_DINGTALK ? "\n" : "", nitems - taken,
				   nitems - taken);
		buf_add(&c, more.data, more.len);
		buf_add(&c, d->tail.data, d->tail.len);
		body = wrap(d, o, c.data, c.len);
		size_t got = measure(f, body, c.len);
		if (got <= limit || avail == 0) {
			/* avail == 0: the tail alone is over the limit, which the
			 * caps on fields and mentions rule out */
			*included = nitems ? taken : 1;
			goto out;
		}
		extra += got - limit; /* the cost model was off: leave more room */
		free(body);
	}
out:
	buf_free(&more);
	buf_free(&c);
	return body;
}

char *chat_render(enum chat_format f, const struct chat_alert *alerts, int n, const struct chat_opts *o,
		  int *included)
{
	struct doc d;
	int inc = 0;
	char *body;

	if (!alerts || !o || n < 1 || (unsigned)f > CHAT_SLACK)
		return NULL;
	memset(&d, 0, sizeof d);
	d.f = f;
	d.st = &STYLES[f];
	buf_init(&d.title);
	buf_init(&d.tail);
	if (n == 1) {
		d.template = level_of(alerts[0].level)->feishu;
		d.link = alerts[0].link;
		if (d.link && f == CHAT_DINGTALK) {
			json_t *m = mentions_json(o);
			d.card = json_array_size(m) == 0;
			json_decref(m);
		}
		render_one(&d, &alerts[0], o);
	} else {
		const struct level_style *top = &LEVEL_UNKNOWN;
		for (int i = 0; i < n; i++)
			if (level_of(alerts[i].level)->rank > top->rank)
				top = level_of(alerts[i].level);
		d.template = top->feishu;
		render_digest(&d, alerts, n, o);
	}
	body = assemble(&d, o, n == 1 ? 0 : n, &inc);
	doc_free(&d);
	if (included)
		*included = inc;
	return body;
}
