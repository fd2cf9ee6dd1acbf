/* Forms of the console: application/x-www-form-urlencoded bodies, read
 * strictly (a bad escape or too many fields is a 400, not a guess). */
#include <stdlib.h>
#include <string.h>

#include "qfweb.h"
#include "utf8.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* percent-decoded s[0..n), '+' as space; NULL on a bad escape or a NUL */
static char *decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%') {
			int hi = i + 1 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
			int h = hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
			if (h <= 0) { /* a bad escape, or %00 */
				free(out);
				return NULL;
			}
			*o++ = (char)h;
			i += 2;
		} else if (s[i] == '\0') {
			free(out);
			return NULL;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

int form_parse(struct form *f, const char *body, size_t len)
{
	memset(f, 0, sizeof *f);
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && body[end] != '&')
			end++;
		if (end > i) {
			const char *eq = memchr(body + i, '=', end - i);
			size_t nlen = eq ? (size_t)(eq - (body + i)) : end - i;
			if (f->n == (int)(sizeof f->name / sizeof f->name[0])) {
				form_free(f);
				return -1;
			}
			char *name = decode(body + i, nlen);
			char *value = eq ? decode(eq + 1, (size_t)(body + end - (eq + 1))) : xstrdup("");
			if (!name || !value) {
				free(name);
				free(value);
				form_free(f);
				return -1;
			}
			f->name[f->n] = name;
			f->value[f->n++] = value;
		}
		i = end + 1;
	}
	return 0;
}

const char *form_get(const struct form *f, const char *name)
{
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->name[i], name))
			return f->value[i];
	return NULL;
}

void form_free(struct form *f)
{
	for (int i = 0; i < f->n; i++) {
		free(f->name[i]);
		/* a login form's value is a password */
		explicit_bzero(f->value[i], strlen(f->value[i]));
		free(f->value[i]);
	}
	f->n = 0;
}

bool field_text_ok(const char *v, size_t max)
{
	size_t n = strlen(v);
	if (n > max || !utf8_valid(v, n))
		return false;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if ((*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

bool field_word_ok(const char *v, size_t max)
{
	size_t n = strlen(v);
	if (n == 0 || n > max)
		return false;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-' || *p == '.'))
			return false;
	return true;
}
