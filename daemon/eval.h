/* One evaluation pass: every enabled rule, each in its own read-only
 * snapshot, each rule's findings recorded in one write transaction. */
#ifndef QF_EVAL_H
#define QF_EVAL_H

#include <libpq-fe.h>

#include "config.h"
#include "rule.h"

struct eval_totals {
	long rules, failed, created, retriggered, alerts;
};

/* Returns 0 when the pass ran (individual rules may have failed: see
 * totals->failed), -1 when the connection was lost. */
int eval_all(PGconn *c, const struct qf_config *cfg, const struct qf_ruleset *set, struct eval_totals *t);

#endif
