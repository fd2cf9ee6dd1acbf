/* A validated rule → one parameterised SQL statement per pass kind: the
 * full statement, and for a match rule or a ${changed()} rule the
 * incremental one.
 *
 * One function per rule kind writes the inner SELECT yielding (key,
 * subject, department, level, evidence); wrap() adds what every kind
 * shares. Identifiers were checked when the file was loaded and are
 * quoted here; values are $n (rule_bind.c). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_int.h"
#include "util.h"

/* A rule's fragments bound for one statement. */
struct bound {
	enum bind_mode mode;
	char *where, *level, *subject, *department, *having, *sql, *pop, *ewhere, *window, *threshold;
	char **select;
	const char *delta; /* match: an extra condition restricting t to changed rows */
};

static void bound_free(struct bound *b, int nselect)
{
	free(b->where);
	free(b->level);
	free(b->subject);
	free(b->department);
	free(b->having);
	free(b->sql);
	free(b->pop);
	free(b->ewhere);
	free(b->window);
	free(b->threshold);
	for (int i = 0; b->select && i < nselect; i++)
		free(b->select[i]);
	free(b->select);
}

/* "payment" of "records.payment" (validated when loaded) */
static const char *table_name(const char *qualified)
{
	return strchr(qualified, '.') + 1;
}

/* t."a"::text, or a JSON array of several columns (unambiguous) */
static void key_expr(struct buf *b, const char *alias, const struct strlist *cols)
{
	if (cols->n == 1) {
		buf_printf(b, "%s.\"%s\"::text", alias, cols->v[0]);
		return;
	}
	buf_puts(b, "jsonb_build_array(");
	for (int i = 0; i < cols->n; i++)
		buf_printf(b, "%s%s.\"%s\"", i ? ", " : "", alias, cols->v[i]);
	buf_puts(b, ")::text");
}

static void evidence_cols(struct buf *b, const char *alias, const struct strlist *a, const struct strlist *c)
{
	struct strlist seen = {0};
	const struct strlist *lists[2] = {a, c};

	for (int l = 0; l < 2; l++)
		for (int i = 0; lists[l] && i < lists[l]->n; i++) {
			if (strlist_has(&seen, lists[l]->v[i]))
				continue;
			seen.v = xrealloc(seen.v, sizeof(char *) * (size_t)(seen.n + 1));
			seen.v[seen.n++] = lists[l]->v[i];
			buf_printf(b, ", '%s', %s.\"%s\"", lists[l]->v[i], alias, lists[l]->v[i]);
		}
	free(seen.v); /* borrowed strings */
}

/* t."column", or what stands for its absence */
static void column_or(struct buf *o, const char *col, const char *none)
{
	if (col)
		buf_printf(o, "t.\"%s\"", col);
	else
		buf_puts(o, none);
}

/* What every kind reading one table begins with: SELECT key, subject,
 * department, level, and the evidence object up to its first fields. The
 * subject and department of aggregate and frequency rules are expressions
 * over the group; of the others, columns of t (statistical rules have no
 * department). */
static void select_head(const struct qf_rule *r, const struct bound *b, struct buf *o)
{
	const char *lvl = b->level ? b->level : "NULL";

	buf_puts(o, "SELECT ");
	key_expr(o, "t", &r->key);
	if (r->kind == QF_RULE_AGGREGATE || r->kind == QF_RULE_FREQUENCY) {
		buf_printf(o, " AS key, (%s) AS subject, (%s) AS department, (%s) AS level,\n",
			   b->subject ? b->subject : "NULL", b->department ? b->department : "NULL", lvl);
	} else {
		buf_puts(o, " AS key, ");
		column_or(o, r->subject, "NULL");
		buf_puts(o, " AS subject, ");
		column_or(o, r->department, r->kind == QF_RULE_STATISTICAL ? "NULL::text" : "NULL");
		buf_printf(o, " AS department, (%s) AS level,\n", lvl);
	}
	buf_printf(o, "       jsonb_build_object('table', '%s'", r->table);
}

static void since_filter(struct qf_rule *r, const struct bound *b, struct buf *o, const char *alias, struct diag *d)
{
	if (!r->time_col)
		return;
	char *since = rule_bind(r, ":since", "time", b->mode, d);
	/* without --since every row counts, also one whose time is still NULL
	 * (a payment approved but not yet paid) */
	buf_printf(o, "\n  AND (%s = '-infinity' OR %s.\"%s\" >= %s)", since ? since : "'-infinity'", alias, r->time_col,
		   since ? since : "'-infinity'");
	free(since);
}

/* A named parameter bound for a kind that needs it, or NULL when the rule
 * has none (the kind reports that). */
static char *param_ref(struct qf_rule *r, const struct bound *b, const char *name, const char *what, struct diag *d)
{
	char ref[72];

	if (!rule_param(r, name))
		return NULL;
	snprintf(ref, sizeof ref, ":%s", name);
	return rule_bind(r, ref, what, b->mode, d);
}

static void compile_match(struct qf_rule *r, const struct bound *b, struct buf *o, struct diag *d)
{
	select_head(r, b, o);
	evidence_cols(o, "t", &r->key, &r->evidence);
	buf_printf(o, ") AS evidence\nFROM records.\"%s\" AS t\nWHERE (\n%s\n)", table_name(r->table), b->where);
	since_filter(r, b, o, "t", d);
	if (b->delta)
		buf_printf(o, "\n  AND %s", b->delta);
}

static void compile_sql(struct qf_rule *r, const struct bound *b, struct buf *o, struct diag *d)
{
	(void)r;
	(void)d;
	buf_puts(o, b->sql);
}

/* aggregate and frequency: the evidence's select expressions, the table
 * and the rule's where */
static void group_from(const struct qf_rule *r, const struct bound *b, struct buf *o)
{
	for (int i = 0; i < r->nselect; i++)
		buf_printf(o, ", '%s', (%s)", r->select[i].name, b->select[i]);
	buf_printf(o, ") AS evidence\nFROM records.\"%s\" AS t\nWHERE (\n%s\n)", table_name(r->table),
		   b->where ? b->where : "true");
}

/* aggregate and frequency: groups of non-NULL key columns */
static void group_by(const struct qf_rule *r, struct buf *o)
{
	for (int i = 0; i < r->key.n; i++)
		buf_printf(o, "\n  AND t.\"%s\" IS NOT NULL", r->key.v[i]);
	buf_puts(o, "\nGROUP BY ");
	for (int i = 0; i < r->key.n; i++)
		buf_printf(o, "%st.\"%s\"", i ? ", " : "", r->key.v[i]);
}

static void compile_aggregate(struct qf_rule *r, const struct bound *b, struct buf *o, struct diag *d)
{
	select_head(r, b, o);
	evidence_cols(o, "t", &r->key, NULL);
	buf_puts(o, ", 'count', count(*)");
	group_from(r, b, o);
	since_filter(r, b, o, "t", d);
	group_by(r, o);
	buf_printf(o, "\nHAVING (\n%s\n)", b->having);
}

static void compile_frequency(struct qf_rule *r, const struct bound *b, struct buf *o, struct diag *d)
{
	select_head(r, b, o);
	evidence_cols(o, "t", &r->key, NULL);
	buf_puts(o, ", 'count', count(*)");
	buf_printf(o, ", 'first', min(t.\"%s\"), 'last', max(t.\"%s\"), 'window_days', %s", r->time_col, r->time_col,
		   b->window);
	group_from(r, b, o);
	char *now = rule_bind(r, ":now", "window", b->mode, d);
	buf_printf(o, "\n  AND t.\"%s\" > %s - (%s) * interval '1 day' AND t.\"%s\" <= %s", r->time_col,
		   now ? now : "now()", b->window, r->time_col, now ? now : "now()");
	free(now);
	group_by(r, o);
	buf_printf(o, "\nHAVING count(*) >= (%s)", b->threshold);
}

static void compile_duplicate(struct qf_rule *r, const struct bound *b, struct buf *o, struct diag *d)
{
	select_head(r, b, o);
	evidence_cols(o, "t", &r->key, &r->same);
	evidence_cols(o, "t", &r->evidence, NULL);
	buf_printf(o, ", 'duplicate_of', o.k) AS evidence\nFROM records.\"%s\" AS t\n", table_name(r->table));
	buf_puts(o, "JOIN LATERAL (SELECT ");
	key_expr(o, "o", &r->key);
	buf_printf(o, " AS k FROM records.\"%s\" AS o\n  WHERE ", table_name(r->table));
	for (int i = 0; i < r->same.n; i++)
		buf_printf(o, "%so.\"%s\" = t.\"%s\"", i ? " AND " : "", r->same.v[i], r->same.v[i]);
	if (r->differ)
		buf_printf(o, " AND o.\"%s\" IS DISTINCT FROM t.\"%s\"", r->differ, r->differ);
	/* only the later of two rows is flagged, pointing at the earlier */
	buf_printf(o, "\n    AND (o.\"%s\"", r->order_col);
	for (int i = 0; i < r->key.n; i++)
		buf_printf(o, ", o.\"%s\"", r->key.v[i]);
	buf_printf(o, ") < (t.\"%s\"", r->order_col);
	for (int i = 0; i < r->key.n; i++)
		buf_printf(o, ", t.\"%s\"", r->key.v[i]);
	buf_printf(o, ")\n  ORDER BY o.\"%s\" LIMIT 1) AS o ON true\nWHERE (\n%s\n)", r->order_col,
		   b->where ? b->where : "true");
	for (int i = 0; i < r->same.n; i++)
		buf_printf(o, "\n  AND t.\"%s\" IS NOT NULL", r->same.v[i]);
	since_filter(r, b, o, "t", d);
}

static void compile_absence(struct qf_rule *r, const struct bound *b, struct buf *o, struct diag *d)
{
	const char *lvl = b->level ? b->level : "NULL";
	char *now = rule_bind(r, ":now", "absence", b->mode, d);
	char *lookback = param_ref(r, b, "lookback", "absence", d);
	const char *unit = !strcmp(r->period, "year") ? "year" : "quarter";
	const char *step = !strcmp(r->period, "year") ? "1 year" : "3 months"; /* no "1 quarter" interval */
	const char *label = !strcmp(r->period, "year") ? "to_char(g.s, 'YYYY')" : "to_char(g.s, 'YYYY-\"Q\"Q')";
	struct buf dl;

	buf_init(&dl);
	if (!strcmp(r->deadline, "end"))
		buf_printf(&dl, "(g.s + interval '%s' - interval '1 day')::date", step);
	else
		buf_printf(&dl, "make_date(extract(year FROM g.s)::int, %d, %d)", atoi(r->deadline),
			   atoi(r->deadline + 3));
	if (!lookback)
		diag_error(d, r->file, r->line, "rule %s: absence needs params = { lookback = YEARS; }", r->id);
	buf_printf(o,
		   "SELECT jsonb_build_array(p.person_id, pr.label)::text AS key, p.person_id AS subject,\n"
		   "       p.department AS department, (%s) AS level,\n"
		   "       jsonb_build_object('table', '%s', 'person_id', p.person_id, 'name', p.name,\n"
		   "                          'period', pr.label, 'deadline', pr.deadline) AS evidence\n"
		   "FROM records.person AS p\n"
		   "CROSS JOIN LATERAL (\n"
		   "  SELECT %s AS label, g.s::date AS pstart, %s AS deadline\n"
		   "    FROM generate_series(date_trunc('%s', greatest(p.post_since, (%s)::date - make_interval(years => (%s)::int))),\n"
		   "                         (%s)::date, interval '%s') AS g(s)\n"
		   ") AS pr\n"
		   "WHERE (\n%s\n)\n"
		   "  AND pr.deadline < (%s)::date\n"
		   "  AND pr.deadline >= greatest(p.post_since, (%s)::date - make_interval(years => (%s)::int))\n"
		   "  AND NOT EXISTS (SELECT 1 FROM records.\"%s\" AS e\n"
		   "                   WHERE e.person_id = p.person_id AND e.\"%s\" = pr.label\n"
		   "                     AND e.\"%s\"::date <= pr.deadline",
		   lvl, r->expect_table, label, dl.data, unit, now ? now : "now()", lookback ? lookback : "2",
		   now ? now : "now()", step, b->pop, now ? now : "now()", now ? now : "now()",
		   lookback ? lookback : "2", table_name(r->expect_table), r->expect_period, r->expect_done);
	/* "within": a record done before the period began does not count */
	if (r->expect_within)
		buf_printf(o, "\n                     AND e.\"%s\"::date >= pr.pstart", r->expect_done);
	if (b->ewhere)
		buf_printf(o, "\n                     AND (%s)", b->ewhere);
	buf_puts(o, ")");
	buf_free(&dl);
	free(now);
	free(lookback);
}

/* Benford: the first-digit shares of each group's values against
 * log10(1 + 1/d), as a mean absolute deviation */
static void compile_benford(struct qf_rule *r, const struct bound *b, struct buf *o, struct diag *d)
{
	const char *lvl = b->level ? b->level : "NULL";
	char *min_n = param_ref(r, b, "min_n", "benford", d);
	char *mad = param_ref(r, b, "mad", "benford", d);

	if (!min_n || !mad)
		diag_error(d, r->file, r->line, "rule %s: benford needs params min_n and mad", r->id);
	buf_puts(o, "WITH v AS (SELECT ");
	key_expr(o, "t", &r->key);
	buf_printf(o, " AS g, substr(trunc(abs(t.\"%s\"))::text, 1, 1)::int AS d\n"
		      "             FROM records.\"%s\" AS t WHERE (%s) AND abs(t.\"%s\") >= 10",
		   r->value_col, table_name(r->table), b->where ? b->where : "true", r->value_col);
	for (int i = 0; i < r->key.n; i++)
		buf_printf(o, " AND t.\"%s\" IS NOT NULL", r->key.v[i]);
	since_filter(r, b, o, "t", d);
	buf_printf(o, "),\n"
		      "     n AS (SELECT g, count(*) AS n FROM v GROUP BY g HAVING count(*) >= (%s)),\n"
		      "     c AS (SELECT n.g, n.n, dg.d, count(v.d) AS cnt FROM n CROSS JOIN generate_series(1, 9) AS dg(d)\n"
		      "             LEFT JOIN v ON v.g = n.g AND v.d = dg.d GROUP BY n.g, n.n, dg.d),\n"
		      "     m AS (SELECT g, n, avg(abs(cnt::numeric / n - log(1 + 1.0 / d))) AS mad,\n"
		      "                  jsonb_object_agg(d::text, round(cnt::numeric / n, 4) ORDER BY d) AS shares\n"
		      "             FROM c GROUP BY g, n)\n"
		      "SELECT g AS key, NULL::text AS subject, NULL::text AS department, (%s) AS level,\n"
		      "       jsonb_build_object('table', '%s', '%s', g, 'n', n, 'mad', round(mad, 5),\n"
		      "                          'first_digit_shares', shares) AS evidence\n"
		      "FROM m WHERE mad > (%s)",
		   min_n ? min_n : "300", lvl, r->table, r->key.v[0], mad ? mad : "0.015");
	free(min_n);
	free(mad);
}

/* z-score: rows whose value lies far from their group's mean */
static void compile_zscore(struct qf_rule *r, const struct bound *b, struct buf *o, struct diag *d)
{
	char *min_n = param_ref(r, b, "min_n", "zscore", d);
	char *z = param_ref(r, b, "z", "zscore", d);

	if (!min_n || !z)
		diag_error(d, r->file, r->line, "rule %s: zscore needs params min_n and z", r->id);
	select_head(r, b, o);
	evidence_cols(o, "t", &r->key, &r->group);
	evidence_cols(o, "t", &r->evidence, NULL);
	buf_printf(o, ", '%s', t.\"%s\", 'mean', round(t.qf_mean, 2), 'stddev', round(t.qf_sd, 2),"
		      " 'z', round(zz.z, 2)) AS evidence\n",
		   r->value_col, r->value_col);
	buf_printf(o, "FROM (SELECT t.*, avg(t.\"%s\") OVER w AS qf_mean, stddev_pop(t.\"%s\") OVER w AS qf_sd,"
		      " count(*) OVER w AS qf_n\n"
		      "        FROM records.\"%s\" AS t WHERE (%s) AND t.\"%s\" IS NOT NULL",
		   r->value_col, r->value_col, table_name(r->table), b->where ? b->where : "true", r->value_col);
	since_filter(r, b, o, "t", d);
	buf_puts(o, "\n      WINDOW w AS (PARTITION BY ");
	for (int i = 0; i < r->group.n; i++)
		buf_printf(o, "%st.\"%s\"", i ? ", " : "", r->group.v[i]);
	buf_printf(o, ")) AS t\nCROSS JOIN LATERAL (SELECT (t.\"%s\" - t.qf_mean) / nullif(t.qf_sd, 0) AS z) AS zz\n"
		      "WHERE t.qf_n >= (%s) AND abs(zz.z) > (%s)",
		   r->value_col, min_n ? min_n : "30", z ? z : "3");
	free(min_n);
	free(z);
}

static void compile_statistical(struct qf_rule *r, const struct bound *b, struct buf *o, struct diag *d)
{
	if (!strcmp(r->method, "benford"))
		compile_benford(r, b, o, d);
	else
		compile_zscore(r, b, o, d);
}

typedef void compile_fn(struct qf_rule *r, const struct bound *b, struct buf *o, struct diag *d);

static compile_fn *const compilers[] = {
	[QF_RULE_MATCH] = compile_match,	 [QF_RULE_SQL] = compile_sql,
	[QF_RULE_AGGREGATE] = compile_aggregate, [QF_RULE_FREQUENCY] = compile_frequency,
	[QF_RULE_DUPLICATE] = compile_duplicate, [QF_RULE_ABSENCE] = compile_absence,
	[QF_RULE_STATISTICAL] = compile_statistical,
};

/* every kind yields (key, subject, department, level, evidence); the
 * wrapper adds the subject's department when the rule gives none, the
 * evidence as text for messages (numerics keep their digits) and the
 * rule's exceptions */
static char *wrap(struct qf_rule *r, const struct bound *b, struct diag *d)
{
	struct buf o;
	buf_init(&o);
	buf_puts(&o, "SELECT r.key::text, r.subject::text,\n"
		     "       coalesce(r.department::text, (SELECT p.department FROM records.person p"
		     " WHERE p.person_id = r.subject::text)),\n"
		     "       r.level::text, r.evidence::text,\n"
		     "       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb)"
		     " FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text\n"
		     "FROM (\n");
	compilers[r->kind](r, b, &o, d);
	/* a hit whose finding already has this evidence is no news: it stays
	 * in the server, so a full pass costs memory only for what changed
	 * (the dry run sets the flag false and sees every hit). One index
	 * probe per hit (LATERAL ... LIMIT 1): a NOT EXISTS would let a
	 * prepared statement's generic plan hash every finding of the rule,
	 * a cost growing with its history. */
	int known = rule_add_value(r, NULL, BUILTIN_KNOWN);
	int rid = rule_add_value(r, r->id, BUILTIN_NONE);
	buf_printf(&o,
		   "\n) AS r\nLEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o"
		   " WHERE $%d::boolean AND o.rule_id = $%d AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true"
		   "\nWHERE r.key IS NOT NULL"
		   "\n  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)",
		   known, rid);
	for (int i = 0; i < r->nexceptions; i++) {
		const struct qf_exception *e = &r->exceptions[i];
		buf_puts(&o, "\n  AND NOT (");
		for (int j = 0; j < e->nfields; j++) {
			int idx = rule_add_value(r, e->fields[j].value, BUILTIN_NONE);
			if (!rule_is_ident(e->fields[j].name))
				diag_error(d, e->file, e->fields[j].line, "rule %s: exception field '%s' is not a name",
					   r->id, e->fields[j].name);
			buf_printf(&o, "r.evidence::jsonb->>'%s' IS NOT DISTINCT FROM $%d AND ",
				   rule_is_ident(e->fields[j].name) ? e->fields[j].name : "?", idx);
		}
		int now = rule_add_value(r, NULL, BUILTIN_NOW);
		int until = rule_add_value(r, e->until, BUILTIN_NONE);
		buf_printf(&o, "$%d::timestamptz < $%d::timestamptz)", now, until);
	}
	buf_puts(&o, "\nORDER BY 1");
	return buf_steal(&o);
}

/* Binds every fragment of the rule for one statement; false if one had a
 * problem (in d). */
static bool bind_all(struct qf_rule *r, struct bound *b, enum bind_mode mode, struct diag *d)
{
	int errs = d->errors;

	b->mode = mode;
	if (r->where)
		b->where = rule_bind(r, r->where, "where", mode, d);
	if (r->level_expr)
		b->level = rule_bind(r, r->level_expr, "level_expr", mode, d);
	if (r->kind == QF_RULE_AGGREGATE || r->kind == QF_RULE_FREQUENCY) {
		if (r->subject)
			b->subject = rule_bind(r, r->subject, "subject", mode, d);
		if (r->department)
			b->department = rule_bind(r, r->department, "department", mode, d);
		b->select = xcalloc((size_t)r->nselect + 1, sizeof(char *));
		for (int i = 0; i < r->nselect; i++)
			b->select[i] = rule_bind(r, r->select[i].expr, "select", mode, d);
	}
	if (r->having)
		b->having = rule_bind(r, r->having, "having", mode, d);
	if (r->sql)
		b->sql = rule_bind(r, r->sql, "sql", mode, d);
	if (r->pop_where)
		b->pop = rule_bind(r, r->pop_where, "population", mode, d);
	if (r->expect_where)
		b->ewhere = rule_bind(r, r->expect_where, "expect.where", mode, d);
	if (r->window)
		b->window = rule_bind(r, r->window, "window", mode, d);
	if (r->threshold)
		b->threshold = rule_bind(r, r->threshold, "threshold", mode, d);
	return d->errors == errs;
}

/* The incremental statement: the same fragments bound again for a
 * non-NULL cursor (their problems were reported with the full statement,
 * so a scratch diag takes the repeats); a match rule (ck, its table's
 * capture key) also reads only the changed rows. */
static void compile_delta(struct qf_rule *r, const char *ck)
{
	struct bound db = {0};
	struct diag scratch;
	char cond[1280];

	diag_init(&scratch);
	bool ok = bind_all(r, &db, BIND_DELTA, &scratch);
	if (ok && ck) {
		int cur = rule_add_value(r, NULL, BUILTIN_CURSOR);
		snprintf(cond, sizeof cond,
			 "t.\"%s\"::text = ANY(ARRAY(SELECT unnest(c.keys) FROM qf.change_log c"
			 " WHERE c.tbl = '%s' AND c.xid >= $%d::xid8 AND " QF_LANE_COND("c.keys") " AND " QF_SEEN_COND(
				 "c.xid") "))",
			 ck, table_name(r->table), cur);
		db.delta = cond;
	}
	if (ok)
		r->compiled_delta = wrap(r, &db, &scratch);
	bound_free(&db, r->nselect);
	diag_free(&scratch);
}

/* the records tables the statement reads, from the statement itself */
static void find_deps(struct qf_rule *r)
{
	for (const char *p = r->compiled; (p = strstr(p, "records.")) != NULL;) {
		char name[64];
		size_t n = 0;
		p += 8;
		if (*p == '"')
			p++;
		while (n < sizeof name - 1 && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			name[n++] = *p++;
		name[n] = '\0';
		if (n && capture_key(name) && !strlist_has(&r->deps, name)) {
			r->deps.v = xrealloc(r->deps.v, sizeof(char *) * (size_t)(r->deps.n + 1));
			r->deps.v[r->deps.n++] = xstrdup(name);
		}
	}
}

static void rule_hash(struct qf_rule *r)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct buf b;

	buf_init(&b);
	/* the compiled statement carries the logic, the values the parameters;
	 * \x1f separates fields so no two different rules share a text */
	buf_printf(&b, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", r->id, r->compiled,
		   r->supervision, r->risk, r->duty, r->title_zh, r->title_en, r->message_zh, r->message_en,
		   level_name(r->level), r->enabled ? "on" : "off");
	for (int i = 0; i < r->nvalues; i++)
		buf_printf(&b, "\x1fv%d=%s", r->builtin[i], r->values[i] ? r->values[i] : "");
	EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 8; i++)
		snprintf(r->version + 2 * i, 3, "%02x", md[i]);
	buf_free(&b);
}

void rule_compile(struct qf_rule *r, struct diag *d)
{
	struct bound b = {0};

	if (!bind_all(r, &b, BIND_FULL, d)) {
		bound_free(&b, r->nselect);
		return;
	}
	r->compiled = wrap(r, &b, d);
	r->nvalues_full = r->nvalues;
	/* a match rule re-reads only the rows changed since its cursor: cost
	 * grows with the change, not with the table */
	const char *ck = r->kind == QF_RULE_MATCH ? capture_key(table_name(r->table)) : NULL;
	if (ck || r->changed_aware)
		compile_delta(r, ck);
	for (int i = 0; i < r->nvalues; i++)
		r->clock |= r->builtin[i] == BUILTIN_NOW;
	find_deps(r);
	bound_free(&b, r->nselect);
	rule_hash(r);
}
