/* UTF-8 handling for record text on its way into JSON and chat messages. */
#ifndef QF_UTF8_H
#define QF_UTF8_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

bool utf8_valid(const char *s, size_t n);
/* Copy of s with every invalid byte sequence replaced by U+FFFD; caller frees. */
char *utf8_sanitize(const char *s, size_t n);
/* Largest length <= max that ends on a character boundary of s[0..n). */
size_t utf8_cut(const char *s, size_t n, size_t max);
/* json_string(), but never NULL: invalid UTF-8 (a SQL_ASCII database, a
 * broken ETL) is repaired with U+FFFD rather than dropping the finding. */
json_t *json_string_or_fixed(const char *s);

#endif
