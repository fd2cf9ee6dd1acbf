/* The daemon's control events and chain anchors (db_trust.h). */
#include "db_trust.h"

#include <stdlib.h>
#include <string.h>

#include "db_int.h"

/* one statement whose first value is a boolean (or none is read) */
static int one(struct db_session *s, const char *sql, int n, const char *const *p, bool *out, char **err)
{
	PGresult *r = dbi_query(s, sql, n, p, err);
	if (!r)
		return -1;
	if (out)
		*out = PQntuples(r) > 0 && !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	return 0;
}

int db_trust_settings(struct db_session *s, bool four_eyes, char **err)
{
	const char *p[1] = {four_eyes ? "true" : "false"};
	/* an unchanged value writes nothing, so it fires no event */
	return one(s,
		   "INSERT INTO qf.setting AS x (name, value) VALUES ('silence.four_eyes', $1)"
		   " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, set_at = now(), set_by = session_user"
		   " WHERE x.value IS DISTINCT FROM EXCLUDED.value",
		   1, p, NULL, err);
}

int db_trust_started(struct db_session *s, const char *identity, const char *detail, bool *unclean, char **err)
{
	const char *p[2] = {identity, detail};
	return one(s, "SELECT qf.daemon_started($1, $2::jsonb)", 2, p, unclean, err);
}

int db_trust_rules(struct db_session *s, const char *identity, bool reload, const char *config_hash,
		   const char *rules, const char *detail, bool *written, char **err)
{
	const char *p[5] = {identity, reload ? "t" : "f", config_hash, rules, detail};
	return one(s, "SELECT qf.daemon_rules($1, $2::boolean, $3, $4::jsonb, $5::jsonb)", 5, p, written, err);
}

int db_trust_stopped(struct db_session *s, const char *identity, const char *detail, char **err)
{
	const char *p[2] = {identity, detail};
	return one(s, "SELECT qf.daemon_stopped($1, $2::jsonb)", 2, p, NULL, err);
}

bool db_trust_control_notified(struct db_session *s)
{
	bool was = s && s->control_notified;
	if (s)
		s->control_notified = false;
	return was;
}

long db_trust_anchor(struct db_session *s, const char *receivers, const char *now, char **err)
{
	const char *p[2] = {receivers, now};
	PGresult *r = dbi_query(s,
				"WITH al AS ("
				"  INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload)"
				"  SELECT NULL, NULL, rcv.name, 'chain.anchor',"
				"         jsonb_build_object('id', a.id, 'seq', a.seq, 'hash', a.hash, 'events', a.events,"
				"                            'at', coalesce($2::timestamptz, now()),"
				"                            'verify', 'qfctl audit verify --anchor ' || a.id || ':' || a.hash)"
				"    FROM qf.chain_anchor() a, jsonb_array_elements_text($1::jsonb) AS rcv(name)"
				"  RETURNING 1)"
				" SELECT count(*) FROM al",
				2, p, err);
	if (!r)
		return -1;
	long n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

/* ---- what qfctl asks ---- */

/* the events of the log, with a line a person reads for each */
#define AUDIT_LOG_FROM                                                                                        \
	"WITH e AS ("                                                                                        \
	"  SELECT e.*, CASE"                                                                                 \
	"    WHEN e.action LIKE 'silence%' THEN 'silence ' || (e.detail->>'silence') || ': '"                \
	"         || concat_ws(' ', 'rule=' || coalesce(d.rule_id, '*'), 'person=' || coalesce(d.subject, '*'),"   \
	"                      'department=' || coalesce(d.department, '*'),"                                 \
	"                      to_char(d.starts_at, 'YYYY-MM-DD HH24:MI') || '..' || to_char(d.until, 'YYYY-MM-DD HH24:MI'),"\
	"                      'approved_by=' || d.approved_by, 'expired_at=' || to_char(d.expired_at, 'YYYY-MM-DD HH24:MI'))" \
	"         || '; ' || coalesce(e.note, '')"                                                          \
	"    WHEN e.action = 'setting_changed' THEN (e.detail->>'name') || ': ' || coalesce(e.detail->>'before', 'unset')" \
	"         || ' -> ' || coalesce(e.detail->>'after', 'unset')"                                        \
	"    WHEN e.action = 'rules_loaded' THEN (e.detail->>'reason') || ': '"                               \
	"         || (SELECT count(*) FROM jsonb_object_keys(e.detail->'rules')) || ' rule(s), '"             \
	"         || (SELECT count(*) FROM jsonb_each(e.detail->'rules') r WHERE (r.value->>'enabled')::boolean)" \
	"         || ' enabled, config ' || left(e.detail->>'config_hash', 12) || ', changed '"               \
	"         || coalesce((SELECT string_agg(c, ',') FROM jsonb_array_elements_text(e.detail->'changed') c), '-')" \
	"    WHEN e.action = 'daemon_reloaded' THEN (e.detail->>'identity') || ' config '"                    \
	"         || left(e.detail->>'config_hash', 12) || ', rules changed '"                                \
	"         || coalesce((SELECT string_agg(c, ',') FROM jsonb_array_elements_text(e.detail->'rules_changed') c), '-')" \
	"    WHEN e.action LIKE 'daemon%' THEN (e.detail->>'identity') || ' pid ' || (e.detail->>'pid')"      \
	"         || coalesce(' started ' || (e.detail->>'started_at'), '')"                                  \
	"    WHEN e.action = 'evidence_changed' THEN (e.detail->>'op') || ' ' || (e.detail->>'table') || ' '"  \
	"         || (e.detail->>'value') || ': ' || coalesce((SELECT string_agg(k.key || ' ' || coalesce(k.value->>'old', 'null')" \
	"              || ' -> ' || coalesce(k.value->>'new', 'null'), '; ' ORDER BY k.key)"                  \
	"              FROM jsonb_each(e.detail->'changed') k WHERE e.detail->>'op' = 'update'), 'the row')"  \
	"    ELSE coalesce(e.note, e.detail::text, '') END AS summary"                                        \
	"    FROM qf.finding_event e"                                                                         \
	"    LEFT JOIN LATERAL jsonb_populate_record(NULL::qf.silence, CASE WHEN e.action LIKE 'silence%'"  \
	"              THEN coalesce(e.detail->'after', e.detail->'before') END) d ON true"                     \
	"   WHERE (e.finding_id IS NULL OR e.action = 'evidence_changed')"                                   \
	"     AND ($1::timestamptz IS NULL OR e.at >= $1::timestamptz)"                                       \
	"     AND ($2::text IS NULL OR e.action = $2 OR e.action LIKE $2 || '\\_%'))"

int db_audit_log(struct db_session *s, const char *since, const char *kind, bool json, struct db_table *out,
		 char **err)
{
	const char *p[2] = {since, kind};
	if (json)
		return dbi_table(
			dbi_query(s,
				  AUDIT_LOG_FROM
				  " SELECT coalesce(jsonb_agg(jsonb_build_object('seq', e.seq, 'id', e.id, 'at', e.at,"
				  "          'actor', e.actor, 'kind', e.action, 'finding_id', e.finding_id, 'note', e.note,"
				  "          'detail', e.detail, 'summary', e.summary) ORDER BY e.seq), '[]')"
				  "   FROM e",
				  2, p, err),
			out);
	return dbi_table(dbi_query(s,
				   AUDIT_LOG_FROM " SELECT e.seq, to_char(e.at, 'YYYY-MM-DD HH24:MI:SS'), e.actor, e.action,"
						  "        coalesce(e.finding_id::text, '-'), e.summary"
						  "   FROM e ORDER BY e.seq",
				   2, p, err),
			 out);
}

int db_chain_contains(struct db_session *s, const char *id, const char *hash, char **err)
{
	const char *p[2] = {id, hash};
	PGresult *r = dbi_query(s, "SELECT qf.chain_contains($1::bigint, $2)", 2, p, err);
	if (!r)
		return -1;
	int in = !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	return in;
}

int db_silence_approve(struct db_session *s, const char *id, char **err)
{
	const char *p[1] = {id};
	PGresult *r = dbi_query(s, "SELECT id FROM qf.silence_approve($1::bigint)", 1, p, err);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}
