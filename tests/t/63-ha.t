#!/bin/bash
# Several daemons on one database: rules are evaluated by one at a time
# (advisory locks), alerts claimed with SKIP LOCKED; no duplicate finding or
# alert; kill one and the other delivers the rest.
. "$(dirname "$0")/../lib.sh"

new_db ha
receiver_start rcv -s s3cret -r 200@150
write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09 F03 F06)" "evaluation = { interval = 1; };"
"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/a.log" & a=$!
"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/b.log" & b=$!
for i in $(seq 1 40); do
  sql "$DB" "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by)
             VALUES ('H$i', '财务处', $(( i % 2 ? 48000 : 20000 )), 'P$i', 'P$i', 'X')"
  sleep 0.05
done
sleep 1
kill -9 $a; wait $a 2>/dev/null
ok 0 "daemon A killed with SIGKILL while deliveries were in flight"
# each payment: F09 and F06 (both amounts are round), plus F03 for 48000: 20 × 3 + 20 × 2 = 100
wait_for 60 '[ "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = '"'delivered'"'")" = 100 ]'
ok $? "daemon B delivers every alert ($(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = 'delivered'") of 100)"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding")" 100 "100 findings"
is "$(sql "$DB" "SELECT count(*) FROM (SELECT 1 FROM qf.finding GROUP BY rule_id, dedupe_key HAVING count(*) > 1) x")" 0 "no duplicate finding"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert")" 100 "no duplicate alert"
is "$(sql "$DB" "SELECT count(*) FROM qf.rule_run a JOIN qf.rule_run b ON a.rule_id = b.rule_id AND a.id < b.id
                 AND a.started_at < b.finished_at AND b.started_at < a.finished_at")" 0 "no rule was ever evaluated by both at once"
ok $([ "$(grep -c 'rule F09: [1-9]' "$T_DIR/a.log")" -ge 1 ] || [ "$(grep -c 'rule F09: [1-9]' "$T_DIR/b.log")" -ge 1 ]; echo $?) "the work was shared out"
is "$(jsonl rcv 'print "$r->{idempotency_key}\n"' | sort -u | wc -l)" 100 "the receiver saw every alert"
kill -TERM $b; wait $b; is "$?" 0 "daemon B exits 0"
done_testing
