/* What a chat vendor's answer means (chat_classify), and a reason to log
 * that never quotes a token the vendor echoes. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_int.h"
#include "utf8.h"

#define WHY_EXCERPT 80    /* bytes of the vendor's text quoted in why */
#define TOKEN_RUN_MASK 16 /* token-like runs this long are masked in why */

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
	return chat_is_alnum(c) || strchr("_+/=-", c);
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

