#!/bin/bash
# The live lane under a transaction left open (an import being written):
# the rules' cursors cannot pass it, and the live lane reads only what its
# previous read did not see (the snapshot it kept, QF_SEEN_COND). Commits
# behind the open transaction are each alerted once and at once; the open
# transaction's risky record, invisible to those reads, is flagged once it
# commits; nothing is flagged twice.
. "$(dirname "$0")/../lib.sh"

new_db held
receiver_start rcv -s s3cret
write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09)" "evaluation = { interval = 600; };"
"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/d.log" & dpid=$!; T_PIDS+=($dpid)
wait_sql "EXISTS (SELECT 1 FROM qf.cursor WHERE name = 'rule:F09/bulk')"

coproc A { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" 2>&1; }
echo "BEGIN; INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('HELD', 'h', 'h'); SELECT 'A-inserted ' || pg_current_xact_id();" >&"${A[1]}"
read -r line <&"${A[0]}"; like "$line" "^A-inserted [0-9]+$" "transaction A inserted a risky payment and stays open"
axid=${line#A-inserted }

for i in $(seq 1 20); do
  sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('B$i', 'b$i', 'b$i')"
  sleep 0.05
done
wait_for 20 '[ "$(sql "$DB" "SELECT count(*) FROM qf.alert a JOIN qf.finding f ON f.id = a.finding_id WHERE f.dedupe_key LIKE '"'B%'"' AND a.state = '"'delivered'"'")" = 20 ]'
ok $? "the 20 commits behind the open transaction are alerted"
is "$(sql "$DB" "SELECT position <= ${axid:-0} FROM qf.cursor WHERE name = 'rule:F09'")" t "the live cursor has not passed the open transaction"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE dedupe_key = 'HELD'")" 0 "its record is not flagged while it is open"

echo "COMMIT; SELECT 'A-committed';" >&"${A[1]}"
read -r line <&"${A[0]}"; is "$line" "A-committed" "A commits"
exec {A[1]}>&-; wait "$A_PID" 2>/dev/null
wait_sql "EXISTS (SELECT 1 FROM qf.alert a JOIN qf.finding f ON f.id = a.finding_id WHERE f.dedupe_key = 'HELD' AND a.state = 'delivered')"
ok $? "A's record is flagged and alerted once A commits"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('C1', 'c', 'c')"
wait_sql "EXISTS (SELECT 1 FROM qf.finding WHERE dedupe_key = 'C1')"
ok $(sql "$DB" "SELECT position > ${axid:-0} FROM qf.cursor WHERE name = 'rule:F09'" | grep -q t; echo $?) "then the cursor moves past it"
sleep 0.5
is "$(sql "$DB" "SELECT count(*) || ' ' || sum(hit_count) FROM qf.finding WHERE rule_id = 'F09'")" "22 22" "22 findings, one hit each"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event WHERE finding_id IS NOT NULL")" 22 "one event each (control events aside, sql/022)"
is "$(requests rcv)" 22 "one alert each"
kill -TERM $dpid; wait $dpid; is "$?" 0 "the daemon stops cleanly"
done_testing
