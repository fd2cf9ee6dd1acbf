#!/bin/bash
# kill -9 of qingfengd while its bulk lane works through an import (issue
# 21): an import of 20,000 payments in one statement, a tenth of them
# risky (F09) and twenty duplicate invoices (F01), is read by the bulk and
# rest lanes and written in chunks; the daemon is killed with SIGKILL once
# some but not all of the import's findings are written, then started
# again. Nothing is lost and nothing is made twice: the findings, their
# events and alerts equal those of a full run (--once) over the same
# records in a second database.
. "$(dirname "$0")/../lib.sh"

N=20000
receiver_start rcv -s s3cret
import_sql="INSERT INTO records.payment (payment_id, vendor_id, department, invoice_no, amount, created_by, approved_by, paid_by, paid_at, posted_at)
  SELECT 'IMP' || g, 'VIMP' || h % 500, '采购部', 'IINV-' || h,
         (100 + (g::bigint * 104729) % 90000)::numeric,
         'PI' || g % 300, CASE WHEN g % 10 = 0 THEN 'PI' || g % 300 ELSE 'PJ' || g % 300 END, 'CIMP',
         timestamptz '2026-11-01 10:00+08' + g * interval '1 minute', timestamptz '2026-11-01 10:00+08' + g * interval '1 minute'
    FROM generate_series(1, $N) g, LATERAL (SELECT CASE WHEN g % 1000 = 1 THEN g - 1 ELSE g END AS h) x"
findings="SELECT rule_id || ' ' || dedupe_key || ' ' || md5(evidence::text) FROM qf.finding ORDER BY 1"

# the reference: a full run over the same records
new_db ref
write_conf "$T_DIR/ref.conf" "$RECV_URL_rcv" "$(only_rules F09 F01)"
sql "$DB" "$import_sql"
run_once "$T_DIR/ref.conf"; is "$?" 0 "the reference full run (--once) exits 0"
sql "$DB" "$findings" >"$T_DIR/ref.findings"
ref_f09=$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE rule_id = 'F09'")
is "$ref_f09" $((N / 10)) "the reference: one F09 finding per risky payment"
ok $([ "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE rule_id = 'F01'")" -gt 0 ]; echo $?) "and F01 findings"

# the daemon, killed mid-bulk
new_db kill
write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09 F01)" "evaluation = { interval = 60; };"
"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/d1.log" & dpid=$!; T_PIDS+=($dpid)
# every lane has read the (empty) tables once: each has its cursors
wait_sql "(SELECT count(*) FROM qf.cursor WHERE name IN ('rule:F09', 'rule:F09/bulk', 'rule:F01')) = 3"
ok $? "the live, bulk and rest lanes have their cursors"
# the import's transaction id: the lanes' cursors are compared with it,
# not with qf.change_log, which the rest lane prunes once every cursor has
# passed a change (a condition on max(xid) there is true only until then)
imp=$(sql "$DB" "$import_sql; SELECT pg_current_xact_id()")
# the moment a first chunk of the import's findings has committed
at=0
for _ in $(seq 1 3000); do
  at=$(sql "$DB" "SELECT count(*) FROM qf.finding")
  [ "$at" -gt 0 ] && break
  sleep 0.01
done
kill -KILL $dpid; wait $dpid 2>/dev/null
at=$(sql "$DB" "SELECT count(*) FROM qf.finding")
total=$(wc -l <"$T_DIR/ref.findings" | tr -d ' ')
ok $([ "$at" -gt 0 ] && [ "$at" -lt "$total" ]; echo $?) "killed with SIGKILL mid-bulk: $at of $total findings written"
ok $(sql "$DB" "SELECT (SELECT position FROM qf.cursor WHERE name = 'rule:F09/bulk') <= $imp" | grep -q t; echo $?) \
   "the bulk lane's cursor has not passed the import"

"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/d2.log" & dpid=$!; T_PIDS+=($dpid)
wait_for 300 '[ "$(sql "$DB" "SELECT count(*) FROM qf.finding")" -ge "$total" ] &&
              [ "$(sql "$DB" "SELECT count(*) FROM qf.cursor c WHERE c.name IN ('"'rule:F09/bulk'"', '"'rule:F01'"')
                              AND c.position > '"$imp"'")" = 2 ]'
st=$?; ok $st "after the restart the import is read to its end"
[ $st -eq 0 ] || note "import xid $imp; $(sql "$DB" "SELECT string_agg(name || '=' || position, ' ') FROM qf.cursor"); findings $(sql "$DB" "SELECT count(*) FROM qf.finding") of $total; change_log $(sql "$DB" "SELECT count(*) || ' rows, xids ' || coalesce(min(xid)::text, '-') || '..' || coalesce(max(xid)::text, '-') FROM qf.change_log")"
sql "$DB" "$findings" >"$T_DIR/kill.findings"
is "$(diff "$T_DIR/ref.findings" "$T_DIR/kill.findings" | head -5)" "" "the findings (rule, key, evidence) are those of the full run"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event WHERE action = 'created'")" "$total" "one created event per finding"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE hit_count <> 1")" 0 "no finding counted twice"
is "$(sql "$DB" "SELECT count(*) FROM (SELECT finding_id FROM qf.alert GROUP BY 1 HAVING count(*) <> 1) x")" 0 \
   "one alert per finding, none twice"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert")" "$total" "an alert for every finding"
# qf.verify_chain() knows each event's form (sql/022 seals the evidence)
is "$(sql "$DB" "SELECT count(*) FROM qf.verify_chain()")" 0 "the history chain verifies"
kill -TERM $dpid; wait $dpid; is "$?" 0 "the restarted daemon stops cleanly"

# an upgrade: the rule has a cursor from before the lanes, the bulk lane
# none; the daemon gives it one at the rule's before the live lane passes
# over anything, and the bulk lane then reads the next import
sql "$DB" "DELETE FROM qf.cursor WHERE name = 'rule:F09/bulk'"
live=$(sql "$DB" "SELECT position FROM qf.cursor WHERE name = 'rule:F09'")
sql "$DB" "INSERT INTO records.payment (payment_id, vendor_id, invoice_no, amount, created_by, approved_by)
           SELECT 'UPG' || g, 'VUPG', 'UINV-' || g, g, 'PU', 'PU' FROM generate_series(1, 1000) g"
"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/d3.log" & dpid=$!; T_PIDS+=($dpid)
wait_for 120 '[ "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE dedupe_key LIKE '"'UPG%'"'")" = 1000 ]'
ok $? "upgrade: the import committed before the start is read by the bulk lane (1,000 F09 findings)"
ok $(sql "$DB" "SELECT position > $live FROM qf.cursor WHERE name = 'rule:F09/bulk'" | grep -q t; echo $?) \
   "upgrade: the bulk lane's cursor started at the rule's and moved past the import"
kill -TERM $dpid; wait $dpid
done_testing
