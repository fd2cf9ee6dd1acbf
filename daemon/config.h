/* The daemon configuration (qingfeng.conf(5), libconfig syntax), parsed
 * into validated structs. Nothing outside config.c touches libconfig for
 * the main file. */
#ifndef QF_CONFIG_H
#define QF_CONFIG_H

#include <stdbool.h>

#include "diag.h"

#define QF_EX_CONFIG 78 /* sysexits.h EX_CONFIG */

enum qf_level { QF_LEVEL_NONE = 0, QF_YELLOW = 1, QF_ORANGE = 2, QF_RED = 3 };
/* json is the webhook contract; the others are chat.h's formats + 1 */
enum qf_format { QF_FMT_JSON = 0, QF_FMT_DINGTALK, QF_FMT_WECOM, QF_FMT_FEISHU, QF_FMT_SLACK };
enum qf_detail { QF_DETAIL_FULL = 0, QF_DETAIL_MINIMAL = 1 };

const char *level_name(int level);
int level_parse(const char *s); /* QF_LEVEL_NONE when unknown */

struct strlist {
	char **v;
	int n;
};
bool strlist_has(const struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

/* a recurring maintenance window, local time; to <= from runs past midnight */
struct qf_window {
	int days; /* bit 0 = Sunday .. bit 6 = Saturday */
	int from_min, to_min;
};

struct qf_receiver {
	char *name;
	enum qf_format format;
	char *url;    /* secret when it carries a token: never log it */
	char *secret; /* NULL = unsigned */
	int timeout_ms;
	char *ca_file; /* NULL = system store; verification is always on */
	enum qf_detail detail;
	struct strlist mentions[4]; /* by level: [QF_YELLOW], [QF_ORANGE], [QF_RED] */
	int rate_per_minute;	   /* 0 = unlimited */
	bool notify_resolved;	   /* also tell it when a finding is resolved */
	struct qf_window *maintenance; /* alerts are held, not dropped, while one is on */
	int nmaintenance;
	const char *file;
	int line;
};

struct qf_route {
	struct strlist supervision, risk, duty, rule, tag, department;
	struct strlist event; /* alert events (finding.new, finding.overdue, ...); none = every event */
	int min_level; /* QF_LEVEL_NONE = any */
	int *receivers; /* indices into cfg->receivers */
	int nreceivers;
	bool cont; /* fall through to the next route after a match */
	const char *file;
	int line;
};

/* A rule parameter value, bound to SQL as text and typed by its context. */
struct qf_param {
	char *name;
	char *value;
	bool numeric;
	int line;
};

/* An exception to a rule: hits whose evidence fields equal the values are
 * not flagged until a date, for a stated reason (e.g. a vendor exempt from
 * F10 while a framework contract runs). */
struct qf_exception {
	struct qf_param *fields; /* evidence field = value */
	int nfields;
	char *until; /* date or timestamp, exclusive */
	char *reason;
	const char *file;
	int line;
};

/* A deployment's override of one rule: enabled, level, parameters and
 * extra exceptions. */
struct qf_override {
	char *rule_id;
	int enabled; /* -1 = not set */
	int level;   /* QF_LEVEL_NONE = not set */
	struct qf_param *params;
	int nparams;
	struct qf_exception *exceptions;
	int nexceptions;
	const char *file;
	int line;
};

/* disposal.owners: who owns a new finding (DISPOSAL.md) */
struct qf_owner_rule {
	char *department; /* NULL: the default, for every other department */
	char *role;	  /* a PostgreSQL role name */
	int line;
};

/* The disposal loop (qingfeng.conf(5) "disposal"). */
struct qf_disposal {
	bool four_eyes; /* the role that closes must not be the one that gave the feedback */
	struct qf_owner_rule *owners;
	int nowners;
	int deadlines[4][2]; /* by level ([QF_YELLOW]..[QF_RED]): [sign, close] workdays */
	int overdue_every;   /* workdays between two overdue alerts of a late finding */
};

/* The web console (qfweb(8), qingfeng.conf(5) "console"). */
struct qf_console {
	char *listen;	      /* "ADDR:PORT" */
	char *url;	      /* its public address, no trailing '/'; NULL: chat messages carry no link */
	char *trusted_header; /* a proxy's header naming the authenticated user; NULL: none */
	int idle_timeout_s;
};

struct qf_config {
	char *path;
	char *conninfo; /* "" = libpq defaults / PG* environment */
	int connect_timeout_s;
	int statement_timeout_ms;
	char *rules_dir;
	int rules_dir_line;
	char *timezone;
	int log_level;
	int eval_interval_s;
	int clock_interval_s; /* clock-driven rules run at least this often */
	int keep_runs_days;   /* qf.rule_run rows older than this are deleted */
	char *metrics_listen;  /* "ADDR:PORT" for /metrics and /healthz; "" = off */
	int escalate_after_days; /* an open, unacknowledged finding rises a level after this */
	int remind_red_hours;    /* open red findings are re-sent this often; 0 = never */
	/* delivery */
	int max_attempts;
	int max_age_s;
	int backoff_initial_ms;
	int backoff_max_ms;
	int max_in_flight;
	int once_deadline_s;
	int lease_margin_s; /* a claim lasts the receiver timeout plus this */
	struct qf_receiver *receivers;
	int nreceivers;
	struct qf_route *routes;
	int nroutes;
	struct qf_override *overrides;
	int noverrides;
	struct qf_disposal disposal;
	struct qf_console console;
	/* watching the watchers (TRUST.md) */
	bool four_eyes;		      /* silence.four_eyes: red and disciplinary silences need a 2nd admin */
	struct strlist anchor_receivers; /* audit.anchor_receivers: json receivers that get the chain head */
	int anchor_every_s;	      /* audit.anchor_every */
	char *identity;		      /* audit.identity; NULL: host:configuration path */
	/* interned file names that diagnostics and structs point into */
	struct strlist files;
};

/* Parses and validates FILE. Returns a config (caller frees with
 * config_free) or NULL with every problem in d. */
struct qf_config *config_load(const char *file, struct diag *d);
void config_free(struct qf_config *cfg);
const struct qf_receiver *config_receiver(const struct qf_config *cfg, const char *name);
/* The receivers' names as a JSON array, for SQL; caller frees. */
char *config_receivers_json(const struct qf_config *cfg);

#endif
