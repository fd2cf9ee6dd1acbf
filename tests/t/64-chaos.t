#!/bin/bash
# The daemon killed with SIGKILL at random moments, 20 times, while records
# stream in and the receiver fails a third of requests: in the end every
# finding has a delivered alert and no finding is duplicated.
. "$(dirname "$0")/../lib.sh"

new_db chaos
# a third of the answers are 500 (every third request), then all 200
script=$(for i in $(seq 1 300); do [ $((i % 3)) -eq 0 ] && printf '500,' || printf '200@20,'; done)200
receiver_start rcv -s s3cret -r "$script"
write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09 F06)" "evaluation = { interval = 1; };"
n=0
for round in $(seq 1 20); do
  "$QFD" -c "$T_DIR/q.conf" >>"$T_DIR/daemon.log" 2>&1 &
  dpid=$!
  for i in 1 2 3; do
    n=$((n + 1))
    sql "$DB" "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by)
               VALUES ('K$n', '财务处', $(( n % 2 ? 20000 : 123 )), 'P$n', 'P$n', 'X')"
    sleep "0.0$(( RANDOM % 9 + 1 ))"
  done
  sleep "0.$(( RANDOM % 5 ))"
  kill -9 $dpid; wait $dpid 2>/dev/null
done
ok 0 "20 SIGKILLs at random moments while $n records streamed in"
run_once "$T_DIR/q.conf"; is "$?" 0 "a final --once exits 0"
want=$(( n + (n + 1) / 2 ))   # F09 on every payment, F06 on the odd ones (20000)
is "$(sql "$DB" "SELECT count(*) FROM qf.finding")" "$want" "every risky record has its finding ($want)"
is "$(sql "$DB" "SELECT count(*) FROM (SELECT 1 FROM qf.finding GROUP BY rule_id, dedupe_key HAVING count(*) > 1) x")" 0 "no finding is duplicated"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding f WHERE NOT EXISTS (SELECT 1 FROM qf.alert a WHERE a.finding_id = f.id AND a.state = 'delivered')")" 0 \
   "every finding has a delivered alert"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert")" "$want" "one alert per finding"
ok $([ "$(jsonl rcv 'print "$r->{status}\n"' | grep -c 500)" -ge 1 ] && echo 0 || echo 1) "the receiver did fail requests along the way"
done_testing
