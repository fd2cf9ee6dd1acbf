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
		struct qf_param *q = &r->params[r->nparams];
		if (!is_ident(config_setting_name(p))) {
			cfg_error(cx, p, "parameter name '%s' must be lower-case letters, digits, '_'",
				  config_setting_name(p));
			continue;
		}
		if (cfg_scalar_text(cx, p, &q->value, &q->numeric)) {
			q->name = xstrdup(config_setting_name(p));
			q->line = config_setting_source_line(p);
			r->nparams++;
		}
	}
}

static void parse_rule(struct cfgctx *cx, const config_setting_t *s, struct qf_rule *r)
{
	static const char *const keys[] = {"id",    "title", "description", "supervision", "risk",     "duty",
					   "level", "tags",  "enabled",     "kind",        "table",    "key",
					   "subject", "department", "where", "evidence",   "message", "params", NULL};
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
	if (cfg_string(cx, s, "description", false, &v))
		(void)v; /* documentation for rule authors; not used by the engine */
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
	if (cfg_string(cx, s, "kind", true, &v)) {
		if (!strcmp(v, "match"))
			r->kind = QF_RULE_MATCH;
		else
			cfg_error(cx, config_setting_get_member(s, "kind"),
				  "rule kind '%s' is not supported by this engine (supported: match)", v);
	}
	if (cfg_string(cx, s, "table", true, &v)) {
		const char *dot = strchr(v, '.');
		char schema[64] = "", name[64] = "";
		if (dot && (size_t)(dot - v) < sizeof schema) {
			memcpy(schema, v, (size_t)(dot - v));
			snprintf(name, sizeof name, "%s", dot + 1);
		}
		if (!dot || strcmp(schema, "records") || !is_ident(name))
			cfg_error(cx, config_setting_get_member(s, "table"),
				  "table '%s' must be a table of the records schema, e.g. \"records.payment\"", v);
		else
			r->table = xstrdup(v);
	}
	if (!config_setting_get_member(s, "key"))
		cfg_error(cx, s, "missing required setting 'key'");
	else
		ident_list(cx, s, "key", &r->key);
	r->subject = ident(cx, s, "subject", false);
	r->department = ident(cx, s, "department", false);
	if (cfg_string(cx, s, "where", true, &v)) {
		if (!*v)
			cfg_error(cx, config_setting_get_member(s, "where"), "where is empty");
		r->where = xstrdup(v);
		r->where_line = config_setting_source_line(config_setting_get_member(s, "where"));
	}
	ident_list(cx, s, "evidence", &r->evidence);
	if (r->key.n + r->evidence.n > 40)
		cfg_error(cx, s, "at most 40 key and evidence columns");
	bilingual(cx, s, "message", &r->message_zh, &r->message_en);
	parse_params(cx, s, r);
}

int ruleset_load_file(struct qf_ruleset *set, const char *file, struct diag *d)
{
	static const char *const keys[] = {"engine_version", "rules", NULL};
	int errs = d->errors;
	struct cfgctx cx;
	config_t lc;

	config_init(&lc);
	cfg_ctx_init(&cx, d, file, &set->files);
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
		}
	}
out:
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
		diag_error(d, cfg ? cfg->path : dir, cfg ? cfg->rules_dir_line : 0, "rules_dir '%s' has no *.conf rule files",
			   dir);
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
					   p->name, p->numeric ? "a number" : "a string or boolean");
			} else {
				free(p->value);
				p->value = xstrdup(o->params[j].value);
			}
		}
	}
}

/* Replaces :name placeholders outside quotes with $n; "::" casts are left
 * alone. Returns the SQL text, or NULL after reporting a problem. */
static char *bind_params(struct qf_rule *r, struct diag *d)
{
	const char *s = r->where;
	struct buf out;
	int depth = 0;

	buf_init(&out);
	while (*s) {
		if (*s == '\'' || *s == '"') {
			char q = *s;
			const char *e = s + 1;
			while (*e && !(*e == q && e[1] != q)) /* doubled quote = escaped quote */
				e += (*e == q && e[1] == q) ? 2 : 1;
			if (!*e) {
				diag_error(d, r->file, r->where_line, "rule %s: unterminated %s in where", r->id,
					   q == '\'' ? "string literal" : "quoted identifier");
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
			struct qf_param *p = find_param(r, name);
			if (!p) {
				diag_error(d, r->file, r->where_line, "rule %s: where uses :%s but params has no '%s'",
					   r->id, name, name);
				goto fail;
			}
			int idx = -1;
			for (int i = 0; i < r->nvalues; i++)
				if (r->values[i] == p->value)
					idx = i;
			if (idx < 0) {
				r->values = xrealloc(r->values, sizeof(char *) * (size_t)(r->nvalues + 1));
				r->values[r->nvalues] = p->value; /* borrowed from params */
				idx = r->nvalues++;
			}
			buf_printf(&out, "$%d", idx + 1);
		} else if (*s == ';') {
			diag_error(d, r->file, r->where_line, "rule %s: where must be one expression (no ';')", r->id);
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
		diag_error(d, r->file, r->where_line, "rule %s: unbalanced parentheses in where", r->id);
		goto fail;
	}
	return buf_steal(&out);
fail:
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
		if (strcmp(name, "key") && strcmp(name, "subject") && strcmp(name, "department") &&
		    strcmp(name, "table") && !strlist_has(&r->key, name) && !strlist_has(&r->evidence, name)) {
			diag_error(d, r->file, r->line,
				   "rule %s: message uses {%s}, which is neither a key nor an evidence column", r->id, name);
			return false;
		}
		p = e;
	}
	return true;
}

static void rule_hash(struct qf_rule *r)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct buf b;

	buf_init(&b);
	/* \x1f separates fields so no two different rules share a text */
	buf_printf(&b, "%s\x1f%d\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", r->id, r->kind,
		   r->table, r->subject ? r->subject : "", r->department ? r->department : "", r->where,
		   r->supervision, r->risk, r->duty, r->title_zh, r->title_en, r->message_zh, r->message_en);
	buf_printf(&b, "\x1f%s", level_name(r->level));
	for (int i = 0; i < r->key.n; i++)
		buf_printf(&b, "\x1fk=%s", r->key.v[i]);
	for (int i = 0; i < r->evidence.n; i++)
		buf_printf(&b, "\x1f" "e=%s", r->evidence.v[i]);
	for (int i = 0; i < r->nparams; i++)
		buf_printf(&b, "\x1fp=%s=%s", r->params[i].name, r->params[i].value);
	EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 8; i++)
		snprintf(r->version + 2 * i, 3, "%02x", md[i]);
	buf_free(&b);
}

static void compile_match(struct qf_rule *r, const char *where)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "SELECT ");
	if (r->key.n == 1) {
		buf_printf(&b, "t.\"%s\"::text", r->key.v[0]);
	} else {
		buf_puts(&b, "jsonb_build_array(");
		for (int i = 0; i < r->key.n; i++)
			buf_printf(&b, "%st.\"%s\"", i ? ", " : "", r->key.v[i]);
		buf_puts(&b, ")::text");
	}
	buf_puts(&b, " AS key,\n       ");
	if (r->subject)
		buf_printf(&b, "t.\"%s\"::text", r->subject);
	else
		buf_puts(&b, "NULL::text");
	buf_puts(&b, " AS subject,\n       ");
	if (r->department)
		buf_printf(&b, "t.\"%s\"::text", r->department);
	else if (r->subject) /* a finding belongs to its subject's department */
		buf_printf(&b, "(SELECT p.department FROM records.person p WHERE p.person_id = t.\"%s\")", r->subject);
	else
		buf_puts(&b, "NULL::text");
	buf_puts(&b, " AS department,\n       jsonb_build_object('table', '");
	buf_puts(&b, r->table); /* validated: letters, digits, '_' and one '.' */
	buf_puts(&b, "'");
	struct strlist cols = {0};
	for (int i = 0; i < r->key.n; i++)
		if (!strlist_has(&cols, r->key.v[i])) {
			cols.v = xrealloc(cols.v, sizeof(char *) * (size_t)(cols.n + 1));
			cols.v[cols.n++] = r->key.v[i];
		}
	for (int i = 0; i < r->evidence.n; i++)
		if (!strlist_has(&cols, r->evidence.v[i])) {
			cols.v = xrealloc(cols.v, sizeof(char *) * (size_t)(cols.n + 1));
			cols.v[cols.n++] = r->evidence.v[i];
		}
	for (int i = 0; i < cols.n; i++)
		buf_printf(&b, ", '%s', t.\"%s\"", cols.v[i], cols.v[i]);
	buf_puts(&b, ")::text AS evidence,\n       jsonb_build_object(");
	for (int i = 0; i < cols.n; i++)
		buf_printf(&b, "%s'%s', t.\"%s\"::text", i ? ", " : "", cols.v[i], cols.v[i]);
	buf_puts(&b, ")::text AS vars\n");
	const char *dot = strchr(r->table, '.');
	buf_printf(&b, "FROM records.\"%s\" AS t\nWHERE (\n%s\n)", dot + 1, where);
	for (int i = 0; i < r->key.n; i++)
		buf_printf(&b, "\n  AND t.\"%s\" IS NOT NULL", r->key.v[i]);
	buf_puts(&b, "\nORDER BY 1");
	free(cols.v); /* the strings are borrowed */
	r->sql = buf_steal(&b);
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
		if (!r->where || !r->table || !r->key.n)
			continue; /* already reported */
		if (!template_ok(r, r->message_zh, d) || !template_ok(r, r->message_en, d))
			continue;
		char *where = bind_params(r, d);
		if (!where)
			continue;
		compile_match(r, where);
		free(where);
		rule_hash(r);
	}
	return d->errors == errs ? 0 : -1;
}

void ruleset_free(struct qf_ruleset *set)
{
	for (int i = 0; i < set->n; i++) {
		struct qf_rule *r = &set->rules[i];
		free(r->id);
		free(r->title_zh);
		free(r->title_en);
		free(r->supervision);
		free(r->risk);
		free(r->duty);
		strlist_free(&r->tags);
		free(r->table);
		strlist_free(&r->key);
		free(r->subject);
		free(r->department);
		free(r->where);
		strlist_free(&r->evidence);
		free(r->message_zh);
		free(r->message_en);
		for (int j = 0; j < r->nparams; j++) {
			free(r->params[j].name);
			free(r->params[j].value);
		}
		free(r->params);
		free(r->sql);
		free(r->values);
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
