/* Alert delivery: claims due qf.alert rows (leases, SKIP LOCKED), sends
 * them with the libcurl multi interface (many in flight, never blocking
 * the loop) and records each outcome. At least once, with a stable
 * Idempotency-Key. */
#ifndef QF_DELIVER_H
#define QF_DELIVER_H

#include <curl/curl.h>

#include "config.h"
#include "db.h"
#include "db_outbox.h"
#include "util.h"

struct deliverer;

/* caller frees with deliver_free(); cfg must outlive it (or be replaced
 * with deliver_set_config) */
struct deliverer *deliver_new(const struct qf_config *cfg);
void deliver_free(struct deliverer *d);
void deliver_set_config(struct deliverer *d, const struct qf_config *cfg);

/* What became of each request: delivered (the receiver accepted it), to
 * be retried, or given up (dead); n is the number of alerts it carried.
 * Called as each request finishes, before the outcome is recorded. */
enum deliver_outcome { DELIVER_OK, DELIVER_RETRY, DELIVER_DEAD };
typedef void (*deliver_observer)(void *arg, const char *receiver, enum deliver_outcome o, int n);
void deliver_set_observer(struct deliverer *d, deliver_observer fn, void *arg);

/* Claims due alerts into free slots and starts them. Returns the number
 * started, or -1 on a database error. */
int deliver_fill(struct deliverer *d, struct db_session *s) QF_MUST_CHECK;
/* deliver_fill in two steps, for a claim sent with other statements
 * (eval_opts.claim): the claim to make (false: no free slot or no receiver
 * may send now; q's strings live until the next call or a new
 * configuration), then the start of what it claimed (takes cl). */
bool deliver_claim_req(struct deliverer *d, struct claim_req *q);
int deliver_start_claimed(struct deliverer *d, struct db_session *s, struct claimed_alerts *cl);
/* The daemon loop's claiming: due at once after deliver_wake() (new
 * alerts), when a slot frees after a full claim, or when a retry or a
 * rate-limited receiver falls due; else once a second. deliver_wait_ms()
 * is the time until then (at most 1000). */
void deliver_wake(struct deliverer *d);
bool deliver_claim_due(const struct deliverer *d);
int deliver_wait_ms(const struct deliverer *d);
/* Waits for transfer progress, one of the extra fds, or timeout_ms. With
 * reap_next (the caller reaps next), returns at once when a transfer has
 * already finished; without it (nothing can be recorded now, the database
 * is away) it waits regardless, rather than spin. */
void deliver_wait(struct deliverer *d, struct curl_waitfd *extra, unsigned nextra, int timeout_ms, bool reap_next);
/* Drives transfers and records finished ones. With refill, the slots they
 * free are claimed again (when a claim is due) before the outcomes are
 * written, so new requests are in flight while the database records the
 * old. Returns the number finished, or -1 on a database error. */
int deliver_reap(struct deliverer *d, struct db_session *s, bool refill) QF_MUST_CHECK;
int deliver_inflight(const struct deliverer *d);
/* The daemon's loop records delivered alerts together, up to ms after the
 * first answer (or 64 of them), rather than one statement per answer on
 * the session every pass waits for; deliver_wait_ms() wakes the loop in
 * time. They stay leased to us until then, so no claim takes them again,
 * and after a crash they are sent again under the same Idempotency-Key:
 * at least once, as before. 0 (the default, --once): at every reap. */
void deliver_defer_records(struct deliverer *d, int ms);
/* Answers received and not yet recorded. */
int deliver_unrecorded(const struct deliverer *d);
/* Records them now: -1 on a database error (their claims then expire
 * and they are sent again). */
int deliver_record(struct deliverer *d, struct db_session *s) QF_MUST_CHECK;
/* Stops every transfer in flight and records it as a failed attempt to
 * retry at once (why goes to last_error). */
void deliver_abort(struct deliverer *d, struct db_session *s, const char *why);
/* The --once delivery pass: delivers everything due, retrying within
 * deadline_s. Returns the number of alerts still pending for our
 * receivers, or -1 on a database error. */
int deliver_once(struct deliverer *d, struct db_session *s, int deadline_s);

/* Backoff before retry number `attempts` (1 = after the first try):
 * initial * 2^(attempts-1), capped, with jitter in [50%, 100%] so a fleet
 * of alerts does not retry in lockstep. Exposed for tests. */
double deliver_backoff_s(const struct qf_config *cfg, int attempts, double jitter01);

#endif
