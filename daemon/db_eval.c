/* Reading the rules: a compiled rule's statement run in its snapshot, the
 * batched incremental read, the start of a pass, the cursor cache. */
#include "db_eval.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "log.h"

/* A rule statement's rows (key, subject, department, level, evidence,
 * vars) as hits pointing into res, which h then owns. */
static void take_hits(struct rule_hits *h, PGresult *res)
{
	int n = PQntuples(res);

	h->res_ = res;
	h->nrows = n;
	h->rows = xcalloc((size_t)n + 1, sizeof *h->rows);
	for (int i = 0; i < n; i++) {
		struct hit *x = &h->rows[i];
		x->key = PQgetvalue(res, i, 0);
		x->subject = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
		x->department = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
		x->level = PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3);
		x->evidence = PQgetvalue(res, i, 4);
		x->vars = PQgetvalue(res, i, 5);
	}
}

void rule_hits_clear(struct rule_hits *h)
{
	PQclear(h->res_);
	free(h->rows);
	h->res_ = NULL;
	h->rows = NULL;
	h->nrows = 0;
}

int db_rule_hits(struct db_session *s, const struct qf_rule *r, int timeout_ms, const char *now, const char *since,
		 const char *cursor, bool clock_due, bool skip_known, bool lock, struct rule_hits *out, char **err)
{
	return db_rule_hits_as(s, r, r->id, timeout_ms, now, since, cursor, clock_due, skip_known, lock, out, err);
}

int db_rule_hits_as(struct db_session *s, const struct qf_rule *r, const char *cid, int timeout_ms, const char *now,
		    const char *since, const char *cursor, bool clock_due, bool skip_known, bool lock,
		    struct rule_hits *out, char **err)
{
	char tbuf[16];
	PGresult *res;

	memset(out, 0, sizeof *out);
	out->started_us = now_real_us();
	snprintf(tbuf, sizeof tbuf, "%d", timeout_ms);
	/* READ ONLY: a rule can only look; REPEATABLE READ: one snapshot for
	 * the change check and the rule */
	if (!dbi_cmd(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err))
		return -1;

	/* One round trip: the statement timeout, the snapshot's xmin, whether
	 * anything the rule reads changed and, only if it is going to run, its
	 * session advisory lock (released after its findings are written), so
	 * two daemons never evaluate a rule at once and a skipped rule costs
	 * nothing more. Every transaction below xmin has ended, so every change
	 * below it is visible now or never will be: xmin is the next cursor. A
	 * change at or above it may belong to a transaction still open; it is
	 * looked at again next time, so nothing that commits late is skipped. */
	struct buf deps;
	buf_init(&deps);
	buf_puts(&deps, "{");
	for (int i = 0; i < r->deps.n; i++)
		buf_printf(&deps, "%s%s", i ? "," : "", r->deps.v[i]); /* identifiers: no quoting needed */
	buf_puts(&deps, "}");
	const char *cp[6] = {deps.data, cursor, tbuf, cid, lock ? "t" : "f", clock_due ? "t" : "f"};
	/* a rule's own statement is planned as the planner sees fit (a full
	 * pass scans): the daemon's session prefers indexes (db_engine_session) */
	res = dbi_params(s,
			 "SELECT x.xmin, x.changed, set_config('statement_timeout', $3, true),"
			 "       CASE WHEN NOT $5::boolean THEN true"
			 "            WHEN x.changed OR $6::boolean"
			 "            THEN pg_try_advisory_lock(hashtextextended('qingfeng rule ' || $4, 0)) END,"
			 "       set_config('enable_seqscan', 'on', true)"
			 "  FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,"
			 "               $2::xid8 IS NULL OR EXISTS (SELECT 1 FROM qf.change_log"
			 "                                    WHERE tbl = ANY($1::text[]) AND xid >= $2::xid8) AS changed) x",
			 6, cp);
	buf_free(&deps);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto fail;
	snprintf(out->xmin, sizeof out->xmin, "%s", PQgetvalue(res, 0, 0));
	if (PQgetvalue(res, 0, 3)[0] == 'f') { /* another daemon has it */
		PQclear(res);
		out->skipped = out->busy = true;
		if (!dbi_cmd(s, "COMMIT", err))
			goto fail_nores;
		return 0;
	}
	out->locked = lock && PQgetvalue(res, 0, 3)[0] == 't';
	out->started_us = now_real_us(); /* the evaluation starts now, under the lock */
	bool changed = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	if (cursor && !changed && !clock_due) {
		out->skipped = true;
		if (!dbi_cmd(s, "COMMIT", err))
			goto fail_nores;
		return 0;
	}
	out->delta = cursor && !clock_due && (r->compiled_delta || r->changed_aware);
	/* a match rule has a separate delta statement; a ${changed()} rule
	 * takes the cursor as a parameter, NULL for a full pass */
	const char **values = rule_bind_values(r, now, since, out->delta ? cursor : NULL, skip_known);
	bool use_delta_stmt = out->delta && r->compiled_delta;
	res = dbi_params(s, use_delta_stmt ? r->compiled_delta : r->compiled,
			 use_delta_stmt ? r->nvalues : r->nvalues_full, values);
	free(values);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto fail;
	if (!dbi_cmd(s, "COMMIT", err)) {
		PQclear(res);
		goto fail_nores;
	}
	take_hits(out, res);
	return 0;
fail:
	*err = dbi_error(s, res);
	PQclear(res);
fail_nores:
	dbi_rollback(s);
	return -1;
}

/* ---- the start of a pass ---- */

static const char cursors_sql[] =
	"SELECT name, position::text,"
	"       clock_at IS NULL OR clock_at <= now() - make_interval(secs => $1::int)"
	"  FROM qf.cursor WHERE name LIKE 'rule:%'";

/* one statement, one snapshot: its xmin, and per table the newest change
 * at or above the oldest rule cursor */
static const char changed_sql[] =
	"WITH m AS (SELECT coalesce(min(position), 0)::text::xid8 AS low FROM qf.cursor"
	"            WHERE name LIKE 'rule:%')"
	"SELECT pg_snapshot_xmin(pg_current_snapshot())::text, l.tbl, max(l.xid)::text"
	"  FROM m LEFT JOIN qf.change_log l ON l.xid >= m.low"
	" GROUP BY l.tbl";

/* the rows of cursors_sql and changed_sql, typed */
static void take_pass_start(struct pass_start *ps, PGresult *cursors, PGresult *changed)
{
	ps->res_[0] = cursors;
	ps->res_[1] = changed;
	if (cursors) {
		ps->have_cursors = true;
		ps->ncursors = PQntuples(cursors);
		ps->cursors = xcalloc((size_t)ps->ncursors + 1, sizeof *ps->cursors);
		for (int k = 0; k < ps->ncursors; k++) {
			/* every name is 'rule:' and the id (the WHERE above) */
			ps->cursors[k].rule_id = PQgetvalue(cursors, k, 0) + 5;
			ps->cursors[k].position = PQgetvalue(cursors, k, 1);
			ps->cursors[k].clock_due = PQgetvalue(cursors, k, 2)[0] == 't';
		}
	}
	if (changed) {
		ps->have_changes = true;
		ps->nchanges = PQntuples(changed);
		ps->xmin = ps->nchanges ? PQgetvalue(changed, 0, 0) : NULL;
		ps->changes = xcalloc((size_t)ps->nchanges + 1, sizeof *ps->changes);
		for (int k = 0; k < ps->nchanges; k++) {
			ps->changes[k].table = PQgetisnull(changed, k, 1) ? NULL : PQgetvalue(changed, k, 1);
			ps->changes[k].newest = strtoll(PQgetvalue(changed, k, 2), NULL, 10);
		}
	}
}

void pass_start_clear(struct pass_start *ps)
{
	PQclear(ps->res_[0]);
	PQclear(ps->res_[1]);
	free(ps->cursors);
	free(ps->changes);
	memset(ps, 0, sizeof *ps);
}

int db_pass_start(struct db_session *s, int clock_interval_s, bool want_changed, struct pass_start *out)
{
	char iv[16], *err = NULL;
	const char *p[1] = {iv};
	PGresult *r[4] = {NULL, NULL, NULL, NULL};

	memset(out, 0, sizeof *out);
	if (s->broken)
		return -1;
	snprintf(iv, sizeof iv, "%d", clock_interval_s);
	if (dbi_prepare_once(s, "qf_cursors", cursors_sql, 1, &err) < 0 ||
	    (want_changed && dbi_prepare_once(s, "qf_changed", changed_sql, 0, &err) < 0)) {
		log_err("cannot read the rule cursors: %s", err);
		free(err);
		return db_ok(s) ? 0 : -1;
	}
	/* both in one round trip, each its own snapshot as before */
	bool sent = PQenterPipelineMode(s->conn) && dbi_send(s, "qf_cursors", cursors_sql, 1, p) &&
		    PQpipelineSync(s->conn) &&
		    (!want_changed || (dbi_send(s, "qf_changed", changed_sql, 0, NULL) && PQpipelineSync(s->conn)));
	if (!sent)
		return dbi_pipe_lost(s, "cannot send the pass's first queries");
	for (int k = 0; k < (want_changed ? 4 : 2); k++)
		if (!(r[k] = dbi_pipe_next(s))) {
			for (int j = 0; j < k; j++)
				PQclear(r[j]);
			return dbi_pipe_lost(s, "reading the rule cursors");
		}
	bool ok = dbi_pipe_exit(s) && PQresultStatus(r[1]) == PGRES_PIPELINE_SYNC &&
		  (!want_changed || PQresultStatus(r[3]) == PGRES_PIPELINE_SYNC);
	PQclear(r[1]);
	PQclear(r[3]);
	if (!ok) {
		PQclear(r[0]);
		PQclear(r[2]);
		return dbi_pipe_lost(s, "reading the rule cursors");
	}
	if (PQresultStatus(r[0]) != PGRES_TUPLES_OK) {
		log_err("cannot read the rule cursors: %s", PQresultErrorMessage(r[0]));
		PQclear(r[0]);
		r[0] = NULL;
	}
	if (want_changed && PQresultStatus(r[2]) != PGRES_TUPLES_OK) {
		log_err("cannot read the change log: %s", PQresultErrorMessage(r[2]));
		PQclear(r[2]);
		r[2] = NULL;
	}
	take_pass_start(out, r[0], r[2]);
	return 0;
}

/* ---- batched evaluation: one round trip for many rules ---- */

/* Per rule: did anything it reads change since its cursor, and (when it
 * will run and lock is asked) its session advisory lock; the snapshot's
 * xmin; the statement timeout for the rest of the transaction. As in
 * db_rule_hits, every transaction below xmin has ended, so xmin is the
 * next cursor. */
/* clang-format off */
static const char delta_check_sql[] =
	"SELECT x.changed,"
	"       CASE WHEN x.lock AND x.changed"
	"            THEN pg_try_advisory_lock(hashtextextended('qingfeng rule ' || x.id, 0)) END,"
	"       pg_snapshot_xmin(pg_current_snapshot())::text, set_config('statement_timeout', $2, true),"
	/* the run starts once the lock is held: the runs of two daemons
	 * recorded in qf.rule_run never overlap */
	"       (extract(epoch FROM clock_timestamp()) * 1000000)::bigint,"
	/* a rule's delta reads a few keys' rows, but a plan that misjudges
	 * them (an init plan's keys are estimated, not counted) went parallel:
	 * launching the worker took 19 of F01's 23 ms in an incremental pass */
	"       set_config('max_parallel_workers_per_gather', '0', true),"
	/* The rule statements below are prepared (dbi_prepare_once) to be
	 * planned once. But once the tables have been analysed, PostgreSQL
	 * prices a custom plan below the generic one and plans every
	 * execution anew: 0.2 to 0.6 ms for each of the seven payment rules,
	 * every pass, which took the commit -> webhook p50 from 3 to 7-13 ms.
	 * A small delta, the usual one, gets the generic plans, which read
	 * by index (measured as fast as the custom ones up to a delta of
	 * 1,000 records at 10M rows). A large one (an outage's backlog, a
	 * bulk load) is left to the planner, which then knows the cursor.
	 * Small is counted in at most 64 change rows (one per statement) and
	 * their keys. */
	"       g.mode, lane.snap"
	/* an index range from the cursor (the session prefers indexes: a
	 * plan made while the change log was empty would scan it whole);
	 * not max(xid) per table, which the planner may read backwards
	 * through the xid index, all of it for a table that did not change.
	 * A lane reads only its own statements' changes (QF_LANE_IF, rule.h): the
	 * live lane's pass is not planned for an import it does not read,
	 * and the bulk lane does not wake for a single payment. */
	"  FROM (SELECT r.i, r.id, r.lock,"
	"               EXISTS (SELECT 1 FROM qf.change_log l"
	"                        WHERE l.tbl = ANY(r.deps) AND l.xid >= r.cursor::xid8"
	"                          AND " QF_LANE_IF("l.keys", "$3::text", "$4::text::int")
	"                          AND " QF_SEEN_IF("l.xid", "$5::text") ") AS changed"
	"          FROM jsonb_to_recordset($1::jsonb) AS r(i int, id text, deps text[], cursor text, lock boolean)) x,"
	"       (SELECT set_config('plan_cache_mode',"
	"                          CASE WHEN count(*) < 64 AND coalesce(sum(cardinality(l.keys)), 0) <= 256"
	"                               THEN 'force_generic_plan' ELSE 'auto' END, true) AS mode"
	"          FROM (SELECT keys FROM qf.change_log"
	"                 WHERE xid >= (SELECT c.cursor::xid8 FROM jsonb_to_recordset($1::jsonb) AS c(cursor text)"
	"                                ORDER BY 1 LIMIT 1)"
	"                   AND " QF_LANE_IF("keys", "$3::text", "$4::text::int")
	"                   AND " QF_SEEN_IF("xid", "$5::text")
	"                 LIMIT 64) l) g,"
	/* the lane, for the check above and the rules' statements below */
	"       (SELECT set_config('qingfeng.lane', $3::text, true), set_config('qingfeng.lane_keys', $4::text, true),"
	"               set_config('qingfeng.seen', $5::text, true), pg_current_snapshot()::text AS snap) lane"
	" ORDER BY x.i";
/* clang-format on */

static void rule_stmt_name(const struct qf_rule *r, char out[64])
{
	snprintf(out, 64, "qfr_%.32s_%s", r->id, r->version);
}

/* The rules of a round as delta_check_sql's $1: [{i, id, deps, cursor,
 * lock}], i the rule's place in the round. Caller frees. */
static char *delta_check_json(const struct delta_run *runs, const int *idx, int m, bool lock, const bool *held)
{
	struct buf cj;
	buf_init(&cj);
	buf_puts(&cj, "[");
	for (int k = 0; k < m; k++) {
		const struct delta_run *dr = &runs[idx[k]];
		buf_printf(&cj, "%s{\"i\":%d,\"id\":", k ? "," : "", k);
		json_t *id = json_string(dr->cid ? dr->cid : dr->r->id);
		char *t = json_dumps(id, JSON_ENCODE_ANY);
		buf_puts(&cj, t);
		free(t);
		json_decref(id);
		buf_puts(&cj, ",\"deps\":[");
		for (int j = 0; j < dr->r->deps.n; j++) /* identifiers: no quoting needed */
			buf_printf(&cj, "%s\"%s\"", j ? "," : "", dr->r->deps.v[j]);
		buf_printf(&cj, "],\"cursor\":\"%s\",\"lock\":%s}", dr->cursor, lock && !held[idx[k]] ? "true" : "false");
	}
	buf_puts(&cj, "]");
	return buf_steal(&cj);
}

/* A round of the batch: BEGIN, the check, the m rules' statements,
 * COMMIT, in one pipeline. Its m + 4 results go to res; -1 when the
 * connection was lost. */
static int delta_round(struct db_session *s, const struct delta_run *runs, const int *idx, int m, const char *tbuf,
		       const char *now, bool lock, const struct db_lane *lane, const bool *held, PGresult **res)
{
	char name[64], keys[16];
	char *check = delta_check_json(runs, idx, m, lock, held);
	snprintf(keys, sizeof keys, "%d", lane ? lane->keys : 0);
	const char *cp[5] = {check, tbuf, lane && lane->name ? lane->name : "", keys,
			     lane && lane->seen ? lane->seen : ""};

	bool sent = PQenterPipelineMode(s->conn);
	sent = sent && PQsendQueryParams(s->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL,
					 NULL, NULL, 0);
	sent = sent && dbi_send(s, "qf_delta_check", delta_check_sql, 5, cp);
	for (int k = 0; k < m && sent; k++) {
		const struct delta_run *dr = &runs[idx[k]];
		const char **values = rule_bind_values(dr->r, now, "-infinity", dr->cursor, true);
		rule_stmt_name(dr->r, name);
		sent = dbi_send(s, name, dr->r->compiled_delta, dr->r->nvalues, values);
		free(values);
	}
	sent = sent && PQsendQueryParams(s->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) && PQpipelineSync(s->conn);
	free(check);
	if (!sent)
		return dbi_pipe_lost(s, "cannot send the evaluation pipeline");
	/* BEGIN, check, m statements, COMMIT, sync */
	for (int k = 0; k < m + 4; k++) {
		res[k] = dbi_pipe_next(s);
		if (!res[k])
			return dbi_pipe_lost(s, "evaluation pipeline");
	}
	if (PQresultStatus(res[m + 3]) != PGRES_PIPELINE_SYNC || !dbi_pipe_exit(s))
		return dbi_pipe_lost(s, "evaluation pipeline");
	return 0;
}

/* What a round said of each of its rules: skipped, busy, read (the rows
 * become the rule's), failed, or (after a failure before it) to be read
 * again in the next round. */
static void delta_sort(struct db_session *s, struct delta_run *runs, const int *idx, int m, bool *held, bool *done,
		       PGresult **res)
{
	PGresult *chk = res[1];

	for (int k = 0; k < m; k++) /* the server's clock, below, once it answered */
		runs[idx[k]].hits.started_us = now_real_us();
	if (PQresultStatus(res[0]) != PGRES_COMMAND_OK || PQresultStatus(chk) != PGRES_TUPLES_OK ||
	    PQntuples(chk) != m) {
		/* not one rule could be looked at */
		char *why = dbi_result_error(s, PQresultStatus(res[0]) != PGRES_COMMAND_OK ? res[0] : chk);
		for (int k = 0; k < m; k++) {
			runs[idx[k]].failed = done[idx[k]] = true;
			runs[idx[k]].err = xstrdup(why);
			runs[idx[k]].hits.locked = held[idx[k]];
		}
		free(why);
		return;
	}
	for (int k = 0; k < m; k++) {
		int i = idx[k];
		struct rule_hits *h = &runs[i].hits;
		PGresult *sr = res[2 + k];
		const char *lk = PQgetisnull(chk, k, 1) ? NULL : PQgetvalue(chk, k, 1);
		bool changed = PQgetvalue(chk, k, 0)[0] == 't';

		if (lk && lk[0] == 't')
			held[i] = true;
		snprintf(h->xmin, sizeof h->xmin, "%s", PQgetvalue(chk, k, 2));
		free(runs[i].snapshot);
		runs[i].snapshot = xstrdup(PQgetvalue(chk, k, 7));
		h->started_us = strtoll(PQgetvalue(chk, k, 4), NULL, 10);
		h->locked = held[i];
		if (lk && lk[0] == 'f') { /* another daemon has it */
			h->skipped = h->busy = true;
			done[i] = true;
		} else if (!changed) {
			h->skipped = true;
			done[i] = true;
		} else if (PQresultStatus(sr) == PGRES_TUPLES_OK) {
			take_hits(h, sr);
			h->delta = true;
			res[2 + k] = NULL; /* now the rule's */
			done[i] = true;
		} else if (PQresultStatus(sr) != PGRES_PIPELINE_ABORTED) {
			runs[i].err = dbi_error(s, sr);
			runs[i].failed = done[i] = true;
		}
	}
}

/* Prepares the rules' statements and the check, outside the pipeline: a
 * rule whose SQL the server refuses fails alone, with the server's
 * reason. -1 when the connection was lost. */
static int delta_prepare(struct db_session *s, struct delta_run *runs, int n, bool *done)
{
	char name[64], *err = NULL;

	for (int i = 0; i < n; i++) {
		rule_stmt_name(runs[i].r, name);
		if (dbi_prepare_once(s, name, runs[i].r->compiled_delta, runs[i].r->nvalues, &runs[i].err) < 0) {
			if (!db_ok(s))
				return -1;
			runs[i].failed = done[i] = true;
			runs[i].hits.started_us = now_real_us();
		}
	}
	if (dbi_prepare_once(s, "qf_delta_check", delta_check_sql, 5, &err) < 0) {
		for (int i = 0; i < n; i++)
			if (!done[i]) {
				runs[i].failed = done[i] = true;
				runs[i].err = xstrdup(err);
				runs[i].hits.started_us = now_real_us();
			}
		free(err);
		return db_ok(s) ? 0 : -1;
	}
	return 0;
}

int db_delta_batch(struct db_session *s, struct delta_run *runs, int n, int timeout_ms, const char *now, bool lock,
		   const struct db_lane *lane)
{
	char tbuf[16];

	if (s->broken) /* given up (a stop, a silent server) earlier in the pass */
		return -1;
	bool *held = xcalloc((size_t)n, sizeof *held), *done = xcalloc((size_t)n, sizeof *done);
	int *idx = xcalloc((size_t)n, sizeof *idx);
	PGresult **res = xcalloc((size_t)n + 4, sizeof *res);
	int rc = 0;

	snprintf(tbuf, sizeof tbuf, "%d", timeout_ms);
	for (int i = 0; i < n; i++) {
		memset(&runs[i].hits, 0, sizeof runs[i].hits);
		runs[i].failed = false;
		runs[i].err = NULL;
		runs[i].snapshot = NULL;
	}
	rc = delta_prepare(s, runs, n, done);
	/* Rounds: all rules in one READ ONLY, REPEATABLE READ transaction and
	 * one snapshot. A statement that fails aborts the rest of the round;
	 * those rules are read again in the next, so each round ends at least
	 * one rule and a broken rule costs the others one round trip. */
	while (rc == 0) {
		int m = 0;
		for (int i = 0; i < n; i++)
			if (!done[i])
				idx[m++] = i;
		if (!m)
			break;
		rc = delta_round(s, runs, idx, m, tbuf, now, lock, lane, held, res);
		if (rc == 0)
			delta_sort(s, runs, idx, m, held, done, res);
		for (int k = 0; k < m + 4; k++) {
			PQclear(res[k]);
			res[k] = NULL;
		}
		if (rc < 0)
			break;
		/* a failed statement left the transaction aborted */
		if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
			dbi_rollback(s);
		if (!db_ok(s))
			rc = -1;
	}
	free(res);
	free(idx);
	free(held);
	free(done);
	return rc;
}

/* ---- the cursor cache ---- */

bool db_cursors_cached(const struct db_session *s)
{
	return s->cc_valid;
}

const char *db_cursor_cached(const struct db_session *s, const char *id)
{
	for (int i = 0; i < s->ncc; i++)
		if (!strcmp(s->cc[i].id, id))
			return s->cc[i].pos;
	return NULL;
}

static struct cached_cursor *cursor_find(const struct db_session *s, const char *id)
{
	for (int i = 0; i < s->ncc; i++)
		if (!strcmp(s->cc[i].id, id))
			return &s->cc[i];
	return NULL;
}

void db_cursor_seen(struct db_session *s, const char *id, const char *pos, const char *snapshot)
{
	struct cached_cursor *c = cursor_find(s, id);
	if (!c) {
		s->cc = xrealloc(s->cc, sizeof *s->cc * (size_t)(s->ncc + 1));
		c = &s->cc[s->ncc++];
		c->id = xstrdup(id);
		c->seen = NULL;
		c->pos[0] = '\0';
	}
	/* a position from elsewhere (the database, a skipped rule's) keeps
	 * what was seen only if it is the same */
	if (snapshot || strcmp(c->pos, pos)) {
		free(c->seen);
		c->seen = snapshot ? xstrdup(snapshot) : NULL;
	}
	snprintf(c->pos, sizeof c->pos, "%s", pos);
}

void db_cursor_cache(struct db_session *s, const char *id, const char *pos)
{
	db_cursor_seen(s, id, pos, NULL);
	struct cached_cursor *c = cursor_find(s, id);
	free(c->seen); /* moved without a read: what it showed is unknown */
	c->seen = NULL;
}

const char *db_cursor_seen_get(const struct db_session *s, const char *id)
{
	const struct cached_cursor *c = cursor_find(s, id);
	return c ? c->seen : NULL;
}

void db_cursors_forget(struct db_session *s)
{
	for (int i = 0; i < s->ncc; i++) {
		free(s->cc[i].id);
		free(s->cc[i].seen);
	}
	free(s->cc);
	s->cc = NULL;
	s->ncc = 0;
	s->cc_valid = false;
}

void db_cursors_load(struct db_session *s, const struct pass_start *ps)
{
	/* a cursor the database has where this session left it keeps what
	 * its read saw; the others are read again from their position */
	struct cached_cursor *old = s->cc;
	int nold = s->ncc;
	s->cc = NULL;
	s->ncc = 0;
	for (int k = 0; k < ps->ncursors; k++) {
		const char *seen = NULL;
		for (int i = 0; i < nold; i++)
			if (!strcmp(old[i].id, ps->cursors[k].rule_id) && !strcmp(old[i].pos, ps->cursors[k].position))
				seen = old[i].seen;
		db_cursor_seen(s, ps->cursors[k].rule_id, ps->cursors[k].position, seen);
	}
	for (int i = 0; i < nold; i++) {
		free(old[i].id);
		free(old[i].seen);
	}
	free(old);
	s->cc_valid = true;
}
