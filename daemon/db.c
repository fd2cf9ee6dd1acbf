/* Every SQL statement of the engine, behind typed functions. */
#include "db.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* ---- waiting for the server ----
 *
 * Every statement of this file is sent asynchronously and its answer
 * awaited here, in poll() on the connection's socket, never inside a
 * blocking libpq call. A rule may run for up to statement_timeout (60 s by
 * default) while systemd expects WATCHDOG=1 every WatchdogSec/2 (15 s)
 * and SIGTERM expects an exit within TimeoutStopSec: the daemon's waiter
 * (db_set_waiter) is called while the answer is awaited, so the watchdog
 * says whether the loop is alive, whatever the length of the statement,
 * and a stop request cancels the statement. */
static struct db_waiter waiter;
static bool have_waiter;
static int64_t stop_seen_ms; /* when a wait first saw *waiter.stop, or 0 */
static PGconn *broken_conn;
/* why the connection in broken_conn was given up, when we gave it up */
static const char *gave_up_why;
static char gave_up_text[200];

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

/* Cancels what c runs and gives the connection up (db_ok() false from
 * now on): its open transaction rolls back, its session locks go with it,
 * and the caller treats it as lost. why is logged at level. */
static void give_up(PGconn *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void give_up(PGconn *c, int level, const char *fmt, ...)
{
	char errbuf[256];
	PGcancel *cn = PQgetCancel(c);
	va_list ap;

	/* without the cancel the server would run the statement to its end
	 * (pg_sleep does not notice a closed socket) */
	if (!cn || !PQcancel(cn, errbuf, sizeof errbuf))
		log_warn("database: cannot cancel the running statement: %s", cn ? errbuf : "no cancel handle");
	PQfreeCancel(cn);
	va_start(ap, fmt);
	vsnprintf(gave_up_text, sizeof gave_up_text, fmt, ap);
	va_end(ap);
	log_msg(level, "database: %s", gave_up_text);
	broken_conn = c;
	gave_up_why = gave_up_text;
}

/* Calls the waiter: the watchdog, then the stop request and the silence
 * of the server. Returns the ms until it wants calling again (at most
 * POLL_MAX_MS), or -1 after giving c up. */
static int wait_turn(PGconn *c, int64_t heard_ms)
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
			give_up(c, QF_LOG_NOTICE, "stopping: the running statement was cancelled; its transaction rolls back");
			return -1;
		}
		if (stop_seen_ms + STOP_GRACE_MS - now < t)
			t = stop_seen_ms + STOP_GRACE_MS - now;
	}
	if (waiter.silent_ms > 0) {
		if (now - heard_ms >= waiter.silent_ms) {
			give_up(c, QF_LOG_ERR, "no answer from the database for %.1f s: statement cancelled, connection closed",
				(double)waiter.silent_ms / 1000);
			return -1;
		}
		if (heard_ms + waiter.silent_ms - now < t)
			t = heard_ms + waiter.silent_ms - now;
	}
	return (int)(t > 0 ? t : 0);
}

/* Waits until PQgetResult(c) would not block: sends what is queued (the
 * connection is non-blocking, so a large pipeline cannot stall us in a
 * send either) and reads what arrives, calling the waiter between polls.
 * false when c was given up (broken_conn): do not call PQgetResult, the
 * caller treats the connection as lost. A connection that broke by itself
 * returns true: PQgetResult says so. */
static bool await(PGconn *c)
{
	int64_t heard = now_mono_ms();

	if (c == broken_conn)
		return false;
	for (;;) {
		int fl = PQflush(c); /* 1: more to send */
		if (fl < 0 || (fl == 0 && !PQisBusy(c)))
			return true;
		int t = wait_turn(c, heard);
		if (t < 0)
			return false;
		struct pollfd p = {.fd = PQsocket(c), .events = (short)(POLLIN | (fl ? POLLOUT : 0))};
		if (p.fd < 0)
			return true;
		int n = poll(&p, 1, t);
		if (n < 0 && errno != EINTR) {
			log_err("database: poll: %s", strerror(errno));
			give_up(c, QF_LOG_ERR, "cannot wait for the database");
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

/* The answer to what was just sent: the last result, as PQexec gives it,
 * awaited as above. NULL when nothing could be sent or c was given up
 * (res_error() then says why). */
static PGresult *finish(PGconn *c, bool sent)
{
	PGresult *last = NULL, *r;

	if (!sent)
		return NULL;
	for (;;) {
		if (!await(c)) {
			PQclear(last);
			return NULL;
		}
		if (!(r = PQgetResult(c)))
			break;
		PQclear(last);
		last = r;
		if (PQstatus(c) == CONNECTION_BAD)
			break;
	}
	return last;
}

/* PQexec, PQexecParams, PQexecPrepared and PQprepare, awaited by await() */
static PGresult *x_exec(PGconn *c, const char *sql)
{
	return c == broken_conn ? NULL : finish(c, PQsendQuery(c, sql));
}

static PGresult *x_params(PGconn *c, const char *sql, int n, const char *const *values)
{
	return c == broken_conn ? NULL : finish(c, PQsendQueryParams(c, sql, n, NULL, values, NULL, NULL, 0));
}

static PGresult *x_prepared(PGconn *c, const char *name, int n, const char *const *values)
{
	return c == broken_conn ? NULL : finish(c, PQsendQueryPrepared(c, name, n, values, NULL, NULL, 0));
}

static PGresult *x_prepare(PGconn *c, const char *name, const char *sql, int n)
{
	return c == broken_conn ? NULL : finish(c, PQsendPrepare(c, name, sql, n, NULL));
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

PGconn *db_connect(const char *conninfo, const char *appname, const char *timezone, int connect_timeout_s)
{
	char timeout[16], options[160];
	const char *keys[8], *vals[8];
	int n = 0;

	snprintf(timeout, sizeof timeout, "%d", connect_timeout_s);
	/* a fixed search_path: rule SQL names records.* and qf.* explicitly,
	 * and no object a user creates can shadow a built-in function */
	/* jit off: the engine runs many short statements, and compiling one
	 * (its estimate crosses jit_above_cost easily) costs ~300 ms */
	snprintf(options, sizeof options, "-c search_path=pg_catalog -c TimeZone=%s -c jit=off", timezone);
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
	keys[n] = "options";
	vals[n++] = options;
	keys[n] = NULL;
	vals[n] = NULL;

	PGconn *c = have_waiter ? connect_polled(keys, vals, connect_timeout_s) : PQconnectdbParams(keys, vals, 1);
	if (!c) {
		log_err("database: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		const char *why = PQstatus(c) == CONNECTION_BAD ? PQerrorMessage(c)
				  : waiter.stop && *waiter.stop ? "stopping"
								  : "timeout expired";
		log_err("database: cannot connect: %.*s", (int)strcspn(why, "\n"), why);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, notice_to_log, NULL);
	/* every statement is sent and awaited by await(): a send never blocks */
	if (PQsetnonblocking(c, 1) != 0) {
		log_err("database: cannot make the connection non-blocking: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

static PGconn *prep_conn;
/* A one-off process (--once, qfctl) would prepare every statement to run
 * it once: it sends them unnamed instead. */
static bool use_prepared = true;
static void prep_forget(void);

void db_close(PGconn **c)
{
	if (*c && *c == prep_conn)
		prep_forget();
	if (*c && *c == broken_conn) {
		broken_conn = NULL;
		gave_up_why = NULL;
	}
	if (*c)
		PQfinish(*c);
	*c = NULL;
}

bool db_ok(PGconn *c)
{
	return c && c != broken_conn && PQstatus(c) == CONNECTION_OK;
}

/* the first line of the server's error, for logs and qf.rule_run */
static char *res_error(PGconn *c, PGresult *r)
{
	/* the primary message reads as a sentence, without "ERROR:  " */
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!m || !*m)
		m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
	if (!m || !*m)
		m = PQerrorMessage(c);
	if ((!m || !*m) && c == broken_conn && gave_up_why)
		m = gave_up_why;
	char *s = xstrdup(m && *m ? m : "no answer from the database");
	s[strcspn(s, "\n")] = '\0';
	return s;
}

static bool exec_cmd(PGconn *c, const char *sql, char **err)
{
	PGresult *r = x_exec(c, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok && err)
		*err = res_error(c, r);
	PQclear(r);
	return ok;
}

static void rollback(PGconn *c)
{
	if (c != broken_conn && PQtransactionStatus(c) != PQTRANS_IDLE && PQtransactionStatus(c) != PQTRANS_UNKNOWN)
		PQclear(x_exec(c, "ROLLBACK"));
}

int db_engine_session(PGconn *c)
{
	char *err = NULL;
	/* The engine's own statements are prepared once and keep their
	 * generic plans, and its hot tables (qf.change_log, qf.alert,
	 * qf.finding) may have been empty when they were planned: a plan
	 * that scanned a tiny table would scan it still when it is large.
	 * Every such statement reads a few rows by key, so the session
	 * prefers indexes; a rule's statement turns this back on for its own
	 * transaction (db_rule_hits). */
	if (!use_prepared) /* custom plans, made with the tables as they are */
		return 0;
	if (!exec_cmd(c, "SET enable_seqscan = off", &err)) {
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
 * rule that changed gets a statement of its own. The set is forgotten
 * with the connection (db_close). */
static char **prep_names;
static int nprep;

static void prep_forget(void)
{
	for (int i = 0; i < nprep; i++)
		free(prep_names[i]);
	free(prep_names);
	prep_names = NULL;
	nprep = 0;
	prep_conn = NULL;
}

void db_use_prepared(bool on)
{
	use_prepared = on;
}

int db_check_sql(PGconn *c, const char *sql, int nparams, char **err)
{
	/* the unnamed statement: replaced by the next one, nothing to forget */
	PGresult *r = x_prepare(c, "", sql, nparams);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;

	if (rc)
		*err = res_error(c, r);
	PQclear(r);
	return rc;
}

/* Prepares sql as name on c unless that was done already. -1 with *err. */
static int prepare_once(PGconn *c, const char *name, const char *sql, int nparams, char **err)
{
	if (!use_prepared)
		return 0;
	if (c != prep_conn) {
		prep_forget();
		prep_conn = c;
	}
	for (int i = 0; i < nprep; i++)
		if (!strcmp(prep_names[i], name))
			return 0;
	PGresult *r = x_prepare(c, name, sql, nparams);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = res_error(c, r);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	prep_names = xrealloc(prep_names, sizeof *prep_names * (size_t)(nprep + 1));
	prep_names[nprep++] = xstrdup(name);
	return 0;
}

/* PQexecPrepared of a statement prepared on first use; on a prepare
 * error, a result carrying it (PGRES_FATAL_ERROR) like PQexecParams'. */
static PGresult *exec_prepared(PGconn *c, const char *name, const char *sql, int n, const char *const *values)
{
	char *err = NULL;
	if (!use_prepared)
		return x_params(c, sql, n, values);
	if (prepare_once(c, name, sql, n, &err) < 0) {
		free(err);
		/* the same statement unprepared yields the server's error as a result */
		return x_params(c, sql, n, values);
	}
	return x_prepared(c, name, n, values);
}

static int pipe_lost(PGconn *c, const char *what);

/* PQsendQueryPrepared, or the text unnamed (db_use_prepared) */
static int send_stmt(PGconn *c, const char *name, const char *sql, int n, const char *const *values)
{
	if (c == broken_conn)
		return 0;
	if (!use_prepared)
		return PQsendQueryParams(c, sql, n, NULL, values, NULL, NULL, 0);
	return PQsendQueryPrepared(c, name, n, values, NULL, NULL, 0);
}

static void rule_stmt_name(const struct qf_rule *r, char out[64])
{
	snprintf(out, 64, "qfr_%.32s_%s", r->id, r->version);
}

/* The next result of a pipeline, skipping the NULL that ends each query's
 * results; NULL when the connection broke. */
static PGresult *pipe_next(PGconn *c)
{
	for (int i = 0; i < 2; i++) {
		if (!await(c))
			return NULL;
		PGresult *r = PQgetResult(c);
		if (r)
			return r;
		if (PQstatus(c) != CONNECTION_OK)
			return NULL;
	}
	return NULL;
}

/* Leaves pipeline mode once every result is read; false if it cannot
 * (the caller treats the connection as lost). */
static bool pipe_exit(PGconn *c)
{
	for (int i = 0; i < 3; i++) {
		if (PQexitPipelineMode(c))
			return true;
		if (!await(c))
			return false;
		PGresult *r = PQgetResult(c);
		if (!r && PQstatus(c) != CONNECTION_OK)
			return false;
		PQclear(r);
	}
	log_err("database: cannot leave pipeline mode: %s", PQerrorMessage(c));
	return false;
}

int db_check_schema(PGconn *c)
{
	PGresult *r = x_exec(c, "SELECT max(version) FROM qf.schema_migrations");
	int rc = -1;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_err("database has no qingfeng schema (%s): run 'qfctl migrate'",
			PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
								       : "no answer");
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

/* ---- migrations ---- */

static int migration_filter(const struct dirent *e)
{
	const char *n = e->d_name;
	size_t len = strlen(n);
	return len > 8 && n[0] >= '0' && n[0] <= '9' && n[1] >= '0' && n[1] <= '9' && n[2] >= '0' && n[2] <= '9' &&
	       n[3] == '_' && !strcmp(n + len - 4, ".sql");
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* line number of a 1-based character position, for migration errors */
static int line_of(const char *text, const char *pos)
{
	long p = pos ? atol(pos) : 0;
	int line = 1;
	for (long i = 0; i < p - 1 && text[i]; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

int db_migrate(PGconn *c, const char *sqldir)
{
	struct dirent **names = NULL;
	PGresult *applied = NULL;
	int n, rc = -1, done = 0;
	char *err = NULL;

	n = scandir(sqldir, &names, migration_filter, alphasort);
	if (n <= 0) {
		fprintf(stderr, "qfctl: no migrations in '%s': %s\n", sqldir, n < 0 ? strerror(errno) : "empty");
		free(names);
		return -1;
	}
	/* one migrator at a time; the lock is released with the session */
	if (!exec_cmd(c, "SELECT pg_advisory_lock(7254823)", &err) ||
	    !exec_cmd(c,
		      "CREATE SCHEMA IF NOT EXISTS qf;"
		      "CREATE TABLE IF NOT EXISTS qf.schema_migrations ("
		      " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
		      " applied_at timestamptz NOT NULL DEFAULT now(),"
		      " applied_by text NOT NULL DEFAULT session_user)",
		      &err)) {
		fprintf(stderr, "qfctl: migrate: %s\n", err);
		goto out;
	}
	applied = x_exec(c, "SELECT version, name, checksum FROM qf.schema_migrations ORDER BY version");
	if (PQresultStatus(applied) != PGRES_TUPLES_OK) {
		err = res_error(c, applied);
		fprintf(stderr, "qfctl: migrate: %s\n", err);
		goto out;
	}
	int known_max = atoi(names[n - 1]->d_name);
	for (int i = 0; i < PQntuples(applied); i++) {
		int v = atoi(PQgetvalue(applied, i, 0));
		if (v > known_max) {
			fprintf(stderr,
				"qfctl: database schema has migration %d (%s), newer than the newest this qfctl knows "
				"(%d): refusing to touch it\n",
				v, PQgetvalue(applied, i, 1), known_max);
			goto out;
		}
	}
	for (int i = 0; i < n; i++) {
		const char *fname = names[i]->d_name;
		int version = atoi(fname);
		char path[4096], sum[65], vtext[16];
		size_t len;
		const char *prev_sum = NULL;

		snprintf(path, sizeof path, "%s/%s", sqldir, fname);
		char *text = read_file(path, &len);
		if (!text) {
			fprintf(stderr, "qfctl: %s: %s\n", path, strerror(errno));
			goto out;
		}
		sha256_hex(text, len, sum);
		for (int j = 0; j < PQntuples(applied); j++)
			if (atoi(PQgetvalue(applied, j, 0)) == version)
				prev_sum = PQgetvalue(applied, j, 2);
		if (prev_sum) {
			free(text);
			if (strcmp(prev_sum, sum)) {
				fprintf(stderr, "qfctl: %s was changed after it was applied (checksum differs): refusing\n",
					path);
				goto out;
			}
			continue;
		}
		snprintf(vtext, sizeof vtext, "%d", version);
		const char *params[3] = {vtext, fname, sum};
		if (!exec_cmd(c, "BEGIN", &err)) {
			free(text);
			fprintf(stderr, "qfctl: %s: %s\n", path, err);
			goto out;
		}
		PGresult *r = x_exec(c, text);
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
			err = res_error(c, r);
			fprintf(stderr, "%s:%d: %s\n", path, line_of(text, PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION)),
				err);
			PQclear(r);
			free(text);
			rollback(c);
			goto out;
		}
		PQclear(r);
		free(text);
		r = x_params(c, "INSERT INTO qf.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
			     3, params);
		if (PQresultStatus(r) != PGRES_COMMAND_OK || !exec_cmd(c, "COMMIT", &err)) {
			if (!err)
				err = res_error(c, r);
			fprintf(stderr, "qfctl: %s: %s\n", path, err);
			PQclear(r);
			rollback(c);
			goto out;
		}
		PQclear(r);
		printf("applied %s\n", fname);
		done++;
	}
	if (!done)
		printf("database schema is up to date (version %d)\n", known_max);
	rc = 0;
out:
	PQclear(applied);
	PQclear(x_exec(c, "SELECT pg_advisory_unlock(7254823)"));
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(err);
	return rc;
}

/* ---- evaluation ---- */

int db_rule_hits(PGconn *c, const struct qf_rule *r, int timeout_ms, const char *now, const char *since,
		 const char *cursor, bool clock_due, bool skip_known, bool lock, struct rule_hits *out, char **err)
{
	char tbuf[16];
	PGresult *res;

	memset(out, 0, sizeof *out);
	out->started_us = now_real_us();
	snprintf(tbuf, sizeof tbuf, "%d", timeout_ms);
	/* READ ONLY: a rule can only look; REPEATABLE READ: one snapshot for
	 * the change check and the rule */
	if (!exec_cmd(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err))
		return -1;

	/* One round trip: the statement timeout, the snapshot's xmin, whether
	 * anything the rule reads changed and, only if it is going to run, its
	 * session advisory lock (released after its findings are written), so
	 * two daemons never evaluate a rule at once and a skipped rule costs
	 * nothing more. Every transaction below xmin has ended, so every change
	 * below it is visible now or never will be: xmin is the next cursor. A
	 * change at or above it may belong to a transaction still open; it is
	 * looked at again next time, so nothing that commits late is skipped. */
	struct buf deps;
	buf_init(&deps);
	buf_puts(&deps, "{");
	for (int i = 0; i < r->deps.n; i++)
		buf_printf(&deps, "%s%s", i ? "," : "", r->deps.v[i]); /* identifiers: no quoting needed */
	buf_puts(&deps, "}");
	const char *cp[6] = {deps.data, cursor, tbuf, r->id, lock ? "t" : "f", clock_due ? "t" : "f"};
	/* a rule's own statement is planned as the planner sees fit (a full
	 * pass scans): the daemon's session prefers indexes (db_engine_session) */
	res = x_params(c,
		       "SELECT x.xmin, x.changed, set_config('statement_timeout', $3, true),"
		       "       CASE WHEN NOT $5::boolean THEN true"
		       "            WHEN x.changed OR $6::boolean"
		       "            THEN pg_try_advisory_lock(hashtextextended('qingfeng rule ' || $4, 0)) END,"
		       "       set_config('enable_seqscan', 'on', true)"
		       "  FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,"
		       "               $2::xid8 IS NULL OR EXISTS (SELECT 1 FROM qf.change_log"
		       "                                    WHERE tbl = ANY($1::text[]) AND xid >= $2::xid8) AS changed) x",
		       6, cp);
	buf_free(&deps);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto fail;
	snprintf(out->xmin, sizeof out->xmin, "%s", PQgetvalue(res, 0, 0));
	if (PQgetvalue(res, 0, 3)[0] == 'f') { /* another daemon has it */
		PQclear(res);
		out->skipped = out->busy = true;
		if (!exec_cmd(c, "COMMIT", err))
			goto fail_nores;
		return 0;
	}
	out->locked = lock && PQgetvalue(res, 0, 3)[0] == 't';
	out->started_us = now_real_us(); /* the evaluation starts now, under the lock */
	bool changed = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	if (cursor && !changed && !clock_due) {
		out->skipped = true;
		if (!exec_cmd(c, "COMMIT", err))
			goto fail_nores;
		return 0;
	}
	out->delta = cursor && !clock_due && (r->compiled_delta || r->changed_aware);
	/* a match rule has a separate delta statement; a ${changed()} rule
	 * takes the cursor as a parameter, NULL for a full pass */
	const char **values = rule_bind_values(r, now, since, out->delta ? cursor : NULL, skip_known);
	bool use_delta_stmt = out->delta && r->compiled_delta;
	res = x_params(c, use_delta_stmt ? r->compiled_delta : r->compiled,
		       use_delta_stmt ? r->nvalues : r->nvalues_full, values);
	free(values);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto fail;
	if (!exec_cmd(c, "COMMIT", err)) {
		PQclear(res);
		goto fail_nores;
	}
	out->res = res;
	return 0;
fail:
	*err = res_error(c, res);
	PQclear(res);
fail_nores:
	rollback(c);
	return -1;
}

static const char cursors_sql[] =
	"SELECT name, position::text,"
	"       clock_at IS NULL OR clock_at <= now() - make_interval(secs => $1::int)"
	"  FROM qf.cursor WHERE name LIKE 'rule:%'";

/* one statement, one snapshot: its xmin, and per table the newest change
 * at or above the oldest rule cursor */
static const char changed_sql[] =
	"WITH m AS (SELECT coalesce(min(position), 0)::text::xid8 AS low FROM qf.cursor"
	"            WHERE name LIKE 'rule:%')"
	"SELECT pg_snapshot_xmin(pg_current_snapshot())::text, l.tbl, max(l.xid)::text"
	"  FROM m LEFT JOIN qf.change_log l ON l.xid >= m.low"
	" GROUP BY l.tbl";

int db_pass_start(PGconn *c, int clock_interval_s, bool want_changed, PGresult **cursors, PGresult **changed)
{
	char iv[16], *err = NULL;
	const char *p[1] = {iv};
	PGresult *r[4] = {NULL, NULL, NULL, NULL};

	*cursors = *changed = NULL;
	if (c == broken_conn)
		return -1;
	snprintf(iv, sizeof iv, "%d", clock_interval_s);
	if (prepare_once(c, "qf_cursors", cursors_sql, 1, &err) < 0 ||
	    (want_changed && prepare_once(c, "qf_changed", changed_sql, 0, &err) < 0)) {
		log_err("cannot read the rule cursors: %s", err);
		free(err);
		return db_ok(c) ? 0 : -1;
	}
	/* both in one round trip, each its own snapshot as before */
	bool sent = PQenterPipelineMode(c) && send_stmt(c, "qf_cursors", cursors_sql, 1, p) &&
		    PQpipelineSync(c) &&
		    (!want_changed || (send_stmt(c, "qf_changed", changed_sql, 0, NULL) && PQpipelineSync(c)));
	if (!sent)
		return pipe_lost(c, "cannot send the pass's first queries");
	for (int k = 0; k < (want_changed ? 4 : 2); k++)
		if (!(r[k] = pipe_next(c))) {
			for (int j = 0; j < k; j++)
				PQclear(r[j]);
			return pipe_lost(c, "reading the rule cursors");
		}
	bool ok = pipe_exit(c) && PQresultStatus(r[1]) == PGRES_PIPELINE_SYNC &&
		  (!want_changed || PQresultStatus(r[3]) == PGRES_PIPELINE_SYNC);
	PQclear(r[1]);
	PQclear(r[3]);
	if (!ok) {
		PQclear(r[0]);
		PQclear(r[2]);
		return pipe_lost(c, "reading the rule cursors");
	}
	if (PQresultStatus(r[0]) != PGRES_TUPLES_OK) {
		log_err("cannot read the rule cursors: %s", PQresultErrorMessage(r[0]));
		PQclear(r[0]);
		r[0] = NULL;
	}
	if (want_changed && PQresultStatus(r[2]) != PGRES_TUPLES_OK) {
		log_err("cannot read the change log: %s", PQresultErrorMessage(r[2]));
		PQclear(r[2]);
		r[2] = NULL;
	}
	*cursors = r[0];
	*changed = r[2];
	return 0;
}

static const char advance_sql[] =
	"INSERT INTO qf.cursor (name, position, updated_at)"
	" SELECT x.name, x.position, now()"
	"   FROM jsonb_to_recordset($1::jsonb) AS x(name text, position bigint)"
	" ON CONFLICT (name) DO UPDATE SET position = greatest(qf.cursor.position, EXCLUDED.position),"
	"   updated_at = now()";

void db_advance_cursors(PGconn *c, const char *json)
{
	const char *p[1] = {json};
	PGresult *r = exec_prepared(c, "qf_advance", advance_sql, 1, p);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warn("cannot advance rule cursors: %s", PQresultErrorMessage(r));
	PQclear(r);
}

void db_prune_changes(PGconn *c, const char *rule_ids_json, int n)
{
	char ns[16];
	snprintf(ns, sizeof ns, "%d", n);
	const char *p[2] = {rule_ids_json, ns};
	/* only once every enabled rule has a cursor: the oldest one bounds
	 * what may still be needed */
	PGresult *r = x_params(c,
			       "DELETE FROM qf.change_log WHERE xid < ("
			       "  SELECT min(position)::text::xid8 FROM qf.cursor"
			       "   WHERE name IN (SELECT 'rule:' || jsonb_array_elements_text($1::jsonb))"
			       "  HAVING count(*) = $2::int)",
			       2, p);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warn("cannot prune the change log: %s", PQresultErrorMessage(r));
	PQclear(r);
}

/* qf.silence_for() written out: a call of that SQL function is parsed and
 * planned anew on every execution of the statement, a third of the cost
 * of recording one finding; inline, it is planned with the statement. */
#define SILENCE_FOR(rule, subject, department)                                                                \
	"SELECT s.id FROM qf.silence s"                                                                      \
	" WHERE s.expired_at IS NULL AND now() >= s.starts_at AND now() < s.until"                          \
	"   AND (s.rule_id IS NULL OR s.rule_id = " rule ")"                                                 \
	"   AND (s.subject IS NULL OR s.subject = " subject ")"                                              \
	"   AND (s.department IS NULL OR s.department = " department ")"                                     \
	" ORDER BY s.id LIMIT 1"

long db_scope_cleanup(PGconn *c)
{
	/* a scope row of a dropped role (a leaver) matches no one already
	 * (sql/017 binds rows to role OIDs); removing it writes its
	 * scope_revoked event, so the history says when it went */
	PGresult *r = x_exec(c, "SELECT qf.auditor_scope_cleanup()");
	long n = -1;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		log_warn("cannot remove the scopes of dropped roles: %s", PQresultErrorMessage(r));
	else
		n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

long db_prune_runs(PGconn *c, int keep_days)
{
	char kd[16];
	snprintf(kd, sizeof kd, "%d", keep_days);
	const char *p[1] = {kd};
	/* at most 10,000 rows a pass: a first prune of a long history must
	 * not hold the loop (or the table) for long */
	PGresult *r = x_params(c,
			       "DELETE FROM qf.rule_run WHERE id IN (SELECT id FROM qf.rule_run"
			       " WHERE started_at < now() - make_interval(days => $1::int) ORDER BY id LIMIT 10000)",
			       1, p);
	long n = -1;
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warn("cannot prune qf.rule_run: %s", PQresultErrorMessage(r));
	else
		n = atol(PQcmdTuples(r));
	PQclear(r);
	return n;
}

/* One statement records a rule run's hits. An unchanged hit never reaches
 * the INSERT (so re-evaluation burns no ids); a new finding opens one level
 * higher when its subject is a repeat offender of this rule (>= 2 earlier
 * findings within 365 days, counting earlier new hits of this batch) or
 * already has open findings from >= 2 different rules (RULES-423.md,
 * "Escalation"). */
static const char record_hits_sql[] =
	"WITH hits AS ("
	"  SELECT DISTINCT ON (h.key) h.key, h.subject, h.department, h.evidence, h.message, h.receivers,"
	"         CASE WHEN h.level IN ('yellow', 'orange', 'red') THEN h.level ELSE $5 END AS level"
	"    FROM jsonb_to_recordset($1::jsonb)"
	"         AS h(key text, subject text, department text, level text, evidence jsonb, message text,"
	"              receivers text[])"
	"   ORDER BY h.key"
	/* one index probe per hit: a (NOT) EXISTS here becomes, in the
	 * prepared statement's generic plan, a hash of every finding of the
	 * rule, a cost that grows with the rule's history */
	"), fresh AS MATERIALIZED ("
	"  SELECT h.*, o.id IS NULL AS is_new"
	"    FROM hits h"
	"    LEFT JOIN LATERAL (SELECT o.id, o.evidence_hash FROM qf.finding o"
	"                        WHERE o.rule_id = $2 AND o.dedupe_key = h.key LIMIT 1) o ON true"
	"   WHERE o.id IS NULL OR o.evidence_hash IS DISTINCT FROM md5(h.evidence::text)"
	/* a subject's history counted once per subject, not once per new
	 * hit: a bulk load that gave one person 2,500 new findings read that
	 * person's findings 2,500 times (3.6 s, then 8.6 s at the next load) */
	"), subj AS MATERIALIZED ("
	"  SELECT s.subject,"
	"         (SELECT count(*) FROM qf.finding o WHERE o.rule_id = $2 AND o.subject = s.subject"
	"             AND o.first_seen > now() - interval '365 days') AS same,"
	"         (SELECT count(DISTINCT o.rule_id) FROM qf.finding o WHERE o.subject = s.subject AND o.status = 'open')"
	"           AS open_rules"
	"    FROM (SELECT DISTINCT f.subject FROM fresh f WHERE f.is_new AND f.subject IS NOT NULL) s"
	"), ranked AS ("
	"  SELECT f.*,"
	"         CASE WHEN f.is_new AND f.subject IS NOT NULL THEN"
	"           s.same + count(*) FILTER (WHERE f.is_new) OVER (PARTITION BY f.subject ORDER BY f.key"
	"                                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
	"         ELSE 0 END AS prior_same,"
	"         CASE WHEN f.is_new AND f.subject IS NOT NULL THEN s.open_rules ELSE 0 END AS open_rules"
	"    FROM fresh f LEFT JOIN subj s ON s.subject = f.subject"
	"), leveled AS ("
	"  SELECT r.*, CASE WHEN r.prior_same >= 2 OR r.open_rules >= 2 THEN qf.level_up(r.level) ELSE r.level END"
	"              AS final_level,"
	"         CASE WHEN r.prior_same >= 2 THEN 'opened one level higher: finding ' || (r.prior_same + 1)"
	"                   || ' of this rule on this subject within 365 days'"
	"              WHEN r.open_rules >= 2 THEN 'opened one level higher: the subject has open findings from '"
	"                   || r.open_rules || ' rules'"
	"         END AS why"
	"    FROM ranked r"
	"), up AS ("
	"  INSERT INTO qf.finding AS f (rule_id, dedupe_key, rule_version, title, level, base_level, supervision, risk,"
	"                               duty, subject, department, evidence, evidence_hash, message, tags)"
	"  SELECT $2, h.key, $3, $4, h.final_level, h.level, $6, $7, $8, h.subject, h.department, h.evidence,"
	"         md5(h.evidence::text), h.message, ARRAY(SELECT jsonb_array_elements_text($9::jsonb))"
	"    FROM leveled h"
	"  ON CONFLICT (rule_id, dedupe_key) DO UPDATE"
	"     SET hit_count = f.hit_count + 1, last_seen = now(), evidence = EXCLUDED.evidence,"
	/* a hit that now warrants a higher level raises the finding (D06) */
	"         level = CASE WHEN qf.level_rank(EXCLUDED.base_level) > qf.level_rank(f.level)"
	"                      THEN EXCLUDED.base_level ELSE f.level END,"
	"         evidence_hash = EXCLUDED.evidence_hash, message = EXCLUDED.message,"
	"         rule_version = EXCLUDED.rule_version, subject = EXCLUDED.subject,"
	"         department = EXCLUDED.department"
	"   WHERE f.evidence_hash <> EXCLUDED.evidence_hash"
	"  RETURNING f.*, f AS frow, (xmax = 0) AS inserted"
	"), ev AS ("
	"  INSERT INTO qf.finding_event (finding_id, action, level, note)"
	"  SELECT up.id, CASE WHEN up.inserted THEN 'created' ELSE 'retriggered' END, up.level,"
	"         CASE WHEN up.inserted THEN h.why END"
	"    FROM up JOIN leveled h ON h.key = up.dedupe_key ORDER BY up.id"
	"  RETURNING id, finding_id"
	"), al AS ("
	"  INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload, state, silence_id, last_error)"
	"  SELECT ev.id, up.id, rcv.name,"
	"         CASE WHEN up.inserted THEN 'finding.new' ELSE 'finding.retriggered' END,"
	"         qf.finding_payload(up.frow),"
	/* a silenced alert is kept for the record, never sent */
	"         CASE WHEN s.id IS NULL THEN 'pending' ELSE 'silenced' END, s.id,"
	"         CASE WHEN s.id IS NOT NULL THEN 'silenced by silence ' || s.id END"
	"    FROM up JOIN ev ON ev.finding_id = up.id JOIN hits h ON h.key = up.dedupe_key"
	"         CROSS JOIN LATERAL unnest(h.receivers) AS rcv(name)"
	"         LEFT JOIN LATERAL (" SILENCE_FOR("up.rule_id", "up.subject", "up.department") ") s ON true"
	"  RETURNING 1"
	")"
	", rr AS ("
	"  INSERT INTO qf.rule_run (rule_id, rule_version, started_at, rows_scanned, findings)"
	"  SELECT $2, $3, to_timestamp($10::double precision), $11::bigint, (SELECT count(*) FROM up)"
	"  RETURNING 1"
	/* the cursor moves in the same transaction as the findings it covers */
	"), cur AS ("
	"  INSERT INTO qf.cursor (name, position, clock_at, updated_at)"
	"  SELECT 'rule:' || $2, $12::bigint, CASE WHEN $13::boolean THEN now() END, now()"
	"   WHERE $12::bigint IS NOT NULL"
	"  ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now(),"
	"     clock_at = CASE WHEN $13::boolean THEN now() ELSE qf.cursor.clock_at END"
	"  RETURNING 1"
	")"
	"SELECT (SELECT count(*) FROM up WHERE inserted), (SELECT count(*) FROM up WHERE NOT inserted),"
	"       (SELECT count(*) FROM al)";

static void us_to_text(int64_t us, char out[32])
{
	snprintf(out, 32, "%lld.%06lld", (long long)(us / 1000000), (long long)(us % 1000000));
}

/* The 13 values of record_hits_sql for one rule run; tags and texts live
 * in bufs the caller frees with record_values_free(). */
struct record_values {
	const char *v[13];
	struct buf tags;
	char title[1024], started[32], scanned[32];
};

static void record_values_init(struct record_values *rv, const struct qf_rule *r, const char *hits_json,
			       int64_t started_us, long scanned, const char *cursor, bool clock_ran)
{
	buf_init(&rv->tags);
	buf_puts(&rv->tags, "[");
	for (int i = 0; i < r->tags.n; i++) {
		json_t *s = json_string(r->tags.v[i]);
		char *t = json_dumps(s, JSON_ENCODE_ANY);
		buf_printf(&rv->tags, "%s%s", i ? "," : "", t ? t : "\"\"");
		free(t);
		json_decref(s);
	}
	buf_puts(&rv->tags, "]");
	snprintf(rv->title, sizeof rv->title, "%s %s", r->title_zh, r->title_en);
	us_to_text(started_us, rv->started);
	snprintf(rv->scanned, sizeof rv->scanned, "%ld", scanned);
	const char *v[13] = {hits_json,	 r->id,	    r->version, rv->title,   level_name(r->level),
			     r->supervision, r->risk, r->duty,    rv->tags.data, rv->started,
			     rv->scanned,    cursor,  clock_ran ? "t" : "f"};
	memcpy(rv->v, v, sizeof v);
}

static void record_values_free(struct record_values *rv)
{
	buf_free(&rv->tags);
}

/* the counts record_hits_sql returns */
static void record_counts(PGresult *res, long *created, long *retriggered, long *alerts)
{
	*created = atol(PQgetvalue(res, 0, 0));
	*retriggered = atol(PQgetvalue(res, 0, 1));
	*alerts = atol(PQgetvalue(res, 0, 2));
}

int db_record_hits(PGconn *c, const struct qf_rule *r, const char *hits_json, int64_t started_us, long scanned,
		   const char *cursor, bool clock_ran, long *created, long *retriggered, long *alerts, char **err)
{
	struct record_values rv;

	/* one statement, so one transaction: findings, events, alerts, the
	 * run and the cursor commit together or not at all */
	record_values_init(&rv, r, hits_json, started_us, scanned, cursor, clock_ran);
	PGresult *res = exec_prepared(c, "qf_record_hits", record_hits_sql, 13, rv.v);
	record_values_free(&rv);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		*err = res_error(c, res);
		PQclear(res);
		return -1;
	}
	record_counts(res, created, retriggered, alerts);
	PQclear(res);
	return 0;
}

void db_record_rule_error(PGconn *c, const struct qf_rule *r, int64_t started_us, const char *error)
{
	char started[32];
	us_to_text(started_us, started);
	const char *p[4] = {r->id, r->version, started, error};
	PGresult *res = x_params(c,
				 "INSERT INTO qf.rule_run (rule_id, rule_version, started_at, error)"
				 " VALUES ($1, $2, to_timestamp($3::double precision), $4)",
				 4, p);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		log_warn("rule %s: cannot record the failed run: %s", r->id, PQresultErrorMessage(res));
	PQclear(res);
}

/* ---- delivery outbox ---- */

static const char claim_sql[] =
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

static void claim_values(const struct claim_req *q, char lim[16], char lease[16], char age[16], const char *p[5])
{
	snprintf(lim, 16, "%d", q->limit);
	snprintf(lease, 16, "%d", q->lease_s);
	snprintf(age, 16, "%d", q->max_age_s);
	p[0] = q->receivers_json;
	p[1] = lim;
	p[2] = q->claimer;
	p[3] = lease;
	p[4] = age;
}

PGresult *db_claim_alerts(PGconn *c, const struct claim_req *q)
{
	char lim[16], lease[16], age[16];
	const char *p[5];
	claim_values(q, lim, lease, age, p);
	PGresult *r = exec_prepared(c, "qf_claim", claim_sql, 5, p);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		char *e = res_error(c, r);
		log_err("cannot claim alerts: %s", e);
		free(e);
		PQclear(r);
		return NULL;
	}
	return r;
}

/* One statement for every alert a turn of the loop saw delivered: a round
 * trip per alert was the ceiling of delivery throughput. */
static const char delivered_sql[] =
	"UPDATE qf.alert a SET state = 'delivered', delivered_at = now(), last_status = u.status,"
	"       last_error = NULL, claimed_by = NULL, claimed_until = NULL"
	"  FROM unnest($1::bigint[], $3::int[]) AS u(id, status)"
	" WHERE a.id = u.id AND a.claimed_by = $2"
	" RETURNING a.id";

int db_alerts_delivered(PGconn *c, const int64_t *ids, const int *status, int n, const char *claimer)
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
	PGresult *r = exec_prepared(c, "qf_delivered", delivered_sql, 3, p);
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

int db_alert_failed(PGconn *c, int64_t id, const char *claimer, int status, const char *error, double retry_s,
		    bool dead)
{
	char ids[32], st[16], retry[32];
	snprintf(ids, sizeof ids, "%lld", (long long)id);
	snprintf(st, sizeof st, "%d", status);
	snprintf(retry, sizeof retry, "%.3f", retry_s);
	const char *p[6] = {ids, claimer, status ? st : NULL, error, retry, dead ? "t" : "f"};
	PGresult *r = x_params(c,
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

double db_next_due(PGconn *c, const char *receivers_json)
{
	const char *p[1] = {receivers_json};
	PGresult *r = x_params(c,
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
	return v;
}

void db_release_claims(PGconn *c, const char *claimer)
{
	const char *p[1] = {claimer};
	PGresult *r = x_params(c,
			       "UPDATE qf.alert SET claimed_by = NULL, claimed_until = NULL"
			       " WHERE claimed_by = $1 AND state = 'pending'",
			       1, p);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warn("cannot release alert claims: %s", PQresultErrorMessage(r));
	PQclear(r);
}

int db_pending_count(PGconn *c, const char *receivers_json)
{
	const char *p[1] = {receivers_json};
	PGresult *r = x_params(c,
			       "SELECT count(*) FROM qf.alert WHERE state = 'pending'"
			       "   AND receiver IN (SELECT jsonb_array_elements_text($1::jsonb))",
			       1, p);
	int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return n;
}

/* BEGIN, then an UPDATE ... RETURNING that takes one whole number; the
 * transaction stays open for the caller's _finish */
static PGresult *begin_update(PGconn *c, const char *sql, int value, char **err)
{
	char v[16];
	snprintf(v, sizeof v, "%d", value);
	const char *p[1] = {v};

	if (!exec_cmd(c, "BEGIN", err))
		return NULL;
	PGresult *r = x_params(c, sql, 1, p);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*err = res_error(c, r);
		PQclear(r);
		rollback(c);
		return NULL;
	}
	return r;
}

PGresult *db_escalate_begin(PGconn *c, int after_days, char **err)
{
	/* once per step: the clock restarts at each rise */
	return begin_update(c,
			    "UPDATE qf.finding SET level = qf.level_up(level), escalated_at = now()"
			    " WHERE status = 'open' AND level <> 'red'"
			    "   AND coalesce(escalated_at, first_seen) <= now() - make_interval(days => $1::int)"
			    " RETURNING id, rule_id, level, department",
			    after_days, err);
}

PGresult *db_remind_begin(PGconn *c, int every_hours, char **err)
{
	return begin_update(c,
			    "UPDATE qf.finding SET reminded_at = now()"
			    " WHERE status = 'open' AND level = 'red'"
			    "   AND coalesce(reminded_at, first_seen) <= now() - make_interval(hours => $1::int)"
			    " RETURNING id, rule_id, level, department",
			    every_hours, err);
}

int db_finding_events(PGconn *c, const char *routes_json, const char *action, const char *event, const char *note,
		      char **err)
{
	const char *p[4] = {routes_json, action, event, note};
	PGresult *r = x_params(c,
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
			       "        LEFT JOIN LATERAL (" SILENCE_FOR("f.rule_id", "f.subject", "f.department") ") s ON true",
			       4, p);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = res_error(c, r);
		PQclear(r);
		rollback(c);
		return -1;
	}
	PQclear(r);
	if (!exec_cmd(c, "COMMIT", err)) {
		rollback(c);
		return -1;
	}
	return 0;
}

PGresult *db_notices_begin(PGconn *c, char **err)
{
	if (!exec_cmd(c, "BEGIN", err))
		return NULL;
	/* seq is assigned under the chain head's lock, held to commit, so
	 * events become visible in seq order: a seq cursor skips nothing */
	PGresult *r = x_exec(c,
			     "SELECT e.id, f.id, f.rule_id, f.level, f.department,"
			     "       (SELECT max(seq) FROM qf.finding_event)"
			     "  FROM qf.finding_event e JOIN qf.finding f ON f.id = e.finding_id"
			     " WHERE e.seq > (SELECT position FROM qf.cursor WHERE name = 'notices' FOR UPDATE)"
			     "   AND e.action = 'resolved'"
			     " ORDER BY e.seq");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*err = res_error(c, r);
		PQclear(r);
		rollback(c);
		return NULL;
	}
	return r;
}

int db_notices_finish(PGconn *c, const char *routes_json, char **err)
{
	const char *p[1] = {routes_json};
	PGresult *r = x_params(c,
			       "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(event_id bigint, receivers text[])),"
			       " al AS (INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload)"
			       "        SELECT e.id, f.id, rcv.name, 'finding.resolved', qf.finding_payload(f)"
			       "          FROM x JOIN qf.finding_event e ON e.id = x.event_id JOIN qf.finding f ON f.id = e.finding_id"
			       "               CROSS JOIN LATERAL unnest(x.receivers) AS rcv(name)"
			       "        ON CONFLICT (event_id, receiver) DO NOTHING RETURNING 1)"
			       " UPDATE qf.cursor SET position = coalesce((SELECT max(seq) FROM qf.finding_event), position),"
			       "        updated_at = now() WHERE name = 'notices'",
			       1, p);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = res_error(c, r);
		PQclear(r);
		rollback(c);
		return -1;
	}
	PQclear(r);
	if (!exec_cmd(c, "COMMIT", err)) {
		rollback(c);
		return -1;
	}
	return 0;
}

int db_listen(PGconn *c)
{
	char *err = NULL;

	if (!exec_cmd(c, "LISTEN qingfeng", &err)) {
		log_err("cannot LISTEN for changes: %s", err);
		free(err);
		return -1;
	}
	return 0;
}

bool db_notified(PGconn *c, struct strlist *tables)
{
	PGnotify *n;
	bool any = false;

	if (!PQconsumeInput(c))
		return false; /* a broken connection: db_ok() says so next */
	while ((n = PQnotifies(c)) != NULL) {
		any = true;
		/* the capture names the table; anything else is not ours */
		if (tables && n->extra && capture_key(n->extra) && !strlist_has(tables, n->extra)) {
			tables->v = xrealloc(tables->v, sizeof *tables->v * (size_t)(tables->n + 1));
			tables->v[tables->n++] = xstrdup(n->extra);
		}
		PQfreemem(n);
	}
	return any;
}

int db_alert_release(PGconn *c, int64_t id, const char *claimer)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", (long long)id);
	const char *p[2] = {ids, claimer};
	/* not sent after all (it did not fit a digest): the claim was no attempt */
	PGresult *r = x_params(c,
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

/* ---- operators (qfctl) ---- */

static PGresult *query(PGconn *c, const char *sql, int n, const char *const *p, char **err)
{
	PGresult *r = x_params(c, sql, n, p);
	if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = res_error(c, r);
		PQclear(r);
		return NULL;
	}
	return r;
}

PGresult *db_alerts_list(PGconn *c, const char *state, int limit, const char *receivers_json, char **err)
{
	char lim[16];
	snprintf(lim, sizeof lim, "%d", limit);
	const char *p[3] = {state, lim, receivers_json};
	/* an alert for a receiver the configuration no longer has waits for
	 * ever, and nothing else would say so */
	return query(c,
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
}

PGresult *db_orphaned_alerts(PGconn *c, const char *receivers_json, char **err)
{
	const char *p[1] = {receivers_json};
	return query(c,
		     "SELECT receiver, count(*)::text FROM qf.alert"
		     " WHERE state = 'pending' AND receiver NOT IN (SELECT jsonb_array_elements_text($1::jsonb))"
		     " GROUP BY receiver ORDER BY receiver",
		     1, p, err);
}

long db_alerts_retry(PGconn *c, long long id, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[1] = {id > 0 ? ids : NULL};
	/* a fresh budget (attempts and age count from now), and a history
	 * event per alert naming who sent it again: the function runs as the
	 * owner, since no operator may update the outbox (sql/017) */
	PGresult *r = query(c, "SELECT qf.alert_retry($1::bigint)", 1, p, err);
	if (!r)
		return -1;
	long n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

long long db_silence_add(PGconn *c, const char *rule, const char *subject, const char *dept, const char *from,
			 const char *until, const char *reason, char **err)
{
	const char *p[6] = {rule, subject, dept, from, until, reason};
	PGresult *r = query(c,
			    "INSERT INTO qf.silence (rule_id, subject, department, starts_at, until, reason)"
			    " VALUES ($1, $2, $3, coalesce($4::timestamptz, now()), $5::timestamptz, $6) RETURNING id",
			    6, p, err);
	if (!r)
		return -1;
	long long id = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return id;
}

PGresult *db_silence_list(PGconn *c, bool all, char **err)
{
	const char *p[1] = {all ? "t" : "f"};
	return query(c,
		     "SELECT id, coalesce(rule_id, '*'), coalesce(subject, '*'), coalesce(department, '*'),"
		     "       to_char(starts_at, 'YYYY-MM-DD HH24:MI'), to_char(until, 'YYYY-MM-DD HH24:MI'),"
		     "       created_by, reason,"
		     "       CASE WHEN expired_at IS NOT NULL THEN 'expired' WHEN until <= now() THEN 'ended'"
		     "            WHEN starts_at > now() THEN 'future' ELSE 'active' END"
		     "  FROM qf.silence"
		     " WHERE $1::boolean OR (expired_at IS NULL AND until > now())"
		     " ORDER BY id",
		     1, p, err);
}

long db_silence_expire(PGconn *c, long long id, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[1] = {ids};
	PGresult *r = query(c, "UPDATE qf.silence SET expired_at = now() WHERE id = $1::bigint AND expired_at IS NULL", 1,
			    p, err);
	if (!r)
		return -1;
	long n = atol(PQcmdTuples(r));
	PQclear(r);
	return n;
}

int db_set_status(PGconn *c, long long id, const char *status, const char *note, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[3] = {ids, status, note};
	PGresult *r = query(c, "SELECT (qf.set_finding_status($1::bigint, $2, $3)).seq", 3, p, err);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

/* the database gauges, in the order of the query's first column */
static const struct {
	const char *name, *help;
} gauges[] = {
	{"qingfeng_findings", "Findings by level and status."},
	{"qingfeng_alerts", "Alerts in the outbox by state; delivered ones are counted by qingfeng_deliveries_total."},
	{"qingfeng_outbox_depth", "Alerts waiting to be delivered."},
	{"qingfeng_oldest_pending_seconds", "Age of the oldest alert waiting to be delivered."},
	{"qingfeng_change_lag_seconds", "How long the oldest change not yet seen by every rule has waited."},
	{"qingfeng_alerts_orphaned",
	 "Pending alerts for a receiver that is not in the configuration: they wait until one of that name is."},
};

static const char gauges_sql[] =
	/* label values come from CHECK-constrained vocabularies; the
	 * findings are counted by their writes (sql/016): counting them here
	 * took 250-300 ms at a million */
	"SELECT 0, 'qingfeng_findings{level=\"' || level || '\",status=\"' || status || '\"}', n::text, NULL::text"
	"  FROM qf.finding_count WHERE n <> 0"
	/* delivered alerts are history: counting them read the whole
	 * outbox (sql/014); every other state, 0 included, from the
	 * partial index */
	" UNION ALL SELECT 1, 'qingfeng_alerts{state=\"' || v.s || '\"}', v.n::text, NULL"
	"   FROM (SELECT count(*) FILTER (WHERE state = 'pending') AS p, count(*) FILTER (WHERE state = 'dead') AS d,"
	"                count(*) FILTER (WHERE state = 'silenced') AS si"
	"           FROM qf.alert WHERE state <> 'delivered') a,"
	"        LATERAL (VALUES ('pending', a.p), ('dead', a.d), ('silenced', a.si)) v(s, n)"
	" UNION ALL SELECT 2, 'qingfeng_outbox_depth', count(*)::text, NULL FROM qf.alert WHERE state = 'pending'"
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
	" ORDER BY 1, 2, 4";

/* a label value in the text exposition format: \, " and newline escaped */
static void label_value(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_add(b, v, 1);
	}
}

char *db_metrics_gauges(PGconn *c, const char *receivers_json)
{
	const char *p[1] = {receivers_json ? receivers_json : "[]"};
	PGresult *r = exec_prepared(c, "qf_gauges", gauges_sql, 1, p);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_warn("cannot read metrics: %s", PQresultErrorMessage(r));
		PQclear(r);
		return NULL;
	}
	/* each family's HELP and TYPE right before its samples (promtool
	 * check metrics), also when it has none */
	struct buf b;
	int row = 0, nr = PQntuples(r);
	buf_init(&b);
	for (int f = 0; f < (int)(sizeof gauges / sizeof gauges[0]); f++) {
		buf_printf(&b, "# HELP %s %s\n# TYPE %s gauge\n", gauges[f].name, gauges[f].help, gauges[f].name);
		for (; row < nr && atoi(PQgetvalue(r, row, 0)) == f; row++) {
			if (PQgetisnull(r, row, 3)) {
				buf_printf(&b, "%s %s\n", PQgetvalue(r, row, 1), PQgetvalue(r, row, 2));
				continue;
			}
			buf_printf(&b, "%s{receiver=\"", gauges[f].name);
			label_value(&b, PQgetvalue(r, row, 3));
			buf_printf(&b, "\"} %s\n", PQgetvalue(r, row, 2));
		}
	}
	PQclear(r);
	return buf_steal(&b);
}

void db_rule_unlock(PGconn *c, const char *rule_id)
{
	const char *p[1] = {rule_id};
	PGresult *r = x_params(c, "SELECT pg_advisory_unlock(hashtextextended('qingfeng rule ' || $1, 0))", 1, p);
	PQclear(r); /* a lost connection released it anyway */
}

/* rule runs that found nothing new, and their cursors, for a whole pass
 * in one statement */
static const char quiet_runs_sql[] =
	"WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb)"
	"             AS x(rule_id text, version text, started double precision, finished double precision,"
	"                  scanned bigint, cursor bigint, clock boolean)),"
	" rr AS (INSERT INTO qf.rule_run (rule_id, rule_version, started_at, finished_at, rows_scanned, findings)"
	"        SELECT rule_id, version, to_timestamp(started), to_timestamp(finished), scanned, 0 FROM x"
	"        RETURNING 1)"
	" INSERT INTO qf.cursor (name, position, clock_at, updated_at)"
	" SELECT 'rule:' || rule_id, cursor, CASE WHEN clock THEN now() END, now() FROM x"
	" ON CONFLICT (name) DO UPDATE SET position = greatest(qf.cursor.position, EXCLUDED.position),"
	"   updated_at = now(), clock_at = coalesce(EXCLUDED.clock_at, qf.cursor.clock_at)";

int db_record_quiet_runs(PGconn *c, const char *runs_json, char **err)
{
	const char *p[1] = {runs_json};
	PGresult *r = exec_prepared(c, "qf_quiet_runs", quiet_runs_sql, 1, p);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = res_error(c, r);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

/* ---- auditors ---- */

/* the findings filter of qfctl(1); NULL parameters do not filter */
#define FINDINGS_WHERE                                                                                              \
	" WHERE ($1::text IS NULL OR f.status = $1) AND ($2::text IS NULL OR f.level = $2)"                        \
	"   AND ($3::text IS NULL OR f.supervision = $3) AND ($4::text IS NULL OR f.risk = $4)"                     \
	"   AND ($5::text IS NULL OR f.duty = $5) AND ($6::text IS NULL OR f.rule_id = $6)"                         \
	"   AND ($7::text IS NULL OR f.subject = $7) AND ($8::text IS NULL OR f.department = $8)"                   \
	"   AND ($9::timestamptz IS NULL OR f.last_seen >= $9::timestamptz)"                                        \
	"   AND ($10::timestamptz IS NULL OR f.first_seen < $10::timestamptz)"

PGresult *db_findings(PGconn *c, const char *const filter[10], int limit, bool json, char **err)
{
	char lim[16];
	snprintf(lim, sizeof lim, "%d", limit);
	const char *p[11];
	for (int i = 0; i < 10; i++)
		p[i] = filter[i];
	p[10] = lim;
	if (json) /* the data contract's objects, built by PostgreSQL: exact numerics */
		return query(c,
			     "SELECT coalesce(jsonb_agg(x.o ORDER BY x.id), '[]'::jsonb)::text FROM ("
			     "  SELECT f.id, jsonb_build_object('id', f.id, 'rule_id', f.rule_id, 'title', f.title,"
			     "    'level', f.level, 'supervision', f.supervision, 'risk', f.risk, 'duty', f.duty,"
			     "    'subject', f.subject, 'department', f.department, 'status', f.status,"
			     "    'first_seen', f.first_seen, 'last_seen', f.last_seen, 'hit_count', f.hit_count,"
			     "    'evidence', f.evidence, 'message', f.message, 'rule_version', f.rule_version) AS o"
			     "    FROM qf.finding f" FINDINGS_WHERE " ORDER BY f.id DESC LIMIT $11::int) x",
			     11, p, err);
	return query(c,
		     "SELECT f.id, f.level, f.status, f.rule_id, coalesce(f.department, ''), coalesce(f.subject, ''),"
		     "       to_char(f.first_seen, 'YYYY-MM-DD HH24:MI'), to_char(f.last_seen, 'YYYY-MM-DD HH24:MI'),"
		     "       f.hit_count, f.supervision, f.risk, f.duty, f.title"
		     "  FROM qf.finding f" FINDINGS_WHERE " ORDER BY f.id DESC LIMIT $11::int",
		     11, p, err);
}

PGresult *db_finding_show(PGconn *c, long long id, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[1] = {ids};
	return query(c,
		     "SELECT f.id, f.rule_id, f.title, f.level, f.status, f.supervision, f.risk, f.duty,"
		     "       coalesce(f.subject, ''), coalesce(f.department, ''), f.hit_count,"
		     "       to_char(f.first_seen, 'YYYY-MM-DD HH24:MI:SS TZH'), to_char(f.last_seen, 'YYYY-MM-DD HH24:MI:SS TZH'),"
		     "       f.rule_version, f.message, jsonb_pretty(f.evidence)"
		     "  FROM qf.finding f WHERE f.id = $1::bigint",
		     1, p, err);
}

PGresult *db_finding_history(PGconn *c, long long id, char **err)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[1] = {ids};
	return query(c,
		     "SELECT e.seq, to_char(e.at, 'YYYY-MM-DD HH24:MI:SS'), e.actor, e.action, coalesce(e.level, ''),"
		     "       coalesce(e.note, ''), left(e.hash, 16)"
		     "  FROM qf.finding_event e WHERE e.finding_id = $1::bigint ORDER BY e.seq",
		     1, p, err);
}

PGresult *db_audit_verify(PGconn *c, char **err)
{
	/* the first event whose hash, link to its predecessor or place in the
	 * sequence is wrong, or a head that does not match the last event:
	 * computed as the owner over every event (sql/009), so that an auditor
	 * whose scope hides some events is not told the chain is broken */
	return query(c, "SELECT seq, event_id, why FROM qf.verify_chain()", 0, NULL, err);
}

PGresult *db_audit_head(PGconn *c, char **err)
{
	return query(c, "SELECT seq, hash, to_char(now(), 'YYYY-MM-DD HH24:MI:SS TZH') FROM qf.chain_head", 0, NULL, err);
}

/* ---- reports ---- */

PGresult *db_report_section(PGconn *c, int section, const char *from, const char *to, char **err)
{
	/* findings first seen in [from, to); every section two or more label
	 * columns and a count */
	static const char *const sql[] = {
		/* 0: the 423 matrix */
		"SELECT supervision, risk, duty, level, count(*)::text FROM qf.finding"
		" WHERE first_seen >= $1::date AND first_seen < $2::date GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
		/* 1: monthly trend by level */
		"SELECT to_char(date_trunc('month', first_seen), 'YYYY-MM'), level, count(*)::text FROM qf.finding"
		" WHERE first_seen >= $1::date AND first_seen < $2::date GROUP BY 1, 2 ORDER BY 1, 2",
		/* 2: top rules */
		"SELECT rule_id, min(title), count(*)::text FROM qf.finding"
		" WHERE first_seen >= $1::date AND first_seen < $2::date GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 10",
		/* 3: departments, with open findings */
		"SELECT coalesce(department, '-'), count(*) FILTER (WHERE status IN ('open', 'acknowledged'))::text,"
		"       count(*)::text FROM qf.finding"
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
		/* 6: the chain head, to quote in the report */
		"SELECT seq::text, hash FROM qf.chain_head WHERE $1::date IS NOT NULL AND $2::date IS NOT NULL",
	};
	const char *p[2] = {from, to};
	if (section < 0 || section >= (int)(sizeof sql / sizeof sql[0]))
		return NULL;
	return query(c, sql[section], 2, p, err);
}

/* ---- batched evaluation: one round trip for many rules ---- */

/* Per rule: did anything it reads change since its cursor, and (when it
 * will run and lock is asked) its session advisory lock; the snapshot's
 * xmin; the statement timeout for the rest of the transaction. As in
 * db_rule_hits, every transaction below xmin has ended, so xmin is the
 * next cursor. */
static const char delta_check_sql[] =
	"SELECT x.changed,"
	"       CASE WHEN x.lock AND x.changed"
	"            THEN pg_try_advisory_lock(hashtextextended('qingfeng rule ' || x.id, 0)) END,"
	"       pg_snapshot_xmin(pg_current_snapshot())::text, set_config('statement_timeout', $2, true),"
	/* the run starts once the lock is held: the runs of two daemons
	 * recorded in qf.rule_run never overlap */
	"       (extract(epoch FROM clock_timestamp()) * 1000000)::bigint,"
	/* a rule's delta reads a few keys' rows, but a plan that misjudges
	 * them (an init plan's keys are estimated, not counted) went parallel:
	 * launching the worker took 19 of F01's 23 ms in an incremental pass */
	"       set_config('max_parallel_workers_per_gather', '0', true),"
	/* The rule statements below are prepared (prepare_once) to be
	 * planned once. But once the tables have been analysed, PostgreSQL
	 * prices a custom plan below the generic one and plans every
	 * execution anew: 0.2 to 0.6 ms for each of the seven payment rules,
	 * every pass, which took the commit -> webhook p50 from 3 to 7-13 ms.
	 * A small delta, the usual one, gets the generic plans, which read
	 * by index (measured as fast as the custom ones up to a delta of
	 * 1,000 records at 10M rows). A large one (an outage's backlog, a
	 * bulk load) is left to the planner, which then knows the cursor.
	 * Small is counted in at most 64 change rows (one per statement) and
	 * their keys. */
	"       g.mode"
	/* an index range from the cursor (the session prefers indexes: a
	 * plan made while the change log was empty would scan it whole);
	 * not max(xid) per table, which the planner may read backwards
	 * through the xid index, all of it for a table that did not change */
	"  FROM (SELECT r.i, r.id, r.lock,"
	"               EXISTS (SELECT 1 FROM qf.change_log l"
	"                        WHERE l.tbl = ANY(r.deps) AND l.xid >= r.cursor::xid8) AS changed"
	"          FROM jsonb_to_recordset($1::jsonb) AS r(i int, id text, deps text[], cursor text, lock boolean)) x,"
	"       (SELECT set_config('plan_cache_mode',"
	"                          CASE WHEN count(*) < 64 AND coalesce(sum(cardinality(l.keys)), 0) <= 256"
	"                               THEN 'force_generic_plan' ELSE 'auto' END, true) AS mode"
	"          FROM (SELECT keys FROM qf.change_log"
	"                 WHERE xid >= (SELECT c.cursor::xid8 FROM jsonb_to_recordset($1::jsonb) AS c(cursor text)"
	"                                ORDER BY 1 LIMIT 1)"
	"                 LIMIT 64) l) g"
	" ORDER BY x.i";

static int pipe_lost(PGconn *c, const char *what)
{
	if (c == broken_conn) /* given up by await(), which said why */
		return -1;
	log_err("database: %s: %s", what, PQstatus(c) == CONNECTION_OK ? "pipeline out of step" : "connection lost");
	broken_conn = c;
	return -1;
}

static char *result_error(PGconn *c, PGresult *r)
{
	if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED)
		return xstrdup("not run: an earlier statement of its pipeline failed");
	return res_error(c, r);
}

int db_delta_batch(PGconn *c, struct delta_run *runs, int n, int timeout_ms, const char *now, bool lock)
{
	char tbuf[16], name[64];
	char *err = NULL;

	if (c == broken_conn) /* given up (a stop, a silent server) earlier in the pass */
		return -1;
	bool *held = xcalloc((size_t)n, sizeof *held), *done = xcalloc((size_t)n, sizeof *done);
	int *idx = xcalloc((size_t)n, sizeof *idx);
	PGresult **res = xcalloc((size_t)n + 4, sizeof *res);
	int rc = 0;

	snprintf(tbuf, sizeof tbuf, "%d", timeout_ms);
	for (int i = 0; i < n; i++) {
		memset(&runs[i].hits, 0, sizeof runs[i].hits);
		runs[i].failed = false;
		runs[i].err = NULL;
		rule_stmt_name(runs[i].r, name);
		/* prepared outside the pipeline: a rule whose SQL the server
		 * refuses fails alone, with the server's reason */
		if (prepare_once(c, name, runs[i].r->compiled_delta, runs[i].r->nvalues, &runs[i].err) < 0) {
			if (!db_ok(c)) {
				rc = -1;
				goto out;
			}
			runs[i].failed = done[i] = true;
			runs[i].hits.started_us = now_real_us();
		}
	}
	if (prepare_once(c, "qf_delta_check", delta_check_sql, 2, &err) < 0) {
		for (int i = 0; i < n; i++)
			if (!done[i]) {
				runs[i].failed = done[i] = true;
				runs[i].err = xstrdup(err);
				runs[i].hits.started_us = now_real_us();
			}
		rc = db_ok(c) ? 0 : -1;
		goto out;
	}

	/* Rounds: all rules in one READ ONLY, REPEATABLE READ transaction and
	 * one snapshot. A statement that fails aborts the rest of the round;
	 * those rules are read again in the next, so each round ends at least
	 * one rule and a broken rule costs the others one round trip. */
	for (;;) {
		int m = 0;
		for (int i = 0; i < n; i++)
			if (!done[i])
				idx[m++] = i;
		if (!m)
			break;
		struct buf cj;
		buf_init(&cj);
		buf_puts(&cj, "[");
		for (int k = 0; k < m; k++) {
			const struct delta_run *dr = &runs[idx[k]];
			buf_printf(&cj, "%s{\"i\":%d,\"id\":", k ? "," : "", k);
			json_t *id = json_string(dr->r->id);
			char *t = json_dumps(id, JSON_ENCODE_ANY);
			buf_puts(&cj, t);
			free(t);
			json_decref(id);
			buf_puts(&cj, ",\"deps\":[");
			for (int j = 0; j < dr->r->deps.n; j++) /* identifiers: no quoting needed */
				buf_printf(&cj, "%s\"%s\"", j ? "," : "", dr->r->deps.v[j]);
			buf_printf(&cj, "],\"cursor\":\"%s\",\"lock\":%s}", dr->cursor,
				   lock && !held[idx[k]] ? "true" : "false");
		}
		buf_puts(&cj, "]");
		const char *cp[2] = {cj.data, tbuf};

		bool sent = PQenterPipelineMode(c);
		sent = sent && PQsendQueryParams(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL,
						 NULL, NULL, 0);
		sent = sent && send_stmt(c, "qf_delta_check", delta_check_sql, 2, cp);
		for (int k = 0; k < m && sent; k++) {
			const struct delta_run *dr = &runs[idx[k]];
			const char **values = rule_bind_values(dr->r, now, "-infinity", dr->cursor, true);
			rule_stmt_name(dr->r, name);
			sent = send_stmt(c, name, dr->r->compiled_delta, dr->r->nvalues, values);
			free(values);
		}
		sent = sent && PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) && PQpipelineSync(c);
		buf_free(&cj);
		if (!sent) {
			rc = pipe_lost(c, "cannot send the evaluation pipeline");
			goto out;
		}
		/* BEGIN, check, m statements, COMMIT, sync */
		for (int k = 0; k < m + 4; k++) {
			res[k] = pipe_next(c);
			if (!res[k]) {
				rc = pipe_lost(c, "evaluation pipeline");
				goto out;
			}
		}
		if (PQresultStatus(res[m + 3]) != PGRES_PIPELINE_SYNC || !pipe_exit(c)) {
			rc = pipe_lost(c, "evaluation pipeline");
			goto out;
		}
		PGresult *chk = res[1];
		for (int k = 0; k < m; k++) /* the server's clock, below, once it answered */
			runs[idx[k]].hits.started_us = now_real_us();
		if (PQresultStatus(res[0]) != PGRES_COMMAND_OK || PQresultStatus(chk) != PGRES_TUPLES_OK ||
		    PQntuples(chk) != m) {
			/* not one rule could be looked at */
			char *why = result_error(c, PQresultStatus(res[0]) != PGRES_COMMAND_OK ? res[0] : chk);
			for (int k = 0; k < m; k++) {
				runs[idx[k]].failed = done[idx[k]] = true;
				runs[idx[k]].err = xstrdup(why);
				runs[idx[k]].hits.locked = held[idx[k]];
			}
			free(why);
		} else {
			for (int k = 0; k < m; k++) {
				int i = idx[k];
				struct rule_hits *h = &runs[i].hits;
				PGresult *sr = res[2 + k];
				const char *lk = PQgetisnull(chk, k, 1) ? NULL : PQgetvalue(chk, k, 1);
				bool changed = PQgetvalue(chk, k, 0)[0] == 't';

				if (lk && lk[0] == 't')
					held[i] = true;
				snprintf(h->xmin, sizeof h->xmin, "%s", PQgetvalue(chk, k, 2));
				h->started_us = strtoll(PQgetvalue(chk, k, 4), NULL, 10);
				h->locked = held[i];
				if (lk && lk[0] == 'f') { /* another daemon has it */
					h->skipped = h->busy = true;
					done[i] = true;
				} else if (!changed) {
					h->skipped = true;
					done[i] = true;
				} else if (PQresultStatus(sr) == PGRES_TUPLES_OK) {
					h->res = sr;
					h->delta = true;
					res[2 + k] = NULL; /* now the caller's */
					done[i] = true;
				} else if (PQresultStatus(sr) != PGRES_PIPELINE_ABORTED) {
					runs[i].err = res_error(c, sr);
					runs[i].failed = done[i] = true;
				}
			}
		}
		for (int k = 0; k < m + 4; k++) {
			PQclear(res[k]);
			res[k] = NULL;
		}
		/* a failed statement left the transaction aborted */
		if (PQtransactionStatus(c) != PQTRANS_IDLE)
			rollback(c);
		if (!db_ok(c)) {
			rc = -1;
			goto out;
		}
	}
out:
	for (int k = 0; k < n + 4; k++)
		PQclear(res[k]);
	free(res);
	free(idx);
	free(held);
	free(done);
	free(err);
	return rc;
}

static const char unlock_sql[] =
	"SELECT pg_advisory_unlock(hashtextextended('qingfeng rule ' || id, 0))"
	"  FROM jsonb_array_elements_text($1::jsonb) AS id";

int db_record_batch(PGconn *c, struct record_run *w, int n, const char *quiet_json, char **tail_err,
		    const char *advance_json, const char *unlock_json, struct claim_req *claim)
{
	char *err = NULL;
	const char *tail_sql[3] = {quiet_runs_sql, advance_sql, unlock_sql};
	const char *tail_name[3] = {"qf_quiet_runs", "qf_advance", "qf_unlock"};
	const char *tail_json[3] = {quiet_json, advance_json, unlock_json};

	for (int i = 0; i < n; i++)
		w[i].err = NULL;
	if (claim)
		claim->res = NULL;
	if (!n && !quiet_json && !advance_json && !unlock_json)
		return 0;
	if (c == broken_conn)
		return -1;
	if (n && prepare_once(c, "qf_record_hits", record_hits_sql, 13, &err) < 0)
		goto prepare_failed;
	for (int t = 0; t < 3; t++)
		if (tail_json[t] && prepare_once(c, tail_name[t], tail_sql[t], 1, &err) < 0)
			goto prepare_failed;
	if (claim && prepare_once(c, "qf_claim", claim_sql, 5, &err) < 0) {
		log_err("cannot claim alerts: %s", err); /* the loop claims them later */
		free(err);
		err = NULL;
		claim = NULL;
	}
	char lim[16], lease[16], age[16];
	const char *cv[5];
	if (claim)
		claim_values(claim, lim, lease, age, cv);

	/* each rule run one statement and its own transaction (a sync after
	 * each), so one that fails takes no other down with it; the locks are
	 * released last, after every finding they guarded is written */
	bool sent = PQenterPipelineMode(c);
	for (int i = 0; i < n && sent; i++) {
		struct record_values rv;
		record_values_init(&rv, w[i].r, w[i].hits_json, w[i].started_us, w[i].scanned, w[i].cursor,
				   w[i].clock_ran);
		sent = send_stmt(c, "qf_record_hits", record_hits_sql, 13, rv.v) && PQpipelineSync(c);
		record_values_free(&rv);
	}
	/* the claim sees the alerts just committed; the bookkeeping comes last */
	if (sent && claim)
		sent = send_stmt(c, "qf_claim", claim_sql, 5, cv) && PQpipelineSync(c);
	for (int t = 0; t < 3 && sent; t++)
		if (tail_json[t])
			sent = send_stmt(c, tail_name[t], tail_sql[t], 1, &tail_json[t]) &&
			       PQpipelineSync(c);
	if (!sent)
		return pipe_lost(c, "cannot send the findings pipeline");
	for (int i = 0; i < n + 4; i++) {
		if (i == n && !claim)
			continue;
		if (i > n && !tail_json[i - n - 1])
			continue;
		PGresult *r = pipe_next(c), *sync = r ? pipe_next(c) : NULL;
		if (!r || !sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
			PQclear(r);
			PQclear(sync);
			if (claim) {
				PQclear(claim->res);
				claim->res = NULL;
			}
			return pipe_lost(c, "findings pipeline");
		}
		PQclear(sync);
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
		if (i == n) {
			if (ok) {
				claim->res = r;
				continue;
			}
			char *e = result_error(c, r);
			log_err("cannot claim alerts: %s", e);
			free(e);
		} else if (i < n) {
			if (ok)
				record_counts(r, &w[i].created, &w[i].retriggered, &w[i].alerts);
			else
				w[i].err = result_error(c, r);
		} else if (!ok) {
			static const char *what[3] = {"rule runs", "rule cursors", "rule locks"};
			char *e = result_error(c, r);
			if (tail_err && !*tail_err) {
				struct buf why;
				buf_init(&why);
				buf_printf(&why, "%s: %s", what[i - n - 1], e);
				*tail_err = buf_steal(&why);
			} else {
				log_warn("cannot record the %s: %s", what[i - n - 1], e);
			}
			free(e);
		}
		PQclear(r);
	}
	if (!pipe_exit(c)) {
		if (claim) {
			PQclear(claim->res);
			claim->res = NULL;
		}
		return pipe_lost(c, "findings pipeline");
	}
	return 0;

prepare_failed:
	if (!db_ok(c)) {
		free(err);
		return -1;
	}
	/* nothing is written (the rules are read again next pass), but the
	 * locks must not outlive the pass */
	if (unlock_json)
		PQclear(x_params(c, unlock_sql, 1, &unlock_json));
	for (int i = 0; i < n; i++)
		w[i].err = xstrdup(err);
	if (tail_err && (quiet_json || advance_json || unlock_json))
		*tail_err = err;
	else
		free(err);
	return 0;
}
