/* The engine's database session (STYLE.md §2): one connection and
 * everything that belongs to it (its prepared statements, whether it was
 * given up, the rules' cursors as last seen, a pass's deferred
 * bookkeeping), created by db_connect() and freed, all of it, by
 * db_close(). A second session is independent of the first.
 *
 * The SQL is behind typed functions, by subject: db_eval.h (reading the
 * rules), db_record.h (writing findings, runs and cursors), db_outbox.h
 * (alerts), db_clock.h (escalation, reminders, notices), db_ops.h (qfctl,
 * reports, gauges), db_migrate.h. Values always go through parameters;
 * the only SQL text built at run time is a rule's compiled statement
 * (rule loading/compiling), whose values are parameters too. */
#ifndef QF_DB_H
#define QF_DB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

/* the schema version (highest sql/NNN_*.sql) this build expects */
#define QF_SCHEMA_VERSION 25

struct db_session;

/* Why no session was made, or why one was given up as refused. */
enum db_refusal {
	DB_UNREACHABLE, /* no connection, or no answer: libpq's message */
	DB_SETTINGS,	/* the session settings did not hold into the next transaction */
	DB_POOLED,	/* a pooler hands the server to other clients between transactions */
	DB_NREFUSALS
};
struct db_failure {
	enum db_refusal kind;
	char text[512]; /* one line, for the log */
};
/* "unreachable", "session_settings", "transaction_pooling": a metric label */
const char *db_refusal_name(enum db_refusal k);

/* Connects with connect_timeout, application_name and UTF-8, then sets
 * a fixed search_path, the institute's TimeZone and jit = off by a
 * statement (a pooler passes no `options`) and checks, in a later
 * transaction, that they held and that no pooler hands our server to
 * other clients. NULL with *f filled on failure (nothing logged). Caller
 * frees with db_close(). */
struct db_session *db_try_connect(const char *conninfo, const char *appname, const char *timezone,
				  int connect_timeout_s, struct db_failure *f);
/* db_try_connect(), logging why on failure. */
struct db_session *db_connect(const char *conninfo, const char *appname, const char *timezone,
			      int connect_timeout_s);
/* Whether s was given up because it cannot work where it is (its
 * prepared statements vanished between transactions); *f says why. */
bool db_refused(const struct db_session *s, struct db_failure *f);
/* "host H port P" that the connection reached (one of a failover list) */
void db_where(const struct db_session *s, char *buf, size_t n);
/* Closes the connection and frees the session; *s becomes NULL. */
void db_close(struct db_session **s);
/* Connected and not given up. */
bool db_ok(const struct db_session *s);
/* The connection's socket, for poll(); -1 when there is none. */
int db_socket(const struct db_session *s);

/* Every statement (and, with a waiter, every connect) is sent without
 * blocking and its answer awaited in poll(). The daemon's waiter keeps its
 * loop alive meanwhile: a rule may run for statement_timeout, longer than
 * systemd waits for WATCHDOG=1. The waiter is the process's (one loop,
 * one stop request), whatever the number of sessions. */
struct db_waiter {
	/* called at least every 250 ms while an answer is awaited (the
	 * watchdog); returns the ms until it wants calling again, or -1 */
	int64_t (*tick)(void *arg);
	void *arg;
	/* when *stop becomes non-zero, a statement still running a second
	 * later is cancelled and the connection given up (db_ok() false): its
	 * transaction rolls back, nothing half-done is kept. NULL: never. */
	const volatile sig_atomic_t *stop;
	/* a server that sends nothing for this long (ms) while a statement
	 * runs is taken as hung: the statement is cancelled and the
	 * connection given up. 0: wait for ever. */
	int silent_ms;
};
/* Installs w (copied), or none (NULL, qfctl and --once: plain waits). */
void db_set_waiter(const struct db_waiter *w);

/* Whether the session's hot statements are prepared once (the daemon,
 * the default) or sent unnamed each time (a one-off pass). */
void db_use_prepared(struct db_session *s, bool on);
/* A lane's session: a pooler's refusal found later is logged at debug
 * (the loop's own session logs it once for the daemon). */
void db_quiet_refusal(struct db_session *s);
/* Session settings of the daemon's connection (not qfctl's): its hot
 * statements prefer indexes. 0, or -1 (logged). */
int db_engine_session(struct db_session *s) QF_MUST_CHECK;
/* Has PostgreSQL parse and plan sql (an unnamed statement): 0, or -1 with
 * the server's reason in *err (caller frees). */
int db_check_sql(struct db_session *s, const char *sql, int nparams, char **err) QF_MUST_CHECK;
/* 0 if the database is at QF_SCHEMA_VERSION, -1 (logged) otherwise */
int db_check_schema(struct db_session *s) QF_MUST_CHECK;

/* LISTEN on the channel the change capture notifies at each commit. */
int db_listen(struct db_session *s) QF_MUST_CHECK;
/* Reads what the server sent; true if a change was notified since. The
 * tables named are added to tables (each once) when it is not NULL. */
bool db_notified(struct db_session *s, struct strlist *tables);

#endif
