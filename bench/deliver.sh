#!/bin/bash
# Delivery throughput: N alerts (F09 on N payments) to a local receiver
# that answers each request after 10 ms. The alerts are created first
# (receiver in an all-day maintenance window), then delivered by one
# qingfengd --once; alerts/s from the database's own timestamps, peak RSS
# from /usr/bin/time, for two sizes (steady memory); RESULT lines for
# bench/run.sh. Run inside tools/pgtmp.sh (make bench does).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${QF_BUILD:-$ROOT/build}
work=$(mktemp -d /tmp/qf-bench.XXXXXX)
rpid=
trap '[ -n "$rpid" ] && kill $rpid 2>/dev/null; rm -rf "$work"' EXIT

"$B/qf-receiver" -q -r 200@10 -p "$work/port" & rpid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$work/port")/hook"
only=$(grep -ho 'id = "[A-Z][0-9]*"' "$ROOT"/rules/*.conf | cut -d'"' -f2 | grep -v '^F09$' | sed 's/.*/& = { enabled = false; };/' | tr '\n' ' ')

for N in ${SIZES:-20000 60000}; do
  DB=qf_bench_deliver_$N
  dropdb --if-exists "$DB" >/dev/null 2>&1; createdb "$DB"
  "$B/qfctl" -d "dbname=$DB" migrate >/dev/null
  psql -X -q -d "$DB" -c "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by)
                           SELECT 'B' || g, '财务处', 100 + g % 1000, 'P' || (g % 500), 'P' || (g % 500), 'X' FROM generate_series(1, $N) g"
  for phase in hold send; do
    mw=""; [ $phase = hold ] && mw='maintenance = ( { from = "00:00"; to = "24:00"; } );'
    cat >"$work/$phase.conf" <<CONF
database = { conninfo = "dbname=$DB"; };
rules_dir = "$ROOT/rules";
log_level = "warning";
receivers = ( { name = "rcv"; format = "json"; url = "$url"; secret = "s3cret"; $mw } );
delivery = { once_deadline = 600; max_in_flight = 64; };
params = { $only };
CONF
  done
  "$B/qingfengd" -c "$work/hold.conf" --once 2>/dev/null || true
  [ "$(psql -X -At -d "$DB" -c "SELECT count(*) FROM qf.alert WHERE state = 'pending'")" = "$N" ] || { echo "setup failed" >&2; exit 1; }
  /usr/bin/time -f "%M" -o "$work/rss" "$B/qingfengd" -c "$work/send.conf" --once 2>/dev/null
  read -r delivered span <<<"$(psql -X -At -F ' ' -d "$DB" -c "SELECT count(*) FILTER (WHERE state = 'delivered'),
        extract(epoch FROM max(delivered_at) - min(last_attempt_at)) FROM qf.alert")"
  awk -v n="$N" -v d="$delivered" -v s="$span" -v rss="$(cat "$work/rss")" '
    function commas(x,   s) { s = sprintf("%d", x); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); return s }
    BEGIN { rate = s > 0 ? d / s : 0
      printf "deliver %d alerts (receiver answers after 10 ms): %d delivered in %.2f s = %.0f alerts/s, peak RSS %.1f MB\n", n, d, s, rate, rss / 1024
      printf "RESULT\tdeliver-%d\talerts per second to a receiver answering each request after 10 ms, %s alerts\t≥ 2,000/s (#4)\t%s/s (%s of %s delivered in %.2f s; peak RSS %.1f MB)\t%s\n",
        n, commas(n), commas(rate + 0.5), commas(d), commas(n), s, rss / 1024, (rate >= 2000 && d == n) ? "yes" : "no" }'
  echo "$N $(cat "$work/rss")" >>"$work/sizes"
  dropdb "$DB"
done
# steady memory: the daemon's peak RSS at the largest backlog against the smallest
sort -n "$work/sizes" | awk '
  function commas(x,   s) { s = sprintf("%d", x); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); return s }
  { n[NR] = $1; r[NR] = $2; all = all (NR > 1 ? ", " : "") sprintf("%.1f MB at %s", $2 / 1024, commas($1)) }
  END { met = (NR < 2) ? "n/a" : (r[NR] <= 1.10 * r[1]) ? "yes" : "no"
    printf "RESULT\tdeliver-rss\tdaemon peak RSS while delivering, by backlog\tsteady memory (#4): largest backlog within 10 %% of the smallest\t%s\t%s\n", all, met }'
