#!/bin/bash
# `make demo`: runs inside tools/pgtmp.sh (a throwaway cluster). Migrates a
# database, loads demo data with planted risk points, starts a local
# receiver that prints each alert, runs qingfengd while records stream in,
# then prints a summary and checks the findings against the ground truth.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${QF_BUILD:-$ROOT/build}
work=$(mktemp -d /tmp/qf-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
q() { psql -X -q -v ON_ERROR_STOP=1 -d qf_demo "$@"; }

say "1. 数据库 database: throwaway PostgreSQL at $PGHOST, schema migrations"
createdb qf_demo
"$B/qfctl" -d "host=$PGHOST dbname=qf_demo" migrate
q -f "$ROOT/demo/data.sql"
echo "loaded $(q -Atc 'SELECT count(*) FROM records.payment') payments, $(q -Atc 'SELECT count(*) FROM records.person') persons; planted risk points: $(q -Atc 'SELECT count(*) FROM demo.truth')"

say "2. 接收端 receiver: a local webhook receiver on 127.0.0.1, verifying signatures"
"$B/qf-receiver" -q -P -s demo-secret -p "$work/port" -o "$work/alerts.jsonl" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
cat >"$work/qingfeng.conf" <<CONF
database = { conninfo = "host=$PGHOST dbname=qf_demo"; };
rules_dir = "$ROOT/rules";
evaluation = { interval = 1; };
metrics = { listen = "127.0.0.1:0"; };   # any free port: the demo must not collide with a running qingfengd
receivers = (
  { name = "jiwei"; format = "json"; url = "http://127.0.0.1:$(cat "$work/port")/hook"; secret = "demo-secret"; }
);
CONF
"$B/qingfengd" -c "$work/qingfeng.conf" -n

say "3. 守护进程 qingfengd: evaluating the 423 rules; alerts arrive below"
"$B/qingfengd" -c "$work/qingfeng.conf" 2>"$work/daemon.log" &
dpid=$!
pids+=($dpid)
sleep 2

say "4. 新记录 new records arrive while the daemon runs"
while IFS= read -r stmt; do
  case "$stmt" in INSERT*) ;; *) continue ;; esac
  id=$(printf '%s' "$stmt" | grep -o "'FK2026-[0-9]*'" | head -1)
  printf '  → ERP commits payment %s\n' "$id"
  q -c "$stmt"
  sleep 0.7
done <"$ROOT/demo/stream.sql"
q -c "INSERT INTO demo.truth VALUES ('F09', 'FK2026-0102'), ('F03', 'FK2026-0102'), ('F09', 'FK2026-0104'), ('F06', 'FK2026-0104')"

# wait until every alert is delivered (or 20 s)
for _ in $(seq 1 40); do
  pending=$(q -Atc "SELECT count(*) FROM qf.alert WHERE state <> 'delivered'")
  total=$(q -Atc "SELECT count(*) FROM qf.alert")
  [ "$pending" = 0 ] && [ "$total" -ge "$(q -Atc 'SELECT count(*) FROM demo.truth')" ] && break
  sleep 0.5
done
kill -TERM $dpid; wait $dpid || true

say "5. 汇总 summary: findings by the 423 dimensions"
q -c "SELECT supervision AS \"监督 supervision\", risk AS \"风险 risk\", duty AS \"责任 duty\",
             level AS \"等级 level\", count(*) AS \"风险点 findings\"
        FROM qf.finding GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
q -c "SELECT f.id, f.rule_id, f.dedupe_key AS \"记录 record\", f.subject AS \"对象 subject\", p.name AS \"姓名 name\",
             f.department AS \"部门 department\", a.state AS \"告警 alert\", a.attempts
        FROM qf.finding f LEFT JOIN records.person p ON p.person_id = f.subject
        LEFT JOIN qf.alert a ON a.finding_id = f.id ORDER BY f.id"

say "6. 自检 self-check against the planted risk points"
read -r tp fp fn <<<"$(q -Atc "
  SELECT count(*) FILTER (WHERE t.dedupe_key IS NOT NULL AND f.dedupe_key IS NOT NULL),
         count(*) FILTER (WHERE t.dedupe_key IS NULL),
         count(*) FILTER (WHERE f.dedupe_key IS NULL)
    FROM (SELECT rule_id, dedupe_key FROM qf.finding) f
    FULL JOIN demo.truth t USING (rule_id, dedupe_key)" | tr '|' ' ')"
delivered=$(q -Atc "SELECT count(*) FROM qf.alert WHERE state = 'delivered'")
received=$(wc -l <"$work/alerts.jsonl")
recall=$(awk -v a="$tp" -v b="$fn" 'BEGIN { printf "%.2f", (a + b) ? a / (a + b) : 1 }')
precision=$(awk -v a="$tp" -v b="$fp" 'BEGIN { printf "%.2f", (a + b) ? a / (a + b) : 1 }')
echo "planted $((tp + fn)), found $((tp + fp)): recall $recall, precision $precision; alerts delivered $delivered, received $received"
if [ "$fn" -ne 0 ] || [ "$fp" -ne 0 ] || [ "$delivered" -ne "$((tp + fp))" ]; then
  echo "demo: FAILED: findings or alerts do not match the planted risk points" >&2
  sed 's/^/  daemon: /' "$work/daemon.log" >&2
  exit 1
fi
echo "demo: OK"
