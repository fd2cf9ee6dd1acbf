/* Typed, checked access to libconfig settings, shared by the config and
 * rule-file parsers. Each getter reports a type error at the setting's own
 * FILE:LINE and returns false; string results point into the libconfig tree
 * and live until config_destroy(). */
#ifndef QF_CFGUTIL_H
#define QF_CFGUTIL_H

#include <libconfig.h>
#include <stdbool.h>

#include "config.h"
#include "diag.h"

struct cfgctx {
	struct diag *d;
	const char *file;      /* the top-level file, for settings without a source */
	struct strlist *files; /* interned file names, owned by the caller's struct */
};

void cfg_ctx_init(struct cfgctx *cx, struct diag *d, const char *file, struct strlist *files);
/* libconfig 1.5 opens a directory an @include names, and its scanner then
 * exit()s the process ("input in flex scanner failed"). Call this before
 * config_read_file(): false, with the problem in cx->d, when an @include
 * of file, or of a file it includes, names a directory. */
bool cfg_includes_ok(struct cfgctx *cx, const char *file);
/* the (interned, long-lived) file a setting came from */
const char *cfg_file(struct cfgctx *cx, const config_setting_t *s);
void cfg_error(struct cfgctx *cx, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* reports every member of grp whose name is not in allowed (NULL-terminated) */
void cfg_check_keys(struct cfgctx *cx, const config_setting_t *grp, const char *const *allowed, const char *what);
bool cfg_string(struct cfgctx *cx, const config_setting_t *grp, const char *name, bool required, const char **out);
bool cfg_number(struct cfgctx *cx, const config_setting_t *grp, const char *name, bool required, double *out);
bool cfg_int_range(struct cfgctx *cx, const config_setting_t *grp, const char *name, int lo, int hi, int *out);
bool cfg_bool(struct cfgctx *cx, const config_setting_t *grp, const char *name, bool required, bool *out);
/* a string or a list/array of strings; allowed (NULL-terminated) limits the
 * values when given. The list is appended to out. */
bool cfg_strlist(struct cfgctx *cx, const config_setting_t *grp, const char *name, const char *const *allowed,
		 struct strlist *out);
/* a scalar (int, float, string, bool) or an array of them (as a
 * PostgreSQL array literal, for `= ANY(:name::text[])`) as the text SQL
 * will receive; caller frees *value */
bool cfg_scalar_text(struct cfgctx *cx, const config_setting_t *s, char **value, bool *numeric);

/* exceptions = ( { match = { field = value; ... }; until = "DATE"; reason = "..."; } ),
 * appended to *out */
void cfg_exceptions(struct cfgctx *cx, const config_setting_t *list, struct qf_exception **out, int *n);
void exceptions_free(struct qf_exception *e, int n);

#endif
