/* The database session: connecting, waiting for answers in poll() (the
 * waiter), prepared statements and pipelines, and what a session frees
 * when it closes. */
#include "db.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "log.h"
#include "rule.h"

/* ---- waiting for the server ----
 *
 * Every statement of the db_*.c files is sent asynchronously and its
 * answer awaited here, in poll() on the connection's socket, never inside
 * a blocking libpq call. A rule may run for up to statement_timeout (60 s
 * by default) while systemd expects WATCHDOG=1 every WatchdogSec/2 (15 s)
 * and SIGTERM expects an exit within TimeoutStopSec: the daemon's waiter
 * (db_set_waiter) is called while the answer is awaited, so the watchdog
 * says whether the loop is alive, whatever the length of the statement,
 * and a stop request cancels the statement. The waiter and the time the
 * stop was first seen are the thread's: the daemon's loop and each of
 * its lanes (lane.c) wait for their own session with their own waiter. */
static _Thread_local struct db_waiter waiter;
static _Thread_local bool have_waiter;
static _Thread_local int64_t stop_seen_ms; /* when a wait first saw *waiter.stop, or 0 */

/* a statement still running this long after a stop request is cancelled:
 * one that ends sooner (a delivery being recorded) keeps its work */
#define STOP_GRACE_MS 1000
/* the longest poll() between two looks at the waiter */
#define POLL_MAX_MS 250

void db_set_waiter(const struct db_waiter *w)
{
	have_waiter = w != NULL;
	memset(&waiter, 0, sizeof waiter);
	if (w)
		waiter = *w;
	stop_seen_ms = 0;
}

/* Cancels what s runs and gives the connection up (db_ok() false from
 * now on): its open transaction rolls back, its session locks go with it,
 * and the caller treats it as lost. why is logged at level. */
static void give_up(struct db_session *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void give_up(struct db_session *s, int level, const char *fmt, ...)
{
	char errbuf[256];
	PGcancel *cn = PQgetCancel(s->conn);
	va_list ap;

	/* without the cancel the server would run the statement to its end
	 * (pg_sleep does not notice a closed socket) */
	if (!cn || !PQcancel(cn, errbuf, sizeof errbuf))
		log_warn("database: cannot cancel the running statement: %s", cn ? errbuf : "no cancel handle");
	PQfreeCancel(cn);
	va_start(ap, fmt);
	vsnprintf(s->gave_up_text, sizeof s->gave_up_text, fmt, ap);
	va_end(ap);
	log_msg(level, "database: %s", s->gave_up_text);
	s->broken = true;
	s->gave_up_why = s->gave_up_text;
}

/* Calls the waiter: the watchdog, then the stop request and the silence
 * of the server. Returns the ms until it wants calling again (at most
 * POLL_MAX_MS), or -1 after giving s up. */
static int wait_turn(struct db_session *s, int64_t heard_ms)
{
	int64_t now = now_mono_ms(), t = POLL_MAX_MS;

	if (!have_waiter)
		return (int)t;
	if (waiter.tick) {
		int64_t next = waiter.tick(waiter.arg);
		if (next >= 0 && next < t)
			t = next;
	}
	if (waiter.stop && *waiter.stop) {
		if (!stop_seen_ms)
			stop_seen_ms = now;
		if (now - stop_seen_ms >= STOP_GRACE_MS) {
			give_up(s, QF_LOG_NOTICE, "stopping: the running statement was cancelled; its transaction rolls back");
			return -1;
		}
		if (stop_seen_ms + STOP_GRACE_MS - now < t)
			t = stop_seen_ms + STOP_GRACE_MS - now;
	}
	if (waiter.silent_ms > 0) {
		if (now - heard_ms >= waiter.silent_ms) {
			give_up(s, QF_LOG_ERR, "no answer from the database for %.1f s: statement cancelled, connection closed",
				(double)waiter.silent_ms / 1000);
			return -1;
		}
		if (heard_ms + waiter.silent_ms - now < t)
			t = heard_ms + waiter.silent_ms - now;
	}
	return (int)(t > 0 ? t : 0);
}

/* Waits until PQgetResult() would not block: sends what is queued (the
 * connection is non-blocking, so a large pipeline cannot stall us in a
 * send either) and reads what arrives, calling the waiter between polls.
 * false when s was given up: do not call PQgetResult(), the caller treats
 * the connection as lost. A connection that broke by itself returns true:
 * PQgetResult() says so. */
static bool await(struct db_session *s)
{
	PGconn *c = s->conn;
	int64_t heard = now_mono_ms();

	if (s->broken)
		return false;
	for (;;) {
		int fl = PQflush(c); /* 1: more to send */
		if (fl < 0 || (fl == 0 && !PQisBusy(c)))
			return true;
		int t = wait_turn(s, heard);
		if (t < 0)
			return false;
		struct pollfd p = {.fd = PQsocket(c), .events = (short)(POLLIN | (fl ? POLLOUT : 0))};
		if (p.fd < 0)
			return true;
		int n = poll(&p, 1, t);
		if (n < 0 && errno != EINTR) {
			log_err("database: poll: %s", strerror(errno));
			give_up(s, QF_LOG_ERR, "cannot wait for the database");
			return false;
		}
		if (n > 0 && (p.revents & (POLLIN | POLLERR | POLLHUP))) {
			heard = now_mono_ms();
			if (!PQconsumeInput(c))
				return true;
		} else if (n > 0 && (p.revents & POLLOUT)) {
			heard = now_mono_ms(); /* the server reads what we send */
		}
	}
}

/* A prepared statement of ours that the server does not know: the
 * session's state went missing between two transactions, which happens
 * only when a pooler gives our server to other clients (the session
 * checks for one when it connects, but a pooler may hand out the freed
 * server in another order than the check expects). Every later statement
 * would fail the same way, so the session is given up as refused: the
 * daemon backs off instead of repeating the error at every turn. */
static void check_lost_state(struct db_session *s, const PGresult *r)
{
	const char *code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (!code || strcmp(code, "26000") || !s->prepared || s->broken)
		return;
	give_up(s, s->quiet_refusal ? QF_LOG_DEBUG : QF_LOG_ERR,
		"refused: a prepared statement of this session is gone (%s): a pooler hands the server to other clients"
		" between transactions; connect directly or through a pool in session mode (PgBouncer pool_mode ="
		" session)",
		PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : code);
	s->refused = DB_POOLED;
}

/* The answer to what was just sent: the last result, as PQexec gives it,
 * awaited as above. NULL when nothing could be sent or s was given up
 * (dbi_error() then says why). */
static PGresult *finish(struct db_session *s, bool sent)
{
	PGresult *last = NULL, *r;

	if (!sent)
		return NULL;
	for (;;) {
		if (!await(s)) {
			PQclear(last);
			return NULL;
		}
		if (!(r = PQgetResult(s->conn)))
			break;
		PQclear(last);
		last = r;
		if (PQstatus(s->conn) == CONNECTION_BAD)
			break;
	}
	check_lost_state(s, last);
	return last;
}

PGresult *dbi_exec(struct db_session *s, const char *sql)
{
	return s->broken ? NULL : finish(s, PQsendQuery(s->conn, sql));
}

PGresult *dbi_params(struct db_session *s, const char *sql, int n, const char *const *values)
{
	return s->broken ? NULL : finish(s, PQsendQueryParams(s->conn, sql, n, NULL, values, NULL, NULL, 0));
}

static PGresult *x_prepared(struct db_session *s, const char *name, int n, const char *const *values)
{
	return s->broken ? NULL : finish(s, PQsendQueryPrepared(s->conn, name, n, values, NULL, NULL, 0));
}

static PGresult *x_prepare(struct db_session *s, const char *name, const char *sql, int n)
{
	return s->broken ? NULL : finish(s, PQsendPrepare(s->conn, name, sql, n, NULL));
}

/* PQconnectdbParams, with the daemon's waiter between polls: a server
 * that is slow to accept must not starve the watchdog nor hold up a stop.
 * connect_timeout is applied to each address tried, as libpq does. */
static PGconn *connect_polled(const char *const *keys, const char *const *vals, int connect_timeout_s)
{
	PGconn *c = PQconnectStartParams(keys, vals, 1);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int sock = -1;
	int64_t since = now_mono_ms();

	if (!c || PQstatus(c) == CONNECTION_BAD)
		return c;
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		if (PQsocket(c) != sock) { /* another address: its own timeout */
			sock = PQsocket(c);
			since = now_mono_ms();
		}
		int t = POLL_MAX_MS;
		if (waiter.tick) {
			int64_t next = waiter.tick(waiter.arg);
			if (next >= 0 && next < t)
				t = (int)next;
		}
		if ((waiter.stop && *waiter.stop) || now_mono_ms() - since >= (int64_t)connect_timeout_s * 1000) {
			/* PQstatus stays CONNECTION_STARTED: the caller reports it */
			return c;
		}
		struct pollfd p = {.fd = sock, .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
		int n = poll(&p, 1, t);
		if (n < 0 && errno != EINTR)
			return c;
		if (n > 0)
			st = PQconnectPoll(c);
	}
	return c;
}

/* notices (e.g. "relation already exists, skipping") are not errors */
static void notice_to_log(void *arg, const char *msg)
{
	(void)arg;
	log_debug("postgres: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* ---- connecting: the session settings, set and verified ----
 *
 * The settings the daemon's SQL relies on (a fixed search_path, the
 * institute's TimeZone, no JIT) are set by the first statement of the
 * session, not sent as the `options` startup parameter: a pooler such as
 * PgBouncer refuses that parameter, and one told to ignore it would leave
 * the session in the server's time zone with the search_path hardening
 * gone. Set by a statement, they hold wherever the connection keeps its
 * server for the whole session (a direct connection, PgBouncer's
 * pool_mode = session), and they are verified, in a later transaction,
 * before the session is used. Where they cannot hold (a pooler that
 * hands the server to another client between transactions, or one that
 * resets it), the session is refused with the reason. */

static const char *const refusal_names[DB_NREFUSALS] = {
	[DB_UNREACHABLE] = "unreachable", [DB_SETTINGS] = "session_settings", [DB_POOLED] = "transaction_pooling"};

const char *db_refusal_name(enum db_refusal k)
{
	return k >= 0 && k < DB_NREFUSALS ? refusal_names[k] : "unknown";
}

static void fail(struct db_failure *f, enum db_refusal kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct db_failure *f, enum db_refusal kind, const char *fmt, ...)
{
	va_list ap;

	f->kind = kind;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof f->text, fmt, ap);
	va_end(ap);
	f->text[strcspn(f->text, "\n")] = '\0';
}

/* A statement's single row, awaited by await(); NULL with f filled. */
static PGresult *setup_row(struct db_session *s, const char *sql, int n, const char *const *p, struct db_failure *f)
{
	PGresult *r = dbi_params(s, sql, n, p);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		return r;
	char *e = dbi_error(s, r);
	/* a server that answered with an error refuses the settings; no
	 * answer at all is a connection that went away */
	fail(f, r && PQstatus(s->conn) == CONNECTION_OK ? DB_SETTINGS : DB_UNREACHABLE, "cannot set up the session: %s",
	     e);
	free(e);
	PQclear(r);
	return NULL;
}

/* The pid of the server process that answers a second connection's
 * statement, or 0 when it has no answer within timeout_ms (a pooler in
 * session mode whose pool is full makes it wait: its server is not ours,
 * which is all we ask). The connection is the probe's own, awaited here
 * with the daemon's waiter ticking, so a slow pooler starves nothing. */
static int probe_pid(PGconn *c, int timeout_ms)
{
	int64_t until = now_mono_ms() + timeout_ms;
	int pid = 0;

	if (PQsetnonblocking(c, 1) != 0 || !PQsendQuery(c, "SELECT pg_backend_pid()"))
		return 0;
	for (;;) {
		int fl = PQflush(c);
		if (fl < 0 || (fl == 0 && !PQisBusy(c)))
			break;
		int64_t left = until - now_mono_ms();
		if (left <= 0 || (have_waiter && waiter.stop && *waiter.stop))
			return 0;
		if (have_waiter && waiter.tick)
			(void)waiter.tick(waiter.arg);
		struct pollfd p = {.fd = PQsocket(c), .events = (short)(POLLIN | (fl ? POLLOUT : 0))};
		if (p.fd < 0 || (poll(&p, 1, left < POLL_MAX_MS ? (int)left : POLL_MAX_MS) < 0 && errno != EINTR))
			return 0;
		if ((p.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(c))
			break;
	}
	PGresult *r;
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			pid = atoi(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	return pid;
}

/* Sets the session's settings and checks that they hold: 0, or -1 with
 * f filled. keys/vals are the connection's, for the pooling probe. */
static int session_setup(struct db_session *s, const char *timezone, const char *const *keys,
			 const char *const *vals, int connect_timeout_s, struct db_failure *f)
{
	/* a fixed search_path: rule SQL names records.* and qf.* explicitly,
	 * and no object a user creates can shadow a built-in function. jit
	 * off: the engine runs many short statements, and compiling one (its
	 * estimate crosses jit_above_cost easily) costs ~300 ms. One round
	 * trip, before anything else runs on the session. */
	const char *p[1] = {timezone};
	PGresult *r = setup_row(s,
				"SELECT set_config('search_path', 'pg_catalog', false), set_config('TimeZone', $1, false),"
				" set_config('jit', 'off', false), pg_backend_pid()",
				1, p, f);
	if (!r)
		return -1;
	char path[64], tz[64];
	snprintf(path, sizeof path, "%s", PQgetvalue(r, 0, 0));
	snprintf(tz, sizeof tz, "%s", PQgetvalue(r, 0, 1)); /* as the server spells it */
	int pid = atoi(PQgetvalue(r, 0, 3));
	PQclear(r);

	/* PostgreSQL gives a client its server process's pid as the cancel
	 * key's first half; a pooler gives one of its own. Behind a pooler,
	 * another connection's statement must not be answered by our server
	 * process: if it is, the pooler hands servers out per transaction
	 * (PgBouncer's pool_mode = transaction or statement), and our session
	 * settings and prepared statements would reach other clients, and
	 * theirs us. Our connection is idle now, so such a pooler has our
	 * server free and gives it to the probe (PgBouncer reuses the server
	 * freed last). The probe is one connection, only behind a pooler. */
	if (PQbackendPID(s->conn) != pid) {
		const char *pk[16], *pv[16];
		int n = 0;
		for (; n < 15 && keys[n]; n++) {
			pk[n] = keys[n];
			pv[n] = strcmp(keys[n], "application_name") ? vals[n] : "qingfeng pool check";
		}
		pk[n] = pv[n] = NULL;
		PGconn *probe = have_waiter ? connect_polled(pk, pv, connect_timeout_s) : PQconnectdbParams(pk, pv, 1);
		int other = probe && PQstatus(probe) == CONNECTION_OK ? probe_pid(probe, connect_timeout_s * 1000) : 0;
		PQfinish(probe);
		if (other == pid) {
			/* no pid in the text: the same refusal at the next
			 * attempt must read the same, to be logged once */
			fail(f, DB_POOLED, "%s",
			     "refused: the connection goes through a pooler that hands the server to other clients between"
			     " transactions (our server process answered another connection): the session's TimeZone,"
			     " search_path and prepared statements would not hold; connect directly or through a pool in"
			     " session mode (PgBouncer pool_mode = session)");
			return -1;
		}
	}

	/* read back in a later transaction: a pooler that resets a server
	 * between transactions, or moves us to another one, shows here */
	if (!(r = setup_row(s,
			    "SELECT current_setting('search_path'), current_setting('TimeZone'), pg_backend_pid()", 0,
			    NULL, f)))
		return -1;
	bool held = !strcmp(PQgetvalue(r, 0, 0), path) && !strcmp(PQgetvalue(r, 0, 1), tz);
	bool same = atoi(PQgetvalue(r, 0, 2)) == pid;
	if (!held || !same)
		fail(f, same ? DB_SETTINGS : DB_POOLED,
		     "refused: the session settings did not hold into the next transaction (search_path '%s', TimeZone"
		     " '%s'; set '%s', '%s'%s): a pooler resets or swaps the server between transactions; connect"
		     " directly or through a pool in session mode (PgBouncer pool_mode = session)",
		     PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), path, tz,
		     same ? "" : "; another server process answered");
	PQclear(r);
	return held && same ? 0 : -1;
}

struct db_session *db_try_connect(const char *conninfo, const char *appname, const char *timezone,
				  int connect_timeout_s, struct db_failure *f)
{
	char timeout[16];
	const char *keys[8], *vals[8];
	int n = 0;

	snprintf(timeout, sizeof timeout, "%d", connect_timeout_s);
	/* only startup parameters a pooler passes on (PgBouncer knows
	 * application_name and client_encoding); the rest is set by
	 * session_setup() */
	if (conninfo && *conninfo) {
		keys[n] = "dbname";
		vals[n++] = conninfo;
	}
	keys[n] = "application_name";
	vals[n++] = appname;
	keys[n] = "connect_timeout";
	vals[n++] = timeout;
	keys[n] = "client_encoding";
	vals[n++] = "UTF8";
	keys[n] = NULL;
	vals[n] = NULL;

	PGconn *c = have_waiter ? connect_polled(keys, vals, connect_timeout_s) : PQconnectdbParams(keys, vals, 1);
	if (!c) {
		fail(f, DB_UNREACHABLE, "cannot connect: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		const char *why = PQstatus(c) == CONNECTION_BAD ? PQerrorMessage(c)
				  : waiter.stop && *waiter.stop ? "stopping"
								  : "timeout expired";
		fail(f, DB_UNREACHABLE, "cannot connect: %s", why);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, notice_to_log, NULL);
	/* every statement is sent and awaited by await(): a send never blocks */
	if (PQsetnonblocking(c, 1) != 0) {
		fail(f, DB_UNREACHABLE, "cannot make the connection non-blocking: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	struct db_session *s = xcalloc(1, sizeof *s);
	s->conn = c;
	s->prepared = true;
	s->refused = -1;
	if (session_setup(s, timezone, keys, vals, connect_timeout_s, f) < 0) {
		db_close(&s);
		return NULL;
	}
	return s;
}

struct db_session *db_connect(const char *conninfo, const char *appname, const char *timezone, int connect_timeout_s)
{
	struct db_failure f;
	struct db_session *s = db_try_connect(conninfo, appname, timezone, connect_timeout_s, &f);

	if (!s)
		log_err("database: %s", f.text);
	return s;
}

bool db_refused(const struct db_session *s, struct db_failure *f)
{
	if (!s || s->refused < 0)
		return false;
	f->kind = (enum db_refusal)s->refused;
	snprintf(f->text, sizeof f->text, "%s", s->gave_up_text);
	return true;
}

void db_where(const struct db_session *s, char *buf, size_t n)
{
	const char *h = s ? PQhost(s->conn) : NULL, *p = s ? PQport(s->conn) : NULL;
	/* with several hosts in the conninfo (a failover list), the one this
	 * connection reached */
	snprintf(buf, n, "host %s port %s", h && *h ? h : "(default)", p && *p ? p : "(default)");
}

void db_close(struct db_session **sp)
{
	struct db_session *s = *sp;

	if (!s)
		return;
	/* the prepared statements, the locks and the transaction go with the
	 * connection; the cursors we cached and the bookkeeping we deferred
	 * belonged to it (the cursors stay behind in the database, so the
	 * rules are read again) */
	for (int i = 0; i < s->nprep; i++)
		free(s->prep_names[i]);
	free(s->prep_names);
	db_cursors_forget(s);
	db_tail_free(&s->deferred);
	PQfinish(s->conn);
	free(s);
	*sp = NULL;
}

bool db_ok(const struct db_session *s)
{
	return s && !s->broken && PQstatus(s->conn) == CONNECTION_OK;
}

int db_socket(const struct db_session *s)
{
	return s ? PQsocket(s->conn) : -1;
}

char *dbi_error(struct db_session *s, const PGresult *r)
{
	/* the primary message reads as a sentence, without "ERROR:  " */
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!m || !*m)
		m = r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn);
	if (!m || !*m)
		m = PQerrorMessage(s->conn);
	if ((!m || !*m) && s->broken && s->gave_up_why)
		m = s->gave_up_why;
	char *e = xstrdup(m && *m ? m : "no answer from the database");
	e[strcspn(e, "\n")] = '\0';
	return e;
}

char *dbi_result_error(struct db_session *s, const PGresult *r)
{
	if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED)
		return xstrdup("not run: an earlier statement of its pipeline failed");
	return dbi_error(s, r);
}

bool dbi_cmd(struct db_session *s, const char *sql, char **err)
{
	PGresult *r = dbi_exec(s, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok && err)
		*err = dbi_error(s, r);
	PQclear(r);
	return ok;
}

void dbi_rollback(struct db_session *s)
{
	PGTransactionStatusType ts = PQtransactionStatus(s->conn);
	if (!s->broken && ts != PQTRANS_IDLE && ts != PQTRANS_UNKNOWN)
		PQclear(dbi_exec(s, "ROLLBACK"));
}

PGresult *dbi_query(struct db_session *s, const char *sql, int n, const char *const *p, char **err)
{
	PGresult *r = dbi_params(s, sql, n, p);
	if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = dbi_error(s, r);
		PQclear(r);
		return NULL;
	}
	return r;
}

int db_engine_session(struct db_session *s)
{
	char *err = NULL;
	/* The engine's own statements are prepared once and keep their
	 * generic plans, and its hot tables (qf.change_log, qf.alert,
	 * qf.finding) may have been empty when they were planned: a plan
	 * that scanned a tiny table would scan it still when it is large.
	 * Every such statement reads a few rows by key, so the session
	 * prefers indexes; a rule's statement turns this back on for its own
	 * transaction (db_rule_hits). */
	if (!s->prepared) /* custom plans, made with the tables as they are */
		return 0;
	if (!dbi_cmd(s, "SET enable_seqscan = off", &err)) {
		log_err("database: %s", err);
		free(err);
		return -1;
	}
	return 0;
}

/* ---- prepared statements and pipelines ----
 *
 * The statements of the evaluation hot path are prepared once per
 * connection: their generic plans save a parse and plan on every pass
 * (0.4 ms for a rule's incremental statement, 1.3 ms for the findings
 * write). Rule statements are named by rule id and version, so a reloaded
 * rule that changed gets a statement of its own. The set is the
 * session's, and goes with it (db_close). A one-off process (--once)
 * would prepare every statement to run it once: it sends them unnamed
 * instead (db_use_prepared). */

void db_quiet_refusal(struct db_session *s)
{
	s->quiet_refusal = true;
}

void db_use_prepared(struct db_session *s, bool on)
{
	s->prepared = on;
}

int db_check_sql(struct db_session *s, const char *sql, int nparams, char **err)
{
	/* the unnamed statement: replaced by the next one, nothing to forget */
	PGresult *r = x_prepare(s, "", sql, nparams);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;

	if (rc)
		*err = dbi_error(s, r);
	PQclear(r);
	return rc;
}

int dbi_prepare_once(struct db_session *s, const char *name, const char *sql, int nparams, char **err)
{
	if (!s->prepared)
		return 0;
	for (int i = 0; i < s->nprep; i++)
		if (!strcmp(s->prep_names[i], name))
			return 0;
	PGresult *r = x_prepare(s, name, sql, nparams);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = dbi_error(s, r);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	s->prep_names = xrealloc(s->prep_names, sizeof *s->prep_names * (size_t)(s->nprep + 1));
	s->prep_names[s->nprep++] = xstrdup(name);
	return 0;
}

PGresult *dbi_prepared(struct db_session *s, const char *name, const char *sql, int n, const char *const *values)
{
	char *err = NULL;
	if (!s->prepared)
		return dbi_params(s, sql, n, values);
	if (dbi_prepare_once(s, name, sql, n, &err) < 0) {
		free(err);
		/* the same statement unprepared yields the server's error as a result */
		return dbi_params(s, sql, n, values);
	}
	return x_prepared(s, name, n, values);
}

int dbi_send(struct db_session *s, const char *name, const char *sql, int n, const char *const *values)
{
	if (s->broken)
		return 0;
	if (!s->prepared)
		return PQsendQueryParams(s->conn, sql, n, NULL, values, NULL, NULL, 0);
	return PQsendQueryPrepared(s->conn, name, n, values, NULL, NULL, 0);
}

PGresult *dbi_pipe_next(struct db_session *s)
{
	for (int i = 0; i < 2; i++) {
		if (!await(s))
			return NULL;
		PGresult *r = PQgetResult(s->conn);
		if (r) {
			check_lost_state(s, r);
			return r;
		}
		if (PQstatus(s->conn) != CONNECTION_OK)
			return NULL;
	}
	return NULL;
}

bool dbi_pipe_exit(struct db_session *s)
{
	for (int i = 0; i < 3; i++) {
		if (PQexitPipelineMode(s->conn))
			return true;
		if (!await(s))
			return false;
		PGresult *r = PQgetResult(s->conn);
		if (!r && PQstatus(s->conn) != CONNECTION_OK)
			return false;
		PQclear(r);
	}
	log_err("database: cannot leave pipeline mode: %s", PQerrorMessage(s->conn));
	return false;
}

int dbi_pipe_lost(struct db_session *s, const char *what)
{
	if (s->broken) /* given up by await(), which said why */
		return -1;
	log_err("database: %s: %s", what, PQstatus(s->conn) == CONNECTION_OK ? "pipeline out of step" : "connection lost");
	s->broken = true;
	return -1;
}

char *dbi_json_names(const char *const *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!text) /* as xmalloc: only memory can be missing */
		abort();
	return text;
}

void dbi_us_text(int64_t us, char out[32])
{
	snprintf(out, 32, "%lld.%06lld", (long long)(us / 1000000), (long long)(us % 1000000));
}

/* ---- the schema, notifications ---- */

int db_check_schema(struct db_session *s)
{
	PGresult *r = dbi_exec(s, "SELECT max(version) FROM qf.schema_migrations");
	int rc = -1;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		char *e = dbi_error(s, r);
		/* only a missing schema or table is something a migration
		 * mends: a database that is down (a pooler answering for it), or
		 * a role without rights, is said as it is, and nobody is told to
		 * migrate in an outage */
		if (code && (!strcmp(code, "3F000") || !strcmp(code, "42P01")))
			log_err("database has no qingfeng schema (%s): run 'qfctl migrate'", e);
		else
			log_err("database: cannot read the schema version: %s", e);
		free(e);
	} else {
		int v = PQgetisnull(r, 0, 0) ? 0 : atoi(PQgetvalue(r, 0, 0));
		if (v < QF_SCHEMA_VERSION)
			log_err("database schema is at version %d, this build needs %d: run 'qfctl migrate'", v,
				QF_SCHEMA_VERSION);
		else if (v > QF_SCHEMA_VERSION)
			log_err("database schema is at version %d, newer than this build knows (%d): upgrade qingfeng",
				v, QF_SCHEMA_VERSION);
		else
			rc = 0;
	}
	PQclear(r);
	return rc;
}

int db_listen(struct db_session *s)
{
	char *err = NULL;

	if (!dbi_cmd(s, "LISTEN qingfeng", &err)) {
		log_err("cannot LISTEN for changes: %s", err);
		free(err);
		return -1;
	}
	return 0;
}

bool db_notified(struct db_session *s, struct strlist *tables)
{
	PGnotify *n;
	bool any = false;

	if (!PQconsumeInput(s->conn))
		return false; /* a broken connection: db_ok() says so next */
	while ((n = PQnotifies(s->conn)) != NULL) {
		any = true;
		if (n->extra && !strcmp(n->extra, "qf.control"))
			s->control_notified = true;
		/* the capture names the table; anything else is not ours */
		if (tables && n->extra && capture_key(n->extra) && !strlist_has(tables, n->extra)) {
			tables->v = xrealloc(tables->v, sizeof *tables->v * (size_t)(tables->n + 1));
			tables->v[tables->n++] = xstrdup(n->extra);
		}
		PQfreemem(n);
	}
	return any;
}
