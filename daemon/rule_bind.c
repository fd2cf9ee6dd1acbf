/* A rule's SQL fragments → parameterised SQL text.
 *
 * ${macro}, ${changed(...)}, ${incremental} and ${cursor} are expanded
 * first; then :name outside quoted text becomes $n, and its value is
 * recorded once in the rule (qf_rule.values, .builtin) to be bound with
 * PQexecParams: values never enter the SQL text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_int.h"
#include "util.h"

const char *rule_value_label(const struct qf_rule *r, int i)
{
	switch (r->builtin[i]) {
	case BUILTIN_NOW:
		return "(:now, the evaluation time)";
	case BUILTIN_SINCE:
		return "(:since, -infinity unless given)";
	case BUILTIN_CURSOR:
		return "(the rule's cursor; NULL in a full pass)";
	case BUILTIN_KNOWN:
		return "(skip known hits: true, false in a dry run)";
	default:
		return r->values[i];
	}
}

int rule_add_value(struct qf_rule *r, const char *value, int builtin)
{
	for (int i = 0; i < r->nvalues; i++)
		if ((builtin && r->builtin[i] == builtin) || (!builtin && !r->builtin[i] && r->values[i] == value))
			return i + 1;
	r->values = xrealloc(r->values, sizeof(char *) * (size_t)(r->nvalues + 1));
	r->builtin = xrealloc(r->builtin, sizeof(int) * (size_t)(r->nvalues + 1));
	r->values[r->nvalues] = (char *)value; /* borrowed from params/exceptions */
	r->builtin[r->nvalues] = builtin;
	return ++r->nvalues;
}

const char **rule_bind_values(const struct qf_rule *r, const char *now, const char *since, const char *cursor,
			      bool skip_known)
{
	const char **v = xcalloc((size_t)r->nvalues + 1, sizeof *v);

	for (int i = 0; i < r->nvalues; i++)
		v[i] = r->builtin[i] == BUILTIN_NOW	 ? now
		       : r->builtin[i] == BUILTIN_SINCE	 ? since
		       : r->builtin[i] == BUILTIN_CURSOR ? cursor
		       : r->builtin[i] == BUILTIN_KNOWN	 ? (skip_known ? "t" : "f")
							 : r->values[i];
	return v;
}

/* The first $n outside quoted text of an author's SQL, or NULL. Such a
 * $n would bind to whatever the engine numbered n (the known-hits flag,
 * the rule id, a parameter): parameters are written :name. A $ inside a
 * name (a$1) is part of the name. */
static const char *positional(const char *s)
{
	char q = 0;

	for (const char *p = s; *p; p++) {
		unsigned char prev = p > s ? (unsigned char)p[-1] : ' ';
		if (q)
			q = *p == q ? 0 : q; /* a doubled quote closes and reopens */
		else if (*p == '\'' || *p == '"')
			q = *p;
		else if (*p == '$' && p[1] >= '0' && p[1] <= '9' &&
			 !((prev >= 'a' && prev <= 'z') || (prev >= 'A' && prev <= 'Z') ||
			   (prev >= '0' && prev <= '9') || prev == '_' || prev == '$' || prev >= 0x80))
			return p;
	}
	return NULL;
}

/* ${incremental}: true in an incremental pass; ${cursor}: the xid8 the
 * rule's last pass reached (NULL in a full pass). Both fold to constants
 * in the per-execution plan. Returns the last character consumed. */
static const char *expand_cursor(struct qf_rule *r, const char *p, enum bind_mode mode, struct buf *ex)
{
	int cur = rule_add_value(r, NULL, BUILTIN_CURSOR);
	bool inc = p[2] == 'i';

	/* the delta form still names the parameter, so its type is known, and
	 * the planner folds "OR true" away */
	buf_printf(ex,
		   inc ? (mode == BIND_DELTA ? "($%d::xid8 IS NOT NULL OR true)" : "($%d::xid8 IS NOT NULL)")
		       : "$%d::xid8",
		   cur);
	r->changed_aware = true;
	return p + (inc ? 13 : 8);
}

/* ${changed(table, expr[, column])}: true in a full pass; in an
 * incremental one, expr is among the changed rows' keys (or, with column,
 * among that column's values in the changed rows). Returns the last
 * character consumed, or NULL after reporting a problem. */
static const char *expand_changed(struct qf_rule *r, const char *p, const char *what, enum bind_mode mode,
				  struct buf *ex, struct diag *d)
{
	const char *e = strstr(p, ")}");
	char args[3][256] = {"", "", ""};
	int na = 0;

	if (e) {
		const char *a = p + 10;
		while (a < e && na < 3) {
			const char *comma = memchr(a, ',', (size_t)(e - a));
			const char *end = comma ? comma : e;
			while (a < end && *a == ' ')
				a++;
			size_t n = (size_t)(end - a);
			while (n && a[n - 1] == ' ')
				n--;
			if (n >= sizeof args[0])
				n = sizeof args[0] - 1;
			memcpy(args[na], a, n);
			args[na++][n] = '\0';
			a = comma ? comma + 1 : e;
		}
	}
	const char *ck = na >= 2 ? capture_key(args[0]) : NULL;
	if (!e || na < 2 || !ck || !*args[1] || (na == 3 && !rule_is_ident(args[2]))) {
		diag_error(d, r->file, r->where_line,
			   "rule %s: %s: use ${changed(TABLE, EXPRESSION[, COLUMN])} with a records table", r->id, what);
		return NULL;
	}
	int cur = rule_add_value(r, NULL, BUILTIN_CURSOR);
	char keys[512];
	snprintf(keys, sizeof keys, "SELECT unnest(c.keys) FROM qf.change_log c WHERE c.tbl = '%s' AND c.xid >= $%d::xid8",
		 args[0], cur);
	/* = ANY(ARRAY(...)): the changed keys become one init plan, and the
	 * outer test an index condition; the planner cannot estimate IN
	 * (SELECT unnest(...)) and would scan the table. ::text is a no-op on
	 * text columns (the index still serves) and lets a date or number key
	 * compare with the logged keys. */
	char full[32] = "";
	if (mode == BIND_FULL)
		snprintf(full, sizeof full, "$%d::xid8 IS NULL OR ", cur);
	/* the rows still there, and the deleted and replaced ones as the
	 * capture kept them (an update that moved a row to another key
	 * changes the old key's findings too) */
	if (na == 3)
		buf_printf(ex,
			   "(%s(%s)::text = ANY(ARRAY(SELECT x.\"%s\"::text FROM records.\"%s\" x"
			   " WHERE x.\"%s\"::text = ANY(ARRAY(%s))"
			   " UNION ALL SELECT o->>'%s' FROM qf.change_log c, jsonb_array_elements(c.old_rows) o"
			   " WHERE c.tbl = '%s' AND c.old_rows IS NOT NULL AND c.xid >= $%d::xid8)))",
			   full, args[1], args[2], args[0], ck, keys, args[2], args[0], cur);
	else
		buf_printf(ex, "(%s(%s)::text = ANY(ARRAY(%s)))", full, args[1], keys);
	r->changed_aware = true;
	return e + 1;
}

/* ${name}: the file's macro, in parentheses. Returns the last character
 * consumed, or NULL after reporting a problem. */
static const char *expand_macro(struct qf_rule *r, const char *p, const char *what, struct buf *ex, struct diag *d)
{
	const char *e = strchr(p, '}');
	size_t n = e ? (size_t)(e - p - 2) : 0;
	int found = -1;
	const char *pos;

	for (int i = 0; e && i < r->nmacros; i++)
		if (strlen(r->macros[i].name) == n && !strncmp(r->macros[i].name, p + 2, n))
			found = i;
	if (found < 0) {
		/* quoted on one line (diag.h): the text may hold a newline */
		char shown[64];
		snprintf(shown, sizeof shown, "%.*s", e ? (int)n : 20, p + 2);
		for (char *c = shown; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7F)
				*c = '?';
		diag_error(d, r->file, r->where_line, "rule %s: %s uses an unknown macro ${%s}", r->id, what, shown);
		return NULL;
	}
	if ((pos = positional(r->macros[found].expr)) != NULL) {
		diag_error(d, r->file, r->where_line, "rule %s: %s: macro ${%s} uses %.*s: write parameters as :name",
			   r->id, what, r->macros[found].name, 1 + (int)strspn(pos + 1, "0123456789"), pos);
		return NULL;
	}
	buf_printf(ex, "(%s)", r->macros[found].expr);
	return e;
}

/* The fragment with every ${...} expanded, or NULL (caller frees). */
static char *expand(struct qf_rule *r, const char *fragment, const char *what, enum bind_mode mode, struct diag *d)
{
	struct buf ex;

	buf_init(&ex);
	for (const char *p = fragment; *p; p++) {
		if (!strncmp(p, "${incremental}", 14) || !strncmp(p, "${cursor}", 9))
			p = expand_cursor(r, p, mode, &ex);
		else if (!strncmp(p, "${changed(", 10))
			p = expand_changed(r, p, what, mode, &ex, d);
		else if (p[0] == '$' && p[1] == '{')
			p = expand_macro(r, p, what, &ex, d);
		else
			buf_add(&ex, p, 1);
		if (!p) {
			buf_free(&ex);
			return NULL;
		}
	}
	return buf_steal(&ex);
}

/* :name outside quotes → $n ("::" casts are left alone); refuses ';' and
 * unbalanced parentheses. Returns the SQL text, or NULL after reporting a
 * problem (caller frees). */
static char *placeholders(struct qf_rule *r, const char *s, const char *what, struct diag *d)
{
	struct buf out;
	int depth = 0;

	buf_init(&out);
	while (*s) {
		if (*s == '\'' || *s == '"') {
			char q = *s;
			const char *e = s + 1;
			while (*e && !(*e == q && e[1] != q))
				e += (*e == q && e[1] == q) ? 2 : 1;
			if (!*e) {
				diag_error(d, r->file, r->where_line, "rule %s: unterminated %s in %s", r->id,
					   q == '\'' ? "string literal" : "quoted identifier", what);
				goto fail;
			}
			buf_add(&out, s, (size_t)(e - s + 1));
			s = e + 1;
		} else if (*s == ':' && s[1] == ':') {
			buf_add(&out, s, 2);
			s += 2;
		} else if (*s == ':' && ((s[1] >= 'a' && s[1] <= 'z') || s[1] == '_')) {
			char name[64];
			size_t n = 0;
			s++;
			while (((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_') && n < sizeof name - 1)
				name[n++] = *s++;
			name[n] = '\0';
			int idx;
			if (!strcmp(name, "now")) {
				idx = rule_add_value(r, NULL, BUILTIN_NOW);
				buf_printf(&out, "$%d::timestamptz", idx);
				continue;
			}
			if (!strcmp(name, "since")) {
				idx = rule_add_value(r, NULL, BUILTIN_SINCE);
				buf_printf(&out, "$%d::timestamptz", idx);
				continue;
			}
			struct qf_param *p = rule_param(r, name);
			if (!p) {
				diag_error(d, r->file, r->where_line, "rule %s: %s uses :%s but params has no '%s'", r->id,
					   what, name, name);
				goto fail;
			}
			idx = rule_add_value(r, p->value, BUILTIN_NONE);
			/* numbers are typed here, so `:days * interval '1 day'` needs no cast */
			buf_printf(&out, p->numeric ? "$%d::numeric" : "$%d", idx);
		} else if (*s == ';') {
			diag_error(d, r->file, r->where_line, "rule %s: %s must be one statement or expression (no ';')",
				   r->id, what);
			goto fail;
		} else {
			if (*s == '(')
				depth++;
			else if (*s == ')' && --depth < 0)
				break;
			buf_add(&out, s, 1);
			s++;
		}
	}
	if (depth != 0) {
		diag_error(d, r->file, r->where_line, "rule %s: unbalanced parentheses in %s", r->id, what);
		goto fail;
	}
	return buf_steal(&out);
fail:
	buf_free(&out);
	return NULL;
}

char *rule_bind(struct qf_rule *r, const char *fragment, const char *what, enum bind_mode mode, struct diag *d)
{
	const char *pos = positional(fragment);

	if (pos) {
		diag_error(d, r->file, r->where_line, "rule %s: %s uses %.*s: write parameters as :name", r->id, what,
			   1 + (int)strspn(pos + 1, "0123456789"), pos);
		return NULL;
	}
	char *ex = expand(r, fragment, what, mode, d);
	if (!ex)
		return NULL;
	char *out = placeholders(r, ex, what, d);
	free(ex);
	return out;
}
