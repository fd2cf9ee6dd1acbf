/* The outbox (qf.alert) as delivery sees it: claims (leases, SKIP
 * LOCKED), outcomes, what is due, alerts waiting for a receiver the
 * configuration does not name. Receiver names are passed as arrays of the
 * caller's strings. */
#ifndef QF_DB_OUTBOX_H
#define QF_DB_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* One claimed alert. evidence is NULL when the payload has none. */
struct claimed_alert {
	int64_t id;
	const char *receiver, *event;
	const char *payload; /* the finding as JSON text (qf.finding_payload) */
	int attempts;	     /* including this one */
	bool too_old;	     /* first queued more than max_age ago */
	const char *minimal; /* the finding without names, evidence or message (detail = "minimal") */
	const char *evidence; /* as PostgreSQL wrote it: amounts keep their digits */
};

struct claimed_alerts {
	struct claimed_alert *v;
	int n;
	void *res_; /* the strings point into it */
};
/* Frees a (NULL is fine). */
void claimed_alerts_free(struct claimed_alerts *a);

/* A claim of due alerts: up to limit for the named receivers, leased to
 * claimer for lease_s; too_old marks those first queued more than
 * max_age_s ago. */
struct claim_req {
	const char *const *receivers;
	int nreceivers;
	int limit, lease_s, max_age_s;
	const char *claimer;
	struct claimed_alerts *claimed; /* out (db_record_batch): what was claimed, or NULL */
};

/* Claims alerts; NULL on error (logged). Caller frees with
 * claimed_alerts_free(). */
struct claimed_alerts *db_claim_alerts(struct db_session *s, const struct claim_req *q);
/* Marks n claimed alerts delivered (HTTP status each) in one statement. */
int db_alerts_delivered(struct db_session *s, const int64_t *ids, const int *status, int n,
			const char *claimer) QF_MUST_CHECK;
/* A failed attempt: retried after retry_s, or dead. status 0: no HTTP
 * answer. */
int db_alert_failed(struct db_session *s, int64_t id, const char *claimer, int status, const char *error,
		    double retry_s, bool dead) QF_MUST_CHECK;
/* Gives one claimed alert back untried (a digest had no room for it). */
int db_alert_release(struct db_session *s, int64_t id, const char *claimer) QF_MUST_CHECK;
/* Seconds until the next pending alert of the receivers is due (<= 0:
 * now), or -1 if none. */
double db_next_due(struct db_session *s, const char *const *receivers, int n);
/* pending alerts for the receivers, -1 on error */
int db_pending_count(struct db_session *s, const char *const *receivers, int n);

/* Pending alerts of a receiver not among the configured ones: they wait
 * for a receiver of that name. */
struct orphaned_alerts {
	const char *receiver;
	long count;
};
struct orphans {
	struct orphaned_alerts *v;
	int n;
	void *res_;
};
/* The pending alerts of receivers not among the n names, by receiver: 0,
 * or -1 with *err (caller frees). Either way, free *out with
 * orphans_clear(). */
int db_orphaned_alerts(struct db_session *s, const char *const *receivers, int n, struct orphans *out,
		       char **err) QF_MUST_CHECK;
void orphans_clear(struct orphans *o);

#endif
