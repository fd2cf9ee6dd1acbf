/* The bulk and rest lanes: a thread and a session each (lane.h). */
#include "lane.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "eval.h"
#include "log.h"

struct lane_gen {
	struct qf_config *cfg;
	struct qf_ruleset set;
	atomic_int refs;
};

struct lane_gen *lane_gen_new(struct qf_config *cfg, struct qf_ruleset *set)
{
	struct lane_gen *g = xcalloc(1, sizeof *g);
	g->cfg = cfg;
	g->set = *set;
	memset(set, 0, sizeof *set);
	atomic_init(&g->refs, 1);
	return g;
}

struct qf_config *lane_gen_cfg(struct lane_gen *g)
{
	return g->cfg;
}

struct qf_ruleset *lane_gen_set(struct lane_gen *g)
{
	return &g->set;
}

static struct lane_gen *gen_get(struct lane_gen *g)
{
	atomic_fetch_add(&g->refs, 1);
	return g;
}

void lane_gen_put(struct lane_gen *g)
{
	if (!g || atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	ruleset_free(&g->set);
	config_free(g->cfg);
	free(g);
}

/* The lanes a daemon runs beside its loop's live lane. */
enum { LANE_NTHREADS = 2 };

struct lane {
	struct lanes *all;
	enum eval_lane kind;
	const char *appname;
	/* a pass at most this often: a lane whose alerts may wait a little
	 * reads many notifications in one pass, and leaves the CPU to the
	 * live lane meanwhile */
	int gap_ms;
	pthread_t th;
	bool started;
	int wake[2];
	struct lane_gen *g; /* the lane's hold, taken at the start of a pass */
};

struct lanes {
	pthread_mutex_t mu;
	struct lane_gen *cur;
	volatile sig_atomic_t stop;
	atomic_bool alerts;
	/* the loop's own session is connected and accepted: a lane connects
	 * only then, and lets its session go when the loop's goes (a pooler
	 * that the loop's session refused, a failover), so that it never
	 * evaluates where the loop would not and the loop alone says why */
	atomic_bool db_accepted;
	int main_wake;
	struct metrics *m;
	bool clock_set;
	int64_t clock_offset_us;
	struct lane lane[LANE_NTHREADS];
};

static void lane_on_rule(void *arg, const char *rule_id, double seconds, bool failed, bool skipped)
{
	struct lane *ln = arg;
	if (!skipped)
		log_debug("lane %s: rule %s: %.2f ms%s", ln->appname, rule_id, seconds * 1000, failed ? " (failed)" : "");
	metrics_rule(ln->all->m, rule_id, seconds, failed, skipped);
}

/* the generation the next pass reads */
static void lane_take_gen(struct lane *ln)
{
	pthread_mutex_lock(&ln->all->mu);
	if (ln->g != ln->all->cur) {
		lane_gen_put(ln->g);
		ln->g = gen_get(ln->all->cur);
	}
	pthread_mutex_unlock(&ln->all->mu);
}

/* A session of the lane's own: NULL (logged at debug: the loop's own
 * session says what is wrong with the database) when none can be had. */
static struct db_session *lane_connect(struct lane *ln, const struct qf_config *cfg)
{
	struct db_failure f;
	struct db_session *s = db_try_connect(cfg->conninfo, ln->appname, cfg->timezone, cfg->connect_timeout_s, &f);

	if (!s) {
		log_debug("lane %s: database: %s", ln->appname, f.text);
		return NULL;
	}
	db_use_prepared(s, true);
	db_quiet_refusal(s);
	if (db_check_schema(s) < 0 || db_engine_session(s) < 0 || db_listen(s) < 0) {
		db_close(&s);
		return NULL;
	}
	log_info("lane %s: connected", ln->appname);
	return s;
}

/* One pass of the lane. timed: asks the database what changed (else the
 * notified tables); hk: with the clock work (the rest lane). */
static void lane_pass(struct lane *ln, struct db_session *s, struct strlist *notified, bool timed, bool hk)
{
	struct lanes *l = ln->all;
	struct eval_totals t;
	char nowbuf[40];

	if (l->clock_set)
		eval_now_text(nowbuf, l->clock_offset_us);
	struct eval_opts eo = {.lane = ln->kind,
			       .lane_keys = LANE_LIVE_KEYS,
			       .chunk = LANE_CHUNK,
			       .now = l->clock_set ? nowbuf : NULL,
			       .incremental = true,
			       .lock = true,
			       .no_housekeeping = !hk,
			       .notified = timed ? NULL : notified,
			       .on_rule = lane_on_rule,
			       .arg = ln};
	int64_t t0 = now_real_us();
	int rc = eval_all(s, lane_gen_cfg(ln->g), lane_gen_set(ln->g), &eo, &t);
	metrics_pass(l->m, t.created, t.alerts);
	/* the same line as --once's, for the passes that read something:
	 * what a pass costs in service (bench/hotsql.sh reads it) */
	if (t.rules > t.skipped)
		log_debug("lane %s: evaluated %ld rule(s) in %.1f ms (%ld unchanged, %ld on changed rows only): %ld failed,"
			  " %ld new and %ld re-triggered finding(s), %ld alert(s) queued",
			  ln->appname, t.rules, (double)(now_real_us() - t0) / 1000.0, t.skipped, t.delta, t.failed,
			  t.created, t.retriggered, t.alerts);
	if (t.alerts || hk) {
		atomic_store(&l->alerts, true);
		(void)!write(l->main_wake, "l", 1);
	}
	if (rc < 0 && !l->stop)
		log_err("lane %s: lost the database during evaluation; reconnecting", ln->appname);
}

/* Waits for a notification, the loop's wake-up or the next deadline. */
static void lane_wait(struct lane *ln, struct db_session *s, int64_t until, struct strlist *notified, bool *due)
{
	int64_t wait = until - now_mono_ms();
	char drain[64];
	struct pollfd pf[2] = {{.fd = ln->wake[0], .events = POLLIN},
			       {.fd = db_ok(s) ? db_socket(s) : -1, .events = POLLIN}};

	if (wait > 1000)
		wait = 1000;
	if (wait < 0)
		wait = 0;
	if (poll(pf, 2, (int)wait) < 0 && errno != EINTR)
		log_warn("lane %s: poll: %s", ln->appname, strerror(errno));
	while (read(ln->wake[0], drain, sizeof drain) > 0)
		;
	if (db_ok(s) && db_notified(s, notified))
		*due = true;
}

static void *lane_main(void *arg)
{
	struct lane *ln = arg;
	struct lanes *l = ln->all;
	struct db_session *s = NULL;
	struct strlist notified = {0};
	int64_t connect_at = 0, backoff = 1000, timed_at = 0, hk_at = 0, next_at = 0;
	bool due = true;

	while (!l->stop) {
		lane_take_gen(ln);
		const struct qf_config *cfg = lane_gen_cfg(ln->g);
		/* the loop's waiter is the loop's: this thread's answers wait
		 * with the lane's stop, and no watchdog (the loop feeds it) */
		struct db_waiter w = {.stop = &l->stop, .silent_ms = 2 * cfg->statement_timeout_ms + 5000};
		db_set_waiter(&w);
		int64_t now = now_mono_ms(), interval = (int64_t)cfg->eval_interval_s * 1000;
		if (!atomic_load(&l->db_accepted)) {
			if (s)
				log_info("lane %s: the loop's database session is gone: this lane's goes too", ln->appname);
			db_close(&s);
		} else if (!db_ok(s) && now >= connect_at) {
			db_close(&s);
			s = lane_connect(ln, cfg);
			if (!s) {
				connect_at = now + backoff;
				backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
			} else {
				backoff = 1000;
				due = true;
				timed_at = 0; /* catch up on what changed while away */
			}
		}
		if (db_ok(s) && now >= next_at && (due || now >= timed_at)) {
			bool timed = now >= timed_at || !notified.n;
			bool hk = ln->kind == LANE_REST && now >= hk_at;
			if (timed)
				timed_at = now + interval;
			if (hk)
				hk_at = now + interval;
			due = false;
			lane_pass(ln, s, &notified, timed, hk);
			strlist_free(&notified);
			/* a rest twice as long as the pass took: a lane's passes use
			 * at most a third of a core (and of the server's), whatever
			 * their rules cost on a hot key; the rest is the live lane's */
			int64_t took = 2 * (now_mono_ms() - now);
			next_at = now_mono_ms() + (took > ln->gap_ms ? took : ln->gap_ms);
			continue; /* a notification may have come during the pass */
		}
		int64_t until = db_ok(s) ? (due ? next_at : timed_at) : atomic_load(&l->db_accepted) ? connect_at : now + 1000;
		lane_wait(ln, s, until, &notified, &due);
	}
	db_set_waiter(NULL);
	db_close(&s);
	strlist_free(&notified);
	return NULL;
}

struct lanes *lanes_start(struct lane_gen *g, struct metrics *m, int wake_fd, bool clock_set, int64_t clock_offset_us)
{
	static const struct {
		enum eval_lane kind;
		const char *appname;
		int gap_ms;
	} kinds[LANE_NTHREADS] = {{LANE_BULK, "qingfengd-bulk", 250}, {LANE_REST, "qingfengd-rules", 20}};
	struct lanes *l = xcalloc(1, sizeof *l);

	pthread_mutex_init(&l->mu, NULL);
	l->cur = gen_get(g);
	l->main_wake = wake_fd;
	l->m = m;
	l->clock_set = clock_set;
	l->clock_offset_us = clock_offset_us;
	atomic_init(&l->alerts, false);
	atomic_init(&l->db_accepted, false);
	for (int i = 0; i < LANE_NTHREADS; i++)
		l->lane[i].wake[0] = l->lane[i].wake[1] = -1;
	for (int i = 0; i < LANE_NTHREADS; i++) {
		struct lane *ln = &l->lane[i];
		ln->all = l;
		ln->kind = kinds[i].kind;
		ln->appname = kinds[i].appname;
		ln->gap_ms = kinds[i].gap_ms;
		if (pipe2(ln->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
			log_err("lane %s: pipe: %s", ln->appname, strerror(errno));
			lanes_stop(l);
			return NULL;
		}
		int e = pthread_create(&ln->th, NULL, lane_main, ln);
		if (e) {
			log_err("lane %s: cannot start its thread: %s", ln->appname, strerror(e));
			lanes_stop(l);
			return NULL;
		}
		ln->started = true;
	}
	return l;
}

void lanes_publish(struct lanes *l, struct lane_gen *g)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	lane_gen_put(l->cur);
	l->cur = gen_get(g);
	pthread_mutex_unlock(&l->mu);
	for (int i = 0; i < LANE_NTHREADS; i++)
		if (l->lane[i].wake[1] >= 0)
			(void)!write(l->lane[i].wake[1], "r", 1);
}

void lanes_database(struct lanes *l, bool accepted)
{
	if (!l || atomic_exchange(&l->db_accepted, accepted) == accepted)
		return;
	for (int i = 0; i < LANE_NTHREADS; i++)
		if (l->lane[i].wake[1] >= 0)
			(void)!write(l->lane[i].wake[1], "d", 1);
}

bool lanes_alerts_queued(struct lanes *l)
{
	return l && atomic_exchange(&l->alerts, false);
}

void lanes_stop(struct lanes *l)
{
	if (!l)
		return;
	l->stop = 1;
	for (int i = 0; i < LANE_NTHREADS; i++)
		if (l->lane[i].wake[1] >= 0)
			(void)!write(l->lane[i].wake[1], "s", 1);
	for (int i = 0; i < LANE_NTHREADS; i++) {
		struct lane *ln = &l->lane[i];
		if (ln->started)
			pthread_join(ln->th, NULL);
		lane_gen_put(ln->g);
		if (ln->wake[0] >= 0) {
			close(ln->wake[0]);
			close(ln->wake[1]);
		}
	}
	lane_gen_put(l->cur);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
