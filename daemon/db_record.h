/* Recording what the rules found: findings (upserted by rule and key),
 * their history events and outbox rows, the qf.rule_run rows, and the
 * rules' cursors, which move only here, in the transaction that writes
 * what they cover; and the pass's bookkeeping (quiet runs, skipped
 * cursors, lock releases), batched. */
#ifndef QF_DB_RECORD_H
#define QF_DB_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "db_outbox.h"
#include "rule.h"

/* One hit to record, rendered and routed. subject and department may be
 * NULL. */
struct finding_hit {
	const char *key, *subject, *department;
	const char *level;    /* the hit's level (a name) */
	const char *evidence; /* JSON text as the rule's statement gave it, recorded as is */
	const char *message;  /* both languages, as the finding shows it */
	const char *const *receivers; /* the receivers it is routed to */
	int nreceivers;
};

/* What recording a rule run wrote. */
struct record_counts {
	long created, retriggered, alerts;
};

/* Records a rule run in ONE transaction: upserts the hits, their history
 * events and outbox rows (silences applied; a re-trigger only once per
 * realert window, or when its level rises), the qf.rule_run row, and
 * moves the rule's cursor "rule:<cid>" to cursor (NULL: it stays; cid
 * NULL: the rule's id; clock_ran: its clock-driven run happened now).
 * -1 with *err (caller frees). */
int db_record_hits(struct db_session *s, const struct qf_rule *r, const char *cid, const struct finding_hit *hits,
		   int nhits, int64_t started_us, const char *cursor, bool clock_ran, bool bulk_too,
		   struct record_counts *out, char **err) QF_MUST_CHECK;

/* The bookkeeping of a pass, written together after its findings: rule
 * runs that found nothing new (with their cursors), the cursors of rules
 * skipped because nothing they read changed, and the rule locks to
 * release. Entries are typed here; db_record.c writes what its SQL reads.
 * Zero-initialised is empty; free with db_tail_free(). */
struct db_tail {
	struct buf quiet, advance, unlock; /* JSON array entries, without the brackets */
};
/* a run of r that found nothing new, from started_us to finished_us (µs,
 * wall clock); its cursor moves to cursor (clock: its clock-driven run) */
void db_tail_quiet(struct db_tail *t, const struct qf_rule *r, const char *cid, int64_t started_us, int64_t finished_us,
		   const char *cursor, bool clock, bool bulk_too);
/* bulk_too (db_record_hits, db_tail_quiet): a full read of a match rule
 * outside the bulk lane also moves (or makes) the bulk lane's cursor
 * "rule:<id>/bulk" up to cursor: it read every statement's changes. */
/* The bulk lane's cursors of the rules (match rules) that have a cursor
 * but none of the bulk lane yet (an upgrade to the lanes): at the live
 * one, never moving one that exists. Before the loop's first pass. */
void db_bulk_cursors_init(struct db_session *s, const char *const *rule_ids, int n);
/* a skipped rule's cursor moves forward to position (never back) */
void db_tail_advance(struct db_tail *t, const char *rule_id, const char *position);
/* the rule's advisory lock is released */
void db_tail_unlock(struct db_tail *t, const char *rule_id);
/* moves from's entries to the end of to's (from is left empty) */
void db_tail_move(struct db_tail *to, struct db_tail *from);
bool db_tail_empty(const struct db_tail *t);
void db_tail_free(struct db_tail *t);
/* The session's deferred bookkeeping: a pass that sends its alerts first
 * leaves its tail here (eval_flush() writes it). */
struct db_tail *db_deferred(struct db_session *s);

/* One rule run to record in db_record_batch (as db_record_hits takes it). */
struct record_run {
	const struct qf_rule *r;
	const char *cid; /* the name of its cursor in its lane (NULL: the rule's id) */
	const struct finding_hit *hits;
	int nhits;
	int64_t started_us;
	const char *cursor;
	bool clock_ran;
	struct record_counts counts; /* out */
	char *err;		     /* out: not recorded, and why (caller frees) */
};

/* Records n rule runs (each as db_record_hits does, each its own
 * transaction), then the tail (NULL: none), all in one round trip. With a
 * claim, the alerts are claimed after the findings commit and before the
 * bookkeeping (claim->claimed, NULL when it failed: logged). The first
 * part of the tail that fails says why in *tail_err (caller frees).
 * Returns 0, or -1 when the connection was lost. */
int db_record_batch(struct db_session *s, struct record_run *w, int n, const struct db_tail *tail, char **tail_err,
		    struct claim_req *claim) QF_MUST_CHECK;

/* Writes the quiet runs of tail (and their cursors) in one statement: 0,
 * or -1 with *err (caller frees). */
int db_record_quiet_runs(struct db_session *s, const struct db_tail *tail, char **err) QF_MUST_CHECK;
/* Moves the skipped rules' cursors of tail forward (failure logged). */
void db_advance_cursors(struct db_session *s, const struct db_tail *tail);
/* Records a failed rule run (its own transaction). */
void db_record_rule_error(struct db_session *s, const struct qf_rule *r, int64_t started_us, const char *error);
/* Releases the rule's session advisory lock (see struct rule_hits). */
void db_rule_unlock(struct db_session *s, const char *rule_id);

/* Housekeeping. Deletes the change_log rows every one of the n rules has
 * seen, once each has a cursor. */
void db_prune_changes(struct db_session *s, const char *const *rule_ids, int n);
/* Deletes up to 10,000 qf.rule_run rows that started more than keep_days
 * ago; how many, or -1 (logged). */
long db_prune_runs(struct db_session *s, int keep_days);
/* Removes auditor scope rows of roles that no longer exist, each with its
 * history event; how many, or -1 (logged). */
long db_scope_cleanup(struct db_session *s);

#endif
