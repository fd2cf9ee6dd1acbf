/* Operators' and auditors' queries (qfctl), report sections, the
 * database gauges. */
#include "db_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "log.h"

/* ---- tables of text ---- */

int dbi_table(PGresult *r, struct db_table *t)
{
	memset(t, 0, sizeof *t);
	if (!r)
		return -1;
	t->res_ = r;
	t->nrows = PQntuples(r);
	t->ncols = PQnfields(r);
	t->cells = xcalloc((size_t)t->nrows * (size_t)t->ncols + 1, sizeof *t->cells);
	for (int i = 0; i < t->nrows; i++)
		for (int j = 0; j < t->ncols; j++)
			t->cells[i * t->ncols + j] = PQgetvalue(r, i, j);
	return 0;
}

const char *db_cell(const struct db_table *t, int row, int col)
{
	return t->cells[row * t->ncols + col];
}

void db_table_clear(struct db_table *t)
{
	PQclear(t->res_);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

/* ---- alerts and silences ---- */

int db_alerts_list(struct db_session *s, const char *state, int limit, const char *const *receivers, int nreceivers,
		   struct db_table *out, char **err)
{
	char lim[16];
	char *names = receivers ? dbi_json_names(receivers, nreceivers) : NULL;
	snprintf(lim, sizeof lim, "%d", limit);
	const char *p[3] = {state, lim, names};
	/* an alert for a receiver the configuration no longer has waits for
	 * ever, and nothing else would say so */
	PGresult *r = dbi_query(s,
				"SELECT a.id,"
				"       CASE WHEN a.state = 'pending' AND $3::jsonb IS NOT NULL AND NOT $3::jsonb ? a.receiver"
				"            THEN 'pending (no such receiver)' ELSE a.state END,"
				"       a.receiver, a.event, a.finding_id, f.rule_id, f.level, a.attempts,"
				"       to_char(a.next_attempt_at, 'YYYY-MM-DD HH24:MI:SS'),"
				"       coalesce(to_char(a.delivered_at, 'YYYY-MM-DD HH24:MI:SS'), ''), coalesce(a.last_error, '')"
				"  FROM qf.alert a JOIN qf.finding f ON f.id = a.finding_id"
				" WHERE $1::text IS NULL OR a.state = $1"
				" ORDER BY a.id DESC LIMIT $2::int",
				3, p, err);
	free(names);
	return dbi_table(r, out);
}

long db_alerts_retry(struct db_session *s, long long id, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[1] = {id > 0 ? ids : NULL};
	/* a fresh budget (attempts and age count from now), and a history
	 * event per alert naming who sent it again: the function runs as the
	 * owner, since no operator may update the outbox (sql/017) */
	PGresult *r = dbi_query(s, "SELECT qf.alert_retry($1::bigint)", 1, p, err);
	if (!r)
		return -1;
	long n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

long long db_silence_add(struct db_session *s, const char *rule, const char *subject, const char *dept,
			 const char *from, const char *until, const char *reason, char **err)
{
	const char *p[6] = {rule, subject, dept, from, until, reason};
	PGresult *r = dbi_query(s,
				"INSERT INTO qf.silence (rule_id, subject, department, starts_at, until, reason)"
				" VALUES ($1, $2, $3, coalesce($4::timestamptz, now()), $5::timestamptz, $6) RETURNING id",
				6, p, err);
	if (!r)
		return -1;
	long long id = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return id;
}

int db_silence_list(struct db_session *s, bool all, struct db_table *out, char **err)
{
	const char *p[1] = {all ? "t" : "f"};
	return dbi_table(
		dbi_query(s,
			  "SELECT id, coalesce(rule_id, '*'), coalesce(subject, '*'), coalesce(department, '*'),"
			  "       to_char(starts_at, 'YYYY-MM-DD HH24:MI'), to_char(until, 'YYYY-MM-DD HH24:MI'),"
			  "       created_by, reason,"
			  "       CASE WHEN expired_at IS NOT NULL THEN 'expired' WHEN until <= now() THEN 'ended'"
			  "            WHEN starts_at > now() THEN 'future' ELSE 'active' END"
			  /* four eyes (sql/022) */
			  "       || CASE WHEN expired_at IS NOT NULL OR until <= now() THEN ''"
			  "               WHEN approved_at IS NOT NULL THEN ', approved by ' || approved_by"
			  "               WHEN qf.four_eyes() THEN ', waiting for approval: holds no red or"
			  " disciplinary finding until another admin approves'"
			  "               ELSE '' END"
			  "  FROM qf.silence"
			  " WHERE $1::boolean OR (expired_at IS NULL AND until > now())"
			  " ORDER BY id",
			  1, p, err),
		out);
}

long db_silence_expire(struct db_session *s, long long id, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[1] = {ids};
	PGresult *r = dbi_query(s, "UPDATE qf.silence SET expired_at = now() WHERE id = $1::bigint AND expired_at IS NULL",
				1, p, err);
	if (!r)
		return -1;
	long n = atol(PQcmdTuples(r));
	PQclear(r);
	return n;
}

int db_set_status(struct db_session *s, long long id, const char *status, const char *note, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[3] = {ids, status, note};
	PGresult *r = dbi_query(s, "SELECT (qf.set_finding_status($1::bigint, $2, $3)).seq", 3, p, err);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

/* ---- auditors ---- */

/* the findings filter of qfctl(1); NULL parameters do not filter */
/* id > 0: the condition of the list indexes (sql/025) */
#define FINDINGS_WHERE                                                                                              \
	" WHERE f.id > 0 AND ($1::text IS NULL OR f.status = $1) AND ($2::text IS NULL OR f.level = $2)"          \
	"   AND ($3::text IS NULL OR f.supervision = $3) AND ($4::text IS NULL OR f.risk = $4)"                     \
	"   AND ($5::text IS NULL OR f.duty = $5) AND ($6::text IS NULL OR f.rule_id = $6)"                         \
	"   AND ($7::text IS NULL OR f.subject = $7) AND ($8::text IS NULL OR f.department = $8)"                   \
	"   AND ($9::timestamptz IS NULL OR f.last_seen >= $9::timestamptz)"                                        \
	"   AND ($10::timestamptz IS NULL OR f.first_seen < $10::timestamptz)"                                      \
	"   AND ($11::text IS NULL OR f.owner = $11)"                                                                \
	"   AND ($12::text IS NULL OR qf.disposal_light(f.status, f.sign_due, f.close_due, (SELECT qf.clock_now()),"  \
	"                                               (SELECT qf.add_workdays(qf.clock_now(), 1))) = $12)"         \
	"   AND ($13::boolean IS NULL"                                                                               \
	"        OR qf.disposal_late_step(f.status, f.sign_due, f.close_due, (SELECT qf.clock_now())) IS NOT NULL)"

static void findings_params(const char *const filter[FF_N], int limit, char lim[16], const char *p[FF_N + 1])
{
	snprintf(lim, 16, "%d", limit);
	for (int i = 0; i < FF_N; i++)
		p[i] = filter[i];
	p[FF_N] = lim;
}

/* the columns of the listing, in the order of db_findings() */
#define FINDINGS_COLUMNS                                                                                            \
	"SELECT f.id, f.level, f.status, f.rule_id, coalesce(f.department, ''), coalesce(f.subject, ''),"           \
	"       to_char(f.first_seen, 'YYYY-MM-DD HH24:MI'), to_char(f.last_seen, 'YYYY-MM-DD HH24:MI'),"          \
	"       f.hit_count, f.supervision, f.risk, f.duty, f.title"
/* the disposal's columns (sql/021), after the others: the light on the
 * engine's clock */
#define DISPOSAL_COLUMNS                                                                                            \
	"       coalesce(f.owner, ''),"                                                                             \
	"       coalesce(qf.disposal_light(f.status, f.sign_due, f.close_due, (SELECT qf.clock_now()),"               \
	"                                  (SELECT qf.add_workdays(qf.clock_now(), 1))), ''),"                      \
	"       coalesce(to_char(f.sign_due, 'YYYY-MM-DD HH24:MI'), ''), coalesce(to_char(f.close_due, 'YYYY-MM-DD HH24:MI'), ''),"\
	"       coalesce(f.outcome, ''), coalesce(f.disposition, '')"

int db_findings(struct db_session *s, const char *const filter[FF_N], int limit, struct db_table *out, char **err)
{
	char lim[16];
	const char *p[FF_N + 1];
	findings_params(filter, limit, lim, p);
	return dbi_table(dbi_query(s,
				   FINDINGS_COLUMNS "," DISPOSAL_COLUMNS "  FROM qf.finding f" FINDINGS_WHERE
						    " ORDER BY f.id DESC LIMIT $14::int",
				   FF_N + 1, p, err),
			 out);
}

int db_findings_export(struct db_session *s, const char *const filter[FF_N], int limit, struct db_table *out,
		       char **err)
{
	char lim[16];
	const char *p[FF_N + 1];
	findings_params(filter, limit, lim, p);
	/* the amount only when the evidence holds it as a JSON number: its
	 * text is then numeric's (digits, a sign, a point; never an exponent),
	 * so a spreadsheet reads a number and the CSV writer may leave it
	 * bare; any other amount stays in the evidence column, as text */
	return dbi_table(
		dbi_query(s,
			  FINDINGS_COLUMNS
			  ","
			  "       CASE jsonb_typeof(f.evidence -> 'amount') WHEN 'number' THEN f.evidence ->> 'amount'"
			  "            ELSE '' END,"
			  "       coalesce(f.evidence ->> 'table', ''), f.dedupe_key, f.message, f.evidence::text," DISPOSAL_COLUMNS
			  "  FROM qf.finding f" FINDINGS_WHERE " ORDER BY f.id DESC LIMIT $14::int",
			  FF_N + 1, p, err),
		out);
}

char *db_findings_json(struct db_session *s, const char *const filter[FF_N], int limit, char **err)
{
	char lim[16];
	const char *p[FF_N + 1];
	findings_params(filter, limit, lim, p);
	/* the data contract's objects, built by PostgreSQL: exact numerics */
	PGresult *r = dbi_query(s,
				"SELECT coalesce(jsonb_agg(x.o ORDER BY x.id), '[]'::jsonb)::text FROM ("
				"  SELECT f.id, jsonb_build_object('id', f.id, 'rule_id', f.rule_id, 'title', f.title,"
				"    'level', f.level, 'supervision', f.supervision, 'risk', f.risk, 'duty', f.duty,"
				"    'subject', f.subject, 'department', f.department, 'status', f.status,"
				"    'first_seen', f.first_seen, 'last_seen', f.last_seen, 'hit_count', f.hit_count,"
				"    'evidence', f.evidence, 'message', f.message, 'rule_version', f.rule_version,"
				"    'owner', f.owner, 'sign_due', f.sign_due, 'close_due', f.close_due,"
				"    'light', qf.disposal_light(f.status, f.sign_due, f.close_due, (SELECT qf.clock_now()),"
				"                               (SELECT qf.add_workdays(qf.clock_now(), 1))),"
				"    'outcome', f.outcome, 'disposition', f.disposition, 'acknowledged_at', f.acknowledged_at,"
				"    'feedback_by', f.feedback_by, 'closed_at', f.closed_at, 'closed_by', f.closed_by) AS o"
				"    FROM qf.finding f" FINDINGS_WHERE " ORDER BY f.id DESC LIMIT $14::int) x",
				FF_N + 1, p, err);
	if (!r)
		return NULL;
	char *json = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return json;
}

int db_finding_show(struct db_session *s, long long id, struct finding_detail *out, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[1] = {ids};
	memset(out, 0, sizeof *out);
	PGresult *r = dbi_query(s,
				"SELECT f.id, f.rule_id, f.title, f.level, f.status, f.supervision, f.risk, f.duty,"
				"       coalesce(f.subject, ''), coalesce(f.department, ''), f.hit_count,"
				"       to_char(f.first_seen, 'YYYY-MM-DD HH24:MI:SS TZH'), to_char(f.last_seen, 'YYYY-MM-DD HH24:MI:SS TZH'),"
				"       f.rule_version, f.message, jsonb_pretty(f.evidence)"
				"  FROM qf.finding f WHERE f.id = $1::bigint",
				1, p, err);
	if (!r)
		return -1;
	out->res_ = r;
	if (PQntuples(r) == 0)
		return 0;
	const char **f[16] = {&out->id,		&out->rule_id,	  &out->title,	   &out->level,
			      &out->status,	&out->supervision, &out->risk,	   &out->duty,
			      &out->subject,	&out->department, &out->hits,	   &out->first_seen,
			      &out->last_seen,	&out->rule_version, &out->message, &out->evidence};
	for (int j = 0; j < 16; j++)
		*f[j] = PQgetvalue(r, 0, j);
	return 1;
}

void finding_detail_clear(struct finding_detail *f)
{
	PQclear(f->res_);
	memset(f, 0, sizeof *f);
}

int db_finding_history(struct db_session *s, long long id, struct db_table *out, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[1] = {ids};
	return dbi_table(
		dbi_query(s,
			  "SELECT e.seq, to_char(e.at, 'YYYY-MM-DD HH24:MI:SS'), e.actor, e.action, coalesce(e.level, ''),"
			  "       coalesce(e.note, ''), left(e.hash, 16)"
			  "  FROM qf.finding_event e WHERE e.finding_id = $1::bigint ORDER BY e.seq",
			  1, p, err),
		out);
}

int db_audit_verify(struct db_session *s, struct chain_break *out, char **err)
{
	/* the first event whose hash, link to its predecessor or place in the
	 * sequence is wrong, or a head that does not match the last event:
	 * computed as the owner over every event (sql/009), so that an auditor
	 * whose scope hides some events is not told the chain is broken */
	PGresult *r = dbi_query(s, "SELECT seq, event_id, why FROM qf.verify_chain()", 0, NULL, err);
	memset(out, 0, sizeof *out);
	if (!r)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	out->res_ = r;
	out->seq = PQgetvalue(r, 0, 0);
	out->event_id = PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1);
	out->why = PQgetvalue(r, 0, 2);
	return 1;
}

void chain_break_clear(struct chain_break *b)
{
	PQclear(b->res_);
	memset(b, 0, sizeof *b);
}

int db_audit_head(struct db_session *s, struct chain_head *out, char **err)
{
	PGresult *r = dbi_query(s, "SELECT seq, hash, to_char(now(), 'YYYY-MM-DD HH24:MI:SS TZH') FROM qf.chain_head", 0,
				NULL, err);
	memset(out, 0, sizeof *out);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) { /* one row, keyed by true (sql/002) */
		*err = xstrdup("the history chain has no head");
		PQclear(r);
		return -1;
	}
	out->res_ = r;
	out->seq = PQgetvalue(r, 0, 0);
	out->hash = PQgetvalue(r, 0, 1);
	out->at = PQgetvalue(r, 0, 2);
	return 0;
}

void chain_head_clear(struct chain_head *h)
{
	PQclear(h->res_);
	memset(h, 0, sizeof *h);
}

/* ---- reports ---- */

/* Where a finding's evidence keeps the time of the record it is about
 * (the payment, the change, the report, the gift...), in the order tried:
 * the engine stores no such column, and each rule names its own (the
 * shipped pack's, most specific first; a key that appears in several
 * rules' evidence means the same moment in each). A rule's `time` setting
 * is not enough: most rules are of kind sql, which have none. Absence
 * rules date a finding by the deadline missed, frequency rules by the
 * latest row. */
const char db_report_time_keys[] = "changed_at,paid_at,pass_recorded_at,used_at,used_on,issued_at,sent_at,sampled_at,"
				   "disposed_at,expense_date,invoiced_at,held_at,received_at,window_start,last,deadline";

/* the 423 vocabularies in the method's order, and the levels red first */
#define V_SUPERVISION "(VALUES (1, 'technical'), (2, 'financial'), (3, 'disciplinary'))"
#define V_RISK "(VALUES (1, 'technical'), (2, 'non-technical'))"
#define V_DUTY "(VALUES (1, 'primary'), (2, 'supervisory'), (3, 'dual-duty'), (4, 'impartiality'))"
#define V_LEVEL "(VALUES (1, 'red'), (2, 'orange'), (3, 'yellow'))"
#define BY_LEVEL                                                                                                    \
	"count(*) FILTER (WHERE level = 'red')::text, count(*) FILTER (WHERE level = 'orange')::text,"              \
	" count(*) FILTER (WHERE level = 'yellow')::text"

int db_report_section(struct db_session *s, enum report_section section, const char *from, const char *to,
		      struct db_table *out, char **err)
{
	/* findings first seen in [from, to); every section two or more label
	 * columns and a count */
	static const char *const sql[REPORT_NSECTIONS] = {
		/* 0: the 423 matrix, every cell, so an empty one is shown as 0
		 * rather than missing */
		"SELECT s.v, r.v, d.v, l.v, count(f.id)::text"
		"  FROM " V_SUPERVISION " AS s(n, v) CROSS JOIN " V_RISK " AS r(n, v)"
		" CROSS JOIN " V_DUTY " AS d(n, v) CROSS JOIN " V_LEVEL " AS l(n, v)"
		"  LEFT JOIN qf.finding f ON f.supervision = s.v AND f.risk = r.v AND f.duty = d.v AND f.level = l.v"
		"   AND f.first_seen >= $1::date AND f.first_seen < $2::date"
		" GROUP BY s.n, s.v, r.n, r.v, d.n, d.v, l.n, l.v ORDER BY s.n, r.n, d.n, l.n",
		/* 1: monthly trend by level, by the month of the record (the
		 * first evidence key of $3 that holds a date; the evidence was
		 * written in the institute's time zone, so its text is the
		 * local month), else of first_seen; the months in between are
		 * listed with 0 unless the span is absurd (a mistyped year) */
		"WITH f AS (SELECT x.level, coalesce(x.rec, to_char(x.first_seen, 'YYYY-MM')) AS month, x.rec IS NULL AS fb"
		"             FROM (SELECT f.level, f.first_seen,"
		"                          (SELECT left(f.evidence ->> k.k, 7)"
		"                             FROM unnest(string_to_array($3, ',')) WITH ORDINALITY AS k(k, n)"
		"                            WHERE f.evidence ->> k.k ~ '^[12][0-9]{3}-(0[1-9]|1[0-2])'"
		"                            ORDER BY k.n LIMIT 1) AS rec"
		"                     FROM qf.finding f WHERE f.first_seen >= $1::date AND f.first_seen < $2::date) x),"
		"     m AS (SELECT month FROM f"
		"            UNION SELECT to_char(g, 'YYYY-MM') FROM (SELECT min(month) AS lo, max(month) AS hi FROM f) b,"
		"                  generate_series(to_date(b.lo, 'YYYY-MM'), to_date(b.hi, 'YYYY-MM'), interval '1 month') g"
		"            WHERE to_date(b.hi, 'YYYY-MM') < to_date(b.lo, 'YYYY-MM') + interval '10 years')"
		"SELECT m.month, l.v, count(f.level)::text, count(f.level) FILTER (WHERE f.fb)::text"
		"  FROM m CROSS JOIN " V_LEVEL " AS l(n, v) LEFT JOIN f ON f.month = m.month AND f.level = l.v"
		" GROUP BY m.month, l.n, l.v ORDER BY m.month, l.n",
		/* 2: top rules */
		"SELECT rule_id, min(title), count(*)::text, " BY_LEVEL " FROM qf.finding"
		" WHERE first_seen >= $1::date AND first_seen < $2::date GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 10",
		/* 3: departments, with open findings */
		"SELECT coalesce(department, '-'), count(*) FILTER (WHERE status IN ('open', 'acknowledged'))::text,"
		"       count(*)::text, " BY_LEVEL " FROM qf.finding"
		" WHERE first_seen >= $1::date AND first_seen < $2::date GROUP BY 1 ORDER BY count(*) DESC, 1",
		/* 4: ages of the findings still open */
		"SELECT b.bucket, count(f.id)::text FROM (VALUES (1, '< 7 d'), (2, '7-30 d'), (3, '30-90 d'), (4, '> 90 d'))"
		"       AS b(n, bucket) LEFT JOIN qf.finding f ON f.status IN ('open', 'acknowledged')"
		"   AND f.first_seen >= $1::date AND f.first_seen < $2::date"
		"   AND CASE WHEN now() - f.first_seen < interval '7 days' THEN 1 WHEN now() - f.first_seen < interval '30 days'"
		"            THEN 2 WHEN now() - f.first_seen < interval '90 days' THEN 3 ELSE 4 END = b.n"
		" GROUP BY b.n, b.bucket ORDER BY b.n",
		/* 5: time to resolve (resolved or dismissed), days */
		"SELECT 'resolved', count(*)::text,"
		"       coalesce(round((percentile_cont(0.5) WITHIN GROUP (ORDER BY d))::numeric, 1)::text, '-'),"
		"       coalesce(round((percentile_cont(0.9) WITHIN GROUP (ORDER BY d))::numeric, 1)::text, '-')"
		"  FROM (SELECT extract(epoch FROM min(e.at) - f.first_seen) / 86400 AS d FROM qf.finding f"
		"          JOIN qf.finding_event e ON e.finding_id = f.id AND e.action IN ('resolved', 'dismissed')"
		"         WHERE f.first_seen >= $1::date AND f.first_seen < $2::date GROUP BY f.id, f.first_seen) x",
		/* 6: the chain head, to quote in the report, and when it was read */
		"SELECT seq::text, hash, to_char(now(), 'YYYY-MM-DD HH24:MI:SS TZH') FROM qf.chain_head"
		" WHERE $1::date IS NOT NULL AND $2::date IS NOT NULL",
	};
	const char *p[3] = {from, to, db_report_time_keys};
	memset(out, 0, sizeof *out);
	if ((int)section < 0 || section >= REPORT_NSECTIONS) {
		*err = xstrdup("no such report section");
		return -1;
	}
	return dbi_table(dbi_query(s, sql[section], section == REPORT_MONTHLY ? 3 : 2, p, err), out);
}

/* ---- the gauges of /metrics ---- */

static const char gauges_sql[] =
	/* the outbox's states but delivered, counted once for two families:
	 * delivered alerts are history, and counting them read the whole
	 * outbox (sql/014); every other state, 0 included, from the partial
	 * index */
	"WITH a AS (SELECT count(*) FILTER (WHERE state = 'pending') AS p, count(*) FILTER (WHERE state = 'dead') AS d,"
	"                  count(*) FILTER (WHERE state = 'silenced') AS si"
	"             FROM qf.alert WHERE state <> 'delivered')"
	/* label values come from CHECK-constrained vocabularies, every level
	 * by every status, 0 included, so that a series does not appear only
	 * with its first finding (a rate or an alert rule over it would miss
	 * the first); the findings are counted by their writes (sql/016):
	 * counting them here took 250-300 ms at a million */
	" SELECT 0, 'qingfeng_findings{level=\"' || l.level || '\",status=\"' || st.status || '\"}',"
	"        coalesce(c.n, 0)::text, NULL::text"
	"   FROM (VALUES ('yellow'), ('orange'), ('red')) l(level)"
	"        CROSS JOIN (VALUES ('open'), ('acknowledged'), ('reported'), ('resolved'), ('dismissed')) st(status)"
	"        LEFT JOIN qf.finding_count c ON c.level = l.level AND c.status = st.status"
	" UNION ALL SELECT 1, 'qingfeng_alerts{state=\"' || v.s || '\"}', v.n::text, NULL"
	"   FROM a, LATERAL (VALUES ('pending', a.p), ('dead', a.d), ('silenced', a.si)) v(s, n)"
	/* deprecated, the same as qingfeng_alerts{state="pending"} */
	" UNION ALL SELECT 2, 'qingfeng_outbox_depth', a.p::text, NULL FROM a"
	" UNION ALL SELECT 3, 'qingfeng_oldest_pending_seconds',"
	"        coalesce(round(extract(epoch FROM now() - min(created_at)), 3), 0)::text, NULL"
	"   FROM qf.alert WHERE state = 'pending'"
	" UNION ALL SELECT 4, 'qingfeng_change_lag_seconds',"
	"        coalesce(round(extract(epoch FROM now() - min(changed_at)), 3), 0)::text, NULL FROM qf.change_log"
	"  WHERE xid >= coalesce((SELECT min(position)::text::xid8 FROM qf.cursor WHERE name LIKE 'rule:%'), '0')"
	/* a receiver renamed or removed leaves its alerts pending for ever:
	 * the name is any text, escaped in C */
	" UNION ALL SELECT 5, NULL, count(*)::text, receiver FROM qf.alert"
	"  WHERE state = 'pending' AND receiver NOT IN (SELECT jsonb_array_elements_text($1::jsonb))"
	"  GROUP BY receiver"
	/* late findings (督办) on the engine's clock, through the partial
	 * indexes of sql/021: a few rows however long the history */
	" UNION ALL SELECT 6, 'qingfeng_findings_overdue{level=\"' || l.level || '\"}',"
	"        (SELECT count(*) FROM qf.finding f"
	"          WHERE f.level = l.level AND ((f.status = 'open' AND f.sign_due < (SELECT qf.clock_now()))"
	"             OR (f.status IN ('open', 'acknowledged', 'reported') AND f.close_due < (SELECT qf.clock_now()))))::text,"
	"        NULL"
	"   FROM (VALUES ('yellow'), ('orange'), ('red')) l(level)"
	" ORDER BY 1, 2, 4";

int db_gauges(struct db_session *s, const char *const *receivers, int n, struct gauges *out)
{
	char *names = dbi_json_names(receivers, n);
	const char *p[1] = {names};
	PGresult *r = dbi_prepared(s, "qf_gauges", gauges_sql, 1, p);
	free(names);
	memset(out, 0, sizeof *out);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_warn("cannot read metrics: %s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	out->res_ = r;
	out->n = PQntuples(r);
	out->v = xcalloc((size_t)out->n + 1, sizeof *out->v);
	for (int i = 0; i < out->n; i++) {
		struct gauge_sample *g = &out->v[i];
		g->family = (enum db_gauge)atoi(PQgetvalue(r, i, 0));
		g->series = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
		g->value = PQgetvalue(r, i, 2);
		g->receiver = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
	}
	return 0;
}

void gauges_clear(struct gauges *g)
{
	PQclear(g->res_);
	free(g->v);
	memset(g, 0, sizeof *g);
}
