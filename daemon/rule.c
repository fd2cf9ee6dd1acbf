/* Rule files → validated rules → one parameterised SQL statement per rule.
 *
 * Identifiers (table, columns) are checked against a strict pattern and
 * quoted; values never enter SQL text: a rule's `where` refers to its
 * parameters as :name, compiled to $n and bound with PQexecParams. */
#include "rule.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgutil.h"

static const char *const supervisions[] = {"technical", "financial", "disciplinary", NULL};
static const char *const risks[] = {"technical", "non-technical", NULL};
static const char *const duties[] = {"primary", "supervisory", "dual-duty", "impartiality", NULL};

static bool is_ident(const char *s)
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
	if (!is_ident(v)) {
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
		if (!is_ident(out->v[i]))
			cfg_error(cx, config_setting_get_member(s, name), "%s '%s' is not a column name", name,
				  out->v[i]);
}

enum { BUILTIN_NONE = 0, BUILTIN_NOW = 1, BUILTIN_SINCE = 2, BUILTIN_CURSOR = 3, BUILTIN_KNOWN = 4 };

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
		if (!is_ident(name)) {
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
		if (!is_ident(config_setting_name(e)) || config_setting_type(e) != CONFIG_TYPE_STRING) {
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
	if (!dot || strcmp(schema, "records") || !is_ident(tname))
		cfg_error(cx, config_setting_get_member(s, name),
			  "%s '%s' must be a table of the records schema, e.g. \"records.payment\"", name, v);
	else
		*out = xstrdup(v);
}

static void parse_rule(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r)
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
		return;
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

	if (!cfg_string(cx, s, "kind", true, &v))
		return;
	const config_setting_t *ks = config_setting_get_member(s, "kind");
	const config_setting_t *main_fragment = NULL;
	if (!strcmp(v, "match")) {
		static const char *const no[] = {"sql", "having", "select", "window", "threshold", "same", "differ",
						 "order", "method", "value", "group", "period", "deadline",
						 "population", "expect", NULL};
		r->kind = QF_RULE_MATCH;
		forbid(cx, s, v, no);
		parse_table(cx, s, "table", &r->table);
		if (!config_setting_get_member(s, "key"))
			cfg_error(cx, s, "missing required setting 'key'");
		ident_list(cx, s, "key", &r->key);
		r->subject = ident(cx, s, "subject", false);
		r->department = ident(cx, s, "department", false);
		r->where = opt_str(cx, s, "where", true);
		r->time_col = ident(cx, s, "time", false);
		main_fragment = config_setting_get_member(s, "where");
	} else if (!strcmp(v, "sql")) {
		static const char *const no[] = {"table", "key", "subject", "department", "where", "having",
						 "select", "time", "window", "threshold", "same", "differ",
						 "order", "method", "value", "group", "period", "deadline",
						 "population", "expect", "level_expr", "evidence", NULL};
		r->kind = QF_RULE_SQL;
		forbid(cx, s, v, no);
		r->sql = opt_str(cx, s, "sql", true);
		main_fragment = config_setting_get_member(s, "sql");
	} else if (!strcmp(v, "aggregate") || !strcmp(v, "frequency")) {
		static const char *const no[] = {"sql", "same", "differ", "order", "method", "value", "group",
						 "period", "deadline", "population", "expect", "evidence", NULL};
		r->kind = !strcmp(v, "aggregate") ? QF_RULE_AGGREGATE : QF_RULE_FREQUENCY;
		forbid(cx, s, v, no);
		parse_table(cx, s, "table", &r->table);
		if (!config_setting_get_member(s, "key"))
			cfg_error(cx, s, "missing required setting 'key' (the group columns)");
		ident_list(cx, s, "key", &r->key);
		r->subject = opt_str(cx, s, "subject", false);
		r->department = opt_str(cx, s, "department", false);
		r->where = opt_str(cx, s, "where", false);
		parse_select(cx, s, r);
		if (r->kind == QF_RULE_AGGREGATE) {
			r->having = opt_str(cx, s, "having", true);
			r->time_col = ident(cx, s, "time", false);
			main_fragment = config_setting_get_member(s, "having");
		} else {
			if (config_setting_get_member(s, "having"))
				cfg_error(cx, config_setting_get_member(s, "having"),
					  "kind frequency counts rows: use threshold, not having");
			r->time_col = ident(cx, s, "time", true);
			r->window = opt_str(cx, s, "window", true);
			r->threshold = opt_str(cx, s, "threshold", true);
			main_fragment = config_setting_get_member(s, "threshold");
		}
	} else if (!strcmp(v, "duplicate")) {
		static const char *const no[] = {"sql", "having", "select", "window", "threshold", "method", "value",
						 "group", "period", "deadline", "population", "expect", NULL};
		r->kind = QF_RULE_DUPLICATE;
		forbid(cx, s, v, no);
		parse_table(cx, s, "table", &r->table);
		if (!config_setting_get_member(s, "key"))
			cfg_error(cx, s, "missing required setting 'key'");
		ident_list(cx, s, "key", &r->key);
		if (!config_setting_get_member(s, "same"))
			cfg_error(cx, s, "missing required setting 'same' (the columns whose values repeat)");
		ident_list(cx, s, "same", &r->same);
		r->differ = ident(cx, s, "differ", false);
		r->order_col = ident(cx, s, "order", true);
		r->subject = ident(cx, s, "subject", false);
		r->department = ident(cx, s, "department", false);
		r->where = opt_str(cx, s, "where", false);
		r->time_col = ident(cx, s, "time", false);
		main_fragment = config_setting_get_member(s, "same");
	} else if (!strcmp(v, "absence")) {
		static const char *const no[] = {"sql", "table", "key", "subject", "department", "where", "having",
						 "select", "time", "window", "threshold", "same", "differ",
						 "order", "method", "value", "group", NULL};
		static const char *const ekeys[] = {"table", "where", "period", "done", "within", NULL};
		r->kind = QF_RULE_ABSENCE;
		forbid(cx, s, v, no);
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
		main_fragment = config_setting_get_member(s, "population");
	} else if (!strcmp(v, "statistical")) {
		static const char *const no[] = {"sql", "having", "select", "window", "threshold", "same", "differ",
						 "order", "period", "deadline", "population", "expect", "department",
						 NULL};
		r->kind = QF_RULE_STATISTICAL;
		forbid(cx, s, v, no);
		r->method = opt_str(cx, s, "method", true);
		parse_table(cx, s, "table", &r->table);
		if (!config_setting_get_member(s, "key"))
			cfg_error(cx, s, "missing required setting 'key'");
		ident_list(cx, s, "key", &r->key);
		r->value_col = ident(cx, s, "value", true);
		r->where = opt_str(cx, s, "where", false);
		r->time_col = ident(cx, s, "time", false);
		r->subject = ident(cx, s, "subject", false);
		if (r->method && !strcmp(r->method, "zscore")) {
			if (!config_setting_get_member(s, "group"))
				cfg_error(cx, s, "method zscore needs group = [ ... ] (the comparison group)");
			ident_list(cx, s, "group", &r->group);
		} else if (r->method && !strcmp(r->method, "benford")) {
			forbid(cx, s, v, (const char *const[]){"group", "subject", NULL});
		} else if (r->method) {
			cfg_error(cx, config_setting_get_member(s, "method"),
				  "method must be \"benford\" or \"zscore\", not '%s'", r->method);
		}
		main_fragment = config_setting_get_member(s, "value");
	} else {
		cfg_error(cx, ks,
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
		if (!is_ident(config_setting_name(e)) || config_setting_type(e) != CONFIG_TYPE_STRING) {
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
		if (!is_ident(config_setting_name(e)) || !(config_setting_is_array(e) || config_setting_is_list(e))) {
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

static struct qf_param *find_param(struct qf_rule *r, const char *name)
{
	for (int i = 0; i < r->nparams; i++)
		if (!strcmp(r->params[i].name, name))
			return &r->params[i];
	return NULL;
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
			struct qf_param *p = find_param(r, o->params[j].name);
			if (!p) {
				diag_error(d, o->file, o->params[j].line, "rule %s has no parameter '%s'", r->id,
					   o->params[j].name);
			} else if (p->numeric != o->params[j].numeric) {
				diag_error(d, o->file, o->params[j].line, "rule %s parameter '%s' must be %s", r->id,
					   p->name, p->numeric ? "a number" : "a string, boolean or list");
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

/* ---- compiling ---- */

static int add_value(struct qf_rule *r, const char *value, int builtin)
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

/* Set while compile_rule builds a rule's incremental statement: there the
 * cursor is never NULL, so ${changed()} and ${incremental} are written
 * without their "full pass" branch. A prepared statement's generic plan
 * cannot fold `$n IS NULL OR ...` away and would scan the table; without
 * the branch it keeps the changed-keys index condition. */
static bool bind_for_delta;

/* Expands ${macro}, then replaces :name placeholders outside quotes with
 * $n; "::" casts are left alone. Returns the SQL text, or NULL after
 * reporting a problem. */
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

static char *bind(struct qf_rule *r, const char *fragment, const char *what, struct diag *d)
{
	struct buf ex, out;
	int depth = 0;
	const char *pos = positional(fragment);

	if (pos) {
		diag_error(d, r->file, r->where_line, "rule %s: %s uses %.*s: write parameters as :name", r->id, what,
			   1 + (int)strspn(pos + 1, "0123456789"), pos);
		return NULL;
	}
	buf_init(&ex);
	for (const char *p = fragment; *p; p++) {
		/* ${incremental}: true in an incremental pass; ${cursor}: the xid8
		 * the rule's last pass reached (NULL in a full pass). Both fold to
		 * constants in the per-execution plan. */
		if (!strncmp(p, "${incremental}", 14) || !strncmp(p, "${cursor}", 9)) {
			int cur = add_value(r, NULL, BUILTIN_CURSOR);
			bool inc = p[2] == 'i';
			/* the delta form still names the parameter, so its type is
			 * known, and the planner folds "OR true" away */
			buf_printf(&ex,
				   inc ? (bind_for_delta ? "($%d::xid8 IS NOT NULL OR true)" : "($%d::xid8 IS NOT NULL)")
				       : "$%d::xid8",
				   cur);
			r->changed_aware = true;
			p += inc ? 13 : 8;
			continue;
		}
		if (!strncmp(p, "${changed(", 10)) {
			/* ${changed(table, expr[, column])}: true in a full pass; in an
			 * incremental one, expr is among the changed rows' keys (or,
			 * with column, among that column's values in the changed rows) */
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
			if (!e || na < 2 || !ck || !*args[1] || (na == 3 && !is_ident(args[2]))) {
				diag_error(d, r->file, r->where_line,
					   "rule %s: %s: use ${changed(TABLE, EXPRESSION[, COLUMN])} with a records table",
					   r->id, what);
				buf_free(&ex);
				return NULL;
			}
			int cur = add_value(r, NULL, BUILTIN_CURSOR);
			char keys[512];
			snprintf(keys, sizeof keys,
				 "SELECT unnest(c.keys) FROM qf.change_log c WHERE c.tbl = '%s' AND c.xid >= $%d::xid8", args[0],
				 cur);
			/* = ANY(ARRAY(...)): the changed keys become one init plan, and
			 * the outer test an index condition; the planner cannot
			 * estimate IN (SELECT unnest(...)) and would scan the table.
			 * ::text is a no-op on text columns (the index still serves)
			 * and lets a date or number key compare with the logged keys. */
			char full[32] = "";
			if (!bind_for_delta)
				snprintf(full, sizeof full, "$%d::xid8 IS NULL OR ", cur);
			if (na == 3) /* the rows still there, and the deleted ones as the capture kept them */
				buf_printf(&ex,
					   "(%s(%s)::text = ANY(ARRAY(SELECT x.\"%s\"::text FROM records.\"%s\" x"
					   " WHERE x.\"%s\"::text = ANY(ARRAY(%s))"
					   " UNION ALL SELECT o->>'%s' FROM qf.change_log c, jsonb_array_elements(c.old_rows) o"
					   " WHERE c.tbl = '%s' AND c.op = 'd' AND c.xid >= $%d::xid8)))",
					   full, args[1], args[2], args[0], ck, keys, args[2], args[0], cur);
			else
				buf_printf(&ex, "(%s(%s)::text = ANY(ARRAY(%s)))", full, args[1], keys);
			r->changed_aware = true;
			p = e + 1;
			continue;
		}
		if (p[0] == '$' && p[1] == '{') {
			const char *e = strchr(p, '}');
			size_t n = e ? (size_t)(e - p - 2) : 0;
			int found = -1;
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
				diag_error(d, r->file, r->where_line, "rule %s: %s uses an unknown macro ${%s}", r->id, what,
					   shown);
				buf_free(&ex);
				return NULL;
			}
			if ((pos = positional(r->macros[found].expr)) != NULL) {
				diag_error(d, r->file, r->where_line,
					   "rule %s: %s: macro ${%s} uses %.*s: write parameters as :name", r->id, what,
					   r->macros[found].name, 1 + (int)strspn(pos + 1, "0123456789"), pos);
				buf_free(&ex);
				return NULL;
			}
			buf_printf(&ex, "(%s)", r->macros[found].expr);
			p = e;
		} else {
			buf_add(&ex, p, 1);
		}
	}

	const char *s = ex.data ? ex.data : "";
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
				idx = add_value(r, NULL, BUILTIN_NOW);
				buf_printf(&out, "$%d::timestamptz", idx);
				continue;
			}
			if (!strcmp(name, "since")) {
				idx = add_value(r, NULL, BUILTIN_SINCE);
				buf_printf(&out, "$%d::timestamptz", idx);
				continue;
			}
			struct qf_param *p = find_param(r, name);
			if (!p) {
				diag_error(d, r->file, r->where_line, "rule %s: %s uses :%s but params has no '%s'", r->id,
					   what, name, name);
				goto fail;
			}
			idx = add_value(r, p->value, BUILTIN_NONE);
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
	buf_free(&ex);
	return buf_steal(&out);
fail:
	buf_free(&ex);
	buf_free(&out);
	return NULL;
}

static bool template_ok(const struct qf_rule *r, const char *tmpl, struct diag *d)
{
	for (const char *p = tmpl; *p; p++) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			p++;
			continue;
		}
		if (*p != '{')
			continue;
		const char *e = strchr(p, '}');
		if (!e) {
			diag_error(d, r->file, r->line, "rule %s: message has '{' without '}'", r->id);
			return false;
		}
		char name[64];
		size_t n = (size_t)(e - p - 1);
		if (n == 0 || n >= sizeof name) {
			diag_error(d, r->file, r->line, "rule %s: message has an empty or overlong {placeholder}", r->id);
			return false;
		}
		memcpy(name, p + 1, n);
		name[n] = '\0';
		/* kinds whose evidence the engine builds know their fields; a sql
		 * rule's evidence is whatever its SELECT makes */
		bool known = !strcmp(name, "key") || !strcmp(name, "subject") || !strcmp(name, "department") ||
			     !strcmp(name, "table") || strlist_has(&r->key, name) || strlist_has(&r->evidence, name) ||
			     r->kind == QF_RULE_SQL;
		for (int i = 0; i < r->nselect; i++)
			known |= !strcmp(r->select[i].name, name);
		if (r->kind == QF_RULE_FREQUENCY)
			known |= !strcmp(name, "count") || !strcmp(name, "first") || !strcmp(name, "last") ||
				 !strcmp(name, "window_days");
		if (r->kind == QF_RULE_AGGREGATE)
			known |= !strcmp(name, "count");
		if (r->kind == QF_RULE_DUPLICATE)
			known |= !strcmp(name, "duplicate_of") || strlist_has(&r->same, name);
		if (r->kind == QF_RULE_ABSENCE)
			known |= !strcmp(name, "person_id") || !strcmp(name, "name") || !strcmp(name, "period") ||
				 !strcmp(name, "deadline");
		if (r->kind == QF_RULE_STATISTICAL)
			known |= !strcmp(name, "n") || !strcmp(name, "mad") || !strcmp(name, "mean") ||
				 !strcmp(name, "stddev") || !strcmp(name, "z") || strlist_has(&r->group, name) ||
				 (r->value_col && !strcmp(name, r->value_col));
		if (!known) {
			/* quoted on one line (diag.h): the name may hold a newline */
			for (char *c = name; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7F)
					*c = '?';
			diag_error(d, r->file, r->line,
				   "rule %s: message uses {%s}, which is neither a key nor an evidence column", r->id, name);
			return false;
		}
		p = e;
	}
	return true;
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

static const char *table_name(const struct qf_rule *r, const char *qualified)
{
	(void)r;
	return strchr(qualified, '.') + 1;
}

struct bound {
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

static void since_filter(struct qf_rule *r, struct buf *o, const char *alias, struct diag *d)
{
	if (!r->time_col)
		return;
	char *since = bind(r, ":since", "time", d);
	/* without --since every row counts, also one whose time is still NULL
	 * (a payment approved but not yet paid) */
	buf_printf(o, "\n  AND (%s = '-infinity' OR %s.\"%s\" >= %s)", since ? since : "'-infinity'", alias, r->time_col,
		   since ? since : "'-infinity'");
	free(since);
}

static void compile_inner(struct qf_rule *r, struct bound *b, struct buf *o, struct diag *d)
{
	const char *lvl = b->level ? b->level : "NULL";

	switch (r->kind) {
	case QF_RULE_MATCH:
		buf_puts(o, "SELECT ");
		key_expr(o, "t", &r->key);
		buf_printf(o, " AS key, %s%s%s AS subject, ", r->subject ? "t.\"" : "NULL", r->subject ? r->subject : "",
			   r->subject ? "\"" : "");
		buf_printf(o, "%s%s%s AS department, (%s) AS level,\n", r->department ? "t.\"" : "NULL",
			   r->department ? r->department : "", r->department ? "\"" : "", lvl);
		buf_printf(o, "       jsonb_build_object('table', '%s'", r->table);
		evidence_cols(o, "t", &r->key, &r->evidence);
		buf_printf(o, ") AS evidence\nFROM records.\"%s\" AS t\nWHERE (\n%s\n)", table_name(r, r->table), b->where);
		since_filter(r, o, "t", d);
		if (b->delta)
			buf_printf(o, "\n  AND %s", b->delta);
		break;
	case QF_RULE_SQL:
		buf_puts(o, b->sql);
		break;
	case QF_RULE_AGGREGATE:
	case QF_RULE_FREQUENCY:
		buf_puts(o, "SELECT ");
		key_expr(o, "t", &r->key);
		buf_printf(o, " AS key, (%s) AS subject, (%s) AS department, (%s) AS level,\n",
			   b->subject ? b->subject : "NULL", b->department ? b->department : "NULL", lvl);
		buf_printf(o, "       jsonb_build_object('table', '%s'", r->table);
		evidence_cols(o, "t", &r->key, NULL);
		buf_puts(o, ", 'count', count(*)");
		if (r->kind == QF_RULE_FREQUENCY)
			buf_printf(o, ", 'first', min(t.\"%s\"), 'last', max(t.\"%s\"), 'window_days', %s", r->time_col,
				   r->time_col, b->window);
		for (int i = 0; i < r->nselect; i++)
			buf_printf(o, ", '%s', (%s)", r->select[i].name, b->select[i]);
		buf_printf(o, ") AS evidence\nFROM records.\"%s\" AS t\nWHERE (\n%s\n)", table_name(r, r->table),
			   b->where ? b->where : "true");
		if (r->kind == QF_RULE_FREQUENCY) {
			char *now = bind(r, ":now", "window", d);
			buf_printf(o, "\n  AND t.\"%s\" > %s - (%s) * interval '1 day' AND t.\"%s\" <= %s", r->time_col,
				   now ? now : "now()", b->window, r->time_col, now ? now : "now()");
			free(now);
		} else {
			since_filter(r, o, "t", d);
		}
		for (int i = 0; i < r->key.n; i++)
			buf_printf(o, "\n  AND t.\"%s\" IS NOT NULL", r->key.v[i]);
		buf_puts(o, "\nGROUP BY ");
		for (int i = 0; i < r->key.n; i++)
			buf_printf(o, "%st.\"%s\"", i ? ", " : "", r->key.v[i]);
		if (r->kind == QF_RULE_FREQUENCY)
			buf_printf(o, "\nHAVING count(*) >= (%s)", b->threshold);
		else
			buf_printf(o, "\nHAVING (\n%s\n)", b->having);
		break;
	case QF_RULE_DUPLICATE:
		buf_puts(o, "SELECT ");
		key_expr(o, "t", &r->key);
		buf_printf(o, " AS key, %s%s%s AS subject, ", r->subject ? "t.\"" : "NULL", r->subject ? r->subject : "",
			   r->subject ? "\"" : "");
		buf_printf(o, "%s%s%s AS department, (%s) AS level,\n", r->department ? "t.\"" : "NULL",
			   r->department ? r->department : "", r->department ? "\"" : "", lvl);
		buf_printf(o, "       jsonb_build_object('table', '%s'", r->table);
		evidence_cols(o, "t", &r->key, &r->same);
		evidence_cols(o, "t", &r->evidence, NULL);
		buf_printf(o, ", 'duplicate_of', o.k) AS evidence\nFROM records.\"%s\" AS t\n", table_name(r, r->table));
		buf_puts(o, "JOIN LATERAL (SELECT ");
		key_expr(o, "o", &r->key);
		buf_printf(o, " AS k FROM records.\"%s\" AS o\n  WHERE ", table_name(r, r->table));
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
		since_filter(r, o, "t", d);
		break;
	case QF_RULE_ABSENCE: {
		char *now = bind(r, ":now", "absence", d);
		char *lookback = find_param(r, "lookback") ? bind(r, ":lookback", "absence", d) : NULL;
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
			   lookback ? lookback : "2", table_name(r, r->expect_table), r->expect_period, r->expect_done);
		/* "within": a record done before the period began does not count */
		if (r->expect_within)
			buf_printf(o, "\n                     AND e.\"%s\"::date >= pr.pstart", r->expect_done);
		if (b->ewhere)
			buf_printf(o, "\n                     AND (%s)", b->ewhere);
		buf_puts(o, ")");
		buf_free(&dl);
		free(now);
		free(lookback);
		break;
	}
	case QF_RULE_STATISTICAL:
		if (!strcmp(r->method, "benford")) {
			char *min_n = find_param(r, "min_n") ? bind(r, ":min_n", "benford", d) : NULL;
			char *mad = find_param(r, "mad") ? bind(r, ":mad", "benford", d) : NULL;
			if (!min_n || !mad)
				diag_error(d, r->file, r->line, "rule %s: benford needs params min_n and mad", r->id);
			buf_puts(o, "WITH v AS (SELECT ");
			key_expr(o, "t", &r->key);
			buf_printf(o, " AS g, substr(trunc(abs(t.\"%s\"))::text, 1, 1)::int AS d\n"
				      "             FROM records.\"%s\" AS t WHERE (%s) AND abs(t.\"%s\") >= 10",
				   r->value_col, table_name(r, r->table), b->where ? b->where : "true", r->value_col);
			for (int i = 0; i < r->key.n; i++)
				buf_printf(o, " AND t.\"%s\" IS NOT NULL", r->key.v[i]);
			since_filter(r, o, "t", d);
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
		} else {
			char *min_n = find_param(r, "min_n") ? bind(r, ":min_n", "zscore", d) : NULL;
			char *z = find_param(r, "z") ? bind(r, ":z", "zscore", d) : NULL;
			if (!min_n || !z)
				diag_error(d, r->file, r->line, "rule %s: zscore needs params min_n and z", r->id);
			buf_puts(o, "SELECT ");
			key_expr(o, "t", &r->key);
			buf_printf(o, " AS key, %s%s%s AS subject, NULL::text AS department, (%s) AS level,\n",
				   r->subject ? "t.\"" : "NULL", r->subject ? r->subject : "", r->subject ? "\"" : "", lvl);
			buf_printf(o, "       jsonb_build_object('table', '%s'", r->table);
			evidence_cols(o, "t", &r->key, &r->group);
			evidence_cols(o, "t", &r->evidence, NULL);
			buf_printf(o, ", '%s', t.\"%s\", 'mean', round(t.qf_mean, 2), 'stddev', round(t.qf_sd, 2),"
				      " 'z', round(zz.z, 2)) AS evidence\n",
				   r->value_col, r->value_col);
			buf_printf(o, "FROM (SELECT t.*, avg(t.\"%s\") OVER w AS qf_mean, stddev_pop(t.\"%s\") OVER w AS qf_sd,"
				      " count(*) OVER w AS qf_n\n"
				      "        FROM records.\"%s\" AS t WHERE (%s) AND t.\"%s\" IS NOT NULL",
				   r->value_col, r->value_col, table_name(r, r->table), b->where ? b->where : "true",
				   r->value_col);
			since_filter(r, o, "t", d);
			buf_puts(o, "\n      WINDOW w AS (PARTITION BY ");
			for (int i = 0; i < r->group.n; i++)
				buf_printf(o, "%st.\"%s\"", i ? ", " : "", r->group.v[i]);
			buf_printf(o, ")) AS t\nCROSS JOIN LATERAL (SELECT (t.\"%s\" - t.qf_mean) / nullif(t.qf_sd, 0) AS z) AS zz\n"
				      "WHERE t.qf_n >= (%s) AND abs(zz.z) > (%s)",
				   r->value_col, min_n ? min_n : "30", z ? z : "3");
			free(min_n);
			free(z);
		}
		break;
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

/* every kind yields (key, subject, department, level, evidence); the
 * wrapper adds the subject's department when the rule gives none, the
 * evidence as text for messages (numerics keep their digits) and the
 * rule's exceptions */
static char *wrap(struct qf_rule *r, struct bound *b, struct diag *d)
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
	compile_inner(r, b, &o, d);
	/* a hit whose finding already has this evidence is no news: it stays
	 * in the server, so a full pass costs memory only for what changed
	 * (the dry run sets the flag false and sees every hit). One index
	 * probe per hit (LATERAL ... LIMIT 1): a NOT EXISTS would let a
	 * prepared statement's generic plan hash every finding of the rule,
	 * a cost growing with its history. */
	int known = add_value(r, NULL, BUILTIN_KNOWN);
	int rid = add_value(r, r->id, BUILTIN_NONE);
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
			int idx = add_value(r, e->fields[j].value, BUILTIN_NONE);
			if (!is_ident(e->fields[j].name))
				diag_error(d, e->file, e->fields[j].line, "rule %s: exception field '%s' is not a name",
					   r->id, e->fields[j].name);
			buf_printf(&o, "r.evidence::jsonb->>'%s' IS NOT DISTINCT FROM $%d AND ",
				   is_ident(e->fields[j].name) ? e->fields[j].name : "?", idx);
		}
		int now = add_value(r, NULL, BUILTIN_NOW);
		int until = add_value(r, e->until, BUILTIN_NONE);
		buf_printf(&o, "$%d::timestamptz < $%d::timestamptz)", now, until);
	}
	buf_puts(&o, "\nORDER BY 1");
	return buf_steal(&o);
}

/* Binds every fragment of the rule; false if one had a problem (in d). */
static bool bind_all(struct qf_rule *r, struct bound *b, struct diag *d)
{
	int errs = d->errors;

	if (r->where)
		b->where = bind(r, r->where, "where", d);
	if (r->level_expr)
		b->level = bind(r, r->level_expr, "level_expr", d);
	if (r->kind == QF_RULE_AGGREGATE || r->kind == QF_RULE_FREQUENCY) {
		if (r->subject)
			b->subject = bind(r, r->subject, "subject", d);
		if (r->department)
			b->department = bind(r, r->department, "department", d);
		b->select = xcalloc((size_t)r->nselect + 1, sizeof(char *));
		for (int i = 0; i < r->nselect; i++)
			b->select[i] = bind(r, r->select[i].expr, "select", d);
	}
	if (r->having)
		b->having = bind(r, r->having, "having", d);
	if (r->sql)
		b->sql = bind(r, r->sql, "sql", d);
	if (r->pop_where)
		b->pop = bind(r, r->pop_where, "population", d);
	if (r->expect_where)
		b->ewhere = bind(r, r->expect_where, "expect.where", d);
	if (r->window)
		b->window = bind(r, r->window, "window", d);
	if (r->threshold)
		b->threshold = bind(r, r->threshold, "threshold", d);
	return d->errors == errs;
}

static void compile_rule(struct qf_rule *r, struct diag *d)
{
	struct bound b = {0};

	if (!bind_all(r, &b, d)) {
		bound_free(&b, r->nselect);
		return;
	}
	r->compiled = wrap(r, &b, d);
	r->nvalues_full = r->nvalues;
	/* a match rule re-reads only the rows changed since its cursor: cost
	 * grows with the change, not with the table */
	const char *ck = r->kind == QF_RULE_MATCH ? capture_key(table_name(r, r->table)) : NULL;
	if (ck || r->changed_aware) {
		/* the incremental statement: the same fragments bound again for
		 * a non-NULL cursor (their problems were reported above, so a
		 * scratch diag takes the repeats); a match rule also reads only
		 * the changed rows */
		struct bound db = {0};
		struct diag scratch;
		char cond[512];
		diag_init(&scratch);
		bind_for_delta = true;
		bool ok = bind_all(r, &db, &scratch);
		if (ok && ck) {
			int cur = add_value(r, NULL, BUILTIN_CURSOR);
			snprintf(cond, sizeof cond,
				 "t.\"%s\"::text = ANY(ARRAY(SELECT unnest(c.keys) FROM qf.change_log c"
				 " WHERE c.tbl = '%s' AND c.xid >= $%d::xid8))",
				 ck, table_name(r, r->table), cur);
			db.delta = cond;
		}
		if (ok)
			r->compiled_delta = wrap(r, &db, &scratch);
		bind_for_delta = false;
		bound_free(&db, r->nselect);
		diag_free(&scratch);
	}
	for (int i = 0; i < r->nvalues; i++)
		r->clock |= r->builtin[i] == BUILTIN_NOW;
	/* the tables it reads, from the statement itself */
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
	bound_free(&b, r->nselect);
	rule_hash(r);
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
	apply_overrides(set, cfg, d);
	for (int i = 0; i < set->n; i++) {
		struct qf_rule *r = &set->rules[i];
		if (!r->kind || !r->message_zh || !r->message_en)
			continue; /* already reported */
		if (!template_ok(r, r->message_zh, d) || !template_ok(r, r->message_en, d))
			continue;
		compile_rule(r, d);
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

char *rule_render(const char *tmpl, const json_t *vars)
{
	struct buf b;

	buf_init(&b);
	for (const char *p = tmpl; *p; p++) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			buf_add(&b, p, 1);
			p++;
			continue;
		}
		const char *e = *p == '{' ? strchr(p, '}') : NULL;
		if (!e || e - p - 1 <= 0 || e - p - 1 >= 64) {
			buf_add(&b, p, 1);
			continue;
		}
		char name[64];
		memcpy(name, p + 1, (size_t)(e - p - 1));
		name[e - p - 1] = '\0';
		const json_t *v = json_object_get(vars, name);
		if (json_is_string(v))
			buf_add(&b, json_string_value(v), json_string_length(v));
		else
			buf_puts(&b, "-");
		p = e;
	}
	return buf_steal(&b);
}
