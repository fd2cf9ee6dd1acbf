/* Fuzz target: daemon/utf8.c, the code every record string passes on its
 * way into JSON and chat messages.
 *
 * Input: the first two bytes are a cut length (0..65535), the rest is the
 * text. Invariants (checked against oracle_utf8() and jansson, which do not
 * share code with utf8.c):
 *   utf8_valid       agrees with both oracles
 *   utf8_sanitize    valid UTF-8, no NUL, the input unchanged when it was
 *                    valid and NUL-free, at most 3 bytes per input byte
 *   utf8_cut         <= max and <= n, n when n <= max, on a character
 *                    boundary (a valid text's prefix and rest stay valid),
 *                    and the longest such prefix
 *   json_string_or_fixed  never NULL; the text itself when valid, else
 *                    exactly utf8_sanitize() of it
 */
#include <jansson.h>

#include "fuzz.h"
#include "utf8.h"

/* length of the character at s[0] of a valid text */
static size_t char_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

static void check_cut(const char *s, size_t n, size_t max, bool valid)
{
	size_t k = utf8_cut(s, n, max);

	FUZZ_CHECK(k <= n, "cut %zu of %zu bytes", k, n);
	if (n <= max) {
		FUZZ_CHECK(k == n, "a text that fits is cut: %zu -> %zu (max %zu)", n, k, max);
		return;
	}
	FUZZ_CHECK(k <= max, "cut to %zu > max %zu", k, max);
	if (!valid)
		return;
	FUZZ_CHECK(utf8_valid(s, k) && oracle_utf8(s, k), "the cut prefix of a valid text is invalid (%zu of %zu)", k, n);
	FUZZ_CHECK(oracle_utf8(s + k, n - k), "cut at %zu is inside a character", k);
	FUZZ_CHECK(k + char_len((unsigned char)s[k]) > max, "cut at %zu, but the next character fits max %zu", k, max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fdp f = { data, size };
	size_t max = (size_t)fdp_u64(&f, 2);
	const char *s = (const char *)f.p;
	size_t n = f.n;
	bool valid = utf8_valid(s, n);
	bool has_nul = memchr(s, 0, n) != NULL;

	/* validation */
	FUZZ_CHECK(valid == oracle_utf8(s, n), "utf8_valid says %d, the RFC 3629 decoder %d", valid, !valid);
	json_t *js = json_stringn(s, n);
	FUZZ_CHECK(valid == (js != NULL), "utf8_valid says %d, jansson %d", valid, js != NULL);
	json_decref(js);

	/* repair */
	char *fixed = utf8_sanitize(s, n);
	size_t fn = strlen(fixed);
	FUZZ_CHECK(oracle_utf8(fixed, fn), "utf8_sanitize output is invalid UTF-8");
	FUZZ_CHECK(fn <= 3 * n, "utf8_sanitize grew %zu bytes to %zu", n, fn);
	if (valid && !has_nul)
		FUZZ_CHECK(fn == n && !memcmp(fixed, s, n), "utf8_sanitize changed a valid text");
	else
		FUZZ_CHECK(fn > 0 && strstr(fixed, "\xEF\xBF\xBD"), "an invalid byte or NUL left no U+FFFD");

	/* cutting: the given max, every max near it, and on the repaired text */
	check_cut(s, n, max, valid);
	for (size_t m = max > 4 ? max - 4 : 0; m <= max + 4 && m <= n; m++)
		check_cut(s, n, m, valid);
	check_cut(fixed, fn, max % (fn + 1), true);

	/* json_string_or_fixed takes a C string: up to the first NUL */
	char *c = malloc(n + 1);
	if (!c)
		abort();
	memcpy(c, s, n);
	c[n] = '\0';
	size_t cn = strlen(c);
	json_t *j = json_string_or_fixed(c);
	FUZZ_CHECK(j && json_is_string(j), "json_string_or_fixed returned no string");
	const char *v = json_string_value(j);
	size_t vn = json_string_length(j);
	FUZZ_CHECK(oracle_utf8(v, vn), "json_string_or_fixed holds invalid UTF-8");
	if (utf8_valid(c, cn)) {
		FUZZ_CHECK(vn == cn && !memcmp(v, c, cn), "json_string_or_fixed changed a valid string");
	} else {
		char *cf = utf8_sanitize(c, cn);
		FUZZ_CHECK(vn == strlen(cf) && !memcmp(v, cf, vn), "json_string_or_fixed is not utf8_sanitize()");
		free(cf);
	}
	char *dumped = json_dumps(j, JSON_ENCODE_ANY);
	FUZZ_CHECK(dumped != NULL, "the repaired string cannot be encoded as JSON");
	free(dumped);
	json_decref(j);
	free(c);
	free(fixed);
	return 0;
}
