/* UTF-8 validation, repair and boundary-safe cutting. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "utf8.h"

int main(void)
{
	ok(utf8_valid("abc", 3), "ASCII is valid");
	ok(utf8_valid("中文😀", strlen("中文😀")), "CJK and emoji are valid");
	ok(!utf8_valid("\xC0\xAF", 2), "overlong '/' is invalid");
	ok(!utf8_valid("\xED\xA0\x80", 3), "a surrogate is invalid");
	ok(!utf8_valid("\xF4\x90\x80\x80", 4), "above U+10FFFF is invalid");
	ok(!utf8_valid("\xE4\xB8", 2), "a truncated sequence is invalid");

	char *s = utf8_sanitize("a\xFF" "b\xE4\xB8", 5);
	is_str(s, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD", "invalid bytes become U+FFFD, valid text stays");
	ok(utf8_valid(s, strlen(s)), "the repaired text is valid");
	free(s);

	const char *t = "ab中文😀";                 /* 2 + 3 + 3 + 4 bytes */
	ok(utf8_cut(t, strlen(t), 100) == 12, "no cut when it fits");
	ok(utf8_cut(t, strlen(t), 4) == 2, "never inside a 3-byte character");
	ok(utf8_cut(t, strlen(t), 5) == 5, "cut after a whole character");
	ok(utf8_cut(t, strlen(t), 11) == 8, "never inside a 4-byte character");
	ok(utf8_cut(t, strlen(t), 0) == 0, "cut to nothing");

	json_t *j = json_string_or_fixed("x\xFFy");
	is_str(json_string_value(j), "x\xEF\xBF\xBDy", "json_string_or_fixed repairs instead of failing");
	json_decref(j);
	done_testing();
}
