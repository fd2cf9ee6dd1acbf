/* Reading the rules: where a compiled rule meets the database. The start
 * of a pass (the rules' cursors, what changed since), a rule's statement
 * alone or many rules' incremental statements in one round trip, each in
 * a READ ONLY, REPEATABLE READ snapshot whose xmin becomes the rule's next
 * cursor; and the cursors this session keeps between passes. */
#ifndef QF_DB_EVAL_H
#define QF_DB_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "rule.h"

/* One row a rule's statement returned. subject, department and level are
 * NULL when the statement gave NULL. */
struct hit {
	const char *key, *subject, *department, *level;
	const char *evidence; /* JSON text as PostgreSQL wrote it: amounts keep their digits */
	const char *vars;     /* JSON object text: the message template's values */
};

struct rule_hits {
	struct hit *rows; /* NULL when skipped (or failed); freed by rule_hits_clear() */
	int nrows;
	int64_t started_us; /* wall clock, µs: when the evaluation began (under the lock) */
	char xmin[32];	    /* the snapshot's xmin: the rule's next cursor */
	bool skipped;	    /* nothing it reads changed and its clock was not due, or busy */
	bool busy;	    /* another daemon holds the rule's lock */
	bool locked;	    /* we hold it: release with db_rule_unlock() after recording */
	bool delta;	    /* only rows changed since the cursor were read */
	void *res_;	    /* the rows point into it */
};
/* Frees the rows (the rest of *h stays as it was). */
void rule_hits_clear(struct rule_hits *h);

/* Runs a rule's statement in a READ ONLY, REPEATABLE READ transaction
 * bounded by statement_timeout. With a cursor (an xid8 as text) the rule
 * is skipped when no table it reads changed since, unless clock_due, and
 * a match rule reads only the changed rows. On error returns -1 and *err
 * (caller frees). Either way the caller clears out with
 * rule_hits_clear(). */
int db_rule_hits(struct db_session *s, const struct qf_rule *r, int timeout_ms, const char *now, const char *since,
		 const char *cursor, bool clock_due, bool skip_known, bool lock, struct rule_hits *out,
		 char **err) QF_MUST_CHECK;

/* As db_rule_hits, under cid: the name of the rule's cursor and lock in
 * its lane ("F09", or "F09/bulk" for the bulk lane). */
int db_rule_hits_as(struct db_session *s, const struct qf_rule *r, const char *cid, int timeout_ms, const char *now,
		    const char *since, const char *cursor, bool clock_due, bool skip_known, bool lock,
		    struct rule_hits *out, char **err) QF_MUST_CHECK;

/* The share of the change log a lane's match rules read (rule.h,
 * QF_LANE_IF): name "" (or NULL) every change, "live" the statements
 * that changed at most keys rows, "bulk" the larger ones. */
struct db_lane {
	const char *name;
	int keys;
	/* the snapshot every rule's previous read saw (db_cursor_seen_get),
	 * when they share it: its changes are not read again. NULL: none */
	const char *seen;
};

/* One rule of a batched incremental read (db_delta_batch). */
struct delta_run {
	const struct qf_rule *r; /* with compiled_delta */
	const char *cid;	 /* its cursor's and lock's name (NULL: the rule's id) */
	const char *cursor;	 /* its cursor, an xid8 as text */
	struct rule_hits hits;	 /* out: as db_rule_hits gives it (caller clears) */
	bool failed;		 /* out: its statement failed, err says why (caller frees) */
	char *err;
	char *snapshot; /* out: the snapshot it was read (or skipped) in, as text (caller frees) */
};

/* Reads the incremental statements of n rules in one round trip, in one
 * READ ONLY, REPEATABLE READ snapshot bounded by statement_timeout. Each
 * rule is skipped as db_rule_hits would skip it (nothing it reads changed,
 * or another daemon holds it) and, when lock is set and it runs, takes its
 * advisory lock (hits.locked, also when it failed: release it). A failing
 * statement fails only its rule. Returns 0, or -1 when the connection was
 * lost. */
int db_delta_batch(struct db_session *s, struct delta_run *runs, int n, int timeout_ms, const char *now, bool lock,
		   const struct db_lane *lane) QF_MUST_CHECK;

/* A rule's cursor as the start of a pass read it. */
struct rule_cursor {
	const char *rule_id;  /* the cursor is named "rule:<rule_id>" */
	const char *position; /* an xid8 as text */
	bool clock_due;	      /* its clock-driven run is older than the clock interval */
};

/* The newest change to a table at or above the oldest rule cursor. */
struct table_change {
	const char *table; /* NULL: the one row said when nothing changed */
	long long newest;  /* xid */
};

struct pass_start {
	bool have_cursors; /* false when they could not be read (logged) */
	struct rule_cursor *cursors;
	int ncursors;
	/* with want_changed, and read: the snapshot's xmin of that read (NULL
	 * when it gave no row) and the tables changed */
	bool have_changes;
	const char *xmin;
	struct table_change *changes;
	int nchanges;
	void *res_[2];
};
/* The start of a pass, in one round trip: the rules' cursors, clock_due
 * when the clock-driven run is older than clock_interval_s; with
 * want_changed, the pass's view of the change log since the oldest rule
 * cursor. Returns 0, or -1 when the connection was lost; either way the
 * caller frees *out with pass_start_clear(). */
int db_pass_start(struct db_session *s, int clock_interval_s, bool want_changed, struct pass_start *out) QF_MUST_CHECK;
void pass_start_clear(struct pass_start *ps);

/* The rules' cursors as this session last read or moved them, so a pass
 * on a notification needs no round trip to learn them. Loaded by every
 * pass that reads them from the database, moved by our own successful
 * writes, dropped with the session or when a write of them failed. A
 * cursor here may lag the database's (another daemon moved it): the rule
 * then re-reads changes it has seen, and hits already recorded drop out in
 * the server. It is never ahead of what this session evaluated. */
bool db_cursors_cached(const struct db_session *s);
/* the cached cursor of rule_id, or NULL */
const char *db_cursor_cached(const struct db_session *s, const char *rule_id);
void db_cursor_cache(struct db_session *s, const char *rule_id, const char *position);
/* replaces the cache with the cursors ps read (ps->have_cursors) */
void db_cursors_load(struct db_session *s, const struct pass_start *ps);
/* as db_cursor_cache, for a read in snapshot (pg_snapshot text; NULL:
 * unknown) that read every change it showed: the next read of the rule
 * skips them (QF_SEEN_COND) */
void db_cursor_seen(struct db_session *s, const char *rule_id, const char *position, const char *snapshot);
/* the snapshot of the read that moved rule_id's cached cursor, or NULL */
const char *db_cursor_seen_get(const struct db_session *s, const char *rule_id);
/* drops the cache: the next pass reads the cursors again */
void db_cursors_forget(struct db_session *s);

#endif
