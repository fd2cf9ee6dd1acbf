#!/bin/bash
# The "423" rule pack, rule by rule: tests/rules/ID.sql holds records with
# positive cases and near-miss negatives at the boundaries of the rule's
# parameters; tests/rules/ID.expected (hand-written from RULES-423.md) lists
# what the rule must flag: id|key|level|subject|department. The clock is
# fixed at 2026-11-25 12:00 Asia/Shanghai. The server runs in UTC (the
# database's TimeZone, whatever the machine's) and the institute in
# Asia/Shanghai (the configuration's default): fixtures put instants on
# either side of local midnight, where the two calendars disagree.
. "$(dirname "$0")/../lib.sh"

NOW='2026-11-25T12:00:00+08:00'
new_db rules
sql "$DB" "ALTER DATABASE $DB SET TimeZone = 'UTC'"
is "$(sql "$DB" "SHOW TimeZone")" "UTC" "the server's sessions are in UTC"
write_conf "$T_DIR/qf.conf" "http://127.0.0.1:9/hook"
unlike "$(cat "$T_DIR/qf.conf")" "timezone" "and the institute's calendar is the default, Asia/Shanghai"
tables=$(sql "$DB" "SELECT string_agg(format('records.%I', table_name), ', ') FROM information_schema.tables WHERE table_schema = 'records'")

ids=$("$QFCTL" -c "$T_DIR/qf.conf" rules list | awk '{print $1}')
is "$(printf '%s\n' "$ids" | wc -l)" 41 "the pack has the 33 rules of RULES-423.md and the 8 of RULES-LAB.md"
is "$(printf '%s\n' "$ids" | grep -E '^(T1[2-7]|D10|F14)$' | paste -sd' ')" "D10 F14 T12 T13 T14 T15 T16 T17" \
   "among them T12-T17, D10 and F14"

for id in $ids; do
  fixture=$QF_ROOT/tests/rules/$id.sql
  if [ ! -f "$fixture" ]; then ok 1 "$id has a fixture"; continue; fi
  sql "$DB" "TRUNCATE $tables" >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$fixture" >"$T_DIR/load.log" 2>&1 || { ok 1 "$id fixture loads"; sed 's/^/# /' "$T_DIR/load.log"; continue; }
  got=$("$QFCTL" -c "$T_DIR/qf.conf" rules test "$id" --now "$NOW" 2>"$T_DIR/err.log" | cut -f1-5 | tr '\t' '|')
  want=$(cat "$QF_ROOT/tests/rules/$id.expected")
  if [ "$got" = "$want" ]; then
    ok 0 "$id flags exactly $(printf '%s' "$want" | grep -c . ) record(s)"
  else
    ok 1 "$id flags exactly what $id.expected says"
    diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed 's/^/# /'
    sed 's/^/# /' "$T_DIR/err.log"
  fi
done

# the dry run wrote nothing
is "$(sql "$DB" "SELECT (SELECT count(*) FROM qf.finding) + (SELECT count(*) FROM qf.rule_run)")" 0 "rules test writes nothing"

done_testing
