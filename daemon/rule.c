/* Rule files → validated rules, merged with the deployment's overrides,
 * then compiled (rule_compile.c) to one parameterised SQL statement each.
 *
 * Every setting is checked here, each problem reported at its FILE:LINE.
 * Identifiers (table, columns) must match a strict pattern, so the
 * compiler can quote them; values never enter SQL text: a rule's `where`
 * refers to its parameters as :name, compiled to $n (rule_bind.c) and
 * bound with PQexecParams. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgutil.h"
#include "rule_int.h"

static const char *const supervisions[] = {"technical", "financial", "disciplinary", NULL};
static const char *const risks[] = {"technical", "non-technical", NULL};
static const char *const duties[] = {"primary", "supervisory", "dual-duty", "impartiality", NULL};

bool rule_is_ident(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static bool is_rule_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static bool one_of(const char *v, const char *const *set)
{
	for (int i = 0; set[i]; i++)
		if (!strcmp(set[i], v))
			return true;
	return false;
}

/* A required string from a fixed vocabulary. */
static char *vocab(struct cfgctx *cx, const config_setting_t *s, const char *name, const char *const *set)
{
	const char *v;

	if (!cfg_string(cx, s, name, true, &v))
		return NULL;
	if (!one_of(v, set)) {
		struct buf b;
		buf_init(&b);
		for (int i = 0; set[i]; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", set[i]);
		cfg_error(cx, config_setting_get_member(s, name), "%s must be one of %s, not '%s'", name, b.data, v);
		buf_free(&b);
		return NULL;
	}
	return xstrdup(v);
}

static void bilingual(struct cfgctx *cx, const config_setting_t *s, const char *name, char **zh, char **en)
{
	static const char *const keys[] = {"zh", "en", NULL};
	const config_setting_t *g = config_setting_get_member(s, name);
	const char *v;

	if (!g) {
		cfg_error(cx, s, "missing required setting '%s' = { zh = \"...\"; en = \"...\"; }", name);
		return;
	}
	if (!config_setting_is_group(g)) {
		cfg_error(cx, g, "'%s' must be a group { zh = \"...\"; en = \"...\"; }", name);
		return;
	}
	cfg_check_keys(cx, g, keys, name);
	if (cfg_string(cx, g, "zh", true, &v))
		*zh = xstrdup(v);
	if (cfg_string(cx, g, "en", true, &v))
		*en = xstrdup(v);
}

static char *ident(struct cfgctx *cx, const config_setting_t *s, const char *name, bool required)
{
	const char *v;

	if (!cfg_string(cx, s, name, required, &v))
		return NULL;
	if (!rule_is_ident(v)) {
		cfg_error(cx, config_setting_get_member(s, name),
			  "%s '%s' is not a column name (lower-case letters, digits, '_')", name, v);
		return NULL;
	}
	return xstrdup(v);
}

static void ident_list(struct cfgctx *cx, const config_setting_t *s, const char *name, struct strlist *out)
{
	cfg_strlist(cx, s, name, NULL, out);
	for (int i = 0; i < out->n; i++)
		if (!rule_is_ident(out->v[i]))
			cfg_error(cx, config_setting_get_member(s, name), "%s '%s' is not a column name", name,
				  out->v[i]);
}

/* must agree with qf.capture in sql/004_capture.sql (tests/t/86-incremental.t checks) */
static const char *const capture_map[][2] = {
	{"person", "person_id"},	   {"relative", "person_id"},	    {"counterparty", "party_id"},
	{"coi_declaration", "person_id"},  {"workday", "day"},		    {"test_task", "task_id"},
	{"test_result", "result_id"},	   {"oos_investigation", "task_id"}, {"report_amendment", "task_id"},
	{"audit_trail", "event_id"},	   {"equipment", "equipment_id"},   {"equipment_use", "task_id"},
	{"signatory", "person_id"},	   {"method_norm", "method"},	    {"purchase_order", "po_id"},
	{"payment", "payment_id"},	   {"reimbursement", "claim_id"},   {"leave", "person_id"},
	{"fee_discount", "discount_id"},   {"gift", "gift_id"},		    {"hospitality", "hospitality_id"},
	{"complaint", "complaint_id"},	   {"duty_record", "person_id"},    {"reception", "reception_id"},
	/* the optional tables of RULES-LAB.md (sql/018_lab_tables.sql) */
	{"accreditation", "lab"},	   {"standard_status", "method"},   {"subcontract", "task_id"},
	{"sampling", "sampling_id"},	   {"retained_sample", "sample_id"}, {"report_issue", "task_id"},
	{"impartiality_declaration", "person_id"}, {"fee_schedule", "method"}, {"task_invoice", "task_id"},
};

const char *capture_key(const char *table)
{
	for (size_t i = 0; i < sizeof capture_map / sizeof capture_map[0]; i++)
		if (!strcmp(capture_map[i][0], table))
			return capture_map[i][1];
	return NULL;
}

static void parse_params(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r)
{
	const config_setting_t *g = config_setting_get_member(s, "params");

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg_error(cx, g, "params must be a group { name = value; ... }");
		return;
	}
	int n = config_setting_length(g);
	r->params = xcalloc((size_t)n, sizeof *r->params);
	for (int i = 0; i < n; i++) {
		const config_setting_t *p = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(p);
		struct qf_param *q = &r->params[r->nparams];
		if (!rule_is_ident(name)) {
			cfg_error(cx, p, "parameter name '%s' must be lower-case letters, digits, '_'", name);
			continue;
		}
		if (!strcmp(name, "now") || !strcmp(name, "since")) {
			cfg_error(cx, p, "'%s' is a built-in parameter and cannot be declared", name);
			continue;
		}
		if (cfg_scalar_text(cx, p, &q->value, &q->numeric)) {
			q->name = xstrdup(name);
			q->line = config_setting_source_line(p);
			r->nparams++;
		}
	}
}

/* A string setting copied, or NULL when absent. */
static char *opt_str(struct cfgctx *cx, const config_setting_t *s, const char *name, bool required)
{
	const char *v;

	if (!cfg_string(cx, s, name, required, &v))
		return NULL;
	if (!*v) {
		cfg_error(cx, config_setting_get_member(s, name), "'%s' is empty", name);
		return NULL;
	}
	return xstrdup(v);
}

static void parse_select(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r)
{
	const config_setting_t *g = config_setting_get_member(s, "select");

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg_error(cx, g, "select must be a group { name = \"SQL expression\"; ... }");
		return;
	}
	int n = config_setting_length(g);
	r->select = xcalloc((size_t)n, sizeof *r->select);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		if (!rule_is_ident(config_setting_name(e)) || config_setting_type(e) != CONFIG_TYPE_STRING) {
			cfg_error(cx, e, "select.%s must be a column-like name = \"SQL expression\"", config_setting_name(e));
			continue;
		}
		r->select[r->nselect].name = xstrdup(config_setting_name(e));
		r->select[r->nselect++].expr = xstrdup(config_setting_get_string(e));
	}
}

static void forbid(struct cfgctx *cx, const config_setting_t *s, const char *kind, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (config_setting_get_member(s, names[i]))
			cfg_error(cx, config_setting_get_member(s, names[i]), "'%s' is not a setting of kind %s", names[i],
				  kind);
}

static void parse_table(struct cfgctx *cx, const config_setting_t *s, const char *name, char **out)
{
	const char *v;

	if (!cfg_string(cx, s, name, true, &v))
		return;
	const char *dot = strchr(v, '.');
	char schema[64] = "", tname[64] = "";
	if (dot && (size_t)(dot - v) < sizeof schema) {
		memcpy(schema, v, (size_t)(dot - v));
		snprintf(tname, sizeof tname, "%s", dot + 1);
	}
	if (!dot || strcmp(schema, "records") || !rule_is_ident(tname))
		cfg_error(cx, config_setting_get_member(s, name),
			  "%s '%s' must be a table of the records schema, e.g. \"records.payment\"", name, v);
	else
		*out = xstrdup(v);
}

/* Each kind's settings. A parser returns the setting whose line a
 * fragment's problems are reported at (where_line). */
typedef const config_setting_t *parse_kind_fn(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r,
					      const char *kind);

/* table and its key columns, which every kind over one table needs */
static void parse_table_key(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r, const char *missing)
{
	parse_table(cx, s, "table", &r->table);
	if (!config_setting_get_member(s, "key"))
		cfg_error(cx, s, "%s", missing);
	ident_list(cx, s, "key", &r->key);
}

static const config_setting_t *parse_match(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r,
					   const char *kind)
{
	static const char *const no[] = {"sql", "having", "select", "window", "threshold", "same", "differ",
					 "order", "method", "value", "group", "period", "deadline",
					 "population", "expect", NULL};

	forbid(cx, s, kind, no);
	parse_table_key(cx, s, r, "missing required setting 'key'");
	r->subject = ident(cx, s, "subject", false);
	r->department = ident(cx, s, "department", false);
	r->where = opt_str(cx, s, "where", true);
	r->time_col = ident(cx, s, "time", false);
	return config_setting_get_member(s, "where");
}

static const config_setting_t *parse_sql(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r,
					 const char *kind)
{
	static const char *const no[] = {"table", "key", "subject", "department", "where", "having",
					 "select", "time", "window", "threshold", "same", "differ",
					 "order", "method", "value", "group", "period", "deadline",
					 "population", "expect", "level_expr", "evidence", NULL};

	forbid(cx, s, kind, no);
	r->sql = opt_str(cx, s, "sql", true);
	return config_setting_get_member(s, "sql");
}

/* what aggregate and frequency rules share: groups of rows of one table */
static void parse_grouped(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r, const char *kind)
{
	static const char *const no[] = {"sql", "same", "differ", "order", "method", "value", "group",
					 "period", "deadline", "population", "expect", "evidence", NULL};

	forbid(cx, s, kind, no);
	parse_table_key(cx, s, r, "missing required setting 'key' (the group columns)");
	r->subject = opt_str(cx, s, "subject", false);
	r->department = opt_str(cx, s, "department", false);
	r->where = opt_str(cx, s, "where", false);
	parse_select(cx, s, r);
}

static const config_setting_t *parse_aggregate(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r,
					       const char *kind)
{
	parse_grouped(cx, s, r, kind);
	r->having = opt_str(cx, s, "having", true);
	r->time_col = ident(cx, s, "time", false);
	return config_setting_get_member(s, "having");
}

static const config_setting_t *parse_frequency(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r,
					       const char *kind)
{
	parse_grouped(cx, s, r, kind);
	if (config_setting_get_member(s, "having"))
		cfg_error(cx, config_setting_get_member(s, "having"),
			  "kind frequency counts rows: use threshold, not having");
	r->time_col = ident(cx, s, "time", true);
	r->window = opt_str(cx, s, "window", true);
	r->threshold = opt_str(cx, s, "threshold", true);
	return config_setting_get_member(s, "threshold");
}

static const config_setting_t *parse_duplicate(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r,
					       const char *kind)
{
	static const char *const no[] = {"sql", "having", "select", "window", "threshold", "method", "value",
					 "group", "period", "deadline", "population", "expect", NULL};

	forbid(cx, s, kind, no);
	parse_table_key(cx, s, r, "missing required setting 'key'");
	if (!config_setting_get_member(s, "same"))
		cfg_error(cx, s, "missing required setting 'same' (the columns whose values repeat)");
	ident_list(cx, s, "same", &r->same);
	r->differ = ident(cx, s, "differ", false);
	r->order_col = ident(cx, s, "order", true);
	r->subject = ident(cx, s, "subject", false);
	r->department = ident(cx, s, "department", false);
	r->where = opt_str(cx, s, "where", false);
	r->time_col = ident(cx, s, "time", false);
	return config_setting_get_member(s, "same");
}

static const config_setting_t *parse_absence(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r,
					     const char *kind)
{
	static const char *const no[] = {"sql", "table", "key", "subject", "department", "where", "having",
					 "select", "time", "window", "threshold", "same", "differ",
					 "order", "method", "value", "group", NULL};
	static const char *const ekeys[] = {"table", "where", "period", "done", "within", NULL};

	forbid(cx, s, kind, no);
	r->period = opt_str(cx, s, "period", true);
	if (r->period && strcmp(r->period, "year") && strcmp(r->period, "quarter"))
		cfg_error(cx, config_setting_get_member(s, "period"), "period must be \"year\" or \"quarter\"");
	r->deadline = opt_str(cx, s, "deadline", true);
	int mm = 0, dd = 0;
	if (r->deadline && strcmp(r->deadline, "end") &&
	    (sscanf(r->deadline, "%2d-%2d", &mm, &dd) != 2 || mm < 1 || mm > 12 || dd < 1 || dd > 31 ||
	     strlen(r->deadline) != 5))
		cfg_error(cx, config_setting_get_member(s, "deadline"),
			  "deadline must be \"MM-DD\" (in the period's year) or \"end\" (the period's last day)");
	r->pop_where = opt_str(cx, s, "population", true);
	const config_setting_t *e = config_setting_get_member(s, "expect");
	if (!e || !config_setting_is_group(e)) {
		cfg_error(cx, e ? e : s, "absence needs expect = { table = ...; period = ...; done = ...; }");
	} else {
		cfg_check_keys(cx, e, ekeys, "expect");
		parse_table(cx, e, "table", &r->expect_table);
		r->expect_where = opt_str(cx, e, "where", false);
		r->expect_period = ident(cx, e, "period", true);
		r->expect_done = ident(cx, e, "done", true);
		cfg_bool(cx, e, "within", false, &r->expect_within);
	}
	return config_setting_get_member(s, "population");
}

static const config_setting_t *parse_statistical(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r,
						 const char *kind)
{
	static const char *const no[] = {"sql", "having", "select", "window", "threshold", "same", "differ",
					 "order", "period", "deadline", "population", "expect", "department",
					 NULL};

	forbid(cx, s, kind, no);
	r->method = opt_str(cx, s, "method", true);
	parse_table_key(cx, s, r, "missing required setting 'key'");
	r->value_col = ident(cx, s, "value", true);
	r->where = opt_str(cx, s, "where", false);
	r->time_col = ident(cx, s, "time", false);
	r->subject = ident(cx, s, "subject", false);
	if (r->method && !strcmp(r->method, "zscore")) {
		if (!config_setting_get_member(s, "group"))
			cfg_error(cx, s, "method zscore needs group = [ ... ] (the comparison group)");
		ident_list(cx, s, "group", &r->group);
	} else if (r->method && !strcmp(r->method, "benford")) {
		forbid(cx, s, kind, (const char *const[]){"group", "subject", NULL});
	} else if (r->method) {
		cfg_error(cx, config_setting_get_member(s, "method"), "method must be \"benford\" or \"zscore\", not '%s'",
			  r->method);
	}
	return config_setting_get_member(s, "value");
}

static const struct {
	const char *name;
	enum qf_rule_kind kind;
	parse_kind_fn *parse;
} kinds[] = {
	{"match", QF_RULE_MATCH, parse_match},		   {"sql", QF_RULE_SQL, parse_sql},
	{"aggregate", QF_RULE_AGGREGATE, parse_aggregate}, {"frequency", QF_RULE_FREQUENCY, parse_frequency},
	{"duplicate", QF_RULE_DUPLICATE, parse_duplicate}, {"absence", QF_RULE_ABSENCE, parse_absence},
	{"statistical", QF_RULE_STATISTICAL, parse_statistical},
};

/* The settings every kind has; false when the rule is not a group. */
static bool parse_common(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r)
{
	static const char *const keys[] = {
		"id",	     "title",	  "description", "supervision", "risk",	     "duty",	 "level",
		"tags",	     "enabled",	  "kind",	 "table",	"key",	     "subject",	 "department",
		"where",     "evidence",  "message",	 "params",	"level_expr", "sql",	 "having",
		"select",    "time",	  "window",	 "threshold",	"same",	     "differ",	 "order",
		"method",    "value",	  "group",	 "period",	"deadline",  "population", "expect",
		"exceptions", NULL};
	const char *v;

	r->file = cfg_file(cx, s);
	r->line = config_setting_source_line(s);
	r->enabled = true;
	if (!config_setting_is_group(s)) {
		cfg_error(cx, s, "a rule must be a group { id = \"...\"; ... }");
		return false;
	}
	cfg_check_keys(cx, s, keys, "rule");
	if (cfg_string(cx, s, "id", true, &v)) {
		if (!is_rule_id(v))
			cfg_error(cx, config_setting_get_member(s, "id"),
				  "rule id '%s' must start with a letter and have only letters, digits, '_', '-'", v);
		r->id = xstrdup(v);
	}
	bilingual(cx, s, "title", &r->title_zh, &r->title_en);
	(void)cfg_string(cx, s, "description", false, &v); /* for people, not the engine */
	r->supervision = vocab(cx, s, "supervision", supervisions);
	r->risk = vocab(cx, s, "risk", risks);
	r->duty = vocab(cx, s, "duty", duties);
	if (cfg_string(cx, s, "level", true, &v)) {
		r->level = level_parse(v);
		if (!r->level)
			cfg_error(cx, config_setting_get_member(s, "level"),
				  "level must be yellow, orange or red, not '%s'", v);
	}
	cfg_strlist(cx, s, "tags", NULL, &r->tags);
	cfg_bool(cx, s, "enabled", false, &r->enabled);
	bilingual(cx, s, "message", &r->message_zh, &r->message_en);
	parse_params(cx, s, r);
	r->level_expr = opt_str(cx, s, "level_expr", false);
	ident_list(cx, s, "evidence", &r->evidence);
	const config_setting_t *ex = config_setting_get_member(s, "exceptions");
	if (ex)
		cfg_exceptions(cx, ex, &r->exceptions, &r->nexceptions);
	return true;
}

static void parse_rule(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r)
{
	const config_setting_t *main_fragment = NULL;
	const char *v;
	size_t k;

	if (!parse_common(cx, s, r) || !cfg_string(cx, s, "kind", true, &v))
		return;
	for (k = 0; k < sizeof kinds / sizeof kinds[0] && strcmp(kinds[k].name, v); k++)
		;
	if (k < sizeof kinds / sizeof kinds[0]) {
		r->kind = kinds[k].kind;
		main_fragment = kinds[k].parse(cx, s, r, v);
	} else {
		cfg_error(cx, config_setting_get_member(s, "kind"),
			  "rule kind '%s' is not supported (match, sql, aggregate, frequency, duplicate, absence, "
			  "statistical)",
			  v);
	}
	r->where_line = main_fragment ? (int)config_setting_source_line(main_fragment) : r->line;
	if (r->key.n + r->evidence.n + r->nselect > 40)
		cfg_error(cx, s, "at most 40 key, evidence and select columns");
}

static void parse_macros(struct cfgctx *cx, const config_setting_t *root, struct qf_named **out, int *n)
{
	const config_setting_t *g = config_setting_get_member(root, "macros");

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg_error(cx, g, "macros must be a group { name = \"SQL fragment\"; ... }");
		return;
	}
	int len = config_setting_length(g);
	*out = xcalloc((size_t)len, sizeof **out);
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		if (!rule_is_ident(config_setting_name(e)) || config_setting_type(e) != CONFIG_TYPE_STRING) {
			cfg_error(cx, e, "macros.%s must be name = \"SQL fragment\"", config_setting_name(e));
			continue;
		}
		(*out)[*n].name = xstrdup(config_setting_name(e));
		(*out)[(*n)++].expr = xstrdup(config_setting_get_string(e));
	}
}

/* Named lists of a file become parameters of each of its rules, bound as
 * array literals: `kind = ANY(:cash_kinds::text[])`. */
static void parse_lists(struct cfgctx *cx, const config_setting_t *root, struct qf_param **out, int *n)
{
	const config_setting_t *g = config_setting_get_member(root, "lists");

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg_error(cx, g, "lists must be a group { name = [ ... ]; ... }");
		return;
	}
	int len = config_setting_length(g);
	*out = xcalloc((size_t)len, sizeof **out);
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		struct qf_param *q = &(*out)[*n];
		if (!rule_is_ident(config_setting_name(e)) || !(config_setting_is_array(e) || config_setting_is_list(e))) {
			cfg_error(cx, e, "lists.%s must be name = [ \"a\", \"b\" ]", config_setting_name(e));
			continue;
		}
		if (cfg_scalar_text(cx, e, &q->value, &q->numeric)) {
			q->name = xstrdup(config_setting_name(e));
			q->line = config_setting_source_line(e);
			(*n)++;
		}
	}
}

int ruleset_load_file(struct qf_ruleset *set, const char *file, struct diag *d)
{
	static const char *const keys[] = {"engine_version", "rules", "lists", "macros", NULL};
	struct qf_named *macros = NULL;
	struct qf_param *lists = NULL;
	int nmacros = 0, nlists = 0;
	int errs = d->errors;
	struct cfgctx cx;
	config_t lc;

	config_init(&lc);
	cfg_ctx_init(&cx, d, file, &set->files);
	if (!cfg_includes_ok(&cx, file))
		goto out; /* libconfig would exit() */
	if (config_read_file(&lc, file) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			diag_error(d, file, 0, "cannot read rule file: %s", strerror(errno ? errno : EIO));
		else
			diag_error(d, config_error_file(&lc) ? config_error_file(&lc) : file, config_error_line(&lc),
				   "%s", config_error_text(&lc));
		goto out;
	}
	const config_setting_t *root = config_root_setting(&lc);
	cfg_check_keys(&cx, root, keys, "a rule file");
	int ev = 0;
	if (!config_setting_get_member(root, "engine_version"))
		cfg_error(&cx, root, "missing required setting 'engine_version' (this engine is version %d)",
			  QF_ENGINE_VERSION);
	else if (cfg_int_range(&cx, root, "engine_version", 1, 1000000, &ev) && ev > QF_ENGINE_VERSION)
		cfg_error(&cx, config_setting_get_member(root, "engine_version"),
			  "rule file needs engine version %d; this qingfeng is version %d", ev, QF_ENGINE_VERSION);
	parse_macros(&cx, root, &macros, &nmacros);
	parse_lists(&cx, root, &lists, &nlists);
	const config_setting_t *rules = config_setting_get_member(root, "rules");
	if (!rules) {
		cfg_error(&cx, root, "missing required setting 'rules' = ( { ... } )");
	} else if (!config_setting_is_list(rules)) {
		cfg_error(&cx, rules, "rules must be a list ( { ... }, { ... } )");
	} else {
		int n = config_setting_length(rules);
		set->rules = xrealloc(set->rules, sizeof *set->rules * (size_t)(set->n + n));
		for (int i = 0; i < n; i++) {
			struct qf_rule *r = &set->rules[set->n++];
			memset(r, 0, sizeof *r);
			parse_rule(&cx, config_setting_get_elem(rules, (unsigned)i), r);
			/* each rule gets its own copy of the file's macros and lists */
			r->macros = xcalloc((size_t)nmacros, sizeof *r->macros);
			for (int j = 0; j < nmacros; j++) {
				r->macros[j].name = xstrdup(macros[j].name);
				r->macros[j].expr = xstrdup(macros[j].expr);
			}
			r->nmacros = nmacros;
			for (int j = 0; j < nlists; j++) {
				bool clash = false;
				for (int k = 0; k < r->nparams; k++)
					clash |= !strcmp(r->params[k].name, lists[j].name);
				if (clash)
					continue; /* the rule's own parameter wins */
				r->params = xrealloc(r->params, sizeof *r->params * (size_t)(r->nparams + 1));
				r->params[r->nparams].name = xstrdup(lists[j].name);
				r->params[r->nparams].value = xstrdup(lists[j].value);
				r->params[r->nparams].numeric = false;
				r->params[r->nparams++].line = lists[j].line;
			}
		}
	}
out:
	for (int i = 0; i < nmacros; i++) {
		free(macros[i].name);
		free(macros[i].expr);
	}
	free(macros);
	for (int i = 0; i < nlists; i++) {
		free(lists[i].name);
		free(lists[i].value);
	}
	free(lists);
	config_destroy(&lc);
	return d->errors == errs ? 0 : -1;
}

static int conf_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && n > 5 && !strcmp(e->d_name + n - 5, ".conf");
}

int ruleset_load(struct qf_ruleset *set, const char *dir, const struct qf_config *cfg, struct diag *d)
{
	struct dirent **names;
	int n = scandir(dir, &names, conf_filter, alphasort);
	int errs = d->errors;

	if (n < 0) {
		diag_error(d, cfg ? cfg->path : dir, cfg ? cfg->rules_dir_line : 0, "cannot read rules_dir '%s': %s", dir,
			   strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		(void)ruleset_load_file(set, path, d);
		free(names[i]);
	}
	free(names);
	if (n == 0)
		diag_error(d, cfg ? cfg->path : dir, cfg ? cfg->rules_dir_line : 0,
			   "rules_dir '%s' has no *.conf rule files", dir);
	if (d->errors != errs)
		return -1;
	return ruleset_finish(set, cfg, d);
}

struct qf_param *rule_param(struct qf_rule *r, const char *name)
{
	for (int i = 0; i < r->nparams; i++)
		if (!strcmp(r->params[i].name, name))
			return &r->params[i];
	return NULL;
}

/* `realert`, every rule's parameter: a re-triggered finding is alerted
 * at most once in this long (a level that rises is alerted at once).
 * "1 day" unless the rule file or the deployment's params say otherwise:
 * "N seconds|minutes|hours|days" (singular too, or s, min, h, d), or a
 * number of seconds; 0 alerts every re-trigger, as before schema 23. */
#define REALERT_DEFAULT "1 day"

static void realert_declare(struct qf_rule *r)
{
	if (rule_param(r, "realert"))
		return;
	r->params = xrealloc(r->params, sizeof *r->params * (size_t)(r->nparams + 1));
	r->params[r->nparams] =
		(struct qf_param){.name = xstrdup("realert"), .value = xstrdup(REALERT_DEFAULT), .line = r->line};
	r->nparams++;
}

/* seconds, or -1 */
static long realert_seconds(const char *v)
{
	static const struct {
		const char *unit;
		long s;
	} units[] = {{"s", 1},	     {"sec", 1},      {"second", 1},  {"seconds", 1}, {"min", 60},
		     {"minute", 60}, {"minutes", 60}, {"h", 3600},    {"hour", 3600}, {"hours", 3600},
		     {"d", 86400},   {"day", 86400},  {"days", 86400}};
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (end == v || n < 0 || errno || n > 3650L * 86400)
		return -1;
	while (*end == ' ')
		end++;
	if (!*end)
		return n;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (!strcmp(end, units[i].unit))
			return n > 3650L * 86400 / units[i].s ? -1 : n * units[i].s;
	return -1;
}

static void realert_parse(struct qf_rule *r, struct diag *d)
{
	const struct qf_param *p = rule_param(r, "realert");
	r->realert_s = p ? realert_seconds(p->value) : 86400;
	if (r->realert_s < 0) {
		diag_error(d, r->file, p->line,
			   "rule %s: realert '%s' is not a duration (\"1 day\", \"6 hours\", \"30 minutes\", seconds, or 0)",
			   r->id, p->value);
		r->realert_s = 86400;
	}
}

static void apply_overrides(struct qf_ruleset *set, const struct qf_config *cfg, struct diag *d)
{
	for (int i = 0; cfg && i < cfg->noverrides; i++) {
		const struct qf_override *o = &cfg->overrides[i];
		struct qf_rule *r = (struct qf_rule *)ruleset_find(set, o->rule_id);
		if (!r) {
			diag_error(d, o->file, o->line, "params for unknown rule '%s'", o->rule_id);
			continue;
		}
		if (o->enabled >= 0)
			r->enabled = o->enabled;
		if (o->level)
			r->level = o->level;
		for (int j = 0; j < o->nparams; j++) {
			struct qf_param *p = rule_param(r, o->params[j].name);
			if (!p) {
				diag_error(d, o->file, o->params[j].line, "rule %s has no parameter '%s'", r->id,
					   o->params[j].name);
			} else if (p->numeric != o->params[j].numeric) {
				diag_error(d, o->file, o->params[j].line, "rule %s parameter '%s' must be %s", r->id,
					   p->name, p->numeric ? "a number" : "a string, boolean or list");
			} else if (!strcmp(p->name, "realert") && realert_seconds(o->params[j].value) < 0) {
				diag_error(d, o->file, o->params[j].line,
					   "rule %s: realert '%s' is not a duration (\"1 day\", \"6 hours\", \"30 minutes\","
					   " seconds, or 0)",
					   r->id, o->params[j].value);
			} else {
				free(p->value);
				p->value = xstrdup(o->params[j].value);
			}
		}
		/* the deployment's exceptions add to the pack's */
		if (o->nexceptions) {
			r->exceptions = xrealloc(r->exceptions, sizeof *r->exceptions *
								 (size_t)(r->nexceptions + o->nexceptions));
			for (int j = 0; j < o->nexceptions; j++) {
				struct qf_exception *e = &r->exceptions[r->nexceptions++];
				const struct qf_exception *src = &o->exceptions[j];
				memset(e, 0, sizeof *e);
				e->until = xstrdup(src->until);
				e->reason = xstrdup(src->reason);
				e->file = src->file;
				e->line = src->line;
				e->fields = xcalloc((size_t)src->nfields, sizeof *e->fields);
				for (int k = 0; k < src->nfields; k++) {
					e->fields[k].name = xstrdup(src->fields[k].name);
					e->fields[k].value = xstrdup(src->fields[k].value);
					e->fields[k].numeric = src->fields[k].numeric;
				}
				e->nfields = src->nfields;
			}
		}
	}
}

int ruleset_finish(struct qf_ruleset *set, const struct qf_config *cfg, struct diag *d)
{
	int errs = d->errors;

	for (int i = 0; i < set->n; i++)
		for (int j = 0; j < i; j++)
			if (set->rules[i].id && set->rules[j].id && !strcmp(set->rules[i].id, set->rules[j].id))
				diag_error(d, set->rules[i].file, set->rules[i].line,
					   "duplicate rule id '%s' (first defined at %s:%d)", set->rules[i].id,
					   set->rules[j].file, set->rules[j].line);
	if (d->errors != errs)
		return -1;
	for (int i = 0; i < set->n; i++)
		realert_declare(&set->rules[i]);
	apply_overrides(set, cfg, d);
	for (int i = 0; i < set->n; i++) {
		struct qf_rule *r = &set->rules[i];
		realert_parse(r, d);
		if (!r->kind || !r->message_zh || !r->message_en)
			continue; /* already reported */
		if (!rule_template_ok(r, r->message_zh, d) || !rule_template_ok(r, r->message_en, d))
			continue;
		rule_compile(r, d);
	}
	return d->errors == errs ? 0 : -1;
}

void ruleset_free(struct qf_ruleset *set)
{
	for (int i = 0; i < set->n; i++) {
		struct qf_rule *r = &set->rules[i];
		char *strs[] = {r->id,	       r->title_zh,   r->title_en,   r->supervision, r->risk,
				r->duty,       r->table,      r->subject,    r->department,  r->where,
				r->level_expr, r->sql,	      r->having,     r->time_col,    r->window,
				r->threshold,  r->differ,     r->order_col,  r->method,      r->value_col,
				r->period,     r->deadline,   r->pop_where,  r->expect_table, r->expect_where,
				r->expect_period, r->expect_done, r->message_zh, r->message_en, r->compiled,
				r->compiled_delta};
		for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++)
			free(strs[k]);
		strlist_free(&r->tags);
		strlist_free(&r->key);
		strlist_free(&r->evidence);
		strlist_free(&r->same);
		strlist_free(&r->group);
		strlist_free(&r->deps);
		for (int j = 0; j < r->nselect; j++) {
			free(r->select[j].name);
			free(r->select[j].expr);
		}
		free(r->select);
		for (int j = 0; j < r->nmacros; j++) {
			free(r->macros[j].name);
			free(r->macros[j].expr);
		}
		free(r->macros);
		for (int j = 0; j < r->nparams; j++) {
			free(r->params[j].name);
			free(r->params[j].value);
		}
		free(r->params);
		exceptions_free(r->exceptions, r->nexceptions);
		free(r->values);
		free(r->builtin);
	}
	free(set->rules);
	strlist_free(&set->files);
	memset(set, 0, sizeof *set);
}

const struct qf_rule *ruleset_find(const struct qf_ruleset *set, const char *id)
{
	for (int i = 0; i < set->n; i++)
		if (set->rules[i].id && !strcmp(set->rules[i].id, id))
			return &set->rules[i];
	return NULL;
}

