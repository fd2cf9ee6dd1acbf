/* The clock's work on findings, done by a timed pass: escalation (open
 * findings nobody acknowledged in time rise a level), reminders (open red
 * findings, again and again), and resolved notices (to the receivers that
 * asked for them). Each rise, reminder or notice is a history event and
 * an alert, routed as a new finding would be. */
#ifndef QF_CLOCK_H
#define QF_CLOCK_H

#include "config.h"
#include "db.h"
#include "rule.h"

/* Escalates, reminds and sends the notices due. Returns the number of
 * findings escalated, or -1 on a database error (logged). */
long clock_work(struct db_session *s, const struct qf_config *cfg, const struct qf_ruleset *set);

#endif
