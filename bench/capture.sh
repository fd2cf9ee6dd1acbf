#!/bin/bash
# Change capture cost: loading 100k payments by COPY and by multi-row
# INSERT (100 statements of 1000 rows), with the qf_capture triggers
# enabled and disabled, alternating, ROUNDS times; prints the medians and
# the overhead, and a RESULT line per method for bench/run.sh. Run inside
# tools/pgtmp.sh (make bench does).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${QF_BUILD:-$ROOT/build}
ROWS=${ROWS:-100000}
ROUNDS=${ROUNDS:-7}
DB=qf_bench_capture
work=$(mktemp -d /tmp/qf-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

dropdb --if-exists "$DB" >/dev/null 2>&1; createdb "$DB"
"$B/qfctl" -d "dbname=$DB" migrate >/dev/null
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# the data: realistic-looking payments, written once
q -c "COPY (SELECT 'FK' || g, 'V' || (g % 400), (ARRAY['化学室','机械室','电气室','食品室','财务处'])[1 + g % 5],
                   'INV' || g, date '2026-01-01' + g % 300, 'HT' || (g % 900), date '2025-12-01' + g % 300,
                   round((exp(5 + (g * 7919 % 1000) / 120.0))::numeric, 2), 'GL', g,
                   timestamptz '2026-01-01 09:00+08' + (g % 300) * interval '1 day',
                   timestamptz '2026-01-01 10:00+08' + (g % 300) * interval '1 day',
                   'P' || (g % 50), 'P' || (50 + g % 20), 'P' || (70 + g % 10)
              FROM generate_series(1, $ROWS) g) TO STDOUT" >"$work/payments.tsv"
cols="payment_id, vendor_id, department, invoice_no, invoice_date, contract_id, contract_date, amount, book, voucher_no, posted_at, paid_at, created_by, approved_by, paid_by"
# multi-row INSERT statements of 1000 rows each, from the same data
awk -F'\t' -v cols="$cols" '
  function lit(v) { gsub(/\x27/, "\x27\x27", v); return "\x27" v "\x27" }
  { row = "(" lit($1); for (i = 2; i <= NF; i++) row = row ", " lit($i); row = row ")"
    buf = buf (n % 1000 ? ",\n" : "INSERT INTO records.payment (" cols ") VALUES\n") row; n++
    if (n % 1000 == 0) { print buf ";"; buf = "" } }
  END { if (buf != "") print buf ";" }' "$work/payments.tsv" >"$work/insert.sql"

ms() { local s=$(date +%s%N); "$@" >/dev/null; echo $(( ($(date +%s%N) - s) / 1000000 )); }
load_copy() { q -c "\\copy records.payment ($cols) FROM '$work/payments.tsv'"; }
load_insert() { q -f "$work/insert.sql"; }
triggers() { q -c "ALTER TABLE records.payment $1 TRIGGER qf_capture_ins"; }
reset() { q -c "TRUNCATE records.payment, qf.change_log" ; q -c "VACUUM records.payment, qf.change_log"; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

for method in copy insert; do
  : >"$work/on"; : >"$work/off"
  for r in $(seq 1 "$ROUNDS"); do
    for mode in off on; do
      reset; triggers "$([ $mode = on ] && echo ENABLE || echo DISABLE)"
      ms "load_$method" >>"$work/$mode"
      if [ $mode = on ]; then
        [ "$(q -c "SELECT coalesce(sum(cardinality(keys)), 0) FROM qf.change_log")" = "$ROWS" ] || { echo "capture lost rows" >&2; exit 1; }
      fi
    done
  done
  off=$(median <"$work/off"); on=$(median <"$work/on")
  awk -v m="$method" -v off="$off" -v on="$on" -v n="$ROWS" -v r="$ROUNDS" '
    function commas(x,   s) { s = sprintf("%d", x); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); return s }
    BEGIN { pct = (on - off) * 100.0 / off
      printf "capture %-6s %d rows: %d ms without, %d ms with capture: +%.1f%% (median of %d)\n", m, n, off, on, pct, r
      what = m == "copy" ? sprintf("change capture on COPY of %s payments", commas(n)) \
           : sprintf("change capture on multi-row INSERT, %s × 1000 rows", commas(int((n + 999) / 1000)))
      printf "RESULT\tcapture-%s\t%s\t≤ +10 %% (#3)\t%+.1f %% (%s → %s ms, median of %d)\t%s\n", m, what, pct,
        commas(off), commas(on), r, (pct <= 10) ? "yes" : "no" }'
done
triggers ENABLE
dropdb "$DB"
