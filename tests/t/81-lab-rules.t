#!/bin/bash
# The lab-integrity rules (RULES-LAB.md: T12-T17, D10, F14) beyond their
# fixtures (tests/t/80-rules.t runs those): an optional table checks only
# the scope it covers, so emptying it silences its rule; the parameters a
# deployment overrides; D10 on the clock, around its deadline and lookback;
# and on generated data without the optional tables the 33 rules of
# RULES-423.md find what they found before and the 8 new ones nothing.
# Expectations are hand-written from RULES-LAB.md. The server runs in UTC,
# the institute in Asia/Shanghai (the default).
. "$(dirname "$0")/../lib.sh"

NOW='2026-11-25T12:00:00+08:00'
new_db lab
sql "$DB" "ALTER DATABASE $DB SET TimeZone = 'UTC'"
write_conf "$T_DIR/qf.conf" "http://127.0.0.1:9/hook"
tables=$(sql "$DB" "SELECT string_agg(format('records.%I', table_name), ', ') FROM information_schema.tables WHERE table_schema = 'records'")
load() { # load FIXTURE-ID: the fixture of tests/rules alone
  sql "$DB" "TRUNCATE $tables" >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$QF_ROOT/tests/rules/$1.sql" >"$T_DIR/load.log" 2>&1 || sed 's/^/# /' "$T_DIR/load.log"
}
dry() { # dry CONF ID [NOW]: what the rule would flag, as in the .expected files
  "$QFCTL" -c "$1" rules test "$2" --now "${3:-$NOW}" 2>"$T_DIR/err.log" | cut -f1-5 | tr '\t' '|'
  [ -s "$T_DIR/err.log" ] && grep -v 'would flag' "$T_DIR/err.log" | sed 's/^/# /'
}

# --- an empty optional table: its rule checks nothing (the fixture's hits
# first, so the silence is the table's doing)
for case in "T12 accreditation" "T13 standard_status" "T14 subcontract" "T15 sampling" "T16 retained_sample" \
            "T17 report_issue" "D10 impartiality_declaration" "F14 fee_schedule" "F14 task_invoice"; do
  set -- $case
  load "$1"
  before=$(dry "$T_DIR/qf.conf" "$1" | grep -c .)
  sql "$DB" "TRUNCATE records.$2"
  is "$before:$(dry "$T_DIR/qf.conf" "$1")" "$before:" "$1 flags nothing once records.$2 is empty ($before with it)"
  ok "$([ "$before" -gt 0 ] && echo 0 || echo 1)" "(its fixture had hits to lose)"
done

# --- the scope of a table that holds rows: a lab without accreditation rows,
# a method without a published fee, is not checked; the others are
load T12
sql "$DB" "DELETE FROM records.accreditation WHERE lab = '化学室'"
is "$(dry "$T_DIR/qf.conf" T12)" "T12|B1|red|sA|机械室" \
   "T12: once 化学室 lists no accreditation its reports are not checked, 机械室's still are"
load F14
sql "$DB" "DELETE FROM records.fee_schedule WHERE method = 'M2'"
is "$(dry "$T_DIR/qf.conf" F14 | paste -sd' ')" \
   "F14|F11|orange|v11|化学室 F14|F2|orange|v2|化学室 F14|F4|orange|v4|化学室 F14|F5|orange|v5|化学室 F14|F9|orange|v9b|机械室" \
   "F14: without a published fee for M2, F7's invoice is not checked"

# --- parameters a deployment overrides (qingfeng.conf params)
write_conf "$T_DIR/p.conf" "http://127.0.0.1:9/hook" \
  'params = { T13 = { grace_days = 5; }; T15 = { min_samplers = 3; }; F14 = { tolerance = 0.2; };
              D10 = { deadline = "03-31"; lookback = 1; }; };'
load T13
is "$(dry "$T_DIR/p.conf" T13)" "T13|W9|orange|u9|机械室" "T13 grace_days = 5: only from 03-06 (W9 started that day)"
load T15
is "$(dry "$T_DIR/p.conf" T15 | paste -sd' ')" \
   "T15|C1|orange|p1|食品室 T15|C2|orange|p1|食品室 T15|C3|orange|p3|食品室 T15|C4|orange|p4|食品室 T15|C5|orange|p5|食品室 T15|C6|orange|-|食品室 T15|C7|orange|-|食品室 T15|C8|orange|p8|抽样室" \
   "T15 min_samplers = 3: two people are too few as well"
load F14
is "$(dry "$T_DIR/p.conf" F14 | paste -sd' ')" \
   "F14|F11|orange|v11|化学室 F14|F5|orange|v5|化学室 F14|F7|orange|v7|化学室" \
   "F14 tolerance = 0.2: below 800.00 (M1) or 240.00 (M2) yuan, and not covered"
load D10
is "$(dry "$T_DIR/p.conf" D10 | paste -sd' ')" \
   "D10|[\"p3\", 2026]|yellow|p3|机械室 D10|[\"p4\", 2026]|yellow|p4|机械室 D10|[\"p8\", 2026]|yellow|p8|- D10|[\"p9\", 2026]|yellow|p9|食品室" \
   "D10 deadline 03-31, lookback 1 year: p2's declaration of 02-01 is in time, 2025 is before the lookback"

# --- D10 on the clock: a year is checked once its deadline has passed (the
# local date after it), back to the lookback's year (its deadline on or after
# the date two years before)
load D10
is "$(dry "$T_DIR/qf.conf" D10 2026-01-31T23:00:00+08:00)" 'D10|["p7", 2024]|yellow|p7|纺织室' \
   "on the deadline day 2026 is not checked yet; 2024's deadline (2024-01-31) is the lookback's first day"
is "$(dry "$T_DIR/qf.conf" D10 2026-01-31T16:30:00Z)" "$(cat "$QF_ROOT/tests/rules/D10.expected")" \
   "at 2026-01-31 16:30 UTC (02-01 00:30 local) 2026 is checked and 2024 is past the lookback"

# --- generated data without the optional tables (qf-gen --no-lab, the
# records of tests/t/90-demo.t's institute): the 41-rule pack finds exactly
# the generator's ground truth, which has no point of the 8 new rules; with
# the optional tables loaded too, the 33 rules find the same again
GEN=${QF_PLAIN_BUILD:-$QF_BUILD}/qf-gen
[ -x "$GEN" ] || GEN=$QF_BUILD/qf-gen
gen=("$GEN" --scale 4000 --seed 7 --plant-rate 0.03 --benford-min-n auto --truth)
receiver_start rcv
findings() { sql "$DB" "SELECT rule_id || ' ' || dedupe_key FROM qf.finding ORDER BY 1"; }
truth() { sql "$DB" "SELECT DISTINCT rule_id || ' ' || dedupe_key FROM public.bench_truth ORDER BY 1"; }
new_db nolab
"${gen[@]}" --no-lab >"$T_DIR/nolab.sql"
min_n=$(sed -n 's/^-- qf-gen: F05 min_n \([0-9]*\) .*/\1/p' "$T_DIR/nolab.sql")
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$T_DIR/nolab.sql" >/dev/null
write_conf "$T_DIR/n.conf" "$RECV_URL_rcv" "params = { F05 = { min_n = $min_n; }; };"
"$QFD" -c "$T_DIR/n.conf" --once --clock "2026-11-25 09:00" >"$T_DIR/once.log" 2>&1
is "$?" 0 "a full pass over the data without the optional tables exits 0"
is "$(sql "$DB" "SELECT (SELECT count(*) FROM records.accreditation) + (SELECT count(*) FROM records.standard_status)
                 + (SELECT count(*) FROM records.subcontract) + (SELECT count(*) FROM records.sampling)
                 + (SELECT count(*) FROM records.retained_sample) + (SELECT count(*) FROM records.report_issue)
                 + (SELECT count(*) FROM records.impartiality_declaration) + (SELECT count(*) FROM records.fee_schedule)
                 + (SELECT count(*) FROM records.task_invoice)
                 + (SELECT count(*) FROM records.counterparty WHERE accreditation_valid_to IS NOT NULL)")" 0 \
   "(none of the optional tables holds a row)"
nolab=$(findings)
is "$nolab" "$(truth)" "its findings are exactly the ground truth of the 33 rules ($(printf '%s\n' "$nolab" | grep -c .) findings)"
is "$(printf '%s\n' "$nolab" | grep -cE '^(T1[2-7]|D10|F14) ')" 0 "none of T12-T17, D10, F14 fires"
ok "$([ "$(printf '%s\n' "$nolab" | cut -d' ' -f1 | sort -u | wc -l)" -ge 30 ] && echo 0 || echo 1)" \
   "(findings of $(printf '%s\n' "$nolab" | cut -d' ' -f1 | sort -u | wc -l) of the 33 rules)"
new_db withlab
"${gen[@]}" >"$T_DIR/lab.sql"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$T_DIR/lab.sql" >/dev/null
write_conf "$T_DIR/w.conf" "$RECV_URL_rcv" "params = { F05 = { min_n = $min_n; }; };"
"$QFD" -c "$T_DIR/w.conf" --once --clock "2026-11-25 09:00" >"$T_DIR/once.log" 2>&1
is "$?" 0 "a full pass over the same data with the optional tables exits 0"
withlab=$(findings)
is "$(printf '%s\n' "$withlab" | grep -vE '^(T1[2-7]|D10|F14) ')" "$nolab" "the 33 rules' findings are the same with the optional tables"
is "$withlab" "$(truth)" "and the 8 new rules find exactly their planted points ($(printf '%s\n' "$withlab" | grep -cE '^(T1[2-7]|D10|F14) '))"
is "$(printf '%s\n' "$withlab" | grep -oE '^(T1[2-7]|D10|F14)' | sort -u | paste -sd' ')" "D10 F14 T12 T13 T14 T15 T16 T17" \
   "(all 8 planted)"

done_testing
