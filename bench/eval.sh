#!/bin/bash
# Evaluation benchmarks (issue 3), for each SCALE (record rows, default
# "1000000 10000000"):
#  - the daemon's full pass over the whole pack (steady state: findings
#    exist) against the same compiled statements run bare through psql on
#    the same data, in the same run (target ratio <= 1.10);
#  - an incremental pass after 1,000 new records (target <= 100 ms, and at
#    10M at most 1.5 x its time at 1M).
# Data: bench/gen.c (planted risk points, rate 0.001). RESULT lines for
# bench/run.sh. Run inside tools/pgtmp.sh (make bench does).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${QF_BUILD:-$ROOT/build}
work=$(mktemp -d /tmp/qf-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# the rules' clock (:now) for the daemon (--clock) and the bare runs alike:
# with the real date the daemon's windows held other rows than the bare
# run's, and the ratio drifted with the calendar (0.91 to 1.25 at 1M)
NOW='2026-11-25T12:00:00+08:00'
: >"$work/incr.medians"
# for the RESULT lines (bench/run.sh): 1234567 -> 1,234,567; 1000000 -> 1M
awk_lib='
  function commas(x,   s) { s = sprintf("%d", x); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); return s }
  function scale(n) { return n % 1000000 == 0 ? n / 1000000 "M" : commas(n) }
'

for SCALE in ${SCALES:-1000000 10000000}; do
  DB=qf_bench_eval_$SCALE
  dropdb --if-exists "$DB" >/dev/null 2>&1; createdb "$DB"
  "$B/qfctl" -d "dbname=$DB" migrate >/dev/null
  s=$(date +%s)
  "$B/qf-gen" --scale "$SCALE" --plant-rate 0.001 | psql -X -q -v ON_ERROR_STOP=1 -d "$DB"
  psql -X -q -d "$DB" -c "VACUUM ANALYZE"
  rows=$(psql -X -At -d "$DB" -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables WHERE schemaname = 'records'")
  echo "eval $SCALE: loaded $rows record rows in $(( $(date +%s) - s )) s"
  cat >"$work/q.conf" <<CONF
database = { conninfo = "dbname=$DB"; statement_timeout = 600000; };
rules_dir = "$ROOT/rules";
log_level = "info";
CONF
  "$B/qingfengd" -c "$work/q.conf" --clock "$NOW" --once >"$work/first.log" 2>&1   # findings exist from here on
  if [ -z "${INCREMENTAL_ONLY:-}" ]; then
    best_daemon=""; best_bare=""
    for round in 1 2; do
      # the daemon: a full pass; its rule runs' durations from qf.rule_run
      mark=$(psql -X -At -d "$DB" -c "SELECT clock_timestamp()")
      "$B/qingfengd" -c "$work/q.conf" --clock "$NOW" --once >"$work/pass.log" 2>&1
      d=$(psql -X -At -d "$DB" -c "SELECT round(sum(extract(epoch FROM finished_at - started_at)) * 1000, 1) FROM qf.rule_run WHERE started_at >= '$mark'")
      # bare: each rule's compiled full-pass statement, through psql, same parameters
      : >"$work/bare.sql"
      # the engine's session settings (db_connect): the same plans, no JIT
      printf "SET jit = off;\nSET TimeZone = 'Asia/Shanghai';\nSET search_path = pg_catalog;\n" >>"$work/bare.sql"
      printf '\\timing on\n\\o /dev/null\n' >>"$work/bare.sql"
      for id in $("$B/qfctl" -c "$work/q.conf" rules list | awk '{print $1}'); do
        "$B/qfctl" -c "$work/q.conf" rules explain "$id" >"$work/x.sql"
        n=$(sed -n 's/^-- full pass: \$1\.\.\$\([0-9]*\)$/\1/p' "$work/x.sql")
        sqltext=$(awk '/^-- full pass/ {on = 1; next} /^-- / && on && /^-- \$/ {exit} /^-- incremental/ {exit} on' "$work/x.sql" | sed '$ s/;$//')
        args=$(perl -ne 'if (/^-- \$(\d+) = (.*)$/) { my ($i, $v) = ($1, $2);
            $v = $v =~ /^\(:now/ ? "'"'$NOW'"'::timestamptz" : $v =~ /^\(:since/ ? "'"'"-infinity"'"'::timestamptz"
               : $v =~ /^\(the rule.s cursor/ ? "NULL::xid8" : $v =~ /^\(skip known/ ? "true" : do { $v =~ s/\x27/\x27\x27/g; "\x27$v\x27" };
            $a[$i - 1] = $v } END { print join(", ", @a[0 .. '"$n"' - 1]) }' "$work/x.sql")
        # results are fetched as the daemon fetches them (and discarded); the
        # marker tells the EXECUTE's time from the PREPARE's
        printf 'PREPARE q_%s AS %s;\n\\echo EXEC\nEXECUTE q_%s(%s);\n' "$id" "$sqltext" "$id" "$args" >>"$work/bare.sql"
      done
      b=$(psql -X -q -d "$DB" -f "$work/bare.sql" 2>"$work/bare.err" | perl -ne 'if (/^Time: ([0-9.]+) ms/) { my $ms = $1; $t += $ms if $prev =~ /^EXEC$/ } $prev = $_; END { printf "%.1f", $t }')
      [ -s "$work/bare.err" ] && { echo "bare run failed:" >&2; head -5 "$work/bare.err" >&2; exit 1; }
      [ -z "$best_daemon" ] || [ "$(echo "$d < $best_daemon" | bc)" = 1 ] && best_daemon=$d
      [ -z "$best_bare" ] || [ "$(echo "$b < $best_bare" | bc)" = 1 ] && best_bare=$b
    done
    awk -v s="$SCALE" -v d="$best_daemon" -v b="$best_bare" "$awk_lib"'
      BEGIN { printf "eval %s: full pass of the pack: daemon %.0f ms, bare psql %.0f ms, ratio %.3f (best of 2)\n", s, d, b, d / b
        printf "RESULT\teval-full-%s\tfull pack at %s rows: daemon vs the same SQL bare through psql (same session settings), same run\tratio ≤ 1.10 (#3)\t%.3f (%s vs %s ms, best of 2)\t%s\n",
          s, scale(s), d / b, commas(d + 0.5), commas(b + 0.5), (d / b <= 1.10) ? "yes" : "no" }'
  fi

  # incremental: 1,000 new records across the three domains, then one
  # incremental pass; ROUNDS_INCR times, median reported. Each round's
  # records reference vendors, clients and people of their own, so every
  # round is the same change: the measure is how the pass scales with the
  # size of the tables (a change that touches a vendor with a long history
  # costs more in the window rules F01 and F05, which re-read that vendor)
  "$B/qingfengd" -c "$work/q.conf" --clock "$NOW" --once --incremental >/dev/null 2>&1   # cursors current
  : >"$work/incr.ms"
  for k in $(seq 1 "${ROUNDS_INCR:-5}"); do
    psql -X -q -d "$DB" -c "
      INSERT INTO records.payment (payment_id, vendor_id, department, invoice_no, amount, paid_at, created_by, approved_by, paid_by)
      SELECT 'NEWP$k-' || g, 'NV$k-' || (g % 50), '化学室', 'NEWINV$k-' || g, 1234.56 + g, '2026-11-24 10:00+08', 'PA', 'PB', 'PC' FROM generate_series(1, 400) g;
      INSERT INTO records.test_task (task_id, client_id, lab, method, received_at, tested_by, reviewed_by, approved_by)
      SELECT 'NEWT$k-' || g, 'NC$k-' || (g % 50), '化学室', 'M1', '2026-11-24 09:00+08', 'TA', 'TB', 'TC' FROM generate_series(1, 300) g;
      INSERT INTO records.test_result (result_id, task_id, item, attempt, verdict, value, analyst, recorded_at)
      SELECT 'NEWR$k-' || g, 'NEWT$k-' || (1 + g % 300), 'pH', 1, 'pass', 7, 'TA', '2026-11-24 11:00+08' FROM generate_series(1, 250) g;
      INSERT INTO records.gift (gift_id, person_id, kind, value, received_at, registered_at, handed_in)
      SELECT 'NEWG$k-' || g, 'GP$k-' || g, 'gift', 50, '2026-11-20 10:00+08', '2026-11-21 10:00+08', true FROM generate_series(1, 50) g;"
    "$B/qingfengd" -c "$work/q.conf" --clock "$NOW" --once --incremental >"$work/incr.log" 2>&1
    grep -o 'in [0-9.]* ms' "$work/incr.log" | head -1 | grep -o '[0-9.]*' >>"$work/incr.ms"
  done
  sort -n "$work/incr.ms" | awk -v s="$SCALE" "$awk_lib"'{ a[NR] = $1; all = all (NR > 1 ? ", " : "") $1 }
    END { m = a[int((NR + 1) / 2)]
      printf "eval %s: incremental pass after 1000 new records: median %.1f ms of %d (%s ms)\n", s, m, NR, all
      printf "RESULT\teval-incr-%s\tincremental pass after 1,000 new records, %s rows\t≤ 100 ms (#3)\t%.1f ms (median of %d: %s–%s)\t%s\n",
        s, scale(s), m, NR, a[1], a[NR], (NR > 0 && m <= 100) ? "yes" : "no"
      printf "%s %s\n", s, m >>"'"$work/incr.medians"'" }'
  dropdb "$DB"
done

# the incremental pass at the largest scale against the smallest; the
# target is for 10M rows against 1M
if [ "$(wc -l <"$work/incr.medians")" -ge 2 ]; then
  sort -n "$work/incr.medians" | awk "$awk_lib"'{ s[NR] = $1; m[NR] = $2 }
    END { r = m[NR] / m[1]; met = (s[1] == 1000000 && s[NR] == 10000000) ? ((r <= 1.5) ? "yes" : "no") : "n/a"
      printf "eval: incremental pass at %s rows / at %s rows: %.2f x\n", s[NR], s[1], r
      printf "RESULT\teval-incr-scaling\tincremental pass at %s rows against %s rows\t10M ≤ 1.5 × 1M (#3)\t%.2f × (%.1f vs %.1f ms)\t%s\n",
        scale(s[NR]), scale(s[1]), r, m[NR], m[1], met }'
fi
