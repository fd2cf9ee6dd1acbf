/* The daemon's lanes (docs/ARCHITECTURE.md, "Lanes"): the bulk lane and
 * the rest lane each read their rules in a thread of their own, on a
 * database session of their own, so that the loop's live lane (match
 * rules on small statements, and every delivery) never waits for a
 * window rule, a statistical rule or an import. A lane shares with the
 * loop only what is read-only during a pass (the configuration and rule
 * set of a generation, kept until the last user lets it go), the metrics
 * (locked) and a flag saying it queued alerts. */
#ifndef QF_LANE_H
#define QF_LANE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"
#include "rule.h"

/* The rows of one statement above which its changes go to the bulk lane
 * (a live ETL commit is a few rows; an import is thousands). */
#define LANE_LIVE_KEYS 256
/* The findings a bulk or rest lane writes per transaction: the history
 * chain's head lock is held that long (eval.h, chunk). */
#define LANE_CHUNK 50

/* A configuration and its rule set, as one reload made them. */
struct lane_gen;
/* Takes cfg and the contents of *set (left empty). */
struct lane_gen *lane_gen_new(struct qf_config *cfg, struct qf_ruleset *set);
struct qf_config *lane_gen_cfg(struct lane_gen *g);
struct qf_ruleset *lane_gen_set(struct lane_gen *g);
/* Lets g go: freed with its last user. */
void lane_gen_put(struct lane_gen *g);

struct lanes;
/* Starts the bulk and the rest lanes on g (each takes its own hold on
 * it). A lane that queued alerts writes a byte to wake_fd. clock: the
 * rules' clock offset (µs), when set. NULL when a thread cannot start. */
struct lanes *lanes_start(struct lane_gen *g, struct metrics *m, int wake_fd, bool clock_set, int64_t clock_offset_us);
/* A reload: the lanes read their next pass with g. */
void lanes_publish(struct lanes *l, struct lane_gen *g);
/* Whether the loop's own session is connected and accepted (called every
 * turn of the loop): the lanes connect only while it is. */
void lanes_database(struct lanes *l, bool accepted);
/* Whether a lane queued alerts since the last call. */
bool lanes_alerts_queued(struct lanes *l);
/* Stops the lanes (a statement still running a second later is
 * cancelled: its transaction rolls back, and a chunk already written is
 * found again, not made twice) and frees them. */
void lanes_stop(struct lanes *l);

#endif
