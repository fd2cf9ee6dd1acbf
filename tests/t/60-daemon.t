#!/bin/bash
# The running daemon: evaluates on its interval and delivers; SIGHUP with a
# broken rule file keeps the old rules and says why; a good reload takes
# effect; SIGTERM exits 0 (under ASan, which also checks for leaks at exit).
. "$(dirname "$0")/../lib.sh"

new_db daemon
receiver_start rcv -s s3cret
mkdir -p "$T_DIR/rules"; cp "$QF_ROOT/rules/"*.conf "$T_DIR/rules/"
RULES_DIR=$T_DIR/rules write_conf "$T_DIR/qf.conf" "$RECV_URL_rcv" "evaluation = { interval = 1; };"

"$QFD" -c "$T_DIR/qf.conf" 2>"$T_DIR/daemon.log" &
dpid=$!
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('PAY-D1', 'P1', 'P1')"
wait_for 10 '[ "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = '"'delivered'"'")" = 1 ]'
ok $? "a risky record committed while the daemon runs is alerted and delivered"

# a broken rule file on reload: keep running the old rules
cp "$T_DIR/rules/financial.conf" "$T_DIR/financial.good"
printf 'engine_version = 1;\nrules = ( { id = "F09"; kind = "match" } );\n' >"$T_DIR/rules/financial.conf"
kill -HUP $dpid
wait_for 5 'grep -q "reload failed" "$T_DIR/daemon.log"'
ok $? "SIGHUP with a broken rule file: the daemon says the reload failed"
like "$(cat "$T_DIR/daemon.log")" "financial.conf:2: missing required setting" "and names the file and line"
kill -0 $dpid; ok $? "and keeps running"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('PAY-D2', 'P1', 'P1')"
wait_for 10 '[ "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = '"'delivered'"'")" = 2 ]'
ok $? "the old rules still flag new records"

# a good reload takes effect: F09 disabled by the deployment
cp "$T_DIR/financial.good" "$T_DIR/rules/financial.conf"
printf 'params = { F09 = { enabled = false; }; };\n' >>"$T_DIR/qf.conf"
kill -HUP $dpid
wait_for 5 'grep -q "reloaded" "$T_DIR/daemon.log"'
ok $? "a good reload is applied"
runs=$(sql "$DB" "SELECT count(*) FROM qf.rule_run WHERE rule_id = 'F09'")
sleep 2.5
is "$(sql "$DB" "SELECT count(*) FROM qf.rule_run WHERE rule_id = 'F09'")" "$runs" "the disabled rule is no longer evaluated"

kill -TERM $dpid
wait $dpid; st=$?
is "$st" 0 "SIGTERM: exit 0 (no leak reported by ASan)"
like "$(tail -3 "$T_DIR/daemon.log")" "stopped" "and logs that it stopped"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE claimed_by IS NOT NULL")" 0 "no claim left behind"

done_testing
