/* Inside the database layer: the session's parts and the helpers every
 * db_*.c file sends its statements with. Nothing outside db_*.c includes
 * this; the rest of the daemon sees struct db_session as opaque (db.h). */
#ifndef QF_DB_INT_H
#define QF_DB_INT_H

#include <libpq-fe.h>

#include "db.h"
#include "db_eval.h"
#include "db_record.h"

/* A rule's cursor as this session last read or moved it (db_eval.c) */
struct cached_cursor {
	char *id;
	char pos[32];
	/* the snapshot (pg_snapshot text) of the read that moved it there, or
	 * NULL: every change it showed was read (db_cursor_seen) */
	char *seen;
};

struct db_session {
	PGconn *conn;
	/* the hot statements are prepared once per connection (the daemon),
	 * or sent unnamed each time (a one-off pass, qfctl) */
	bool prepared;
	char **prep_names; /* what dbi_prepare_once prepared on conn */
	int nprep;
	/* given up (a stop, a silent server, a pipeline out of step): no
	 * statement is sent, db_ok() is false, the caller reconnects */
	bool broken;
	const char *gave_up_why; /* when we gave it up: why (res_error) */
	char gave_up_text[512];
	/* an enum db_refusal when the session was given up because it cannot
	 * work where it is (db_refused), else -1 */
	int refused;
	/* a lane's session (lane.c): its refusal is logged at debug, the
	 * loop's own session says what is wrong with the database, once */
	bool quiet_refusal;
	/* the rules' cursors as this session last read or moved them, so a
	 * pass on a notification needs no round trip to learn them; valid
	 * once loaded by a pass that read them (db_eval.c) */
	struct cached_cursor *cc;
	int ncc;
	bool cc_valid;
	/* a pass's bookkeeping left for eval_flush() (db_record.c) */
	struct db_tail deferred;
	/* a control event was notified ('qf.control', sql/022): db_trust.c */
	bool control_notified;
};

/* PQexec, PQexecParams, PQexecPrepared and PQprepare, awaited in poll()
 * (db_session.c): NULL when nothing could be sent or s was given up */
PGresult *dbi_exec(struct db_session *s, const char *sql);
PGresult *dbi_params(struct db_session *s, const char *sql, int n, const char *const *values);
/* a statement prepared on first use (or sent unnamed, see prepared);
 * on a prepare error, a result carrying it as PQexecParams' would */
PGresult *dbi_prepared(struct db_session *s, const char *name, const char *sql, int n, const char *const *values);
/* prepares sql as name unless done already on this connection: 0, or -1
 * with *err (caller frees) */
int dbi_prepare_once(struct db_session *s, const char *name, const char *sql, int nparams, char **err);
/* the result of a statement as a command: true on success, else *err
 * (caller frees) when err is not NULL */
bool dbi_cmd(struct db_session *s, const char *sql, char **err);
/* ROLLBACK if a transaction is open on a connection still usable */
void dbi_rollback(struct db_session *s);
/* a query's rows, or NULL with *err (caller frees) */
PGresult *dbi_query(struct db_session *s, const char *sql, int n, const char *const *p, char **err);

/* Pipelines: PQsendQueryPrepared (or the text unnamed), the next result
 * (skipping the NULL that ends each query's), leaving pipeline mode once
 * every result is read. pipe_lost gives the connection up after logging
 * what failed and returns -1. */
int dbi_send(struct db_session *s, const char *name, const char *sql, int n, const char *const *values);
PGresult *dbi_pipe_next(struct db_session *s);
bool dbi_pipe_exit(struct db_session *s);
int dbi_pipe_lost(struct db_session *s, const char *what);

/* the first line of the server's error (caller frees); result_error also
 * says when a statement was not run because an earlier one failed */
char *dbi_error(struct db_session *s, const PGresult *r);
char *dbi_result_error(struct db_session *s, const PGresult *r);

/* a JSON array of the strings (jsonb_array_elements_text); caller frees */
char *dbi_json_names(const char *const *v, int n);
/* µs since the epoch as "seconds.micros" (to_timestamp) */
void dbi_us_text(int64_t us, char out[32]);

/* qf.silence_for() written out: a call of that SQL function is parsed and
 * planned anew on every execution of the statement, a third of the cost
 * of recording one finding; inline, it is planned with the statement. */
#define SILENCE_FOR(rule, subject, department, level, supervision)                                            \
	"SELECT s.id FROM qf.silence s"                                                                      \
	" WHERE s.expired_at IS NULL AND now() >= s.starts_at AND now() < s.until"                          \
	"   AND (s.rule_id IS NULL OR s.rule_id = " rule ")"                                                 \
	"   AND (s.subject IS NULL OR s.subject = " subject ")"                                              \
	"   AND (s.department IS NULL OR s.department = " department ")"                                     \
	/* four eyes (sql/022): a red or disciplinary finding is held back    \
	 * only by an approved silence */                                     \
	"   AND (s.approved_at IS NOT NULL OR NOT (" level " = 'red' OR " supervision " = 'disciplinary')"   \
	"        OR NOT qf.four_eyes())"                                                                     \
	" ORDER BY s.id LIMIT 1"

/* the claim (db_outbox.c), also sent in db_record_batch's pipeline: its
 * values (the returned JSON of receiver names: caller frees), and its
 * rows, typed (takes r) */
extern const char dbi_claim_sql[];
char *dbi_claim_values(const struct claim_req *q, char lim[16], char lease[16], char age[16], const char *p[5]);
struct claimed_alerts *dbi_take_claimed(PGresult *r);

struct db_table;
/* r's rows as a table of text t then owns (db_ops.h); NULL r: none (-1) */
int dbi_table(PGresult *r, struct db_table *t);

#endif
