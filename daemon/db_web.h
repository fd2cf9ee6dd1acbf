/* What the console (qfweb) asks of the database, on each person's own
 * connection: logging in as their PostgreSQL role, the findings list
 * (paged by key, filtered, capped count), one finding with its history
 * and that history's hashes checked, the disposal steps (the same
 * database functions as qfctl), the dashboard's measures and the CSV
 * export. Listings come back as struct db_table (db_ops.h). */
#ifndef QF_DB_WEB_H
#define QF_DB_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "db_ops.h"

/* Whether conninfo is fit for the console: parseable, and carrying no
 * password or user (each person's own are used). 0, or -1 with why. */
int db_web_check_conninfo(const char *conninfo, char *why, size_t n);

/* Why a login failed. DBW_LOGIN_UNCHECKED: a password login that the
 * server let in without asking for the password (pg_hba.conf trust,
 * peer, ident...): refused, as a wrong password is to the person. */
enum db_web_login {
	DBW_LOGIN_OK = 0,
	DBW_LOGIN_REFUSED,
	DBW_LOGIN_UNREACHABLE,
	DBW_LOGIN_NOT_AUDITOR,
	DBW_LOGIN_UNCHECKED
};

/* A session as user (with password, which the server must have asked
 * for and checked, or NULL for a trusted proxy's login
 * through a client certificate or an ident map), set up as qfctl's is
 * (search_path, TimeZone), with statement_timeout_ms. Its role must be a member of qf_auditor or
 * qf_admin; *admin says whether of qf_admin. NULL with *why set and the
 * server's reason in msg (never holding the password) on failure. */
struct db_session *db_web_connect(const char *conninfo, const char *user, const char *password,
				  const char *timezone, int connect_timeout_s, int statement_timeout_ms,
				  enum db_web_login *why, bool *admin, char *msg, size_t n);

/* The list's filters (query parameters of GET /findings); NULL: any. */
struct web_filter {
	const char *status, *level, *rule, *owner, *light;
};

/* One page of findings, newest first: those with id < before (0: from
 * the newest), skipping offset rows. Columns: id, level, status, rule,
 * title, department, person, owner, first seen, sign due, close due,
 * light, hits. */
int db_web_list(struct db_session *s, const struct web_filter *f, long long before, int offset, int limit,
		struct db_table *out, char **err) QF_MUST_CHECK;
/* About how many findings match: the planner's estimate (no rows read). */
long db_web_estimate(struct db_session *s, const struct web_filter *f, char **err);

/* One finding, as a single row: id, rule, title, level, status,
 * supervision, risk, duty, person, department, hits, first seen, last
 * seen, rule version, message, owner, sign due, close due, light,
 * outcome, disposition, the actor of its latest feedback, whether the
 * session's role is the owner, the steps it may take now (qf.
 * disposal_actions: "ack,assign"). 0 rows: none the session may see. */
enum {
	FW_ID, FW_RULE, FW_TITLE, FW_LEVEL, FW_STATUS, FW_SUPERVISION, FW_RISK, FW_DUTY, FW_PERSON, FW_DEPARTMENT,
	FW_HITS, FW_FIRST, FW_LAST, FW_VERSION, FW_MESSAGE, FW_OWNER, FW_SIGN_DUE, FW_CLOSE_DUE, FW_LIGHT, FW_OUTCOME,
	FW_DISPOSITION, FW_REPORTER, FW_MINE, FW_ACTIONS, FW_NCOLS
};
int db_web_finding(struct db_session *s, long long id, struct db_table *out, char **err) QF_MUST_CHECK;
/* Its evidence: key, value (text of a scalar, JSON otherwise). */
int db_web_evidence(struct db_session *s, long long id, struct db_table *out, char **err) QF_MUST_CHECK;
/* Its history, oldest first: seq, at, actor, action, level, note, hash
 * (16 digits), intact (t: the event's hash matches its content), linked
 * (t: its prev_hash is the hash of the event before it; f: it is not; ""
 * the event before belongs to a finding the session cannot see, or there
 * is none and prev_hash is the chain's start). */
int db_web_history(struct db_session *s, long long id, struct db_table *out, char **err) QF_MUST_CHECK;

/* The steps go through db_disposal_step() (db_disposal.h), as qfctl's. */

/* qf.disposal_measures(from, to): grouping, group, closed, substantiated,
 * rate, closed on time, signed, signed on time, overdue now, median days */
int db_web_measures(struct db_session *s, const char *from, const char *to, struct db_table *out,
		    char **err) QF_MUST_CHECK;
/* Findings late now, the latest first due: id, level, rule, title, owner,
 * department, status, due (the deadline missed), days late. */
int db_web_overdue(struct db_session *s, int limit, struct db_table *out, char **err) QF_MUST_CHECK;
/* The findings first seen in [from, to), counted by supervision, risk,
 * duty, level and day (YYYY-MM-DD): count, closed of them. */
int db_web_period(struct db_session *s, const char *from, const char *to, struct db_table *out,
		  char **err) QF_MUST_CHECK;
/* The period's default: the first of this month and of the next, in the
 * session's time zone (from, to: 11 bytes each). */
int db_web_month(struct db_session *s, char from[11], char to[11], char **err) QF_MUST_CHECK;

/* The export: the list's columns, then supervision, risk, duty, amount
 * (a JSON number's text, or ""), table, record key, outcome,
 * disposition, message, evidence (JSON); at most limit rows. */
int db_web_export(struct db_session *s, const struct web_filter *f, int limit, struct db_table *out,
		  char **err) QF_MUST_CHECK;

/* Whether the connection still works (a cheap statement). */
bool db_web_alive(struct db_session *s);

#endif
