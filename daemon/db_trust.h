/* The daemon's control events and chain anchors (TRUST.md, sql/022):
 * what it writes about itself in the history chain, the settings it
 * takes from its configuration, and the heads it queues for the anchor
 * receivers. Each call is one statement (its own transaction). */
#ifndef QF_DB_TRUST_H
#define QF_DB_TRUST_H

#include <stdbool.h>

#include "db.h"

/* qf.setting silence.four_eyes, written only when it changes (a change is
 * a setting_changed event): 0, or -1 with *err (caller frees) */
int db_trust_settings(struct db_session *s, bool four_eyes, char **err) QF_MUST_CHECK;
/* daemon_started (and daemon_unclean_stop first when the last run of
 * identity was never stopped cleanly: *unclean); detail is a JSON object */
int db_trust_started(struct db_session *s, const char *identity, const char *detail, bool *unclean,
		     char **err) QF_MUST_CHECK;
/* the effective rule set (rules: a JSON object by rule id); at a reload
 * written only when the config hash or a rule changed (*written) */
int db_trust_rules(struct db_session *s, const char *identity, bool reload, const char *config_hash,
		   const char *rules, const char *detail, bool *written, char **err) QF_MUST_CHECK;
/* daemon_stopped */
int db_trust_stopped(struct db_session *s, const char *identity, const char *detail, char **err) QF_MUST_CHECK;
/* whether a control event was notified since the last call */
bool db_trust_control_notified(struct db_session *s);
/* Queues the chain head (qf.chain_anchor()) as a chain.anchor alert for
 * each receiver (a JSON array of names); now is the time it states (the
 * --clock's), NULL for the database's. How many queued, or -1 with *err. */
long db_trust_anchor(struct db_session *s, const char *receivers, const char *now, char **err);

#endif

/* ---- what qfctl asks (qfctl_trust.c) ---- */
#include "db_ops.h"

/* Control events (and evidence_changed events) in chain order: since
 * (NULL: all), kind (an action, or its prefix before '_': "silence",
 * "daemon"; NULL: all). As a table (seq, at, actor, kind, finding,
 * summary) or, json set, one cell holding a JSON array. */
int db_audit_log(struct db_session *s, const char *since, const char *kind, bool json, struct db_table *out,
		 char **err) QF_MUST_CHECK;
/* 1 when the chain holds event id with hash, 0 when not, -1 with *err */
int db_chain_contains(struct db_session *s, const char *id, const char *hash, char **err);
/* approves silence id as the session's role (qf.silence_approve): 0, or
 * -1 with *err (the database's reason: the adder cannot approve, ...) */
int db_silence_approve(struct db_session *s, const char *id, char **err) QF_MUST_CHECK;
