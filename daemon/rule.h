/* The rule model (qingfeng-rules(5)): rule files in libconfig syntax,
 * validated, merged with the deployment's overrides, and compiled to one
 * SQL statement each. PostgreSQL does the set work; C never loops over
 * records. */
#ifndef QF_RULE_H
#define QF_RULE_H

#include <jansson.h>
#include <stdbool.h>

#include "config.h"
#include "diag.h"

#define QF_ENGINE_VERSION 1 /* the rule-file format this build understands */

enum qf_rule_kind { QF_RULE_MATCH = 1 };

struct qf_rule {
	char *id;
	char *title_zh, *title_en;
	char *supervision, *risk, *duty;
	int level;
	struct strlist tags;
	bool enabled;
	enum qf_rule_kind kind;
	char *table;          /* schema.table, validated identifiers */
	struct strlist key;   /* key columns */
	char *subject;        /* column or NULL */
	char *department;     /* column or NULL (then the subject's department) */
	char *where;          /* SQL predicate with :param placeholders */
	struct strlist evidence;
	char *message_zh, *message_en;
	struct qf_param *params;
	int nparams;
	const char *file;
	int line;
	int where_line;
	/* compiled */
	char *sql;
	char **values; /* $1..$n, in order */
	int nvalues;
	char version[17]; /* first 16 hex digits of SHA-256 of the effective rule */
};

struct qf_ruleset {
	struct qf_rule *rules;
	int n;
	struct strlist files;
};

/* Loads every *.conf in dir (sorted), applies cfg's overrides and compiles
 * each rule. Returns 0, or -1 with every problem in d. Caller frees the
 * set with ruleset_free() either way. */
int ruleset_load(struct qf_ruleset *set, const char *dir, const struct qf_config *cfg, struct diag *d);
/* Loads one rule file (used by tests and `qfctl rules check FILE`). */
int ruleset_load_file(struct qf_ruleset *set, const char *file, struct diag *d);
int ruleset_finish(struct qf_ruleset *set, const struct qf_config *cfg, struct diag *d);
void ruleset_free(struct qf_ruleset *set);
const struct qf_rule *ruleset_find(const struct qf_ruleset *set, const char *id);

/* Renders a message template: {name} is replaced by vars[name] (string
 * values; JSON null renders as "-"), "{{" and "}}" by literal braces.
 * Caller frees. */
char *rule_render(const char *tmpl, const json_t *vars);

#endif
