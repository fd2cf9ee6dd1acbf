#!/bin/bash
# The console's pages with WEB_FINDINGS findings (default 1,000,000) over
# two years: those of the last 60 days at every stage (a quarter not yet
# closed, many late), the older ones closed but one in 200; 41 rules, 20
# departments, 10 owners. Each page is fetched
# WEB_ROUNDS times (after one warm-up) by an admin and by an auditor
# scoped to one department, through a real qfweb on the loopback; the
# time is curl's time to the last byte, which on the loopback is the
# server's time (libmicrohttpd, the person's own connection, the SQL,
# the HTML). Target (issue 23): <= 50 ms for the list pages.
# The indexes, the row-level security and the kept measures are
# sql/024_console_perf.sql's (the findings are loaded after it, through
# its triggers). Run inside tools/pgtmp.sh (make bench does).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${QF_BUILD:-$ROOT/build}
N=${WEB_FINDINGS:-1000000}
ROUNDS=${WEB_ROUNDS:-20}
DB=qf_bench_web
work=$(mktemp -d /tmp/qf-bench.XXXXXX)
wpid=""
trap '[ -n "$wpid" ] && kill $wpid 2>/dev/null; rm -rf "$work"' EXIT

dropdb --if-exists "$DB" >/dev/null 2>&1; createdb "$DB"
"$B/qfctl" -d "dbname=$DB" migrate >/dev/null
echo "web: $N findings (as the schema owner, generate_series), then VACUUM ANALYZE"
start=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -v n="$N" -d "$DB" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_admin') THEN
    CREATE ROLE bench_admin LOGIN PASSWORD 'bench' IN ROLE qf_admin; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_aud') THEN
    CREATE ROLE bench_aud LOGIN PASSWORD 'bench' IN ROLE qf_auditor; END IF;
END $$;
INSERT INTO qf.auditor_scope (role_name, department) VALUES ('bench_aud', '部门07');
-- valid rows as the engine and the steps would leave them: deadlines from
-- first_seen (calendar days standing in for workdays), an outcome and a
-- closer for the closed ones
INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, subject, department,
                        status, first_seen, last_seen, evidence, evidence_hash, message, owner, sign_due, close_due,
                        acknowledged_at, acknowledged_by, outcome, disposition, feedback_by, feedback_at, closed_at, closed_by)
SELECT r.rule, 'k' || g, '1', '规则 ' || r.rule || ' bench finding', lv.level,
       (ARRAY['technical', 'financial', 'disciplinary'])[1 + g % 3], (ARRAY['technical', 'non-technical'])[1 + g % 2],
       (ARRAY['primary', 'supervisory', 'dual-duty', 'impartiality'])[1 + g % 4],
       '人员' || (g % 5000), '部门' || lpad((g % 20)::text, 2, '0'),
       st.status, fs.t, fs.t, jsonb_build_object('payment_id', 'P' || g, 'amount', (g % 100000) + 0.5, 'table', 'records.payment'),
       md5(g::text), '付款 P' || g || ' bench', 'jw_' || (g % 10), fs.t + lv.sign, fs.t + lv.close,
       CASE WHEN st.status <> 'open' THEN fs.t + lv.sign * 0.8 END, CASE WHEN st.status <> 'open' THEN 'jw_' || (g % 10) END,
       CASE WHEN st.status IN ('reported', 'resolved') THEN (ARRAY['substantiated', 'partly'])[1 + g % 2]
            WHEN st.status = 'dismissed' THEN 'unfounded' END,
       CASE WHEN st.status IN ('reported', 'resolved', 'dismissed') THEN (ARRAY['talk', 'criticism', 'none'])[1 + g % 3] END,
       CASE WHEN st.status IN ('reported', 'resolved', 'dismissed') THEN 'jw_' || (g % 10) END,
       CASE WHEN st.status IN ('reported', 'resolved', 'dismissed') THEN fs.t + lv.close * 0.7 END,
       CASE WHEN st.status IN ('resolved', 'dismissed') THEN fs.t + lv.close * (0.5 + (g % 7) / 10.0) END,
       CASE WHEN st.status IN ('resolved', 'dismissed') THEN 'jw_' || ((g + 1) % 10) END
  FROM generate_series(1, :n) g
  CROSS JOIN LATERAL (SELECT (ARRAY['F01','F02','F03','F04','F05','F06','F07','F08','F09','F10','F11','T01','T02','T03',
                                    'T04','T05','T06','T07','T08','T09','T10','T11','D01','D02','D03','D04','D05','D06',
                                    'D07','D08','D09','D10','L01','L02','L03','L04','L05','L06','L07','L08','L09'])[1 + g % 41]
                             AS rule) r
  CROSS JOIN LATERAL (SELECT now() - make_interval(secs => (:n - g) * (730 * 86400.0 / :n)) AS t) fs
  -- the last 60 days at every stage; before that nearly all closed (one
  -- in 200 still being checked, long overdue)
  CROSS JOIN LATERAL (SELECT CASE WHEN fs.t < now() - interval '60 days'
                                  THEN CASE WHEN g % 200 = 0 THEN 'acknowledged' WHEN g % 10 = 5 THEN 'dismissed'
                                            ELSE 'resolved' END
                                  ELSE CASE g % 20 WHEN 0 THEN 'open' WHEN 1 THEN 'open' WHEN 2 THEN 'acknowledged'
                                         WHEN 3 THEN 'acknowledged' WHEN 4 THEN 'reported' WHEN 5 THEN 'dismissed'
                                         ELSE 'resolved' END END AS status) st
  CROSS JOIN LATERAL (SELECT l.level, l.sign, l.close FROM (VALUES
                        (0, 'red', interval '1 day', interval '14 days'), (1, 'orange', interval '3 days', interval '28 days'),
                        (2, 'yellow', interval '4 days', interval '42 days')) l(k, level, sign, close)
                       WHERE l.k = g % 3) lv;
-- a history for the newest thousand (the finding page reads it): created,
-- and for the closed ones the steps, by the chain trigger
INSERT INTO qf.finding_event (finding_id, action, level, note)
SELECT f.id, a.action, f.level, a.action || ' bench'
  FROM (SELECT * FROM qf.finding ORDER BY id DESC LIMIT 1000) f
  CROSS JOIN LATERAL (VALUES (1, 'created'), (2, 'acknowledged'), (3, 'reported'), (4, 'resolved')) a(k, action)
 WHERE a.k = 1 OR f.status IN ('resolved', 'dismissed')
 ORDER BY f.id, a.k;
VACUUM ANALYZE qf.finding, qf.finding_event;
CHECKPOINT;
SQL
# the bench's roles log in with SCRAM over the socket: the console refuses
# a login that pg_hba.conf lets in without a password (qfweb(8)); every
# other role keeps the throwaway cluster's trust
hba=$QF_PGDATA/pg_hba.conf
{ echo "local all bench_admin,bench_aud scram-sha-256"; $QF_PGRUNAS cat "$hba"; } >"$work/hba"
$QF_PGRUNAS tee "$hba" <"$work/hba" >/dev/null && $QF_PGRUNAS "$QF_PGCTL" -D "$QF_PGDATA" reload >/dev/null
echo "web: loaded in $(( $(date +%s) - start )) s; qf.finding $(psql -X -At -d "$DB" -c "SELECT pg_size_pretty(pg_total_relation_size('qf.finding'))")"

cat >"$work/q.conf" <<CONF
database = { conninfo = "dbname=$DB"; };
rules_dir = "$ROOT/rules";
console = { listen = "127.0.0.1:0"; };
CONF
"$B/qfweb" -c "$work/q.conf" --port-file "$work/port" 2>"$work/web.log" & wpid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
W=http://127.0.0.1:$(cat "$work/port")

newest=$(psql -X -At -d "$DB" -c "SELECT max(id) FROM qf.finding")
mine=$(psql -X -At -d "$DB" -c "SELECT max(id) FROM qf.finding WHERE department = '部门07'")
deep=$(psql -X -At -d "$DB" -c "SELECT id FROM qf.finding ORDER BY id DESC OFFSET 4999 LIMIT 1")
# last month, a whole one (~41,000 findings first seen, closed and signed
# in it), in the console's zone
lm=$(TZ=Asia/Shanghai date -d "$(TZ=Asia/Shanghai date +%Y-%m-01) -1 month" +%F)
tm=$(TZ=Asia/Shanghai date +%Y-%m-01)
# measure WHO LABEL PATH: median and max of ROUNDS fetches, in ms
measure() {
  local who=$1 label=$2 path=$3 jar=$work/$1.jar code
  code=$(curl -s -o "$work/page" -w '%{http_code}' -b "$jar" "$W$path")
  [ "$code" = 200 ] || { echo "web: $who $path: HTTP $code" >&2; sed 's/<[^>]*>/ /g' "$work/page" | tr -s ' ' | head -c 600 >&2; exit 1; }
  for _ in $(seq 1 "$ROUNDS"); do
    curl -s -o /dev/null -w '%{time_total}\n' -b "$jar" "$W$path"
  done | sort -n | awk -v who="$who" -v label="$label" -v path="$path" -v target="${4:-50}" '
    { v[NR] = $1 * 1000 }
    END {
      med = v[int((NR + 1) / 2)]; p95 = v[int(NR * 0.95 + 0.5)]; max = v[NR]
      printf "web: %-6s %-44s median %7.1f ms  p95 %7.1f ms  max %7.1f ms\n", who, label, med, p95, max
      met = target == "n/a" ? "n/a" : (p95 <= target ? "yes" : "no")
      printf "RESULT\tweb-%s-%s\tconsole %s, as %s, %d findings (%s)\t%s\tmedian %.1f ms, p95 %.1f ms\t%s\n",
        who, label, label, who == "admin" ? "a qf_admin" : "an auditor scoped to 1 of 20 departments", '"$N"', path,
        target == "n/a" ? "n/a (no target)" : "≤ " target " ms", med, p95, met
    }'
}
for who in admin aud; do
  curl -s -o /dev/null -c "$work/$who.jar" --data "user=bench_$who&password=bench" "$W/login"
  grep -q qfweb "$work/$who.jar" || { echo "web: bench_$who cannot log in" >&2; cat "$work/web.log" >&2; exit 1; }
done
measure admin "list, page 1" "/findings"
measure admin "list, status=reported" "/findings?status=reported"
measure admin "list, rule=F09 level=red" "/findings?rule=F09&level=red"
measure admin "list, owner=jw_3" "/findings?owner=jw_3"
measure admin "list, light=red" "/findings?light=red"
measure admin "list, page 100 (offset 4,950)" "/findings?page=100"
measure admin "list, page 101 by key" "/findings?page=101&before=$deep"
measure admin "finding" "/findings/$newest"
measure admin "dashboard (this month)" "/dashboard"
measure admin "dashboard (last month, whole)" "/dashboard?from=$lm&to=$tm"
measure aud "list, page 1" "/findings"
measure aud "list, status=open" "/findings?status=open"
measure aud "finding" "/findings/$mine"
measure aud "dashboard (this month)" "/dashboard"
measure aud "dashboard (last month, whole)" "/dashboard?from=$lm&to=$tm"
ROUNDS=3 measure admin "CSV export (50,000 rows)" "/export/findings.csv" n/a
kill -TERM $wpid; wait $wpid || true; wpid=""
if [ "${WEB_EXPLAIN:-0}" = 1 ]; then  # where the dashboard's time goes
  for q in "SELECT * FROM qf.disposal_measures(date_trunc('month', now()), date_trunc('month', now()) + interval '1 month')" \
           "SELECT * FROM qf.v_findings_overdue ORDER BY due, id LIMIT 50" \
           "SELECT supervision, risk, duty, level, count(*) FROM qf.finding WHERE first_seen >= date_trunc('month', now()) GROUP BY 1, 2, 3, 4"; do
    echo "== $q"
    psql -X -At -U bench_admin -d "$DB" -c "EXPLAIN (ANALYZE, COSTS OFF) $q" | grep -E 'Execution Time|Scan|Planning Time'
  done
fi
dropdb "$DB"
