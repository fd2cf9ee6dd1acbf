/* The disposal loop: settings sync, the steps, the measures (db_disposal.h). */
#include "db_disposal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_disposal.h"
#include "db_int.h"

int db_disposal_sync(struct db_session *s, const struct qf_config *cfg, int64_t clock_offset_us, char **missing,
		     char **err)
{
	char every[16], offset[48];
	char *owners = config_owners_json(cfg), *deadlines = config_deadlines_json(cfg);
	json_t *o = json_object();

	snprintf(every, sizeof every, "%d", cfg->disposal.overdue_every);
	snprintf(offset, sizeof offset, "%" PRId64 " microseconds", clock_offset_us);
	json_object_set_new(o, "disposal.four_eyes", json_string(cfg->disposal.four_eyes ? "true" : "false"));
	json_object_set_new(o, "disposal.owners", json_string(owners));
	json_object_set_new(o, "disposal.deadlines", json_string(deadlines));
	json_object_set_new(o, "disposal.overdue_every", json_string(every));
	json_object_set_new(o, "timezone", json_string(cfg->timezone));
	json_object_set_new(o, "engine.clock_offset", json_string(offset));
	/* the engine may not delete settings: no console is "" */
	json_object_set_new(o, "console.url", json_string(cfg->console.url ? cfg->console.url : ""));
	char *json = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(owners);
	free(deadlines);
	if (!json)
		abort();
	const char *p[1] = {json};
	/* and the owner roles that do not exist: their findings could be
	 * signed for by admins only */
	PGresult *r = dbi_query(s,
				"WITH w AS (INSERT INTO qf.setting AS s (name, value)"
				"           SELECT key, value FROM jsonb_each_text($1::jsonb)"
				"           ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, set_at = now(),"
				"                                            set_by = session_user"
				"           WHERE s.value IS DISTINCT FROM EXCLUDED.value RETURNING 1)"
				" SELECT string_agg(DISTINCT o.e ->> 'role', ', ')"
				"   FROM jsonb_array_elements(($1::jsonb ->> 'disposal.owners')::jsonb) o(e)"
				"  WHERE NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = o.e ->> 'role')",
				1, p, err);
	free(json);
	if (!r)
		return -1;
	*missing = PQgetisnull(r, 0, 0) ? NULL : xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int db_disposal_step(struct db_session *s, enum disposal_step step, const struct step_args *a, char **action,
		     char **err, char sqlstate[6])
{
	static const char *const sql[] = {
		[STEP_ACK] = "SELECT e.action FROM qf.finding_ack($1::bigint, $2) e",
		[STEP_FEEDBACK] = "SELECT e.action FROM qf.finding_feedback($1::bigint, $3, $4, $2) e",
		[STEP_CLOSE] = "SELECT e.action FROM qf.finding_close($1::bigint, $2) e",
		[STEP_REOPEN] = "SELECT e.action FROM qf.finding_reopen($1::bigint, $2) e",
		[STEP_ASSIGN] = "SELECT e.action FROM qf.finding_assign($1::bigint, $3, $2) e",
		[STEP_RESOLVE] = "SELECT e.action FROM qf.set_finding_status($1::bigint, 'resolved', $2) e",
		[STEP_DISMISS] = "SELECT e.action FROM qf.set_finding_status($1::bigint, 'dismissed', $2) e",
	};
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", a->id);
	const char *p[4] = {ids, a->note, step == STEP_ASSIGN ? a->to : a->outcome, a->disposition};
	int np = step == STEP_FEEDBACK ? 4 : step == STEP_ASSIGN ? 3 : 2;
	sqlstate[0] = '\0';
	/* one statement, its own transaction: a refusal rolls back whatever
	 * the function had begun */
	PGresult *r = dbi_params(s, sql[step], np, p);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		const char *code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		snprintf(sqlstate, 6, "%s", code ? code : "");
		*err = r && PQresultStatus(r) == PGRES_TUPLES_OK ? xstrdup("the step returned no event") : dbi_error(s, r);
		PQclear(r);
		return -1;
	}
	*action = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int db_disposal_measures(struct db_session *s, const char *from, const char *to, struct db_table *out, char **err)
{
	const char *p[2] = {from, to};
	/* the report's period is [from, to) in local dates, as its other
	 * sections; the rate and the median may be NULL (nothing closed) */
	return dbi_table(
		dbi_query(s,
			  "SELECT m.\"grouping\", m.grp, m.closed, m.substantiated,"
			  "       coalesce(m.substantiation_rate::text, '-'), m.closed_on_time, m.signed, m.signed_on_time,"
			  "       m.overdue_now, coalesce(m.median_days_to_close::text, '-')"
			  "  FROM qf.disposal_measures($1::date, $2::date) m",
			  2, p, err),
		out);
}

int db_disposal_overdue(struct db_session *s, struct db_table *out, char **err)
{
	return dbi_table(dbi_query(s,
				   "SELECT o.id, o.rule_id, coalesce(o.owner, '-'), o.level, coalesce(o.department, '-'),"
				   "       o.deadline, to_char(o.due, 'YYYY-MM-DD HH24:MI'), o.days_late"
				   "  FROM qf.v_findings_overdue o ORDER BY o.due, o.id",
				   0, NULL, err),
			 out);
}

int db_disposal_detail(struct db_session *s, long long id, struct db_table *out, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[1] = {ids};
	return dbi_table(
		dbi_query(s,
			  "SELECT coalesce(v.owner, '-'), coalesce(v.light, '-'),"
			  "       coalesce(to_char(v.sign_due, 'YYYY-MM-DD HH24:MI'), '-'),"
			  "       coalesce(to_char(v.close_due, 'YYYY-MM-DD HH24:MI'), '-'),"
			  "       coalesce(to_char(v.acknowledged_at, 'YYYY-MM-DD HH24:MI') || ' ' || v.acknowledged_by, '-'),"
			  "       coalesce(v.outcome || ' / ' || v.disposition, '-'),"
			  "       coalesce(to_char(v.feedback_at, 'YYYY-MM-DD HH24:MI') || ' ' || v.feedback_by, '-'),"
			  "       coalesce(to_char(v.disposal_closed_at, 'YYYY-MM-DD HH24:MI') || ' ' || v.closed_by, '-')"
			  "  FROM qf.v_findings v WHERE v.id = $1::bigint",
			  1, p, err),
		out);
}
