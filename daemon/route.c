/* Route matching: every condition given in a route's match must hold. */
#include "route.h"

static bool any_tag(const struct strlist *want, const struct strlist *tags)
{
	for (int i = 0; i < tags->n; i++)
		if (strlist_has(want, tags->v[i]))
			return true;
	return false;
}

/* event NULL: the evaluation's own alerts, a new or re-triggered finding */
static bool event_matches(const struct strlist *want, const char *event)
{
	if (!want->n)
		return true;
	if (event)
		return strlist_has(want, event);
	return strlist_has(want, "finding.new") || strlist_has(want, "finding.retriggered");
}

static bool matches(const struct qf_route *rt, const struct qf_rule *r, int level, const char *department,
		    const char *event)
{
	if (!event_matches(&rt->event, event))
		return false;
	if (rt->supervision.n && !strlist_has(&rt->supervision, r->supervision))
		return false;
	if (rt->risk.n && !strlist_has(&rt->risk, r->risk))
		return false;
	if (rt->duty.n && !strlist_has(&rt->duty, r->duty))
		return false;
	if (rt->rule.n && !strlist_has(&rt->rule, r->id))
		return false;
	if (rt->tag.n && !any_tag(&rt->tag, &r->tags))
		return false;
	if (rt->department.n && !strlist_has(&rt->department, department))
		return false;
	if (rt->min_level && level < rt->min_level)
		return false;
	return true;
}

static int add(int *out, int n, int idx)
{
	for (int i = 0; i < n; i++)
		if (out[i] == idx)
			return n;
	out[n] = idx;
	return n + 1;
}

int route_receivers(const struct qf_config *cfg, const struct qf_rule *r, int level, const char *department,
		    int *out)
{
	return route_receivers_event(cfg, r, level, department, NULL, out);
}

int route_receivers_event(const struct qf_config *cfg, const struct qf_rule *r, int level, const char *department,
			  const char *event, int *out)
{
	int n = 0;

	if (cfg->nroutes == 0) {
		for (int i = 0; i < cfg->nreceivers; i++)
			out[n++] = i;
		return n;
	}
	for (int i = 0; i < cfg->nroutes; i++) {
		const struct qf_route *rt = &cfg->routes[i];
		if (!matches(rt, r, level, department, event))
			continue;
		for (int j = 0; j < rt->nreceivers; j++)
			n = add(out, n, rt->receivers[j]);
		if (!rt->cont)
			break;
	}
	return n;
}

const char **route_receiver_names(const struct qf_config *cfg)
{
	const char **v = xcalloc((size_t)cfg->nreceivers + 1, sizeof *v);
	for (int i = 0; i < cfg->nreceivers; i++)
		v[i] = cfg->receivers[i].name;
	return v;
}
