/* Watching the watchers: the daemon's control events and anchors (trust.h). */
#include "trust.h"

#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_trust.h"
#include "log.h"
#include "utf8.h"
#include "util.h"

/* after a control event, the anchor waits this long, so that a burst of
 * events (a start writes three) makes one anchor */
#define CONTROL_SETTLE_MS 300

struct trust {
	const struct qf_config *cfg;
	const struct qf_ruleset *set;
	char identity[PATH_MAX + 300];
	char host[256];
	char config_hash[65];
	bool started;	     /* the start's events are written */
	bool reload_pending; /* a reload's rule set is still to be written */
	int64_t anchor_at;   /* the next periodic anchor (monotonic ms) */
	int64_t control_at;  /* the anchor after a control event, INT64_MAX: none */
	int anchor_every_s;  /* as configured when anchor_at was set */
};

/* sha256 of the file's bytes, hex; "" when it cannot be read */
static void file_hash(const char *path, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "rb");
	EVP_MD_CTX *x = EVP_MD_CTX_new();

	out[0] = 0;
	if (!f || !x || EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		EVP_DigestUpdate(x, buf, n);
	if (!ferror(f) && EVP_DigestFinal_ex(x, md, &mdlen) == 1)
		for (unsigned i = 0; i < mdlen && i < 32; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
out:
	if (f)
		fclose(f);
	EVP_MD_CTX_free(x);
}

static json_t *param_value(const struct qf_param *p)
{
	json_t *v = p->numeric ? json_loads(p->value, JSON_DECODE_ANY, NULL) : NULL;
	return v ? v : json_string_or_fixed(p->value);
}

/* The effective rule set as the chain records it: per rule id its
 * version, enabled, level, parameters and exceptions after the
 * deployment's overrides. Caller frees. */
static char *rules_json(const struct qf_ruleset *set)
{
	json_t *all = json_object();

	for (int i = 0; i < set->n; i++) {
		const struct qf_rule *r = &set->rules[i];
		json_t *o = json_object(), *params = json_object(), *exc = json_array();
		for (int k = 0; k < r->nparams; k++)
			json_object_set_new(params, r->params[k].name, param_value(&r->params[k]));
		for (int k = 0; k < r->nexceptions; k++) {
			const struct qf_exception *e = &r->exceptions[k];
			json_t *m = json_object();
			for (int j = 0; j < e->nfields; j++)
				json_object_set_new(m, e->fields[j].name, param_value(&e->fields[j]));
			json_array_append_new(exc, json_pack("{s:o, s:s?, s:s?}", "match", m, "until", e->until,
							     "reason", e->reason));
		}
		json_object_set_new(o, "version", json_string(r->version));
		json_object_set_new(o, "enabled", json_boolean(r->enabled));
		json_object_set_new(o, "level", json_string(level_name(r->level)));
		json_object_set_new(o, "params", params);
		json_object_set_new(o, "exceptions", exc);
		json_object_set_new(all, r->id, o);
	}
	char *text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(all);
	return text;
}

/* {host, pid, version, config, config_hash, ...extra}; caller frees */
static char *detail_json(const struct trust *t, bool with_config)
{
	json_t *o = json_pack("{s:s, s:i, s:s}", "host", t->host, "pid", (json_int_t)getpid(), "version", QF_VERSION);
	if (with_config) {
		json_object_set_new(o, "config", json_string_or_fixed(t->cfg->path));
		json_object_set_new(o, "config_hash", json_string(t->config_hash));
	}
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

static void set_identity(struct trust *t)
{
	char real[PATH_MAX];

	if (t->cfg->identity) {
		snprintf(t->identity, sizeof t->identity, "%s", t->cfg->identity);
		return;
	}
	if (!realpath(t->cfg->path, real))
		snprintf(real, sizeof real, "%s", t->cfg->path);
	snprintf(t->identity, sizeof t->identity, "%s:%s", t->host, real);
}

struct trust *trust_new(const struct qf_config *cfg, const struct qf_ruleset *set)
{
	struct trust *t = xcalloc(1, sizeof *t);

	t->cfg = cfg;
	t->set = set;
	if (gethostname(t->host, sizeof t->host - 1) != 0)
		snprintf(t->host, sizeof t->host, "unknown");
	set_identity(t);
	file_hash(cfg->path, t->config_hash);
	t->control_at = INT64_MAX;
	t->anchor_every_s = cfg->anchor_every_s;
	return t;
}

void trust_free(struct trust *t)
{
	free(t);
}

/* the settings and the rule set (at start always, at a reload if changed) */
static int write_rules(struct trust *t, struct db_session *c, bool reload)
{
	char *err = NULL, *rules = rules_json(t->set), *detail = detail_json(t, true);
	bool written = false;
	int rc = db_trust_settings(c, t->cfg->four_eyes, &err);

	if (rc == 0)
		rc = db_trust_rules(c, t->identity, reload, t->config_hash, rules, detail, &written, &err);
	if (rc < 0) {
		log_err("cannot record the %s rule set in the history chain: %s", reload ? "reloaded" : "started",
			err ? err : "?");
	} else if (written) {
		log_info("recorded the %s rule set (%d rule(s), configuration %.12s) in the history chain",
			 reload ? "reloaded" : "started", t->set->n, t->config_hash);
	}
	free(err);
	free(rules);
	free(detail);
	return rc;
}

void trust_connected(struct trust *t, struct db_session *c)
{
	char *err = NULL;

	if (!t->started) {
		char *detail = detail_json(t, true);
		bool unclean = false;
		int rc = db_trust_started(c, t->identity, detail, &unclean, &err);
		free(detail);
		if (rc < 0) {
			log_err("cannot record the daemon's start in the history chain: %s", err ? err : "?");
			free(err);
			return;
		}
		if (unclean)
			log_warn("the last run of %s ended without a clean stop; recorded in the history chain",
				 t->identity);
		t->started = true;
		t->reload_pending = false;
		if (write_rules(t, c, false) < 0)
			t->reload_pending = true;
		t->anchor_at = 0;
		return;
	}
	if (t->reload_pending && write_rules(t, c, true) == 0)
		t->reload_pending = false;
}

void trust_reloaded(struct trust *t, struct db_session *c, const struct qf_config *cfg, const struct qf_ruleset *set)
{
	/* the old cfg is freed already */
	t->cfg = cfg;
	t->set = set;
	file_hash(cfg->path, t->config_hash);
	if (t->anchor_every_s != cfg->anchor_every_s)
		t->anchor_at = 0;
	t->reload_pending = true;
	if (t->started && db_ok(c) && write_rules(t, c, true) == 0)
		t->reload_pending = false;
}

void trust_control(struct trust *t)
{
	int64_t at = now_mono_ms() + CONTROL_SETTLE_MS;
	if (at < t->control_at)
		t->control_at = at;
}

bool trust_tick(struct trust *t, struct db_session *c, const char *now_text)
{
	const struct strlist *rcv = &t->cfg->anchor_receivers;

	if (db_trust_control_notified(c))
		trust_control(t);
	int64_t now = now_mono_ms();
	if (!rcv->n || !db_ok(c) || (now < t->anchor_at && now < t->control_at))
		return false;
	json_t *a = json_array();
	for (int i = 0; i < rcv->n; i++)
		json_array_append_new(a, json_string(rcv->v[i]));
	char *names = json_dumps(a, JSON_COMPACT), *err = NULL;
	json_decref(a);
	long n = db_trust_anchor(c, names, now_text, &err);
	free(names);
	if (n < 0) {
		log_err("cannot queue the chain anchor: %s", err ? err : "?");
		free(err);
		t->control_at = now + 5000; /* again soon */
		return false;
	}
	log_debug("queued the chain head for %ld anchor receiver(s)", n);
	t->anchor_every_s = t->cfg->anchor_every_s;
	t->anchor_at = now + (int64_t)t->anchor_every_s * 1000;
	t->control_at = INT64_MAX;
	return n > 0;
}

void trust_stopped(struct trust *t, struct db_session *c)
{
	char *err = NULL, *detail = detail_json(t, false);

	if (t->started && db_ok(c) && db_trust_stopped(c, t->identity, detail, &err) < 0) {
		log_err("cannot record the daemon's stop in the history chain: %s", err ? err : "?");
		free(err);
	}
	free(detail);
}

void trust_once(struct db_session *c, const struct qf_config *cfg, const struct qf_ruleset *set)
{
	struct trust *t = trust_new(cfg, set);
	t->started = true;
	(void)write_rules(t, c, true);
	trust_free(t);
}
