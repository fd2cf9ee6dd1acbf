/* UTF-8 validation, repair and boundary-safe cutting (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF). */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* length of the valid sequence at s (1..4), or 0 if invalid */
static size_t seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;
		if (c == 0xF4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t l = seq_len(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

char *utf8_sanitize(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b;
	size_t i = 0;

	buf_init(&b);
	while (i < n) {
		size_t l = seq_len(p + i, n - i);
		if (l && !(l == 1 && p[i] == 0)) {
			buf_add(&b, s + i, l);
			i += l;
		} else {
			buf_add(&b, "\xEF\xBF\xBD", 3);
			i++;
		}
	}
	return buf_steal(&b);
}

size_t utf8_cut(const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (n <= max)
		return n;
	while (i < n) {
		size_t l = seq_len(p + i, n - i);
		if (!l)
			l = 1; /* a broken byte counts as one character */
		if (i + l > max)
			break;
		i += l;
	}
	return i;
}

json_t *json_string_or_fixed(const char *s)
{
	json_t *j = json_string(s);

	if (!j) {
		char *fixed = utf8_sanitize(s, strlen(s));
		j = json_string(fixed);
		free(fixed);
	}
	return j ? j : json_string("");
}
