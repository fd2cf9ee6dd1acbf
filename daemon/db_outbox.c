/* The outbox: claims, outcomes, due times, orphaned alerts. */
#include "db_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "log.h"

const char dbi_claim_sql[] =
	"UPDATE qf.alert a"
	"   SET claimed_by = $3, claimed_until = now() + make_interval(secs => $4::double precision),"
	"       attempts = a.attempts + 1, last_attempt_at = now()"
	/* per receiver, in the order of alert_due_receiver (sql/012), so the
	 * scan stops at the limit whatever the backlog; the alerts one
	 * receiver's scan locked beyond the limit are free at commit */
	" WHERE a.id IN (SELECT p.id"
	"                  FROM jsonb_array_elements_text($1::jsonb) AS r(name),"
	"                       LATERAL (SELECT id, next_attempt_at FROM qf.alert"
	"                                 WHERE receiver = r.name AND state = 'pending'"
	"                                   AND next_attempt_at <= now()"
	"                                   AND (claimed_until IS NULL OR claimed_until < now())"
	"                                 ORDER BY next_attempt_at, id"
	"                                 LIMIT $2::int"
	"                                 FOR UPDATE SKIP LOCKED) p"
	"                 ORDER BY p.next_attempt_at, p.id"
	"                 LIMIT $2::int)"
	" RETURNING a.id, a.receiver, a.event, a.payload::text, a.attempts,"
	"           coalesce(a.requeued_at, a.created_at) < now() - make_interval(secs => $5::double precision),"
	"           jsonb_build_object('id', a.payload->'id', 'rule_id', a.payload->'rule_id',"
	"             'title', a.payload->'title', 'level', a.payload->'level',"
	"             'supervision', a.payload->'supervision', 'risk', a.payload->'risk',"
	"             'duty', a.payload->'duty', 'department', a.payload->'department',"
	"             'status', a.payload->'status', 'first_seen', a.payload->'first_seen',"
	"             'last_seen', a.payload->'last_seen', 'hit_count', a.payload->'hit_count')::text,"
	"           (a.payload->'evidence')::text";

char *dbi_claim_values(const struct claim_req *q, char lim[16], char lease[16], char age[16], const char *p[5])
{
	char *names = dbi_json_names(q->receivers, q->nreceivers);
	snprintf(lim, 16, "%d", q->limit);
	snprintf(lease, 16, "%d", q->lease_s);
	snprintf(age, 16, "%d", q->max_age_s);
	p[0] = names;
	p[1] = lim;
	p[2] = q->claimer;
	p[3] = lease;
	p[4] = age;
	return names;
}

struct claimed_alerts *dbi_take_claimed(PGresult *r)
{
	struct claimed_alerts *a = xcalloc(1, sizeof *a);
	int n = PQntuples(r);

	a->res_ = r;
	a->n = n;
	a->v = xcalloc((size_t)n + 1, sizeof *a->v);
	for (int i = 0; i < n; i++) {
		struct claimed_alert *x = &a->v[i];
		x->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		x->receiver = PQgetvalue(r, i, 1);
		x->event = PQgetvalue(r, i, 2);
		x->payload = PQgetvalue(r, i, 3);
		x->attempts = atoi(PQgetvalue(r, i, 4));
		x->too_old = PQgetvalue(r, i, 5)[0] == 't';
		x->minimal = PQgetvalue(r, i, 6);
		x->evidence = PQgetisnull(r, i, 7) ? NULL : PQgetvalue(r, i, 7);
	}
	return a;
}

void claimed_alerts_free(struct claimed_alerts *a)
{
	if (!a)
		return;
	PQclear(a->res_);
	free(a->v);
	free(a);
}

struct claimed_alerts *db_claim_alerts(struct db_session *s, const struct claim_req *q)
{
	char lim[16], lease[16], age[16];
	const char *p[5];
	char *names = dbi_claim_values(q, lim, lease, age, p);
	PGresult *r = dbi_prepared(s, "qf_claim", dbi_claim_sql, 5, p);
	free(names);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		char *e = dbi_error(s, r);
		log_err("cannot claim alerts: %s", e);
		free(e);
		PQclear(r);
		return NULL;
	}
	return dbi_take_claimed(r);
}

/* One statement for every alert a turn of the loop saw delivered: a round
 * trip per alert was the ceiling of delivery throughput. */
static const char delivered_sql[] =
	"UPDATE qf.alert a SET state = 'delivered', delivered_at = now(), last_status = u.status,"
	"       last_error = NULL, claimed_by = NULL, claimed_until = NULL"
	"  FROM unnest($1::bigint[], $3::int[]) AS u(id, status)"
	" WHERE a.id = u.id AND a.claimed_by = $2"
	" RETURNING a.id";

int db_alerts_delivered(struct db_session *s, const int64_t *ids, const int *status, int n, const char *claimer)
{
	struct buf bi, bs;
	if (n <= 0)
		return 0;
	buf_init(&bi);
	buf_init(&bs);
	for (int i = 0; i < n; i++) {
		buf_printf(&bi, "%s%lld", i ? "," : "{", (long long)ids[i]);
		buf_printf(&bs, "%s%d", i ? "," : "{", status[i]);
	}
	buf_printf(&bi, "}");
	buf_printf(&bs, "}");
	const char *p[3] = {bi.data, claimer, bs.data};
	PGresult *r = dbi_prepared(s, "qf_delivered", delivered_sql, 3, p);
	int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
	if (rc) {
		log_err("cannot mark %d alert(s) delivered: %s", n, PQresultErrorMessage(r));
	} else if (PQntuples(r) < n) {
		/* our lease ran out and another daemon took the alert: harmless */
		for (int i = 0; i < n; i++) {
			bool seen = false;
			for (int k = 0; k < PQntuples(r) && !seen; k++)
				seen = strtoll(PQgetvalue(r, k, 0), NULL, 10) == ids[i];
			if (!seen)
				log_warn("alert %lld: delivered, but its claim had expired; it may be delivered again",
					 (long long)ids[i]);
		}
	}
	PQclear(r);
	buf_free(&bi);
	buf_free(&bs);
	return rc;
}

int db_alert_failed(struct db_session *s, int64_t id, const char *claimer, int status, const char *error,
		    double retry_s, bool dead)
{
	char ids[32], st[16], retry[32];
	snprintf(ids, sizeof ids, "%lld", (long long)id);
	snprintf(st, sizeof st, "%d", status);
	snprintf(retry, sizeof retry, "%.3f", retry_s);
	const char *p[6] = {ids, claimer, status ? st : NULL, error, retry, dead ? "t" : "f"};
	PGresult *r = dbi_params(s,
				 "UPDATE qf.alert SET state = CASE WHEN $6::boolean THEN 'dead' ELSE 'pending' END,"
				 "       next_attempt_at = now() + make_interval(secs => $5::double precision),"
				 "       last_status = $3, last_error = $4, claimed_by = NULL, claimed_until = NULL"
				 " WHERE id = $1 AND claimed_by = $2",
				 6, p);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc)
		log_err("alert %lld: cannot record the failed attempt: %s", (long long)id, PQresultErrorMessage(r));
	PQclear(r);
	return rc;
}

int db_alert_release(struct db_session *s, int64_t id, const char *claimer)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", (long long)id);
	const char *p[2] = {ids, claimer};
	/* not sent after all (it did not fit a digest): the claim was no attempt */
	PGresult *r = dbi_params(s,
				 "UPDATE qf.alert SET claimed_by = NULL, claimed_until = NULL,"
				 "       attempts = greatest(attempts - 1, 0)"
				 " WHERE id = $1 AND claimed_by = $2",
				 2, p);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc)
		log_err("alert %lld: cannot release its claim: %s", (long long)id, PQresultErrorMessage(r));
	PQclear(r);
	return rc;
}

double db_next_due(struct db_session *s, const char *const *receivers, int n)
{
	char *names = dbi_json_names(receivers, n);
	const char *p[1] = {names};
	PGresult *r = dbi_params(s,
				 "SELECT extract(epoch FROM min(greatest(next_attempt_at,"
				 "                                       coalesce(claimed_until, next_attempt_at))) - now())"
				 "  FROM qf.alert WHERE state = 'pending'"
				 "   AND receiver IN (SELECT jsonb_array_elements_text($1::jsonb))",
				 1, p);
	double v = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && !PQgetisnull(r, 0, 0)) {
		v = atof(PQgetvalue(r, 0, 0));
		if (v < 0)
			v = 0;
	} else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_err("cannot read the outbox: %s", PQresultErrorMessage(r));
	}
	PQclear(r);
	free(names);
	return v;
}

int db_pending_count(struct db_session *s, const char *const *receivers, int n)
{
	char *names = dbi_json_names(receivers, n);
	const char *p[1] = {names};
	PGresult *r = dbi_params(s,
				 "SELECT count(*) FROM qf.alert WHERE state = 'pending'"
				 "   AND receiver IN (SELECT jsonb_array_elements_text($1::jsonb))",
				 1, p);
	int count = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	free(names);
	return count;
}

int db_orphaned_alerts(struct db_session *s, const char *const *receivers, int n, struct orphans *out, char **err)
{
	char *names = dbi_json_names(receivers, n);
	const char *p[1] = {names};
	PGresult *r = dbi_query(s,
				"SELECT receiver, count(*)::text FROM qf.alert"
				" WHERE state = 'pending' AND receiver NOT IN (SELECT jsonb_array_elements_text($1::jsonb))"
				" GROUP BY receiver ORDER BY receiver",
				1, p, err);
	free(names);
	memset(out, 0, sizeof *out);
	if (!r)
		return -1;
	out->res_ = r;
	out->n = PQntuples(r);
	out->v = xcalloc((size_t)out->n + 1, sizeof *out->v);
	for (int i = 0; i < out->n; i++) {
		out->v[i].receiver = PQgetvalue(r, i, 0);
		out->v[i].count = atol(PQgetvalue(r, i, 1));
	}
	return 0;
}

void orphans_clear(struct orphans *o)
{
	PQclear(o->res_);
	free(o->v);
	memset(o, 0, sizeof *o);
}
