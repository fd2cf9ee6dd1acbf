#!/bin/bash
# A rule is read by the daemon holding its session advisory lock. A run
# that fails after taking it (here: division by zero at run time) must
# release it: kept, the other daemons would see the rule busy for as long
# as this one stays connected, and every later run stacked one more lock.
. "$(dirname "$0")/../lib.sh"

new_db locks
sql "$DB" "INSERT INTO records.payment (payment_id, department, amount) VALUES ('BOOM', '财务处', 1)"
RULES_DIR=$QF_ROOT/tests/conf/locks write_conf "$T_DIR/q.conf" "http://127.0.0.1:9/hook" "evaluation = { interval = 1; };"
"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/d.log" & T_PIDS+=($!)
locks="SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND a.datname = current_database() AND a.pid <> pg_backend_pid()"
ok "$(wait_sql "(SELECT count(*) FROM qf.rule_run WHERE rule_id = 'X-FAIL' AND error LIKE '%division by zero%') >= 3"; echo $?)" \
   "the rule fails at every timed pass (three recorded)"
is "$(sql "$DB" "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")" 3 \
   "(the daemon is connected: its loop's session and its two lanes')"
ok "$(wait_sql "($locks) = 0"; echo $?)" "and holds no advisory lock after its failed runs"
sql "$DB" "DELETE FROM records.payment WHERE payment_id = 'BOOM'; INSERT INTO records.payment (payment_id, department, amount) VALUES ('OK', '财务处', 1)"
ok "$(wait_sql "EXISTS (SELECT 1 FROM qf.finding WHERE rule_id = 'X-FAIL' AND dedupe_key = 'OK')"; echo $?)" \
   "once the record is fixed, the rule runs and records its finding"
ok "$(wait_sql "($locks) = 0"; echo $?)" "and its lock is released after the write"
done_testing
