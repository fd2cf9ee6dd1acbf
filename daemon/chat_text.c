/* Record text in chat messages (RECEIVERS.md), and evidence as text.
 *
 * Record text (names, departments, messages, evidence) is data. Before it
 * goes into a message it is made inert for every markup the chat clients
 * interpret, by one rule set for all four formats (chat_put_data):
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
 * Only struct chat_opts.mentions produce real mentions (chat.c).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat_int.h"
#include "utf8.h"

#define EV_ITEM_MAX 200 /* bytes of one evidence key or value */
#define EV_KEYS_MAX 32  /* evidence keys shown */
#define EV_RAW_MAX 1000 /* evidence that is not a JSON object */

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
 * else looks at the text: chat_put_data() decides by a character's
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
void chat_put_data(struct buf *b, enum chat_format f, const char *s, size_t n, size_t max, const char *quote)
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
			if (i > 0 && chat_is_alnum(u[i - 1]) && i + 1 < m && chat_is_alnum(u[i + 1]))
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
			if ((i == 0 || !chat_is_alnum(u[i - 1])) && m - i >= 4 && !strncasecmp(clean + i, "www.", 4)) {
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
		chat_put_data(b, f, v ? v : "", v ? json_string_length(j) : 0, EV_ITEM_MAX, NULL);
		json_decref(j);
	} else {
		chat_put_data(b, f, s + i, end - i, EV_ITEM_MAX, NULL);
	}
}

/* "k=v · k2=v2" for an evidence object, the raw text (as data) otherwise. */
void chat_put_evidence(struct buf *b, enum chat_format f, const char *ev)
{
	size_t n = strlen(ev), i;
	json_t *j = json_loadb(ev, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	int keys = 0;

	if (!json_is_object(j)) {
		json_decref(j);
		chat_put_data(b, f, ev, n, EV_RAW_MAX, NULL);
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
