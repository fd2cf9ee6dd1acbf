/* What operators and auditors ask (qfctl): alerts, silences, findings and
 * their history, the history chain, report sections; and the database
 * gauges of /metrics. Listings come back as tables of text, each column
 * formatted by the SQL for display and headed by qfctl; what a caller
 * reads field by field comes back as a struct. Each function returns -1
 * (or NULL) with *err (caller frees) on failure. */
#ifndef QF_DB_OPS_H
#define QF_DB_OPS_H

#include <stdbool.h>

#include "db.h"

/* Rows of text cells; a SQL NULL is "". */
struct db_table {
	int nrows, ncols;
	const char **cells; /* row-major */
	void *res_;	    /* the cells point into it */
};
const char *db_cell(const struct db_table *t, int row, int col);
void db_table_clear(struct db_table *t);

/* Alerts, newest first: id, state, receiver, event, finding, rule, level,
 * attempts, next attempt, delivered, last error. state NULL: any. With
 * receivers (the configured names; NULL: no configuration), a pending
 * alert for any other receiver shows as "pending (no such receiver)". */
int db_alerts_list(struct db_session *s, const char *state, int limit, const char *const *receivers, int nreceivers,
		   struct db_table *out, char **err) QF_MUST_CHECK;
/* re-queues alert id, or every dead alert when id <= 0; returns how many */
long db_alerts_retry(struct db_session *s, long long id, char **err);

/* A silence (NULL rule, subject or department: any; NULL from: now);
 * returns its id. */
long long db_silence_add(struct db_session *s, const char *rule, const char *subject, const char *dept,
			 const char *from, const char *until, const char *reason, char **err);
/* id, rule, person, department, from, until, by, reason, state; active
 * ones, or all */
int db_silence_list(struct db_session *s, bool all, struct db_table *out, char **err) QF_MUST_CHECK;
/* ends silence id now; how many ended (0 or 1) */
long db_silence_expire(struct db_session *s, long long id, char **err);

/* A status change people make (ack, resolve, dismiss, reopen), with its
 * history event. */
int db_set_status(struct db_session *s, long long id, const char *status, const char *note, char **err) QF_MUST_CHECK;

/* The findings filter of qfctl(1), in this order; NULL does not filter. */
enum findings_filter {
	FF_STATUS, FF_LEVEL, FF_SUPERVISION, FF_RISK, FF_DUTY, FF_RULE, FF_PERSON, FF_DEPARTMENT, FF_SINCE, FF_UNTIL,
	FF_OWNER, FF_LIGHT, FF_OVERDUE, /* FF_OVERDUE: "t" or NULL */
	FF_N
};
/* id, level, status, rule, department, person, first seen, last seen,
 * hits, supervision, risk, duty, title, then the disposal's owner, light,
 * sign due, close due, outcome, disposition; newest first */
int db_findings(struct db_session *s, const char *const filter[FF_N], int limit, struct db_table *out,
		char **err) QF_MUST_CHECK;
/* The same findings for an export (qfctl findings --format csv): the
 * columns of db_findings(), then the evidence's amount (a number, or ""),
 * its source table, the record's key (the finding's dedupe key), the
 * rendered message and the whole evidence (JSON), then the disposal's
 * columns as db_findings() ends with. */
int db_findings_export(struct db_session *s, const char *const filter[FF_N], int limit, struct db_table *out,
		       char **err) QF_MUST_CHECK;
/* The same findings as the data contract's JSON array, built by
 * PostgreSQL (exact numerics); caller frees. */
char *db_findings_json(struct db_session *s, const char *const filter[FF_N], int limit, char **err);

/* One finding as `qfctl findings show` prints it. */
struct finding_detail {
	const char *id, *rule_id, *title, *level, *status, *supervision, *risk, *duty, *subject, *department, *hits,
		*first_seen, *last_seen, *rule_version;
	const char *message;
	const char *evidence; /* pretty-printed JSON */
	void *res_;
};
/* 1 (found), 0 (no such finding) or -1; free *out with
 * finding_detail_clear() unless -1 */
int db_finding_show(struct db_session *s, long long id, struct finding_detail *out, char **err) QF_MUST_CHECK;
void finding_detail_clear(struct finding_detail *f);
/* its history: seq, at, actor, action, level, note, hash (16 digits) */
int db_finding_history(struct db_session *s, long long id, struct db_table *out, char **err) QF_MUST_CHECK;

/* The history chain's head, to record elsewhere. */
struct chain_head {
	const char *seq, *hash, *at;
	void *res_;
};
int db_audit_head(struct db_session *s, struct chain_head *out, char **err) QF_MUST_CHECK;
void chain_head_clear(struct chain_head *h);
/* The first broken link of the history chain (computed as the owner over
 * every event, whatever the auditor's scope). */
struct chain_break {
	const char *seq;
	const char *event_id; /* NULL: the head does not match the last event */
	const char *why;
	void *res_;
};
/* 1 (broken: *out says where; clear it with chain_break_clear()), 0
 * (intact) or -1 */
int db_audit_verify(struct db_session *s, struct chain_break *out, char **err) QF_MUST_CHECK;
void chain_break_clear(struct chain_break *b);

/* Report sections, for findings first seen in [from, to): label columns
 * (the 423 vocabularies in English, as stored) and counts. */
enum report_section {
	REPORT_MATRIX,	    /* supervision, risk, duty, level, findings: all 72
			     * combinations in the method's order, zeros included */
	REPORT_MONTHLY,	    /* month of the record, level, findings: every level of
			     * every month from the first to the last (gaps as 0) */
	REPORT_TOP_RULES,   /* rule, title, findings, red, orange, yellow */
	REPORT_DEPARTMENTS, /* department, open, findings, red, orange, yellow */
	REPORT_OPEN_AGES,   /* age bucket, findings */
	REPORT_RESOLVE,	    /* 'resolved', count, median days, p90 days */
	REPORT_CHAIN_HEAD,  /* seq, hash, the time it was read */
	REPORT_NSECTIONS
};
/* The evidence keys that hold the time of the record a finding is about,
 * in the order REPORT_MONTHLY tries them (a comma-separated list, for the
 * report's footnote); a finding with none is counted by first_seen. */
extern const char db_report_time_keys[];
int db_report_section(struct db_session *s, enum report_section section, const char *from, const char *to,
		      struct db_table *out, char **err) QF_MUST_CHECK;

/* The database gauges of /metrics, by family, in this order. */
enum db_gauge {
	GAUGE_FINDINGS,	       /* by level and status, every pair, 0 included */
	GAUGE_ALERTS,	       /* by state, delivered ones aside */
	GAUGE_OUTBOX_DEPTH,    /* pending alerts (deprecated: GAUGE_ALERTS has them) */
	GAUGE_OLDEST_PENDING,  /* seconds */
	GAUGE_CHANGE_LAG,      /* seconds */
	GAUGE_ALERTS_ORPHANED, /* pending alerts of a receiver not configured, by receiver */
	GAUGE_FINDINGS_OVERDUE, /* findings late for signing or closing now, by level */
	GAUGE_NFAMILIES
};
struct gauge_sample {
	enum db_gauge family;
	const char *series;   /* the name and its labels, or NULL for a receiver's sample */
	const char *value;
	const char *receiver; /* for GAUGE_ALERTS_ORPHANED: any text, to escape */
};
struct gauges {
	struct gauge_sample *v;
	int n;
	void *res_;
};
/* Reads every gauge, pending alerts of receivers not among the n names
 * counted as orphaned: 0, or -1 (logged). Free *out with gauges_clear()
 * either way. */
int db_gauges(struct db_session *s, const char *const *receivers, int n, struct gauges *out) QF_MUST_CHECK;
void gauges_clear(struct gauges *g);

#endif
