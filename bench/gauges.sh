#!/bin/bash
# The database gauges of /metrics with a long history: ALERTS alerts in
# the outbox (one in a thousand pending, one in a thousand dead, the rest
# delivered; ~1 KB payloads) and FINDINGS findings (most of them closed),
# and the daemon's loop reading the gauges every 5 s. The loop waits for that query, so its time (the
# daemon's debug log) is a pause of every evaluation and delivery.
# Run inside tools/pgtmp.sh (make bench does).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${QF_BUILD:-$ROOT/build}
ALERTS=${ALERTS:-1000000}
FINDINGS=${FINDINGS:-1000000}
READS=5
DB=qf_bench_gauges
work=$(mktemp -d /tmp/qf-bench.XXXXXX)
dpid=""
trap '[ -n "$dpid" ] && kill $dpid 2>/dev/null; rm -rf "$work"' EXIT

dropdb --if-exists "$DB" >/dev/null 2>&1; createdb "$DB"
"$B/qfctl" -d "dbname=$DB" migrate >/dev/null
echo "gauges: $ALERTS alerts into the outbox, $FINDINGS findings"
# the alerts' receivers are not configured, so the daemon leaves them alone
psql -X -q -v ON_ERROR_STOP=1 -v n="$ALERTS" -v nf="$FINDINGS" -d "$DB" <<'SQL'
INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, evidence, evidence_hash)
VALUES ('F09', 'bench', '1', 'bench', 'red', 'financial', 'non-technical', 'primary', '{}', 'x');
INSERT INTO qf.finding_event (finding_id, action) VALUES (1, 'created');
INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload, state, created_at)
SELECT 1, 1, 'r' || g, 'finding.new', jsonb_build_object('detail', repeat(md5(g::text), 30)),
       CASE WHEN g % 1000 = 0 THEN 'pending' WHEN g % 1000 = 1 THEN 'dead' ELSE 'delivered' END,
       now() - make_interval(secs => :n - g)
  FROM generate_series(1, :n) g;
INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, evidence, evidence_hash, status)
SELECT 'F01', 'bench' || g, '1', 'bench', (ARRAY['yellow', 'orange', 'red'])[1 + g % 3], 'financial', 'non-technical',
       'supervisory', jsonb_build_object('payment_id', 'P' || g, 'amount', g), md5(g::text),
       CASE g % 10 WHEN 0 THEN 'open' WHEN 1 THEN 'acknowledged' WHEN 2 THEN 'dismissed' ELSE 'resolved' END
  FROM generate_series(2, :nf) g;
VACUUM ANALYZE qf.alert, qf.finding;
CHECKPOINT;  -- the insert's writes out of the way of the measurement
SQL
size=$(psql -X -At -d "$DB" -c "SELECT pg_size_pretty(pg_total_relation_size('qf.alert'))")
cat >"$work/q.conf" <<CONF
database = { conninfo = "dbname=$DB"; };
rules_dir = "$ROOT/rules";
log_level = "debug";
evaluation = { interval = 60; };
metrics = { listen = "127.0.0.1:0"; };
receivers = ( { name = "rcv"; format = "json"; url = "http://127.0.0.1:1/hook"; } );
CONF
"$B/qingfengd" -c "$work/q.conf" 2>"$work/daemon.log" & dpid=$!
for _ in $(seq 1 $((READS * 60))); do
  [ "$(grep -c 'database gauges read in' "$work/daemon.log")" -ge "$READS" ] && break
  kill -0 $dpid 2>/dev/null || { cat "$work/daemon.log" >&2; exit 1; }
  sleep 0.1
done
kill -TERM $dpid; wait $dpid || true; dpid=""
grep -o 'database gauges read in [0-9.]*' "$work/daemon.log" | awk '{ print $5 }' >"$work/t"
[ "$(wc -l <"$work/t")" -ge "$READS" ] || { echo "gauges: the daemon read its gauges $(wc -l <"$work/t") time(s)" >&2; exit 1; }
# the first read plans the statement in a fresh session; the loop's steady
# pause is the others
tail -n +2 "$work/t" | sort -n | awk -v n="$ALERTS" -v nf="$FINDINGS" -v size="$size" -v first="$(head -1 "$work/t")" '
  { v[NR] = $1 }
  END {
    med = v[int((NR + 1) / 2)]; max = v[NR]
    printf "gauges: %d reads after the first (%.1f ms): median %.2f ms, max %.2f ms; qf.alert %s\n", NR, first, med, max, size
    printf "RESULT\tgauges\tdatabase gauges of /metrics, read by the loop every 5 s, %d alerts in the outbox (%s; %d pending, %d dead), %d findings\t≤ 10 ms, a pause of the loop (no issue target)\tmedian %.2f ms, max %.2f ms (%d reads)\t%s\n",
      n, size, n / 1000, n / 1000, nf, med, max, NR, max <= 10 ? "yes" : "no"
  }'
dropdb "$DB"
