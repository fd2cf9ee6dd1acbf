/* Escalation, reminders and resolved notices (clock.h). */
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_clock.h"
#include "log.h"
#include "route.h"

/* Where the clock's alerts for f go: to the receivers the finding's rule
 * and level route to (every receiver for a rule no longer in the pack),
 * for resolved notices only those that asked for them. *routes and
 * *names (the receivers' names, cfg's strings) are the caller's to free. */
static void route_findings(const struct qf_config *cfg, const struct qf_ruleset *set, const struct clock_findings *f,
			   const char *event, struct clock_route **routes, const char ***names)
{
	int *ridx = xcalloc((size_t)cfg->nreceivers + 1, sizeof *ridx), room = cfg->nreceivers + 1;
	bool notices = !strcmp(event, "finding.resolved");

	*routes = xcalloc((size_t)f->n + 1, sizeof **routes);
	*names = xcalloc((size_t)f->n * (size_t)room + 1, sizeof **names);
	for (int i = 0; i < f->n; i++) {
		const struct clock_finding *x = &f->v[i];
		const struct qf_rule *r = ruleset_find(set, x->rule_id);
		int k = r ? route_receivers_event(cfg, r, level_parse(x->level), x->department, event, ridx) : 0;
		if (!r) /* a rule no longer in the pack: tell every receiver */
			for (k = 0; k < cfg->nreceivers; k++)
				ridx[k] = k;
		struct clock_route *rt = &(*routes)[i];
		const char **v = *names + (size_t)i * (size_t)room;
		rt->id = notices ? x->event_id : x->id;
		rt->receivers = v;
		for (int j = 0; j < k; j++)
			if (!notices || x->evidence_changed || cfg->receivers[ridx[j]].notify_resolved)
				v[rt->nreceivers++] = cfg->receivers[ridx[j]].name;
	}
	free(ridx);
}

/* escalated / reminded: the findings _begin changed get an event and
 * alerts. How many, or -1 with *err. Clears f. */
static long finding_step(struct db_session *s, const struct qf_config *cfg, const struct qf_ruleset *set,
			 struct clock_findings *f, const char *action, const char *event, const char *note, char **err)
{
	struct clock_route *routes;
	const char **names;

	route_findings(cfg, set, f, event, &routes, &names);
	long n = f->n;
	clock_findings_clear(f);
	int rc = db_finding_events(s, routes, (int)n, action, event, note, err);
	free(routes);
	free(names);
	return rc < 0 ? -1 : n;
}

/* resolved notices: status changes people made since the last look.
 * 0, or -1 with *err. */
static int notices(struct db_session *s, const struct qf_config *cfg, const struct qf_ruleset *set, char **err)
{
	struct clock_findings f;
	struct clock_route *routes;
	const char **names;

	if (db_notices_begin(s, &f, err) < 0)
		return -1;
	route_findings(cfg, set, &f, "finding.resolved", &routes, &names);
	int n = f.n;
	clock_findings_clear(&f);
	int rc = db_notices_finish(s, routes, n, err);
	free(routes);
	free(names);
	return rc;
}

/* overdue (督办): findings late for a step, an event and an alert each,
 * again every disposal.overdue_every workdays while late. How many, or
 * -1 with *err. */
static long overdue(struct db_session *s, const struct qf_config *cfg, const struct qf_ruleset *set, char **err)
{
	struct clock_findings f;
	struct clock_route *routes;
	const char **names;

	if (db_overdue_begin(s, cfg->disposal.overdue_every, &f, err) < 0)
		return -1;
	route_findings(cfg, set, &f, "finding.overdue", &routes, &names);
	long n = f.n;
	clock_findings_clear(&f);
	int rc = db_overdue_finish(s, routes, (int)n, err);
	free(routes);
	free(names);
	return rc < 0 ? -1 : n;
}

long clock_work(struct db_session *s, const struct qf_config *cfg, const struct qf_ruleset *set)
{
	struct clock_findings f;
	char *err = NULL, note[120];
	long raised = 0, reminded = 0;

	snprintf(note, sizeof note, "not acknowledged within %d days: raised to %%level%%", cfg->escalate_after_days);
	if (db_escalate_begin(s, cfg->escalate_after_days, &f, &err) < 0 ||
	    (raised = finding_step(s, cfg, set, &f, "escalated", "finding.escalated", note, &err)) < 0)
		goto fail;
	if (raised)
		log_info("escalated %ld finding(s) not acknowledged within %d days", raised, cfg->escalate_after_days);

	if (cfg->remind_red_hours > 0) {
		snprintf(note, sizeof note, "still open and red: reminder every %d hours", cfg->remind_red_hours);
		if (db_remind_begin(s, cfg->remind_red_hours, &f, &err) < 0 ||
		    (reminded = finding_step(s, cfg, set, &f, "reminded", "finding.reminder", note, &err)) < 0)
			goto fail;
		if (reminded)
			log_info("reminded receivers of %ld open red finding(s)", reminded);
	}
	long late = overdue(s, cfg, set, &err);
	if (late < 0)
		goto fail;
	if (late)
		log_info("overdue: %ld finding(s) late for signing or closing (督办)", late);
	if (notices(s, cfg, set, &err) < 0)
		goto fail;
	return raised;
fail:
	if (err) {
		log_err("escalation, reminders, overdue or notices: %s", err);
		free(err);
	}
	return -1;
}
