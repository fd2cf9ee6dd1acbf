#!/bin/bash
# qfctl report's disposal measures (issue 23, acceptance 4): per rule and
# per department, findings closed, 查实率, closed on time, signed (on time),
# overdue now and the median days to close, in html, md and csv, equal to
# the same figures counted here by SQL of the test's own; the overdue list
# names each late finding with its owner and days late.
. "$(dirname "$0")/../lib.sh"

new_db dreport
qf() { "$QFCTL" -d "$CONNINFO" "$@"; }
# 40 findings of two rules and three departments (one none), at every
# stage, signed and closed early and late; inserted as the schema's owner
sql "$DB" "SET TimeZone = 'Asia/Shanghai';
INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, department,
                        evidence, evidence_hash, first_seen, owner, sign_due, close_due, status,
                        acknowledged_at, outcome, disposition, feedback_by, closed_at)
SELECT CASE WHEN i % 2 = 0 THEN 'F09' ELSE 'F03' END, 'k' || i, 'v', 't', 'red', 'financial', 'non-technical',
       'primary', CASE i % 3 WHEN 0 THEN '财务处' WHEN 1 THEN '化学室' END, '{}', md5('{}'),
       fs, 'jw_' || (i % 2), fs + interval '1 day', fs + interval '10 days',
       CASE i % 4 WHEN 0 THEN 'resolved' WHEN 1 THEN 'dismissed' WHEN 3 THEN 'reported'
                  ELSE CASE WHEN i % 5 <> 0 THEN 'acknowledged' ELSE 'open' END END,
       CASE WHEN i % 4 <> 2 OR i % 5 <> 0 THEN fs + (i % 3) * interval '20 hours' END,
       CASE i % 4 WHEN 0 THEN 'substantiated' WHEN 1 THEN 'unfounded' WHEN 3 THEN 'partly' END,
       CASE WHEN i % 4 IN (0, 1, 3) THEN 'talk' END, CASE WHEN i % 4 IN (0, 1, 3) THEN 'x' END,
       CASE WHEN i % 4 IN (0, 1) THEN fs + (i % 7 + 6) * interval '1 day' END
  FROM generate_series(1, 40) i, LATERAL (SELECT '2026-11-01 08:00+08'::timestamptz + i * interval '13 hours' AS fs) x;
-- and one resolved that counts as partly substantiated
UPDATE qf.finding SET outcome = 'partly' WHERE dedupe_key = 'k4';" >/dev/null

R=(report --from 2026-11-01 --to 2026-12-01)
qf "${R[@]}" --format html >"$T_DIR/r.html"; is "$?" 0 "report --format html exits 0"
# the figures as the report gives them, a line per group
got=$(perl -ne 'if (/<tr data-group="([^"]+)">(.*)<\/tr>/) { my ($g, $r) = ($1, $2); my @n = $r =~ /<td class="n">([^<]*)<\/td>/g; print "$g @n\n"; }' "$T_DIR/r.html")
# the same counted here
want=$(sql "$DB" "SET TimeZone = 'Asia/Shanghai';
WITH p AS (SELECT '2026-11-01 00:00+08'::timestamptz AS lo, '2026-12-01 00:00+08'::timestamptz AS hi),
f AS (SELECT f.*, f.closed_at >= p.lo AND f.closed_at < p.hi AS c, f.acknowledged_at >= p.lo AND f.acknowledged_at < p.hi AS s,
             (f.status = 'open' AND f.sign_due < now()) OR (f.status IN ('open', 'acknowledged', 'reported') AND f.close_due < now()) AS late
        FROM qf.finding f, p),
g AS (SELECT 'all:all' AS g, 0 AS o, f.* FROM f
      UNION ALL SELECT 'rule:' || rule_id, 1, f.* FROM f
      UNION ALL SELECT 'department:' || coalesce(department, '-'), 2, f.* FROM f)
SELECT string_agg(line, E'\n' ORDER BY o, g) FROM (
  SELECT g, o, g || ' ' || count(*) FILTER (WHERE c) || ' ' || count(*) FILTER (WHERE c AND outcome IN ('substantiated', 'partly'))
         || ' ' || coalesce(round(100.0 * count(*) FILTER (WHERE c AND outcome <> 'unfounded') / nullif(count(*) FILTER (WHERE c), 0), 1)::text, '-')
         || ' ' || count(*) FILTER (WHERE c AND closed_at <= close_due)
         || ' ' || count(*) FILTER (WHERE s) || ' ' || count(*) FILTER (WHERE s AND acknowledged_at <= sign_due)
         || ' ' || count(*) FILTER (WHERE late)
         || ' ' || coalesce(round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - first_seen) / 86400)
                                   FILTER (WHERE c))::numeric, 1)::text, '-') AS line
    FROM g GROUP BY g, o) x")
is "$got" "$want" "html: every group's figures equal the SQL's"
note "$got"
# the figures are not trivial: something closed late, something signed late, something late now
like "$want" "^all:all [0-9]+ [0-9]+ [0-9.]+ [0-9]+ [0-9]+ [0-9]+ [1-9][0-9]* [0-9.]+$" "(and there is something overdue)"
ok "$(sql "$DB" "SELECT (count(*) FILTER (WHERE closed_at > close_due) > 0 AND count(*) FILTER (WHERE acknowledged_at > sign_due) > 0)::int - 1 FROM qf.finding" | tr -d -)" \
   "(and something was closed late and something signed late)"
for g in rule:F03 rule:F09 department:财务处 department:化学室 department:-; do
  like "$got" "^$g " "a row for $g"
done

qf "${R[@]}" --format md >"$T_DIR/r.md"
like "$(cat "$T_DIR/r.md")" "## 处置指标 disposal measures" "md has the measures"
allmd=$(grep '^| 合计 all |' "$T_DIR/r.md" | tr -d '|' | tr -s ' ' | sed 's/^ 合计 all //; s/ $//')
is "$allmd" "$(printf '%s\n' "$want" | sed -n 's/^all:all //p')" "md: the totals equal the SQL's"
like "$(cat "$T_DIR/r.md")" "查实率" "and say 查实率"

# the overdue list: each late finding, its owner, how late
late=$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE (status = 'open' AND sign_due < now()) OR (status IN ('open', 'acknowledged', 'reported') AND close_due < now())")
is "$(sed -n '/## 逾期督办/,$p' "$T_DIR/r.md" | grep -c '^| [0-9]')" "$late" "md lists every overdue finding"
like "$(sed -n '/## 逾期督办/,$p' "$T_DIR/r.md")" "\\| jw\\\\_[01] \\| red \\|" "with its owner and level"

qf "${R[@]}" --format csv --excel >"$T_DIR/r.csv"; is "$?" 0 "report --format csv --excel exits 0"
csvall=$(perl -ne 's/\r?\n$//; if (/^(?:\xEF\xBB\xBF)?"[^"]*measures: group, closed[^"]*","all","all",([-0-9.]+),([-0-9.]+),([-0-9.]+),([-0-9.]+),/) { print "$1 $2 $3 $4\n" }' "$T_DIR/r.csv")
is "$csvall" "$(printf '%s\n' "$want" | sed -n 's/^all:all //p' | awk '{print $1, $3, $4, $6}')" "csv: closed, 查实率, closed on time, signed on time of all"
is "$(grep -c '逾期督办 overdue' "$T_DIR/r.csv")" "$late" "csv lists the overdue findings"

# an auditor sees the measures of their scope only
role_ensure "qf_dr_chem LOGIN IN ROLE qf_auditor"
sql "$DB" "INSERT INTO qf.auditor_scope (role_name, department) VALUES ('qf_dr_chem', '化学室')" >/dev/null
"$QFCTL" -d "host=$PGHOST port=${PGPORT:-5432} dbname=$DB user=qf_dr_chem" "${R[@]}" --format html >"$T_DIR/chem.html"
chem=$(perl -ne 'if (/<tr data-group="([^"]+)">(.*)<\/tr>/) { my ($g, $r) = ($1, $2); my @n = $r =~ /<td class="n">([^<]*)<\/td>/g; print "$g @n\n"; }' "$T_DIR/chem.html")
is "$(printf '%s\n' "$chem" | grep '^all:all' | sed 's/^all:all/department:化学室/')" "$(printf '%s\n' "$want" | grep '^department:化学室')" \
   "a lab's auditor: the totals are their department's"
done_testing
