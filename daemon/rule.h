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

#define QF_ENGINE_VERSION 2 /* the rule-file format this build understands */

enum qf_rule_kind {
	QF_RULE_MATCH = 1, /* one-record predicate */
	QF_RULE_SQL,	   /* a full SELECT returning key, subject, department, level, evidence */
	QF_RULE_AGGREGATE, /* per-group condition (having) */
	QF_RULE_FREQUENCY, /* count per group within a time window */
	QF_RULE_DUPLICATE, /* rows sharing values */
	QF_RULE_ABSENCE,   /* an expected record missing by a deadline, per period */
	QF_RULE_STATISTICAL /* Benford first-digit MAD, z-score outliers */
};

/* a name = "SQL expression" pair: aggregate selections, macros */
struct qf_named {
	char *name;
	char *expr;
};

struct qf_rule {
	char *id;
	char *title_zh, *title_en;
	char *supervision, *risk, *duty;
	int level;
	struct strlist tags;
	bool enabled;
	enum qf_rule_kind kind;
	char *table;	      /* schema.table, validated identifiers */
	struct strlist key;   /* key columns (match, duplicate, zscore) or group columns */
	char *subject;	      /* column (match, duplicate) or expression (aggregate, sql-less kinds) */
	char *department;     /* as subject; NULL = the subject's department */
	char *where;	      /* SQL predicate */
	char *level_expr;     /* per-hit level, NULL = the rule's level */
	char *sql;	      /* kind sql */
	char *having;	      /* aggregate */
	struct qf_named *select; /* aggregate/frequency: evidence expressions */
	int nselect;
	char *time_col;	      /* frequency window column; match/aggregate: --since filter */
	char *window;	      /* frequency: days, a number or :param */
	char *threshold;      /* frequency: count, a number or :param */
	struct strlist same;  /* duplicate: columns whose values repeat */
	char *differ;	      /* duplicate: a column that must differ */
	char *order_col;      /* duplicate: the later row is flagged */
	char *method;	      /* statistical: benford | zscore */
	char *value_col;      /* statistical */
	struct strlist group; /* statistical/zscore: comparison group */
	/* absence */
	char *period;	      /* year | quarter */
	char *deadline;	      /* "MM-DD" within the period's year, or "end" */
	char *pop_where;      /* over records.person p */
	char *expect_table, *expect_where, *expect_period, *expect_done;
	bool expect_within;   /* done inside the period */
	struct strlist evidence;
	char *message_zh, *message_en;
	struct qf_param *params;
	int nparams;
	struct qf_named *macros; /* from the file */
	int nmacros;
	struct qf_exception *exceptions;
	int nexceptions;
	const char *file;
	int line;
	int where_line;
	/* compiled */
	char *compiled;       /* the full statement, values $1..$nvalues_full */
	char *compiled_delta; /* match only: restricted to rows changed since a cursor ($nvalues) */
	char **values;	      /* NULL entries are the built-ins below */
	int *builtin;	      /* per value: 0 = param, 1 = :now, 2 = :since, 3 = the cursor, 4 = skip known hits */
	int nvalues, nvalues_full;
	struct strlist deps;  /* records tables the statement reads (change capture decides) */
	bool clock;	      /* reads :now, so the passing of time alone can change its result */
	bool changed_aware;   /* uses ${changed(...)}: reads only touched keys when given a cursor */
	char version[17]; /* first 16 hex digits of SHA-256 of the effective rule */
	long realert_s;	  /* params.realert: a re-trigger is alerted at most this often (s) */
};

/* Lanes (eval.h): a match rule's incremental statement reads the
 * changes of its lane only. The live lane ('live') reads statements that
 * changed at most lane_keys rows, the bulk lane ('bulk') the larger ones,
 * '' (or unset: qfctl, --once) all. keys is a change_log row's key array. */
#define QF_LANE_IF(keys, lane, lane_keys) \
	"(" lane " = '' OR (cardinality(" keys ") > " lane_keys ") = (" lane " = 'bulk'))"
#define QF_LANE_COND(keys)                                                       \
	QF_LANE_IF(keys, "coalesce(current_setting('qingfeng.lane', true), '')", \
		   "nullif(current_setting('qingfeng.lane_keys', true), '')::int")
/* A change the previous read of the rule saw (qingfeng.seen, its snapshot:
 * db_cursor_seen) is not read again: a transaction left open (an import
 * being written) holds the cursor back, and every pass would otherwise
 * re-read every change committed since it began. xid is the change's. */
#define QF_SEEN_IF(xid, seen) "coalesce(NOT pg_visible_in_snapshot(" xid ", nullif(" seen ", '')::pg_snapshot), true)"
#define QF_SEEN_COND(xid) QF_SEEN_IF(xid, "current_setting('qingfeng.seen', true)")

struct qf_ruleset {
	struct qf_rule *rules;
	int n;
	struct strlist files;
};

/* Loads every *.conf in dir (sorted), applies cfg's overrides and compiles
 * each rule. Returns 0, or -1 with every problem in d. Caller frees the
 * set with ruleset_free() either way. */
int ruleset_load(struct qf_ruleset *set, const char *dir, const struct qf_config *cfg, struct diag *d);
/* Loads one rule file (used by tests). */
int ruleset_load_file(struct qf_ruleset *set, const char *file, struct diag *d);
int ruleset_finish(struct qf_ruleset *set, const struct qf_config *cfg, struct diag *d);
void ruleset_free(struct qf_ruleset *set);
const struct qf_rule *ruleset_find(const struct qf_ruleset *set, const char *id);

/* What $n (0-based i) of r's statements is, for people (qfctl rules
 * explain): a parameter's value, or what the engine binds there. */
const char *rule_value_label(const struct qf_rule *r, int i);
/* The values to bind for one evaluation: built-ins filled from now/since
 * (text timestamps) and cursor (an xid8 as text, for compiled_delta). The
 * array is owned by the caller (free it), its strings by the rule or the
 * caller. */
const char **rule_bind_values(const struct qf_rule *r, const char *now, const char *since, const char *cursor,
			      bool skip_known);

/* The column identifying a changed row of a records table in
 * qf.change_log (sql/004_capture.sql), or NULL. */
const char *capture_key(const char *table);

/* Renders a message template: {name} is replaced by vars[name] (string
 * values; JSON null renders as "-"), "{{" and "}}" by literal braces.
 * Caller frees. */
char *rule_render(const char *tmpl, const json_t *vars);

#endif
