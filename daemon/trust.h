/* Watching the watchers (TRUST.md): the daemon's own control events in
 * the history chain (started, found its last run unclean, rule set at
 * start and at each reload that changed something, stopped cleanly), the
 * settings it takes from its configuration, and the chain anchors sent to
 * audit.anchor_receivers every audit.anchor_every and after each control
 * event. The events wait for a session: written at the first connect
 * (a reload while disconnected, at the next). */
#ifndef QF_TRUST_H
#define QF_TRUST_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "rule.h"

struct trust;

struct trust *trust_new(const struct qf_config *cfg, const struct qf_ruleset *set);
void trust_free(struct trust *t);
/* a session is up: the start's events the first time, a pending reload's after */
void trust_connected(struct trust *t, struct db_session *c);
/* a reload swapped cfg and set (both outlive t's use of them until the next call) */
void trust_reloaded(struct trust *t, struct db_session *c, const struct qf_config *cfg, const struct qf_ruleset *set);
/* a control event happened: an anchor goes out soon */
void trust_control(struct trust *t);
/* queues the anchors that are due (periodic, or after a control event
 * the session was notified of); true when it queued any. now_text is
 * the --clock's time (NULL: the database's). */
bool trust_tick(struct trust *t, struct db_session *c, const char *now_text);
/* a clean stop */
void trust_stopped(struct trust *t, struct db_session *c);
/* qingfengd --once: the settings, and the rule set when it changed */
void trust_once(struct db_session *c, const struct qf_config *cfg, const struct qf_ruleset *set);

#endif
