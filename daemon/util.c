/* Allocation, string buffers, clocks and file reading. */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static void buf_grow(struct buf *b, size_t need)
{
	if (b->len + need + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + need + 1)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_add(struct buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *buf_steal(struct buf *b)
{
	char *s = b->data ? b->data : xstrdup("");
	buf_init(b);
	return s;
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t now_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t now_real_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t now_real_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(f)) {
		int e = errno;
		fclose(f);
		buf_free(&b);
		errno = e ? e : EIO;
		return NULL;
	}
	fclose(f);
	if (len)
		*len = b.len;
	return buf_steal(&b);
}

void scrub_secret(char *s, const char *needle)
{
	size_t n;
	char *p;

	if (!s || !needle || !(n = strlen(needle)))
		return;
	while ((p = strstr(s, needle)) != NULL)
		memset(p, '*', n);
}

struct needles {
	char **v;
	size_t n, cap;
};

static void needle_add(struct needles *l, const char *s, size_t n)
{
	if (!n || memchr(s, '\0', n)) /* "%00" decoded: strstr could not find it anyway */
		return;
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == n && !memcmp(l->v[i], s, n))
			return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n] = xmalloc(n + 1);
	memcpy(l->v[l->n], s, n);
	l->v[l->n++][n] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* frees b, which held a credential */
static void buf_wipe(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

/* s[0..n) with %XX decoded, and '+' as a space when plus (query strings) */
static void pct_decode(struct buf *b, const char *s, size_t n, bool plus)
{
	buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hex_digit(s[i + 1])) >= 0 && (lo = hex_digit(s[i + 2])) >= 0) {
			char c = (char)(hi << 4 | lo);
			buf_add(b, &c, 1);
			i += 2;
		} else {
			buf_add(b, plus && s[i] == '+' ? " " : s + i, 1);
		}
	}
}

/* s[0..n) with everything but RFC 3986's unreserved characters as %XX */
static void pct_encode(struct buf *b, const char *s, size_t n, bool lower)
{
	buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || strchr("-._~", c))
			buf_add(b, s + i, 1);
		else
			buf_printf(b, lower ? "%%%02x" : "%%%02X", c);
	}
}

/* One part of the URL, in every form a receiver might echo it: as
 * configured, decoded (a server logs what it decoded) and encoded again
 * (and re-encodes what it decoded), upper- and lower-case hex. */
static void add_part(struct needles *l, const char *s, size_t n, bool query, bool always)
{
	struct buf dec, enc;

	buf_init(&dec);
	buf_init(&enc);
	pct_decode(&dec, s, n, false);
	if (always || dec.len >= SCRUB_MIN) {
		needle_add(l, s, n);
		needle_add(l, dec.data, dec.len);
		pct_encode(&enc, dec.data, dec.len, false);
		needle_add(l, enc.data, enc.len);
		pct_encode(&enc, dec.data, dec.len, true);
		needle_add(l, enc.data, enc.len);
		if (query) {
			pct_decode(&dec, s, n, true);
			needle_add(l, dec.data, dec.len);
		}
	}
	buf_wipe(&dec);
	buf_wipe(&enc);
}

/* The path words of the vendors' documented webhook URLs
 * (/cgi-bin/webhook/send, /open-apis/bot/v2/hook/, /services/...): public,
 * and scrubbing them would garble the vendors' own errors ("invalid
 * webhook url"). Every other segment may be a token. */
static bool public_word(const char *s, size_t n)
{
	static const char *const words[] = { "cgi-bin", "webhook", "open-apis", "services", NULL };

	for (int i = 0; words[i]; i++)
		if (strlen(words[i]) == n && !memcmp(words[i], s, n))
			return true;
	return false;
}

static int longest_first(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? 1 : la > lb ? -1 : 0;
}

void scrub_receiver(char *s, const char *url, const char *secret)
{
	struct needles l = { NULL, 0, 0 };

	if (!s)
		return;
	if (url && *url) {
		const char *p = strstr(url, "://"), *at = NULL;
		size_t n;

		add_part(&l, url, strlen(url), false, true);
		p = p ? p + 3 : url;
		n = strcspn(p, "/?#");
		for (const char *q = p; q < p + n; q++)
			if (*q == '@')
				at = q;
		if (at) { /* user:password@ */
			const char *colon = memchr(p, ':', (size_t)(at - p));
			add_part(&l, p, (size_t)(at - p), false, true);
			if (colon) {
				add_part(&l, p, (size_t)(colon - p), false, false);
				add_part(&l, colon + 1, (size_t)(at - colon - 1), false, false);
			}
		}
		p += n;
		n = strcspn(p, "?#");
		for (const char *e = p + n; p < e;) {
			size_t k = strcspn(p, "/?#");
			if (k && !public_word(p, k))
				add_part(&l, p, k, false, false);
			p += k + (p + k < e);
		}
		if (*p == '?') {
			const char *e = p + 1 + strcspn(p + 1, "#");
			for (p++; p < e;) {
				size_t k = strcspn(p, "&;#");
				const char *eq = memchr(p, '=', k);
				if (eq)
					add_part(&l, eq + 1, (size_t)(p + k - eq - 1), true, false);
				else
					add_part(&l, p, k, true, false);
				p += k + (p + k < e);
			}
		}
		if (*p == '#')
			add_part(&l, p + 1, strlen(p + 1), false, false);
	}
	if (secret && *secret)
		add_part(&l, secret, strlen(secret), false, true);
	/* a part inside another (a query value inside the whole URL) must not
	 * be starred first: the longer one would no longer match */
	if (l.n)
		qsort(l.v, l.n, sizeof *l.v, longest_first);
	for (size_t i = 0; i < l.n; i++) {
		scrub_secret(s, l.v[i]);
		explicit_bzero(l.v[i], strlen(l.v[i]));
		free(l.v[i]);
	}
	free(l.v);
}
