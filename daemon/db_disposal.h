/* The disposal loop in the database (sql/021, DISPOSAL.md): the settings
 * the engine syncs for the database functions, and what qfctl asks (the
 * steps, the measures, the overdue list). Each returns -1 (or NULL) with
 * *err (caller frees) on failure. */
#ifndef QF_DB_DISPOSAL_H
#define QF_DB_DISPOSAL_H

#include <stdint.h>

#include "config.h"
#include "db.h"
#include "db_ops.h"

/* Writes the configuration's disposal settings, the time zone, the
 * console's address and the engine's clock offset (µs; 0 = the real
 * clock) into qf.setting, changing only the rows that differ. *missing:
 * the disposal.owners roles that do not exist, comma-separated, or NULL
 * (caller frees). */
int db_disposal_sync(struct db_session *s, const struct qf_config *cfg, int64_t clock_offset_us, char **missing,
		     char **err) QF_MUST_CHECK;

/* A step of the loop by the session's role (qf.finding_ack, ...): 0, or -1
 * with *err and *sqlstate (the refusal's SQLSTATE, "" if none; 6 bytes). */
/* resolve, dismiss: qf.set_finding_status, a feedback and a close in one step */
enum disposal_step { STEP_ACK, STEP_FEEDBACK, STEP_CLOSE, STEP_REOPEN, STEP_ASSIGN, STEP_RESOLVE, STEP_DISMISS };
struct step_args {
	long long id;
	const char *note, *outcome, *disposition, *to;
};
/* On success *action is the step's history event (acknowledged, reported,
 * resolved, dismissed, reopened, assigned; caller frees). */
int db_disposal_step(struct db_session *s, enum disposal_step step, const struct step_args *a, char **action,
		     char **err, char sqlstate[6]) QF_MUST_CHECK;

/* The measures of [from, to) (qf.disposal_measures): grouping, group,
 * closed, substantiated, rate, closed on time, signed, signed on time,
 * overdue now, median days to close. */
int db_disposal_measures(struct db_session *s, const char *from, const char *to, struct db_table *out,
			 char **err) QF_MUST_CHECK;
/* The findings late now: id, rule, owner, level, department, deadline
 * (sign|close), due, days late; most late first. */
int db_disposal_overdue(struct db_session *s, struct db_table *out, char **err) QF_MUST_CHECK;

/* One finding's disposal, for qfctl findings show: owner, light, sign
 * due, close due, signed (time and role), outcome / disposition, feedback
 * (time and role), closed (time and role); "-" where none. No row: not
 * found. */
int db_disposal_detail(struct db_session *s, long long id, struct db_table *out, char **err) QF_MUST_CHECK;

#endif
