#!/bin/bash
# Operating delivery: silences (kept for the record, never sent),
# maintenance windows (held, then sent), reminders for open red findings,
# resolved notices, qfctl alerts list / retry --dead, recovery after an
# outage of the receiver.
. "$(dirname "$0")/../lib.sh"

pay() { sql "$DB" "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by) VALUES ('$1', '财务处', 10, '$2', '$2', 'X')"; }
qf() { "$QFCTL" -c "$T_DIR/q.conf" "$@"; }

new_db alerts
receiver_start rcv -s s3cret
write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09)"

# --- silences
out=$(qf silence add --rule F09 --until 2099-01-01 --reason "专项审计进行中 audit in progress"); st=$?
is "$st" 0 "silence add exits 0"
sid=$(printf '%s' "$out" | grep -o '[0-9]*')
like "$(qf silence list)" "F09 .*2099-01-01.*$(id -un 2>/dev/null || echo postgres)|F09 .*2099-01-01" "silence list shows it"
pay S1 P1
run_once "$T_DIR/q.conf"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE dedupe_key = 'S1'")" 1 "a silenced rule still records its finding"
is "$(sql "$DB" "SELECT state || ' ' || silence_id FROM qf.alert")" "silenced $sid" "its alert is kept as silenced, naming the silence"
is "$(requests rcv)" 0 "and nothing is sent"
like "$(qf alerts list --state silenced)" "silenced +office +finding.new" "qfctl alerts list --state silenced shows it"
is "$(qf silence expire "$sid")" "silence $sid expired" "silence expire"
pay S2 P2
run_once "$T_DIR/q.conf"
is "$(requests rcv)" 1 "after the silence ends, new findings are alerted"
qf silence add --person P3 --until 2099-01-01 --reason "本人已主动说明 self-reported" >/dev/null
pay S3 P3; pay S4 P4
run_once "$T_DIR/q.conf"
is "$(sql "$DB" "SELECT string_agg(f.dedupe_key || ':' || a.state, ',' ORDER BY f.dedupe_key) FROM qf.alert a JOIN qf.finding f ON f.id = a.finding_id WHERE f.dedupe_key IN ('S3', 'S4')")" \
   "S3:silenced,S4:delivered" "a silence by person covers only that subject"
out=$(qf silence add --rule F09 --until 2099-01-01 2>&1); st=$?
is "$st" 64 "a silence without a reason is refused"

# --- maintenance window: held, not dropped
now=$(TZ=Asia/Shanghai date +%H:%M); later=$(TZ=Asia/Shanghai date -d '+3 minutes' +%H:%M)
write_conf "$T_DIR/m.conf" "$RECV_URL_rcv" "$(only_rules F09)"
sed -i "s|timeout = 2;|timeout = 2; maintenance = ( { from = \"$now\"; to = \"$later\"; } );|" "$T_DIR/m.conf"
before=$(requests rcv)
pay M1 P5
ONCE_DEADLINE=2 "$QFD" -c "$T_DIR/m.conf" --once >/dev/null 2>&1
is "$(requests rcv)" "$before" "during a maintenance window nothing is sent"
is "$(sql "$DB" "SELECT a.state FROM qf.alert a JOIN qf.finding f ON f.id = a.finding_id WHERE f.dedupe_key = 'M1'")" pending "the alert waits"
run_once "$T_DIR/q.conf"
is "$(sql "$DB" "SELECT a.state FROM qf.alert a JOIN qf.finding f ON f.id = a.finding_id WHERE f.dedupe_key = 'M1'")" delivered "and goes out once the window is over"

# --- reminders for open red findings
write_conf "$T_DIR/r.conf" "$RECV_URL_rcv" "$(only_rules F09 | sed 's/F09 = { enabled = false; };//; s/ };$/ F09 = { level = "red"; }; };/')" "reminders = { red_every = 24; };"
pay R1 P6
run_once "$T_DIR/r.conf"
sql "$DB" "UPDATE qf.finding SET first_seen = now() - interval '25 hours' WHERE dedupe_key = 'R1'"
run_once "$T_DIR/r.conf"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert a JOIN qf.finding f ON f.id = a.finding_id WHERE f.dedupe_key = 'R1' AND a.event = 'finding.reminder' AND a.state = 'delivered'")" 1 \
   "an open red finding 25 h old: one reminder delivered"
run_once "$T_DIR/r.conf"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event e JOIN qf.finding f ON f.id = e.finding_id WHERE f.dedupe_key = 'R1' AND e.action = 'reminded'")" 1 \
   "not again until another 24 h"

# --- resolved notices, only to receivers that ask
receiver_start notices
cat >"$T_DIR/n.conf" <<CONF
database = { conninfo = "$CONNINFO"; };
rules_dir = "$QF_ROOT/rules";
receivers = ( { name = "office"; format = "json"; url = "$RECV_URL_rcv"; secret = "s3cret"; },
              { name = "board"; format = "json"; url = "$RECV_URL_notices"; notify_resolved = true; } );
delivery = { once_deadline = 10; backoff_initial = 0.2; };
$(only_rules F09)
CONF
fid=$(sql "$DB" "SELECT id FROM qf.finding WHERE dedupe_key = 'S2'")
is "$("$QFCTL" -c "$T_DIR/n.conf" findings resolve "$fid" --note "已整改 rectified")" "finding $fid resolved" "qfctl findings resolve"
out=$("$QFCTL" -c "$T_DIR/n.conf" findings resolve "$fid" --note "again" 2>&1); st=$?
ok $([ $st -ne 0 ] && echo 0 || echo 1) "resolving twice is refused: $out"
before=$(requests rcv)
"$QFD" -c "$T_DIR/n.conf" --once >/dev/null 2>&1
is "$(jsonl notices 'my $b = JSON::PP->new->decode($r->{body}); print "$b->{event} $b->{finding}{id} $b->{finding}{status}\n"')" \
   "finding.resolved $fid resolved" "a receiver with notify_resolved is told"
is "$(requests rcv)" "$before" "the other is not"

# --- retry --dead, and recovery after an outage
new_db outage
write_conf "$T_DIR/o.conf" "http://127.0.0.1:9/hook" "$(only_rules F09)"
sed -i 's/once_deadline = [0-9]*/once_deadline = 2/' "$T_DIR/o.conf"
for i in $(seq 1 10); do pay "O$i" "Q$i"; done
run_once "$T_DIR/o.conf"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = 'pending' AND last_error IS NOT NULL")" 10 "receiver down: 10 alerts pending with last_error"
sql "$DB" "UPDATE qf.alert SET state = 'dead' WHERE id IN (SELECT id FROM qf.alert ORDER BY id LIMIT 3)"
like "$("$QFCTL" -c "$T_DIR/o.conf" alerts list --state dead)" "dead" "alerts list --state dead"
receiver_start back -s s3cret
write_conf "$T_DIR/o2.conf" "$RECV_URL_back" "$(only_rules F09)"
run_once "$T_DIR/o2.conf"
is "$(sql "$DB" "SELECT state || ':' || count(*) FROM qf.alert GROUP BY state ORDER BY state" | tr '\n' ' ')" "dead:3 delivered:7 " \
   "after the receiver recovers every pending alert is delivered; dead ones stay dead"
is "$("$QFCTL" -c "$T_DIR/o2.conf" alerts retry --dead)" "3 alert(s) re-queued" "qfctl alerts retry --dead re-queues them"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = 'pending' AND attempts = 0 AND requeued_at IS NOT NULL")" 3 "with a fresh budget"
run_once "$T_DIR/o2.conf"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = 'delivered'")" 10 "and the next pass delivers them"
is "$(jsonl back 'print "$r->{idempotency_key}\n"' | sort -n | uniq | wc -l)" 10 "each of the 10 alerts reached the receiver"

done_testing
