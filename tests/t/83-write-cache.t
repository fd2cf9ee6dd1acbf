#!/bin/bash
# A finding's owner and deadlines are kept by the engine's session from one
# transaction to the next (sql/025), keyed by a generation of the settings
# and the calendar. A running daemon must still give each new finding what
# a fresh session works out at that moment: after a holiday is added to
# records.workday, after disposal.owners and disposal.deadlines change in
# qf.setting (by someone else than the daemon), and after a holiday is
# taken back. Each finding is compared with qf.disposal_owner() and
# qf.add_workdays() in a new session right after it is made.
. "$(dirname "$0")/../lib.sh"

new_db wcache
write_conf "$T_DIR/q.conf" "http://127.0.0.1:9/hook" "$(only_rules F09)" \
  'disposal = { owners = ( { role = "jw_first"; } ); };'
"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/d.log" & dpid=$!; T_PIDS+=($dpid)
wait_sql "EXISTS (SELECT 1 FROM qf.cursor WHERE name = 'rule:F09')"
ok $? "the daemon has read the payments once"

n=0
# pay: one F09 payment (creator approves); waits for its finding
pay() {
  n=$((n + 1))
  sql "$DB" "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by)
             VALUES ('W$n', '财务处', 10, 'A$n', 'A$n', 'X')"
  wait_sql "EXISTS (SELECT 1 FROM qf.finding WHERE dedupe_key = 'W$n')"
}
# fresh: whether W$n's owner and deadlines are what a new session works out now
fresh() {
  sql "$DB" "SELECT owner IS NOT DISTINCT FROM qf.disposal_owner(department)
                    AND sign_due = qf.add_workdays(first_seen, (qf.disposal_days(level))[1])
                    AND close_due = qf.add_workdays(first_seen, (qf.disposal_days(level))[2])
               FROM qf.finding WHERE dedupe_key = 'W$n'"
}
show() { sql "$DB" "SET TimeZone = 'Asia/Shanghai';
                    SELECT owner || ' ' || to_char(sign_due, 'YYYY-MM-DD') || ' ' || to_char(close_due, 'YYYY-MM-DD')
                      FROM qf.finding WHERE dedupe_key = 'W$1'"; }

pay; is "$(fresh)" t "W1: owner and deadlines as worked out afresh"
pay; is "$(fresh)" t "W2, the next transaction of the same session: the same"
is "$(show 2)" "$(show 1)" "W2 has W1's owner and deadlines"

# a holiday on W2's sign day: the next finding's deadlines move past it
hol=$(sql "$DB" "SET TimeZone = 'Asia/Shanghai'; SELECT sign_due::date FROM qf.finding WHERE dedupe_key = 'W2'")
sql "$DB" "INSERT INTO records.workday VALUES ('$hol', false)"
pay; is "$(fresh)" t "after a holiday is added to records.workday: as worked out afresh"
same_day=$(sql "$DB" "SELECT count(DISTINCT timezone('Asia/Shanghai', first_seen)::date) = 1 FROM qf.finding WHERE dedupe_key IN ('W2', 'W3')")
if [ "$same_day" = t ]; then
  [ "$(show 3)" != "$(show 2)" ]; ok $? "and not W2's: its sign day is no longer a workday ($(show 2) → $(show 3))"
else
  ok 0 "# skip W2 and W3 were made on different days"
fi

sql "$DB" "UPDATE qf.setting SET value = '[{\"role\":\"jw_second\"}]' WHERE name = 'disposal.owners'"
pay; is "$(fresh)" t "after disposal.owners changes in qf.setting: as worked out afresh"
like "$(show 4)" "^jw_second " "W4's owner is the new one"

sql "$DB" "INSERT INTO qf.setting (name, value) VALUES ('disposal.deadlines', '{\"red\":[7,30],\"orange\":[7,30],\"yellow\":[7,30]}')
           ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value"
pay; is "$(fresh)" t "after disposal.deadlines changes: as worked out afresh"
[ "$(show 5)" != "$(show 4)" ]; ok $? "W5's deadlines are not W4's ($(show 4) → $(show 5))"

sql "$DB" "DELETE FROM records.workday WHERE day = '$hol'"
pay; is "$(fresh)" t "after the holiday is taken back: as worked out afresh"

kill -TERM $dpid; wait $dpid; is "$?" 0 "the daemon stops cleanly"
done_testing
