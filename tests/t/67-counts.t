#!/bin/bash
# qf.finding_count, behind the gauge qingfeng_findings{level,status}: kept
# by statement triggers on qf.finding, it equals a count of the findings
# after every kind of write (the daemon's findings write, upserts that
# raise a level, status changes, escalation, savepoints, deletes,
# truncation), after an upgrade over existing findings, and with two
# writers whose locks would cross without the head-first lock order.
. "$(dirname "$0")/../lib.sh"

psql_in() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
# same: "same" when the kept counts equal a count of qf.finding, else both
same() {
  sql "$DB" "WITH k AS (SELECT level, status, n FROM qf.finding_count WHERE n <> 0),
                  c AS (SELECT level, status, count(*) AS n FROM qf.finding GROUP BY level, status)
             SELECT CASE WHEN NOT EXISTS (SELECT * FROM k EXCEPT SELECT * FROM c)
                          AND NOT EXISTS (SELECT * FROM c EXCEPT SELECT * FROM k)
                         THEN 'same' ELSE 'kept ' || (SELECT string_agg(level || '/' || status || '=' || n, ',' ORDER BY level, status) FROM k)
                                     || ' counted ' || (SELECT string_agg(level || '/' || status || '=' || n, ',' ORDER BY level, status) FROM c) END"
}
findings() { # findings N LEVEL [STATUS] [KEY-PREFIX]: N findings straight into the table
  sql "$DB" "INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, evidence, evidence_hash, status)
             SELECT 'F01', '${4:-k}' || g, '1', 't', '$2', 'financial', 'technical', 'primary', '{}', md5(g::text), '${3:-open}'
               FROM generate_series(1, $1) g"
}

# --- upgrade: findings made before the counts existed are counted
new_db_at up 15
findings 7 yellow open a; findings 3 red resolved b; findings 2 orange dismissed c
# a writer is in the middle of a transaction when the migration starts, and
# the database runs repeatable read: its finding must still be counted once
sql "$DB" "ALTER DATABASE $DB SET default_transaction_isolation = 'repeatable read'"; go_table
PGAPPNAME=upW psql_in -c "BEGIN ISOLATION LEVEL READ COMMITTED" \
  -c "INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, evidence, evidence_hash)
      VALUES ('F01', 'w1', '1', 't', 'red', 'financial', 'technical', 'primary', '{}', 'x')" \
  -c "$HOLD_UNTIL_GO" \
  -c "COMMIT" >/dev/null &
W=$!; T_PIDS+=("$W")
wait_sql "EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'upW' AND wait_event = 'PgSleep')"
ok $? "upgrade: a writer holds an uncommitted finding"
"$QFCTL" -d "dbname=$DB" migrate >"$T_DIR/migrate.out" 2>&1 &
M=$!; T_PIDS+=("$M")
wait_sql "EXISTS (SELECT 1 FROM pg_locks WHERE relation = 'qf.finding'::regclass AND NOT granted)"
ok $? "upgrade: the migration waits for that writer"
go_release
wait "$W"; ok $? "upgrade: the writer commits"
wait "$M"; ok $? "upgrade: the migration applies over existing findings ($(tr '\n' ' ' <"$T_DIR/migrate.out"))"
is "$(sql "$DB" "SELECT string_agg(level || '/' || status || '=' || n, ',' ORDER BY level, status) FROM qf.finding_count")" \
   "orange/dismissed=2,red/open=1,red/resolved=3,yellow/open=7" "upgrade: the existing findings are counted, the writer's too"

# --- the daemon's findings write
new_db w
ONCE_DEADLINE=1 write_conf "$T_DIR/q.conf" "http://127.0.0.1:9/hook" "$(only_rules F09 F03)"
sql "$DB" "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by) VALUES
  ('P1', '化学室', 48000.00, 'A', 'A', 'X'), ('P2', '化学室', 100.00, 'B', 'B', 'X'), ('P3', '化学室', 48500.00, 'C', 'D', 'E')"
run_once "$T_DIR/q.conf"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding")" 4 "the daemon made its findings (F09 × 2, F03 × 2)"
is "$(same)" same "daemon: the counts equal the findings"
sql "$DB" "UPDATE records.payment SET amount = 49000.00 WHERE payment_id = 'P3'"
run_once "$T_DIR/q.conf"
is "$(sql "$DB" "SELECT hit_count FROM qf.finding WHERE rule_id = 'F03' AND dedupe_key = 'P3'")" 2 "a changed record re-triggers its finding"
is "$(same)" same "re-trigger: the counts still equal the findings"

# --- upserts that raise levels, status changes, escalation
findings 5 yellow open u
sql "$DB" "INSERT INTO qf.finding AS f (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, evidence, evidence_hash)
           SELECT 'F01', 'u' || g, '1', 't', 'red', 'financial', 'technical', 'primary', '{}', 'new'
             FROM generate_series(3, 8) g
           ON CONFLICT (rule_id, dedupe_key) DO UPDATE SET level = EXCLUDED.level"
is "$(sql "$DB" "SELECT count(*) FILTER (WHERE level = 'red') || '/' || count(*) FROM qf.finding WHERE dedupe_key LIKE 'u%'")" "6/8" \
   "an upsert raised three findings and inserted three"
is "$(same)" same "upsert: the counts equal the findings"
id=$(sql "$DB" "SELECT min(id) FROM qf.finding WHERE dedupe_key LIKE 'u%'")
sql "$DB" "SELECT qf.set_finding_status($id, 'acknowledged', 'checked')" >/dev/null; ok $? "a finding acknowledged"
sql "$DB" "SELECT qf.set_finding_status($id, 'resolved', 'fixed')" >/dev/null; ok $? "then resolved"
is "$(same)" same "status changes: the counts equal the findings"
is "$(sql "$DB" "WITH u AS (UPDATE qf.finding SET level = qf.level_up(level) WHERE status = 'open' AND level <> 'red' RETURNING 1)
                  SELECT count(*) FROM u")" 5 "escalation raised the five open findings below red (the daemon's four, u2)"
is "$(same)" same "escalation: the counts equal the findings"
sql "$DB" "UPDATE qf.finding SET reminded_at = now()"
is "$(same)" same "an update of neither level nor status changes nothing"

# --- savepoints, deletes, truncation
psql_in <<SQL
BEGIN;
INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, evidence, evidence_hash)
VALUES ('F01', 'sp1', '1', 't', 'orange', 'financial', 'technical', 'primary', '{}', 'x');
SAVEPOINT s;
INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, evidence, evidence_hash)
VALUES ('F01', 'sp2', '1', 't', 'orange', 'financial', 'technical', 'primary', '{}', 'x');
UPDATE qf.finding SET status = 'dismissed' WHERE dedupe_key = 'sp1';
ROLLBACK TO s;
COMMIT;
SQL
is "$(sql "$DB" "SELECT string_agg(dedupe_key || ':' || status, ',') FROM qf.finding WHERE dedupe_key LIKE 'sp%'")" "sp1:open" \
   "savepoint: the rolled-back insert and update are gone"
is "$(same)" same "savepoint: the counts equal the findings"
is "$(sql "$DB" "WITH d AS (DELETE FROM qf.finding f WHERE dedupe_key LIKE 'u%' AND NOT EXISTS (SELECT 1 FROM qf.finding_event e WHERE e.finding_id = f.id) RETURNING 1)
                  SELECT count(*) FROM d")" 7 "seven findings deleted"
is "$(same)" same "delete: the counts equal the findings"
sql "$DB" "SET client_min_messages = warning; TRUNCATE qf.finding CASCADE"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_count WHERE n <> 0")" 0 "truncate: every count is zero"
sql "$DB" "UPDATE qf.chain_head SET seq = 0, hash = repeat('0', 64)"   # the history went with it

# --- two writers whose locks would cross. A holds the chain head (an
# event) and then changes a finding's status; B changes another's status
# through set_finding_status in between. Without the head-first order, B
# would hold the count rows and wait for the head, A hold the head and wait
# for the count rows: a deadlock, and one of them rolled back.
findings 3 yellow open d
f1=$(sql "$DB" "SELECT id FROM qf.finding WHERE dedupe_key = 'd1'")
f2=$(sql "$DB" "SELECT id FROM qf.finding WHERE dedupe_key = 'd2'")
f3=$(sql "$DB" "SELECT id FROM qf.finding WHERE dedupe_key = 'd3'")
go_table
PGAPPNAME=countA psql_in -c "BEGIN" -c "INSERT INTO qf.finding_event (finding_id, action) VALUES ($f1, 'reminded')" \
  -c "$HOLD_UNTIL_GO" \
  -c "UPDATE qf.finding SET status = 'acknowledged' WHERE id = $f2" -c "COMMIT" >"$T_DIR/a.out" 2>&1 &
A=$!; T_PIDS+=("$A")
wait_sql "EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'countA' AND wait_event = 'PgSleep')"
ok $? "writer A holds the chain head"
PGAPPNAME=countB psql_in -c "SELECT qf.set_finding_status($f3, 'acknowledged', 'checked')" >"$T_DIR/b.out" 2>&1 &
B=$!; T_PIDS+=("$B")
wait_sql "EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'countB' AND wait_event_type = 'Lock')"
ok $? "writer B waits for a lock"
go_release
wait "$A"; ok $? "writer A commits ($(tr '\n' ' ' <"$T_DIR/a.out"))"
wait "$B"; ok $? "writer B commits ($(tr '\n' ' ' <"$T_DIR/b.out"))"
is "$(sql "$DB" "SELECT string_agg(status, ',' ORDER BY dedupe_key) FROM qf.finding WHERE dedupe_key LIKE 'd%'")" \
   "open,acknowledged,acknowledged" "both status changes are kept"
is "$(same)" same "two writers: the counts equal the findings"
is "$(sql "$DB" "SELECT count(*) FROM qf.verify_chain()")" 0 "and the history chain verifies"

# --- the trigger refuses other tables, and no role may execute it
like "$(psql_in -c "CREATE TEMP TABLE t (level text, status text)" \
  -c "CREATE TRIGGER x AFTER INSERT ON t REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.finding_count_apply()" \
  -c "INSERT INTO t VALUES ('red', 'open')" 2>&1)" "is a trigger of qf.finding only" "the count trigger on another table: refused"
is "$(sql "$DB" "SELECT has_function_privilege('qf_engine', 'qf.finding_count_apply()', 'EXECUTE')
                     OR has_function_privilege('qf_auditor', 'qf.finding_count_apply()', 'EXECUTE')
                     OR has_function_privilege('qf_admin', 'qf.finding_count_apply()', 'EXECUTE')")" f \
   "no qingfeng role may execute it"

done_testing
