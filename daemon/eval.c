/* The evaluation pass. C touches only the hits a rule returns (to render
 * messages and route them), never the records themselves. */
#include "eval.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "route.h"
#include "utf8.h"

/* Appends one hit as a JSON object. The evidence text from PostgreSQL is
 * spliced in unparsed, so numeric(14,2) amounts keep their exact digits. */
static void add_hit(struct buf *out, const struct qf_config *cfg, const struct qf_rule *r, PGresult *res, int row,
		    int *ridx)
{
	const char *key = PQgetvalue(res, row, 0);
	const char *subject = PQgetisnull(res, row, 1) ? NULL : PQgetvalue(res, row, 1);
	const char *dept = PQgetisnull(res, row, 2) ? NULL : PQgetvalue(res, row, 2);
	const char *evidence = PQgetvalue(res, row, 3);
	json_t *vars = json_loads(PQgetvalue(res, row, 4), 0, NULL);
	json_t *o = json_object();

	if (!vars)
		vars = json_object();
	json_object_set_new(vars, "key", json_string_or_fixed(key));
	json_object_set_new(vars, "subject", subject ? json_string_or_fixed(subject) : json_null());
	json_object_set_new(vars, "department", dept ? json_string_or_fixed(dept) : json_null());
	json_object_set_new(vars, "table", json_string(r->table));
	char *zh = rule_render(r->message_zh, vars);
	char *en = rule_render(r->message_en, vars);
	struct buf msg;
	buf_init(&msg);
	buf_printf(&msg, "%s\n%s", zh, en);

	json_object_set_new(o, "key", json_string_or_fixed(key));
	json_object_set_new(o, "subject", subject ? json_string_or_fixed(subject) : json_null());
	json_object_set_new(o, "department", dept ? json_string_or_fixed(dept) : json_null());
	json_object_set_new(o, "message", json_string_or_fixed(msg.data));
	json_t *rcv = json_array();
	int n = route_receivers(cfg, r, r->level, dept, ridx);
	for (int i = 0; i < n; i++)
		json_array_append_new(rcv, json_string(cfg->receivers[ridx[i]].name));
	json_object_set_new(o, "receivers", rcv);

	char *text = json_dumps(o, JSON_COMPACT);
	if (out->len > 1)
		buf_puts(out, ",");
	buf_puts(out, "{\"evidence\":");
	buf_puts(out, evidence);
	buf_puts(out, ",");
	buf_puts(out, text + 1); /* text is "{...}": drop its brace */
	free(text);
	json_decref(o);
	json_decref(vars);
	free(zh);
	free(en);
	buf_free(&msg);
}

int eval_all(PGconn *c, const struct qf_config *cfg, const struct qf_ruleset *set, struct eval_totals *t)
{
	int *ridx = xcalloc((size_t)cfg->nreceivers + 1, sizeof *ridx);

	memset(t, 0, sizeof *t);
	for (int i = 0; i < set->n; i++) {
		const struct qf_rule *r = &set->rules[i];
		struct rule_hits hits;
		char *err = NULL;
		long created = 0, retrig = 0, alerts = 0;

		if (!r->enabled)
			continue;
		t->rules++;
		if (db_rule_hits(c, r, cfg->statement_timeout_ms, &hits, &err) < 0) {
			log_err("rule %s (%s:%d): %s", r->id, r->file, r->line, err);
			t->failed++;
			if (!db_ok(c)) {
				free(err);
				free(ridx);
				return -1;
			}
			db_record_rule_error(c, r, hits.started_ms, err);
			free(err);
			continue;
		}
		struct buf json;
		buf_init(&json);
		buf_puts(&json, "[");
		int rows = PQntuples(hits.res);
		for (int row = 0; row < rows; row++)
			add_hit(&json, cfg, r, hits.res, row, ridx);
		buf_puts(&json, "]");
		PQclear(hits.res);
		int rc = db_record_hits(c, r, json.data, hits.started_ms, rows, &created, &retrig, &alerts, &err);
		buf_free(&json);
		if (rc < 0) {
			log_err("rule %s: cannot record findings: %s", r->id, err);
			free(err);
			t->failed++;
			if (!db_ok(c)) {
				free(ridx);
				return -1;
			}
			db_record_rule_error(c, r, hits.started_ms, "cannot record findings");
			continue;
		}
		if (created || retrig)
			log_info("rule %s: %ld new, %ld re-triggered finding(s), %ld alert(s) queued", r->id, created,
				 retrig, alerts);
		else
			log_debug("rule %s: %d hit(s), nothing new", r->id, rows);
		t->created += created;
		t->retriggered += retrig;
		t->alerts += alerts;
	}
	free(ridx);
	return 0;
}
