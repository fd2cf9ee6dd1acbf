/* Checked libconfig access with FILE:LINE diagnostics. */
#include "cfgutil.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cfg_ctx_init(struct cfgctx *cx, struct diag *d, const char *file, struct strlist *files)
{
	cx->d = d;
	cx->file = file;
	cx->files = files;
}

const char *cfg_file(struct cfgctx *cx, const config_setting_t *s)
{
	const char *f = s ? config_setting_source_file(s) : NULL;

	if (!f)
		f = cx->file;
	for (int i = 0; i < cx->files->n; i++)
		if (!strcmp(cx->files->v[i], f))
			return cx->files->v[i];
	cx->files->v = xrealloc(cx->files->v, sizeof(char *) * (size_t)(cx->files->n + 1));
	cx->files->v[cx->files->n] = xstrdup(f);
	return cx->files->v[cx->files->n++];
}

/* A diagnostic is one line (diag.h), but text quoted from a file may hold
 * a newline: control characters are shown escaped, so nothing in a file
 * can split a message or forge a FILE:LINE line. */
static void put_one_line(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\t')
			buf_puts(b, "\\t");
		else if (c < 0x20 || c == 0x7F)
			buf_printf(b, "\\x%02x", c);
		else
			buf_add(b, s + i, 1);
	}
}

void cfg_error(struct cfgctx *cx, const config_setting_t *s, const char *fmt, ...)
{
	char msg[900];
	struct buf b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	buf_init(&b);
	put_one_line(&b, msg, strlen(msg));
	/* the root setting has line 0: point at the top of the file instead */
	int line = s ? config_setting_source_line(s) : 0;
	diag_error(cx->d, cfg_file(cx, s), line ? line : 1, "%s", b.data ? b.data : "");
	buf_free(&b);
}

/* Checks what FILE's @include directives name, and recursively theirs,
 * reading the text as libconfig 1.5's scanner does: an @include starts a
 * line outside strings and comments, its path takes \\ and \" escapes and
 * is opened as written (we set no include_dir). */
static bool includes_ok(struct cfgctx *cx, const char *file, int depth)
{
	struct stat st;
	size_t n;
	char *text;
	bool ok = true, bol = true;
	int line = 1;

	/* libconfig itself reports a file it cannot open, and nesting deeper
	 * than 10 */
	if (depth > 10 || stat(file, &st) < 0 || !S_ISREG(st.st_mode) || !(text = read_file(file, &n)))
		return true;
	const char *p = text, *end = text + n;
	while (p < end) {
		if (bol) {
			const char *q = p;
			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			if (end - q > 9 && !memcmp(q, "@include", 8) && (q[8] == ' ' || q[8] == '\t')) {
				for (q += 8; q < end && (*q == ' ' || *q == '\t'); q++)
					;
				if (q < end && *q == '"') {
					struct buf path;
					int at = line;
					bool nul = false;
					buf_init(&path);
					for (q++; q < end && *q != '"'; q++) {
						line += *q == '\n';
						/* libconfig appends each run between escapes
						 * as a C string: a NUL ends the run */
						if (*q != '\\') {
							nul |= !*q;
							if (!nul)
								buf_add(&path, q, 1);
						} else if (q + 1 < end && (q[1] == '\\' || q[1] == '"')) {
							buf_add(&path, ++q, 1);
							nul = false;
						}
						/* any other backslash is dropped */
					}
					const char *inc = path.data ? path.data : "";
					if (q < end && stat(inc, &st) == 0 && S_ISDIR(st.st_mode)) {
						struct buf m;
						buf_init(&m);
						put_one_line(&m, inc, path.len);
						diag_error(cx->d, file, at, "cannot include '%s': Is a directory", m.data);
						buf_free(&m);
						ok = false;
					} else if (q < end) {
						ok &= includes_ok(cx, inc, depth + 1);
					}
					buf_free(&path);
					p = q < end ? q + 1 : end;
					bol = false;
					continue;
				}
			}
		}
		bol = false;
		if (*p == '\n') {
			line++;
			bol = true;
			p++;
		} else if (*p == '"') { /* a string: \" does not end it */
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				line += *p == '\n';
			}
			p += p < end;
		} else if (*p == '/' && p + 1 < end && p[1] == '*') {
			for (p += 2; p < end && !(*p == '*' && p + 1 < end && p[1] == '/'); p++)
				line += *p == '\n';
			p += p < end ? 2 : 0;
		} else if (*p == '#' || (*p == '/' && p + 1 < end && p[1] == '/')) {
			while (p < end && *p != '\n')
				p++;
		} else {
			p++;
		}
	}
	free(text);
	return ok;
}

bool cfg_includes_ok(struct cfgctx *cx, const char *file)
{
	return includes_ok(cx, file, 0);
}

void cfg_check_keys(struct cfgctx *cx, const config_setting_t *grp, const char *const *allowed, const char *what)
{
	int n = config_setting_length(grp);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(m);
		int k;
		if (!name)
			continue;
		for (k = 0; allowed[k] && strcmp(allowed[k], name); k++)
			;
		if (!allowed[k])
			cfg_error(cx, m, "unknown setting '%s' in %s", name, what);
	}
}

static const config_setting_t *member(struct cfgctx *cx, const config_setting_t *grp, const char *name,
				      bool required)
{
	const config_setting_t *s = config_setting_get_member(grp, name);

	if (!s && required)
		cfg_error(cx, grp, "missing required setting '%s'", name);
	return s;
}

bool cfg_string(struct cfgctx *cx, const config_setting_t *grp, const char *name, bool required, const char **out)
{
	const config_setting_t *s = member(cx, grp, name, required);

	if (!s)
		return false;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_error(cx, s, "'%s' must be a string in double quotes", name);
		return false;
	}
	*out = config_setting_get_string(s);
	return true;
}

bool cfg_number(struct cfgctx *cx, const config_setting_t *grp, const char *name, bool required, double *out)
{
	const config_setting_t *s = member(cx, grp, name, required);

	if (!s)
		return false;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		*out = config_setting_get_int(s);
		return true;
	case CONFIG_TYPE_INT64:
		*out = (double)config_setting_get_int64(s);
		return true;
	case CONFIG_TYPE_FLOAT:
		*out = config_setting_get_float(s);
		return true;
	default:
		cfg_error(cx, s, "'%s' must be a number", name);
		return false;
	}
}

bool cfg_int_range(struct cfgctx *cx, const config_setting_t *grp, const char *name, int lo, int hi, int *out)
{
	const config_setting_t *s = member(cx, grp, name, false);
	long long v;

	if (!s)
		return false;
	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else {
		cfg_error(cx, s, "'%s' must be a whole number", name);
		return false;
	}
	if (v < lo || v > hi) {
		cfg_error(cx, s, "'%s' must be between %d and %d, not %lld", name, lo, hi, v);
		return false;
	}
	*out = (int)v;
	return true;
}

bool cfg_bool(struct cfgctx *cx, const config_setting_t *grp, const char *name, bool required, bool *out)
{
	const config_setting_t *s = member(cx, grp, name, required);

	if (!s)
		return false;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cfg_error(cx, s, "'%s' must be true or false", name);
		return false;
	}
	*out = config_setting_get_bool(s);
	return true;
}

static bool allowed_value(const char *const *allowed, const char *v)
{
	if (!allowed)
		return true;
	for (int i = 0; allowed[i]; i++)
		if (!strcmp(allowed[i], v))
			return true;
	return false;
}

static void add_checked(struct cfgctx *cx, const config_setting_t *s, const char *name, const char *const *allowed,
			struct strlist *out, const char *v)
{
	if (!*v) {
		cfg_error(cx, s, "'%s' has an empty string", name);
		return;
	}
	if (!allowed_value(allowed, v)) {
		struct buf b;
		buf_init(&b);
		for (int i = 0; allowed[i]; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", allowed[i]);
		cfg_error(cx, s, "'%s' has unknown value '%s' (expected one of %s)", name, v, b.data);
		buf_free(&b);
		return;
	}
	out->v = xrealloc(out->v, sizeof(char *) * (size_t)(out->n + 1));
	out->v[out->n++] = xstrdup(v);
}

bool cfg_strlist(struct cfgctx *cx, const config_setting_t *grp, const char *name, const char *const *allowed,
		 struct strlist *out)
{
	const config_setting_t *s = member(cx, grp, name, false);
	int errs = cx->d->errors;

	if (!s)
		return false;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		add_checked(cx, s, name, allowed, out, config_setting_get_string(s));
	} else if (config_setting_is_array(s) || config_setting_is_list(s)) {
		int n = config_setting_length(s);
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			if (config_setting_type(e) != CONFIG_TYPE_STRING) {
				cfg_error(cx, e, "'%s' must contain only strings", name);
				continue;
			}
			add_checked(cx, e, name, allowed, out, config_setting_get_string(e));
		}
	} else {
		cfg_error(cx, s, "'%s' must be a string or a list of strings [\"a\", \"b\"]", name);
	}
	return cx->d->errors == errs;
}

/* Shortest decimal text that reads back as the same double, so 0.05 stays
 * "0.05" when bound to a numeric comparison. */
static char *double_text(double v)
{
	char tmp[64];

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	return xstrdup(tmp);
}

bool cfg_scalar_text(struct cfgctx *cx, const config_setting_t *s, char **value, bool *numeric)
{
	char tmp[64];

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		snprintf(tmp, sizeof tmp, "%d", config_setting_get_int(s));
		*value = xstrdup(tmp);
		*numeric = true;
		return true;
	case CONFIG_TYPE_INT64:
		snprintf(tmp, sizeof tmp, "%lld", config_setting_get_int64(s));
		*value = xstrdup(tmp);
		*numeric = true;
		return true;
	case CONFIG_TYPE_FLOAT:
		*value = double_text(config_setting_get_float(s));
		*numeric = true;
		return true;
	case CONFIG_TYPE_STRING:
		*value = xstrdup(config_setting_get_string(s));
		*numeric = false;
		return true;
	case CONFIG_TYPE_BOOL:
		*value = xstrdup(config_setting_get_bool(s) ? "true" : "false");
		*numeric = false;
		return true;
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST: {
		/* a PostgreSQL array literal: every element double-quoted, with
		 * " and \ escaped, so no element can break out of it */
		struct buf b;
		int n = config_setting_length(s);
		buf_init(&b);
		buf_puts(&b, "{");
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			char *v;
			bool num;
			if (config_setting_is_aggregate(e) || !cfg_scalar_text(cx, e, &v, &num)) {
				if (config_setting_is_aggregate(e))
					cfg_error(cx, e, "a list parameter holds only numbers, strings or booleans");
				buf_free(&b);
				return false;
			}
			buf_puts(&b, i ? ",\"" : "\"");
			for (const char *p = v; *p; p++) {
				if (*p == '"' || *p == '\\')
					buf_add(&b, "\\", 1);
				buf_add(&b, p, 1);
			}
			buf_puts(&b, "\"");
			free(v);
		}
		buf_puts(&b, "}");
		*value = buf_steal(&b);
		*numeric = false;
		return true;
	}
	default:
		cfg_error(cx, s, "parameter '%s' must be a number, string or boolean", config_setting_name(s));
		return false;
	}
}

void cfg_exceptions(struct cfgctx *cx, const config_setting_t *list, struct qf_exception **out, int *n)
{
	static const char *const keys[] = {"match", "until", "reason", NULL};

	if (!config_setting_is_list(list)) {
		cfg_error(cx, list, "exceptions must be a list ( { match = { ... }; until = \"...\"; reason = \"...\"; } )");
		return;
	}
	int len = config_setting_length(list);
	*out = xrealloc(*out, sizeof **out * (size_t)(*n + len));
	for (int i = 0; i < len; i++) {
		const config_setting_t *s = config_setting_get_elem(list, (unsigned)i);
		struct qf_exception *e = &(*out)[*n];
		const char *v;
		memset(e, 0, sizeof *e);
		e->file = cfg_file(cx, s);
		e->line = config_setting_source_line(s);
		(*n)++;
		if (!config_setting_is_group(s)) {
			cfg_error(cx, s, "an exception must be a group { match = { ... }; until = ...; reason = ...; }");
			continue;
		}
		cfg_check_keys(cx, s, keys, "exception");
		if (cfg_string(cx, s, "until", true, &v))
			e->until = xstrdup(v);
		if (cfg_string(cx, s, "reason", true, &v)) {
			if (!*v)
				cfg_error(cx, config_setting_get_member(s, "reason"), "an exception needs a reason");
			e->reason = xstrdup(v);
		}
		const config_setting_t *m = config_setting_get_member(s, "match");
		if (!m || !config_setting_is_group(m) || config_setting_length(m) == 0) {
			cfg_error(cx, m ? m : s, "an exception needs match = { evidence_field = value; ... }");
			continue;
		}
		int nf = config_setting_length(m);
		e->fields = xcalloc((size_t)nf, sizeof *e->fields);
		for (int j = 0; j < nf; j++) {
			const config_setting_t *f = config_setting_get_elem(m, (unsigned)j);
			struct qf_param *q = &e->fields[e->nfields];
			if (config_setting_is_aggregate(f)) {
				cfg_error(cx, f, "exception field '%s' must be a single value", config_setting_name(f));
				continue;
			}
			if (cfg_scalar_text(cx, f, &q->value, &q->numeric)) {
				q->name = xstrdup(config_setting_name(f));
				q->line = config_setting_source_line(f);
				e->nfields++;
			}
		}
	}
}

void exceptions_free(struct qf_exception *e, int n)
{
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < e[i].nfields; j++) {
			free(e[i].fields[j].name);
			free(e[i].fields[j].value);
		}
		free(e[i].fields);
		free(e[i].until);
		free(e[i].reason);
	}
	free(e);
}
