#!/bin/bash
# A receiver renamed or removed from the configuration leaves its pending
# alerts waiting for ever. They are made visible: a warning naming the
# receiver and how many at start and after each reload, the gauge
# qingfeng_alerts_orphaned{receiver} on /metrics (valid exposition text:
# HELP and TYPE before each family's samples), and `qfctl -c FILE alerts`
# marks them and says how many there are.
. "$(dirname "$0")/../lib.sh"

get() { perl -MHTTP::Tiny -e 'my $r = HTTP::Tiny->new(timeout => 5)->get($ARGV[0]); print $r->{content}' "$1"; }
pay() { sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('$1', '$1', '$1')"; }
# the text exposition format as promtool reads it: every sample's family
# has a HELP and a TYPE line before it, and a family's samples are not
# interrupted by another family's. Prints the problems, nothing when valid.
exposition_problems() {
  perl -ne '
    chomp; next if $_ eq "";
    if (/^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/) {
      my ($k, $f) = ($1, $2);
      print "line $.: second $k for $f\n" if $seen{$k}{$f}++;
      print "line $.: $k for $f after its samples\n" if $sampled{$f};
      if ($k eq "TYPE") { $type{$f} = $3; print "line $.: family $f again after $cur\n" if $done{$f}; $done{$cur} = 1 if defined $cur && $cur ne $f; $cur = $f; }
      next;
    }
    next if /^#/;
    my ($name) = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{|\s)/ or do { print "line $.: not a sample: $_\n"; next };
    my $f = $name;
    $f =~ s/_(sum|count|bucket)$// if !$type{$name} && $type{($name =~ s/_(sum|count|bucket)$//r)};
    print "line $.: $name: no TYPE before it\n" unless $type{$f};
    print "line $.: $name: no HELP before it\n" unless $seen{HELP}{$f};
    print "line $.: $name: family $f is not the current one ($cur)\n" if defined $cur && $f ne $cur;
    print "line $.: bad sample: $_\n" unless /^[^ ]+ -?[0-9.e+]+$/ || /\{.*\} -?[0-9.e+]+$/;
    $sampled{$f} = 1;'
}

new_db orphans
receiver_start rcv -s s3cret
# two receivers, "old" unreachable (port 9): its alerts stay pending
cat >"$T_DIR/a.conf" <<CONF
database = { conninfo = "$CONNINFO"; };
rules_dir = "$QF_ROOT/rules";
receivers = ( { name = "office"; format = "json"; url = "$RECV_URL_rcv"; secret = "s3cret"; timeout = 2; },
              { name = "old"; format = "json"; url = "http://127.0.0.1:9/hook"; timeout = 1; } );
delivery = { once_deadline = 1; backoff_initial = 30.0; backoff_max = 60.0; };
metrics = { listen = "127.0.0.1:0"; };
$(only_rules F09)
CONF
pay O1; pay O2
"$QFD" -c "$T_DIR/a.conf" --once >"$T_DIR/once.log" 2>&1
is "$(sql "$DB" "SELECT receiver || ':' || state || ':' || count(*) FROM qf.alert GROUP BY receiver, state ORDER BY 1" | tr '\n' ' ')" \
   "office:delivered:2 old:pending:2 " "two alerts delivered to office, two pending for old"

# "old" renamed away: the daemon runs with office only
write_conf "$T_DIR/b.conf" "$RECV_URL_rcv" "$(only_rules F09)"
"$QFD" -c "$T_DIR/b.conf" 2>"$T_DIR/daemon.log" &
dpid=$!
T_PIDS+=("$dpid")
wait_for 10 'grep -q "receiver .old. is not in the configuration" "$T_DIR/daemon.log"'
ok $? "at start, a warning names the receiver that is not configured"
like "$(grep "receiver 'old'" "$T_DIR/daemon.log")" "warning: receiver 'old' is not in the configuration: 2 pending alert\(s\)" \
  "and says how many alerts wait for it"
unlike "$(cat "$T_DIR/daemon.log")" "receiver 'office' is not" "a configured receiver is not named"

port=$(grep -o 'metrics on [^ ]* (port [0-9]*' "$T_DIR/daemon.log" | grep -o '[0-9]*$')
base="http://127.0.0.1:$port"
wait_for 10 'get "$base/metrics" | grep -q "^qingfeng_alerts_orphaned"'; ok $? "/metrics counts them"
out=$(get "$base/metrics")
like "$(printf '%s\n' "$out" | grep -B2 '^qingfeng_alerts_orphaned{receiver="old"} 2$' | cut -d' ' -f1-3 | tr '\n' '|')" \
  '^# HELP qingfeng_alerts_orphaned\|# TYPE qingfeng_alerts_orphaned\|qingfeng_alerts_orphaned\{receiver="old"\} 2\|$' \
  'qingfeng_alerts_orphaned{receiver="old"} 2, right after its HELP and TYPE'
unlike "$out" 'qingfeng_alerts_orphaned\{receiver="office"' "not the configured receiver"
is "$(printf '%s\n' "$out" | exposition_problems)" "" "the whole /metrics text is valid exposition format"
# the checker itself: a family without HELP, a sample before its TYPE, a family split in two
bad=$'# TYPE a gauge\na 1\n# HELP b x\nb 2\n# TYPE b gauge\n# HELP a y\n# TYPE a gauge\na 3'
is "$(printf '%s\n' "$bad" | exposition_problems | tr '\n' '|')" \
   "line 2: a: no HELP before it|line 4: b: no TYPE before it|line 4: b: family b is not the current one (a)|line 5: TYPE for b after its samples|line 6: HELP for a after its samples|line 7: second TYPE for a|line 7: TYPE for a after its samples|line 7: family a again after b|" \
   "(the checker finds what is wrong with a bad text)"

# qfctl with the configuration marks them and sums them up
out=$("$QFCTL" -c "$T_DIR/b.conf" alerts list 2>"$T_DIR/qfctl.err")
is "$(printf '%s\n' "$out" | grep -Ec 'pending \(no such receiver\) +old ')" 2 "qfctl alerts list: both marked 'pending (no such receiver)'"
is "$(printf '%s\n' "$out" | grep -Ec 'delivered +office ')" 2 "office's alerts are listed as they are"
like "$(cat "$T_DIR/qfctl.err")" "2 pending alert\(s\) for receiver\(s\) not in the configuration: old \(2\)" \
  "and a summary line says how many and for whom"
out=$("$QFCTL" -c "$T_DIR/a.conf" alerts list 2>&1)
unlike "$out" "no such receiver|not in the configuration" "with the configuration that has 'old', nothing is marked"
out=$("$QFCTL" -c "$T_DIR/b.conf" alerts list --state delivered 2>&1)
unlike "$out" "not in the configuration" "--state delivered: no summary of pending alerts"

# after a reload: counted again, with what changed meanwhile (an alert for
# a receiver 'gone', and one whose name needs escaping in a label)
sql "$DB" "INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload, state)
           SELECT event_id, finding_id, r, event, payload, 'pending' FROM qf.alert, (VALUES ('gone'), (E'we\"ird\\\\x')) v(r)
            WHERE receiver = 'old' ORDER BY id LIMIT 2"
is "$(sql "$DB" "SELECT string_agg(receiver, ' ' ORDER BY receiver) FROM qf.alert WHERE receiver NOT IN ('office', 'old')")" \
   'gone we"ird\x' "(two more alerts for unconfigured receivers)"
lines=$(wc -l <"$T_DIR/daemon.log")
kill -HUP $dpid
wait_for 10 'tail -n +$((lines + 1)) "$T_DIR/daemon.log" | grep -q "receiver .gone. is not in the configuration: 1 pending"'
ok $? "after a reload, the warning names each such receiver again, with what is pending now"
after=$(tail -n +$((lines + 1)) "$T_DIR/daemon.log")
like "$after" "reloaded" "(the reload was applied)"
like "$after" "receiver 'old' is not in the configuration: 2 pending" "old is named again"
wait_for 10 'get "$base/metrics" | grep -q "qingfeng_alerts_orphaned{receiver=\"gone\"} 1"'; ok $? "the gauge follows"
out=$(get "$base/metrics")
like "$out" 'qingfeng_alerts_orphaned\{receiver="we\\"ird\\\\x"\} 1' "a label value is escaped (\\\" and \\\\)"
is "$(printf '%s\n' "$out" | exposition_problems)" "" "and the text stays valid"

# old configured again: its alerts are no longer orphans
sed 's|url = "http://127.0.0.1:9/hook"|url = "'"$RECV_URL_rcv"'"|' "$T_DIR/a.conf" >"$T_DIR/b.conf"
lines=$(wc -l <"$T_DIR/daemon.log")
kill -HUP $dpid
wait_for 10 'tail -n +$((lines + 1)) "$T_DIR/daemon.log" | grep -q "receiver .gone. is not in the configuration"'
ok $? "the next reload names 'gone' again"
unlike "$(tail -n +$((lines + 1)) "$T_DIR/daemon.log")" "receiver 'old' is not" "but not 'old', configured again"
wait_for 10 'get "$base/metrics" | grep -q "qingfeng_alerts_orphaned{receiver=\"gone\"}" && ! get "$base/metrics" | grep -q "orphaned{receiver=\"old\"}"'
ok $? "nor does the gauge"

kill -TERM $dpid; wait $dpid; is "$?" 0 "SIGTERM: exit 0"
done_testing
