/* The clock's writes: findings raised a level when nobody acknowledged
 * them in time (escalation), red findings stamped for a reminder, and
 * 'resolved' events turned into notices. Each is one transaction in two
 * steps: _begin changes or reads the findings and leaves the transaction
 * open; the caller routes them; the second step writes their events and
 * alerts and commits. */
#ifndef QF_DB_CLOCK_H
#define QF_DB_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* A finding the clock touched, as routing needs it; for a notice, the
 * 'resolved' event's id too. department is NULL when it has none. */
struct clock_finding {
	int64_t event_id; /* notices only */
	int64_t id;
	const char *rule_id, *level, *department;
	bool evidence_changed; /* notices: an evidence_changed event, not 'resolved' */
};

struct clock_findings {
	struct clock_finding *v;
	int n;
	void *res_;
};
void clock_findings_clear(struct clock_findings *f);

/* Where the clock's alert for one finding (or, for notices, one event)
 * goes. */
struct clock_route {
	int64_t id; /* the finding's id; a notice's event id */
	const char *const *receivers;
	int nreceivers;
};

/* Raises (escalate: open findings not acknowledged within after_days, one
 * level, once per step) or stamps (remind: open red findings, every
 * every_hours) findings, with the transaction left open: 0, or -1 with
 * *err (caller frees; rolled back). Free *out with clock_findings_clear()
 * either way. */
int db_escalate_begin(struct db_session *s, int after_days, struct clock_findings *out, char **err) QF_MUST_CHECK;
int db_remind_begin(struct db_session *s, int every_hours, struct clock_findings *out, char **err) QF_MUST_CHECK;
/* Writes the events (action, note with %level% replaced by the finding's
 * level) of the routed findings and their alerts (event), silences
 * applied, and commits: 0, or -1 with *err (rolled back). */
int db_finding_events(struct db_session *s, const struct clock_route *routes, int n, const char *action,
		      const char *event, const char *note, char **err) QF_MUST_CHECK;

/* Overdue (督办): stamps the findings late for a step (sign or close) not
 * done, first for that step or again every_workdays since their last
 * overdue event, with the transaction left open (as _begin above). */
int db_overdue_begin(struct db_session *s, int every_workdays, struct clock_findings *out, char **err) QF_MUST_CHECK;
/* Writes their 'overdue' events and finding.overdue alerts (silences
 * applied) and commits: 0, or -1 with *err (rolled back). */
int db_overdue_finish(struct db_session *s, const struct clock_route *routes, int n, char **err) QF_MUST_CHECK;

/* Resolved notices: the 'resolved' and 'evidence_changed' events since the 'notices' cursor, the
 * transaction left open (as _begin above). */
int db_notices_begin(struct db_session *s, struct clock_findings *out, char **err) QF_MUST_CHECK;
/* Queues finding.resolved (finding.evidence_changed) alerts for the routed events (the cursor moved in _begin)
 * and commits: 0, or -1 with *err (rolled back). */
int db_notices_finish(struct db_session *s, const struct clock_route *routes, int n, char **err) QF_MUST_CHECK;

#endif
