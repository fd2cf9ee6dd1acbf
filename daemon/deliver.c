/* The outbox worker. A claim is a lease in qf.alert (claimed_by,
 * claimed_until), not an open transaction: HTTP never runs inside a
 * database transaction, and a daemon killed mid-request leaves a lease
 * that simply expires, so the alert is sent again: at least once. */
#include "deliver.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "utf8.h"
#include "webhook.h"

#define RESPONSE_MAX 4096 /* what we keep of an answer, for last_error */

struct transfer {
	struct transfer *next;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	int64_t alert_id;
	int attempts;
	bool too_old;
	/* copies: a reload may free the config while the request is in flight */
	char *rcv_name, *rcv_url, *rcv_secret;
	struct buf resp;
	char errbuf[CURL_ERROR_SIZE];
};

struct deliverer {
	const struct qf_config *cfg;
	CURLM *multi;
	struct transfer *list;
	int inflight;
	char claimer[160];
	char *receivers_json;
};

static void set_receivers(struct deliverer *d)
{
	json_t *a = json_array();

	for (int i = 0; i < d->cfg->nreceivers; i++)
		json_array_append_new(a, json_string(d->cfg->receivers[i].name));
	free(d->receivers_json);
	d->receivers_json = json_dumps(a, JSON_COMPACT);
	json_decref(a);
}

struct deliverer *deliver_new(const struct qf_config *cfg)
{
	struct deliverer *d = xcalloc(1, sizeof *d);
	char host[64] = "localhost";

	d->cfg = cfg;
	d->multi = curl_multi_init();
	if (!d->multi)
		abort();
	gethostname(host, sizeof host - 1);
	/* unique per process and start, so a restarted daemon with a reused
	 * pid never mistakes an old lease for its own */
	snprintf(d->claimer, sizeof d->claimer, "%s:%ld:%lld", host, (long)getpid(), (long long)now_real_ms());
	set_receivers(d);
	return d;
}

void deliver_set_config(struct deliverer *d, const struct qf_config *cfg)
{
	d->cfg = cfg;
	set_receivers(d);
}

static void transfer_free(struct deliverer *d, struct transfer *t)
{
	curl_multi_remove_handle(d->multi, t->easy);
	curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	free(t->body);
	buf_free(&t->resp);
	free(t->rcv_name);
	free(t->rcv_url);
	if (t->rcv_secret)
		explicit_bzero(t->rcv_secret, strlen(t->rcv_secret));
	free(t->rcv_secret);
	free(t);
}

static void unlink_transfer(struct deliverer *d, struct transfer *t)
{
	for (struct transfer **pp = &d->list; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			d->inflight--;
			return;
		}
}

void deliver_free(struct deliverer *d)
{
	if (!d)
		return;
	while (d->list) {
		struct transfer *t = d->list;
		unlink_transfer(d, t);
		transfer_free(d, t);
	}
	curl_multi_cleanup(d->multi);
	free(d->receivers_json);
	free(d);
}

int deliver_inflight(const struct deliverer *d)
{
	return d->inflight;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;

	if (t->resp.len < RESPONSE_MAX)
		buf_add(&t->resp, ptr, n < RESPONSE_MAX - t->resp.len ? n : RESPONSE_MAX - t->resp.len);
	return n;
}

double deliver_backoff_s(const struct qf_config *cfg, int attempts, double jitter01)
{
	double base = cfg->backoff_initial_ms / 1000.0;
	double max = cfg->backoff_max_ms / 1000.0;
	double delay = base * pow(2.0, attempts > 1 ? attempts - 1 : 0);

	if (delay > max || !isfinite(delay))
		delay = max;
	return delay * (0.5 + 0.5 * jitter01);
}

static double jitter(void)
{
	return (double)(random() % 10000) / 10000.0;
}

static int start(struct deliverer *d, PGresult *res, int row)
{
	const char *name = PQgetvalue(res, row, 1);
	const struct qf_receiver *rcv = config_receiver(d->cfg, name);
	struct transfer *t;
	char hdr[160], sig[WEBHOOK_SIG_MAX];
	time_t now = time(NULL);

	if (!rcv) /* cannot happen: claims are limited to our receivers */
		return -1;
	t = xcalloc(1, sizeof *t);
	t->alert_id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	t->attempts = atoi(PQgetvalue(res, row, 4));
	t->too_old = PQgetvalue(res, row, 5)[0] == 't';
	t->rcv_name = xstrdup(rcv->name);
	t->rcv_url = xstrdup(rcv->url);
	t->rcv_secret = rcv->secret ? xstrdup(rcv->secret) : NULL;
	buf_init(&t->resp);
	/* minimal detail: the finding without names, evidence or message */
	const char *finding = PQgetvalue(res, row, rcv->detail == QF_DETAIL_MINIMAL ? 6 : 3);
	t->body = webhook_json_body(PQgetvalue(res, row, 2), t->alert_id, finding, now);

	t->headers = curl_slist_append(t->headers, "Content-Type: application/json; charset=utf-8");
	snprintf(hdr, sizeof hdr, "Idempotency-Key: %lld", (long long)t->alert_id);
	t->headers = curl_slist_append(t->headers, hdr);
	snprintf(hdr, sizeof hdr, "X-Qingfeng-Event: %s", PQgetvalue(res, row, 2));
	t->headers = curl_slist_append(t->headers, hdr);
	if (rcv->secret) {
		webhook_sign(rcv->secret, now, t->body, strlen(t->body), sig);
		snprintf(hdr, sizeof hdr, "X-Qingfeng-Signature: %s", sig);
		t->headers = curl_slist_append(t->headers, hdr);
	}
	t->headers = curl_slist_append(t->headers, "Expect:"); /* no 100-continue round trip */

	t->easy = curl_easy_init();
	if (!t->easy)
		abort();
	curl_easy_setopt(t->easy, CURLOPT_URL, rcv->url);
	curl_easy_setopt(t->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(t->body));
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)rcv->timeout_ms);
	curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(rcv->timeout_ms < 10000 ? rcv->timeout_ms : 10000));
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(t->easy, CURLOPT_USERAGENT, "qingfeng/" QF_VERSION);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	if (rcv->ca_file)
		curl_easy_setopt(t->easy, CURLOPT_CAINFO, rcv->ca_file);
	curl_multi_add_handle(d->multi, t->easy);
	t->next = d->list;
	d->list = t;
	d->inflight++;
	log_debug("alert %lld: sending to %s (attempt %d)", (long long)t->alert_id, t->rcv_name, t->attempts);
	return 0;
}

int deliver_fill(struct deliverer *d, PGconn *c)
{
	int room = d->cfg->max_in_flight - d->inflight;
	int max_timeout = 0;

	if (room <= 0 || d->cfg->nreceivers == 0)
		return 0;
	for (int i = 0; i < d->cfg->nreceivers; i++)
		if (d->cfg->receivers[i].timeout_ms > max_timeout)
			max_timeout = d->cfg->receivers[i].timeout_ms;
	/* the lease outlives the slowest request, so only a dead daemon's
	 * claims ever expire */
	PGresult *res = db_claim_alerts(c, d->receivers_json, room, max_timeout / 1000 + 1 + d->cfg->lease_margin_s,
					d->claimer,
					d->cfg->max_age_s);
	if (!res)
		return -1;
	int n = PQntuples(res), started = 0;
	for (int i = 0; i < n; i++)
		if (start(d, res, i) == 0)
			started++;
	PQclear(res);
	return started;
}

void deliver_wait(struct deliverer *d, struct curl_waitfd *extra, unsigned nextra, int timeout_ms)
{
	int numfds;

	if (timeout_ms < 0)
		timeout_ms = 0;
	curl_multi_poll(d->multi, extra, nextra, timeout_ms, &numfds);
}

/* A short, secret-free description of a failed attempt. */
static char *describe(const struct transfer *t, CURLcode code, long status)
{
	struct buf b;

	buf_init(&b);
	if (code != CURLE_OK) {
		buf_printf(&b, "%s", curl_easy_strerror(code));
		if (t->errbuf[0])
			buf_printf(&b, ": %s", t->errbuf);
	} else {
		char *body = utf8_sanitize(t->resp.data ? t->resp.data : "", t->resp.len);
		size_t cut = utf8_cut(body, strlen(body), 200);
		for (size_t i = 0; i < cut; i++) /* one line in logs */
			if ((unsigned char)body[i] < 0x20)
				body[i] = ' ';
		buf_printf(&b, "HTTP %ld: %.*s%s", status, (int)cut, body, cut < strlen(body) ? "…" : "");
		free(body);
	}
	char *s = buf_steal(&b);
	scrub_secret(s, t->rcv_url);
	scrub_secret(s, t->rcv_secret);
	return s;
}

static int finish(struct deliverer *d, PGconn *c, struct transfer *t, CURLcode code)
{
	long status = 0;
	int rc;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (code == CURLE_OK && status >= 200 && status < 300) {
		log_info("alert %lld: delivered to %s (HTTP %ld, attempt %d)", (long long)t->alert_id, t->rcv_name,
			 status, t->attempts);
		return db_alert_delivered(c, t->alert_id, d->claimer, (int)status);
	}

	/* 429, 5xx and transport errors are worth retrying; any other answer
	 * means the request itself is wrong and will stay wrong */
	bool retryable = code != CURLE_OK || status == 429 || status >= 500;
	char *err = describe(t, code, status);
	bool dead = !retryable || t->attempts >= d->cfg->max_attempts || t->too_old;
	double retry = deliver_backoff_s(d->cfg, t->attempts, jitter());
	curl_off_t after = 0;
	if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
		retry = fmax(retry, fmin((double)after, 86400.0));
	if (dead)
		log_err("alert %lld: %s gave up after %d attempt(s): %s%s", (long long)t->alert_id, t->rcv_name,
			t->attempts, err,
			retryable ? (t->too_old ? " (alert older than max_age)" : " (max_attempts reached)")
				  : " (not retryable: check the receiver's configuration)");
	else
		log_warn("alert %lld: %s failed (attempt %d), retry in %.1f s: %s", (long long)t->alert_id,
			 t->rcv_name, t->attempts, retry, err);
	rc = db_alert_failed(c, t->alert_id, d->claimer, (int)status, err, dead ? 0 : retry, dead);
	free(err);
	return rc;
}

int deliver_reap(struct deliverer *d, PGconn *c)
{
	int running, left, done = 0, rc = 0;
	CURLMsg *m;

	curl_multi_perform(d->multi, &running);
	while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
		struct transfer *t = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		CURLcode code = m->data.result;
		unlink_transfer(d, t);
		if (finish(d, c, t, code) < 0)
			rc = -1; /* the lease expires and the alert is retried */
		transfer_free(d, t);
		done++;
	}
	return rc < 0 ? -1 : done;
}

void deliver_abort(struct deliverer *d, PGconn *c, const char *why)
{
	while (d->list) {
		struct transfer *t = d->list;
		unlink_transfer(d, t);
		if (c && db_alert_failed(c, t->alert_id, d->claimer, 0, why, 0, false) < 0)
			log_warn("alert %lld: its claim will expire instead", (long long)t->alert_id);
		transfer_free(d, t);
	}
}

int deliver_once(struct deliverer *d, PGconn *c, int deadline_s)
{
	int64_t deadline = now_mono_ms() + (int64_t)deadline_s * 1000;

	for (;;) {
		if (deliver_fill(d, c) < 0)
			return -1;
		int64_t left = deadline - now_mono_ms();
		if (d->inflight == 0) {
			double due = db_next_due(c, d->receivers_json);
			if (due < 0 || due * 1000 >= (double)left)
				break; /* nothing pending, or not due within this pass */
			deliver_wait(d, NULL, 0, (int)(due * 1000) + 1);
			continue;
		}
		if (left <= 0) {
			deliver_abort(d, c, "delivery pass deadline reached before the receiver answered");
			break;
		}
		deliver_wait(d, NULL, 0, left < 1000 ? (int)left : 1000);
		if (deliver_reap(d, c) < 0)
			return -1;
	}
	double due = db_next_due(c, d->receivers_json);
	if (due < 0)
		return 0;
	int pending = db_pending_count(c, d->receivers_json);
	return pending;
}
