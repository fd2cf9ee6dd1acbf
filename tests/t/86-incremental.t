#!/bin/bash
# Incremental evaluation in commit order: change capture, cursors at the
# snapshot's xmin, a transaction that commits late is not skipped, rules
# whose tables did not change are skipped, the daemon evaluates on NOTIFY.
. "$(dirname "$0")/../lib.sh"

new_db incr
receiver_start rcv -s s3cret
write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09 F08 D09 F01)"
once_incr() { : >"$T_DIR/once.log"; "$QFD" -c "$T_DIR/q.conf" --once --incremental >>"$T_DIR/once.log" 2>&1; }
keys() { sql "$DB" "SELECT coalesce(string_agg(dedupe_key, ',' ORDER BY dedupe_key), '-') FROM qf.finding WHERE rule_id = '$1'"; }

# every records table is captured, by the key column the engine expects
is "$(sql "$DB" "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'records'")" \
   "$(sql "$DB" "SELECT count(*) FROM qf.capture")" "every records table has a capture key"
is "$(sql "$DB" "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'records' AND t.tgname LIKE 'qf_capture_%'")" 72 "and insert, update and delete triggers (24 × 3)"

once_incr; is "$?" 0 "first incremental pass (no cursors yet: full) exits 0"
is "$(sql "$DB" "SELECT count(*) FROM qf.cursor WHERE name IN ('rule:F09', 'rule:F08', 'rule:D09', 'rule:F01')")" 4 "each rule now has a cursor"

# --- a transaction that commits late is not skipped
coproc A { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" 2>&1; }
echo "BEGIN; INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('PAY-A', 'a', 'a'); SELECT 'A-inserted';" >&"${A[1]}"
read -r line <&"${A[0]}"; is "$line" "A-inserted" "transaction A inserted a risky record and stays open"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('PAY-B', 'b', 'b')"
is "$(sql "$DB" "SELECT (SELECT min(xid) FROM qf.change_log WHERE 'PAY-B' = ANY(keys)) > pg_snapshot_xmin(pg_current_snapshot())")" t \
   "B committed with a newer transaction id than open A"
once_incr
is "$(keys F09)" "PAY-B" "an evaluation while A is open flags B"
like "$(cat "$T_DIR/once.log")" "1 unchanged, 3 on changed rows only" "F09, F01 and F08 read only the changed rows (D09 skipped)"
echo "COMMIT; SELECT 'A-committed';" >&"${A[1]}"
read -r line <&"${A[0]}"; is "$line" "A-committed" "A commits after that evaluation"
exec {A[1]}>&-; wait "$A_PID" 2>/dev/null
once_incr
is "$(keys F09)" "PAY-A,PAY-B" "the next evaluation flags A's record"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE dedupe_key = 'PAY-B'")" 1 "B is not flagged twice"

# --- nothing changed: every rule is skipped
once_incr
like "$(cat "$T_DIR/once.log")" "evaluated 4 rule\(s\) in [0-9.]+ ms \(4 unchanged" "with no change every rule is skipped"

# --- a delete is a change too (F08: a voucher gap appears)
sql "$DB" "INSERT INTO records.payment (payment_id, book, voucher_no, posted_at) VALUES ('v1', 'GL', 1, '2026-03-01 10:00+08'), ('v2', 'GL', 2, '2026-03-02 10:00+08'), ('v3', 'GL', 3, '2026-03-03 10:00+08')"
once_incr
is "$(keys F08)" "-" "no gap yet"
sql "$DB" "DELETE FROM records.payment WHERE payment_id = 'v2'"
once_incr
is "$(keys F08)" '["GL", 2026, 2]' "deleting voucher 2 is captured and F08 flags the gap"
sql "$DB" "INSERT INTO records.payment (payment_id, book, voucher_no, posted_at) VALUES ('v6', 'GL', 6, '2026-03-06 10:00+08'), ('x9', 'GX', 9, '2026-03-06 10:00+08')"
once_incr
is "$(keys F08 | tr ',' '\n' | grep -c 'GL')" 3 "a voucher inserted past the last one opens a gap (4, 5) in the same incremental pass"
like "$(cat "$T_DIR/once.log")" "[0-9]+ on changed rows only" "F08 read only the changed vouchers' neighbours"

# --- a window rule re-reads every row of the keys a change touches (F01 by vendor):
# a back-dated payment makes an unchanged later payment the duplicate
sql "$DB" "INSERT INTO records.payment (payment_id, vendor_id, invoice_no, amount, paid_at) VALUES ('D-2', 'VD', 'INV-9', 10, '2026-06-01 10:00+08')"
once_incr
is "$(keys F01)" "-" "one payment: no duplicate"
sql "$DB" "INSERT INTO records.payment (payment_id, vendor_id, invoice_no, amount, paid_at) VALUES ('D-1', 'VD', 'INV-9', 10, '2026-05-01 10:00+08')"
once_incr
is "$(keys F01)" "D-2" "the earlier payment arrives later: the unchanged later one is flagged"
like "$(cat "$T_DIR/once.log")" "on changed rows only" "in an incremental pass"

# --- the change log is pruned once every rule has seen it
is "$(sql "$DB" "SELECT count(*) FROM qf.change_log WHERE xid < (SELECT min(position)::text::xid8 FROM qf.cursor WHERE name LIKE 'rule:%')")" 0 \
   "changes every rule has seen are pruned"

# --- the daemon evaluates on NOTIFY, not on its (long) interval
write_conf "$T_DIR/d.conf" "$RECV_URL_rcv" "$(only_rules F09)" "evaluation = { interval = 600; };"
"$QFD" -c "$T_DIR/d.conf" 2>"$T_DIR/daemon.log" &
dpid=$!
for _ in $(seq 1 50); do grep -q "connected to the database" "$T_DIR/daemon.log" && break; sleep 0.1; done
sleep 0.5
before=$(requests rcv)
start=$(date +%s%N)
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('PAY-N', 'n', 'n')"
for _ in $(seq 1 100); do [ "$(requests rcv)" -gt "$before" ] && break; sleep 0.05; done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$(keys F09)" "PAY-A,PAY-B,PAY-N" "a record committed while the daemon waits is flagged"
ok $([ "$(requests rcv)" -gt "$before" ] && [ $ms -lt 5000 ] && echo 0 || echo 1) "and its alert arrives ${ms} ms after the commit (interval is 600 s)"
kill -TERM $dpid; wait $dpid; is "$?" 0 "daemon exits 0"

# --- an incremental pass reads without parallel workers (a worker's start
# cost more than a delta's read); a full pass may use them
new_db serial
mkdir -p "$T_DIR/rules-serial"
cp "$QF_ROOT"/rules/*.conf "$QF_ROOT/tests/conf/incremental/serial.conf" "$T_DIR/rules-serial/"
RULES_DIR=$T_DIR/rules-serial write_conf "$T_DIR/s.conf" "$RECV_URL_rcv" "$(only_rules F09)"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('PAY-S1', 's', 't')"
"$QFD" -c "$T_DIR/s.conf" --once --incremental >"$T_DIR/once.log" 2>&1; is "$?" 0 "a first (full) pass exits 0"
is "$(keys X-SERIAL)" "-" "the full pass ran with the server's parallel setting"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('PAY-S2', 's', 't')"
"$QFD" -c "$T_DIR/s.conf" --once --incremental >"$T_DIR/once.log" 2>&1
like "$(cat "$T_DIR/once.log")" "on changed rows only" "the next pass is incremental"
is "$(keys X-SERIAL)" "PAY-S2" "and read the changed row with max_parallel_workers_per_gather = 0"
is "$(sql "$DB" "SHOW max_parallel_workers_per_gather")" "2" "a setting of the pass's transaction only"

# --- on analysed tables too, an incremental pass of a small delta runs its
# rule statements' generic plans (prepared to be planned once): once
# statistics exist the planner prices a custom plan lower and would re-plan
# each statement at every execution. A large delta is planned for what it
# holds. The plan the server ran, from auto_explain: a custom plan carries
# the cursor's value, a generic one the parameter.
new_db plans
write_conf "$T_DIR/p.conf" "$RECV_URL_rcv" "$(only_rules F09)"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) SELECT 'PP' || g, 'p' || g, 'q' FROM generate_series(1, 2000) g"
"$QFD" -c "$T_DIR/p.conf" --once --incremental >"$T_DIR/once.log" 2>&1; is "$?" 0 "a first (full) pass exits 0"
sql "$DB" "ANALYZE"
sql "$DB" "ALTER DATABASE $DB SET session_preload_libraries = 'auto_explain'"
sql "$DB" "ALTER DATABASE $DB SET auto_explain.log_min_duration = 0"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('PP-X', 'x', 'x')"
mark=$(wc -c <"$QF_PGLOG")
"$QFD" -c "$T_DIR/p.conf" --once --incremental >"$T_DIR/once.log" 2>&1
like "$(cat "$T_DIR/once.log")" "on changed rows only" "the pass after ANALYZE is incremental"
is "$(keys F09)" "PP-X" "and flags the new record"
# each auto_explain entry: its LOG line, then tab-indented query text and plan
f09_plan() { tail -c +$((mark + 1)) "$QF_PGLOG" | perl -0777 -ne 'print "$1\n" while /\n\tQuery Text: (SELECT r\.key(?:(?!\n\S).)*?c\.xid >= \$3::xid8(?:(?!\n\S).)*)/sg'; }
plan=$(f09_plan)
like "$plan" "\\(xid >= \\\$3\\)" "its rule statement ran a generic plan: the cursor is a parameter"
unlike "$plan" "'[0-9]+'::xid8" "not a plan made for the cursor's value"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) SELECT 'PB' || g, 'b' || g, 'q' FROM generate_series(1, 300) g"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('PP-Y', 'y', 'y')"
mark=$(wc -c <"$QF_PGLOG")
"$QFD" -c "$T_DIR/p.conf" --once --incremental >"$T_DIR/once.log" 2>&1
is "$(keys F09)" "PP-X,PP-Y" "a delta of 301 keys: the next record is flagged"
like "$(f09_plan)" "'[0-9]+'::xid8" "by a plan made for the cursor's value"

done_testing
