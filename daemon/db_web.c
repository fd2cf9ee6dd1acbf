/* The console's SQL (qfweb), on each person's own connection: row-level
 * security, the auditor scopes and the history's actor are the
 * database's, exactly as for qfctl. */
#include "db_web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "log.h"

int db_web_check_conninfo(const char *conninfo, char *why, size_t n)
{
	char *perr = NULL;
	PQconninfoOption *o = PQconninfoParse(conninfo && *conninfo ? conninfo : "", &perr);

	if (!o) {
		snprintf(why, n, "database.conninfo: %s", perr ? perr : "cannot be parsed");
		if (perr)
			PQfreemem(perr);
		return -1;
	}
	int rc = 0;
	for (PQconninfoOption *p = o; p->keyword; p++)
		if (p->val && *p->val && (!strcmp(p->keyword, "password") || !strcmp(p->keyword, "user"))) {
			/* one password for everyone would make every login that one
			 * role's; the console connects as each person */
			snprintf(why, n,
				 "database.conninfo holds a %s: the console connects as each person, with their own role",
				 p->keyword);
			rc = -1;
		}
	PQconninfoFree(o);
	return rc;
}

/* the server's reason, on one line */
static void conn_msg(PGconn *c, char *msg, size_t n)
{
	snprintf(msg, n, "%s", c ? PQerrorMessage(c) : "out of memory");
	msg[strcspn(msg, "\n")] = '\0';
}

struct db_session *db_web_connect(const char *conninfo, const char *user, const char *password,
				  const char *timezone, int connect_timeout_s, int statement_timeout_ms,
				  enum db_web_login *why, bool *admin, char *msg, size_t n)
{
	char timeout[16];
	const char *keys[9], *vals[9];
	int k = 0;

	snprintf(timeout, sizeof timeout, "%d", connect_timeout_s > 0 ? connect_timeout_s : 10);
	/* dbname first: what it expands to is overridden by the keys after it */
	if (conninfo && *conninfo) {
		keys[k] = "dbname";
		vals[k++] = conninfo;
	}
	keys[k] = "user";
	vals[k++] = user;
	if (password) {
		keys[k] = "password";
		vals[k++] = password;
	}
	/* never the service's own ~/.pgpass: a login without the person's
	 * password must not find one there */
	keys[k] = "passfile";
	vals[k++] = "/dev/null";
	keys[k] = "application_name";
	vals[k++] = "qfweb";
	keys[k] = "connect_timeout";
	vals[k++] = timeout;
	keys[k] = "client_encoding";
	vals[k++] = "UTF8";
	keys[k] = NULL;
	vals[k] = NULL;

	*admin = false;
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		conn_msg(c, msg, n);
		/* refused by the server (a password or role it does not know, no
		 * pg_hba line) reads the same whatever the reason, to the person;
		 * no answer at all is the database's */
		bool answered = c && (PQconnectionNeedsPassword(c) || strstr(msg, "authentication") ||
				      strstr(msg, "does not exist") || strstr(msg, "pg_hba.conf") ||
				      strstr(msg, "password") || strstr(msg, "not permitted to log in"));
		*why = answered ? DBW_LOGIN_REFUSED : DBW_LOGIN_UNREACHABLE;
		PQfinish(c);
		return NULL;
	}
	/* A password login the server let in without asking for the password
	 * (pg_hba.conf trust, or peer/ident for the service's own OS user)
	 * would let anyone in as anyone with any password: refused, and the
	 * operator told why (the person sees the same page as for a wrong
	 * password). With scram-sha-256, md5 or password the server asked for
	 * it and checked it. The trusted proxy's login (no password) is the
	 * one that may pass without: its header named the person. */
	if (password && !PQconnectionUsedPassword(c)) {
		snprintf(msg, n,
			 "pg_hba.conf lets role %s in without a password; the console requires one"
			 " (scram-sha-256 for its connections, see qfweb(8))",
			 user);
		*why = DBW_LOGIN_UNCHECKED;
		PQfinish(c);
		return NULL;
	}
	if (PQsetnonblocking(c, 1) != 0) {
		conn_msg(c, msg, n);
		*why = DBW_LOGIN_UNREACHABLE;
		PQfinish(c);
		return NULL;
	}
	struct db_session *s = xcalloc(1, sizeof *s);
	s->conn = c;
	s->refused = -1;
	/* qfctl's session settings: the SQL names qf.* itself, and times read
	 * in the institute's zone */
	char stmt[24];
	snprintf(stmt, sizeof stmt, "%d", statement_timeout_ms > 0 ? statement_timeout_ms : 60000);
	/* and no page waits for ever on a statement (database.statement_timeout) */
	const char *p[2] = {timezone && *timezone ? timezone : "Asia/Shanghai", stmt};
	char *err = NULL;
	PGresult *r = dbi_query(s,
				"SELECT set_config('search_path', 'pg_catalog', false), set_config('TimeZone', $1, false),"
				" set_config('jit', 'off', false), set_config('statement_timeout', $2, false),"
				" pg_has_role(session_user, 'qf_admin', 'member'),"
				" pg_has_role(session_user, 'qf_auditor', 'member')",
				2, p, &err);
	if (!r) {
		snprintf(msg, n, "%s", err);
		free(err);
		*why = DBW_LOGIN_UNREACHABLE;
		db_close(&s);
		return NULL;
	}
	*admin = !strcmp(PQgetvalue(r, 0, 4), "t");
	bool auditor = !strcmp(PQgetvalue(r, 0, 5), "t");
	PQclear(r);
	if (!*admin && !auditor) {
		snprintf(msg, n, "role %s is neither a qf_auditor nor a qf_admin", user);
		*why = DBW_LOGIN_NOT_AUDITOR;
		db_close(&s);
		return NULL;
	}
	*why = DBW_LOGIN_OK;
	return s;
}

bool db_web_alive(struct db_session *s)
{
	if (!db_ok(s))
		return false;
	PGresult *r = dbi_exec(s, "SELECT 1");
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	return ok;
}

/* ---- the list ---- */

/* $1 status, $2 level, $3 rule, $4 owner, $5 light; NULL: any. A light
 * is only ever that of a finding not closed: said again as a status, so
 * that the planner may read the findings not closed alone (an index on
 * them, finding_unclosed_id of sql/024). id > 0, true of every finding,
 * is the condition of the (status|rule_id|owner, id) indexes (sql/025),
 * which the engine's probes must not use. */
#define WEB_WHERE                                                                                                   \
	" WHERE v.id > 0 AND ($1::text IS NULL OR v.status = $1) AND ($2::text IS NULL OR v.level = $2)"           \
	"   AND ($3::text IS NULL OR v.rule_id = $3) AND ($4::text IS NULL OR v.owner = $4)"                        \
	"   AND ($5::text IS NULL OR (v.light = $5 AND v.status IN ('open', 'acknowledged', 'reported')))"

/* the list's columns, of the view under alias a */
#define WEB_COLUMNS_OF(a)                                                                                           \
	"SELECT " a ".id, " a ".level, " a ".status, " a ".rule_id, " a ".title, coalesce(" a ".department, ''),"      \
	" coalesce(" a ".subject, ''), coalesce(" a ".owner, ''), to_char(" a ".first_seen, 'YYYY-MM-DD HH24:MI'),"    \
	" coalesce(to_char(" a ".sign_due, 'YYYY-MM-DD HH24:MI'), ''),"                                                \
	" coalesce(to_char(" a ".close_due, 'YYYY-MM-DD HH24:MI'), ''), coalesce(" a ".light, ''), " a ".hit_count"
#define WEB_COLUMNS WEB_COLUMNS_OF("v")

static void filter_params(const struct web_filter *f, const char *p[5])
{
	p[0] = f->status;
	p[1] = f->level;
	p[2] = f->rule;
	p[3] = f->owner;
	p[4] = f->light;
}

int db_web_list(struct db_session *s, const struct web_filter *f, long long before, int offset, int limit,
		struct db_table *out, char **err)
{
	char b[32], o[16], l[16];
	const char *p[8];
	filter_params(f, p);
	snprintf(b, sizeof b, "%lld", before);
	snprintf(o, sizeof o, "%d", offset);
	snprintf(l, sizeof l, "%d", limit);
	p[5] = before > 0 ? b : NULL;
	p[6] = o;
	p[7] = l;
	/* newest first along the primary key: a page reads the ids of its own
	 * rows and of those it skips (a bounded offset, or none after a key),
	 * never the whole table; only its own rows are formatted (PostgreSQL
	 * computes a select list for the rows an OFFSET skips too) */
	return dbi_table(dbi_query(s,
				   WEB_COLUMNS_OF("o") " FROM qf.v_findings o"
						       " WHERE o.id IN (SELECT v.id FROM qf.v_findings v" WEB_WHERE
						       "   AND ($6::bigint IS NULL OR v.id < $6::bigint)"
						       " ORDER BY v.id DESC OFFSET $7::int LIMIT $8::int)"
						       " ORDER BY o.id DESC",
				   8, p, err),
			 out);
}

long db_web_estimate(struct db_session *s, const struct web_filter *f, char **err)
{
	const char *p[5];
	filter_params(f, p);
	/* the planner's estimate: an exact count would read every matching
	 * row (and ask row-level security about each) at every page */
	PGresult *r = dbi_query(s, "EXPLAIN (FORMAT JSON) SELECT 1 FROM qf.v_findings v" WEB_WHERE, 5, p, err);
	if (!r)
		return -1;
	const char *rows = strstr(PQgetvalue(r, 0, 0), "\"Plan Rows\":");
	long n = rows ? atol(rows + strlen("\"Plan Rows\":")) : 0;
	PQclear(r);
	return n;
}

/* ---- one finding ---- */

int db_web_finding(struct db_session *s, long long id, struct db_table *out, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[1] = {ids};
	return dbi_table(
		dbi_query(s,
			  "SELECT v.id, v.rule_id, v.title, v.level, v.status, v.supervision, v.risk, v.duty,"
			  "       coalesce(v.subject, ''), coalesce(v.department, ''), v.hit_count,"
			  "       to_char(v.first_seen, 'YYYY-MM-DD HH24:MI:SS'), to_char(v.last_seen, 'YYYY-MM-DD HH24:MI:SS'),"
			  "       f.rule_version, v.message, coalesce(v.owner, ''),"
			  "       coalesce(to_char(v.sign_due, 'YYYY-MM-DD HH24:MI'), ''),"
			  "       coalesce(to_char(v.close_due, 'YYYY-MM-DD HH24:MI'), ''), coalesce(v.light, ''),"
			  "       coalesce(v.outcome, ''), coalesce(v.disposition, ''),"
			  "       coalesce(f.feedback_by, ''),"
			  "       v.owner IS NULL OR EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = v.owner"
			  "                                  AND pg_has_role(session_user, r.oid, 'member')),"
			  "       array_to_string(qf.disposal_actions(v.id), ',')"
			  "  FROM qf.v_findings v JOIN qf.finding f ON f.id = v.id WHERE v.id = $1::bigint",
			  1, p, err),
		out);
}

int db_web_evidence(struct db_session *s, long long id, struct db_table *out, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[1] = {ids};
	return dbi_table(dbi_query(s,
				   "SELECT e.k, CASE jsonb_typeof(e.v) WHEN 'string' THEN e.v #>> '{}' ELSE e.v::text END"
				   "  FROM qf.finding f, jsonb_each(f.evidence) AS e(k, v)"
				   " WHERE f.id = $1::bigint ORDER BY e.k",
				   1, p, err),
			 out);
}

int db_web_history(struct db_session *s, long long id, struct db_table *out, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[1] = {ids};
	/* each event's hash recomputed from its content (as qf.verify_chain
	 * does for the whole chain), and its link to the event before it,
	 * which is this finding's or another's: one the person may not see
	 * reads as unknown here, and `qfctl audit verify` checks the rest */
	return dbi_table(
		dbi_query(s,
			  "SELECT e.seq, to_char(e.at, 'YYYY-MM-DD HH24:MI:SS'), e.actor, e.action,"
			  "       coalesce(e.level, ''), coalesce(e.note, ''), left(e.hash, 16),"
			  /* the form the event was hashed in (sql/022): form 2 seals the evidence */
			  "       e.hash = qf.event_hash(e.prev_hash,"
			  "                 CASE WHEN e.form = 1"
			  "                      THEN qf.event_canonical(e.seq, e.id, e.finding_id, e.at, e.actor, e.action,"
			  "                                              e.level, e.note)"
			  "                      ELSE qf.event_canonical2(e.seq, e.id, e.finding_id, e.at, e.actor, e.action,"
			  "                                               e.level, e.note, e.detail, e.evidence) END),"
			  "       (SELECT b.hash = e.prev_hash FROM qf.finding_event b WHERE b.seq = e.seq - 1)"
			  "  FROM qf.finding_event e WHERE e.finding_id = $1::bigint ORDER BY e.seq",
			  1, p, err),
		out);
}

/* ---- the dashboard ---- */

int db_web_measures(struct db_session *s, const char *from, const char *to, struct db_table *out, char **err)
{
	const char *p[2] = {from, to};
	return dbi_table(
		dbi_query(s,
			  "SELECT m.grouping, coalesce(m.grp, ''), m.closed, m.substantiated,"
			  "       coalesce(m.substantiation_rate::text, ''), m.closed_on_time, m.signed,"
			  "       m.signed_on_time, m.overdue_now, coalesce(round(m.median_days_to_close, 1)::text, '')"
			  "  FROM qf.disposal_measures($1::timestamptz, $2::timestamptz) m",
			  2, p, err),
		out);
}

int db_web_overdue(struct db_session *s, int limit, struct db_table *out, char **err)
{
	char l[16];
	snprintf(l, sizeof l, "%d", limit);
	const char *p[1] = {l};
	/* qf.v_findings_overdue's rows, the first by deadline: those late
	 * for closing and those late only for signing, each read in order
	 * along its partial index (finding_close_due, finding_sign_due) and
	 * merged; ordering the view's computed deadline read every late
	 * finding (19,000 in bench/web.sh: 65 to 170 ms) */
	return dbi_table(
		dbi_query(s,
			  "WITH c AS (SELECT qf.clock_now() AS t OFFSET 0)"
			  " SELECT o.id, o.level, o.rule_id, o.title, coalesce(o.owner, ''), coalesce(o.department, ''),"
			  "        o.status, to_char(l.due, 'YYYY-MM-DD HH24:MI'),"
			  "        round((extract(epoch FROM c.t - l.due) / 86400)::numeric, 1), l.deadline"
			  "   FROM ((SELECT f.id, f.close_due AS due, 'close' AS deadline"
			  "            FROM qf.finding f"
			  "           WHERE f.status IN ('open', 'acknowledged', 'reported')"
			  "             AND f.close_due < (SELECT c.t FROM c)"
			  "           ORDER BY f.close_due, f.id LIMIT $1::int)"
			  "         UNION ALL"
			  "         (SELECT f.id, f.sign_due, 'sign'"
			  "            FROM qf.finding f"
			  "           WHERE f.status = 'open' AND f.sign_due < (SELECT c.t FROM c)"
			  "             AND (f.close_due < (SELECT c.t FROM c)) IS NOT TRUE"
			  "           ORDER BY f.sign_due, f.id LIMIT $1::int)) l"
			  "   JOIN qf.finding o ON o.id = l.id CROSS JOIN c"
			  "  ORDER BY l.due, l.id LIMIT $1::int",
			  1, p, err),
		out);
}

int db_web_period(struct db_session *s, const char *from, const char *to, struct db_table *out, char **err)
{
	const char *p[2] = {from, to};
	/* the period's findings per (supervision, risk, duty, level, day), for
	 * the 423 matrix and the daily trend both: from qf.finding_day, kept
	 * by sql/024's trigger, for whole days in Asia/Shanghai (the
	 * console's dates in its default zone), else from the findings */
	return dbi_table(dbi_query(s,
				   "SELECT p.supervision, p.risk, p.duty, p.level, p.day, p.n, p.closed"
				   "  FROM qf.finding_period($1::timestamptz, $2::timestamptz) p",
				   2, p, err),
			 out);
}

int db_web_month(struct db_session *s, char from[11], char to[11], char **err)
{
	PGresult *r = dbi_query(s,
				"SELECT to_char(date_trunc('month', qf.clock_now()), 'YYYY-MM-DD'),"
				"       to_char(date_trunc('month', qf.clock_now()) + interval '1 month', 'YYYY-MM-DD')",
				0, NULL, err);
	if (!r)
		return -1;
	snprintf(from, 11, "%s", PQgetvalue(r, 0, 0));
	snprintf(to, 11, "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	return 0;
}

int db_web_export(struct db_session *s, const struct web_filter *f, int limit, struct db_table *out, char **err)
{
	char l[16];
	const char *p[6];
	filter_params(f, p);
	snprintf(l, sizeof l, "%d", limit);
	p[5] = l;
	/* the amount only when the evidence holds it as a JSON number (as
	 * qfctl's export): a spreadsheet then reads a number */
	return dbi_table(dbi_query(s,
				   WEB_COLUMNS
				   ", v.supervision, v.risk, v.duty,"
				   "       CASE jsonb_typeof(v.evidence -> 'amount') WHEN 'number'"
				   "            THEN v.evidence ->> 'amount' ELSE '' END,"
				   "       coalesce(v.evidence ->> 'table', ''), f.dedupe_key,"
				   "       coalesce(v.outcome, ''), coalesce(v.disposition, ''), v.message, v.evidence::text"
				   "  FROM qf.v_findings v JOIN qf.finding f ON f.id = v.id" WEB_WHERE
				   " ORDER BY v.id DESC LIMIT $6::int",
				   6, p, err),
			 out);
}
