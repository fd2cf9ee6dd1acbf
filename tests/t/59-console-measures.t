#!/bin/bash
# The measures of a calendar month from qf.finding_measure (sql/024: kept
# by a statement trigger on qf.finding; the median along an index) equal
# those read from the findings (qf.disposal_measures_scan, 021's
# qf.disposal_measures), for an admin and for scoped auditors, row for
# row: on 600 findings over four months, then after steps taken as real
# roles (sign, feedback, close, reopen), an engine's update, deletes, and
# with the engine's clock moved. The summary itself equals a recount, and
# no role but the trigger writes it.
. "$(dirname "$0")/../lib.sh"

as() { local who=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -U "$who" -d "$DB" -c "SET TimeZone = 'Asia/Shanghai'; $*" 2>&1; }

new_db measures
ok $? "a migrated database"
sql postgres "DO \$\$ BEGIN
  BEGIN CREATE ROLE t59m_adm LOGIN IN ROLE qf_admin; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59m_adm2 LOGIN IN ROLE qf_admin; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59m_aud LOGIN IN ROLE qf_auditor; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59m_disc LOGIN IN ROLE qf_auditor; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59m_eng LOGIN IN ROLE qf_engine; EXCEPTION WHEN duplicate_object THEN NULL; END;
END \$\$" >/dev/null
sql "$DB" "INSERT INTO qf.auditor_scope (role_name, department, supervision) VALUES
  ('t59m_aud', '甲室', NULL), ('t59m_aud', NULL, 'financial'), ('t59m_disc', NULL, 'disciplinary')" >/dev/null

# 600 findings first seen from mid-September to early December (Shanghai),
# at every stage, signed and closed early and late, four departments (one
# NULL, one named '-': the same group), five rules
sql "$DB" "SET TimeZone = 'Asia/Shanghai';
INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, department,
                        evidence, evidence_hash, first_seen, sign_due, close_due, status,
                        acknowledged_at, acknowledged_by, outcome, disposition, feedback_by, closed_at)
SELECT 'F0' || (1 + i % 5), 'k' || i, 'v', 't', (ARRAY['red', 'orange', 'yellow'])[1 + i % 3],
       (ARRAY['technical', 'financial', 'disciplinary'])[1 + (i / 4) % 3], 'technical', 'primary',
       (ARRAY['甲室', '乙室', NULL, '-'])[1 + i % 4], '{}', md5(i::text),
       fs, fs + interval '1 day', fs + interval '10 days', st,
       CASE WHEN st <> 'open' THEN fs + (i % 4) * interval '17 hours' END, CASE WHEN st <> 'open' THEN 'x' END,
       CASE st WHEN 'reported' THEN 'partly' WHEN 'resolved' THEN (ARRAY['substantiated', 'partly'])[1 + i % 2]
               WHEN 'dismissed' THEN 'unfounded' END,
       CASE WHEN st IN ('reported', 'resolved', 'dismissed') THEN 'talk' END,
       CASE WHEN st IN ('reported', 'resolved', 'dismissed') THEN 'x' END,
       CASE WHEN st IN ('resolved', 'dismissed') THEN fs + (i % 9 + 2) * interval '1 day' + (i % 3) * interval '1 hour' END
  FROM generate_series(1, 600) i,
       LATERAL (SELECT '2026-09-15 09:00+08'::timestamptz + i * interval '3 hours 17 minutes' AS fs,
                       (ARRAY['open', 'acknowledged', 'reported', 'resolved', 'dismissed', 'resolved'])[1 + i % 6] AS st) x" >/dev/null

MONTHS="2026-09-01 2026-10-01 2026-11-01 2026-12-01 2027-01-01"
# same ROLE LABEL: for each month, the summary's answer equals the scan's
same() {
  local who=$1 label=$2 m n fast scan bad=""
  for m in $MONTHS; do
    n=$(date -d "$m +1 month" +%F)
    fast=$(as "$who" "SELECT string_agg(x::text, '|') FROM qf.disposal_measures_month('$m') x")
    scan=$(as "$who" "SELECT string_agg(x::text, '|') FROM qf.disposal_measures_scan('$m', '$n') x")
    [ "$fast" = "$scan" ] || { bad="$bad $m"; note "$who $m summary: $fast"; note "$who $m scan:    $scan"; }
    [ "$(as "$who" "SELECT string_agg(x::text, '|') FROM qf.disposal_measures('$m', '$n') x")" = "$scan" ] || bad="$bad $m(dispatch)"
  done
  is "$bad" "" "$label: $who's measures of every month from the summary equal the scan's"
}
# recount: the summary equals the findings counted again (as the owner)
recount() {
  sql "$DB" "WITH c AS (
      SELECT qf.measure_month(closed_at) AS month, rule_id, department, supervision, 1 AS closed,
             (outcome IN ('substantiated', 'partly'))::int AS subst, coalesce(closed_at <= close_due, false)::int AS cot,
             0 AS signed, 0 AS sot FROM qf.finding WHERE closed_at IS NOT NULL
      UNION ALL
      SELECT qf.measure_month(acknowledged_at), rule_id, department, supervision, 0, 0, 0, 1,
             coalesce(acknowledged_at <= sign_due, false)::int FROM qf.finding WHERE acknowledged_at IS NOT NULL),
    r AS (SELECT month, rule_id, department, supervision, sum(closed) a, sum(subst) b, sum(cot) c, sum(signed) d, sum(sot) e
            FROM c GROUP BY 1, 2, 3, 4),
    m AS (SELECT month, rule_id, department, supervision, closed a, substantiated b, closed_on_time c, signed d, signed_on_time e
            FROM qf.finding_measure WHERE closed <> 0 OR signed <> 0)
    SELECT (SELECT count(*) FROM (SELECT * FROM r EXCEPT SELECT * FROM m) x) + (SELECT count(*) FROM (SELECT * FROM m EXCEPT SELECT * FROM r) y)"
}
# periods: the matrix's and trend's counts from qf.finding_day equal the findings'
periods() {
  local who=$1 label=$2 p bad=""
  for p in "2026-09-01 2026-10-01" "2026-10-15 2026-11-03" "2026-11-01 2026-12-01" "2026-12-01 2027-01-01" "2026-09-20 2026-12-31"; do
    set -- $p
    [ "$(as "$who" "SELECT string_agg(x::text, '|' ORDER BY x::text) FROM qf.finding_period('$1', '$2') x")" = \
      "$(as "$who" "SELECT string_agg(x::text, '|' ORDER BY x::text) FROM qf.finding_period_scan('$1', '$2') x")" ] || bad="$bad $1"
  done
  is "$bad" "" "$label: $who's matrix and trend counts of every period from qf.finding_day equal the findings'"
}
check() {
  is "$(recount)" 0 "$1: qf.finding_measure equals a recount of the findings"
  is "$(sql "$DB" "SELECT count(*) FROM ((SELECT day, supervision, risk, duty, level, department, n, closed FROM qf.finding_day WHERE n <> 0
                    EXCEPT SELECT timezone('Asia/Shanghai', first_seen)::date, supervision, risk, duty, level, department, count(*),
                                  count(*) FILTER (WHERE status IN ('resolved', 'dismissed')) FROM qf.finding GROUP BY 1, 2, 3, 4, 5, 6)
                   UNION ALL
                   (SELECT timezone('Asia/Shanghai', first_seen)::date, supervision, risk, duty, level, department, count(*),
                           count(*) FILTER (WHERE status IN ('resolved', 'dismissed')) FROM qf.finding GROUP BY 1, 2, 3, 4, 5, 6
                    EXCEPT SELECT day, supervision, risk, duty, level, department, n, closed FROM qf.finding_day WHERE n <> 0)) x")" 0 \
     "$1: qf.finding_day equals a recount of the findings"
  periods t59m_adm "$1"
  periods t59m_aud "$1"
  same t59m_adm "$1"
  same t59m_aud "$1"
  same t59m_disc "$1"
}

is "$(as t59m_adm "SELECT closed FROM qf.disposal_measures_month('2026-11-01') WHERE \"grouping\" = 'all'")" \
   "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE closed_at >= '2026-11-01 00:00+08' AND closed_at < '2026-12-01 00:00+08'")" \
   "(the month's closed findings as counted by hand)"
ok "$(as t59m_adm "SELECT count(*) > 0 FROM qf.disposal_measures_month('2026-10-01') WHERE median_days_to_close IS NOT NULL" | grep -q t; echo $?)" \
   "(medians are there to compare)"
check "loaded"

# steps as real roles: sign, feedback and close (four eyes: two admins), reopen
ids=$(sql "$DB" "SELECT string_agg(id::text, ' ') FROM (SELECT id FROM qf.finding WHERE status = 'open' ORDER BY id LIMIT 12) x")
for id in $ids; do
  as t59m_adm "SELECT qf.finding_ack($id, 'ok')" >/dev/null
done
for id in $(echo "$ids" | cut -d' ' -f1-8); do
  as t59m_adm "SELECT qf.finding_feedback($id, 'substantiated', 'talk', 'checked')" >/dev/null
done
for id in $(echo "$ids" | cut -d' ' -f1-6); do
  as t59m_adm2 "SELECT qf.finding_close($id, 'closed')" >/dev/null
done
for id in $(sql "$DB" "SELECT id FROM qf.finding WHERE status IN ('resolved', 'dismissed') ORDER BY id LIMIT 10"); do
  as t59m_adm "SELECT qf.finding_reopen($id, 'again')" >/dev/null
done
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event WHERE action IN ('acknowledged', 'reported', 'resolved', 'reopened')")" 36 \
   "(12 signed, 8 fed back, 6 closed, 10 reopened as real roles)"
check "after steps"

# the engine's ordinary update (last seen, hit count) changes nothing;
# escalation moves findings between levels
as t59m_eng "UPDATE qf.finding SET hit_count = hit_count + 1 WHERE id % 3 = 0" >/dev/null
sql "$DB" "UPDATE qf.finding SET level = 'red' WHERE id % 5 = 1 AND level <> 'red'" >/dev/null
# an update that moves findings between groups, and deletes (as the owner)
sql "$DB" "UPDATE qf.finding SET department = '乙室' WHERE id % 7 = 0;
           DELETE FROM qf.finding f WHERE id % 11 = 0 AND NOT EXISTS (SELECT 1 FROM qf.finding_event e WHERE e.finding_id = f.id)" >/dev/null
check "after updates and deletes"

# the engine's clock a month ahead: overdue now changes, steps stamp that clock
sql "$DB" "INSERT INTO qf.setting (name, value) VALUES ('engine.clock_offset', '40 days')
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value" >/dev/null
for id in $(sql "$DB" "SELECT id FROM qf.finding WHERE status = 'open' ORDER BY id LIMIT 5"); do
  as t59m_adm "SELECT qf.finding_ack($id, 'late')" >/dev/null
done
is "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE acknowledged_at > now() + interval '39 days'")" 5 \
   "(five signed on the engine's clock, in a month ahead)"
MONTHS="$MONTHS $(sql "$DB" "SELECT qf.measure_month(qf.clock_now())")"
check "with the engine's clock 40 days ahead"

# other periods are read from the findings, and equal the scan
is "$(as t59m_aud "SELECT string_agg(x::text, '|') FROM qf.disposal_measures('2026-10-03', '2026-11-20') x")" \
   "$(as t59m_aud "SELECT string_agg(x::text, '|') FROM qf.disposal_measures_scan('2026-10-03', '2026-11-20') x")" \
   "a period that is not a calendar month: the scan's figures"

# the summary's own security
is "$(as t59m_aud "SELECT count(*) FROM qf.finding_measure WHERE NOT (department = '甲室' OR supervision = 'financial')")" 0 \
   "a scoped auditor reads only its scope's rows of qf.finding_measure"
ok "$([ "$(as t59m_aud "SELECT count(*) FROM qf.finding_measure")" -gt 0 ]; echo $?)" "(and some)"
is "$(as t59m_disc "SELECT count(*) FROM qf.finding_measure WHERE supervision <> 'disciplinary'")" 0 \
   "a disciplinary scope reads only disciplinary rows"
for who in t59m_aud t59m_adm t59m_eng; do
  like "$(as $who "UPDATE qf.finding_measure SET closed = closed + 1")" "permission denied" "$who cannot change the summary"
  like "$(as $who "INSERT INTO qf.finding_measure (month, rule_id) VALUES ('2026-11-01', 'F01')")" "permission denied" \
       "$who cannot add to it"
done
like "$(as t59m_aud "SELECT qf.finding_measure_apply()")" "permission denied|trigger functions can only be called as triggers" \
     "nor call its trigger function"

done_testing
