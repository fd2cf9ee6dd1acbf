/* Chat robots' signatures (DingTalk in the URL, Feishu in the body) and
 * the URL to POST to (RECEIVERS.md). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "chat_int.h"

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
		if (chat_is_alnum(*u) || strchr("-._~", *u))
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
