#!/bin/bash
# A reload (SIGHUP) has PostgreSQL prepare every rule's SQL before it
# swaps the rule set in, as `qingfengd -n` does: a rule naming a wrong
# column keeps the old rules, the log names the rule (id, file:line) and
# why, STATUS= says the reload failed, and the daemon goes on with the old
# rules. A good reload afterwards is applied.
. "$(dirname "$0")/../lib.sh"

delivered() { sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = 'delivered'"; }
pay() { sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('$1', '$1', '$1')"; }

new_db reload
receiver_start rcv -s s3cret
mkdir -p "$T_DIR/rules"
cp "$QF_ROOT"/rules/*.conf "$T_DIR/rules/"
RULES_DIR=$T_DIR/rules write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09)" "evaluation = { interval = 1; };"

sock=$T_DIR/notify.sock
perl -MIO::Socket::UNIX -MSocket -e '
  my ($path, $log) = @ARGV;
  my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path) or die "listen: $!";
  open(my $out, ">", $log) or die; $out->autoflush(1); print $out "";
  while (1) { my $buf = ""; defined $s->recv($buf, 65536) or next; print $out join("|", split /\n/, $buf), "\n"; }
' "$sock" "$T_DIR/notify.log" &
T_PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.05; done

NOTIFY_SOCKET=$sock "$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/daemon.log" &
dpid=$!
T_PIDS+=("$dpid")
wait_for 10 'grep -q "connected to the database" "$T_DIR/daemon.log"'; ok $? "the daemon connects"
pay R1
wait_for 10 '[ "$(delivered)" = 1 ]'; ok $? "F09 flags a record and its alert is delivered"

# the file still parses and compiles; only PostgreSQL can tell the column is wrong
cp "$T_DIR/rules/financial.conf" "$T_DIR/financial.good"
sed -i 's/created_by = approved_by OR/created_by = approver OR/' "$T_DIR/rules/financial.conf"
wl=$(grep -n 'created_by = approver OR' "$T_DIR/rules/financial.conf" | cut -d: -f1)
ok $([ -n "$wl" ] && echo 0 || echo 1) "financial.conf: F09's where (line $wl) now names a column that does not exist"
"$QFD" -n -c "$T_DIR/q.conf" >/dev/null 2>&1; is "$?" 78 "qingfengd -n refuses it"
runs=$(sql "$DB" "SELECT count(*) FROM qf.rule_run WHERE rule_id = 'F09'")
lines=$(wc -l <"$T_DIR/notify.log")
kill -HUP $dpid
wait_for 10 'grep -q "reload failed" "$T_DIR/daemon.log"'; ok $? "SIGHUP: the reload fails"
log=$(cat "$T_DIR/daemon.log")
like "$log" "$T_DIR/rules/financial.conf:$wl: rule F09: column \"approver\" does not exist" \
  "the log names the rule, its file:line and why"
like "$log" "reload failed: keeping the running configuration and rules" "and says the old rules are kept"
wait_for 5 'tail -n +$((lines + 1)) "$T_DIR/notify.log" | grep -q "STATUS=reload failed"'
ok $? "STATUS= says the reload failed"
kill -0 $dpid; ok $? "the daemon keeps running"

pay R2
wait_for 10 '[ "$(delivered)" = 2 ]'; ok $? "with the old rules: F09 still flags new records"
sleep 1.5 # timed passes run every second: the new rule would have run by now
is "$(sql "$DB" "SELECT count(*) FROM qf.rule_run WHERE rule_id = 'F09' AND error IS NOT NULL")" 0 \
   "the refused rule never ran (no failed run of F09)"
ok $([ "$(sql "$DB" "SELECT count(*) FROM qf.rule_run WHERE rule_id = 'F09'")" -gt "$runs" ] && echo 0 || echo 1) \
   "the old F09 did"

# a good reload is applied
cp "$T_DIR/financial.good" "$T_DIR/rules/financial.conf"
sed -i 's/^params = {/params = { F09 = { level = "red"; };/' "$T_DIR/q.conf"
lines=$(wc -l <"$T_DIR/notify.log")
kill -HUP $dpid
wait_for 10 'grep -q "reloaded" "$T_DIR/daemon.log"'; ok $? "a good reload is applied"
wait_for 5 'tail -n +$((lines + 1)) "$T_DIR/notify.log" | grep -q "^READY=1$"'; ok $? "READY=1 without a failure status"
pay R3
wait_for 10 '[ "$(delivered)" = 3 ]'; ok $? "the new rules flag new records"
is "$(sql "$DB" "SELECT level FROM qf.finding WHERE dedupe_key = 'R3'")" red "with the new rules' settings (F09 red)"

kill -TERM $dpid; wait $dpid; is "$?" 0 "SIGTERM: exit 0"
done_testing
