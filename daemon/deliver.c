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

#include "chat.h"
#include "db_outbox.h"
#include "log.h"
#include "route.h"
#include "utf8.h"
#include "webhook.h"

#define RESPONSE_MAX 4096 /* what we keep of an answer, for last_error */

struct transfer {
	struct transfer *next;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	char *url;
	int64_t alert_id; /* the first (json: the only) alert of the request */
	int64_t *ids;	  /* every alert the request carries (a chat digest has several) */
	int nids;
	int rcv;	  /* index into the receiver states */
	enum qf_format format;
	int attempts;
	bool too_old;
	/* copies: a reload may free the config while the request is in flight */
	char *rcv_name, *rcv_url, *rcv_secret;
	char *event;	/* json: for the headers of a resend */
	char *fallback; /* the minimal body, sent at once should the full one get HTTP 413; NULL: none */
	size_t full_len; /* bytes of the full body a 413 refused, when this is the minimal resend; else 0 */
	struct buf resp;
	char errbuf[CURL_ERROR_SIZE];
};

/* A chat receiver's recent sends, newest last: a sliding window makes "at
 * most N per minute" hold in every minute, which a token bucket of N would
 * not (it allows 2N across a refill). */
#define WINDOW_MAX 4096
struct rcv_state {
	int64_t *sent; /* ring of send times (ms, monotonic) */
	int cap, head, n;
	int inflight;
};

struct deliverer {
	const struct qf_config *cfg;
	CURLM *multi;
	struct transfer *list;
	int inflight;
	char claimer[160];
	const char **receivers; /* the configured receivers' names (cfg's) */
	struct rcv_state *rs; /* per cfg->receivers */
	int nrs;
	/* when the daemon's loop should claim next (monotonic ms): at once
	 * after new alerts, a freed slot of a full claim or a retry falling
	 * due; otherwise once a second, for alerts other daemons, operators
	 * (qfctl alerts retry) or expired leases make due. A claim on every
	 * turn of the loop would be a query per transfer for nothing. */
	int64_t claim_at;
	bool saturated;	   /* the last claim filled every free slot */
	const char **claim_names; /* the receivers of the last claim (cfg's) */
	/* alerts delivered and not yet recorded, recorded together: at every
	 * reap, or up to defer_ms after the first (done_since, monotonic ms) */
	int64_t *done_ids;
	int *done_status;
	int ndone, done_cap;
	int defer_ms;
	int64_t done_since;
	deliver_observer observe;
	void *observe_arg;
};

static void states_reset(struct deliverer *d)
{
	for (int i = 0; i < d->nrs; i++)
		free(d->rs[i].sent);
	free(d->rs);
	d->nrs = d->cfg->nreceivers;
	d->rs = xcalloc((size_t)d->nrs + 1, sizeof *d->rs);
	for (int i = 0; i < d->nrs; i++) {
		int rate = d->cfg->receivers[i].rate_per_minute;
		d->rs[i].cap = rate <= 0 ? 0 : rate > WINDOW_MAX ? WINDOW_MAX : rate;
		d->rs[i].sent = xcalloc((size_t)d->rs[i].cap + 1, sizeof(int64_t));
	}
}

static int sent_since(const struct rcv_state *st, int64_t since)
{
	int n = 0;
	for (int i = 0; i < st->n; i++)
		if (st->sent[(st->head + i) % st->cap] > since)
			n++;
	return n;
}

/* ms until the receiver's maintenance window (local time: the process
 * runs in the institute's time zone) ends; 0 = none is on */
static int64_t maintenance_wait_ms(const struct qf_receiver *r)
{
	time_t now = time(NULL);
	struct tm tm;
	int64_t wait = 0;

	if (!r->nmaintenance)
		return 0;
	localtime_r(&now, &tm);
	int m = tm.tm_hour * 60 + tm.tm_min, today = 1 << tm.tm_wday, yesterday = 1 << ((tm.tm_wday + 6) % 7);
	for (int i = 0; i < r->nmaintenance; i++) {
		const struct qf_window *w = &r->maintenance[i];
		int left = -1;
		if (w->from_min < w->to_min) {
			if ((w->days & today) && m >= w->from_min && m < w->to_min)
				left = w->to_min - m;
		} else { /* past midnight */
			if ((w->days & today) && m >= w->from_min)
				left = 24 * 60 - m + w->to_min;
			else if ((w->days & yesterday) && m < w->to_min)
				left = w->to_min - m;
		}
		if (left > 0) {
			int64_t ms = (int64_t)left * 60000 - tm.tm_sec * 1000;
			if (ms > wait)
				wait = ms;
		}
	}
	return wait;
}

/* ms until receiver i may send again; 0 = now */
static int64_t send_wait_ms(const struct deliverer *d, int i, int64_t now)
{
	const struct qf_receiver *r = &d->cfg->receivers[i];
	const struct rcv_state *st = &d->rs[i];
	int64_t wait = maintenance_wait_ms(r);

	if (wait > 0 || r->format == QF_FMT_JSON)
		return wait;
	if (st->inflight)
		return 100; /* one request at a time keeps order and the count exact */
	if (st->cap && sent_since(st, now - 60000) >= r->rate_per_minute && st->n) {
		/* the oldest send in the window must leave it first */
		int64_t oldest = INT64_MAX;
		for (int k = 0; k < st->n; k++) {
			int64_t t = st->sent[(st->head + k) % st->cap];
			if (t > now - 60000 && t < oldest)
				oldest = t;
		}
		wait = oldest + 60000 - now + 1;
	}
	int ps = chat_rate_per_second((enum chat_format)(r->format - 1));
	if (ps && st->cap && sent_since(st, now - 1000) >= ps)
		wait = wait > 1000 ? wait : 1000;
	return wait;
}

static void note_send(struct deliverer *d, int i, int64_t now)
{
	struct rcv_state *st = &d->rs[i];
	if (!st->cap)
		return;
	if (st->n < st->cap) {
		st->sent[(st->head + st->n) % st->cap] = now;
		st->n++;
	} else {
		st->sent[st->head] = now;
		st->head = (st->head + 1) % st->cap;
	}
}

static void set_receivers(struct deliverer *d)
{
	free(d->receivers);
	d->receivers = route_receiver_names(d->cfg);
	free(d->claim_names);
	d->claim_names = xcalloc((size_t)d->cfg->nreceivers + 1, sizeof *d->claim_names);
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
	states_reset(d);
	return d;
}

void deliver_wake(struct deliverer *d)
{
	d->claim_at = 0;
}

bool deliver_claim_due(const struct deliverer *d)
{
	return now_mono_ms() >= d->claim_at;
}

int deliver_wait_ms(const struct deliverer *d)
{
	int64_t now = now_mono_ms(), w = d->claim_at - now;
	if (d->ndone && d->done_since + d->defer_ms - now < w)
		w = d->done_since + d->defer_ms - now;
	return w < 0 ? 0 : w > 1000 ? 1000 : (int)w;
}

void deliver_defer_records(struct deliverer *d, int ms)
{
	d->defer_ms = ms < 0 ? 0 : ms;
}

int deliver_unrecorded(const struct deliverer *d)
{
	return d->ndone;
}

int deliver_record(struct deliverer *d, struct db_session *s)
{
	if (!d->ndone)
		return 0;
	int rc = db_alerts_delivered(s, d->done_ids, d->done_status, d->ndone, d->claimer);
	d->ndone = 0;
	return rc < 0 ? -1 : 0;
}

void deliver_set_observer(struct deliverer *d, deliver_observer fn, void *arg)
{
	d->observe = fn;
	d->observe_arg = arg;
}

void deliver_set_config(struct deliverer *d, const struct qf_config *cfg)
{
	d->claim_at = 0;
	d->cfg = cfg;
	set_receivers(d);
	/* transfers in flight keep their receiver index only for the count of
	 * requests in flight; a reload starts every window afresh */
	states_reset(d);
	for (struct transfer *t = d->list; t; t = t->next)
		t->rcv = -1;
}

static void transfer_free(struct deliverer *d, struct transfer *t)
{
	curl_multi_remove_handle(d->multi, t->easy);
	curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	free(t->body);
	free(t->url);
	free(t->ids);
	buf_free(&t->resp);
	free(t->rcv_name);
	free(t->rcv_url);
	free(t->event);
	free(t->fallback);
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
			if (t->rcv >= 0 && t->rcv < d->nrs)
				d->rs[t->rcv].inflight--;
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
	free(d->receivers);
	free(d->claim_names);
	free(d->done_ids);
	free(d->done_status);
	for (int i = 0; i < d->nrs; i++)
		free(d->rs[i].sent);
	free(d->rs);
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

static void launch(struct deliverer *d, struct transfer *t, const struct qf_receiver *rcv);

/* The json format's headers for t->body, signed now. */
static void json_headers(struct transfer *t)
{
	char hdr[160], sig[WEBHOOK_SIG_MAX];

	curl_slist_free_all(t->headers);
	t->headers = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
	snprintf(hdr, sizeof hdr, "Idempotency-Key: %lld", (long long)t->alert_id);
	t->headers = curl_slist_append(t->headers, hdr);
	snprintf(hdr, sizeof hdr, "X-Qingfeng-Event: %s", t->event);
	t->headers = curl_slist_append(t->headers, hdr);
	if (t->rcv_secret) {
		webhook_sign(t->rcv_secret, time(NULL), t->body, strlen(t->body), sig);
		snprintf(hdr, sizeof hdr, "X-Qingfeng-Signature: %s", sig);
		t->headers = curl_slist_append(t->headers, hdr);
	}
	t->headers = curl_slist_append(t->headers, "Expect:"); /* no 100-continue round trip */
}

static int start(struct deliverer *d, const struct claimed_alert *a)
{
	const struct qf_receiver *rcv = config_receiver(d->cfg, a->receiver);
	struct transfer *t;
	time_t now = time(NULL);

	if (!rcv) /* cannot happen: claims are limited to our receivers */
		return -1;
	t = xcalloc(1, sizeof *t);
	t->alert_id = a->id;
	t->ids = xmalloc(sizeof *t->ids);
	t->ids[0] = t->alert_id;
	t->nids = 1;
	t->rcv = (int)(rcv - d->cfg->receivers);
	t->format = QF_FMT_JSON;
	t->attempts = a->attempts;
	t->too_old = a->too_old;
	t->rcv_name = xstrdup(rcv->name);
	t->rcv_url = xstrdup(rcv->url);
	t->rcv_secret = rcv->secret ? xstrdup(rcv->secret) : NULL;
	buf_init(&t->resp);
	t->event = xstrdup(a->event);
	/* minimal detail: the finding without names, evidence or message */
	bool minimal = rcv->detail == QF_DETAIL_MINIMAL;
	const char *finding_min = a->minimal;
	t->body = webhook_json_body(t->event, t->alert_id, minimal ? a->minimal : a->payload, now);
	if (!minimal && strlen(t->body) > WEBHOOK_BODY_MAX) {
		/* thousands of evidence values: no cut of each keeps the whole
		 * within the limit, but the minimal form always fits */
		log_warn("alert %lld: the finding is over %d bytes even with its texts cut to %d bytes: %s gets the "
			 "minimal form",
			 (long long)t->alert_id, WEBHOOK_BODY_MAX, WEBHOOK_FIELD_MIN, rcv->name);
		free(t->body);
		t->body = webhook_json_body(t->event, t->alert_id, finding_min, now);
		minimal = true;
	}
	if (!minimal)
		t->fallback = webhook_json_body(t->event, t->alert_id, finding_min, now);
	json_headers(t);
	t->url = xstrdup(rcv->url);
	launch(d, t, rcv);
	log_debug("alert %lld: sending to %s (attempt %d)", (long long)t->alert_id, t->rcv_name, t->attempts);
	return 0;
}

/* Starts t's easy handle and counts it in flight. */
static void add_transfer(struct deliverer *d, struct transfer *t)
{
	curl_multi_add_handle(d->multi, t->easy);
	t->next = d->list;
	d->list = t;
	d->inflight++;
	if (t->rcv >= 0 && t->rcv < d->nrs)
		d->rs[t->rcv].inflight++;
}

/* Creates the easy handle for a prepared transfer and starts it. */
static void launch(struct deliverer *d, struct transfer *t, const struct qf_receiver *rcv)
{
	t->easy = curl_easy_init();
	if (!t->easy)
		abort();
	curl_easy_setopt(t->easy, CURLOPT_URL, t->url);
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
	add_transfer(d, t);
}

/* A re-trigger alert's payload carries what changed since the finding's
 * last alert (sql/023, "changes"): in a chat message it heads the
 * message, e.g. "自上次告警以来 since the last alert: 11 次新命中 new
 * hits; mad 0.0121 → 0.0187". Replaces p's message; nothing without
 * changes. */
static void chat_changes(json_t *p)
{
	json_t *ch = json_object_get(p, "changes");
	if (!json_is_object(ch))
		return;
	struct buf b;
	const char *k;
	json_t *v;
	buf_init(&b);
	buf_printf(&b, "自上次告警以来 since the last alert: %lld 次新命中 new hit(s)",
		   (long long)json_integer_value(json_object_get(ch, "new_hits")));
	const char *was = json_string_value(json_object_get(ch, "level_before"));
	const char *now = json_string_value(json_object_get(p, "level"));
	if (was && now && strcmp(was, now))
		buf_printf(&b, "; 等级 level %s → %s", was, now);
	int shown = 0;
	json_object_foreach(json_object_get(ch, "evidence"), k, v)
	{
		if (shown++ == 8) {
			buf_puts(&b, "; …");
			break;
		}
		char *before = json_dumps(json_object_get(v, "before"), JSON_ENCODE_ANY | JSON_COMPACT);
		char *after = json_dumps(json_object_get(v, "after"), JSON_ENCODE_ANY | JSON_COMPACT);
		buf_printf(&b, "; %s %.64s → %.64s", k, before ? before : "-", after ? after : "-");
		free(before);
		free(after);
	}
	const char *msg = json_string_value(json_object_get(p, "message"));
	buf_printf(&b, "\n%s", msg ? msg : "");
	json_object_set_new(p, "message", json_string_or_fixed(b.data));
	buf_free(&b);
}

/* One request to a chat receiver for the alerts claimed for it in rows
 * (indices into cl): a single message, or a digest of several. Alerts
 * that do not fit the platform's byte limit are given back untried. */
static int start_chat(struct deliverer *d, struct db_session *s, const struct claimed_alerts *cl, const int *rows,
		      int n, int ri)
{
	const struct qf_receiver *rcv = &d->cfg->receivers[ri];
	enum chat_format f = (enum chat_format)(rcv->format - 1);
	struct chat_alert *al = xcalloc((size_t)n, sizeof *al);
	json_t **parsed = xcalloc((size_t)n, sizeof *parsed);
	char **links = xcalloc((size_t)n, sizeof *links);
	int top = QF_YELLOW, included = 0;
	struct transfer *t;

	for (int k = 0; k < n; k++) {
		const struct claimed_alert *a = &cl->v[rows[k]];
		json_t *p = json_loads(a->payload, 0, NULL);
		parsed[k] = p;
		chat_changes(p);
		al[k].event = a->event;
		al[k].alert_id = a->id;
		al[k].finding_id = json_integer_value(json_object_get(p, "id"));
		al[k].rule_id = json_string_value(json_object_get(p, "rule_id"));
		al[k].title = json_string_value(json_object_get(p, "title"));
		al[k].level = json_string_value(json_object_get(p, "level"));
		al[k].supervision = json_string_value(json_object_get(p, "supervision"));
		al[k].risk = json_string_value(json_object_get(p, "risk"));
		al[k].duty = json_string_value(json_object_get(p, "duty"));
		al[k].department = json_string_value(json_object_get(p, "department"));
		al[k].subject = json_string_value(json_object_get(p, "subject"));
		al[k].status = json_string_value(json_object_get(p, "status"));
		al[k].message = json_string_value(json_object_get(p, "message"));
		al[k].hit_count = (long)json_integer_value(json_object_get(p, "hit_count"));
		/* the evidence as PostgreSQL wrote it: amounts keep their digits */
		al[k].evidence_json = a->evidence;
		al[k].owner = json_string_value(json_object_get(p, "owner"));
		json_t *late = json_object_get(p, "overdue");
		if (json_is_object(late)) {
			al[k].overdue_step = json_string_value(json_object_get(late, "step"));
			al[k].overdue_due = json_string_value(json_object_get(late, "due"));
			al[k].days_late = json_number_value(json_object_get(late, "days_late"));
		}
		if (d->cfg->console.url) {
			size_t len = strlen(d->cfg->console.url) + 40;
			links[k] = xmalloc(len);
			snprintf(links[k], len, "%s/findings/%lld", d->cfg->console.url, al[k].finding_id);
			al[k].link = links[k];
		}
		int lv = level_parse(al[k].level);
		if (lv > top)
			top = lv;
	}
	/* mentions of the highest level in the message */
	const struct strlist *m = &rcv->mentions[top];
	struct chat_opts o = {.minimal = rcv->detail == QF_DETAIL_MINIMAL,
			      .mentions = (const char *const *)m->v,
			      .nmentions = m->n,
			      .secret = rcv->secret,
			      .now_s = (long long)time(NULL)};
	char *body = chat_render(f, al, n, &o, &included);
	if (included < 1)
		included = 1;
	/* the same alerts in minimal form, should the full message get HTTP
	 * 413; its lines are shorter, so it covers them all */
	char *fallback = NULL;
	if (!o.minimal) {
		struct chat_opts om = o;
		int inc_min = 0;
		om.minimal = true;
		fallback = chat_render(f, al, included, &om, &inc_min);
		if (inc_min != included) {
			free(fallback);
			fallback = NULL;
		}
	}
	for (int k = included; k < n; k++)
		if (db_alert_release(s, al[k].alert_id, d->claimer) < 0)
			log_warn("alert %lld: its claim will expire instead", (long long)al[k].alert_id);

	t = xcalloc(1, sizeof *t);
	t->format = rcv->format;
	t->rcv = ri;
	t->nids = included;
	t->ids = xcalloc((size_t)included, sizeof *t->ids);
	for (int k = 0; k < included; k++) {
		t->ids[k] = al[k].alert_id;
		const struct claimed_alert *a = &cl->v[rows[k]];
		if (a->attempts > t->attempts)
			t->attempts = a->attempts;
		t->too_old |= a->too_old;
	}
	t->alert_id = t->ids[0];
	t->rcv_name = xstrdup(rcv->name);
	t->rcv_url = xstrdup(rcv->url);
	t->rcv_secret = rcv->secret ? xstrdup(rcv->secret) : NULL;
	buf_init(&t->resp);
	t->body = body;
	t->fallback = fallback;
	t->url = chat_url(f, rcv->url, rcv->secret, now_real_ms());
	t->headers = curl_slist_append(t->headers, "Content-Type: application/json; charset=utf-8");
	t->headers = curl_slist_append(t->headers, "Expect:");
	launch(d, t, rcv);
	note_send(d, ri, now_mono_ms());
	log_debug("%s: sending %d alert(s) in one message (first %lld)", rcv->name, included, (long long)t->alert_id);
	for (int k = 0; k < n; k++) {
		json_decref(parsed[k]);
		free(links[k]);
	}
	free(parsed);
	free(links);
	free(al);
	return included;
}

static int64_t next_send_ms(const struct deliverer *d);

bool deliver_claim_req(struct deliverer *d, struct claim_req *q)
{
	int room = d->cfg->max_in_flight - d->inflight;
	int max_timeout = 0;
	int64_t now = now_mono_ms();

	memset(q, 0, sizeof *q);
	if (room <= 0 || d->cfg->nreceivers == 0) {
		d->saturated = room <= 0;
		return false;
	}
	/* claim only for receivers that may send now: a chat receiver over its
	 * rate keeps its alerts pending, to go out together in one digest */
	int neligible = 0;
	for (int i = 0; i < d->cfg->nreceivers; i++) {
		if (d->cfg->receivers[i].timeout_ms > max_timeout)
			max_timeout = d->cfg->receivers[i].timeout_ms;
		if (send_wait_ms(d, i, now) == 0)
			d->claim_names[neligible++] = d->cfg->receivers[i].name;
	}
	if (neligible == 0) {
		d->claim_at = now + 1000;
		int64_t wait = next_send_ms(d);
		if (wait > 0 && now + wait < d->claim_at)
			d->claim_at = now + wait;
		return false;
	}
	q->receivers = d->claim_names;
	q->nreceivers = neligible;
	q->limit = room;
	/* the lease outlives the slowest request, so only a dead daemon's
	 * claims ever expire */
	q->lease_s = max_timeout / 1000 + 1 + d->cfg->lease_margin_s;
	q->max_age_s = d->cfg->max_age_s;
	q->claimer = d->claimer;
	return true;
}

int deliver_start_claimed(struct deliverer *d, struct db_session *s, struct claimed_alerts *cl)
{
	int64_t now = now_mono_ms();
	int room = d->cfg->max_in_flight - d->inflight;
	int n = cl->n, started = 0;
	int *rows = xcalloc((size_t)n + 1, sizeof *rows);

	d->claim_at = now + 1000;
	d->saturated = n >= room;
	int64_t wait = next_send_ms(d); /* a chat receiver's window reopens */
	if (wait > 0 && now + wait < d->claim_at)
		d->claim_at = now + wait;
	for (int i = 0; i < d->cfg->nreceivers; i++) {
		const struct qf_receiver *r = &d->cfg->receivers[i];
		int k = 0;
		for (int row = 0; row < n; row++)
			if (!strcmp(cl->v[row].receiver, r->name))
				rows[k++] = row;
		if (!k)
			continue;
		if (r->format == QF_FMT_JSON) {
			for (int j = 0; j < k; j++)
				if (start(d, &cl->v[rows[j]]) == 0)
					started++;
		} else {
			started += start_chat(d, s, cl, rows, k, i);
		}
	}
	free(rows);
	claimed_alerts_free(cl);
	/* send now rather than at the loop's next turn: alerts wait for nothing */
	if (started) {
		int running;
		curl_multi_perform(d->multi, &running);
	}
	return started;
}

int deliver_fill(struct deliverer *d, struct db_session *s)
{
	struct claim_req q;

	if (!deliver_claim_req(d, &q))
		return 0;
	struct claimed_alerts *cl = db_claim_alerts(s, &q);
	if (!cl)
		return -1;
	return deliver_start_claimed(d, s, cl);
}

/* ms until a rate-limited receiver may send again (0: none is waiting) */
static int64_t next_send_ms(const struct deliverer *d)
{
	int64_t best = 0, now = now_mono_ms();
	for (int i = 0; i < d->nrs; i++) {
		int64_t w = send_wait_ms(d, i, now);
		if (w > 0 && (best == 0 || w < best))
			best = w;
	}
	return best;
}

void deliver_wait(struct deliverer *d, struct curl_waitfd *extra, unsigned nextra, int timeout_ms, bool reap_next)
{
	int numfds;

	if (timeout_ms < 0)
		timeout_ms = 0;
	/* A response curl has already read (in the perform that started the
	 * next request, say) leaves nothing on its socket to wake the poll:
	 * the finished transfer would wait out the whole timeout, a second
	 * (seen under load: chat messages a second apart). Such a transfer is
	 * no longer running, so go and reap it instead. */
	int running = 0;
	curl_multi_perform(d->multi, &running);
	if (reap_next && running < d->inflight)
		return;
	curl_multi_poll(d->multi, extra, nextra, timeout_ms, &numfds);
}

/* Stars in s every credential of t's receiver: those of its configured
 * URL and secret, and those of the URL requested (DingTalk's adds a sign,
 * good for an hour). */
static void scrub(const struct transfer *t, char *s)
{
	scrub_receiver(s, t->rcv_url, t->rcv_secret);
	if (t->url && t->rcv_url && strcmp(t->url, t->rcv_url) != 0)
		scrub_receiver(s, t->url, NULL);
}

/* The receiver's answer (what we kept of it) as valid UTF-8, its
 * receiver's credentials starred: a proxy's error page may echo the
 * request line, tokens and all. Caller frees. */
static char *answer_scrubbed(const struct transfer *t)
{
	char *s = utf8_sanitize(t->resp.data ? t->resp.data : "", t->resp.len);

	scrub(t, s);
	return s;
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
		/* scrubbed before the cut: a token cut in two would match no
		 * more, and its first half would stay */
		char *body = answer_scrubbed(t);
		size_t cut = utf8_cut(body, strlen(body), 200);
		for (size_t i = 0; i < cut; i++) /* one line in logs */
			if ((unsigned char)body[i] < 0x20)
				body[i] = ' ';
		buf_printf(&b, "HTTP %ld: %.*s%s", status, (int)cut, body, cut < strlen(body) ? "…" : "");
		free(body);
	}
	char *s = buf_steal(&b);
	scrub(t, s);
	return s;
}

/*
 * HTTP 413: the receiver (or a proxy before it) refuses the body's size.
 * Going dead would lose the alert for a limit the minimal form (rule,
 * level, department, finding id; small for any receiver that takes alerts
 * at all) is under, so that is sent at once, in the same attempt and
 * lease, instead. The outcome of that request decides the alert's.
 */
static void resend_minimal(struct deliverer *d, struct transfer *t, const char *err)
{
	t->full_len = strlen(t->body);
	log_warn("alert %lld%s: %s refused %zu bytes (%s): sending the minimal form (%zu bytes) at once",
		 (long long)t->alert_id, t->nids > 1 ? " and others" : "", t->rcv_name, t->full_len, err,
		 strlen(t->fallback));
	curl_multi_remove_handle(d->multi, t->easy);
	free(t->body);
	t->body = t->fallback;
	t->fallback = NULL;
	if (t->format == QF_FMT_JSON)
		json_headers(t);
	buf_reset(&t->resp);
	t->errbuf[0] = '\0';
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(t->body));
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
	add_transfer(d, t);
	if (t->format != QF_FMT_JSON && t->rcv >= 0 && t->rcv < d->nrs)
		note_send(d, t->rcv, now_mono_ms()); /* the robot counts it */
}

/* Records the outcome of t's request: 0, -1 when it could not be
 * recorded, or 1 when t was sent again (HTTP 413) and is in flight. */
static int finish(struct deliverer *d, struct db_session *s, struct transfer *t, CURLcode code)
{
	long status = 0;
	int rc = 0;
	bool ok, retryable;
	char *err;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (t->format == QF_FMT_JSON) {
		ok = code == CURLE_OK && status >= 200 && status < 300;
		/* 429, 5xx and transport errors are worth retrying; any other
		 * answer means the request itself is wrong and will stay wrong */
		retryable = code != CURLE_OK || status == 429 || status >= 500;
		err = ok ? NULL : describe(t, code, status);
	} else {
		/* chat APIs answer 200 even on failure: their code decides */
		char why[300] = "";
		enum chat_format f = (enum chat_format)(t->format - 1);
		enum chat_verdict v = code != CURLE_OK ? CHAT_RETRY
					: chat_classify(f, status, t->resp.data ? t->resp.data : "", t->resp.len, NULL, 0);
		ok = v == CHAT_OK;
		retryable = v == CHAT_RETRY;
		if (ok) {
			err = NULL;
		} else if (code != CURLE_OK) {
			err = describe(t, code, status);
		} else {
			/* the verdict from the answer as sent, the reason from
			 * the answer scrubbed: the excerpt it quotes is cut short,
			 * and a token cut in two would no longer be found */
			char *clean = answer_scrubbed(t);
			chat_classify(f, status, clean, strlen(clean), why, sizeof why);
			free(clean);
			err = xstrdup(why);
			scrub(t, err);
		}
	}
	if (!ok && code == CURLE_OK && status == 413 && t->fallback) {
		resend_minimal(d, t, err);
		free(err);
		return 1;
	}
	if (!ok && t->full_len) {
		char *e = err;
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "%s (the minimal form, after HTTP 413 for the full one of %zu bytes)", e, t->full_len);
		err = buf_steal(&b);
		free(e);
	}
	bool dead = !ok && (!retryable || t->attempts >= d->cfg->max_attempts || t->too_old);
	if (d->observe)
		d->observe(d->observe_arg, t->rcv_name, ok ? DELIVER_OK : dead ? DELIVER_DEAD : DELIVER_RETRY, t->nids);
	if (ok) {
		if (t->full_len) /* the receiver has less than it should: say so louder */
			log_warn("alert %lld%s: delivered to %s (HTTP %ld, attempt %d) in the minimal form, after HTTP "
				 "413 for the full one of %zu bytes",
				 (long long)t->alert_id, t->nids > 1 ? " and others in one message" : "", t->rcv_name,
				 status, t->attempts, t->full_len);
		else
			log_info("alert %lld%s: delivered to %s (HTTP %ld, attempt %d)", (long long)t->alert_id,
				 t->nids > 1 ? " and others in one message" : "", t->rcv_name, status, t->attempts);
		for (int k = 0; k < t->nids; k++) {
			if (d->ndone == d->done_cap) {
				d->done_cap = d->done_cap ? 2 * d->done_cap : 64;
				d->done_ids = xrealloc(d->done_ids, sizeof *d->done_ids * (size_t)d->done_cap);
				d->done_status = xrealloc(d->done_status, sizeof *d->done_status * (size_t)d->done_cap);
			}
			if (!d->ndone)
				d->done_since = now_mono_ms();
			d->done_ids[d->ndone] = t->ids[k];
			d->done_status[d->ndone++] = (int)status;
		}
		return 0;
	}
	double retry = deliver_backoff_s(d->cfg, t->attempts, jitter());
	curl_off_t after = 0;
	if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
		retry = fmax(retry, fmin((double)after, 86400.0));
	if (dead)
		log_err("alert %lld%s: %s gave up after %d attempt(s): %s%s", (long long)t->alert_id,
			t->nids > 1 ? " and others" : "", t->rcv_name, t->attempts, err,
			retryable ? (t->too_old ? " (alert older than max_age)" : " (max_attempts reached)")
				  : " (not retryable: check the receiver's configuration)");
	else
		log_warn("alert %lld%s: %s failed (attempt %d), retry in %.1f s: %s", (long long)t->alert_id,
			 t->nids > 1 ? " and others" : "", t->rcv_name, t->attempts, retry, err);
	for (int k = 0; k < t->nids; k++)
		if (db_alert_failed(s, t->ids[k], d->claimer, (int)status, err, dead ? 0 : retry, dead) < 0)
			rc = -1;
	if (!dead && now_mono_ms() + (int64_t)(retry * 1000) < d->claim_at)
		d->claim_at = now_mono_ms() + (int64_t)(retry * 1000);
	free(err);
	return rc;
}

int deliver_reap(struct deliverer *d, struct db_session *s, bool refill)
{
	int running, left, done = 0, rc = 0;
	bool resent = false;
	CURLMsg *m;

	curl_multi_perform(d->multi, &running);
	while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
		struct transfer *t = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		CURLcode code = m->data.result;
		unlink_transfer(d, t);
		if (d->saturated) /* a slot is free for what the last claim left behind */
			d->claim_at = 0;
		int fr = finish(d, s, t, code);
		if (fr < 0)
			rc = -1; /* the lease expires and the alert is retried */
		if (fr == 1) { /* in flight again, in its minimal form */
			resent = true;
			continue;
		}
		transfer_free(d, t);
		done++;
	}
	if (resent)
		curl_multi_perform(d->multi, &running);
	/* the next requests first: recording waits for nobody, the receiver
	 * does (delivered alerts stay leased to us until recorded, so the
	 * claim cannot take them again) */
	if (refill && done && deliver_claim_due(d) && deliver_fill(d, s) < 0)
		rc = -1;
	/* on failure the claims expire and the alerts are sent again: at
	 * least once, under the same Idempotency-Key. Stopping (no refill)
	 * records at once. */
	if (!refill || d->ndone >= 64 || now_mono_ms() - d->done_since >= d->defer_ms)
		if (deliver_record(d, s) < 0)
			rc = -1;
	return rc < 0 ? -1 : done;
}

void deliver_abort(struct deliverer *d, struct db_session *s, const char *why)
{
	while (d->list) {
		struct transfer *t = d->list;
		unlink_transfer(d, t);
		for (int k = 0; k < t->nids; k++)
			if (s && db_alert_failed(s, t->ids[k], d->claimer, 0, why, 0, false) < 0)
				log_warn("alert %lld: its claim will expire instead", (long long)t->ids[k]);
		transfer_free(d, t);
	}
}

int deliver_once(struct deliverer *d, struct db_session *s, int deadline_s)
{
	int64_t deadline = now_mono_ms() + (int64_t)deadline_s * 1000;

	for (;;) {
		int started = deliver_fill(d, s);
		if (started < 0)
			return -1;
		int64_t left = deadline - now_mono_ms();
		if (d->inflight == 0) {
			double due = db_next_due(s, d->receivers, d->cfg->nreceivers);
			double wait_ms = due * 1000 + 1;
			if (due >= 0 && started == 0 && due <= 0)
				wait_ms = (double)(next_send_ms(d) > 0 ? next_send_ms(d) : 50); /* rate-limited */
			if (due < 0 || wait_ms >= (double)left)
				break; /* nothing pending, or not due within this pass */
			deliver_wait(d, NULL, 0, (int)wait_ms, true);
			continue;
		}
		if (left <= 0) {
			deliver_abort(d, s, "delivery pass deadline reached before the receiver answered");
			break;
		}
		deliver_wait(d, NULL, 0, left < 1000 ? (int)left : 1000, true);
		if (deliver_reap(d, s, true) < 0)
			return -1;
	}
	double due = db_next_due(s, d->receivers, d->cfg->nreceivers);
	if (due < 0)
		return 0;
	int pending = db_pending_count(s, d->receivers, d->cfg->nreceivers);
	return pending;
}
