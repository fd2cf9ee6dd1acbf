/* qingfengd: applies the "423" rules to the records in PostgreSQL, records
 * findings and delivers alerts. Foreground process, logs to stderr,
 * systemd Type=notify (qingfengd(8)). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "db_outbox.h"
#include "deliver.h"
#include "eval.h"
#include "log.h"
#include "metrics.h"
#include "route.h"
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

/* The engine's session: prepared (the daemon) or not (a one-off pass). */
static struct db_session *connect_checked(const struct qf_config *cfg, bool prepared)
{
	struct db_session *c = db_connect(cfg->conninfo, "qingfengd", cfg->timezone, cfg->connect_timeout_s);

	if (c)
		db_use_prepared(c, prepared);
	if (c && (db_check_schema(c) < 0 || db_engine_session(c) < 0))
		db_close(&c);
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
	struct db_session *c = connect_checked(cfg, false);
	int rc = EX_OK_;

	if (!c)
		return EX_UNAVAILABLE_;
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


/* systemd's watchdog: WATCHDOG=1 at half of WatchdogSec, from the loop,
 * between rules and, while a statement runs, from the session's wait for
 * its answer (db_set_waiter). So WatchdogSec (30 s in the shipped unit) and
 * statement_timeout (60 s by default) do not constrain each other: the
 * watchdog says whether the loop still turns, whatever the length of a
 * statement. What a statement may hang on, a server that no longer
 * answers, the daemon catches itself (waiter_silent_ms). Returns the ms
 * until the next one is due, or -1 without a watchdog. */
static int64_t watchdog_ms, next_watchdog;

static int64_t watchdog_tick(void)
{
	int64_t now = now_mono_ms();
	if (!watchdog_ms)
		return -1;
	if (now >= next_watchdog) {
		sd_notify(0, "WATCHDOG=1");
		next_watchdog = now + watchdog_ms;
	}
	return next_watchdog - now;
}

static int64_t wait_tick(void *arg)
{
	(void)arg;
	return watchdog_tick();
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

static void set_waiter(const struct qf_config *cfg)
{
	struct db_waiter w = {.tick = wait_tick, .stop = &stop_requested, .silent_ms = waiter_silent_ms(cfg)};
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

struct loop_ctx {
	struct metrics *m;
};

static void on_rule(void *arg, const char *rule_id, double seconds, bool failed, bool skipped)
{
	struct loop_ctx *lc = arg;
	if (!skipped)
		log_debug("rule %s: %.2f ms%s", rule_id, seconds * 1000, failed ? " (failed)" : "");
	metrics_rule(lc->m, rule_id, seconds, failed, skipped);
	watchdog_tick();
}

static void on_delivery(void *arg, const char *receiver, enum deliver_outcome o, int n)
{
	struct loop_ctx *lc = arg;
	metrics_delivery(lc->m, receiver, o == DELIVER_OK ? "delivered" : o == DELIVER_DEAD ? "dead" : "retry", n);
}

static void notify_reloading(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
}

static int run_daemon(const char *path, struct qf_config *cfg, struct qf_ruleset *set, bool verbose)
{
	struct deliverer *d = deliver_new(cfg);
	struct db_session *c = NULL;
	int64_t next_eval = 0, next_connect = 0, connect_backoff = 1000, next_refresh = 0, next_housekeeping = 0;
	/* passes on a notification run the rules of the tables it names; a
	 * timed pass (every evaluation.interval, and after a connect or a
	 * reload) asks the database what changed and runs the clock work */
	int64_t next_timed = 0;
	struct strlist notified = {0};
	struct loop_ctx lc = {0};
	uint64_t wd_usec = 0;
	bool ever_connected = false;
	long pending_findings = 0, pending_alerts = 0;
	/* the configured receivers' names (SQL), and whether the alerts of
	 * other receivers are still to be counted for the log (at start and
	 * after each reload, once connected) */
	const char **rcv_names = route_receiver_names(cfg);
	bool check_orphans = true;

	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0)
		watchdog_ms = (int64_t)(wd_usec / 2000);
	if (cfg->metrics_listen && *cfg->metrics_listen) {
		char *err = NULL;
		lc.m = metrics_start(cfg->metrics_listen, &err);
		if (!lc.m) {
			log_err("metrics on %s: %s", cfg->metrics_listen, err);
			free(err);
			deliver_free(d);
			free(rcv_names);
			return EX_UNAVAILABLE_;
		}
		log_notice("metrics on %s (port %d): /metrics, /healthz", cfg->metrics_listen, metrics_port(lc.m));
		deliver_set_observer(d, on_delivery, &lc);
		for (int i = 0; i < cfg->nreceivers; i++)
			metrics_receiver(lc.m, cfg->receivers[i].name);
	}

	if (setup_signals() < 0) {
		log_err("cannot set up signals: %s", strerror(errno));
		deliver_free(d);
		free(rcv_names);
		return EX_SOFTWARE_;
	}
	set_waiter(cfg);
	if (watchdog_ms)
		log_info("watchdog: WATCHDOG=1 every %lld ms, also while a statement runs (statement_timeout %d ms); a"
			 " server silent for %d ms is given up",
			 (long long)watchdog_ms, cfg->statement_timeout_ms, waiter_silent_ms(cfg));
	sd_notifyf(0, "READY=1\nSTATUS=%d rule(s), %d receiver(s); connecting to the database", set->n,
		   cfg->nreceivers);
	log_notice("started: %d rule(s), %d receiver(s)", set->n, cfg->nreceivers);
	while (!stop_requested) {
		int64_t now = now_mono_ms();

		if (reload_requested) {
			struct qf_ruleset nset;
			struct diag dg;
			reload_requested = 0;
			diag_init(&dg);
			notify_reloading();
			struct qf_config *ncfg = load_all(path, &nset, &dg);
			/* a rule PostgreSQL refuses (a wrong column) must not replace
			 * one that works: checked before the swap, as -n does */
			if (ncfg && db_ok(c) && check_rules_against(c, &nset, path, &dg) < 0) {
				ruleset_free(&nset);
				config_free(ncfg);
				ncfg = NULL;
			} else if (ncfg && !db_ok(c)) {
				log_notice("reload: the database is not connected; the rules' SQL is checked when they run");
			}
			if (!ncfg) {
				diag_log(&dg);
				log_err("reload failed: keeping the running configuration and rules");
				sd_notify(0, "READY=1\nSTATUS=reload failed, running the previous configuration");
			} else {
				ruleset_free(set);
				*set = nset;
				config_free(cfg);
				cfg = ncfg;
				if (!verbose) /* -v outlives a reload */
					log_set_level(cfg->log_level);
				setenv("TZ", cfg->timezone, 1);
				tzset();
				deliver_set_config(d, cfg);
				for (int i = 0; i < cfg->nreceivers; i++)
					metrics_receiver(lc.m, cfg->receivers[i].name);
				free(rcv_names);
				rcv_names = route_receiver_names(cfg);
				check_orphans = true;
				next_refresh = 0; /* the orphaned alerts' gauge follows the receivers */
				set_waiter(cfg);
				next_eval = next_timed = 0;
				log_notice("reloaded: %d rule(s), %d receiver(s)", set->n, cfg->nreceivers);
				sd_notify(0, "READY=1");
			}
			diag_free(&dg);
		}
		if (!db_ok(c) && now >= next_connect) {
			/* its locks, cursors and deferred bookkeeping go with it */
			db_close(&c);
			c = connect_checked(cfg, true);
			if (!c) {
				next_connect = now + connect_backoff;
				connect_backoff = connect_backoff * 2 > 30000 ? 30000 : connect_backoff * 2;
				sd_notify(0, "STATUS=waiting for the database");
			} else if (db_listen(c) < 0) {
				db_close(&c);
				next_connect = now + connect_backoff;
			} else {
				connect_backoff = 1000;
				deliver_wake(d);
				next_eval = next_timed = 0; /* catch up on what changed while away */
				next_refresh = 0;
				if (ever_connected)
					metrics_reconnect(lc.m);
				ever_connected = true;
				log_notice("connected to the database");
			}
			metrics_db(lc.m, db_ok(c));
		}
		if (db_ok(c) && now >= next_eval) {
			struct eval_totals t;
			/* a pass on a notification evaluates; the clock work
			 * (escalation, reminders, notices, pruning) runs every
			 * evaluation.interval */
			bool hk = now_mono_ms() >= next_housekeeping;
			bool timed = now_mono_ms() >= next_timed || !notified.n;
			struct claim_req cq;
			char nowbuf[40];
			if (clock_set)
				eval_now_text(nowbuf, clock_offset_us);
			struct eval_opts eo = {.now = clock_set ? nowbuf : NULL,
					       .incremental = true, .lock = true, .on_rule = on_rule, .arg = &lc,
					       .no_housekeeping = !hk, .defer_tail = true,
					       .notified = timed ? NULL : &notified,
					       .claim = deliver_claim_req(d, &cq) ? &cq : NULL};
			if (hk)
				next_housekeeping = now_mono_ms() + (int64_t)cfg->eval_interval_s * 1000;
			if (timed)
				next_timed = now_mono_ms() + (int64_t)cfg->eval_interval_s * 1000;
			int rc_eval = eval_all(c, cfg, set, &eo, &t);
			strlist_free(&notified);
			if (rc_eval < 0 && stop_requested) {
				/* cancelled (db.c): nothing of the pass was kept, its
				 * rules are read again at the next start */
				claimed_alerts_free(cq.claimed);
				log_notice("stopping: the pass was cancelled; its rules are read again at the next start");
			} else if (rc_eval < 0) {
				/* what it claimed stays leased to us and is retried when the lease ends */
				claimed_alerts_free(cq.claimed);
				log_err("lost the database during evaluation; reconnecting");
			} else {
				if (cq.claimed) /* what the pass claimed goes out now */
					deliver_start_claimed(d, c, cq.claimed);
				/* the clock work may have queued reminders and notices too */
				if ((t.alerts && !t.claimed) || hk)
					deliver_wake(d);
				metrics_pass(lc.m, t.created, t.alerts);
				pending_findings += t.created;
				pending_alerts += t.alerts;
				sd_notifyf(0, "STATUS=%d rule(s), %d receiver(s); since start %ld new finding(s), %ld alert(s);"
					      " %d delivery(ies) in flight",
					   set->n, cfg->nreceivers, pending_findings, pending_alerts, deliver_inflight(d));
			}
			next_eval = next_timed;
		}
		if (db_ok(c) && check_orphans) {
			log_orphans(c, cfg, rcv_names);
			check_orphans = false;
		}
		if (db_ok(c) && now_mono_ms() >= next_refresh) {
			metrics_refresh(lc.m, c, rcv_names, cfg->nreceivers);
			next_refresh = now_mono_ms() + 5000;
		}
		metrics_db(lc.m, db_ok(c));
		watchdog_tick();
		if (db_ok(c) && deliver_claim_due(d) && deliver_fill(d, c) < 0)
			log_err("cannot claim alerts; retrying");
		/* the pass's bookkeeping, once its alerts are on their way */
		if (db_ok(c) && eval_flush(c) < 0)
			log_err("lost the database while recording the pass; reconnecting");
		/* outcomes are recorded here, after a pass rather than before it:
		 * a commit notified together with an answer is evaluated first */
		if (db_ok(c) && deliver_inflight(d) && deliver_reap(d, c, true) < 0)
			log_err("cannot record delivery results; the alerts will be retried");
		/* a notification that arrived while a pass read its results is
		 * already in libpq's queue, not on the socket: poll would not wake */
		if (db_ok(c) && db_notified(c, &notified))
			next_eval = 0;
		int64_t wait = next_eval - now_mono_ms();
		if (wait > 1000 || !db_ok(c))
			wait = 1000;
		if (watchdog_ms && next_watchdog - now_mono_ms() < wait)
			wait = next_watchdog - now_mono_ms();
		if (db_ok(c) && deliver_wait_ms(d) < wait)
			wait = deliver_wait_ms(d);
		/* one poll: signals, the database's notifications, transfers, timers */
		struct curl_waitfd wfd[2] = {{.fd = wake_pipe[0], .events = CURL_WAIT_POLLIN},
					     {.fd = db_ok(c) ? db_socket(c) : -1, .events = CURL_WAIT_POLLIN}};
		deliver_wait(d, wfd, db_ok(c) ? 2 : 1, (int)wait, db_ok(c));
		char drain[64];
		while (read(wake_pipe[0], drain, sizeof drain) > 0)
			;
		if (db_ok(c) && db_notified(c, &notified))
			next_eval = 0; /* a record committed: evaluate now */
	}

	sd_notify(0, "STOPPING=1");
	/* what is left is short (the last bookkeeping, recording answers in
	 * flight) and runs to its end, but a server that does not answer
	 * must not hold the stop up beyond systemd's TimeoutStopSec */
	struct db_waiter sw = {.tick = wait_tick, .silent_ms = 5000};
	db_set_waiter(&sw);
	if (db_ok(c) && eval_flush(c) < 0)
		log_warn("could not record the last pass; its rules are read again next start");
	strlist_free(&notified);
	log_notice("stopping: waiting up to 10 s for %d delivery(ies) in flight", deliver_inflight(d));
	int64_t until = now_mono_ms() + 10000;
	while (deliver_inflight(d) && db_ok(c) && now_mono_ms() < until) {
		deliver_wait(d, NULL, 0, 200, true);
		if (deliver_reap(d, c, false) < 0) /* stopping: no new claims */
			break;
	}
	deliver_abort(d, db_ok(c) ? c : NULL, "daemon stopped before the receiver answered");
	deliver_free(d);
	metrics_stop(lc.m);
	db_close(&c);
	ruleset_free(set);
	config_free(cfg);
	free(rcv_names);
	db_set_waiter(NULL);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	log_notice("stopped");
	return EX_OK_;
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
