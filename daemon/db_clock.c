/* The clock's writes: escalation, reminders, resolved notices. */
#include "db_clock.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "log.h"

void clock_findings_clear(struct clock_findings *f)
{
	PQclear(f->res_);
	free(f->v);
	memset(f, 0, sizeof *f);
}

/* rows of (finding id, rule_id, level, department) from column col0, the
 * event id (notices) before them */
static void take_findings(struct clock_findings *f, PGresult *r, int col0)
{
	f->res_ = r;
	f->n = PQntuples(r);
	f->v = xcalloc((size_t)f->n + 1, sizeof *f->v);
	for (int i = 0; i < f->n; i++) {
		struct clock_finding *x = &f->v[i];
		x->event_id = col0 ? strtoll(PQgetvalue(r, i, 0), NULL, 10) : 0;
		x->id = strtoll(PQgetvalue(r, i, col0), NULL, 10);
		x->rule_id = PQgetvalue(r, i, col0 + 1);
		x->level = PQgetvalue(r, i, col0 + 2);
		x->department = PQgetisnull(r, i, col0 + 3) ? NULL : PQgetvalue(r, i, col0 + 3);
		/* notices: the event's action after the head's seq */
		x->evidence_changed = col0 && PQnfields(r) > col0 + 5 && !strcmp(PQgetvalue(r, i, col0 + 5), "evidence_changed");
	}
}

/* [{key: id, receivers: [...]}], as the statements below read it; caller
 * frees */
static char *routes_json(const struct clock_route *routes, int n, const char *key)
{
	struct buf json;
	buf_init(&json);
	buf_puts(&json, "[");
	for (int i = 0; i < n; i++) {
		json_t *o = json_object();
		json_t *rcv = json_array();
		for (int j = 0; j < routes[i].nreceivers; j++)
			json_array_append_new(rcv, json_string(routes[i].receivers[j]));
		json_object_set_new(o, key, json_integer(routes[i].id));
		json_object_set_new(o, "receivers", rcv);
		char *text = json_dumps(o, JSON_COMPACT);
		buf_printf(&json, "%s%s", i ? "," : "", text);
		free(text);
		json_decref(o);
	}
	buf_puts(&json, "]");
	return buf_steal(&json);
}

/* BEGIN, then an UPDATE ... RETURNING that takes one whole number; the
 * transaction stays open for the caller's second step */
static int begin_update(struct db_session *s, const char *sql, int value, struct clock_findings *out, char **err)
{
	char v[16];
	snprintf(v, sizeof v, "%d", value);
	const char *p[1] = {v};

	memset(out, 0, sizeof *out);
	if (!dbi_cmd(s, "BEGIN", err))
		return -1;
	PGresult *r = dbi_params(s, sql, 1, p);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*err = dbi_error(s, r);
		PQclear(r);
		dbi_rollback(s);
		return -1;
	}
	take_findings(out, r, 0);
	return 0;
}

int db_escalate_begin(struct db_session *s, int after_days, struct clock_findings *out, char **err)
{
	/* once per step: the clock restarts at each rise */
	return begin_update(s,
			    "UPDATE qf.finding SET level = qf.level_up(level), escalated_at = qf.clock_now()"
			    " WHERE status = 'open' AND level <> 'red'"
			    "   AND coalesce(escalated_at, first_seen) <= qf.clock_now() - make_interval(days => $1::int)"
			    " RETURNING id, rule_id, level, department",
			    after_days, out, err);
}

int db_remind_begin(struct db_session *s, int every_hours, struct clock_findings *out, char **err)
{
	return begin_update(s,
			    "UPDATE qf.finding SET reminded_at = qf.clock_now()"
			    " WHERE status = 'open' AND level = 'red'"
			    "   AND coalesce(reminded_at, first_seen) <= qf.clock_now() - make_interval(hours => $1::int)"
			    " RETURNING id, rule_id, level, department",
			    every_hours, out, err);
}

/* the statement's result as a command, then COMMIT: 0, or -1 with *err
 * and the transaction rolled back */
static int command_commit(struct db_session *s, PGresult *r, char **err)
{
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = dbi_error(s, r);
		PQclear(r);
		dbi_rollback(s);
		return -1;
	}
	PQclear(r);
	if (!dbi_cmd(s, "COMMIT", err)) {
		dbi_rollback(s);
		return -1;
	}
	return 0;
}

int db_finding_events(struct db_session *s, const struct clock_route *routes, int n, const char *action,
		      const char *event, const char *note, char **err)
{
	char *json = routes_json(routes, n, "id");
	const char *p[4] = {json, action, event, note};
	PGresult *r = dbi_params(s,
				 "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, receivers text[])),"
				 " ev AS (INSERT INTO qf.finding_event (finding_id, action, level, note)"
				 "        SELECT f.id, $2, f.level, replace($4, '%level%', f.level)"
				 "          FROM qf.finding f JOIN x ON x.id = f.id ORDER BY f.id"
				 "        RETURNING id, finding_id)"
				 " INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload, state, silence_id, last_error)"
				 " SELECT ev.id, f.id, rcv.name, $3, qf.finding_payload(f),"
				 "        CASE WHEN s.id IS NULL THEN 'pending' ELSE 'silenced' END, s.id,"
				 "        CASE WHEN s.id IS NOT NULL THEN 'silenced by silence ' || s.id END"
				 "   FROM ev JOIN qf.finding f ON f.id = ev.finding_id JOIN x ON x.id = f.id"
				 "        CROSS JOIN LATERAL unnest(x.receivers) AS rcv(name)"
				 "        LEFT JOIN LATERAL (" SILENCE_FOR("f.rule_id", "f.subject", "f.department", "f.level",
											     "f.supervision") ") s ON true",
				 4, p);
	free(json);
	return command_commit(s, r, err);
}

int db_overdue_begin(struct db_session *s, int every_workdays, struct clock_findings *out, char **err)
{
	/* late for a step not done, first for that step or again every
	 * `every` workdays since the last overdue event (sql/021) */
	return begin_update(s,
			    "UPDATE qf.finding f SET overdue_at = c.t,"
			    "       overdue_step = qf.disposal_late_step(f.status, f.sign_due, f.close_due, c.t)"
			    "  FROM (SELECT qf.clock_now() AS t) c"
			    " WHERE ((f.status = 'open' AND f.sign_due < c.t)"
			    "        OR (f.status IN ('open', 'acknowledged', 'reported') AND f.close_due < c.t))"
			    "   AND (f.overdue_step IS DISTINCT FROM qf.disposal_late_step(f.status, f.sign_due, f.close_due, c.t)"
			    "        OR qf.add_workdays(f.overdue_at, $1::int) <= c.t)"
			    " RETURNING f.id, f.rule_id, f.level, f.department",
			    every_workdays, out, err);
}

int db_overdue_finish(struct db_session *s, const struct clock_route *routes, int n, char **err)
{
	char *json = routes_json(routes, n, "id");
	const char *p[1] = {json};
	/* the event says which deadline, how late and whose; the alert's
	 * payload says it again as fields, for the chat formats */
	PGresult *r = dbi_params(s,
				 "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, receivers text[])),"
				 " o AS (SELECT f.id, f.overdue_step AS step,"
				 "              CASE f.overdue_step WHEN 'sign' THEN f.sign_due ELSE f.close_due END AS due,"
				 "              round((extract(epoch FROM f.overdue_at - CASE f.overdue_step WHEN 'sign' THEN f.sign_due"
				 "                                                        ELSE f.close_due END) / 86400)::numeric, 1) AS days"
				 "         FROM qf.finding f JOIN x ON x.id = f.id),"
				 " ev AS (INSERT INTO qf.finding_event (finding_id, action, level, note)"
				 "        SELECT f.id, 'overdue', f.level,"
				 "               format('逾期 overdue: the %s deadline %s passed %s days ago; owner %s',"
				 "                      o.step, to_char(o.due, 'YYYY-MM-DD HH24:MI'), o.days, coalesce(f.owner, '-'))"
				 "          FROM qf.finding f JOIN o ON o.id = f.id ORDER BY f.id"
				 "        RETURNING id, finding_id)"
				 " INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload, state, silence_id, last_error)"
				 " SELECT ev.id, f.id, rcv.name, 'finding.overdue',"
				 "        qf.finding_payload(f) || jsonb_build_object('overdue', jsonb_build_object("
				 "            'step', o.step, 'due', o.due, 'days_late', o.days, 'owner', f.owner)),"
				 "        CASE WHEN s.id IS NULL THEN 'pending' ELSE 'silenced' END, s.id,"
				 "        CASE WHEN s.id IS NOT NULL THEN 'silenced by silence ' || s.id END"
				 "   FROM ev JOIN qf.finding f ON f.id = ev.finding_id JOIN o ON o.id = f.id JOIN x ON x.id = f.id"
				 "        CROSS JOIN LATERAL unnest(x.receivers) AS rcv(name)"
				 "        LEFT JOIN LATERAL (" SILENCE_FOR("f.rule_id", "f.subject", "f.department", "f.level", "f.supervision") ") s ON true",
				 1, p);
	free(json);
	return command_commit(s, r, err);
}

int db_notices_begin(struct db_session *s, struct clock_findings *out, char **err)
{
	memset(out, 0, sizeof *out);
	if (!dbi_cmd(s, "BEGIN", err))
		return -1;
	/* seq is assigned under the chain head's lock, held to commit, so
	 * events become visible in seq order: a seq cursor skips nothing, if
	 * it moves to the newest event this statement's snapshot saw (the
	 * finish's later snapshot may see events committed since, which
	 * ETL transactions write: evidence_changed) */
	PGresult *r = dbi_exec(s,
			       "WITH c AS (SELECT position FROM qf.cursor WHERE name = 'notices' FOR UPDATE),"
			       " m AS (SELECT max(seq) AS upto FROM qf.finding_event),"
			       " u AS (UPDATE qf.cursor SET position = greatest(c.position, coalesce(m.upto, c.position)),"
			       "              updated_at = now() FROM c, m WHERE name = 'notices')"
			       "SELECT e.id, f.id, f.rule_id, f.level, f.department, m.upto, e.action"
			       "  FROM c, m, qf.finding_event e JOIN qf.finding f ON f.id = e.finding_id"
			       " WHERE e.seq > c.position AND e.seq <= m.upto"
			       /* a record named by a finding changed (sql/022): never
				* silenced, since a silence and then an edit is exactly
				* what it is there to show */
			       "   AND e.action IN ('resolved', 'evidence_changed')"
			       " ORDER BY e.seq");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*err = dbi_error(s, r);
		PQclear(r);
		dbi_rollback(s);
		return -1;
	}
	take_findings(out, r, 1);
	return 0;
}

int db_notices_finish(struct db_session *s, const struct clock_route *routes, int n, char **err)
{
	char *json = routes_json(routes, n, "event_id");
	const char *p[1] = {json};
	PGresult *r = dbi_params(s,
				 "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(event_id bigint, receivers text[])),"
				 " al AS (INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload)"
				 "        SELECT e.id, f.id, rcv.name,"
				 "               CASE e.action WHEN 'evidence_changed' THEN 'finding.evidence_changed'"
				 "                    ELSE 'finding.resolved' END,"
				 "               CASE e.action WHEN 'evidence_changed' THEN qf.evidence_change_payload(f, e)"
				 "                    ELSE qf.finding_payload(f) END"
				 "          FROM x JOIN qf.finding_event e ON e.id = x.event_id JOIN qf.finding f ON f.id = e.finding_id"
				 "               CROSS JOIN LATERAL unnest(x.receivers) AS rcv(name)"
				 "        ON CONFLICT (event_id, receiver) DO NOTHING RETURNING 1)"
				 /* the cursor moved in _begin, in this transaction */
				 " UPDATE qf.cursor SET updated_at = now() WHERE name = 'notices'",
				 1, p);
	free(json);
	return command_commit(s, r, err);
}
