/* Routes: which receivers get a finding (qingfeng.conf(5) "routes"). */
#ifndef QF_ROUTE_H
#define QF_ROUTE_H

#include "config.h"
#include "rule.h"

/* Fills out (room for cfg->nreceivers) with receiver indices, each once,
 * and returns how many. With no routes configured every receiver gets
 * every finding; otherwise routes are tried in order and the first match
 * stops the walk unless it says continue = true. */
int route_receivers(const struct qf_config *cfg, const struct qf_rule *r, int level, const char *department,
		    int *out);
/* The same for an alert of the given event (finding.overdue, ...): a
 * route whose match names events takes only those; NULL is the
 * evaluation's own alerts (finding.new, finding.retriggered). */
int route_receivers_event(const struct qf_config *cfg, const struct qf_rule *r, int level, const char *department,
			  const char *event, int *out);

/* The configured receivers' names, in order (cfg's strings, valid while
 * cfg is); caller frees the array. */
const char **route_receiver_names(const struct qf_config *cfg);

#endif
