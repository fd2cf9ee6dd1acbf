/* The evaluation pass. C touches only the hits a rule returns (to render
 * messages and route them), never the records themselves.
 *
 * plan:          which rules run, from which cursor, and how: skipped (none
 *                of their tables changed: the cursor moves), in the batch
 *                (incremental), or alone (full: a first run, a clock-driven
 *                one, --once)
 * run + record:  the batch's reads in one round trip and its writes in
 *                another; then each full run, read and recorded
 * finish:        the bookkeeping the writes did not carry
 * housekeeping:  pruning, and the clock (clock.c) */
#include "eval.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "db_record.h"
#include "log.h"
#include "route.h"
#include "utf8.h"

/* How the plan reads a rule. */
enum plan_step {
	STEP_BATCH, /* its incremental statement, with the pass's other ones */
	STEP_FULL   /* alone, after the batch */
};

/* What became of a rule. */
enum rule_outcome {
	RULE_EVALUATED, /* read, and what it found recorded */
	RULE_SKIPPED,	/* nothing it reads changed, or another daemon has it */
	RULE_FAILED,	/* its statement or its write failed (logged, in qf.rule_run) */
	RULE_LOST	/* the connection went */
};

/* A rule the plan keeps, and what the pass made of it. */
struct planned_rule {
	const struct qf_rule *r;
	char cid[80]; /* its cursor's and lock's name in the pass's lane (lane_cid) */
	enum plan_step step;
	/* a copy: the cache it may come from moves during the pass; "" none */
	char cursor[32];
	char *snapshot; /* a batch rule's: the snapshot it was read in */
	bool clock_due; /* a full run that is also its clock-driven run */
	struct rule_hits hits;
	bool failed; /* its statement failed (a batch rule) */
	/* its new hits, rendered and routed (nfh > 0: to record) */
	struct finding_hit *fh;
	int nfh;
	char **msg;
	const char **rcv;
};

struct pass {
	struct db_session *s;
	const struct qf_config *cfg;
	const struct qf_ruleset *set;
	const struct eval_opts *o;
	struct eval_totals *t;
	char nowbuf[40];
	const char *now;
	bool incr; /* an incremental pass */
	bool fast; /* on a notification, with the cursors this session keeps */
	struct pass_start ps;
	const char *gxmin; /* the change log's view: its snapshot's xmin, or NULL */
	struct planned_rule *rules;
	int n, nbatch, nfull;
	/* skipped cursors (and, after the batch, the full runs' quiet runs),
	 * written with the batch or at the end */
	struct db_tail tail;
	int *ridx; /* route_receivers' scratch */
};

void eval_now_text(char out[40], int64_t offset_us)
{
	int64_t us = now_real_us() + offset_us;
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%06lldZ", (long long)(us % 1000000));
}

void eval_render(const struct qf_rule *r, const struct hit *h, struct hit_text *out)
{
	json_t *vars = json_loads(h->vars, 0, NULL);
	int level = level_parse(h->level);

	if (h->level && !level)
		log_warn("rule %s: level_expr gave '%s' for key %s; using %s", r->id, h->level, h->key,
			 level_name(r->level));
	if (!level)
		level = r->level;
	if (!vars)
		vars = json_object();
	json_object_set_new(vars, "key", json_string_or_fixed(h->key));
	json_object_set_new(vars, "subject", h->subject ? json_string_or_fixed(h->subject) : json_null());
	json_object_set_new(vars, "department", h->department ? json_string_or_fixed(h->department) : json_null());
	out->level = level;
	out->zh = rule_render(r->message_zh, vars);
	out->en = rule_render(r->message_en, vars);
	json_decref(vars);
}

void hit_text_free(struct hit_text *x)
{
	free(x->zh);
	free(x->en);
}

/* ---- lanes ---- */

/* The rules a lane reads: match rules on a captured table (their
 * incremental statement reads changed rows, QF_LANE_IF) in the live and
 * the bulk lane, every other rule in the rest lane. */
static bool per_record(const struct qf_rule *r)
{
	return r->kind == QF_RULE_MATCH && r->compiled_delta;
}

bool lane_wants(enum eval_lane lane, const struct qf_rule *r)
{
	switch (lane) {
	case LANE_LIVE:
	case LANE_BULK:
		return per_record(r);
	case LANE_REST:
		return !per_record(r);
	default:
		return true;
	}
}

const char *lane_cid(enum eval_lane lane, const struct qf_rule *r, char out[80])
{
	snprintf(out, 80, "%s%s", r->id, lane == LANE_BULK ? "/bulk" : "");
	return out;
}

const char *lane_name(enum eval_lane lane)
{
	return lane == LANE_LIVE ? "live" : lane == LANE_BULK ? "bulk" : "";
}

/* ---- plan ---- */

/* Whether a table the rule reads is among those notified. */
static bool notified_rule(const struct eval_opts *o, const struct qf_rule *r)
{
	for (int k = 0; k < o->notified->n; k++)
		if (strlist_has(&r->deps, o->notified->v[k]))
			return true;
	return false;
}

/* The pass's start: the previous pass's bookkeeping, then the cursors.
 * On a notification, the tables it named and the cursors this session
 * keeps say which rules to read; otherwise the database says which tables
 * changed since the oldest cursor. Either way a rule none of whose tables
 * changed is skipped without a round trip. 0: go on; 1: nothing to do
 * (the cursors could not be read); -1: the connection was lost. */
static int pass_begin(struct pass *p)
{
	const struct eval_opts *o = p->o;

	/* the previous pass's locks are released before this one takes any */
	if (eval_flush(p->s) < 0)
		return -1;
	p->fast = p->incr && o->notified && db_cursors_cached(p->s);
	for (int i = 0; p->fast && i < p->set->n; i++) { /* a rule it would run has no cursor yet: ask */
		const struct qf_rule *r = &p->set->rules[i];
		char cid[80];
		if (r->enabled && lane_wants(o->lane, r) && notified_rule(o, r) &&
		    !db_cursor_cached(p->s, lane_cid(o->lane, r, cid)))
			p->fast = false;
	}
	if (!p->fast && db_pass_start(p->s, p->cfg->clock_interval_s, p->incr, &p->ps) < 0)
		return -1;
	if (p->ps.have_cursors) {
		p->gxmin = p->ps.xmin;
		if (p->incr)
			db_cursors_load(p->s, &p->ps);
	}
	if (!p->ps.have_cursors && !p->fast)
		return db_ok(p->s) ? 1 : -1;
	return 0;
}

/* Whether a table the rule reads changed at or above its cursor, by the
 * change log's view. */
static bool changed_since(const struct pass *p, const struct qf_rule *r, const char *cursor)
{
	long long cur = strtoll(cursor, NULL, 10);
	for (int k = 0; k < p->ps.nchanges; k++) {
		const struct table_change *c = &p->ps.changes[k];
		if (c->table && strlist_has(&r->deps, c->table) && c->newest >= cur)
			return true;
	}
	return false;
}

static void skipped(struct pass *p, const struct qf_rule *r)
{
	p->t->skipped++;
	if (p->o->on_rule)
		p->o->on_rule(p->o->arg, r->id, 0, false, true);
}

/* Decides for every enabled rule: skipped now, in the batch, or alone. */
static void plan(struct pass *p)
{
	for (int i = 0; i < p->set->n; i++) {
		const struct qf_rule *r = &p->set->rules[i];
		char cid[80];
		if (!r->enabled || !lane_wants(p->o->lane, r))
			continue;
		lane_cid(p->o->lane, r, cid);
		p->t->rules++;
		/* this rule's cursor; a full pass (--once) reads everything but
		 * still leaves the cursor where it got to */
		const char *cursor = NULL;
		bool clock_due = true;
		for (int k = 0; k < p->ps.ncursors; k++)
			if (!strcmp(p->ps.cursors[k].rule_id, cid)) {
				cursor = p->ps.cursors[k].position;
				/* clock rules, and rules that read only touched keys (a full
				 * reconciliation now and then), run in full on the clock */
				clock_due = (r->clock || r->changed_aware) && p->ps.cursors[k].clock_due;
			}
		if (p->fast) {
			/* the clock work waits for the next timed pass */
			cursor = db_cursor_cached(p->s, cid);
			clock_due = false;
			if (!notified_rule(p->o, r)) {
				skipped(p, r);
				continue;
			}
		}
		if (p->o->lane == LANE_BULK && !cursor) {
			/* the bulk lane's cursor comes from a full read of the rule
			 * by the live lane (or from before the lanes): it never
			 * reads a rule in full itself, a second time */
			skipped(p, r);
			continue;
		}
		bool incr = p->incr && cursor && !clock_due;
		if (incr && p->gxmin && !changed_since(p, r, cursor)) {
			db_tail_advance(&p->tail, cid, p->gxmin);
			db_cursor_cache(p->s, cid, p->gxmin);
			skipped(p, r);
			continue;
		}
		struct planned_rule *pr = &p->rules[p->n++];
		pr->r = r;
		snprintf(pr->cid, sizeof pr->cid, "%s", cid);
		pr->step = incr && r->compiled_delta ? STEP_BATCH : STEP_FULL;
		if (p->incr && cursor)
			snprintf(pr->cursor, sizeof pr->cursor, "%s", cursor);
		pr->clock_due = p->incr ? clock_due : true;
		if (pr->step == STEP_BATCH)
			p->nbatch++;
		else
			p->nfull++;
	}
}

/* ---- record: what a rule's read gave, sorted out ---- */

/* Renders and routes the rows of pr->hits into pr->fh (they point into
 * the hits, kept until the rule is recorded). */
static void render_hits(struct pass *p, struct planned_rule *pr)
{
	const struct qf_config *cfg = p->cfg;
	int n = pr->hits.nrows, room = cfg->nreceivers + 1;

	pr->nfh = n;
	pr->fh = xcalloc((size_t)n + 1, sizeof *pr->fh);
	pr->msg = xcalloc((size_t)n + 1, sizeof *pr->msg);
	pr->rcv = xcalloc((size_t)n * (size_t)room + 1, sizeof *pr->rcv);
	for (int i = 0; i < n; i++) {
		const struct hit *h = &pr->hits.rows[i];
		struct finding_hit *f = &pr->fh[i];
		struct hit_text x;
		struct buf msg;

		eval_render(pr->r, h, &x);
		buf_init(&msg);
		buf_printf(&msg, "%s\n%s", x.zh, x.en);
		pr->msg[i] = buf_steal(&msg);
		hit_text_free(&x);
		f->key = h->key;
		f->subject = h->subject;
		f->department = h->department;
		f->level = level_name(x.level);
		f->evidence = h->evidence;
		f->message = pr->msg[i];
		f->receivers = pr->rcv + (size_t)i * (size_t)room;
		f->nreceivers = route_receivers(cfg, pr->r, x.level, h->department, p->ridx);
		for (int k = 0; k < f->nreceivers; k++)
			pr->rcv[(size_t)i * (size_t)room + (size_t)k] = cfg->receivers[p->ridx[k]].name;
	}
}

/* Frees what the pass read and rendered for pr. */
static void planned_clear(struct planned_rule *pr)
{
	rule_hits_clear(&pr->hits);
	free(pr->snapshot);
	pr->snapshot = NULL;
	for (int i = 0; i < pr->nfh; i++)
		free(pr->msg[i]);
	free(pr->msg);
	free(pr->fh);
	free(pr->rcv);
	pr->msg = NULL;
	pr->fh = NULL;
	pr->rcv = NULL;
	pr->nfh = 0;
}

/* A full read of a match rule by the live lane (or --once) read the bulk
 * lane's share of the changes too: its cursor moves with the rule's. */
static bool bulk_too(const struct pass *p, const struct planned_rule *pr, const struct rule_hits *h)
{
	return !h->delta && p->o->lane != LANE_BULK && per_record(pr->r);
}

/* What a rule's statement gave, sorted out: RULE_SKIPPED when it was
 * skipped (nothing it reads changed: its cursor moves, in tail; or
 * busy); otherwise RULE_EVALUATED, and either a quiet run (no new hit:
 * recorded with tail's other quiet runs) or pr->nfh hits to record. */
static enum rule_outcome sort_hits(struct pass *p, struct planned_rule *pr, struct db_tail *tail)
{
	const struct rule_hits *h = &pr->hits;

	if (h->busy) {
		log_debug("rule %s: another daemon is evaluating it", pr->r->id);
		p->t->skipped++;
		return RULE_SKIPPED;
	}
	if (h->skipped) {
		/* nothing it reads changed: only the cursor moves (batched) */
		p->t->skipped++;
		db_tail_advance(tail, pr->cid, h->xmin);
		return RULE_SKIPPED;
	}
	p->t->delta += h->delta;
	if (h->nrows == 0) {
		/* nothing new (known hits never leave the server): the run and
		 * the cursor are recorded with the pass's other quiet runs */
		db_tail_quiet(tail, pr->r, pr->cid, h->started_us, now_real_us(), h->xmin, !h->delta, bulk_too(p, pr, h));
		log_debug("rule %s: nothing new", pr->r->id);
		return RULE_EVALUATED;
	}
	render_hits(p, pr);
	return RULE_EVALUATED;
}

/* The outcome of recording a rule's hits, in the totals and the log:
 * RULE_EVALUATED, RULE_FAILED (recorded in qf.rule_run) or RULE_LOST.
 * Takes err. */
static enum rule_outcome recorded(struct pass *p, const struct qf_rule *r, int64_t started_us, int rows,
				  const struct record_counts *c, char *err)
{
	struct eval_totals *t = p->t;

	if (err) {
		log_err("rule %s: cannot record findings: %s", r->id, err);
		free(err);
		t->failed++;
		if (!db_ok(p->s))
			return RULE_LOST;
		db_record_rule_error(p->s, r, started_us, "cannot record findings");
		return RULE_FAILED;
	}
	if (c->created || c->retriggered)
		log_info("rule %s: %ld new, %ld re-triggered finding(s), %ld alert(s) queued", r->id, c->created,
			 c->retriggered, c->alerts);
	else
		log_debug("rule %s: %d hit(s), nothing new", r->id, rows);
	t->created += c->created;
	t->retriggered += c->retriggered;
	t->alerts += c->alerts;
	return RULE_EVALUATED;
}

/* A rule whose statement failed: logged and recorded in qf.rule_run.
 * RULE_FAILED, or RULE_LOST. Takes err. */
static enum rule_outcome rule_failed(struct pass *p, const struct qf_rule *r, int64_t started_us, char *err)
{
	log_err("rule %s (%s:%d): %s", r->id, r->file, r->line, err);
	p->t->failed++;
	if (!db_ok(p->s)) {
		free(err);
		return RULE_LOST;
	}
	db_record_rule_error(p->s, r, started_us, err);
	free(err);
	return RULE_FAILED;
}

/* Writes all but the last o->chunk hits of *hits in transactions of
 * o->chunk hits each, without moving the cursor, and leaves the last
 * ones in *hits, *n for the write that moves it. Every such write takes
 * the history chain's head lock (docs/ARCHITECTURE.md) until it commits:
 * a bulk of 5,000 findings in one would hold a live alert's write for
 * seconds. A rule interrupted here (kill -9, a failure) keeps its cursor:
 * it reads the same rows again and the hits already written drop out in
 * the server (same evidence), so nothing is lost or made twice. Their
 * counts go to the pass's totals. 0, or -1 with *err (caller frees). */
static int record_chunks(struct pass *p, const struct qf_rule *r, const char *cid, const struct finding_hit **hits,
			 int *n, int64_t started_us, struct record_counts *total, char **err)
{
	int chunk = p->o->chunk;

	while (chunk > 0 && *n > chunk) {
		struct record_counts c = {0};
		if (db_record_hits(p->s, r, cid, *hits, chunk, started_us, NULL, false, false, &c, err) < 0)
			return -1;
		p->t->created += c.created;
		p->t->retriggered += c.retriggered;
		p->t->alerts += c.alerts;
		if (total) {
			total->created += c.created;
			total->retriggered += c.retriggered;
			total->alerts += c.alerts;
		}
		*hits += chunk;
		*n -= chunk;
	}
	return 0;
}

/* The batch's large runs written in chunks before the batch writes their
 * last chunk with the cursor; a run whose chunk failed is taken out of w
 * (its rule failed: its cursor stays). -1 when the connection is gone. */
static int batch_chunks(struct pass *p, struct record_run *w, int *nw)
{
	for (int k = 0; k < *nw; k++) {
		char *err = NULL;
		if (p->o->chunk <= 0 || w[k].nhits <= p->o->chunk)
			continue;
		struct record_counts c = {0};
		if (record_chunks(p, w[k].r, w[k].cid, &w[k].hits, &w[k].nhits, w[k].started_us, &c, &err) == 0) {
			log_info("rule %s: %ld new, %ld re-triggered finding(s) written in chunks of %d before the last",
				 w[k].r->id, c.created, c.retriggered, p->o->chunk);
			continue;
		}
		for (int i = 0; i < p->n; i++)
			if (p->rules[i].r == w[k].r)
				p->rules[i].failed = true;
		if (recorded(p, w[k].r, w[k].started_us, w[k].nhits, &c, err) == RULE_LOST)
			return -1;
		memmove(&w[k], &w[k + 1], sizeof *w * (size_t)(*nw - k - 1));
		(*nw)--;
		k--;
	}
	return 0;
}

/* ---- run: the batch ---- */

/* The snapshot the previous reads of all the batch's rules saw, if it is
 * the same one (the live lane's rules run together): the changes it
 * showed are not read again (QF_SEEN_COND). NULL otherwise. */
static const char *common_seen(const struct db_session *s, const struct delta_run *runs, int n)
{
	const char *seen = n ? db_cursor_seen_get(s, runs[0].cid) : NULL;
	for (int k = 1; k < n && seen; k++) {
		const char *o = db_cursor_seen_get(s, runs[k].cid);
		if (!o || strcmp(o, seen))
			return NULL;
	}
	return seen;
}

/* The batch's reads in one round trip; each rule's hits sorted out into
 * runs to record (*w, *nw) and the batch's tail. -1 when the connection
 * is gone. */
static int batch_read(struct pass *p, struct record_run *w, int *nw, struct db_tail *bt)
{
	struct delta_run *runs = xcalloc((size_t)p->nbatch + 1, sizeof *runs);
	int k = 0, rc = 0;

	for (int i = 0; i < p->n; i++)
		if (p->rules[i].step == STEP_BATCH) {
			runs[k].r = p->rules[i].r;
			runs[k].cid = p->rules[i].cid;
			runs[k++].cursor = p->rules[i].cursor;
		}
	struct db_lane lane = {lane_name(p->o->lane), p->o->lane_keys, common_seen(p->s, runs, k)};
	if (db_delta_batch(p->s, runs, k, p->cfg->statement_timeout_ms, p->now, p->o->lock, &lane) < 0)
		rc = -1;
	/* the cursors the pass skipped so far ride along with the batch's */
	db_tail_move(bt, &p->tail);
	for (int i = 0, j = 0; i < p->n; i++) {
		struct planned_rule *pr = &p->rules[i];
		if (pr->step != STEP_BATCH)
			continue;
		struct delta_run *dr = &runs[j++];
		pr->hits = dr->hits; /* the rows are the rule's now */
		free(pr->snapshot);
		pr->snapshot = dr->snapshot;
		pr->failed = dr->failed;
		if (rc < 0) {
			free(dr->err);
			continue;
		}
		if (pr->hits.locked)
			db_tail_unlock(bt, pr->cid);
		if (pr->failed) {
			if (rule_failed(p, pr->r, pr->hits.started_us, dr->err) == RULE_LOST)
				rc = -1;
			continue;
		}
		if (sort_hits(p, pr, bt) == RULE_SKIPPED || !pr->nfh)
			continue;
		w[*nw] = (struct record_run){.r = pr->r,
					     .cid = pr->cid,
					     .hits = pr->fh,
					     .nhits = pr->nfh,
					     .started_us = pr->hits.started_us,
					     .cursor = pr->hits.xmin};
		(*nw)++;
	}
	free(runs);
	return rc;
}

/* The cursors the batch moved (skipped but not busy, quiet, recorded),
 * in the cache; then each recorded run's outcome. -1 when the connection
 * is gone. */
static int batch_recorded(struct pass *p, struct record_run *w, int nw)
{
	int rc = 0;

	for (int i = 0; i < p->n && db_cursors_cached(p->s); i++) {
		const struct planned_rule *pr = &p->rules[i];
		bool moved = pr->step == STEP_BATCH && !pr->failed && !pr->hits.busy;
		for (int k = 0; moved && k < nw; k++)
			if (w[k].r == pr->r)
				moved = !w[k].err;
		if (moved)
			db_cursor_seen(p->s, pr->cid, pr->hits.xmin, pr->snapshot);
	}
	for (int k = 0; k < nw; k++)
		if (recorded(p, w[k].r, w[k].started_us, w[k].nhits, &w[k].counts, w[k].err) == RULE_LOST)
			rc = -1;
	return rc;
}

/* The incremental rules of a pass together: their reads in one round
 * trip, then their findings, quiet runs, skipped cursors and lock
 * releases in another. A payment commit touches about ten rules, and each
 * alone would cost several round trips and a plan. Returns 0, or -1 when
 * the connection is gone. */
static int run_batch(struct pass *p)
{
	struct record_run *w = xcalloc((size_t)p->nbatch + 1, sizeof *w);
	struct db_tail bt = {0};
	char *qerr = NULL;
	int nw = 0, rc;
	int64_t t0 = now_real_us();

	rc = batch_read(p, w, &nw, &bt);
	if (rc == 0)
		rc = batch_chunks(p, w, &nw);
	if (rc < 0)
		goto out;
	bool defer = p->o->defer_tail;
	if (defer)
		db_tail_move(db_deferred(p->s), &bt);
	/* the alerts of the findings just written are claimed in the same
	 * round trip, so they go out without another one */
	struct claim_req *claim = nw ? p->o->claim : NULL;
	if (db_record_batch(p->s, w, nw, defer ? NULL : &bt, &qerr, claim) < 0) {
		/* each run is its own transaction: those answered before the
		 * connection went are committed, and their findings counted (a
		 * run not answered has no counts) */
		for (int k = 0; k < nw; k++) {
			if (!w[k].err) {
				p->t->created += w[k].counts.created;
				p->t->retriggered += w[k].counts.retriggered;
				p->t->alerts += w[k].counts.alerts;
			}
			free(w[k].err);
		}
		free(qerr);
		rc = -1;
		goto out;
	}
	p->t->claimed = claim && claim->claimed;
	if (qerr) {
		log_err("cannot record the pass's bookkeeping: %s", qerr);
		free(qerr);
		db_cursors_forget(p->s);
	}
	rc = batch_recorded(p, w, nw);
	/* the rules ran together: each is reported with an equal share */
	double share = (double)(now_real_us() - t0) / 1e6 / p->nbatch;
	for (int i = 0; i < p->n && p->o->on_rule; i++) {
		const struct planned_rule *pr = &p->rules[i];
		if (pr->step == STEP_BATCH)
			p->o->on_rule(p->o->arg, pr->r->id, pr->hits.skipped ? 0 : share, pr->failed, pr->hits.skipped);
	}
out:
	for (int i = 0; i < p->n; i++)
		if (p->rules[i].step == STEP_BATCH)
			planned_clear(&p->rules[i]);
	db_tail_free(&bt);
	free(w);
	return rc;
}

/* ---- run: a rule alone ---- */

/* Reads a rule in full (or its ${changed()} delta) and records its hits.
 * *moved: where its cursor went (unless the write failed). */
static enum rule_outcome full_read_record(struct pass *p, struct planned_rule *pr, char moved[32])
{
	const struct qf_rule *r = pr->r;
	struct record_counts c = {0};
	char *err = NULL;

	if (db_rule_hits_as(p->s, r, pr->cid, p->cfg->statement_timeout_ms, p->now, "-infinity",
			    pr->cursor[0] ? pr->cursor : NULL, pr->clock_due, true, p->o->lock, &pr->hits, &err) < 0) {
		/* a read that failed after taking the rule's session lock still
		 * holds it (hits.locked): run_full releases it, or the other
		 * daemons would see the rule busy for as long as we stay
		 * connected, and the next run would stack a second lock on it */
		return rule_failed(p, r, pr->hits.started_us, err);
	}
	if (!pr->hits.busy)
		snprintf(moved, 32, "%s", pr->hits.xmin);
	enum rule_outcome oc = sort_hits(p, pr, &p->tail);
	if (oc == RULE_SKIPPED || !pr->nfh)
		return oc;
	const struct finding_hit *fh = pr->fh;
	int nfh = pr->nfh;
	if (record_chunks(p, r, pr->cid, &fh, &nfh, pr->hits.started_us, NULL, &err) < 0 ||
	    db_record_hits(p->s, r, pr->cid, fh, nfh, pr->hits.started_us, pr->hits.xmin, !pr->hits.delta,
			   bulk_too(p, pr, &pr->hits), &c, &err) < 0) {
		moved[0] = '\0';
		return recorded(p, r, pr->hits.started_us, pr->nfh, &c, err ? err : xstrdup("no answer"));
	}
	return recorded(p, r, pr->hits.started_us, pr->nfh, &c, NULL);
}

/* Runs and records one rule alone, then releases its lock: 0, or -1 when
 * the connection is gone. */
static int run_full(struct pass *p, struct planned_rule *pr)
{
	int64_t t0 = now_real_us();
	long alerts_before = p->t->alerts;
	char moved[32] = "";

	enum rule_outcome oc = full_read_record(p, pr, moved);
	if (p->incr && *moved && db_cursors_cached(p->s))
		db_cursor_cache(p->s, pr->cid, moved);
	if (p->t->alerts != alerts_before)
		p->t->claimed = false; /* queued after the batch's claim */
	if (pr->hits.locked && db_ok(p->s))
		db_rule_unlock(p->s, pr->cid);
	planned_clear(pr);
	if (p->o->on_rule)
		p->o->on_rule(p->o->arg, pr->r->id, (double)(now_real_us() - t0) / 1e6, oc == RULE_FAILED,
			      oc == RULE_SKIPPED);
	return oc == RULE_LOST ? -1 : 0;
}

/* ---- finish, housekeeping ---- */

/* The full runs' quiet runs, then the cursors skipped since the batch:
 * 0, or -1 when the connection is gone. */
static int pass_finish(struct pass *p)
{
	char *qerr = NULL;

	if (db_record_quiet_runs(p->s, &p->tail, &qerr) < 0) {
		log_err("cannot record the pass's rule runs: %s", qerr);
		free(qerr);
		db_cursors_forget(p->s);
		if (!db_ok(p->s))
			return -1;
	}
	db_advance_cursors(p->s, &p->tail);
	return 0;
}

/* Pruning, and the clock work. 0, or -1 when the connection is gone. */
static int housekeeping(struct pass *p)
{
	/* bounded by the cursor of every enabled rule, not only of those
	 * this pass looked at: a pass on a notification may be the one that
	 * does the housekeeping, and a rule it did not run (another table's,
	 * or one that keeps failing) may not have read those changes yet */
	const char **all = xcalloc((size_t)p->set->n + 1, sizeof *all);
	int nall = 0;
	for (int i = 0; i < p->set->n; i++)
		if (p->set->rules[i].enabled)
			all[nall++] = p->set->rules[i].id;
	db_prune_changes(p->s, all, nall);
	free(all);
	if (db_prune_runs(p->s, p->cfg->keep_runs_days) > 0)
		log_debug("pruned rule runs older than %d days", p->cfg->keep_runs_days);
	long gone = db_scope_cleanup(p->s);
	if (gone > 0)
		log_notice("removed %ld auditor scope row(s) of roles that no longer exist", gone);
	long n = clock_work(p->s, p->cfg, p->set);
	if (n < 0)
		return db_ok(p->s) ? 0 : -1;
	p->t->escalated = n;
	return 0;
}

static void pass_free(struct pass *p)
{
	for (int i = 0; i < p->n; i++)
		planned_clear(&p->rules[i]);
	free(p->rules);
	free(p->ridx);
	db_tail_free(&p->tail);
	pass_start_clear(&p->ps);
}

int eval_all(struct db_session *s, const struct qf_config *cfg, const struct qf_ruleset *set,
	     const struct eval_opts *o, struct eval_totals *t)
{
	struct pass p = {.s = s, .cfg = cfg, .set = set, .o = o, .t = t, .incr = o->incremental};
	int rc;

	memset(t, 0, sizeof *t);
	p.now = o->now ? o->now : (eval_now_text(p.nowbuf, 0), p.nowbuf);
	p.rules = xcalloc((size_t)set->n + 1, sizeof *p.rules);
	p.ridx = xcalloc((size_t)cfg->nreceivers + 1, sizeof *p.ridx);
	rc = pass_begin(&p);
	if (rc != 0)
		goto out;
	plan(&p);
	/* incremental runs go in one batch; full runs (first, clock-driven,
	 * --once) one by one afterwards, so their cost delays no alert */
	if (p.nbatch && run_batch(&p) < 0) {
		rc = -1;
		goto out;
	}
	if (p.nfull && eval_flush(s) < 0) {
		rc = -1;
		goto out;
	}
	for (int i = 0; i < p.n; i++)
		if (p.rules[i].step == STEP_FULL && run_full(&p, &p.rules[i]) < 0) {
			rc = -1;
			goto out;
		}
	rc = pass_finish(&p);
	if (rc == 0 && !o->no_housekeeping)
		rc = housekeeping(&p);
out:
	pass_free(&p);
	return rc < 0 ? -1 : 0;
}

int eval_flush(struct db_session *s)
{
	struct db_tail *d = db_deferred(s);

	if (db_tail_empty(d))
		return 0;
	char *qerr = NULL;
	struct db_tail tail = *d;
	memset(d, 0, sizeof *d); /* written now, or never: it is this session's */
	int rc = db_record_batch(s, NULL, 0, &tail, &qerr, NULL);
	db_tail_free(&tail);
	if (qerr || rc < 0) {
		/* the cursors did not move as cached: read them again */
		if (qerr)
			log_err("cannot record the pass's bookkeeping: %s", qerr);
		free(qerr);
		db_cursors_forget(s);
	}
	return rc;
}
