#!/bin/bash
# Hot keys (issue 21): the incremental passes of the window and statistical
# rules (F01 pairs, F02 windows, F05 Benford over per-day summaries, F13
# per quarter, T11 per-day summaries, D01 per year) give what full passes
# give, after random interleavings of inserts, updates (moving rows between
# keys and days) and deletes on a few keys with long histories.
#
# Two databases get the same history and the same rounds of transactions
# (tests/hotkeys-gen.pl). After each round, A runs an incremental pass and
# B a full one, both on the same fixed clock; their findings must then be
# the same, row for row: key, level, evidence and hit count. Findings are
# upserted and never withdrawn by a pass, so A equals B after every round
# only if each incremental pass changed exactly the findings whose hit
# changed. The per-day summaries of A are checked against a recount.
. "$(dirname "$0")/../lib.sh"

SEED=${QF_HOTKEYS_SEED:-$(( $(date +%s) % 100000 ))}
ROUNDS=${QF_HOTKEYS_ROUNDS:-12}
RULES="F01 F02 F05 F13 T11 D01"
CLOCK='2026-11-25 12:00'
note "seed $SEED (QF_HOTKEYS_SEED=$SEED to replay), $ROUNDS rounds"
perl "$QF_ROOT/tests/hotkeys-gen.pl" "$T_DIR" "$SEED" "$ROUNDS" || { ok 1 "the generator runs"; done_testing; }

receiver_start rcv
new_db b; DB_B=$DB
write_conf "$T_DIR/b.conf" "$RECV_URL_rcv" "$(only_rules $RULES)"
new_db a; DB_A=$DB
write_conf "$T_DIR/a.conf" "$RECV_URL_rcv" "$(only_rules $RULES)"

load() { psql -X -q -v ON_ERROR_STOP=1 -d "$1" -f "$2" >/dev/null 2>"$T_DIR/load.err" || { sed "s/^/# /" "$T_DIR/load.err"; return 1; }; }
pass_a() { "$QFD" -c "$T_DIR/a.conf" --once --incremental --clock "$CLOCK" >"$T_DIR/a.log" 2>&1; }
pass_b() { "$QFD" -c "$T_DIR/b.conf" --once --clock "$CLOCK" >"$T_DIR/b.log" 2>&1; }
findings() {
  sql "$1" "SELECT rule_id || '|' || dedupe_key || '|' || level || '|' || hit_count || '|' || evidence::text
              FROM qf.finding ORDER BY rule_id, dedupe_key"
}
# the summaries of A against a recount of its rows (zero rows are kept)
sums_off() {
  local pay="SELECT vendor_id, s.span, qf.epoch_day(paid_at) - (qf.epoch_day(paid_at) % s.span + s.span) % s.span,
                    count(*) FILTER (WHERE d = '1'), count(*) FILTER (WHERE d = '2'), count(*) FILTER (WHERE d = '3'),
                    count(*) FILTER (WHERE d = '4'), count(*) FILTER (WHERE d = '5'), count(*) FILTER (WHERE d = '6'),
                    count(*) FILTER (WHERE d = '7'), count(*) FILTER (WHERE d = '8'), count(*) FILTER (WHERE d = '9')
               FROM (SELECT *, substr(trunc(abs(amount))::text, 1, 1) AS d FROM records.payment) p, (VALUES (1), (30)) s(span)
              WHERE vendor_id IS NOT NULL AND paid_at IS NOT NULL AND abs(amount) >= 10 GROUP BY 1, 2, 3"
  local task="SELECT client_id, qf.epoch_day(received_at), tested_by, count(*)
                FROM records.test_task WHERE client_id IS NOT NULL AND received_at IS NOT NULL GROUP BY 1, 2, 3"
  sql "$DB_A" "SELECT (SELECT count(*) FROM (SELECT vendor_id, span, day, n1, n2, n3, n4, n5, n6, n7, n8, n9 FROM qf.sum_payment_digit WHERE (n1, n2, n3, n4, n5, n6, n7, n8, n9) <> (0, 0, 0, 0, 0, 0, 0, 0, 0) EXCEPT $pay) x)
                    + (SELECT count(*) FROM ($pay EXCEPT SELECT vendor_id, span, day, n1, n2, n3, n4, n5, n6, n7, n8, n9 FROM qf.sum_payment_digit WHERE (n1, n2, n3, n4, n5, n6, n7, n8, n9) <> (0, 0, 0, 0, 0, 0, 0, 0, 0)) x)
                    + (SELECT count(*) FROM (SELECT client_id, day, tested_by, n FROM qf.sum_task_tester WHERE n <> 0 EXCEPT $task) x)
                    + (SELECT count(*) FROM ($task EXCEPT SELECT client_id, day, tested_by, n FROM qf.sum_task_tester WHERE n <> 0) x)"
}

load "$DB_A" "$T_DIR/history.sql" && load "$DB_B" "$T_DIR/history.sql"
ok $? "both databases load the same history"
is "$(sql "$DB_A" "SELECT count(*) FILTER (WHERE vendor_id = 'V1') >= 300 FROM records.payment")" t \
   "a hot vendor has hundreds of payments"
pass_a; st_a=$?; pass_b; st_b=$?
is "$st_a $st_b" "0 0" "the first passes (both full) exit 0"
is "$(findings "$DB_A" | md5sum)" "$(findings "$DB_B" | md5sum)" "and find the same"

bad=0 incr=0 sumbad=0
for r in $(seq 1 "$ROUNDS"); do
  load "$DB_A" "$T_DIR/round-$r.sql" && load "$DB_B" "$T_DIR/round-$r.sql" || { ok 1 "round $r loads"; continue; }
  pass_a; st_a=$?; pass_b; st_b=$?
  [ "$st_a $st_b" = "0 0" ] || { bad=$((bad + 1)); note "round $r: passes exited $st_a $st_b"; sed 's/^/# A: /' "$T_DIR/a.log" | tail -5; }
  n=$(grep -Eo '[0-9]+ on changed rows only' "$T_DIR/a.log" | grep -Eo '^[0-9]+' || echo 0)
  incr=$((incr + n))
  [ "$r" = 1 ] && note "round 1, A: $(grep -Eo 'evaluated .*' "$T_DIR/a.log" | head -1)"
  if [ "$(findings "$DB_A")" != "$(findings "$DB_B")" ]; then
    bad=$((bad + 1))
    note "round $r: incremental (<) and full (>) differ:"
    diff <(findings "$DB_A") <(findings "$DB_B") | head -20 | sed 's/^/#   /'
  fi
  [ "$(sums_off)" = 0 ] || { sumbad=$((sumbad + 1)); note "round $r: the summaries of A are off"; }
done
is "$bad" 0 "after each of $ROUNDS rounds the incremental passes found what the full passes found"
ok $([ "$incr" -ge "$ROUNDS" ]; echo $?) "and they were incremental ($incr rule reads on changed rows only)"
is "$sumbad" 0 "the per-day summaries were exact after every round"
for id in $RULES; do
  ok $([ "$(sql "$DB_B" "SELECT count(*) FROM qf.finding WHERE rule_id = '$id'")" -gt 0 ]; echo $?) \
     "$id has findings to compare"
done
is "$(sql "$DB_B" "SELECT count(*) FROM qf.finding WHERE hit_count > 1")" \
   "$(sql "$DB_A" "SELECT count(*) FROM qf.finding WHERE hit_count > 1")" \
   "findings re-triggered as often in both ($(sql "$DB_B" "SELECT count(*) FROM qf.finding WHERE hit_count > 1") of them)"

# a full pass on A now changes nothing: the incremental state is the reconciled one
before=$(findings "$DB_A")
"$QFD" -c "$T_DIR/a.conf" --once --clock "$CLOCK" >"$T_DIR/a.log" 2>&1
is "$(findings "$DB_A" | md5sum)" "$(printf '%s\n' "$before" | md5sum)" "a full reconciliation of A changes no finding" ||
  diff <(printf '%s\n' "$before") <(findings "$DB_A") | head -20 | sed 's/^/#   /'
true

# the same, the summaries once more, after a TRUNCATE and a reload
sql "$DB_A" "TRUNCATE records.payment, records.test_task, records.purchase_order, records.fee_discount, records.gift"
is "$(sql "$DB_A" "SELECT (SELECT count(*) FROM qf.sum_payment_digit) + (SELECT count(*) FROM qf.sum_task_tester)")" 0 \
   "a TRUNCATE empties the summaries"
load "$DB_A" "$T_DIR/history.sql"
is "$(sums_off)" 0 "and a reload fills them again, exactly"

# the summaries are written by their triggers only
is "$(sql "$DB_A" "SELECT string_agg(r, ',' ORDER BY r) FROM unnest(ARRAY['qf_engine', 'qf_auditor', 'qf_admin']) r
                    WHERE has_table_privilege(r, 'qf.sum_payment_digit', 'INSERT,UPDATE,DELETE,TRUNCATE')
                       OR has_table_privilege(r, 'qf.sum_task_tester', 'INSERT,UPDATE,DELETE,TRUNCATE')")" "" \
   "no role may write the summaries"
done_testing
