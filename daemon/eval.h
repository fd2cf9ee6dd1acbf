/* One evaluation pass: every enabled rule, each in its own read-only
 * snapshot, each rule's findings recorded in one write transaction; then
 * the clock-driven escalation of ageing findings. */
#ifndef QF_EVAL_H
#define QF_EVAL_H

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "db.h"
#include "rule.h"

struct eval_totals {
	long rules, failed, skipped, delta, created, retriggered, alerts, escalated;
	/* eval_opts.claim was answered (claim->res) after every alert the
	 * pass queued: none waits for another claim */
	bool claimed;
};

struct eval_opts {
	const char *now;   /* the clock rules see (:now); NULL = the real time */
	const char *since; /* :since; NULL = -infinity */
	const char *only;  /* one rule id, or NULL for every enabled rule */
	FILE *dry_run;	   /* when set: print the hits here, write nothing */
	bool incremental;  /* skip rules whose tables did not change since their cursor */
	bool lock;	   /* take each rule's advisory lock; skip a rule another daemon holds */
	/* skip the clock work (escalation, reminders, notices, pruning): the
	 * daemon does it on its timer, not on every notification */
	bool no_housekeeping;
	/* leave the pass's bookkeeping (quiet runs, skipped cursors, lock
	 * releases) for eval_flush(), so the caller can send the alerts of
	 * the pass first */
	bool defer_tail;
	/* tables named by change notifications: with cursors from an earlier
	 * pass on this connection, only the rules reading them run, without
	 * asking the database what changed (NULL: ask it) */
	const struct strlist *notified;
	/* when set, the alerts of the findings the pass writes are claimed in
	 * the same round trip (claim->res: start them with
	 * deliver_start_claimed) */
	struct claim_req *claim;
	/* called after each rule (metrics, the watchdog); while a statement
	 * runs, db.c's waiter (db_set_waiter) feeds the watchdog */
	void (*on_rule)(void *arg, const char *rule_id, double seconds, bool failed, bool skipped);
	void *arg;
};

/* Returns 0 when the pass ran (individual rules may have failed: see
 * totals->failed), -1 when the connection was lost. */
int eval_all(PGconn *c, const struct qf_config *cfg, const struct qf_ruleset *set, const struct eval_opts *o,
	     struct eval_totals *t);

/* The rules' clock as text (UTC, microseconds): the real time plus
 * offset_us (qingfengd --clock). */
void eval_now_text(char out[40], int64_t offset_us);

/* Writes what a pass with defer_tail left (also done at the start of the
 * next pass). Returns 0, or -1 when the connection was lost. */
int eval_flush(PGconn *c);
/* Forgets it: the connection it belonged to is gone, and with it the
 * locks (the cursors stay behind, so the rules are read again). */
void eval_discard(void);

/* Raises every open finding not acknowledged within escalate_after days
 * one level (once per step), each rise a history event and an alert.
 * Returns the number raised, or -1 on a database error. */
long eval_escalate(PGconn *c, const struct qf_config *cfg, const struct qf_ruleset *set);

#endif
