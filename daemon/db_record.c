/* Recording a pass: findings, events, outbox rows, rule runs and cursors,
 * one statement (so one transaction) per rule run; the pass's bookkeeping;
 * the pruning of what every rule has seen. */
#include "db_record.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "log.h"
#include "utf8.h"

/* One statement records a rule run's hits. An unchanged hit never reaches
 * the INSERT (so re-evaluation burns no ids); a new finding opens one level
 * higher when its subject is a repeat offender of this rule (>= 2 earlier
 * findings within 365 days, counting earlier new hits of this batch) or
 * already has open findings from >= 2 different rules (RULES-423.md,
 * "Escalation"). */
/* clang-format off */
/* a re-trigger is alerted: its level rises, or the last alert is at least
 * the rule's realert ($15, seconds) old */
#define REALERT_DUE                                                                                          \
	"(qf.level_rank(EXCLUDED.base_level) > qf.level_rank(f.level) OR f.alerted_at IS NULL"              \
	" OR f.alerted_at <= now() - make_interval(secs => $15::double precision))"

static const char record_hits_sql[] =
	"WITH hits AS ("
	"  SELECT DISTINCT ON (h.key) h.key, h.subject, h.department, h.evidence, h.message, h.receivers,"
	"         CASE WHEN h.level IN ('yellow', 'orange', 'red') THEN h.level ELSE $5 END AS level"
	"    FROM jsonb_to_recordset($1::jsonb)"
	"         AS h(key text, subject text, department text, level text, evidence jsonb, message text,"
	"              receivers text[])"
	"   ORDER BY h.key"
	/* one index probe per hit: a (NOT) EXISTS here becomes, in the
	 * prepared statement's generic plan, a hash of every finding of the
	 * rule, a cost that grows with the rule's history */
	"), fresh AS MATERIALIZED ("
	"  SELECT h.*, o.id IS NULL AS is_new, o.level AS was_level, o.hit_count AS was_hits,"
	"         o.alerted_hits AS was_alerted_hits, o.alerted_at AS was_alerted_at,"
	"         coalesce(o.alerted_evidence, o.evidence) AS was_evidence"
	"    FROM hits h"
	"    LEFT JOIN LATERAL (SELECT o.id, o.evidence_hash, o.level, o.hit_count, o.alerted_hits, o.alerted_at,"
	"                              o.alerted_evidence, o.evidence FROM qf.finding o"
	"                        WHERE o.rule_id = $2 AND o.dedupe_key = h.key LIMIT 1) o ON true"
	"   WHERE o.id IS NULL OR o.evidence_hash IS DISTINCT FROM md5(h.evidence::text)"
	/* a subject's history counted once per subject, not once per new
	 * hit: a bulk load that gave one person 2,500 new findings read that
	 * person's findings 2,500 times (3.6 s, then 8.6 s at the next load) */
	/* and bounded, through indexes (sql/023): a hot cashier with 28,000
	 * findings of a rule had each new one count them all (30 ms a write,
	 * in the live lane). Escalation needs to know only whether there
	 * are 2; the history says the number up to 10 ("at least the 11th"
	 * beyond), and the rules with open findings are at most the pack's,
	 * read one index probe each (a loose index scan) */
	"), subj AS MATERIALIZED ("
	"  SELECT s.subject,"
	"         (SELECT count(*) FROM (SELECT 1 FROM qf.finding o WHERE o.rule_id = $2 AND o.subject = s.subject"
	"             AND o.first_seen > now() - interval '365 days' LIMIT 10) x) AS same,"
	"         (WITH RECURSIVE d(rule_id) AS ("
	"            (SELECT o.rule_id FROM qf.finding o WHERE o.subject = s.subject AND o.status = 'open'"
	"              ORDER BY o.rule_id LIMIT 1)"
	"            UNION ALL"
	"            SELECT (SELECT o.rule_id FROM qf.finding o WHERE o.subject = s.subject AND o.status = 'open'"
	"                       AND o.rule_id > d.rule_id ORDER BY o.rule_id LIMIT 1)"
	"              FROM d WHERE d.rule_id IS NOT NULL)"
	"          SELECT count(d.rule_id) FROM d) AS open_rules"
	"    FROM (SELECT DISTINCT f.subject FROM fresh f WHERE f.is_new AND f.subject IS NOT NULL) s"
	"), ranked AS ("
	"  SELECT f.*,"
	"         CASE WHEN f.is_new AND f.subject IS NOT NULL THEN"
	"           s.same + count(*) FILTER (WHERE f.is_new) OVER (PARTITION BY f.subject ORDER BY f.key"
	"                                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
	"         ELSE 0 END AS prior_same,"
	"         CASE WHEN f.is_new AND f.subject IS NOT NULL THEN s.open_rules ELSE 0 END AS open_rules"
	"    FROM fresh f LEFT JOIN subj s ON s.subject = f.subject"
	"), leveled AS ("
	"  SELECT r.*, CASE WHEN r.prior_same >= 2 OR r.open_rules >= 2 THEN qf.level_up(r.level) ELSE r.level END"
	"              AS final_level,"
	"         CASE WHEN r.prior_same >= 10 THEN 'opened one level higher: at least the 11th finding'"
	"                   || ' of this rule on this subject within 365 days'"
	"              WHEN r.prior_same >= 2 THEN 'opened one level higher: finding ' || (r.prior_same + 1)"
	"                   || ' of this rule on this subject within 365 days'"
	"              WHEN r.open_rules >= 2 THEN 'opened one level higher: the subject has open findings from '"
	"                   || r.open_rules || ' rules'"
	"         END AS why"
	"    FROM ranked r"
	"), up AS ("
	"  INSERT INTO qf.finding AS f (rule_id, dedupe_key, rule_version, title, level, base_level, supervision, risk,"
	"                               duty, subject, department, evidence, evidence_hash, message, tags,"
	"                               alerted_at, alerted_hits, alerted_evidence)"
	"  SELECT $2, h.key, $3, $4, h.final_level, h.level, $6, $7, $8, h.subject, h.department, h.evidence,"
	"         md5(h.evidence::text), h.message, ARRAY(SELECT jsonb_array_elements_text($9::jsonb)),"
	"         now(), 1, h.evidence"
	"    FROM leveled h"
	"  ON CONFLICT (rule_id, dedupe_key) DO UPDATE"
	"     SET hit_count = f.hit_count + 1, last_seen = now(), evidence = EXCLUDED.evidence,"
	/* a hit that now warrants a higher level raises the finding (D06) */
	"         level = CASE WHEN qf.level_rank(EXCLUDED.base_level) > qf.level_rank(f.level)"
	"                      THEN EXCLUDED.base_level ELSE f.level END,"
	"         evidence_hash = EXCLUDED.evidence_hash, message = EXCLUDED.message,"
	"         rule_version = EXCLUDED.rule_version, subject = EXCLUDED.subject,"
	"         department = EXCLUDED.department,"
	/* Every hit counts, but a re-trigger is alerted at most once per
	 * realert window ($15 s), and whenever the hit raises the level: a
	 * Benford finding whose MAD moves with every payment of a hot
	 * vendor is one alert, not one a payment. alerted_* say what the
	 * last alert carried, so the next one can say what changed since. */
	"         alerted_at = CASE WHEN " REALERT_DUE " THEN now() ELSE f.alerted_at END,"
	"         alerted_hits = CASE WHEN " REALERT_DUE " THEN f.hit_count + 1 ELSE f.alerted_hits END,"
	"         alerted_evidence = CASE WHEN " REALERT_DUE " THEN EXCLUDED.evidence ELSE f.alerted_evidence END"
	"   WHERE f.evidence_hash <> EXCLUDED.evidence_hash"
	"  RETURNING f.*, f AS frow, (xmax = 0) AS inserted, f.alerted_at = now() AS alert"
	"), ev AS ("
	"  INSERT INTO qf.finding_event (finding_id, action, level, note)"
	"  SELECT up.id, CASE WHEN up.inserted THEN 'created' ELSE 'retriggered' END, up.level,"
	"         CASE WHEN up.inserted THEN h.why END"
	"    FROM up JOIN leveled h ON h.key = up.dedupe_key ORDER BY up.id"
	"  RETURNING id, finding_id"
	"), al AS ("
	"  INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload, state, silence_id, last_error)"
	"  SELECT ev.id, up.id, rcv.name,"
	"         CASE WHEN up.inserted THEN 'finding.new' ELSE 'finding.retriggered' END,"
	"         qf.finding_payload(up.frow) || CASE WHEN up.inserted THEN '{}'::jsonb ELSE jsonb_build_object("
	/* what changed since the last alert: the hits, the evidence values
	 * that differ (before and after), the level it had */
	"           'changes', jsonb_build_object('since', fr.was_alerted_at,"
	"             'new_hits', up.hit_count - coalesce(fr.was_alerted_hits, fr.was_hits),"
	"             'level_before', fr.was_level,"
	"             'evidence', (SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_object("
	"                                   'before', fr.was_evidence -> n.key, 'after', n.value)), '{}'::jsonb)"
	"                            FROM jsonb_each(up.evidence) n"
	"                           WHERE (fr.was_evidence -> n.key) IS DISTINCT FROM n.value))) END,"
	/* a silenced alert is kept for the record, never sent */
	"         CASE WHEN s.id IS NULL THEN 'pending' ELSE 'silenced' END, s.id,"
	"         CASE WHEN s.id IS NOT NULL THEN 'silenced by silence ' || s.id END"
	"    FROM up JOIN ev ON ev.finding_id = up.id JOIN fresh fr ON fr.key = up.dedupe_key"
	"         CROSS JOIN LATERAL unnest(fr.receivers) AS rcv(name)"
	"         LEFT JOIN LATERAL (" SILENCE_FOR("up.rule_id", "up.subject", "up.department", "up.level", "up.supervision") ") s ON true"
	"   WHERE up.alert"
	"  RETURNING 1"
	")"
	", rr AS ("
	"  INSERT INTO qf.rule_run (rule_id, rule_version, started_at, rows_scanned, findings)"
	"  SELECT $2, $3, to_timestamp($10::double precision), $11::bigint, (SELECT count(*) FROM up)"
	"  RETURNING 1"
	/* the cursor moves in the same transaction as the findings it covers */
	"), cur AS ("
	"  INSERT INTO qf.cursor (name, position, clock_at, updated_at)"
	"  SELECT 'rule:' || $14, $12::bigint, CASE WHEN $13::boolean THEN now() END, now()"
	"   WHERE $12::bigint IS NOT NULL"
	/* a full read of a match rule read every statement's changes below
	 * the cursor, the bulk lane's share too (docs/ARCHITECTURE.md, Lanes) */
	"  UNION ALL"
	"  SELECT 'rule:' || $2 || '/bulk', $12::bigint, NULL, now() WHERE $12::bigint IS NOT NULL AND $16::boolean"
	"  ON CONFLICT (name) DO UPDATE SET updated_at = now(),"
	"     position = CASE WHEN qf.cursor.name LIKE '%/bulk' THEN greatest(qf.cursor.position, EXCLUDED.position)"
	"                     ELSE EXCLUDED.position END,"
	"     clock_at = CASE WHEN $13::boolean THEN now() ELSE qf.cursor.clock_at END"
	"  RETURNING 1"
	")"
	"SELECT (SELECT count(*) FROM up WHERE inserted), (SELECT count(*) FROM up WHERE NOT inserted),"
	"       (SELECT count(*) FROM al)";
/* clang-format on */

/* record_hits_sql's $1: [{evidence, key, subject, department, level,
 * message, receivers}]. The evidence text from PostgreSQL is spliced in
 * unparsed, so numeric(14,2) amounts keep their exact digits. Caller
 * frees. */
static char *hits_json(const struct finding_hit *hits, int n)
{
	struct buf out;

	buf_init(&out);
	buf_puts(&out, "[");
	for (int i = 0; i < n; i++) {
		const struct finding_hit *h = &hits[i];
		json_t *o = json_object();
		json_object_set_new(o, "key", json_string_or_fixed(h->key));
		json_object_set_new(o, "subject", h->subject ? json_string_or_fixed(h->subject) : json_null());
		json_object_set_new(o, "department", h->department ? json_string_or_fixed(h->department) : json_null());
		json_object_set_new(o, "level", json_string(h->level));
		json_object_set_new(o, "message", json_string_or_fixed(h->message));
		json_t *rcv = json_array();
		for (int k = 0; k < h->nreceivers; k++)
			json_array_append_new(rcv, json_string(h->receivers[k]));
		json_object_set_new(o, "receivers", rcv);
		char *text = json_dumps(o, JSON_COMPACT);
		if (i)
			buf_puts(&out, ",");
		buf_puts(&out, "{\"evidence\":");
		buf_puts(&out, h->evidence);
		buf_puts(&out, ",");
		buf_puts(&out, text + 1); /* text is "{...}": drop its brace */
		free(text);
		json_decref(o);
	}
	buf_puts(&out, "]");
	return buf_steal(&out);
}

/* The 16 values of record_hits_sql for one rule run; the texts live here
 * until record_values_free(). */
struct record_values {
	const char *v[16];
	char *hits;
	struct buf tags;
	char title[1024], started[32], scanned[32], realert[32];
};

static void record_values_init(struct record_values *rv, const struct qf_rule *r, const char *cid,
			       const struct finding_hit *hits, int nhits, int64_t started_us, const char *cursor,
			       bool clock_ran, bool bulk_too)
{
	rv->hits = hits_json(hits, nhits);
	buf_init(&rv->tags);
	buf_puts(&rv->tags, "[");
	for (int i = 0; i < r->tags.n; i++) {
		json_t *s = json_string(r->tags.v[i]);
		char *t = json_dumps(s, JSON_ENCODE_ANY);
		buf_printf(&rv->tags, "%s%s", i ? "," : "", t ? t : "\"\"");
		free(t);
		json_decref(s);
	}
	buf_puts(&rv->tags, "]");
	snprintf(rv->title, sizeof rv->title, "%s %s", r->title_zh, r->title_en);
	dbi_us_text(started_us, rv->started);
	snprintf(rv->scanned, sizeof rv->scanned, "%d", nhits);
	snprintf(rv->realert, sizeof rv->realert, "%ld", r->realert_s);
	const char *v[16] = {rv->hits,
			     r->id,
			     r->version,
			     rv->title,
			     level_name(r->level),
			     r->supervision,
			     r->risk,
			     r->duty,
			     rv->tags.data,
			     rv->started,
			     rv->scanned,
			     cursor,
			     clock_ran ? "t" : "f",
			     cid ? cid : r->id,
			     rv->realert,
			     bulk_too ? "t" : "f"};
	memcpy(rv->v, v, sizeof v);
}

static void record_values_free(struct record_values *rv)
{
	free(rv->hits);
	buf_free(&rv->tags);
}

/* the counts record_hits_sql returns */
static void take_counts(PGresult *res, struct record_counts *out)
{
	out->created = atol(PQgetvalue(res, 0, 0));
	out->retriggered = atol(PQgetvalue(res, 0, 1));
	out->alerts = atol(PQgetvalue(res, 0, 2));
}

int db_record_hits(struct db_session *s, const struct qf_rule *r, const char *cid, const struct finding_hit *hits,
		   int nhits, int64_t started_us, const char *cursor, bool clock_ran, bool bulk_too,
		   struct record_counts *out, char **err)
{
	struct record_values rv;

	/* one statement, so one transaction: findings, events, alerts, the
	 * run and the cursor commit together or not at all */
	record_values_init(&rv, r, cid, hits, nhits, started_us, cursor, clock_ran, bulk_too);
	PGresult *res = dbi_prepared(s, "qf_record_hits", record_hits_sql, 16, rv.v);
	record_values_free(&rv);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		*err = dbi_error(s, res);
		PQclear(res);
		return -1;
	}
	take_counts(res, out);
	PQclear(res);
	return 0;
}

void db_record_rule_error(struct db_session *s, const struct qf_rule *r, int64_t started_us, const char *error)
{
	char started[32];
	dbi_us_text(started_us, started);
	const char *p[4] = {r->id, r->version, started, error};
	PGresult *res = dbi_params(s,
				   "INSERT INTO qf.rule_run (rule_id, rule_version, started_at, error)"
				   " VALUES ($1, $2, to_timestamp($3::double precision), $4)",
				   4, p);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		log_warn("rule %s: cannot record the failed run: %s", r->id, PQresultErrorMessage(res));
	PQclear(res);
}

void db_rule_unlock(struct db_session *s, const char *rule_id)
{
	const char *p[1] = {rule_id};
	PGresult *r = dbi_params(s, "SELECT pg_advisory_unlock(hashtextextended('qingfeng rule ' || $1, 0))", 1, p);
	PQclear(r); /* a lost connection released it anyway */
}

/* ---- the pass's bookkeeping ---- */

/* rule runs that found nothing new, and their cursors, for a whole pass
 * in one statement */
static const char quiet_runs_sql[] =
	"WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb)"
	"             AS x(rule_id text, version text, started double precision, finished double precision,"
	"                  scanned bigint, cursor bigint, clock boolean, cid text, bulk boolean)),"
	" rr AS (INSERT INTO qf.rule_run (rule_id, rule_version, started_at, finished_at, rows_scanned, findings)"
	"        SELECT rule_id, version, to_timestamp(started), to_timestamp(finished), scanned, 0 FROM x"
	"        RETURNING 1)"
	" INSERT INTO qf.cursor (name, position, clock_at, updated_at)"
	" SELECT 'rule:' || coalesce(cid, rule_id), cursor, CASE WHEN clock THEN now() END, now() FROM x"
	" UNION ALL SELECT 'rule:' || rule_id || '/bulk', cursor, NULL, now() FROM x WHERE bulk"
	" ON CONFLICT (name) DO UPDATE SET position = greatest(qf.cursor.position, EXCLUDED.position),"
	"   updated_at = now(), clock_at = coalesce(EXCLUDED.clock_at, qf.cursor.clock_at)";

static const char advance_sql[] =
	"INSERT INTO qf.cursor (name, position, updated_at)"
	" SELECT x.name, x.position, now()"
	"   FROM jsonb_to_recordset($1::jsonb) AS x(name text, position bigint)"
	" ON CONFLICT (name) DO UPDATE SET position = greatest(qf.cursor.position, EXCLUDED.position),"
	"   updated_at = now()";

static const char unlock_sql[] =
	"SELECT pg_advisory_unlock(hashtextextended('qingfeng rule ' || id, 0))"
	"  FROM jsonb_array_elements_text($1::jsonb) AS id";

/* Rule ids and versions are names ([A-Za-z0-9_-], hex) and cursors xid8
 * numbers: they are written into the JSON as they are. */
void db_tail_quiet(struct db_tail *t, const struct qf_rule *r, const char *cid, int64_t started_us, int64_t finished_us,
		   const char *cursor, bool clock, bool bulk_too)
{
	buf_printf(&t->quiet,
		   "%s{\"rule_id\":\"%s\",\"version\":\"%s\",\"started\":%lld.%06lld,\"finished\":%lld.%06lld,"
		   "\"scanned\":0,\"cursor\":%s,\"clock\":%s,\"cid\":\"%s\",\"bulk\":%s}",
		   t->quiet.len ? "," : "", r->id, r->version, (long long)(started_us / 1000000),
		   (long long)(started_us % 1000000), (long long)(finished_us / 1000000),
		   (long long)(finished_us % 1000000), cursor, clock ? "true" : "false", cid ? cid : r->id,
		   bulk_too ? "true" : "false");
}

/* The bulk lane's cursor of each match rule that has a cursor from before
 * the lanes (schema 23): below it every statement's changes were read.
 * Never moves one that exists. */
void db_bulk_cursors_init(struct db_session *s, const char *const *rule_ids, int n)
{
	char *ids = dbi_json_names(rule_ids, n);
	const char *p[1] = {ids};
	PGresult *r = dbi_params(s,
				 "INSERT INTO qf.cursor (name, position, updated_at)"
				 " SELECT c.name || '/bulk', c.position, now() FROM qf.cursor c"
				 "  WHERE c.name IN (SELECT 'rule:' || jsonb_array_elements_text($1::jsonb))"
				 " ON CONFLICT (name) DO NOTHING",
				 1, p);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warn("cannot give the bulk lane its cursors: %s", PQresultErrorMessage(r));
	PQclear(r);
	free(ids);
}

void db_tail_advance(struct db_tail *t, const char *rule_id, const char *position)
{
	buf_printf(&t->advance, "%s{\"name\":\"rule:%s\",\"position\":%s}", t->advance.len ? "," : "", rule_id, position);
}

void db_tail_unlock(struct db_tail *t, const char *rule_id)
{
	buf_printf(&t->unlock, "%s\"%s\"", t->unlock.len ? "," : "", rule_id);
}

static void entries_move(struct buf *to, struct buf *from)
{
	if (from->len)
		buf_printf(to, "%s%.*s", to->len ? "," : "", (int)from->len, from->data);
	buf_free(from);
}

void db_tail_move(struct db_tail *to, struct db_tail *from)
{
	entries_move(&to->quiet, &from->quiet);
	entries_move(&to->advance, &from->advance);
	entries_move(&to->unlock, &from->unlock);
}

bool db_tail_empty(const struct db_tail *t)
{
	return !t->quiet.len && !t->advance.len && !t->unlock.len;
}

void db_tail_free(struct db_tail *t)
{
	buf_free(&t->quiet);
	buf_free(&t->advance);
	buf_free(&t->unlock);
}

struct db_tail *db_deferred(struct db_session *s)
{
	return &s->deferred;
}

/* "[entries]", or NULL when there are none; caller frees */
static char *entries_json(const struct buf *b)
{
	if (!b->len)
		return NULL;
	struct buf j;
	buf_init(&j);
	buf_printf(&j, "[%.*s]", (int)b->len, b->data);
	return buf_steal(&j);
}

int db_record_quiet_runs(struct db_session *s, const struct db_tail *tail, char **err)
{
	char *json = entries_json(&tail->quiet);
	if (!json)
		return 0;
	const char *p[1] = {json};
	PGresult *r = dbi_prepared(s, "qf_quiet_runs", quiet_runs_sql, 1, p);
	free(json);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = dbi_error(s, r);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

void db_advance_cursors(struct db_session *s, const struct db_tail *tail)
{
	char *json = entries_json(&tail->advance);
	if (!json)
		return;
	const char *p[1] = {json};
	PGresult *r = dbi_prepared(s, "qf_advance", advance_sql, 1, p);
	free(json);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warn("cannot advance rule cursors: %s", PQresultErrorMessage(r));
	PQclear(r);
}

/* ---- a pass's writes in one round trip ---- */

/* the three parts of a tail, in the order they are written */
struct tail_part {
	const char *name, *sql, *what;
	char *json; /* NULL: left out */
};

static void tail_parts(const struct db_tail *tail, struct tail_part p[3])
{
	p[0] = (struct tail_part){"qf_quiet_runs", quiet_runs_sql, "rule runs", NULL};
	p[1] = (struct tail_part){"qf_advance", advance_sql, "rule cursors", NULL};
	p[2] = (struct tail_part){"qf_unlock", unlock_sql, "rule locks", NULL};
	if (tail) {
		p[0].json = entries_json(&tail->quiet);
		p[1].json = entries_json(&tail->advance);
		p[2].json = entries_json(&tail->unlock);
	}
}

/* The findings writes run without bitmap scans. Their generic plan is
 * made at the first write of a session, perhaps while qf.finding has no
 * statistics yet (a new database, until autovacuum first analyses it),
 * when every index looks alike: the escalation's probes of a subject's
 * findings then took bitmap scans of the console's indexes on first_seen
 * and close_due, which read every finding of the year at each write (on
 * fresh keys the write grew to 8 ms within 4,000 findings, and the commit
 * -> webhook p99 to 74-226 ms). Without them the probes use the indexes
 * that lead with the subject. Session-wide, it would also take the
 * BitmapOr from the overdue gauges and clock work. */
static const char bitmap_off_sql[] = "SET enable_bitmapscan = off";
static const char bitmap_on_sql[] = "RESET enable_bitmapscan";

static bool send_simple(struct db_session *s, const char *sql)
{
	return PQsendQueryParams(s->conn, sql, 0, NULL, NULL, NULL, NULL, 0) && PQpipelineSync(s->conn);
}

/* A statement's answer and the sync after it: the answer, or NULL when
 * the connection was lost. */
static PGresult *pipe_answer(struct db_session *s)
{
	PGresult *r = dbi_pipe_next(s), *sync = r ? dbi_pipe_next(s) : NULL;
	bool ok = r && sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
	PQclear(sync);
	if (!ok) {
		PQclear(r);
		return NULL;
	}
	return r;
}

/* the answer to send_simple: false when the connection was lost */
static bool read_simple(struct db_session *s)
{
	PGresult *r = pipe_answer(s);
	if (!r)
		return false;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		char *e = dbi_result_error(s, r);
		log_warn("findings write: %s", e);
		free(e);
	}
	PQclear(r);
	return true;
}

/* Sends the pipeline: each rule run its own statement and transaction (a
 * sync after each), so one that fails takes no other down with it; the
 * claim, which sees the alerts just committed; the bookkeeping last, the
 * locks released after every finding they guarded is written. */
static bool batch_send(struct db_session *s, const struct record_run *w, int n, const struct tail_part *tp,
		       const struct claim_req *claim)
{
	char lim[16], lease[16], age[16], *names = NULL;
	const char *cv[5];
	bool sent = PQenterPipelineMode(s->conn);

	if (n)
		sent = sent && send_simple(s, bitmap_off_sql);
	for (int i = 0; i < n && sent; i++) {
		struct record_values rv;
		record_values_init(&rv, w[i].r, w[i].cid, w[i].hits, w[i].nhits, w[i].started_us, w[i].cursor,
				   w[i].clock_ran, false);
		sent = dbi_send(s, "qf_record_hits", record_hits_sql, 16, rv.v) && PQpipelineSync(s->conn);
		record_values_free(&rv);
	}
	if (n)
		sent = sent && send_simple(s, bitmap_on_sql);
	if (sent && claim) {
		names = dbi_claim_values(claim, lim, lease, age, cv);
		sent = dbi_send(s, "qf_claim", dbi_claim_sql, 5, cv) && PQpipelineSync(s->conn);
		free(names);
	}
	for (int t = 0; t < 3 && sent; t++)
		if (tp[t].json)
			sent = dbi_send(s, tp[t].name, tp[t].sql, 1, (const char *const *)&tp[t].json) &&
			       PQpipelineSync(s->conn);
	return sent;
}

/* Reads the answers batch_send asked for: 0, or -1 when the connection was
 * lost (claim->claimed then NULL). */
static int batch_read(struct db_session *s, struct record_run *w, int n, const struct tail_part *tp, char **tail_err,
		      struct claim_req *claim)
{
	if (n && !read_simple(s))
		return -1;
	for (int i = 0; i < n + 4; i++) {
		if (i == n && n && !read_simple(s)) /* the RESET after the writes */
			return -1;
		if (i == n && !claim)
			continue;
		if (i > n && !tp[i - n - 1].json)
			continue;
		PGresult *r = pipe_answer(s);
		if (!r)
			return -1;
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
		if (i == n) {
			if (ok) {
				claim->claimed = dbi_take_claimed(r);
				continue;
			}
			char *e = dbi_result_error(s, r);
			log_err("cannot claim alerts: %s", e);
			free(e);
		} else if (i < n) {
			if (ok)
				take_counts(r, &w[i].counts);
			else
				w[i].err = dbi_result_error(s, r);
		} else if (!ok) {
			const char *what = tp[i - n - 1].what;
			char *e = dbi_result_error(s, r);
			if (tail_err && !*tail_err) {
				struct buf why;
				buf_init(&why);
				buf_printf(&why, "%s: %s", what, e);
				*tail_err = buf_steal(&why);
			} else {
				log_warn("cannot record the %s: %s", what, e);
			}
			free(e);
		}
		PQclear(r);
	}
	return 0;
}

/* Nothing is written (the rules are read again next pass), but the locks
 * must not outlive the pass. */
static int batch_not_prepared(struct db_session *s, struct record_run *w, int n, const struct tail_part *tp,
			      char **tail_err, char *err)
{
	if (!db_ok(s)) {
		free(err);
		return -1;
	}
	if (tp[2].json)
		PQclear(dbi_params(s, unlock_sql, 1, (const char *const *)&tp[2].json));
	for (int i = 0; i < n; i++)
		w[i].err = xstrdup(err);
	if (tail_err && (tp[0].json || tp[1].json || tp[2].json))
		*tail_err = err;
	else
		free(err);
	return 0;
}

int db_record_batch(struct db_session *s, struct record_run *w, int n, const struct db_tail *tail, char **tail_err,
		    struct claim_req *claim)
{
	struct tail_part tp[3];
	char *err = NULL;
	int rc = 0;

	for (int i = 0; i < n; i++)
		w[i].err = NULL;
	if (claim)
		claim->claimed = NULL;
	tail_parts(tail, tp);
	if (!n && !tp[0].json && !tp[1].json && !tp[2].json)
		goto out;
	if (s->broken) {
		rc = -1;
		goto out;
	}
	if (n && dbi_prepare_once(s, "qf_record_hits", record_hits_sql, 16, &err) < 0) {
		rc = batch_not_prepared(s, w, n, tp, tail_err, err);
		goto out;
	}
	for (int t = 0; t < 3; t++)
		if (tp[t].json && dbi_prepare_once(s, tp[t].name, tp[t].sql, 1, &err) < 0) {
			rc = batch_not_prepared(s, w, n, tp, tail_err, err);
			goto out;
		}
	if (claim && dbi_prepare_once(s, "qf_claim", dbi_claim_sql, 5, &err) < 0) {
		log_err("cannot claim alerts: %s", err); /* the loop claims them later */
		free(err);
		err = NULL;
		claim = NULL;
	}
	if (!batch_send(s, w, n, tp, claim)) {
		rc = dbi_pipe_lost(s, "cannot send the findings pipeline");
		goto out;
	}
	if (batch_read(s, w, n, tp, tail_err, claim) < 0 || !dbi_pipe_exit(s)) {
		if (claim) {
			claimed_alerts_free(claim->claimed);
			claim->claimed = NULL;
		}
		rc = dbi_pipe_lost(s, "findings pipeline");
	}
out:
	for (int t = 0; t < 3; t++)
		free(tp[t].json);
	return rc;
}

/* ---- housekeeping ---- */

void db_prune_changes(struct db_session *s, const char *const *rule_ids, int n)
{
	char ns[16];
	char *ids = dbi_json_names(rule_ids, n);
	snprintf(ns, sizeof ns, "%d", n);
	const char *p[2] = {ids, ns};
	/* only once every enabled rule has a cursor: the oldest one bounds
	 * what may still be needed */
	/* a lane's cursor of a rule ("rule:F09/bulk", eval.h) bounds it too,
	 * once it exists (before, that lane reads its rule in full) */
	PGresult *r =
		dbi_params(s,
			   "DELETE FROM qf.change_log WHERE xid < ("
			   "  SELECT least(min(position) FILTER (WHERE name NOT LIKE '%/%'),"
			   "               min(position) FILTER (WHERE name LIKE '%/%'))::text::xid8"
			   "    FROM qf.cursor"
			   "   WHERE split_part(name, '/', 1) IN (SELECT 'rule:' || jsonb_array_elements_text($1::jsonb))"
			   "  HAVING count(*) FILTER (WHERE name NOT LIKE '%/%') = $2::int)",
			   2, p);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warn("cannot prune the change log: %s", PQresultErrorMessage(r));
	PQclear(r);
	free(ids);
}

long db_scope_cleanup(struct db_session *s)
{
	/* a scope row of a dropped role (a leaver) matches no one already
	 * (sql/017 binds rows to role OIDs); removing it writes its
	 * scope_revoked event, so the history says when it went */
	PGresult *r = dbi_exec(s, "SELECT qf.auditor_scope_cleanup()");
	long n = -1;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		log_warn("cannot remove the scopes of dropped roles: %s", PQresultErrorMessage(r));
	else
		n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

long db_prune_runs(struct db_session *s, int keep_days)
{
	char kd[16];
	snprintf(kd, sizeof kd, "%d", keep_days);
	const char *p[1] = {kd};
	/* at most 10,000 rows a pass: a first prune of a long history must
	 * not hold the loop (or the table) for long */
	PGresult *r = dbi_params(s,
				 "DELETE FROM qf.rule_run WHERE id IN (SELECT id FROM qf.rule_run"
				 " WHERE started_at < now() - make_interval(days => $1::int) ORDER BY id LIMIT 10000)",
				 1, p);
	long n = -1;
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warn("cannot prune qf.rule_run: %s", PQresultErrorMessage(r));
	else
		n = atol(PQcmdTuples(r));
	PQclear(r);
	return n;
}
