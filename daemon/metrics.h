/* Prometheus text at /metrics and /healthz (libmicrohttpd, its own
 * thread). The main loop updates a snapshot under a mutex; the HTTP thread
 * only reads it, so a scrape never touches the database connection. */
#ifndef QF_METRICS_H
#define QF_METRICS_H

#include <stdbool.h>

#include "db.h"

struct metrics;

/* Listens on "ADDR:PORT" (IPv4 or [IPv6]; port 0 = any). NULL with *err
 * (caller frees) on failure. */
struct metrics *metrics_start(const char *listen, char **err);
void metrics_stop(struct metrics *m);
/* the port actually bound */
int metrics_port(const struct metrics *m);

void metrics_db(struct metrics *m, bool connected);
void metrics_reconnect(struct metrics *m);
/* an attempt to have a session failed; a refusal (any reason but
 * DB_UNREACHABLE) shows in /healthz and qingfeng_db_refused until
 * metrics_db(m, true) */
void metrics_db_failed(struct metrics *m, enum db_refusal why);
void metrics_rule(struct metrics *m, const char *rule_id, double seconds, bool failed, bool skipped);
void metrics_pass(struct metrics *m, long created, long alerts);
/* n alerts of a finished request to `receiver`; outcome "delivered",
 * "retry" or "dead" */
void metrics_delivery(struct metrics *m, const char *receiver, const char *outcome, int n);
/* a configured receiver's counters, shown at 0 before its first request */
void metrics_receiver(struct metrics *m, const char *receiver);
/* refreshes the database gauges (findings, alerts, outbox, lag, and the
 * pending alerts of receivers not among the n configured names) */
void metrics_refresh(struct metrics *m, struct db_session *s, const char *const *receivers, int n);

#endif
