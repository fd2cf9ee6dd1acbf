#!/bin/bash
# What BI clients show (issue 22): every table, view and column that an
# auditor or an admin may read in schema qf carries a comment, Chinese and
# English; the catch-all scope's blind spot (no disciplinary findings) is
# said where a BI user looks; a finding's age is also a number of days.
. "$(dirname "$0")/../lib.sh"

new_db comments
readable="SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'qf' AND c.relkind IN ('r', 'v', 'p')
             AND (has_table_privilege('qf_admin', c.oid, 'SELECT') OR has_table_privilege('qf_auditor', c.oid, 'SELECT'))"
n=$(sql "$DB" "SELECT count(*) FROM ($readable) r")
ok "$([ "$n" -ge 10 ]; echo $?)" "auditors and admins read $n tables and views"
is "$(sql "$DB" "SELECT coalesce(string_agg(relname, ' '), '') FROM ($readable) r WHERE obj_description(r.oid, 'pg_class') IS NULL")" "" \
   "each has a comment"
is "$(sql "$DB" "SELECT coalesce(string_agg(r.relname || '.' || a.attname, ' '), '') FROM ($readable) r
                  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
                 WHERE col_description(r.oid, a.attnum) IS NULL")" "" "and so has each of their columns"
like "$(sql "$DB" "SELECT obj_description('qf.auditor_scope'::regclass, 'pg_class')")" "catch-all row .*does NOT show them" \
     "the scope table says that a catch-all scope leaves out disciplinary findings"
like "$(sql "$DB" "SELECT col_description('qf.finding'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'qf.finding'::regclass AND attname = 'level'))")" "^风险等级 level" "comments are Chinese first, English beside"
like "$(psql -X -d "$DB" -c '\d+ qf.v_findings' 2>&1)" "已过天数 days since first seen" "psql \\d+ shows them"

# ages in days, beside the interval
sql "$DB" "INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, evidence, evidence_hash, first_seen)
           VALUES ('F09', 'k', 'v', 't', 'red', 'financial', 'non-technical', 'primary', '{}', md5('{}'), now() - interval '3 days 12 hours')"
is "$(sql "$DB" "SELECT age_days FROM qf.v_findings")" "3.50" "v_findings.age_days is the age as a number of days"
is "$(sql "$DB" "SELECT age_days FROM qf.v_findings_open")" "3.50" "so is v_findings_open.age_days"
is "$(sql "$DB" "SELECT pg_typeof(age_days) FROM qf.v_findings")" numeric "a number a spreadsheet can sum, not an interval"
done_testing
