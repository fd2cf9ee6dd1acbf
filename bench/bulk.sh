#!/bin/bash
# Bulk loads: BULK_N payments inserted in one statement into BULK_SCALE rows
# of reference data, then one incremental pass (qingfengd --once
# --incremental) over them, four times:
#   load 1  new vendors; F03 (just below the approval limit) fires on one
#           payment in twenty, all of one approver
#   load 2  the same vendors, amounts and dates as load 1 under new ids:
#           every payment is a duplicate (F01), BULK_N new findings
#   load 3, 4  new vendors again, as load 1
# Loads 3 and 4 show whether a pass grows with the findings already made;
# load 2 is the worst case of one pass writing many findings. Each pass's
# findings are checked against the payments before its time is reported.
# Run inside tools/pgtmp.sh (make bench does).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${QF_BUILD:-$ROOT/build}
BULK_SCALE=${BULK_SCALE:-1000000}
BULK_N=${BULK_N:-50000}
NOW='2026-11-25T12:00:00+08:00'
DB=qf_bench_bulk
work=$(mktemp -d /tmp/qf-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

dropdb --if-exists "$DB" >/dev/null 2>&1; createdb "$DB"
"$B/qfctl" -d "dbname=$DB" migrate >/dev/null
"$B/qf-gen" --scale "$BULK_SCALE" --plant-rate 0.001 | psql -X -q -v ON_ERROR_STOP=1 -d "$DB"
psql -X -q -d "$DB" -c "VACUUM ANALYZE"
rows=$(psql -X -At -d "$DB" -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables WHERE schemaname = 'records'")
cat >"$work/q.conf" <<CONF
database = { conninfo = "dbname=$DB"; statement_timeout = 900000; };
rules_dir = "$ROOT/rules";
log_level = "info";
CONF
# pass LOG [qingfengd options]: one pass; a pass that exits non-zero or
# where a rule failed (which does not change the exit status) ends the run
pass() {
  local log=$1; shift
  if ! "$B/qingfengd" -c "$work/q.conf" --clock "$NOW" --once "$@" >"$log" 2>&1 ||
     ! grep -q 'evaluated [0-9]* rule(s) in .*: 0 failed' "$log"; then
    cat "$log" >&2; echo "bulk: a pass failed" >&2; exit 1
  fi
}
pass "$work/full.log"
pass "$work/incr.log" --incremental
echo "bulk: $rows record rows, $(psql -X -At -d "$DB" -c "SELECT count(*) FROM qf.finding") findings before the loads"

findings() { psql -X -At -d "$DB" -c "SELECT count(*) FROM qf.finding WHERE rule_id = '$1'"; }
: >"$work/times"
for k in 1 2 3 4; do
  v=$k; [ $k = 2 ] && v=1
  f01=$(findings F01); f03=$(findings F03)
  # amounts from 1,234.56 up to 51,234.56 in BULK_N steps: one in twenty
  # lands in F03's band (47,500 to 50,000)
  psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "INSERT INTO records.payment
      (payment_id, vendor_id, department, invoice_no, amount, paid_at, created_by, approved_by, paid_by)
    SELECT 'BULK$k-' || g, 'BV$v-' || (g % 500), '化学室', 'BINV$k-' || g, 1234.56 + g * (50000.0 / $BULK_N),
           '2026-11-24 10:00+08', 'PA', 'PB', 'PC' FROM generate_series(1, $BULK_N) g"
  pass "$work/load$k.log" --incremental
  ms=$(sed -n 's/.*evaluated [0-9]* rule(s) in \([0-9.]*\) ms.*/\1/p' "$work/load$k.log" | tail -1)
  new01=$(( $(findings F01) - f01 )); new03=$(( $(findings F03) - f03 ))
  want03=$(psql -X -At -d "$DB" -c "SELECT count(*) FROM records.payment
                                      WHERE payment_id LIKE 'BULK$k-%' AND amount >= 47500 AND amount < 50000")
  want01=0; [ $k = 2 ] && want01=$BULK_N
  if [ "$new01" != "$want01" ] || [ "$new03" != "$want03" ]; then
    echo "bulk: load $k made $new01 F01 and $new03 F03 findings, expected $want01 and $want03" >&2; exit 1
  fi
  echo "bulk: load $k (vendors BV$v): $ms ms, $new01 F01 + $new03 F03 new findings"
  echo "$k $ms $new01 $new03" >>"$work/times"
done
"$B/qfctl" -d "dbname=$DB" audit verify >/dev/null || { echo "bulk: the history chain does not verify" >&2; exit 1; }

awk -v n="$BULK_N" -v rows="$rows" '
  function commas(x,   s) { s = sprintf("%d", x); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); return s }
  { ms[$1] = $2; f1[$1] = $3; f3[$1] = $4 }
  END {
    printf "RESULT\tbulk-new\tbulk load: %s payments of new vendors in one statement, %s rows; the incremental pass after loads 1, 3 and 4 (%s findings each)\tno issue target; flat from load to load\t%.1f, %.1f, %.1f s\tn/a\n",
      commas(n), commas(rows), commas(f3[1]), ms[1] / 1000, ms[3] / 1000, ms[4] / 1000
    printf "RESULT\tbulk-dup\tbulk load: %s payments duplicating load 1: %s F01 and %s F03 findings in one pass\tno issue target\t%.1f s\tn/a\n",
      commas(n), commas(f1[2]), commas(f3[2]), ms[2] / 1000
  }' "$work/times"
dropdb "$DB"
