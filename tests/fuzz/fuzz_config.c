/* Fuzz target: the configuration parser (daemon/config.c, cfgutil.c).
 *
 * Input: a qingfeng.conf, written to a file in a private temp dir (the
 * parser takes a path) and loaded with config_load(). Invariants:
 *   - a config comes back exactly when no error was reported;
 *   - the diagnostics are one FILE:LINE line per error (check_diag);
 *   - an accepted config holds only what qingfeng.conf(5) allows: every
 *     number in its range, every receiver named uniquely with an http(s)
 *     URL, a timeout that is a timeout, no secret where the format has
 *     none, routes pointing at receivers that exist, overrides complete.
 */
#include "config.h"
#include "fuzz.h"

static bool in(long long v, long long lo, long long hi)
{
	return v >= lo && v <= hi;
}

static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 1 && n <= 63 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.") == n;
}

static bool all_of(const struct strlist *l, const char *const *set)
{
	for (int i = 0; i < l->n; i++) {
		bool found = false;
		for (int k = 0; set[k]; k++)
			found |= !strcmp(l->v[i], set[k]);
		if (!found || !*l->v[i])
			return false;
	}
	return true;
}

static void check_config(const struct qf_config *c)
{
	static const char *const sup[] = { "technical", "financial", "disciplinary", NULL };
	static const char *const risk[] = { "technical", "non-technical", NULL };
	static const char *const duty[] = { "primary", "supervisory", "dual-duty", "impartiality", NULL };

	FUZZ_CHECK(c->path && c->conninfo && c->rules_dir, "config: path, conninfo or rules_dir missing");
	FUZZ_CHECK(c->timezone && *c->timezone && c->timezone[0] != '/' && !strstr(c->timezone, ".."),
		   "config: timezone '%s'", c->timezone);
	FUZZ_CHECK(c->metrics_listen, "config: metrics_listen");
	if (*c->metrics_listen) {
		const char *colon = strrchr(c->metrics_listen, ':');
		FUZZ_CHECK(colon && colon != c->metrics_listen, "config: metrics listen '%s'", c->metrics_listen);
	}
	FUZZ_CHECK(in(c->connect_timeout_s, 1, 300) && in(c->statement_timeout_ms, 100, 3600000) &&
			   in(c->log_level, 3, 7) && in(c->eval_interval_s, 1, 86400) &&
			   in(c->clock_interval_s, 1, 86400) && in(c->escalate_after_days, 1, 3650) &&
			   in(c->remind_red_hours, 0, 24 * 365),
		   "config: a database, evaluation or escalation setting out of range");
	FUZZ_CHECK(in(c->max_attempts, 1, 1000) && in(c->max_age_s, 60, 90 * 86400) && in(c->max_in_flight, 1, 4096) &&
			   in(c->once_deadline_s, 1, 3600) && in(c->lease_margin_s, 1, 3600) &&
			   in(c->backoff_initial_ms, 10, 3600000) && in(c->backoff_max_ms, 10, 86400000),
		   "config: a delivery setting out of range (backoff %d..%d ms)", c->backoff_initial_ms,
		   c->backoff_max_ms);

	for (int i = 0; i < c->nreceivers; i++) {
		const struct qf_receiver *r = &c->receivers[i];
		bool chat = r->format != QF_FMT_JSON;
		FUZZ_CHECK(name_ok(r->name), "receiver %d: name", i);
		FUZZ_CHECK(config_receiver(c, r->name) == r, "receiver '%s': the name is not unique", r->name);
		FUZZ_CHECK(in(r->format, QF_FMT_JSON, QF_FMT_SLACK) && in(r->detail, 0, 1), "receiver '%s': format/detail",
			   r->name);
		FUZZ_CHECK(r->url && (!strncmp(r->url, "http://", 7) || !strncmp(r->url, "https://", 8)),
			   "receiver '%s': url", r->name);
		/* 0 would be no timeout at all to libcurl */
		FUZZ_CHECK(in(r->timeout_ms, 1, 300000), "receiver '%s': timeout_ms %d", r->name, r->timeout_ms);
		FUZZ_CHECK(!r->secret || *r->secret, "receiver '%s': an empty secret", r->name);
		FUZZ_CHECK(!r->secret || (r->format != QF_FMT_WECOM && r->format != QF_FMT_SLACK),
			   "receiver '%s': a secret for a format without one", r->name);
		FUZZ_CHECK(chat ? r->rate_per_minute >= 1 : r->rate_per_minute == 0, "receiver '%s': rate %d", r->name,
			   r->rate_per_minute);
		for (int lv = 0; lv < 4; lv++) {
			FUZZ_CHECK(chat || !r->mentions[lv].n, "receiver '%s': mentions on json", r->name);
			FUZZ_CHECK(lv || !r->mentions[lv].n, "receiver '%s': mentions for no level", r->name);
			for (int k = 0; k < r->mentions[lv].n; k++)
				FUZZ_CHECK(r->mentions[lv].v[k] && *r->mentions[lv].v[k], "receiver '%s': an empty mention",
					   r->name);
		}
		for (int k = 0; k < r->nmaintenance; k++) {
			const struct qf_window *w = &r->maintenance[k];
			FUZZ_CHECK(in(w->days, 0, 0x7f) && in(w->from_min, 0, 1440) && in(w->to_min, 0, 1440),
				   "receiver '%s': maintenance window %d (days %#x, %d-%d)", r->name, k, w->days, w->from_min,
				   w->to_min);
		}
		FUZZ_CHECK(r->file && r->line >= 0, "receiver '%s': no position", r->name);
	}
	for (int i = 0; i < c->nroutes; i++) {
		const struct qf_route *rt = &c->routes[i];
		FUZZ_CHECK(in(rt->min_level, QF_LEVEL_NONE, QF_RED), "route %d: min_level", i);
		for (int k = 0; k < rt->nreceivers; k++)
			FUZZ_CHECK(in(rt->receivers[k], 0, c->nreceivers - 1), "route %d: receiver index %d", i,
				   rt->receivers[k]);
		FUZZ_CHECK(all_of(&rt->supervision, sup) && all_of(&rt->risk, risk) && all_of(&rt->duty, duty),
			   "route %d: a dimension outside the 423 vocabulary", i);
	}
	for (int i = 0; i < c->noverrides; i++) {
		const struct qf_override *o = &c->overrides[i];
		FUZZ_CHECK(o->rule_id && in(o->enabled, -1, 1) && in(o->level, QF_LEVEL_NONE, QF_RED),
			   "override %d: id, enabled or level", i);
		for (int k = 0; k < o->nparams; k++)
			FUZZ_CHECK(o->params[k].name && o->params[k].value, "override %s: parameter %d", o->rule_id, k);
		for (int k = 0; k < o->nexceptions; k++) {
			const struct qf_exception *e = &o->exceptions[k];
			FUZZ_CHECK(e->until && e->reason && *e->reason && e->nfields >= 1,
				   "override %s: exception %d incomplete", o->rule_id, k);
			for (int m = 0; m < e->nfields; m++)
				FUZZ_CHECK(e->fields[m].name && e->fields[m].value, "override %s: exception field", o->rule_id);
		}
	}
	for (int i = 0; i < c->files.n; i++)
		for (int k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(c->files.v[i], c->files.v[k]), "config: file '%s' interned twice", c->files.v[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_write("in.conf", data, size);
	struct qf_config *cfg;
	struct diag d;

	diag_init(&d);
	fuzz_guard = true;
	cfg = config_load(path, &d);
	fuzz_guard = false;
	FUZZ_CHECK((cfg != NULL) == (d.errors == 0), "config_load returned %s with %d errors", cfg ? "a config" : "NULL",
		   d.errors);
	check_diag(&d, "config");
	if (cfg)
		check_config(cfg);
	config_free(cfg);
	diag_free(&d);
	return 0;
}
