/* qingfengd: applies the "423" rules to the records in PostgreSQL, records
 * findings and delivers alerts. Foreground process, logs to stderr,
 * systemd Type=notify (qingfengd(8)). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "db_disposal.h"
#include "db_outbox.h"
#include "db_record.h"
#include "deliver.h"
#include "eval.h"
#include "lane.h"
#include "log.h"
#include "metrics.h"
#include "route.h"
#include "trust.h"
#include "rule.h"

#define EX_OK_ 0
#define EX_USAGE_ 64
#define EX_UNAVAILABLE_ 69
#define EX_SOFTWARE_ 70
#define EX_TEMPFAIL_ 75

static volatile sig_atomic_t stop_requested, reload_requested;
/* --clock: how far the rules' clock is set from the real one (µs) */
static int64_t clock_offset_us;
static bool clock_set;
static int wake_pipe[2] = {-1, -1};

/* handlers only set flags and wake the poll (STYLE.md §3) */
static void on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], "x", 1);
	errno = saved;
}

static int setup_signals(void)
{
	struct sigaction sa;

	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: qingfengd [-c FILE] [-n | --once] [-v]\n"
		   "  -c, --config FILE  configuration (default /etc/qingfeng/qingfeng.conf)\n"
		   "  -n, --check        check the configuration and rules, then exit (0 or 78)\n"
		   "      --once         run one evaluation and delivery pass, then exit\n"
		   "      --incremental  with --once: only rules whose tables changed since their cursor\n"
		   "      --clock TIME   the rules' clock starts at TIME (YYYY-MM-DD[ HH:MM[:SS]][Z|+HH:MM],\n"
		   "                     local time in the configured time zone) and runs on: replays, demos\n"
		   "  -v, --verbose      log debug messages\n"
		   "  -V, --version      print the version\n"
		   "  -h, --help         this text\n");
}

/* --clock's TIME: YYYY-MM-DD[(T| )HH:MM[:SS]][Z|(+|-)HH[:MM]], local time
 * (TZ, the configured time zone) when no offset is given. Seconds since
 * the epoch, or -1. */
static int64_t parse_clock(const char *s)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, oh = 0, om = 0;
	struct tm tm;
	char sign = 0;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
		return -1;
	s += n;
	if (*s == 'T' || *s == ' ') {
		n = 0;
		if (sscanf(s + 1, "%2d:%2d%n", &h, &mi, &n) != 2)
			return -1;
		s += 1 + n;
		if (*s == ':') {
			n = 0;
			if (sscanf(s + 1, "%2d%n", &sec, &n) != 1)
				return -1;
			s += 1 + n;
		}
	}
	if (*s == 'Z') {
		sign = '+';
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s;
		n = 0;
		if (sscanf(s + 1, "%2d%n", &oh, &n) != 1)
			return -1;
		s += 1 + n;
		if (*s == ':' && sscanf(s + 1, "%2d%n", &om, &n) == 1)
			s += 1 + n;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || oh > 14 || om > 59)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (!sign) {
		tm.tm_isdst = -1;
		return (int64_t)mktime(&tm);
	}
	int64_t off = ((int64_t)oh * 3600 + om * 60) * (sign == '-' ? -1 : 1);
	return (int64_t)timegm(&tm) - off;
}

/* Loads config and rules; NULL after printing every problem. */
static struct qf_config *load_all(const char *path, struct qf_ruleset *set, struct diag *d)
{
	struct qf_config *cfg = config_load(path, d);

	memset(set, 0, sizeof *set);
	if (!cfg)
		return NULL;
	if (ruleset_load(set, cfg->rules_dir, cfg, d) < 0) {
		ruleset_free(set);
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Has PostgreSQL parse and plan each rule's statements (the full one and
 * the incremental one), so a wrong column is reported with the rule's id
 * and file:line before the rules are used: by -n, and by a reload before
 * it swaps the rule set. -1 with every problem in d (a connection lost on
 * the way is one, against cfg_path: not every rule was checked). */
static int check_rules_against(struct db_session *c, const struct qf_ruleset *set, const char *cfg_path,
			       struct diag *d)
{
	int before = d->errors;

	for (int i = 0; i < set->n && db_ok(c); i++) {
		const struct qf_rule *r = &set->rules[i];
		char *err = NULL;
		if (db_check_sql(c, r->compiled, r->nvalues_full, &err) == 0 && r->compiled_delta)
			(void)!db_check_sql(c, r->compiled_delta, r->nvalues, &err);
		if (err)
			diag_error(d, r->file, r->where_line ? r->where_line : r->line, "rule %s: %s", r->id, err);
		free(err);
	}
	if (!db_ok(c))
		diag_error(d, cfg_path, 0, "lost the database while checking the rules' SQL");
	return d->errors > before ? -1 : 0;
}

/* -n: when the database is reachable, the rules' SQL is checked against it */
static int check_rules_sql(const struct qf_config *cfg, const struct qf_ruleset *set, struct diag *d)
{
	struct db_session *c = db_connect(cfg->conninfo, "qingfengd -n", cfg->timezone, 3);

	if (!c) {
		fprintf(stderr, "qingfengd: note: database not reachable, rule SQL not checked against it\n");
		return 0;
	}
	int rc = check_rules_against(c, set, cfg->path, d);
	db_close(&c);
	return rc;
}

/* The settings the database's disposal functions enforce (qf.setting),
 * from the configuration and the clock: at every connect and reload. */
static int sync_settings(struct db_session *c, const struct qf_config *cfg)
{
	char *err = NULL, *missing = NULL;
	if (db_disposal_sync(c, cfg, clock_set ? clock_offset_us : 0, &missing, &err) < 0) {
		log_err("cannot write the disposal settings (qf.setting): %s", err ? err : "failed");
		free(err);
		return -1;
	}
	if (missing)
		log_warn("%s: disposal.owners names role(s) that do not exist: %s; their findings can be signed for"
			 " by a qf_admin only until the role is created",
			 cfg->path, missing);
	free(missing);
	return 0;
}

/* The engine's session: prepared (the daemon) or not (a one-off pass).
 * NULL with *f saying why (f->text empty: what failed logged it). */
static struct db_session *connect_checked(const struct qf_config *cfg, bool prepared, struct db_failure *f)
{
	struct db_session *c = db_try_connect(cfg->conninfo, "qingfengd", cfg->timezone, cfg->connect_timeout_s, f);

	if (c)
		db_use_prepared(c, prepared);
	if (c && (db_check_schema(c) < 0 || db_engine_session(c) < 0 || sync_settings(c, cfg) < 0)) {
		db_close(&c);
		f->kind = DB_UNREACHABLE;
		f->text[0] = '\0';
	}
	return c;
}

static int run_once(struct qf_config *cfg, struct qf_ruleset *set, bool incremental)
{
	struct eval_totals t;
	char nowbuf[40];
	struct eval_opts o = {.incremental = incremental};
	if (clock_set) {
		eval_now_text(nowbuf, clock_offset_us);
		o.now = nowbuf;
	}
	/* each statement runs once: preparing it is a round trip for nothing */
	struct db_failure f;
	struct db_session *c = connect_checked(cfg, false, &f);
	int rc = EX_OK_;

	if (!c) {
		if (f.text[0])
			log_err("database: %s", f.text);
		return EX_UNAVAILABLE_;
	}
	trust_once(c, cfg, set);
	int64_t t0 = now_real_us();
	if (eval_all(c, cfg, set, &o, &t) < 0) {
		log_err("lost the database during evaluation");
		db_close(&c);
		return EX_TEMPFAIL_;
	}
	log_info("evaluated %ld rule(s) in %.1f ms (%ld unchanged, %ld on changed rows only): %ld failed, %ld new and %ld"
		 " re-triggered finding(s), %ld escalated, %ld alert(s) queued",
		 t.rules, (double)(now_real_us() - t0) / 1000.0, t.skipped, t.delta, t.failed, t.created, t.retriggered,
		 t.escalated, t.alerts);
	struct deliverer *d = deliver_new(cfg);
	int pending = deliver_once(d, c, cfg->once_deadline_s);
	if (pending < 0) {
		log_err("lost the database during delivery; undelivered alerts stay queued");
		rc = EX_TEMPFAIL_;
	} else if (pending > 0) {
		log_warn("%d alert(s) still pending after this pass; a later run delivers them", pending);
	}
	deliver_free(d);
	db_close(&c);
	return rc;
}


/* The loop's timers, in the spirit of Redis's ae: each a deadline on the
 * monotonic clock (ms), 0 for "now", TIMER_OFF for never; the loop acts
 * on those that are due, and its poll waits for the nearest one that
 * would have it do something (next_deadline). */
enum timer {
	/* a pass: at once on a notification, otherwise with the timed pass */
	T_EVAL,
	/* a timed pass (every evaluation.interval, and after a connect or a
	 * reload): it asks the database what changed, where a pass on a
	 * notification reads the rules of the tables it names */
	T_TIMED,
	/* the clock work (escalation, reminders, notices) and pruning, every
	 * evaluation.interval, with the pass then due */
	T_HOUSEKEEPING,
	/* the next attempt to connect, backing off */
	T_CONNECT,
	/* the database gauges of /metrics, every 5 s */
	T_REFRESH,
	/* WATCHDOG=1, every WatchdogSec / 2 */
	T_WATCHDOG,
	T_NTIMERS
};
#define TIMER_OFF INT64_MAX
#define REFRESH_MS 5000
/* delivered alerts are recorded together, at most this long after the
 * first answer (deliver_defer_records): at 200 alerts a second, one
 * statement for ten instead of ten on the session every pass waits for */
#define DELIVERED_DEFER_MS 50

/* The daemon between two turns of its loop. */
struct daemon {
	const char *path; /* the configuration, read again on SIGHUP */
	bool verbose;	  /* -v outlives a reload */
	struct qf_config *cfg;
	struct qf_ruleset *set;
	/* cfg and set, shared with the lanes until the last lets go */
	struct lane_gen *gen;
	/* the bulk and rest lanes (lane.h); this loop is the live lane */
	struct lanes *lanes;
	struct deliverer *d;
	struct db_session *c; /* NULL, or a session that may have been lost */
	struct metrics *m;    /* NULL without metrics_listen */
	int64_t at[T_NTIMERS];
	int64_t watchdog_ms; /* 0: no watchdog */
	int64_t connect_backoff;
	bool ever_connected;
	/* the last failure to connect, logged once however often it repeats
	 * (a pooler that refuses every session, a server down for an hour) */
	struct db_failure last_fail;
	bool failing;
	long fail_repeats;
	/* tables notified since the last pass */
	struct strlist notified;
	long findings, alerts; /* since start, for STATUS= */
	/* the configured receivers' names, and whether the alerts of other
	 * receivers are still to be counted for the log (at start and after
	 * each reload, once connected) */
	const char **rcv_names;
	bool check_orphans;
	struct trust *trust; /* control events and chain anchors (trust.h) */
};

static bool timer_due(const struct daemon *dm, enum timer t, int64_t now)
{
	return now >= dm->at[t];
}

static void timer_in(struct daemon *dm, enum timer t, int64_t ms)
{
	dm->at[t] = now_mono_ms() + ms;
}

/* Whether timer t, once due, has the loop do something now. The others
 * are looked at when something else happens (a pass reads T_TIMED and
 * T_HOUSEKEEPING) and must not wake the poll for nothing; T_CONNECT is
 * looked at once a second (the poll's longest wait), so a session just
 * lost is replaced a second later, not at once. */
static bool timer_wakes(const struct daemon *dm, enum timer t)
{
	switch (t) {
	case T_EVAL:
		return db_ok(dm->c);
	case T_REFRESH:
		return db_ok(dm->c) && dm->m;
	case T_WATCHDOG:
		return dm->watchdog_ms > 0;
	default:
		return false;
	}
}

/* ms until the nearest timer that wakes the loop (0: one is due), at
 * most cap: the poll's timeout */
static int64_t next_deadline(const struct daemon *dm, int64_t now, int64_t cap)
{
	int64_t wait = cap;

	for (int t = 0; t < T_NTIMERS; t++)
		if (timer_wakes(dm, (enum timer)t) && dm->at[t] - now < wait)
			wait = dm->at[t] - now;
	return wait > 0 ? wait : 0;
}

/* systemd's watchdog: WATCHDOG=1 at half of WatchdogSec, from the loop,
 * between rules and, while a statement runs, from the session's wait for
 * its answer (db_set_waiter). So WatchdogSec (30 s in the shipped unit)
 * and statement_timeout (60 s by default) do not constrain each other:
 * the watchdog says whether the loop still turns, whatever the length of
 * a statement. What a statement may hang on, a server that no longer
 * answers, the daemon catches itself (waiter_silent_ms). Returns the ms
 * until the next one is due, or -1 without a watchdog. */
static int64_t watchdog_tick(struct daemon *dm)
{
	int64_t now = now_mono_ms();
	if (!dm->watchdog_ms)
		return -1;
	if (timer_due(dm, T_WATCHDOG, now)) {
		sd_notify(0, "WATCHDOG=1");
		dm->at[T_WATCHDOG] = now + dm->watchdog_ms;
	}
	return dm->at[T_WATCHDOG] - now;
}

static int64_t wait_tick(void *arg)
{
	return watchdog_tick(arg);
}

/* A server that sends nothing for this long while a statement runs is
 * taken as hung, and the connection given up. A rule's statement is cut
 * by the server at statement_timeout; the daemon's writes are not, and a
 * large one (a backfill's findings) may take as long as the read that
 * found them: twice statement_timeout, and 5 s for the answer to travel. */
static int waiter_silent_ms(const struct qf_config *cfg)
{
	return 2 * cfg->statement_timeout_ms + 5000;
}

static void set_waiter(struct daemon *dm)
{
	struct db_waiter w = {
		.tick = wait_tick, .arg = dm, .stop = &stop_requested, .silent_ms = waiter_silent_ms(dm->cfg)};
	db_set_waiter(&w);
}

/* Pending alerts for receivers the configuration does not name (renamed,
 * removed) wait for ever and nothing else would say so: logged at start
 * and after each reload. */
static void log_orphans(struct db_session *c, const struct qf_config *cfg, const char *const *receivers)
{
	char *err = NULL;
	struct orphans o;

	if (db_orphaned_alerts(c, receivers, cfg->nreceivers, &o, &err) < 0) {
		log_warn("cannot count the alerts of unknown receivers: %s", err ? err : "failed");
		free(err);
		return;
	}
	for (int i = 0; i < o.n; i++)
		log_warn("receiver '%s' is not in the configuration: %ld pending alert(s) wait for it until a receiver"
			 " of that name is configured (qfctl alerts)",
			 o.v[i].receiver, o.v[i].count);
	orphans_clear(&o);
}

static void on_rule(void *arg, const char *rule_id, double seconds, bool failed, bool skipped)
{
	struct daemon *dm = arg;
	if (!skipped)
		log_debug("rule %s: %.2f ms%s", rule_id, seconds * 1000, failed ? " (failed)" : "");
	metrics_rule(dm->m, rule_id, seconds, failed, skipped);
	watchdog_tick(dm);
}

static void on_delivery(void *arg, const char *receiver, enum deliver_outcome o, int n)
{
	struct daemon *dm = arg;
	metrics_delivery(dm->m, receiver, o == DELIVER_OK ? "delivered" : o == DELIVER_DEAD ? "dead" : "retry", n);
}

static void notify_reloading(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
}

/* SIGHUP: parse and check the files into a fresh configuration and rule
 * set, then swap; on any problem keep the running ones and say why. */
static void daemon_reload(struct daemon *dm)
{
	struct qf_ruleset nset;
	struct diag dg;

	reload_requested = 0;
	diag_init(&dg);
	notify_reloading();
	struct qf_config *ncfg = load_all(dm->path, &nset, &dg);
	/* a rule PostgreSQL refuses (a wrong column) must not replace one
	 * that works: checked before the swap, as -n does */
	if (ncfg && db_ok(dm->c) && check_rules_against(dm->c, &nset, dm->path, &dg) < 0) {
		ruleset_free(&nset);
		config_free(ncfg);
		ncfg = NULL;
	} else if (ncfg && !db_ok(dm->c)) {
		log_notice("reload: the database is not connected; the rules' SQL is checked when they run");
	}
	if (!ncfg) {
		diag_log(&dg);
		log_err("reload failed: keeping the running configuration and rules");
		sd_notify(0, "READY=1\nSTATUS=reload failed, running the previous configuration");
		diag_free(&dg);
		return;
	}
	diag_free(&dg);
	/* the lanes keep the old generation until their pass ends */
	struct lane_gen *old = dm->gen;
	dm->gen = lane_gen_new(ncfg, &nset);
	dm->cfg = lane_gen_cfg(dm->gen);
	dm->set = lane_gen_set(dm->gen);
	if (!dm->verbose) /* -v outlives a reload */
		log_set_level(dm->cfg->log_level);
	setenv("TZ", dm->cfg->timezone, 1);
	tzset();
	deliver_set_config(dm->d, dm->cfg);
	if (db_ok(dm->c))
		(void)sync_settings(dm->c, dm->cfg); /* logged; the next connect tries again */
	for (int i = 0; i < dm->cfg->nreceivers; i++)
		metrics_receiver(dm->m, dm->cfg->receivers[i].name);
	free(dm->rcv_names);
	dm->rcv_names = route_receiver_names(dm->cfg);
	dm->check_orphans = true;
	dm->at[T_REFRESH] = 0; /* the orphaned alerts' gauge follows the receivers */
	set_waiter(dm);
	dm->at[T_EVAL] = dm->at[T_TIMED] = 0;
	trust_reloaded(dm->trust, dm->c, dm->cfg, dm->set);
	lanes_publish(dm->lanes, dm->gen);
	lane_gen_put(old);
	log_notice("reloaded: %d rule(s), %d receiver(s)", dm->set->n, dm->cfg->nreceivers);
	sd_notify(0, "READY=1");
}

/* A failed attempt to have a session: the next one backs off (1 s,
 * doubling up to 30 s), and is counted by reason. A reason is logged when
 * it first appears (unless logged is set: the session said it already);
 * the same one again only at debug, so a pooler that refuses every
 * session, or a server down for an hour, is a line in the log, not one a
 * second. A refusal shows in /healthz and qingfeng_db_refused until a
 * session is accepted. */
static void connect_failed(struct daemon *dm, int64_t now, const struct db_failure *f, bool logged)
{
	bool again = dm->failing && dm->last_fail.kind == f->kind && !strcmp(dm->last_fail.text, f->text);

	dm->at[T_CONNECT] = now + dm->connect_backoff;
	dm->connect_backoff = dm->connect_backoff * 2 > 30000 ? 30000 : dm->connect_backoff * 2;
	metrics_db_failed(dm->m, f->kind);
	if (again) {
		dm->fail_repeats++;
		log_debug("database: %s (again, %ld times since it was logged)", f->text, dm->fail_repeats);
	} else {
		if (f->text[0] && !logged)
			log_err("database: %s", f->text);
		dm->last_fail = *f;
		dm->failing = true;
		dm->fail_repeats = 0;
	}
	if (f->kind == DB_UNREACHABLE)
		sd_notify(0, "STATUS=waiting for the database");
	else
		sd_notifyf(0, "STATUS=refusing the database session (%s); retrying", db_refusal_name(f->kind));
}

/* Before the live lane's first pass passes over an import: the bulk
 * lane's cursors of the match rules that have none yet (db_record.h). */
static void bulk_cursors(struct daemon *dm)
{
	const char **ids = xcalloc((size_t)dm->set->n + 1, sizeof *ids);
	int n = 0;
	for (int i = 0; i < dm->set->n; i++)
		if (dm->set->rules[i].enabled && lane_wants(LANE_BULK, &dm->set->rules[i]))
			ids[n++] = dm->set->rules[i].id;
	if (n)
		db_bulk_cursors_init(dm->c, ids, n);
	free(ids);
}

/* A new session when the last one is gone (backing off while the
 * database is away or refused); what belonged to the old one (its locks,
 * cursors, deferred bookkeeping) goes with it. */
static void daemon_connect(struct daemon *dm, int64_t now)
{
	struct db_failure f;

	/* a session given up as refused (a pooler took its prepared
	 * statements) backs off like a refused connect */
	if (db_refused(dm->c, &f)) {
		db_close(&dm->c);
		connect_failed(dm, now, &f, true);
		metrics_db(dm->m, false);
		return;
	}
	db_close(&dm->c);
	dm->c = connect_checked(dm->cfg, true, &f);
	if (!dm->c) {
		connect_failed(dm, now, &f, false);
	} else if (db_listen(dm->c) < 0) {
		db_close(&dm->c);
		dm->at[T_CONNECT] = now + dm->connect_backoff;
	} else {
		char where[300];
		dm->connect_backoff = 1000;
		if (dm->lanes)
			bulk_cursors(dm);
		deliver_wake(dm->d);
		dm->at[T_EVAL] = dm->at[T_TIMED] = 0; /* catch up on what changed while away */
		dm->at[T_REFRESH] = 0;
		if (dm->ever_connected)
			metrics_reconnect(dm->m);
		dm->ever_connected = true;
		/* after a failover, which server of the conninfo's list we are on */
		db_where(dm->c, where, sizeof where);
		if (dm->failing && dm->fail_repeats)
			log_notice("connected to the database (%s), after %ld more failed attempt(s)", where,
				   dm->fail_repeats);
		else
			log_notice("connected to the database (%s)", where);
		dm->failing = false;
		trust_connected(dm->trust, dm->c);
	}
	metrics_db(dm->m, db_ok(dm->c));
}

/* A pass: on a notification it evaluates the rules of the tables named;
 * the clock work (escalation, reminders, notices, pruning) runs every
 * evaluation.interval. The alerts it queued are claimed with its writes
 * and go out at once. */
static void daemon_pass(struct daemon *dm)
{
	const struct qf_config *cfg = dm->cfg;
	int64_t interval = (int64_t)cfg->eval_interval_s * 1000;
	struct eval_totals t;
	/* the clock work is the rest lane's */
	bool hk = !dm->lanes && timer_due(dm, T_HOUSEKEEPING, now_mono_ms());
	bool timed = timer_due(dm, T_TIMED, now_mono_ms()) || !dm->notified.n;
	struct claim_req cq;
	char nowbuf[40];

	if (clock_set)
		eval_now_text(nowbuf, clock_offset_us);
	struct eval_opts eo = {.lane = dm->lanes ? LANE_LIVE : LANE_ALL,
			       .lane_keys = LANE_LIVE_KEYS,
			       .now = clock_set ? nowbuf : NULL,
			       .incremental = true,
			       .lock = true,
			       .on_rule = on_rule,
			       .arg = dm,
			       .no_housekeeping = !hk,
			       .defer_tail = true,
			       .notified = timed ? NULL : &dm->notified,
			       .claim = deliver_claim_req(dm->d, &cq) ? &cq : NULL};
	if (hk)
		timer_in(dm, T_HOUSEKEEPING, interval);
	if (timed)
		timer_in(dm, T_TIMED, interval);
	int rc_eval = eval_all(dm->c, cfg, dm->set, &eo, &t);
	strlist_free(&dm->notified);
	if (rc_eval < 0 && stop_requested) {
		/* cancelled (the session's waiter): nothing of the pass was
		 * kept, its rules are read again at the next start */
		claimed_alerts_free(cq.claimed);
		log_notice("stopping: the pass was cancelled; its rules are read again at the next start");
	} else if (rc_eval < 0) {
		/* what it claimed stays leased to us and is retried when the lease ends */
		claimed_alerts_free(cq.claimed);
		log_err("lost the database during evaluation; reconnecting");
		/* the findings whose writes were answered before the loss are
		 * committed, and no later pass creates them again */
		metrics_pass(dm->m, t.created, t.alerts);
		dm->findings += t.created;
		dm->alerts += t.alerts;
	} else {
		if (cq.claimed) /* what the pass claimed goes out now */
			deliver_start_claimed(dm->d, dm->c, cq.claimed);
		/* the clock work may have queued reminders and notices too */
		if ((t.alerts && !t.claimed) || hk)
			deliver_wake(dm->d);
		metrics_pass(dm->m, t.created, t.alerts);
		dm->findings += t.created;
		dm->alerts += t.alerts;
		sd_notifyf(0, "STATUS=%d rule(s), %d receiver(s); since start %ld new finding(s), %ld alert(s);"
			      " %d delivery(ies) in flight",
			   dm->set->n, cfg->nreceivers, dm->findings, dm->alerts, deliver_inflight(dm->d));
	}
	dm->at[T_EVAL] = dm->at[T_TIMED];
}

/* The rest of a turn, connected: the log of orphaned alerts, the gauges,
 * claims, the pass's bookkeeping once its alerts are on their way, the
 * answers that came. */
static void daemon_work(struct daemon *dm)
{
	struct db_session *c = dm->c;

	if (db_ok(c) && dm->check_orphans) {
		log_orphans(c, dm->cfg, dm->rcv_names);
		dm->check_orphans = false;
	}
	if (db_ok(c) && timer_due(dm, T_REFRESH, now_mono_ms())) {
		metrics_refresh(dm->m, c, dm->rcv_names, dm->cfg->nreceivers);
		timer_in(dm, T_REFRESH, REFRESH_MS);
	}
	metrics_db(dm->m, db_ok(c));
	watchdog_tick(dm);
	if (db_ok(c)) {
		char nowbuf[40] = "";
		if (clock_set) /* the anchor states the --clock's time */
			eval_now_text(nowbuf, clock_offset_us);
		if (trust_tick(dm->trust, c, clock_set ? nowbuf : NULL))
			deliver_wake(dm->d);
	}
	if (db_ok(c) && deliver_claim_due(dm->d) && deliver_fill(dm->d, c) < 0)
		log_err("cannot claim alerts; retrying");
	/* the pass's bookkeeping, once its alerts are on their way */
	if (db_ok(c) && eval_flush(c) < 0)
		log_err("lost the database while recording the pass; reconnecting");
	/* outcomes are recorded here, after a pass rather than before it:
	 * a commit notified together with an answer is evaluated first */
	if (db_ok(c) && (deliver_inflight(dm->d) || deliver_unrecorded(dm->d)) && deliver_reap(dm->d, c, true) < 0)
		log_err("cannot record delivery results; the alerts will be retried");
	/* a notification that arrived while a pass read its results is
	 * already in libpq's queue, not on the socket: poll would not wake */
	if (db_ok(c) && db_notified(c, &dm->notified))
		dm->at[T_EVAL] = 0;
}

/* One poll: signals, the database's notifications, transfers, timers. */
static void daemon_wait(struct daemon *dm)
{
	bool up = db_ok(dm->c);
	int64_t wait = next_deadline(dm, now_mono_ms(), 1000);
	char drain[64];

	if (up && deliver_wait_ms(dm->d) < wait)
		wait = deliver_wait_ms(dm->d);
	struct curl_waitfd wfd[2] = {{.fd = wake_pipe[0], .events = CURL_WAIT_POLLIN},
				     {.fd = up ? db_socket(dm->c) : -1, .events = CURL_WAIT_POLLIN}};
	deliver_wait(dm->d, wfd, up ? 2 : 1, (int)wait, up);
	while (read(wake_pipe[0], drain, sizeof drain) > 0)
		;
	if (lanes_alerts_queued(dm->lanes))
		deliver_wake(dm->d); /* a lane queued alerts: claim them now */
	if (db_ok(dm->c) && db_notified(dm->c, &dm->notified))
		dm->at[T_EVAL] = 0; /* a record committed: evaluate now */
}

/* Metrics, signals, the waiter, READY=1. An exit code, or -1 to go on. */
static int daemon_start(struct daemon *dm)
{
	uint64_t wd_usec = 0;
	const struct qf_config *cfg = dm->cfg;

	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0)
		dm->watchdog_ms = (int64_t)(wd_usec / 2000);
	if (cfg->metrics_listen && *cfg->metrics_listen) {
		char *err = NULL;
		dm->m = metrics_start(cfg->metrics_listen, &err);
		if (!dm->m) {
			log_err("metrics on %s: %s", cfg->metrics_listen, err);
			free(err);
			return EX_UNAVAILABLE_;
		}
		log_notice("metrics on %s (port %d): /metrics, /healthz", cfg->metrics_listen, metrics_port(dm->m));
		deliver_set_observer(dm->d, on_delivery, dm);
		for (int i = 0; i < cfg->nreceivers; i++)
			metrics_receiver(dm->m, cfg->receivers[i].name);
	}
	if (setup_signals() < 0) {
		log_err("cannot set up signals: %s", strerror(errno));
		return EX_SOFTWARE_;
	}
	set_waiter(dm);
	if (dm->watchdog_ms)
		log_info("watchdog: WATCHDOG=1 every %lld ms, also while a statement runs (statement_timeout %d ms); a"
			 " server silent for %d ms is given up",
			 (long long)dm->watchdog_ms, cfg->statement_timeout_ms, waiter_silent_ms(cfg));
	sd_notifyf(0, "READY=1\nSTATUS=%d rule(s), %d receiver(s); connecting to the database", dm->set->n,
		   cfg->nreceivers);
	log_notice("started: %d rule(s), %d receiver(s)", dm->set->n, cfg->nreceivers);
	return -1;
}

/* SIGTERM: the last bookkeeping, up to 10 s for the answers in flight. */
static void daemon_stop(struct daemon *dm)
{
	sd_notify(0, "STOPPING=1");
	lanes_stop(dm->lanes);
	dm->lanes = NULL;
	/* what is left is short (the last bookkeeping, recording answers in
	 * flight) and runs to its end, but a server that does not answer
	 * must not hold the stop up beyond systemd's TimeoutStopSec */
	struct db_waiter sw = {.tick = wait_tick, .arg = dm, .silent_ms = 5000};
	db_set_waiter(&sw);
	if (db_ok(dm->c) && eval_flush(dm->c) < 0)
		log_warn("could not record the last pass; its rules are read again next start");
	trust_stopped(dm->trust, dm->c);
	log_notice("stopping: waiting up to 10 s for %d delivery(ies) in flight", deliver_inflight(dm->d));
	int64_t until = now_mono_ms() + 10000;
	while (deliver_inflight(dm->d) && db_ok(dm->c) && now_mono_ms() < until) {
		deliver_wait(dm->d, NULL, 0, 200, true);
		if (deliver_reap(dm->d, dm->c, false) < 0) /* stopping: no new claims */
			break;
	}
	if (db_ok(dm->c) && deliver_record(dm->d, dm->c) < 0)
		log_warn("could not record the last deliveries; they are sent again next start");
	deliver_abort(dm->d, db_ok(dm->c) ? dm->c : NULL, "daemon stopped before the receiver answered");
}

static int run_daemon(const char *path, struct qf_config *cfg, struct qf_ruleset *set, bool verbose)
{
	struct daemon dm = {.path = path, .verbose = verbose, .connect_backoff = 1000, .check_orphans = true};
	int rc;

	dm.gen = lane_gen_new(cfg, set);
	dm.cfg = lane_gen_cfg(dm.gen);
	dm.set = lane_gen_set(dm.gen);

	/* every timer starts due (0): the connection, the first pass, the
	 * gauges and the first WATCHDOG=1 come at once */
	dm.d = deliver_new(cfg);
	deliver_defer_records(dm.d, DELIVERED_DEFER_MS);
	dm.rcv_names = route_receiver_names(cfg);
	dm.trust = trust_new(dm.cfg, dm.set); /* the generation owns the set now */
	rc = daemon_start(&dm);
	if (rc < 0) {
		/* the lanes' threads render JSON too: jansson's hash seed is set
		 * once, before them */
		json_object_seed(0);
		dm.lanes = lanes_start(dm.gen, dm.m, wake_pipe[1], clock_set, clock_offset_us);
		if (!dm.lanes)
			rc = EX_SOFTWARE_;
	}
	while (rc < 0 && !stop_requested) {
		int64_t now = now_mono_ms();

		if (reload_requested)
			daemon_reload(&dm);
		if (!db_ok(dm.c) && timer_due(&dm, T_CONNECT, now))
			daemon_connect(&dm, now);
		lanes_database(dm.lanes, db_ok(dm.c));
		if (db_ok(dm.c) && timer_due(&dm, T_EVAL, now))
			daemon_pass(&dm);
		daemon_work(&dm);
		daemon_wait(&dm);
	}
	if (rc < 0) {
		daemon_stop(&dm);
		rc = EX_OK_;
	}
	strlist_free(&dm.notified);
	lanes_stop(dm.lanes);
	deliver_free(dm.d);
	metrics_stop(dm.m);
	db_close(&dm.c);
	lane_gen_put(dm.gen);
	free(dm.rcv_names);
	trust_free(dm.trust);
	db_set_waiter(NULL);
	if (wake_pipe[0] >= 0) {
		close(wake_pipe[0]);
		close(wake_pipe[1]);
	}
	if (rc == EX_OK_)
		log_notice("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'n'},
		{"once", no_argument, NULL, 'o'},	  {"verbose", no_argument, NULL, 'v'},
		{"incremental", no_argument, NULL, 'i'}, {"clock", required_argument, NULL, 'C'},
		{"version", no_argument, NULL, 'V'},	  {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *path = "/etc/qingfeng/qingfeng.conf", *clock_arg = NULL;
	bool check = false, once = false, verbose = false, incremental = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:nvVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'o':
			once = true;
			break;
		case 'i':
			incremental = true;
			break;
		case 'C':
			clock_arg = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf("qingfengd %s (rule engine %d, schema %d)\n", QF_VERSION, QF_ENGINE_VERSION,
			       QF_SCHEMA_VERSION);
			return EX_OK_;
		case 'h':
			usage(stdout);
			return EX_OK_;
		default:
			usage(stderr);
			return EX_USAGE_;
		}
	}
	if (optind != argc || (check && once) || (incremental && !once)) {
		usage(stderr);
		return EX_USAGE_;
	}
	log_init("qingfengd", verbose ? QF_LOG_DEBUG : QF_LOG_INFO);
	/* before any secret is read (receiver secrets, URLs with tokens, the
	 * conninfo's password): no core dump of them, and no other process of
	 * our user may read our memory (/proc/PID/mem, environ, ptrace).
	 * systemd's LimitCORE=0 says the same for the service. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_warn("cannot turn core dumps off: %s", strerror(errno));

	struct qf_ruleset set;
	struct diag d;
	diag_init(&d);
	struct qf_config *cfg = load_all(path, &set, &d);
	if (!cfg) {
		diag_print(&d);
		diag_free(&d);
		return QF_EX_CONFIG;
	}
	if (!verbose)
		log_set_level(cfg->log_level);
	if (check) {
		int rc = check_rules_sql(cfg, &set, &d);
		diag_print(&d);
		diag_free(&d);
		ruleset_free(&set);
		config_free(cfg);
		if (rc < 0)
			return QF_EX_CONFIG;
		printf("configuration OK\n");
		return EX_OK_;
	}
	diag_free(&d);

	/* local time (maintenance windows) is the institute's, whatever the host's */
	setenv("TZ", cfg->timezone, 1);
	tzset();
	if (clock_arg) {
		int64_t at = parse_clock(clock_arg);
		if (at < 0) {
			fprintf(stderr, "qingfengd: --clock: '%s' is not a time (YYYY-MM-DD[ HH:MM[:SS]][Z|+HH:MM])\n",
				clock_arg);
			ruleset_free(&set);
			config_free(cfg);
			return EX_USAGE_;
		}
		clock_offset_us = at * 1000000 - now_real_us();
		clock_set = true;
		log_notice("the rules' clock starts at %s (%s)", clock_arg, cfg->timezone);
	}
	srandom((unsigned)(now_real_ms() ^ getpid()));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_err("cannot initialise libcurl");
		return EX_SOFTWARE_;
	}
	int rc;
	if (once) {
		rc = run_once(cfg, &set, incremental);
		ruleset_free(&set);
		config_free(cfg);
	} else {
		rc = run_daemon(path, cfg, &set, verbose); /* frees cfg and set */
	}
	curl_global_cleanup();
	return rc;
}
