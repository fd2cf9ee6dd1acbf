/* The metrics endpoint. Counters are kept here; database gauges are read
 * by the main loop (metrics_refresh) every few seconds and rendered from
 * that snapshot. */
#include "metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "db_ops.h"
#include "log.h"
#include "rule.h"
#include "util.h"

struct rule_stat {
	char id[40];
	unsigned long evals, failures, skipped;
	double seconds, last;
};

static const char *const outcomes[] = {"delivered", "retry", "dead"};

struct rcv_stat {
	char name[64]; /* receiver names are [A-Za-z0-9_.-]{1,63}: safe as a label */
	unsigned long n[3]; /* by outcomes[] */
};

struct metrics {
	struct MHD_Daemon *httpd;
	int port;
	pthread_mutex_t mu;
	bool connected;
	int refused; /* an enum db_refusal while the database is refused, else -1 */
	unsigned long connect_failures[DB_NREFUSALS];
	unsigned long reconnects, passes, created, alerts_queued;
	struct rule_stat *rules;
	int nrules;
	struct rcv_stat *rcvs;
	int nrcvs;
	char *gauges; /* Prometheus lines from the last metrics_refresh */
};

static void render(struct metrics *m, struct buf *b)
{
	pthread_mutex_lock(&m->mu);
	buf_printf(b, "# HELP qingfeng_up Whether the daemon is connected to PostgreSQL.\n# TYPE qingfeng_up gauge\n"
		      "qingfeng_up %d\n",
		   m->connected ? 1 : 0);
	/* which build answers, the usual way: a constant 1 with the versions
	 * as labels, to join on or alert about a mixed fleet */
	buf_printf(b, "# HELP qingfeng_build_info The daemon's version, rule-file format and database schema.\n"
		      "# TYPE qingfeng_build_info gauge\n"
		      "qingfeng_build_info{version=\"%s\",rule_engine=\"%d\",schema=\"%d\"} 1\n",
		   QF_VERSION, QF_ENGINE_VERSION, QF_SCHEMA_VERSION);
	buf_printf(b, "# HELP qingfeng_reconnects_total Database reconnections.\n# TYPE qingfeng_reconnects_total counter\n"
		      "qingfeng_reconnects_total %lu\n",
		   m->reconnects);
	buf_puts(b, "# HELP qingfeng_db_refused Whether the daemon refuses the database session it reached, by reason.\n"
		    "# TYPE qingfeng_db_refused gauge\n");
	for (int k = 0; k < DB_NREFUSALS; k++)
		if (k != DB_UNREACHABLE)
			buf_printf(b, "qingfeng_db_refused{reason=\"%s\"} %d\n", db_refusal_name((enum db_refusal)k),
				   m->refused == k);
	buf_puts(b, "# HELP qingfeng_db_connect_failures_total Failed attempts to have a database session, by reason.\n"
		    "# TYPE qingfeng_db_connect_failures_total counter\n");
	for (int k = 0; k < DB_NREFUSALS; k++)
		buf_printf(b, "qingfeng_db_connect_failures_total{reason=\"%s\"} %lu\n",
			   db_refusal_name((enum db_refusal)k), m->connect_failures[k]);
	buf_printf(b, "# HELP qingfeng_passes_total Evaluation passes.\n# TYPE qingfeng_passes_total counter\n"
		      "qingfeng_passes_total %lu\n",
		   m->passes);
	buf_printf(b, "# HELP qingfeng_findings_created_total Findings this daemon created.\n"
		      "# TYPE qingfeng_findings_created_total counter\nqingfeng_findings_created_total %lu\n",
		   m->created);
	buf_printf(b, "# HELP qingfeng_alerts_queued_total Alerts this daemon queued in the outbox.\n"
		      "# TYPE qingfeng_alerts_queued_total counter\nqingfeng_alerts_queued_total %lu\n",
		   m->alerts_queued);
	buf_puts(b, "# HELP qingfeng_rule_evaluations_total Rule evaluations by outcome.\n"
		    "# TYPE qingfeng_rule_evaluations_total counter\n");
	for (int i = 0; i < m->nrules; i++) {
		const struct rule_stat *r = &m->rules[i];
		buf_printf(b, "qingfeng_rule_evaluations_total{rule=\"%s\",outcome=\"ok\"} %lu\n", r->id,
			   r->evals - r->failures - r->skipped);
		buf_printf(b, "qingfeng_rule_evaluations_total{rule=\"%s\",outcome=\"failed\"} %lu\n", r->id, r->failures);
		buf_printf(b, "qingfeng_rule_evaluations_total{rule=\"%s\",outcome=\"skipped\"} %lu\n", r->id, r->skipped);
	}
	buf_puts(b, "# HELP qingfeng_rule_duration_seconds Time spent evaluating each rule.\n"
		    "# TYPE qingfeng_rule_duration_seconds summary\n");
	for (int i = 0; i < m->nrules; i++) {
		const struct rule_stat *r = &m->rules[i];
		buf_printf(b, "qingfeng_rule_duration_seconds_sum{rule=\"%s\"} %.6f\n", r->id, r->seconds);
		buf_printf(b, "qingfeng_rule_duration_seconds_count{rule=\"%s\"} %lu\n", r->id, r->evals - r->skipped);
	}
	buf_puts(b, "# HELP qingfeng_deliveries_total Alerts sent by this daemon, by receiver and outcome of the attempt.\n"
		    "# TYPE qingfeng_deliveries_total counter\n");
	for (int i = 0; i < m->nrcvs; i++)
		for (int k = 0; k < 3; k++)
			buf_printf(b, "qingfeng_deliveries_total{receiver=\"%s\",outcome=\"%s\"} %lu\n", m->rcvs[i].name,
				   outcomes[k], m->rcvs[i].n[k]);
	if (m->gauges)
		buf_puts(b, m->gauges);
	pthread_mutex_unlock(&m->mu);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *data, size_t *size, void **state)
{
	struct metrics *m = cls;
	struct MHD_Response *resp;
	struct buf b;
	unsigned status = 200;
	const char *ctype = "text/plain; version=0.0.4; charset=utf-8";

	(void)version;
	(void)data;
	(void)size;
	if (!*state) { /* answer on the second call, when the request is complete */
		*state = (void *)1;
		return MHD_YES;
	}
	buf_init(&b);
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = 405;
		buf_puts(&b, "method not allowed\n");
	} else if (!strcmp(url, "/metrics")) {
		render(m, &b);
	} else if (!strcmp(url, "/healthz")) {
		pthread_mutex_lock(&m->mu);
		bool up = m->connected;
		int refused = m->refused;
		pthread_mutex_unlock(&m->mu);
		status = up ? 200 : 503;
		if (!up && refused >= 0)
			buf_printf(&b, "database refused: %s\n", db_refusal_name((enum db_refusal)refused));
		else
			buf_puts(&b, up ? "ok\n" : "database disconnected\n");
	} else {
		status = 404;
		buf_puts(&b, "not found\n");
	}
	resp = MHD_create_response_from_buffer(b.len, b.data ? b.data : (void *)"", MHD_RESPMEM_MUST_COPY);
	buf_free(&b);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	enum MHD_Result rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

struct metrics *metrics_start(const char *listen, char **err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[64];
	const char *colon = strrchr(listen, ':');
	int port = colon ? atoi(colon + 1) : -1;

	memset(&ss, 0, sizeof ss);
	if (!colon || port < 0 || port > 65535 || (size_t)(colon - listen) >= sizeof host) {
		*err = xstrdup("metrics listen must be ADDRESS:PORT");
		return NULL;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (host[0] == '[') { /* [::1]:9423 */
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
		size_t n = strlen(host);
		if (n < 3 || host[n - 1] != ']') {
			*err = xstrdup("metrics listen: bad IPv6 address");
			return NULL;
		}
		host[n - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) {
			*err = xstrdup("metrics listen: bad IPv6 address");
			return NULL;
		}
		sl = sizeof *a6;
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
			*err = xstrdup("metrics listen: bad IPv4 address");
			return NULL;
		}
		sl = sizeof *a4;
	}
	(void)sl;
	struct metrics *m = xcalloc(1, sizeof *m);
	m->refused = -1;
	pthread_mutex_init(&m->mu, NULL);
	m->httpd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, answer, m, MHD_OPTION_SOCK_ADDR, &ss,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!m->httpd) {
		*err = xstrdup("cannot listen for metrics (address in use?)");
		pthread_mutex_destroy(&m->mu);
		free(m);
		return NULL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->httpd, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info ? info->port : port;
	return m;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->httpd);
	pthread_mutex_destroy(&m->mu);
	free(m->rules);
	free(m->rcvs);
	free(m->gauges);
	free(m);
}

int metrics_port(const struct metrics *m)
{
	return m ? m->port : 0;
}

void metrics_db(struct metrics *m, bool connected)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->connected = connected;
	if (connected)
		m->refused = -1;
	pthread_mutex_unlock(&m->mu);
}

void metrics_db_failed(struct metrics *m, enum db_refusal why)
{
	if (!m || why < 0 || why >= DB_NREFUSALS)
		return;
	pthread_mutex_lock(&m->mu);
	m->connect_failures[why]++;
	m->refused = why == DB_UNREACHABLE ? -1 : (int)why;
	pthread_mutex_unlock(&m->mu);
}

void metrics_reconnect(struct metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->reconnects++;
	pthread_mutex_unlock(&m->mu);
}

void metrics_rule(struct metrics *m, const char *rule_id, double seconds, bool failed, bool skipped)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	struct rule_stat *r = NULL;
	for (int i = 0; i < m->nrules; i++)
		if (!strcmp(m->rules[i].id, rule_id))
			r = &m->rules[i];
	if (!r) {
		m->rules = xrealloc(m->rules, sizeof *m->rules * (size_t)(m->nrules + 1));
		r = &m->rules[m->nrules++];
		memset(r, 0, sizeof *r);
		snprintf(r->id, sizeof r->id, "%s", rule_id); /* ids are [A-Za-z0-9_-]: safe as a label */
	}
	r->evals++;
	r->failures += failed;
	r->skipped += skipped;
	if (!skipped) {
		r->seconds += seconds;
		r->last = seconds;
	}
	pthread_mutex_unlock(&m->mu);
}

void metrics_pass(struct metrics *m, long created, long alerts)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->passes++;
	m->created += (unsigned long)created;
	m->alerts_queued += (unsigned long)alerts;
	pthread_mutex_unlock(&m->mu);
}

/* under m->mu */
static struct rcv_stat *rcv_stat(struct metrics *m, const char *receiver)
{
	for (int i = 0; i < m->nrcvs; i++)
		if (!strcmp(m->rcvs[i].name, receiver))
			return &m->rcvs[i];
	m->rcvs = xrealloc(m->rcvs, sizeof *m->rcvs * (size_t)(m->nrcvs + 1));
	struct rcv_stat *r = &m->rcvs[m->nrcvs++];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", receiver);
	return r;
}

void metrics_receiver(struct metrics *m, const char *receiver)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	rcv_stat(m, receiver);
	pthread_mutex_unlock(&m->mu);
}

void metrics_delivery(struct metrics *m, const char *receiver, const char *outcome, int n)
{
	int k = 0;
	while (k < 3 && strcmp(outcomes[k], outcome))
		k++;
	if (!m || n <= 0 || k == 3)
		return;
	pthread_mutex_lock(&m->mu);
	rcv_stat(m, receiver)->n[k] += (unsigned long)n;
	pthread_mutex_unlock(&m->mu);
}

/* the database gauges, by family (enum db_gauge) */
static const struct {
	const char *name, *help;
} gauges[GAUGE_NFAMILIES] = {
	[GAUGE_FINDINGS] = {"qingfeng_findings", "Findings by level and status."},
	[GAUGE_ALERTS] = {"qingfeng_alerts",
			  "Alerts in the outbox by state; delivered ones are counted by qingfeng_deliveries_total."},
	[GAUGE_OUTBOX_DEPTH] = {"qingfeng_outbox_depth",
				"Deprecated, to be removed: the same as qingfeng_alerts{state=\"pending\"}."},
	[GAUGE_OLDEST_PENDING] = {"qingfeng_oldest_pending_seconds", "Age of the oldest alert waiting to be delivered."},
	[GAUGE_CHANGE_LAG] = {"qingfeng_change_lag_seconds",
			      "How long the oldest change not yet seen by every rule has waited."},
	[GAUGE_ALERTS_ORPHANED] = {"qingfeng_alerts_orphaned",
				   "Pending alerts for a receiver that is not in the configuration: they wait until one"
				   " of that name is."},
	[GAUGE_FINDINGS_OVERDUE] = {"qingfeng_findings_overdue",
				    "Findings late now for signing or closing (overdue, the engine's clock), by level."},
};

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

/* Prometheus lines of the database gauges, each family with its HELP and
 * TYPE right before its samples (promtool check metrics), also when it
 * has none. Caller frees. */
static char *gauges_text(const struct gauges *g)
{
	struct buf b;
	int row = 0;

	buf_init(&b);
	for (int f = 0; f < GAUGE_NFAMILIES; f++) {
		buf_printf(&b, "# HELP %s %s\n# TYPE %s gauge\n", gauges[f].name, gauges[f].help, gauges[f].name);
		for (; row < g->n && (int)g->v[row].family == f; row++) {
			const struct gauge_sample *x = &g->v[row];
			if (!x->receiver) {
				buf_printf(&b, "%s %s\n", x->series, x->value);
				continue;
			}
			buf_printf(&b, "%s{receiver=\"", gauges[f].name);
			label_value(&b, x->receiver);
			buf_printf(&b, "\"} %s\n", x->value);
		}
	}
	return buf_steal(&b);
}

void metrics_refresh(struct metrics *m, struct db_session *s, const char *const *receivers, int n)
{
	struct gauges g;

	if (!m)
		return;
	/* the loop waits for this query: its time is worth seeing
	 * (bench/gauges.sh reads it) */
	int64_t t0 = now_real_us();
	if (db_gauges(s, receivers, n, &g) < 0) {
		gauges_clear(&g);
		return;
	}
	char *text = gauges_text(&g);
	gauges_clear(&g);
	log_debug("database gauges read in %.2f ms", (double)(now_real_us() - t0) / 1000.0);
	pthread_mutex_lock(&m->mu);
	free(m->gauges);
	m->gauges = text;
	pthread_mutex_unlock(&m->mu);
}
