#!/bin/bash
# The history hash chain under bulk and concurrent writers: a statement
# that writes many events updates the head row once (not once per event,
# which made a 50,000-finding pass quadratic), and the chain stays one
# strict line across savepoints, concurrent transactions and an upgrade
# from a chain the old per-event trigger wrote.
. "$(dirname "$0")/../lib.sh"

psql_in() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
# contiguous DB: "yes" when the events are numbered 1..n without a gap
contiguous() { sql "$DB" "SELECT CASE WHEN count(*) = max(seq) AND min(seq) = 1 THEN 'yes' ELSE count(*) || ' events, seq ' || min(seq) || '..' || max(seq) END FROM qf.finding_event"; }
head_is_last() { sql "$DB" "SELECT (SELECT seq || ' ' || hash FROM qf.chain_head) = (SELECT seq || ' ' || hash FROM qf.finding_event ORDER BY seq DESC LIMIT 1)"; }
a_finding() {
  sql "$DB" "INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, evidence, evidence_hash)
             VALUES ('F01', 'k', '1', 't', 'yellow', 'financial', 'technical', 'primary', '{}', md5('{}')) RETURNING id"
}

# --- upgrade: a chain written by the per-event trigger (migrations up to
# 014) goes on under the per-statement one
new_db_at up 14
is "$(sql "$DB" "SELECT max(version) FROM qf.schema_migrations")" 14 "upgrade: the old schema (014)"
FID=$(a_finding)
sql "$DB" "INSERT INTO qf.finding_event (finding_id, action) SELECT $FID, 'created' FROM generate_series(1, 30)"
"$QFCTL" -d "dbname=$DB" migrate >/dev/null
ok $? "upgrade: the new migrations apply over a chain"
last=$(ls "$QF_ROOT"/sql/[0-9][0-9][0-9]_*.sql | tail -1); last=$(basename "$last"); last=$((10#${last%%_*}))  # numbers may have gaps
is "$(sql "$DB" "SELECT max(version) FROM qf.schema_migrations")" "$last" \
   "upgrade: to the last migration"
is "$(sql "$DB" "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'qf.finding_event'::regclass AND tgname = 'finding_event_head'")" 1 \
   "upgrade: the per-statement head trigger is in place"
sql "$DB" "INSERT INTO qf.finding_event (finding_id, action) SELECT $FID, 'reminded' FROM generate_series(1, 30)"
is "$(contiguous)" yes "upgrade: new events continue the old numbering"
is "$(sql "$DB" "SELECT count(*) FROM qf.verify_chain()")" 0 "upgrade: the whole chain verifies"
is "$(head_is_last)" t "upgrade: the head is the last event"

# --- one statement, many events: one head update
new_db bulk
FID=$(a_finding)
out=$(psql_in <<SQL
BEGIN;
INSERT INTO qf.finding_event (finding_id, action) SELECT $FID, 'created' FROM generate_series(1, 5000);
SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relid = 'qf.chain_head'::regclass;
COMMIT;
SQL
)
is "$out" 1 "5,000 events in one statement update the head row once"
is "$(contiguous)" yes "bulk: numbered 1..5000"
is "$(sql "$DB" "SELECT count(*) FROM qf.verify_chain()")" 0 "bulk: the chain verifies"
is "$(head_is_last)" t "bulk: the head is the last event"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event e JOIN qf.finding_event p ON p.seq = e.seq - 1 WHERE e.prev_hash <> p.hash")" 0 \
   "bulk: every event links to the one before it"

# --- several statements and a savepoint rolled back in one transaction
psql_in <<SQL
BEGIN;
INSERT INTO qf.finding_event (finding_id, action) SELECT $FID, 'reminded' FROM generate_series(1, 3);
SAVEPOINT s;
INSERT INTO qf.finding_event (finding_id, action) SELECT $FID, 'escalated' FROM generate_series(1, 4);
ROLLBACK TO s;
INSERT INTO qf.finding_event (finding_id, action) VALUES ($FID, 'acknowledged');
INSERT INTO qf.finding_event (finding_id, action) SELECT $FID, 'reminded' FROM generate_series(1, 2);
COMMIT;
SQL
ok $? "a transaction with a savepoint rolled back commits"
is "$(sql "$DB" "SELECT count(*) || ' ' || count(*) FILTER (WHERE action = 'escalated') FROM qf.finding_event WHERE seq > 5000")" "6 0" \
   "savepoint: the rolled-back events are gone, the others kept"
is "$(contiguous)" yes "savepoint: no gap where the rolled-back events were"
is "$(sql "$DB" "SELECT count(*) FROM qf.verify_chain()")" 0 "savepoint: the chain verifies"
is "$(head_is_last)" t "savepoint: the head is the last event"

# --- two writers at once: the second waits for the first's head lock and
# links after its last event. A holds its transaction open until the test
# has seen B wait, not for a fixed time.
go_table
PGAPPNAME=chainA psql_in -c "BEGIN" \
  -c "INSERT INTO qf.finding_event (finding_id, action) SELECT $FID, 'created' FROM generate_series(1, 1000)" \
  -c "$HOLD_UNTIL_GO" \
  -c "INSERT INTO qf.finding_event (finding_id, action) VALUES ($FID, 'resolved')" -c "COMMIT" >/dev/null &
A=$!; T_PIDS+=("$A")
wait_sql "EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'chainA' AND wait_event = 'PgSleep')"
ok $? "writer A holds the head, sleeping inside its transaction"
PGAPPNAME=chainB psql_in -c "INSERT INTO qf.finding_event (finding_id, action) SELECT $FID, 'dismissed' FROM generate_series(1, 1000)" &
B=$!; T_PIDS+=("$B")
wait_sql "EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'chainB' AND wait_event_type = 'Lock')"
ok $? "writer B waits for A's lock on the head"
go_release
wait "$A"; ok $? "writer A commits"
wait "$B"; ok $? "writer B commits"
is "$(sql "$DB" "SELECT (SELECT max(seq) FROM qf.finding_event WHERE action IN ('created', 'resolved') AND seq > 5006)
                      < (SELECT min(seq) FROM qf.finding_event WHERE action = 'dismissed')")" t \
   "concurrent: all of B's events come after all of A's"
is "$(contiguous)" yes "concurrent: numbered without a gap"
is "$(sql "$DB" "SELECT count(*) FROM qf.verify_chain()")" 0 "concurrent: the chain verifies"
is "$(head_is_last)" t "concurrent: the head is the last event"

# --- the triggers refuse any table but qf.finding_event, even for the owner
like "$(psql_in -c "CREATE TEMP TABLE t (seq bigint, hash text)" \
  -c "CREATE TRIGGER x AFTER INSERT ON t REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION qf.finding_event_head()" \
  -c "INSERT INTO t VALUES (1000000000000, 'forged')" 2>&1)" "is the trigger of qf.finding_event only" \
   "the head trigger on another table: refused"
is "$(head_is_last)" t "and the head did not move"

# --- status changes by people still go through the chain
sql "$DB" "SELECT qf.set_finding_status($FID, 'acknowledged', 'checked')" >/dev/null
is "$(sql "$DB" "SELECT action || ' ' || (seq = (SELECT seq FROM qf.chain_head)) FROM qf.finding_event ORDER BY seq DESC LIMIT 1")" \
   "acknowledged true" "set_finding_status: its event is the new head"
is "$(sql "$DB" "SELECT count(*) FROM qf.verify_chain()")" 0 "set_finding_status: the chain verifies"

done_testing
