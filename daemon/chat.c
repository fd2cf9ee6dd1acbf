/* Chat-webhook bodies, URLs and answer classification (RECEIVERS.md).
 *
 * Record text (names, departments, messages, evidence) is data. Before it
 * goes into a message it is made inert for every markup the chat clients
 * interpret, by one rule set for all four formats (put_data):
 *   - markdown/HTML control characters  \ ` * _ ~ # [ ] | @ & < >  become
 *     their full-width forms (＼ ｀ ＊ ＿ ～ ＃ ［ ］ ｜ ＠ ＆ ＜ ＞), except
 *     that slack gets the &amp; &lt; &gt; escapes its docs prescribe and
 *     an underscore between two letters or digits (payment_id) stays. So
 *     "**x**", "[x](http://evil)", "</font>", "<at id=all>", "<@U1>",
 *     "<!channel>", "@all", "@所有人" and "@13800000000" all render as
 *     plain, readable text and can never be a mention, tag or link. The
 *     full-width forms are used rather than backslash or entity escapes
 *     because DingTalk's and WeCom's markdown document neither, and an
 *     unsupported escape would show up as stray backslashes.
 *   - "://" becomes "：//" and a word-initial "www." becomes "www．", so
 *     the clients' auto-linkers find no URL. (A bare domain such as
 *     "evil.example" may still be auto-linked by a client; it cannot carry
 *     link text that hides where it goes.)
 *   - control characters are dropped; bidi controls and zero-width
 *     characters become a visible U+FFFD (see neutralise()); in one-line
 *     fields newlines become spaces; in the message every line gets the
 *     format's quote prefix and a line of only - = _ * (a setext heading
 *     or rule) has its first character made full-width.
 *   - text longer than its field's cap is cut on a character boundary and
 *     ends with CHAT_FIELD_CUT_FMT, "…［cut N bytes］" (full-width
 *     brackets: no markdown link or reference can start there).
 * Only struct chat_opts.mentions produce real mentions.
 */
#include "chat.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"
#include "util.h"

#define FIELD_MAX 200     /* bytes of a one-line field (title, department, subject) */
#define DIGEST_FIELD_MAX 100
#define EV_ITEM_MAX 200   /* bytes of one evidence key or value */
#define EV_KEYS_MAX 32    /* evidence keys shown */
#define EV_RAW_MAX 1000   /* evidence that is not a JSON object */
#define MENTION_MAX 64    /* bytes of one mention id */
#define MENTIONS_MAX 20   /* mentions in one message: keeps the tail small */
#define WHY_EXCERPT 80    /* bytes of the vendor's text quoted in why */
#define TOKEN_RUN_MASK 16 /* token-like runs this long are masked in why */

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

/* ------------------------------------------------------------------ */
/* record text made inert                                              */

static void put_cp(struct buf *b, unsigned cp)
{
	char u[3] = { (char)(0xE0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3F)), (char)(0x80 | (cp & 0x3F)) };

	buf_add(b, u, 3); /* only BMP code points above U+0800 come here */
}

/* full-width form of a printable ASCII character (U+FF01..U+FF5E) */
static void put_fullwidth(struct buf *b, char c)
{
	put_cp(b, 0xFEE0u + (unsigned char)c);
}

static bool is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A line of only - = _ * (and blanks) is a setext underline or a rule. */
static bool line_is_rule(const char *s, size_t i, size_t n)
{
	bool any = false;

	for (; i < n && s[i] != '\n' && s[i] != '\r'; i++) {
		if (s[i] == '-' || s[i] == '=' || s[i] == '_' || s[i] == '*')
			any = true;
		else if (s[i] != ' ')
			return false;
	}
	return any;
}

/* Characters that change how the text around them is shown, or hide in
 * it: bidi embeddings, overrides and isolates (U+202A..U+202E,
 * U+2066..U+2069), marks (U+200E, U+200F, U+061C), and zero-width
 * characters (U+200B..U+200D, U+2060, U+FEFF). */
static bool is_hidden(const unsigned char *u, size_t l)
{
	if (l == 2)
		return u[0] == 0xD8 && u[1] == 0x9C;
	if (l != 3)
		return false;
	if (u[0] == 0xE2 && u[1] == 0x80)
		return (u[2] >= 0x8B && u[2] <= 0x8F) || (u[2] >= 0xAA && u[2] <= 0xAE);
	if (u[0] == 0xE2 && u[1] == 0x81)
		return u[2] == 0xA0 || (u[2] >= 0xA6 && u[2] <= 0xA9);
	return u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF;
}

/*
 * Appends s[0..n) (valid UTF-8) to b without the characters record text
 * never shows as they are. C0 controls but tab and line ends, DEL and C1
 * controls are dropped: they show nothing. Bidi controls and zero-width
 * characters (is_hidden) become U+FFFD, visibly, rather than dropped:
 * they make text read other than it is (an override turns "exe.gnp" into
 * "png.exe"; a zero-width space makes "张\u200b三" look like the name
 * 张三 while no search for 张三 finds it), and an alert about the
 * integrity of records should show that a record holds one. Replacing
 * also keeps its neighbours apart, where dropping it would join them
 * ("w<U+202E>ww.evil" into "www.evil"); and it is as long as most of
 * them (3 bytes), so the caps still hold. This happens before anything
 * else looks at the text: put_data() decides by a character's
 * neighbours, and a control between ':' and "//" must be gone before the
 * check, not after it ("http:\x01//evil.example").
 */
static void neutralise(struct buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];
		size_t l = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
		if (l > n - i)
			l = n - i; /* not reached: the text is valid UTF-8 */
		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7F || (c == 0xC2 && u[i + 1] < 0xA0))
			; /* dropped */
		else if (is_hidden(u + i, l))
			buf_puts(b, "\xEF\xBF\xBD");
		else
			buf_add(b, s + i, l);
		i += l;
	}
}

/*
 * Appends record text s[0..n) to b as inert text for format f (see the
 * top of the file). max > 0 caps the bytes shown (cut on a character
 * boundary, CHAT_FIELD_CUT_FMT appended: the reader knows the value goes
 * on, and how far). quote == NULL: one line, newlines become spaces;
 * otherwise every new line starts with quote.
 */
static void put_data(struct buf *b, enum chat_format f, const char *s, size_t n, size_t max, const char *quote)
{
	char *raw = utf8_sanitize(s ? s : "", s ? n : 0);
	struct buf nb;
	size_t m, cut = 0;

	buf_init(&nb);
	neutralise(&nb, raw, strlen(raw)); /* sanitize turned NULs into U+FFFD */
	free(raw);
	char *clean = buf_steal(&nb);
	const unsigned char *u = (const unsigned char *)clean;
	m = strlen(clean);
	if (max && m > max) {
		size_t k = utf8_cut(clean, m, max);
		cut = m - k;
		m = k;
		clean[m] = '\0';
	}
	for (size_t i = 0; i < m;) {
		unsigned char c = u[i];
		bool line_start = quote && (i == 0 || u[i - 1] == '\n');

		if (line_start && line_is_rule(clean, i, m)) {
			while (u[i] == ' ')
				buf_add(b, " ", 1), i++;
			put_fullwidth(b, (char)u[i++]);
			continue;
		}
		if (c >= 0x80) {
			size_t l = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
			/* C1 controls are gone, bidi controls U+FFFD (neutralise) */
			if (l == 3 && c == 0xE2 && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9)) {
				/* U+2028/U+2029 line and paragraph separators */
				if (quote) {
					buf_add(b, "\n", 1);
					buf_puts(b, quote);
				} else {
					buf_add(b, " ", 1);
				}
				i += 3;
				continue;
			}
			buf_add(b, clean + i, l);
			i += l;
			continue;
		}
		switch (c) {
		case '\r':
			if (i + 1 < m && u[i + 1] == '\n') {
				i++;
				continue;
			}
			/* a lone CR ends a line */
			__attribute__((fallthrough));
		case '\n':
			if (quote) {
				buf_add(b, "\n", 1);
				buf_puts(b, quote);
			} else {
				buf_add(b, " ", 1);
			}
			break;
		case '\t':
			buf_add(b, " ", 1);
			break;
		case '&':
		case '<':
		case '>':
			if (f == CHAT_SLACK)
				buf_puts(b, c == '&' ? "&amp;" : c == '<' ? "&lt;" : "&gt;");
			else
				put_fullwidth(b, (char)c);
			break;
		case '_':
			/* snake_case ids stay readable: an underscore inside a
			 * word never starts emphasis in CommonMark or Slack */
			if (i > 0 && is_alnum(u[i - 1]) && i + 1 < m && is_alnum(u[i + 1]))
				buf_add(b, "_", 1);
			else
				put_fullwidth(b, '_');
			break;
		case '\\':
		case '`':
		case '*':
		case '~':
		case '#':
		case '[':
		case ']':
		case '|':
		case '@':
			put_fullwidth(b, (char)c);
			break;
		case ':':
			if (i + 2 < m && u[i + 1] == '/' && u[i + 2] == '/')
				put_fullwidth(b, ':');
			else
				buf_add(b, ":", 1);
			break;
		case 'w':
		case 'W':
			if ((i == 0 || !is_alnum(u[i - 1])) && m - i >= 4 && !strncasecmp(clean + i, "www.", 4)) {
				buf_add(b, clean + i, 3);
				put_fullwidth(b, '.');
				i += 4;
				continue;
			}
			buf_add(b, clean + i, 1);
			break;
		default:
			if (c >= 0x20 && c != 0x7F)
				buf_add(b, clean + i, 1);
			break;
		}
		i++;
	}
	if (cut)
		buf_printf(b, CHAT_FIELD_CUT_FMT, cut);
	free(clean);
}

static void put_field(struct buf *b, enum chat_format f, const char *s, size_t max)
{
	if (s && *s)
		put_data(b, f, s, strlen(s), max, NULL);
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
/* evidence                                                            */

/* End of the JSON value starting at s[i] (the text is known to be valid). */
static size_t json_value_end(const char *s, size_t i, size_t n)
{
	int depth = 0;

	do {
		if (s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			i++;
		} else if (s[i] == '{' || s[i] == '[') {
			depth++, i++;
		} else if (s[i] == '}' || s[i] == ']') {
			depth--, i++;
		} else if (depth == 0) {
			while (i < n && !strchr(",}] \t\r\n", s[i]))
				i++;
		} else {
			i++;
		}
		while (depth > 0 && i < n && s[i] != '"' && !strchr("{}[]", s[i]))
			i++;
	} while (depth > 0 && i < n);
	return i;
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && strchr(" \t\r\n", s[i]))
		i++;
	return i;
}

/* Appends the JSON value s[i..end) as text: strings decoded, numbers and
 * nested values as written (PostgreSQL's exact numerics, not doubles). */
static void put_json_item(struct buf *b, enum chat_format f, const char *s, size_t i, size_t end)
{
	if (s[i] == '"') {
		json_t *j = json_loadb(s + i, end - i, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		const char *v = json_string_value(j);
		put_data(b, f, v ? v : "", v ? json_string_length(j) : 0, EV_ITEM_MAX, NULL);
		json_decref(j);
	} else {
		put_data(b, f, s + i, end - i, EV_ITEM_MAX, NULL);
	}
}

/* "k=v · k2=v2" for an evidence object, the raw text (as data) otherwise. */
static void put_evidence(struct buf *b, enum chat_format f, const char *ev)
{
	size_t n = strlen(ev), i;
	json_t *j = json_loadb(ev, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	int keys = 0;

	if (!json_is_object(j)) {
		json_decref(j);
		put_data(b, f, ev, n, EV_RAW_MAX, NULL);
		return;
	}
	json_decref(j);
	i = skip_ws(ev, 0, n) + 1; /* past '{' */
	for (;;) {
		i = skip_ws(ev, i, n);
		if (i >= n || ev[i] != '"')
			break;
		if (keys == EV_KEYS_MAX) {
			buf_puts(b, " · …");
			break;
		}
		size_t kend = json_value_end(ev, i, n);
		size_t v = skip_ws(ev, kend, n) + 1; /* past ':' */
		v = skip_ws(ev, v, n);
		size_t vend = json_value_end(ev, v, n);
		if (keys++)
			buf_puts(b, " · ");
		put_json_item(b, f, ev, i, kend);
		buf_add(b, "=", 1);
		put_json_item(b, f, ev, v, vend);
		i = skip_ws(ev, vend, n);
		if (i >= n || ev[i] != ',')
			break;
		i++;
	}
	if (!keys)
		buf_puts(b, "{}");
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
		if (!is_alnum((unsigned char)m[i]) && !strchr("_.+-", m[i]))
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
};

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
	field(d, &b, "编号 finding id");
	buf_printf(&b, "%lld\n", a->finding_id);
	doc_add(d, &b, P_ATOMIC);

	if (!o->minimal && a->message && *a->message) {
		buf_printf(&b, "%s%s说明 message:%s\n", f == CHAT_DINGTALK ? "\n" : "", st->strong_on, st->strong_off);
		if (f == CHAT_DINGTALK)
			buf_add(&b, "\n", 1);
		buf_puts(&b, st->quote);
		doc_add(d, &b, P_ATOMIC);
		put_data(&b, f, a->message, strlen(a->message), 0, st->quote);
		buf_add(&b, "\n", 1);
		doc_add(d, &b, P_SPLIT);
	}
	if (!o->minimal && a->evidence_json && *a->evidence_json) {
		buf_printf(&b, "%s%s证据 evidence:%s ", f == CHAT_DINGTALK ? "\n" : "", st->strong_on, st->strong_off);
		doc_add(d, &b, P_ATOMIC);
		put_evidence(&b, f, a->evidence_json);
		buf_add(&b, "\n", 1);
		doc_add(d, &b, P_SPLIT);
	}
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

/* ------------------------------------------------------------------ */
/* signing and URLs                                                    */

static void hmac_b64(const void *key, size_t keylen, const void *msg, size_t msglen, char out[CHAT_SIGN_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, md, &mdlen) || mdlen != 32) {
		out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, md, 32); /* 44 characters and a NUL */
}

void chat_feishu_sign(const char *secret, long long ts_s, char out[CHAT_SIGN_MAX])
{
	struct buf key;

	buf_init(&key);
	buf_printf(&key, "%lld\n%s", ts_s, secret ? secret : "");
	hmac_b64(key.data, key.len, "", 0, out);
	OPENSSL_cleanse(key.data, key.len);
	buf_free(&key);
}

void chat_dingtalk_sign(const char *secret, long long ts_ms, char out[CHAT_SIGN_MAX])
{
	struct buf msg;
	const char *s = secret ? secret : "";

	buf_init(&msg);
	buf_printf(&msg, "%lld\n%s", ts_ms, s);
	hmac_b64(s, strlen(s), msg.data, msg.len, out);
	OPENSSL_cleanse(msg.data, msg.len);
	buf_free(&msg);
}

/* RFC 3986: everything but the unreserved characters as %XX */
static void put_urlencoded(struct buf *b, const char *s)
{
	for (const unsigned char *u = (const unsigned char *)s; *u; u++)
		if (is_alnum(*u) || strchr("-._~", *u))
			buf_add(b, (const char *)u, 1);
		else
			buf_printf(b, "%%%02X", *u);
}

char *chat_url(enum chat_format f, const char *base_url, const char *secret, long long now_ms)
{
	char sig[CHAT_SIGN_MAX];
	struct buf b;
	const char *u = base_url ? base_url : "";
	size_t n = strlen(u);

	if (f != CHAT_DINGTALK || !secret || !*secret)
		return xstrdup(u);
	chat_dingtalk_sign(secret, now_ms, sig);
	buf_init(&b);
	buf_add(&b, u, n);
	if (!strchr(u, '?'))
		buf_add(&b, "?", 1);
	else if (n && u[n - 1] != '?' && u[n - 1] != '&')
		buf_add(&b, "&", 1);
	buf_printf(&b, "timestamp=%lld&sign=", now_ms);
	put_urlencoded(&b, sig);
	return buf_steal(&b);
}

/* ------------------------------------------------------------------ */
/* answers                                                             */

struct code_info {
	long long code;
	enum chat_verdict v;
	const char *what;
};

static const struct code_info DINGTALK_CODES[] = {
	{ 0, CHAT_OK, "ok" },
	{ 130101, CHAT_RETRY, "send too fast" },
	{ -1, CHAT_RETRY, "system busy" },
	{ 310000, CHAT_DEAD, "sign, keyword, ip or timestamp rejected" },
	{ 300005, CHAT_DEAD, "token does not exist" },
	{ 0, CHAT_OK, NULL },
};
static const struct code_info WECOM_CODES[] = {
	{ 0, CHAT_OK, "ok" },
	{ 45009, CHAT_RETRY, "api freq out of limit" },
	{ -1, CHAT_RETRY, "system busy" },
	{ 93000, CHAT_DEAD, "invalid webhook url" },
	{ 40058, CHAT_DEAD, "content too long" },
	{ 0, CHAT_OK, NULL },
};
static const struct code_info FEISHU_CODES[] = {
	{ 0, CHAT_OK, "success" },
	{ 11232, CHAT_RETRY, "frequency limited" },
	{ 19021, CHAT_DEAD, "sign match fail or timestamp not within one hour" },
	{ 19022, CHAT_DEAD, "ip not allowed" },
	{ 19024, CHAT_DEAD, "key words not found" },
	{ 9499, CHAT_DEAD, "bad request" },
	{ 0, CHAT_OK, NULL },
};

static bool token_char(unsigned char c)
{
	return is_alnum(c) || strchr("_+/=-", c);
}

/* A short excerpt of the vendor's text: valid UTF-8, one line, and long
 * token-like runs (which could be an access token or key the vendor
 * echoes) replaced by "***". Masking happens before the cut, so no prefix
 * of a token survives either. */
static void put_excerpt(struct buf *b, const char *s, size_t n)
{
	char *clean = utf8_sanitize(s, n);
	size_t m = strlen(clean);
	struct buf t;

	buf_init(&t);
	for (size_t i = 0; i < m;) {
		unsigned char c = (unsigned char)clean[i];
		if (token_char(c)) {
			size_t j = i;
			bool digit = false;
			while (j < m && token_char((unsigned char)clean[j]))
				digit |= clean[j] >= '0' && clean[j] <= '9', j++;
			if (j - i >= TOKEN_RUN_MASK && digit)
				buf_puts(&t, "***");
			else
				buf_add(&t, clean + i, j - i);
			i = j;
		} else if (c < 0x20 || c == 0x7F) {
			if (t.len && t.data[t.len - 1] != ' ')
				buf_add(&t, " ", 1);
			i++;
		} else {
			buf_add(&t, clean + i, 1);
			i++;
		}
	}
	size_t a = 0, z = t.len;
	while (a < z && t.data[a] == ' ')
		a++;
	while (z > a && t.data[z - 1] == ' ')
		z--;
	if (z > a) {
		size_t k = utf8_cut(t.data + a, z - a, WHY_EXCERPT);
		buf_add(b, t.data + a, k);
		if (k < z - a)
			buf_puts(b, "…");
	}
	buf_free(&t);
	free(clean);
}

__attribute__((format(printf, 4, 5)))
static enum chat_verdict say(char *why, size_t whylen, enum chat_verdict v, const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	int n;

	if (!why || !whylen)
		return v;
	buf_init(&b);
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0) {
		char *s = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(s, (size_t)n + 1, fmt, ap);
		va_end(ap);
		buf_add(&b, s, (size_t)n);
		free(s);
	}
	size_t k = utf8_cut(b.data ? b.data : "", b.len, whylen - 1);
	memcpy(why, b.data ? b.data : "", k);
	why[k] = '\0';
	buf_free(&b);
	return v;
}

enum chat_verdict chat_classify(enum chat_format f, long http_status, const char *body, size_t len, char *why,
				size_t whylen)
{
	const char *name = chat_format_name(f);
	const char *codekey = f == CHAT_FEISHU ? "code" : "errcode";
	const char *msgkey = f == CHAT_FEISHU ? "msg" : "errmsg";
	const struct code_info *tbl = f == CHAT_DINGTALK ? DINGTALK_CODES : f == CHAT_WECOM ? WECOM_CODES : FEISHU_CODES;
	bool ok2xx = http_status >= 200 && http_status < 300;
	struct buf ex;
	enum chat_verdict v;

	if (!body)
		len = 0;
	buf_init(&ex);
	if (http_status <= 0) {
		v = say(why, whylen, CHAT_RETRY, "%s: no HTTP answer (transport error)", name);
		goto out;
	}
	if (f == CHAT_SLACK) {
		size_t a = 0, z = len;
		while (a < z && strchr(" \t\r\n", body[a]))
			a++;
		while (z > a && strchr(" \t\r\n", body[z - 1]))
			z--;
		put_excerpt(&ex, body ? body + a : "", z - a);
		if (ok2xx && z - a == 2 && !memcmp(body + a, "ok", 2))
			v = say(why, whylen, CHAT_OK, "slack HTTP %ld: ok", http_status);
		else if (http_status == 429 || http_status == 408 || http_status >= 500)
			v = say(why, whylen, CHAT_RETRY, "slack HTTP %ld%s%s", http_status, ex.len ? ": " : "",
				ex.len ? ex.data : "");
		else
			v = say(why, whylen, CHAT_DEAD, "slack HTTP %ld: %s", http_status,
				ex.len ? ex.data : "(empty answer)");
		goto out;
	}

	json_t *j = len ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *jc = json_object_get(j, codekey);
	const char *msg = json_string_value(json_object_get(j, msgkey));
	if (msg)
		put_excerpt(&ex, msg, json_string_length(json_object_get(j, msgkey)));

	if (!json_is_integer(jc)) {
		json_decref(j);
		if (http_status == 429 || http_status == 408 || http_status >= 500)
			v = say(why, whylen, CHAT_RETRY, "%s HTTP %ld", name, http_status);
		else if (ok2xx)
			v = say(why, whylen, CHAT_DEAD, "%s HTTP %ld without \"%s\": not a %s robot URL?", name,
				http_status, codekey, name);
		else
			v = say(why, whylen, CHAT_DEAD, "%s HTTP %ld", name, http_status);
		goto out;
	}
	long long code = json_integer_value(jc);
	const struct code_info *ci = NULL;
	json_decref(j);
	for (int i = 0; tbl[i].what; i++)
		if (tbl[i].code == code) {
			ci = &tbl[i];
			break;
		}
	const char *what = ex.len ? ex.data : ci ? ci->what : "unknown code";

	if (ci && ci->v == CHAT_RETRY)
		v = say(why, whylen, CHAT_RETRY, "%s %s %lld: %s", name, codekey, code, what);
	else if (http_status == 429 || http_status == 408 || http_status >= 500)
		v = say(why, whylen, CHAT_RETRY, "%s HTTP %ld, %s %lld: %s", name, http_status, codekey, code, what);
	else if (!ok2xx)
		v = say(why, whylen, CHAT_DEAD, "%s HTTP %ld, %s %lld: %s", name, http_status, codekey, code, what);
	else if (code == 0)
		v = say(why, whylen, CHAT_OK, "%s %s 0: %s", name, codekey, what);
	else
		v = say(why, whylen, CHAT_DEAD, "%s %s %lld: %s", name, codekey, code, what);
out:
	buf_free(&ex);
	return v;
}
