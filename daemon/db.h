/* All SQL access, behind typed functions (STYLE.md §2). Values always go
 * through PQexecParams; the only SQL text built at run time is a rule's
 * compiled statement (rule.c), whose values are parameters too. */
#ifndef QF_DB_H
#define QF_DB_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "rule.h"
#include "util.h"

/* the schema version (highest sql/NNN_*.sql) this build expects */
#define QF_SCHEMA_VERSION 19

/* Connects with connect_timeout, application_name, a fixed search_path,
 * UTF-8 and the institute's TimeZone. NULL after logging on failure. */
PGconn *db_connect(const char *conninfo, const char *appname, const char *timezone, int connect_timeout_s);
void db_close(PGconn **c);

/* Every statement (and, with a waiter, every connect) is sent without
 * blocking and its answer awaited in poll(). The daemon's waiter keeps its
 * loop alive meanwhile: a rule may run for statement_timeout, longer than
 * systemd waits for WATCHDOG=1. */
struct db_waiter {
	/* called at least every 250 ms while an answer is awaited (the
	 * watchdog); returns the ms until it wants calling again, or -1 */
	int64_t (*tick)(void *arg);
	void *arg;
	/* when *stop becomes non-zero, a statement still running a second
	 * later is cancelled and the connection given up (db_ok() false): its
	 * transaction rolls back, nothing half-done is kept. NULL: never. */
	const volatile sig_atomic_t *stop;
	/* a server that sends nothing for this long (ms) while a statement
	 * runs is taken as hung: the statement is cancelled and the
	 * connection given up. 0: wait for ever. */
	int silent_ms;
};
/* Installs w (copied), or none (NULL, qfctl and --once: plain waits). */
void db_set_waiter(const struct db_waiter *w);
/* Has PostgreSQL parse and plan sql (an unnamed statement): 0, or -1 with
 * the server's reason in *err (caller frees). */
int db_check_sql(PGconn *c, const char *sql, int nparams, char **err) QF_MUST_CHECK;
/* Whether the hot statements are prepared once per connection (the
 * daemon, default) or sent unnamed each time (a one-off pass). */
void db_use_prepared(bool on);
/* Session settings of the daemon's connection (not qfctl's): its hot
 * statements prefer indexes. 0, or -1 (logged). */
int db_engine_session(PGconn *c) QF_MUST_CHECK;
bool db_ok(PGconn *c);

/* LISTEN on the channel the change capture notifies at each commit. */
int db_listen(PGconn *c) QF_MUST_CHECK;
/* Reads what the server sent; true if a change was notified since. The
 * tables named are added to tables (each once) when it is not NULL. */
bool db_notified(PGconn *c, struct strlist *tables);

/* 0 if the database is at QF_SCHEMA_VERSION, -1 (logged) otherwise */
int db_check_schema(PGconn *c) QF_MUST_CHECK;

/* Applies pending migrations from sqldir; see qfctl(1). Prints progress to
 * stdout. Returns 0, or -1 after printing the reason to stderr. */
int db_migrate(PGconn *c, const char *sqldir) QF_MUST_CHECK;

struct rule_hits {
	PGresult *res; /* columns: key, subject, department, level, evidence, vars; NULL when skipped */
	int64_t started_us; /* wall clock, µs: when the evaluation began (under the lock) */
	char xmin[32]; /* the snapshot's xmin: the rule's next cursor */
	bool skipped;  /* nothing it reads changed and its clock was not due, or busy */
	bool busy;     /* another daemon holds the rule's lock */
	bool locked;   /* we hold it: release with db_rule_unlock() after recording */
	bool delta;    /* only rows changed since the cursor were read */
};

/* Runs a rule's statement in a READ ONLY, REPEATABLE READ transaction
 * bounded by statement_timeout. With a cursor (an xid8 as text) the rule
 * is skipped when no table it reads changed since, unless clock_due, and
 * a match rule reads only the changed rows. On error returns -1 and *err
 * (caller frees). */
int db_rule_hits(PGconn *c, const struct qf_rule *r, int timeout_ms, const char *now, const char *since,
		 const char *cursor, bool clock_due, bool skip_known, bool lock, struct rule_hits *out,
		 char **err) QF_MUST_CHECK;

/* One rule of a batched incremental read (db_delta_batch). */
struct delta_run {
	const struct qf_rule *r; /* with compiled_delta */
	const char *cursor;	 /* its cursor, an xid8 as text */
	struct rule_hits hits;	 /* out: as db_rule_hits gives (hits.res: caller clears) */
	bool failed;		 /* out: its statement failed, err says why (caller frees) */
	char *err;
};

/* Reads the incremental statements of n rules in one round trip, in one
 * READ ONLY, REPEATABLE READ snapshot bounded by statement_timeout. Each
 * rule is skipped as db_rule_hits would skip it (nothing it reads changed,
 * or another daemon holds it) and, when lock is set and it runs, takes its
 * advisory lock (hits.locked, also when it failed: release it). A failing
 * statement fails only its rule. Returns 0, or -1 when the connection was
 * lost. */
int db_delta_batch(PGconn *c, struct delta_run *runs, int n, int timeout_ms, const char *now,
		   bool lock) QF_MUST_CHECK;

/* A claim of due alerts: up to limit for the named receivers (JSON array
 * text), leased to claimer for lease_s; too_old marks those first queued
 * more than max_age_s ago. */
struct claim_req {
	const char *receivers_json;
	int limit, lease_s, max_age_s;
	const char *claimer;
	PGresult *res; /* out (db_record_batch): the claimed rows, or NULL */
};

/* One rule run to record in db_record_batch (as db_record_hits takes it). */
struct record_run {
	const struct qf_rule *r;
	const char *hits_json;
	int64_t started_us;
	long scanned;
	const char *cursor;
	bool clock_ran;
	long created, retriggered, alerts; /* out */
	char *err; /* out: not recorded, and why (caller frees) */
};

/* Records n rule runs (each as db_record_hits does, each its own
 * transaction), then the pass's bookkeeping: its quiet runs (quiet_json as
 * for db_record_quiet_runs), the skipped rules' cursors (advance_json as
 * for db_advance_cursors) and the release of the locks of the rule ids in
 * unlock_json, all in one round trip; NULL jsons are left out. With a
 * claim, the alerts are claimed after the findings commit and before the
 * bookkeeping (claim->res, NULL when it failed: logged). The first
 * bookkeeping statement that fails says why in *tail_err (caller frees).
 * Returns 0, or -1 when the connection was lost. */
int db_record_batch(PGconn *c, struct record_run *w, int n, const char *quiet_json, char **tail_err,
		    const char *advance_json, const char *unlock_json, struct claim_req *claim) QF_MUST_CHECK;

/* The start of a pass, in one round trip: *cursors, the rules' cursors
 * as rows (name, position as text, clock_due) for 'rule:*' cursors,
 * clock_due when the clock-driven run is older than clock_interval_s;
 * with want_changed, *changed, the pass's view of the change log: rows of
 * (xmin of the statement's snapshot, table, newest change xid as text) for
 * changes at or above the oldest rule cursor (one row with NULL table when
 * there are none). A result that failed is NULL (logged). Returns 0, or
 * -1 when the connection was lost. */
int db_pass_start(PGconn *c, int clock_interval_s, bool want_changed, PGresult **cursors,
		  PGresult **changed) QF_MUST_CHECK;
/* Records rule runs that found nothing new and moves their cursors, in one
 * statement: json [{rule_id, version, started, finished (epoch s), scanned,
 * cursor, clock}]. */
int db_record_quiet_runs(PGconn *c, const char *runs_json, char **err) QF_MUST_CHECK;
/* Moves skipped rules' cursors forward: json [{"name":..,"position":..}] */
void db_advance_cursors(PGconn *c, const char *json);
/* Deletes up to 10,000 qf.rule_run rows that started more than keep_days
 * ago; how many, or -1 (logged). */
long db_prune_runs(PGconn *c, int keep_days);
/* Removes auditor scope rows of roles that no longer exist, each with its
 * history event; how many, or -1 (logged). */
long db_scope_cleanup(PGconn *c);
/* Deletes change_log rows every listed rule (json array of ids) has seen. */
void db_prune_changes(PGconn *c, const char *rule_ids_json, int n);

/* Records a rule run: upserts the hits (a JSON array of {key, subject,
 * department, evidence, message, receivers}), their history events and
 * outbox rows, and the qf.rule_run row, in ONE transaction. */
int db_record_hits(PGconn *c, const struct qf_rule *r, const char *hits_json, int64_t started_us, long scanned,
		   const char *cursor, bool clock_ran, long *created, long *retriggered, long *alerts,
		   char **err) QF_MUST_CHECK;
/* Clock-driven finding events, each in one transaction: _begin raises
 * (escalate) or stamps (remind) the findings and returns (id, rule_id,
 * level, department) with the transaction open; db_finding_events writes
 * their events (action, note with %level% replaced) and alerts (event) for
 * routes_json [{id, receivers}], silences applied, and commits. */
PGresult *db_escalate_begin(PGconn *c, int after_days, char **err);
PGresult *db_remind_begin(PGconn *c, int every_hours, char **err);
int db_finding_events(PGconn *c, const char *routes_json, const char *action, const char *event, const char *note,
		      char **err) QF_MUST_CHECK;
/* Resolved notices: _begin returns the 'resolved' events since the
 * 'notices' cursor (event id, finding id, rule_id, level, department, max
 * seq) with the transaction open; _finish queues finding.resolved alerts
 * for routes_json [{event_id, receivers}], moves the cursor, commits. */
PGresult *db_notices_begin(PGconn *c, char **err);
int db_notices_finish(PGconn *c, const char *routes_json, char **err) QF_MUST_CHECK;
/* Records a failed rule run (its own transaction). */
void db_record_rule_error(PGconn *c, const struct qf_rule *r, int64_t started_us, const char *error);

/* Claims alerts. Columns: id, receiver, event, payload, attempts,
 * too_old, minimal, evidence. NULL on error (logged). */
PGresult *db_claim_alerts(PGconn *c, const struct claim_req *q);
/* Marks n claimed alerts delivered (HTTP status each) in one statement. */
int db_alerts_delivered(PGconn *c, const int64_t *ids, const int *status, int n, const char *claimer) QF_MUST_CHECK;
int db_alert_failed(PGconn *c, int64_t id, const char *claimer, int status, const char *error, double retry_s,
		    bool dead) QF_MUST_CHECK;
/* Seconds until the next pending alert is due (<= 0: now), or -1 if none. */
double db_next_due(PGconn *c, const char *receivers_json);
void db_release_claims(PGconn *c, const char *claimer);
/* Gives one claimed alert back untried (a digest had no room for it). */
int db_alert_release(PGconn *c, int64_t id, const char *claimer) QF_MUST_CHECK;
/* pending alerts for the named receivers, -1 on error */
int db_pending_count(PGconn *c, const char *receivers_json);

/* Pending alerts whose receiver is not among receivers_json (a JSON array
 * of the configured names): rows of (receiver, count), by receiver. They
 * wait for a receiver of that name. NULL with *err (caller frees). */
PGresult *db_orphaned_alerts(PGconn *c, const char *receivers_json, char **err);

/* Operators (qfctl). Each returns NULL / -1 with *err (caller frees). */
/* With receivers_json (the configured names), a pending alert for any
 * other receiver shows as "pending (no such receiver)". */
PGresult *db_alerts_list(PGconn *c, const char *state, int limit, const char *receivers_json, char **err);
/* re-queues alert id, or every dead alert when id <= 0; returns how many */
long db_alerts_retry(PGconn *c, long long id, char **err);
long long db_silence_add(PGconn *c, const char *rule, const char *subject, const char *dept, const char *from,
			 const char *until, const char *reason, char **err);
PGresult *db_silence_list(PGconn *c, bool all, char **err);
long db_silence_expire(PGconn *c, long long id, char **err);
int db_set_status(PGconn *c, long long id, const char *status, const char *note, char **err);

/* Auditors. filter: status, level, supervision, risk, duty, rule, person,
 * department, since, until (NULL = any). json: one row, the contract's
 * JSON array; otherwise table rows. */
PGresult *db_findings(PGconn *c, const char *const filter[10], int limit, bool json, char **err);
PGresult *db_finding_show(PGconn *c, long long id, char **err);
PGresult *db_finding_history(PGconn *c, long long id, char **err);
/* The first broken link of the history chain: (seq, event id, why); no row
 * when the chain is intact. */
PGresult *db_audit_verify(PGconn *c, char **err);
PGresult *db_audit_head(PGconn *c, char **err);
/* Report sections (0 matrix, 1 monthly, 2 top rules, 3 departments,
 * 4 open ages, 5 time to resolve, 6 chain head) for findings first seen in
 * [from, to). NULL past the last section. */
PGresult *db_report_section(PGconn *c, int section, const char *from, const char *to, char **err);
/* Releases the rule's session advisory lock (see struct rule_hits). */
void db_rule_unlock(PGconn *c, const char *rule_id);
/* Prometheus lines of the database gauges, each family with its HELP and
 * TYPE; pending alerts of receivers not in receivers_json are counted as
 * qingfeng_alerts_orphaned. Caller frees. NULL on error. */
char *db_metrics_gauges(PGconn *c, const char *receivers_json);

#endif
