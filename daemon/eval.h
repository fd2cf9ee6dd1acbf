/* An evaluation pass: plan (which rules, from which cursor), run (their
 * statements: the incremental ones together, the full ones one by one),
 * record (each rule's new hits, rendered and routed, in one write
 * transaction), then housekeeping (pruning, and the clock: clock.h). */
#ifndef QF_EVAL_H
#define QF_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "db_eval.h"
#include "db_outbox.h"
#include "rule.h"

struct eval_totals {
	long rules, failed, skipped, delta, created, retriggered, alerts, escalated;
	/* eval_opts.claim was answered (claim->claimed) after every alert the
	 * pass queued: none waits for another claim */
	bool claimed;
};

/* Lanes (docs/ARCHITECTURE.md, "Lanes"): the daemon reads the rules in
 * three sessions, so that a per-record alert never waits for another
 * rule's cost. */
enum eval_lane {
	LANE_ALL,  /* every rule, every change (--once, qfctl) */
	LANE_LIVE, /* match rules, on statements that changed at most lane_keys rows */
	LANE_BULK, /* match rules, on the larger statements; cursors and locks "<id>/bulk" */
	LANE_REST  /* every other rule (windows, statistics, SQL), and the clock */
};
/* whether the lane reads r */
bool lane_wants(enum eval_lane lane, const struct qf_rule *r);
/* the name of r's cursor and lock in the lane: its id, or "<id>/bulk" */
const char *lane_cid(enum eval_lane lane, const struct qf_rule *r, char out[80]);
/* the lane as its statements set qingfeng.lane (rule.h QF_LANE_IF) */
const char *lane_name(enum eval_lane lane);

struct eval_opts {
	enum eval_lane lane;
	int lane_keys; /* LANE_LIVE, LANE_BULK: the bound between them (rows of one statement) */
	/* > 0: a rule run's hits beyond this many are written in transactions
	 * of this many before the last, which moves the cursor */
	int chunk;
	const char *now;  /* the clock rules see (:now); NULL = the real time */
	bool incremental; /* skip rules whose tables did not change since their cursor */
	bool lock;	  /* take each rule's advisory lock; skip a rule another daemon holds */
	/* skip the clock work (escalation, reminders, notices, pruning): the
	 * daemon does it on its timer, not on every notification */
	bool no_housekeeping;
	/* leave the pass's bookkeeping (quiet runs, skipped cursors, lock
	 * releases) for eval_flush(), so the caller can send the alerts of
	 * the pass first */
	bool defer_tail;
	/* tables named by change notifications: with cursors from an earlier
	 * pass on this session, only the rules reading them run, without
	 * asking the database what changed (NULL: ask it) */
	const struct strlist *notified;
	/* when set, the alerts of the findings the pass writes are claimed in
	 * the same round trip (claim->claimed: start them with
	 * deliver_start_claimed) */
	struct claim_req *claim;
	/* called after each rule (metrics, the watchdog); while a statement
	 * runs, the session's waiter (db_set_waiter) feeds the watchdog */
	void (*on_rule)(void *arg, const char *rule_id, double seconds, bool failed, bool skipped);
	void *arg;
};

/* Evaluates every enabled rule of set. Returns 0 when the pass ran
 * (individual rules may have failed: see t->failed), -1 when the
 * connection was lost. */
int eval_all(struct db_session *s, const struct qf_config *cfg, const struct qf_ruleset *set,
	     const struct eval_opts *o, struct eval_totals *t);

/* Writes what a pass with defer_tail left (also done at the start of the
 * next pass). Returns 0, or -1 when the connection was lost. */
int eval_flush(struct db_session *s);

/* The rules' clock as text (UTC, microseconds): the real time plus
 * offset_us (qingfengd --clock). */
void eval_now_text(char out[40], int64_t offset_us);

/* A hit as a finding shows it: its level (the rule's level_expr's, or the
 * rule's) and its message in each language. */
struct hit_text {
	int level;
	char *zh, *en;
};
/* Renders h; free with hit_text_free(). */
void eval_render(const struct qf_rule *r, const struct hit *h, struct hit_text *out);
void hit_text_free(struct hit_text *x);

#endif
