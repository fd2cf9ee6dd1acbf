#!/bin/bash
# A failing, slow or writing rule is logged with its id, recorded in
# qf.rule_run, and does not stop the others; rules cannot write.
. "$(dirname "$0")/../lib.sh"

new_db safety
receiver_start rcv
mkdir -p "$T_DIR/rules"
cp "$QF_ROOT"/rules/*.conf "$QF_ROOT/tests/conf/safety/unsafe.conf" "$T_DIR/rules/"
# only_rules knows the shipped pack: the X- rules stay enabled
RULES_DIR=$T_DIR/rules write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09)"
sed -i 's/statement_timeout = [0-9]*;//; s/database = { conninfo = "\([^"]*\)"; };/database = { conninfo = "\1"; statement_timeout = 500; };/' "$T_DIR/q.conf"
sql "$DB" "INSERT INTO records.payment (payment_id, amount, created_by, approved_by) VALUES ('PAY-1', 10, 'a', 'a')"
seq_before=$(sql "$DB" "SELECT last_value FROM qf.finding_id_seq")
start=$(date +%s)
"$QFD" -c "$T_DIR/q.conf" --once >"$T_DIR/once.log" 2>&1; st=$?
is "$st" 0 "--once exits 0 although four rules fail"
ok $(( $(date +%s) - start < 10 ? 0 : 1 )) "the slow rule is cut off by statement_timeout"
log=$(cat "$T_DIR/once.log")
like "$log" "rule X-DIV \(.*unsafe.conf:[0-9]+\): division by zero" "the failing rule is logged with its id and file:line"
like "$log" "rule X-SLOW .*statement timeout" "the slow rule is logged with its id"
like "$log" "rule X-WRITE .*read-only transaction" "a rule cannot write: READ ONLY"
like "$log" "rule X-COL .*no_such_column.* does not exist" "a rule naming a missing column is logged with its id"
is "$(sql "$DB" "SELECT string_agg(rule_id || ':' || (error IS NOT NULL)::text, ',' ORDER BY rule_id) FROM qf.rule_run WHERE rule_id LIKE 'X-%'")" \
   "X-COL:true,X-DIV:true,X-SLOW:true,X-WRITE:true" "each failed run is recorded in qf.rule_run with its error"
like "$(sql "$DB" "SELECT error FROM qf.rule_run WHERE rule_id = 'X-SLOW'")" "statement timeout" "including why"
is "$(sql "$DB" "SELECT dedupe_key FROM qf.finding WHERE rule_id = 'F09'")" "PAY-1" "the other rules ran: F09 flagged its record"
is "$(sql "$DB" "SELECT last_value FROM qf.finding_id_seq")" "$seq_before" "the writing rule changed nothing"
is "$(requests rcv)" 1 "and its alert was delivered"

# The daemon's incremental passes read the rules a change touches together,
# in one pipeline: a rule that fails there (at run time, or when the server
# refuses to prepare it) must fail alone, and the others still report.
"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/daemon.log" & d=$!
T_PIDS+=("$d")
for _ in $(seq 1 100); do grep -q 'connected to the database' "$T_DIR/daemon.log" && break; sleep 0.1; done
sleep 1
before=$(sql "$DB" "SELECT count(*) FROM qf.rule_run WHERE rule_id IN ('X-DIV', 'X-SLOW', 'X-COL') AND error IS NOT NULL")
sql "$DB" "INSERT INTO records.payment (payment_id, amount, created_by, approved_by) VALUES ('PAY-2', 20, 'b', 'b')"
for _ in $(seq 1 100); do [ "$(requests rcv)" -ge 2 ] && break; sleep 0.1; done
is "$(sql "$DB" "SELECT string_agg(dedupe_key, ',' ORDER BY dedupe_key) FROM qf.finding WHERE rule_id = 'F09'")" "PAY-1,PAY-2" \
   "a daemon pass flags the new record although three rules of its batch fail"
is "$(requests rcv)" 2 "and delivers its alert"
sleep 0.5
after=$(sql "$DB" "SELECT count(*) FROM qf.rule_run WHERE rule_id IN ('X-DIV', 'X-SLOW', 'X-COL') AND error IS NOT NULL")
is "$((after - before))" 3 "each failing rule's run in that pass is recorded with its error"
kill -TERM $d; wait $d; is "$?" 0 "the daemon exits 0"

# evaluation.keep_runs: the timed passes delete older qf.rule_run rows
sql "$DB" "INSERT INTO qf.rule_run (rule_id, rule_version, started_at, finished_at, findings)
           VALUES ('F09', 'old', now() - interval '40 days', now() - interval '40 days', 0),
                  ('F09', 'recent', now() - interval '20 days', now() - interval '20 days', 0)"
sed -i 's/^database = .*/&\nevaluation = { keep_runs = 30; };/' "$T_DIR/q.conf"
"$QFD" -c "$T_DIR/q.conf" --once >>"$T_DIR/once.log" 2>&1
is "$(sql "$DB" "SELECT string_agg(rule_version, ',') FROM qf.rule_run WHERE rule_version IN ('old', 'recent')")" "recent" \
   "evaluation.keep_runs = 30: a run of 40 days ago is deleted, one of 20 days ago kept"
log=$(cat "$T_DIR/daemon.log")
like "$log" "rule X-DIV \(.*unsafe.conf:[0-9]+\): division by zero" "the batch names the failing rule"
like "$log" "rule X-COL .*no_such_column" "and the rule the server would not prepare"
unlike "$log" "rule F09 .*(aborted|not run)" "F09 itself never failed"
done_testing
