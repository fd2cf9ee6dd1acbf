/* Message templates (qingfeng-rules(5), MESSAGES): checked against the
 * fields a rule's hits have when the rule is loaded, rendered from a
 * hit's evidence when a finding is written. */
#include <jansson.h>
#include <string.h>

#include "rule_int.h"
#include "util.h"

bool rule_template_ok(const struct qf_rule *r, const char *tmpl, struct diag *d)
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
