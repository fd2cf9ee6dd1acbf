/* Fuzz target: the rule-file parser and the SQL compiler (daemon/rule.c,
 * cfgutil.c), and message templates (rule_render).
 *
 * Input: a rule file. A line "#@config" ends it; what follows is added to a
 * minimal qingfeng.conf whose params (overrides) then apply, otherwise the
 * default configuration does. As the daemon does, ruleset_finish() runs
 * only on a file that loaded cleanly. Invariants:
 *   - success exactly when no error was reported, one FILE:LINE line each;
 *   - each accepted rule is complete, compiled, versioned (16 hex digits);
 *   - its statement is one statement: outside quoted text, no ';' and
 *     balanced parentheses (qingfeng-rules(5));
 *   - its $n are exactly the values it binds: each of $1..$nvalues_full is
 *     used by the full statement, none beyond; the incremental statement
 *     (there exactly for captured match rules and ${changed()} users)
 *     likewise up to nvalues; every bound value is there (no NULL);
 *   - the tables it depends on are captured tables;
 *   - rule_render() of its messages is what qingfeng-rules(5) says (an
 *     independent renderer here), and keeps valid UTF-8 valid.
 */
#include <jansson.h>

#include "rule.h"
#include "fuzz.h"
#include "utf8.h"

static const char CONFIG_MARK[] = "\n#@config\n";
static struct qf_config *default_cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char base[] = "rules_dir = \"/nonexistent\";\n";
	struct diag d;

	(void)argc;
	(void)argv;
	diag_init(&d);
	default_cfg = config_load(fuzz_write("cfg.conf", base, sizeof base - 1), &d);
	if (!default_cfg) {
		diag_print(&d);
		abort();
	}
	diag_free(&d);
	return 0;
}

/* The statement outside quoted text, as bind() reads SQL: '...' and
 * "..." with doubled quotes. Checks ';' and parentheses and collects the
 * $n used into used[] (1-based, up to max); returns the largest n. */
static int scan_sql(const char *sql, bool *used, int max, const char *what, const char *id)
{
	int depth = 0, top = 0;

	for (const char *s = sql; *s;) {
		if (*s == '\'' || *s == '"') {
			char q = *s++;
			while (*s && !(*s == q && s[1] != q))
				s += (*s == q) ? 2 : 1;
			FUZZ_CHECK(*s, "rule %s: %s has unterminated quoted text", id, what);
			s++;
			continue;
		}
		FUZZ_CHECK(*s != ';', "rule %s: %s is more than one statement (';'): %.400s", id, what, sql);
		if (*s == '(')
			depth++;
		if (*s == ')')
			FUZZ_CHECK(--depth >= 0, "rule %s: %s closes a parenthesis it never opened: %.400s", id, what, sql);
		if (*s == '$' && s[1] >= '1' && s[1] <= '9') {
			long n = strtol(s + 1, (char **)&s, 10);
			FUZZ_CHECK(n <= max, "rule %s: %s uses $%ld, but binds only %d values: %.600s", id, what, n, max, sql);
			used[n] = true;
			top = n > top ? (int)n : top;
			continue;
		}
		s++;
	}
	FUZZ_CHECK(depth == 0, "rule %s: %s leaves %d parentheses open", id, what, depth);
	return top;
}

static bool is_hex16(const char *v)
{
	return strlen(v) == 16 && strspn(v, "0123456789abcdef") == 16;
}

static void check_rule(const struct qf_rule *r)
{
	static const char *const levels[] = { "", "yellow", "orange", "red" };
	bool *used = calloc((size_t)r->nvalues + 2, sizeof *used);

	if (!used)
		abort();
	FUZZ_CHECK(r->id && r->title_zh && r->title_en && r->message_zh && r->message_en && r->supervision && r->risk &&
			   r->duty,
		   "rule %s: incomplete", r->id ? r->id : "?");
	FUZZ_CHECK(r->kind >= QF_RULE_MATCH && r->kind <= QF_RULE_STATISTICAL, "rule %s: kind %d", r->id, r->kind);
	FUZZ_CHECK(r->level >= QF_YELLOW && r->level <= QF_RED && !strcmp(level_name(r->level), levels[r->level]),
		   "rule %s: level %d", r->id, r->level);
	FUZZ_CHECK(r->compiled, "rule %s: accepted but not compiled", r->id);
	FUZZ_CHECK(is_hex16(r->version), "rule %s: version '%s'", r->id, r->version);
	FUZZ_CHECK(r->nvalues_full >= 1 && r->nvalues_full <= r->nvalues, "rule %s: %d of %d values", r->id,
		   r->nvalues_full, r->nvalues);

	scan_sql(r->compiled, used, r->nvalues_full, "the statement", r->id);
	for (int i = 1; i <= r->nvalues_full; i++)
		FUZZ_CHECK(used[i], "rule %s: $%d is bound but the statement never uses it", r->id, i);
	/* an incremental statement for a match rule on a captured table and
	 * for a rule that reads ${changed()}, ${incremental} or ${cursor} */
	bool delta = (r->kind == QF_RULE_MATCH && capture_key(strchr(r->table, '.') + 1)) || r->changed_aware;
	FUZZ_CHECK(delta == (r->compiled_delta != NULL), "rule %s: delta statement %s", r->id,
		   delta ? "missing" : "for a rule without one");
	if (r->compiled_delta) {
		memset(used, 0, ((size_t)r->nvalues + 2) * sizeof *used);
		scan_sql(r->compiled_delta, used, r->nvalues, "the delta statement", r->id);
		for (int i = 1; i <= r->nvalues; i++)
			FUZZ_CHECK(used[i], "rule %s: $%d is bound but the delta statement never uses it", r->id, i);
	}
	const char **v = rule_bind_values(r, "2026-01-01 00:00:00+08", "-infinity", "1", true);
	for (int i = 0; i < r->nvalues; i++)
		FUZZ_CHECK(v[i], "rule %s: value $%d is NULL (builtin %d)", r->id, i + 1, r->builtin[i]);
	free(v);
	for (int i = 0; i < r->deps.n; i++)
		FUZZ_CHECK(capture_key(r->deps.v[i]), "rule %s: depends on '%s', which is not captured", r->id, r->deps.v[i]);
	free(used);
}

/* qingfeng-rules(5): {name} is the variable (a string; anything else, or
 * none, is "-"), {{ and }} are braces. For templates the rule checker
 * accepted: every lone { has a } and a name of 1-63 bytes. */
static char *reference_render(const char *t, const json_t *vars)
{
	size_t cap = strlen(t) + 1, n = 0;
	char *out = malloc(cap);

#define PUT(s, len)                                                   \
	do {                                                          \
		size_t l_ = (len);                                    \
		if (n + l_ + 1 > cap) {                               \
			cap = 2 * (n + l_ + 1);                       \
			if (!(out = realloc(out, cap)))               \
				abort();                              \
		}                                                     \
		memcpy(out + n, (s), l_);                             \
		n += l_;                                              \
	} while (0)

	if (!out)
		abort();
	while (*t) {
		if ((t[0] == '{' && t[1] == '{') || (t[0] == '}' && t[1] == '}')) {
			PUT(t, 1);
			t += 2;
		} else if (*t == '{') {
			const char *e = strchr(t, '}');
			char *name = strndup(t + 1, (size_t)(e - t - 1));
			const json_t *v = json_object_get(vars, name);
			if (json_is_string(v))
				PUT(json_string_value(v), json_string_length(v));
			else
				PUT("-", 1);
			free(name);
			t = e + 1;
		} else {
			PUT(t, 1);
			t++;
		}
	}
#undef PUT
	out[n] = '\0';
	return out;
}

/* Variables for a template's names: a string (with braces and non-ASCII,
 * which must come out as they are), JSON null, a number, or absent. */
static json_t *vars_for(const char *t)
{
	json_t *vars = json_object();

	for (const char *p = t; (p = strchr(p, '{')) != NULL;) {
		if (p[1] == '{') {
			p += 2;
			continue;
		}
		const char *e = strchr(p, '}');
		if (!e)
			break;
		char *name = strndup(p + 1, (size_t)(e - p - 1));
		switch (strlen(name) % 4) {
		case 0: {
			char *val = malloc(strlen(name) + 32);
			sprintf(val, "{%s}·值", name);
			json_t *s = json_string_or_fixed(val);
			json_object_set_new(vars, name, s);
			free(val);
			break;
		}
		case 1: json_object_set_new(vars, name, json_null()); break;
		case 2: json_object_set_new(vars, name, json_integer(42)); break;
		default: break;
		}
		free(name);
		p = e + 1;
	}
	return vars;
}

static void check_render(const char *tmpl, const char *id)
{
	json_t *vars = vars_for(tmpl);
	char *got = rule_render(tmpl, vars), *want = reference_render(tmpl, vars);

	FUZZ_CHECK(!strcmp(got, want), "rule %s: rule_render('%.200s') = '%.200s', want '%.200s'", id, tmpl, got, want);
	if (oracle_utf8(tmpl, strlen(tmpl)))
		FUZZ_CHECK(oracle_utf8(got, strlen(got)), "rule %s: rendering made valid UTF-8 invalid", id);
	free(got);
	free(want);
	json_decref(vars);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *mark = memmem(data, size, CONFIG_MARK, sizeof CONFIG_MARK - 1);
	size_t rules_len = mark ? (size_t)(mark - data) : size;
	const char *path = fuzz_write("in.conf", data, rules_len);
	struct qf_config *cfg = default_cfg, *own = NULL;
	struct qf_ruleset set = { 0 };
	struct diag d;
	int rc;

	diag_init(&d);
	if (mark) {
		static const char base[] = "rules_dir = \"/nonexistent\";\n";
		size_t tail = size - rules_len - (sizeof CONFIG_MARK - 1);
		char *text = malloc(sizeof base + tail);
		if (!text)
			abort();
		memcpy(text, base, sizeof base - 1);
		memcpy(text + sizeof base - 1, mark + sizeof CONFIG_MARK - 1, tail);
		fuzz_guard = true;
		own = config_load(fuzz_write("cfg.conf", text, sizeof base - 1 + tail), &d);
		fuzz_guard = false;
		free(text);
		check_diag(&d, "config");
		diag_free(&d);
		diag_init(&d);
		if (own)
			cfg = own;
	}

	fuzz_guard = true;
	rc = ruleset_load_file(&set, path, &d);
	fuzz_guard = false;
	FUZZ_CHECK((rc == 0) == (d.errors == 0), "ruleset_load_file returned %d with %d errors", rc, d.errors);
	if (rc == 0) {
		rc = ruleset_finish(&set, cfg, &d);
		FUZZ_CHECK((rc == 0) == (d.errors == 0), "ruleset_finish returned %d with %d errors", rc, d.errors);
	}
	check_diag(&d, "rules");
	if (rc == 0)
		for (int i = 0; i < set.n; i++) {
			const struct qf_rule *r = &set.rules[i];
			check_rule(r);
			FUZZ_CHECK(ruleset_find(&set, r->id) == r, "rule %s: the id is not unique", r->id);
			check_render(r->message_zh, r->id);
			check_render(r->message_en, r->id);
		}

	/* any text as a template: no crash, valid UTF-8 stays valid */
	char *t = strndup((const char *)data, rules_len);
	if (!t)
		abort();
	json_t *vars = vars_for(t);
	char *out = rule_render(t, vars);
	if (oracle_utf8(t, strlen(t)))
		FUZZ_CHECK(oracle_utf8(out, strlen(out)), "rendering made valid UTF-8 invalid: '%.200s'", t);
	free(out);
	json_decref(vars);
	free(t);

	ruleset_free(&set);
	config_free(own);
	diag_free(&d);
	return 0;
}
