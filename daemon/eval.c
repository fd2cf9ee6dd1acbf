/* The evaluation pass. C touches only the hits a rule returns (to render
 * messages and route them), never the records themselves. */
#include "eval.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "route.h"
#include "utf8.h"

/* Appends one hit as a JSON object. The evidence text from PostgreSQL is
 * spliced in unparsed, so numeric(14,2) amounts keep their exact digits. */
static void add_hit(struct buf *out, const struct qf_config *cfg, const struct qf_rule *r, PGresult *res, int row,
		    int *ridx, FILE *dry)
{
	const char *key = PQgetvalue(res, row, 0);
	const char *subject = PQgetisnull(res, row, 1) ? NULL : PQgetvalue(res, row, 1);
	const char *dept = PQgetisnull(res, row, 2) ? NULL : PQgetvalue(res, row, 2);
	const char *lv = PQgetisnull(res, row, 3) ? NULL : PQgetvalue(res, row, 3);
	const char *evidence = PQgetvalue(res, row, 4);
	json_t *vars = json_loads(PQgetvalue(res, row, 5), 0, NULL);
	int level = level_parse(lv);

	if (lv && !level)
		log_warn("rule %s: level_expr gave '%s' for key %s; using %s", r->id, lv, key, level_name(r->level));
	if (!level)
		level = r->level;
	if (!vars)
		vars = json_object();
	json_object_set_new(vars, "key", json_string_or_fixed(key));
	json_object_set_new(vars, "subject", subject ? json_string_or_fixed(subject) : json_null());
	json_object_set_new(vars, "department", dept ? json_string_or_fixed(dept) : json_null());
	char *zh = rule_render(r->message_zh, vars);
	char *en = rule_render(r->message_en, vars);

	if (dry) {
		/* one line per hit: stable, diffable (golden files) */
		fprintf(dry, "%s\t%s\t%s\t%s\t%s\t%s\n", r->id, key, level_name(level), subject ? subject : "-",
			dept ? dept : "-", zh);
	} else {
		struct buf msg;
		json_t *o = json_object();
		buf_init(&msg);
		buf_printf(&msg, "%s\n%s", zh, en);
		json_object_set_new(o, "key", json_string_or_fixed(key));
		json_object_set_new(o, "subject", subject ? json_string_or_fixed(subject) : json_null());
		json_object_set_new(o, "department", dept ? json_string_or_fixed(dept) : json_null());
		json_object_set_new(o, "level", json_string(level_name(level)));
		json_object_set_new(o, "message", json_string_or_fixed(msg.data));
		json_t *rcv = json_array();
		int n = route_receivers(cfg, r, level, dept, ridx);
		for (int i = 0; i < n; i++)
			json_array_append_new(rcv, json_string(cfg->receivers[ridx[i]].name));
		json_object_set_new(o, "receivers", rcv);
		char *text = json_dumps(o, JSON_COMPACT);
		if (out->len > 1)
			buf_puts(out, ",");
		buf_puts(out, "{\"evidence\":");
		buf_puts(out, evidence);
		buf_puts(out, ",");
		buf_puts(out, text + 1); /* text is "{...}": drop its brace */
		free(text);
		json_decref(o);
		buf_free(&msg);
	}
	json_decref(vars);
	free(zh);
	free(en);
}

void eval_now_text(char out[40], int64_t offset_us)
{
	int64_t us = now_real_us() + offset_us;
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%06lldZ", (long long)(us % 1000000));
}

/* What a rule's statement gave, sorted out: returns 2 when the rule was
 * skipped (nothing it reads changed: its cursor moves, batched into
 * advance; or busy), 0 otherwise. A run with no new hit is added to quiet
 * (recorded with the pass's other quiet runs) and *json stays NULL;
 * otherwise *json is the hits to record (caller frees) and *rows their
 * number. Takes hits->res. */
static int sort_hits(const struct qf_config *cfg, const struct qf_rule *r, struct rule_hits *hits, FILE *dry,
		     int *ridx, struct buf *advance, struct buf *quiet, struct eval_totals *t, char **json, int *rows)
{
	*json = NULL;
	*rows = 0;
	if (hits->busy) {
		log_debug("rule %s: another daemon is evaluating it", r->id);
		t->skipped++;
		return 2;
	}
	if (hits->skipped) {
		/* nothing it reads changed: only the cursor moves (batched) */
		t->skipped++;
		buf_printf(advance, "%s{\"name\":\"rule:%s\",\"position\":%s}", advance->len > 1 ? "," : "", r->id,
			   hits->xmin);
		return 2;
	}
	t->delta += hits->delta;
	struct buf out;
	buf_init(&out);
	buf_puts(&out, "[");
	int n = PQntuples(hits->res);
	for (int row = 0; row < n; row++)
		add_hit(&out, cfg, r, hits->res, row, ridx, dry);
	buf_puts(&out, "]");
	PQclear(hits->res);
	hits->res = NULL;
	if (dry) {
		buf_free(&out);
		t->created += n;
		return 0;
	}
	if (n == 0) {
		/* nothing new (known hits never leave the server): the run and
		 * the cursor are recorded with the pass's other quiet runs */
		int64_t fin = now_real_us();
		buf_printf(quiet,
			   "%s{\"rule_id\":\"%s\",\"version\":\"%s\",\"started\":%lld.%06lld,\"finished\":%lld.%06lld,"
			   "\"scanned\":0,\"cursor\":%s,\"clock\":%s}",
			   quiet->len > 1 ? "," : "", r->id, r->version, (long long)(hits->started_us / 1000000),
			   (long long)(hits->started_us % 1000000), (long long)(fin / 1000000), (long long)(fin % 1000000),
			   hits->xmin, hits->delta ? "false" : "true");
		buf_free(&out);
		log_debug("rule %s: nothing new", r->id);
		return 0;
	}
	*json = buf_steal(&out);
	*rows = n;
	return 0;
}

/* The outcome of recording a rule's hits, in the totals and the log.
 * Returns 0, 1 when it failed (recorded in qf.rule_run), -1 when the
 * connection is gone. */
static int recorded(PGconn *c, const struct qf_rule *r, int64_t started_us, int rows, long created, long retrig,
		    long alerts, char *err, struct eval_totals *t)
{
	if (err) {
		log_err("rule %s: cannot record findings: %s", r->id, err);
		free(err);
		t->failed++;
		if (!db_ok(c))
			return -1;
		db_record_rule_error(c, r, started_us, "cannot record findings");
		return 1;
	}
	if (created || retrig)
		log_info("rule %s: %ld new, %ld re-triggered finding(s), %ld alert(s) queued", r->id, created, retrig,
			 alerts);
	else
		log_debug("rule %s: %d hit(s), nothing new", r->id, rows);
	t->created += created;
	t->retriggered += retrig;
	t->alerts += alerts;
	return 0;
}

/* A rule whose statement failed: logged and recorded in qf.rule_run.
 * Returns 1, or -1 when the connection is gone. */
static int rule_failed(PGconn *c, const struct qf_rule *r, int64_t started_us, char *err, bool dry,
		       struct eval_totals *t)
{
	log_err("rule %s (%s:%d): %s", r->id, r->file, r->line, err);
	t->failed++;
	if (!db_ok(c)) {
		free(err);
		return -1;
	}
	if (!dry)
		db_record_rule_error(c, r, started_us, err);
	free(err);
	return 1;
}

/* Evaluates one rule on its own and records its hits. Returns 0
 * (evaluated), 1 (the rule failed; recorded in qf.rule_run), 2 (skipped:
 * nothing it reads changed), or -1 (the connection is gone). */
static int run_rule(PGconn *c, const struct qf_config *cfg, const struct qf_rule *r, const struct eval_opts *o,
		    const char *now, const char *since, const char *cursor, bool clock_due, FILE *dry, int *ridx,
		    struct buf *advance, struct buf *quiet, struct eval_totals *t, bool *locked, char moved[32])
{
	struct rule_hits hits;
	char *err = NULL, *json;
	long created = 0, retrig = 0, alerts = 0;
	int rows;

	if (db_rule_hits(c, r, cfg->statement_timeout_ms, now, since, cursor, clock_due, !dry, o && o->lock && !dry, &hits,
			 &err) < 0)
		return rule_failed(c, r, hits.started_us, err, dry, t);
	*locked = hits.locked;
	/* where its cursor goes, unless the write below fails */
	if (!hits.busy)
		snprintf(moved, 32, "%s", hits.xmin);
	if (sort_hits(cfg, r, &hits, dry, ridx, advance, quiet, t, &json, &rows) == 2)
		return 2;
	if (!json)
		return 0;
	if (db_record_hits(c, r, json, hits.started_us, rows, hits.xmin, !hits.delta, &created, &retrig, &alerts,
			   &err) < 0) {
		free(json);
		moved[0] = '\0';
		return recorded(c, r, hits.started_us, rows, 0, 0, 0, err ? err : xstrdup("no answer"), t);
	}
	free(json);
	return recorded(c, r, hits.started_us, rows, created, retrig, alerts, NULL, t);
}

/* The bookkeeping a pass deferred (eval_opts.defer_tail): JSON arrays
 * still open ("[" plus entries), written by eval_flush(). */
static struct buf tail_quiet, tail_advance, tail_unlock;

static void tail_append(struct buf *to, const struct buf *from)
{
	if (!to->data) {
		buf_init(to);
		buf_puts(to, "[");
	}
	if (from->len > 2) /* "[...]": its entries without the brackets */
		buf_printf(to, "%s%.*s", to->len > 1 ? "," : "", (int)(from->len - 2), from->data + 1);
}

/* The rules' cursors as this daemon last read or moved them, so a pass on
 * a notification needs no round trip to learn them. Loaded by every pass
 * that reads them from the database, moved by our own successful writes,
 * dropped with the connection or when a write of them failed. A cursor
 * here may lag the database's (another daemon moved it): the rule then
 * re-reads changes it has seen, and hits already recorded drop out in the
 * server. It is never ahead of what this daemon evaluated. */
struct cached_cursor {
	char *id;
	char pos[32];
};
static struct cached_cursor *cc;
static int ncc;
static bool cc_valid;

static const char *cc_get(const char *id)
{
	for (int i = 0; i < ncc; i++)
		if (!strcmp(cc[i].id, id))
			return cc[i].pos;
	return NULL;
}

static void cc_set(const char *id, const char *pos)
{
	for (int i = 0; i < ncc; i++)
		if (!strcmp(cc[i].id, id)) {
			snprintf(cc[i].pos, sizeof cc[i].pos, "%s", pos);
			return;
		}
	cc = xrealloc(cc, sizeof *cc * (size_t)(ncc + 1));
	cc[ncc].id = xstrdup(id);
	snprintf(cc[ncc++].pos, sizeof cc->pos, "%s", pos);
}

static void cc_clear(void)
{
	for (int i = 0; i < ncc; i++)
		free(cc[i].id);
	free(cc);
	cc = NULL;
	ncc = 0;
	cc_valid = false;
}

static void cc_load(PGresult *cursors)
{
	cc_clear();
	for (int k = 0; k < PQntuples(cursors); k++)
		if (!strncmp(PQgetvalue(cursors, k, 0), "rule:", 5))
			cc_set(PQgetvalue(cursors, k, 0) + 5, PQgetvalue(cursors, k, 1));
	cc_valid = true;
}

void eval_discard(void)
{
	buf_free(&tail_quiet);
	buf_free(&tail_advance);
	buf_free(&tail_unlock);
	cc_clear();
}

int eval_flush(PGconn *c)
{
	if (!tail_quiet.data && !tail_advance.data && !tail_unlock.data)
		return 0;
	struct buf *all[3] = {&tail_quiet, &tail_advance, &tail_unlock};
	for (int i = 0; i < 3; i++) {
		if (!all[i]->data) {
			buf_init(all[i]);
			buf_puts(all[i], "[");
		}
		buf_puts(all[i], "]");
	}
	char *qerr = NULL;
	int rc = db_record_batch(c, NULL, 0, tail_quiet.len > 2 ? tail_quiet.data : NULL, &qerr,
				 tail_advance.len > 2 ? tail_advance.data : NULL,
				 tail_unlock.len > 2 ? tail_unlock.data : NULL, NULL);
	buf_free(&tail_quiet);
	buf_free(&tail_advance);
	buf_free(&tail_unlock);
	if (qerr || rc < 0) {
		/* the cursors did not move as cached: read them again */
		if (qerr)
			log_err("cannot record the pass's bookkeeping: %s", qerr);
		free(qerr);
		cc_clear();
	}
	return rc;
}

/* The incremental rules of a pass together: their reads in one round
 * trip, then their findings, quiet runs, skipped cursors and lock
 * releases in another. A payment commit touches about ten rules, and each
 * alone would cost several round trips and a plan. Returns 0, or -1 when
 * the connection is gone. */
static int run_batch(PGconn *c, const struct qf_config *cfg, const struct qf_rule **rules, const char **cursors, int n,
		     const struct eval_opts *o, const char *now, int *ridx, struct buf *advance, struct eval_totals *t)
{
	struct delta_run *runs = xcalloc((size_t)n, sizeof *runs);
	struct record_run *w = xcalloc((size_t)n, sizeof *w);
	char **json = xcalloc((size_t)n, sizeof *json);
	int *rows = xcalloc((size_t)n, sizeof *rows), nw = 0, rc = 0;
	struct buf quiet, unlock;
	bool lock = o && o->lock;

	buf_init(&quiet);
	buf_init(&unlock);
	buf_puts(&quiet, "[");
	buf_puts(&unlock, "[");
	for (int i = 0; i < n; i++) {
		runs[i].r = rules[i];
		runs[i].cursor = cursors[i];
	}
	int64_t t0 = now_real_us();
	if (db_delta_batch(c, runs, n, cfg->statement_timeout_ms, now, lock) < 0) {
		for (int i = 0; i < n; i++) {
			PQclear(runs[i].hits.res);
			free(runs[i].err);
		}
		rc = -1;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const struct qf_rule *r = rules[i];
		if (runs[i].hits.locked)
			buf_printf(&unlock, "%s\"%s\"", unlock.len > 1 ? "," : "", r->id); /* ids are names */
		if (runs[i].failed) {
			if (rule_failed(c, r, runs[i].hits.started_us, runs[i].err, false, t) < 0)
				rc = -1;
			continue;
		}
		if (sort_hits(cfg, r, &runs[i].hits, NULL, ridx, advance, &quiet, t, &json[i], &rows[i]) == 2 ||
		    !json[i])
			continue;
		struct record_run *wr = &w[nw++];
		wr->r = r;
		wr->hits_json = json[i];
		wr->started_us = runs[i].hits.started_us;
		wr->scanned = rows[i];
		wr->cursor = runs[i].hits.xmin;
		wr->clock_ran = false;
	}
	/* the cursors the pass skipped so far (the caller's and ours) ride along */
	buf_puts(advance, "]");
	buf_puts(&quiet, "]");
	buf_puts(&unlock, "]");
	if (rc < 0)
		goto out;
	char *qerr = NULL;
	bool defer = o && o->defer_tail;
	if (defer) {
		tail_append(&tail_quiet, &quiet);
		tail_append(&tail_advance, advance);
		tail_append(&tail_unlock, &unlock);
	}
	/* the alerts of the findings just written are claimed in the same
	 * round trip, so they go out without another one */
	struct claim_req *claim = nw && o ? o->claim : NULL;
	if (db_record_batch(c, w, nw, !defer && quiet.len > 2 ? quiet.data : NULL, &qerr,
			    !defer && advance->len > 2 ? advance->data : NULL,
			    !defer && unlock.len > 2 ? unlock.data : NULL, claim) < 0) {
		for (int k = 0; k < nw; k++)
			free(w[k].err);
		free(qerr);
		rc = -1;
		goto out;
	}
	t->claimed = claim && claim->res;
	if (qerr) {
		log_err("cannot record the pass's bookkeeping: %s", qerr);
		free(qerr);
		cc_clear();
	}
	/* the cursors that moved: skipped (not busy), quiet, recorded */
	for (int i = 0; i < n && cc_valid; i++) {
		bool moved = !runs[i].failed && !runs[i].hits.busy;
		for (int k = 0; moved && k < nw; k++)
			if (w[k].r == rules[i])
				moved = !w[k].err;
		if (moved)
			cc_set(rules[i]->id, runs[i].hits.xmin);
	}
	for (int k = 0; k < nw; k++)
		if (recorded(c, w[k].r, w[k].started_us, (int)w[k].scanned, w[k].created, w[k].retriggered, w[k].alerts,
			     w[k].err, t) < 0)
			rc = -1;
	/* the rules ran together: each is reported with an equal share */
	double share = (double)(now_real_us() - t0) / 1e6 / n;
	for (int i = 0; i < n && o && o->on_rule; i++)
		o->on_rule(o->arg, rules[i]->id, runs[i].hits.skipped ? 0 : share, runs[i].failed,
			   runs[i].hits.skipped);
out:
	buf_reset(advance);
	buf_puts(advance, "[");
	for (int i = 0; i < n; i++)
		free(json[i]);
	free(json);
	free(rows);
	free(w);
	free(runs);
	buf_free(&quiet);
	buf_free(&unlock);
	return rc;
}

int eval_all(PGconn *c, const struct qf_config *cfg, const struct qf_ruleset *set, const struct eval_opts *o,
	     struct eval_totals *t)
{
	int *ridx = xcalloc((size_t)cfg->nreceivers + 1, sizeof *ridx);
	char nowbuf[40];
	const char *now = o && o->now ? o->now : (eval_now_text(nowbuf, 0), nowbuf);
	const char *since = o && o->since ? o->since : "-infinity";
	FILE *dry = o ? o->dry_run : NULL;

	bool incr = o && o->incremental && !dry && !(o && o->since);
	PGresult *cursors = NULL, *changed = NULL;
	/* the previous pass's locks are released before this one takes any */
	if (!dry && eval_flush(c) < 0) {
		free(ridx);
		return -1;
	}
	/* On a notification, the tables it named and the cursors this daemon
	 * keeps say which rules to read; otherwise the database says which
	 * tables changed since the oldest cursor. Either way a rule none of
	 * whose tables changed is skipped without a round trip. */
	bool fast = incr && o->notified && cc_valid;
	for (int i = 0; fast && i < set->n; i++) { /* a rule it would run has no cursor yet: ask */
		const struct qf_rule *r = &set->rules[i];
		for (int k = 0; r->enabled && k < o->notified->n; k++)
			if (strlist_has(&r->deps, o->notified->v[k]) && !cc_get(r->id))
				fast = false;
	}
	if (!dry && !fast && db_pass_start(c, cfg->clock_interval_s, incr, &cursors, &changed) < 0) {
		free(ridx);
		return -1;
	}
	if (!cursors) {
		PQclear(changed);
		changed = NULL;
	} else if (incr) {
		cc_load(cursors);
	}
	const char *gxmin = changed && PQntuples(changed) ? PQgetvalue(changed, 0, 0) : NULL;
	struct buf advance, ran, quiet;
	int nran = 0, nbatch = 0, nseq = 0;
	/* incremental runs go in one batch; full runs (first, clock-driven,
	 * --once) one by one afterwards, so their cost delays no alert */
	const struct qf_rule **batch = xcalloc((size_t)set->n + 1, sizeof *batch), **seq = xcalloc((size_t)set->n + 1, sizeof *seq);
	/* copies: the cache they may come from moves during the pass */
	char(*bcur)[32] = xcalloc((size_t)set->n + 1, sizeof *bcur), (*scur)[32] = xcalloc((size_t)set->n + 1, sizeof *scur);
	const char **bcursor = xcalloc((size_t)set->n + 1, sizeof *bcursor), **scursor = xcalloc((size_t)set->n + 1, sizeof *scursor);
	bool *sclock = xcalloc((size_t)set->n + 1, sizeof *sclock);

	buf_init(&advance);
	buf_init(&ran);
	buf_init(&quiet);
	buf_puts(&advance, "[");
	buf_puts(&ran, "[");
	buf_puts(&quiet, "[");
	memset(t, 0, sizeof *t);
	if (!dry && !cursors && !fast)
		goto lost_or_nothing;
	for (int i = 0; i < set->n; i++) {
		const struct qf_rule *r = &set->rules[i];

		if (o && o->only ? strcmp(o->only, r->id) != 0 : !r->enabled)
			continue;
		t->rules++;
		/* this rule's cursor; a full pass (--once) reads everything but
		 * still leaves the cursor where it got to */
		const char *cursor = NULL;
		bool clock_due = true;
		char cname[80];
		snprintf(cname, sizeof cname, "rule:%s", r->id);
		for (int k = 0; cursors && k < PQntuples(cursors); k++)
			if (!strcmp(PQgetvalue(cursors, k, 0), cname)) {
				cursor = PQgetvalue(cursors, k, 1);
				/* clock rules, and rules that read only touched keys (a full
				 * reconciliation now and then), run in full on the clock */
				clock_due = (r->clock || r->changed_aware) && PQgetvalue(cursors, k, 2)[0] == 't';
			}
		if (fast) {
			/* the clock work waits for the next timed pass */
			cursor = cc_get(r->id);
			clock_due = false;
			bool touched = false;
			for (int k = 0; k < o->notified->n && !touched; k++)
				touched = strlist_has(&r->deps, o->notified->v[k]);
			if (!touched) {
				t->skipped++;
				if (o->on_rule)
					o->on_rule(o->arg, r->id, 0, false, true);
				continue;
			}
		}
		if (!dry) {
			json_t *id = json_string(r->id);
			char *txt = json_dumps(id, JSON_ENCODE_ANY);
			buf_printf(&ran, "%s%s", nran++ ? "," : "", txt);
			free(txt);
			json_decref(id);
		}
		if (incr && cursor && !clock_due && gxmin) {
			long long cur = strtoll(cursor, NULL, 10);
			bool touched = false;
			for (int k = 0; k < PQntuples(changed) && !touched; k++)
				touched = !PQgetisnull(changed, k, 1) && strlist_has(&r->deps, PQgetvalue(changed, k, 1)) &&
					  strtoll(PQgetvalue(changed, k, 2), NULL, 10) >= cur;
			if (!touched) {
				t->skipped++;
				buf_printf(&advance, "%s{\"name\":\"rule:%s\",\"position\":%s}", advance.len > 1 ? "," : "",
					   r->id, gxmin);
				cc_set(r->id, gxmin);
				if (o && o->on_rule)
					o->on_rule(o->arg, r->id, 0, false, true);
				continue;
			}
		}
		if (incr && cursor && !clock_due && r->compiled_delta) {
			batch[nbatch] = r;
			snprintf(bcur[nbatch], sizeof bcur[nbatch], "%s", cursor);
			bcursor[nbatch] = bcur[nbatch];
			nbatch++;
		} else {
			seq[nseq] = r;
			if (incr && cursor)
				snprintf(scur[nseq], sizeof scur[nseq], "%s", cursor);
			scursor[nseq] = incr && cursor ? scur[nseq] : NULL;
			sclock[nseq++] = incr ? clock_due : true;
		}
	}
	if (nbatch && run_batch(c, cfg, batch, bcursor, nbatch, o, now, ridx, &advance, t) < 0)
		goto lost;
	if (nseq && eval_flush(c) < 0)
		goto lost;
	for (int i = 0; i < nseq; i++) {
		const struct qf_rule *r = seq[i];
		int64_t t0 = now_real_us();
		bool locked = false;
		char moved[32] = "";
		long alerts_before = t->alerts;
		int rc_eval = run_rule(c, cfg, r, o, now, since, scursor[i], sclock[i], dry, ridx, &advance, &quiet, t,
				       &locked, moved);
		if (incr && *moved && cc_valid)
			cc_set(r->id, moved);
		if (t->alerts != alerts_before)
			t->claimed = false; /* queued after the batch's claim */
		if (locked && db_ok(c))
			db_rule_unlock(c, r->id);
		if (o && o->on_rule)
			o->on_rule(o->arg, r->id, (double)(now_real_us() - t0) / 1e6, rc_eval == 1, rc_eval == 2);
		if (rc_eval < 0)
			goto lost;
	}
	goto done;
lost_or_nothing:
	if (db_ok(c)) {
		free(ridx);
		PQclear(changed);
		free(batch);
		free(seq);
		free(bcursor);
		free(scursor);
		free(bcur);
		free(scur);
		free(sclock);
		buf_free(&advance);
		buf_free(&ran);
		buf_free(&quiet);
		return 0;
	}
lost:
	free(ridx);
	PQclear(cursors);
	PQclear(changed);
	free(batch);
	free(seq);
	free(bcursor);
	free(scursor);
	free(bcur);
	free(scur);
	free(sclock);
	buf_free(&advance);
	buf_free(&ran);
	buf_free(&quiet);
	return -1;
done:
	free(ridx);
	free(batch);
	free(seq);
	free(bcursor);
	free(scursor);
	free(bcur);
	free(scur);
	free(sclock);
	PQclear(cursors);
	PQclear(changed);
	buf_puts(&quiet, "]");
	if (quiet.len > 2) {
		char *qerr = NULL;
		if (db_record_quiet_runs(c, quiet.data, &qerr) < 0) {
			log_err("cannot record the pass's rule runs: %s", qerr);
			free(qerr);
			cc_clear();
			if (!db_ok(c)) {
				buf_free(&quiet);
				buf_free(&advance);
				buf_free(&ran);
				return -1;
			}
		}
	}
	buf_free(&quiet);
	buf_puts(&advance, "]");
	buf_puts(&ran, "]");
	if (!dry && advance.len > 2)
		db_advance_cursors(c, advance.data);
	bool housekeeping = !dry && !(o && o->only) && !(o && o->no_housekeeping);
	if (housekeeping) {
		db_prune_changes(c, ran.data, nran);
		if (db_prune_runs(c, cfg->keep_runs_days) > 0)
			log_debug("pruned rule runs older than %d days", cfg->keep_runs_days);
		long gone = db_scope_cleanup(c);
		if (gone > 0)
			log_notice("removed %ld auditor scope row(s) of roles that no longer exist", gone);
	}
	buf_free(&advance);
	buf_free(&ran);
	if (housekeeping) {
		long n = eval_escalate(c, cfg, set);
		if (n < 0)
			return db_ok(c) ? 0 : -1;
		t->escalated = n;
	}
	return 0;
}

/* Routes findings (rows of id, rule_id, level, department from col0)
 * into routes_json [{key: id, receivers: [...]}]; only_resolved limits the
 * receivers to those that asked for resolved notices. */
static void route_rows(const struct qf_config *cfg, const struct qf_ruleset *set, PGresult *res, int col0,
		       const char *key, bool only_resolved, struct buf *json)
{
	int *ridx = xcalloc((size_t)cfg->nreceivers + 1, sizeof *ridx);

	buf_puts(json, "[");
	for (int i = 0; i < PQntuples(res); i++) {
		const char *rule_id = PQgetvalue(res, i, col0 + 1);
		const struct qf_rule *r = ruleset_find(set, rule_id);
		const char *dept = PQgetisnull(res, i, col0 + 3) ? NULL : PQgetvalue(res, i, col0 + 3);
		int k = r ? route_receivers(cfg, r, level_parse(PQgetvalue(res, i, col0 + 2)), dept, ridx) : 0;
		if (!r) /* a rule no longer in the pack: tell every receiver */
			for (k = 0; k < cfg->nreceivers; k++)
				ridx[k] = k;
		json_t *o = json_object();
		json_t *rcv = json_array();
		for (int j = 0; j < k; j++)
			if (!only_resolved || cfg->receivers[ridx[j]].notify_resolved)
				json_array_append_new(rcv, json_string(cfg->receivers[ridx[j]].name));
		json_object_set_new(o, key, json_integer(strtoll(PQgetvalue(res, i, 0), NULL, 10)));
		json_object_set_new(o, "receivers", rcv);
		char *text = json_dumps(o, JSON_COMPACT);
		buf_printf(json, "%s%s", i ? "," : "", text);
		free(text);
		json_decref(o);
	}
	buf_puts(json, "]");
	free(ridx);
}

/* escalated / reminded: the findings _begin changed get an event and alerts */
static long finding_step(PGconn *c, const struct qf_config *cfg, const struct qf_ruleset *set, PGresult *res,
			 const char *action, const char *event, const char *note, char **err)
{
	struct buf json;
	buf_init(&json);
	route_rows(cfg, set, res, 0, "id", false, &json);
	long n = PQntuples(res);
	PQclear(res);
	int rc = db_finding_events(c, json.data, action, event, note, err);
	buf_free(&json);
	return rc < 0 ? -1 : n;
}

long eval_escalate(PGconn *c, const struct qf_config *cfg, const struct qf_ruleset *set)
{
	char *err = NULL, note[120];
	long raised = 0, reminded = 0;
	PGresult *res;

	snprintf(note, sizeof note, "not acknowledged within %d days: raised to %%level%%", cfg->escalate_after_days);
	res = db_escalate_begin(c, cfg->escalate_after_days, &err);
	if (res)
		raised = finding_step(c, cfg, set, res, "escalated", "finding.escalated", note, &err);
	if (!res || raised < 0)
		goto fail;
	if (raised)
		log_info("escalated %ld finding(s) not acknowledged within %d days", raised, cfg->escalate_after_days);

	if (cfg->remind_red_hours > 0) {
		snprintf(note, sizeof note, "still open and red: reminder every %d hours", cfg->remind_red_hours);
		res = db_remind_begin(c, cfg->remind_red_hours, &err);
		if (res)
			reminded = finding_step(c, cfg, set, res, "reminded", "finding.reminder", note, &err);
		if (!res || reminded < 0)
			goto fail;
		if (reminded)
			log_info("reminded receivers of %ld open red finding(s)", reminded);
	}

	/* resolved notices: status changes people made since the last look */
	res = db_notices_begin(c, &err);
	if (!res)
		goto fail;
	struct buf json;
	buf_init(&json);
	route_rows(cfg, set, res, 1, "event_id", true, &json);
	/* route_rows read the event id from column 0 and the finding from 1.. */
	PQclear(res);
	int rc = db_notices_finish(c, json.data, &err);
	buf_free(&json);
	if (rc < 0)
		goto fail;
	return raised;
fail:
	if (err) {
		log_err("escalation, reminders or notices: %s", err);
		free(err);
	}
	return -1;
}
