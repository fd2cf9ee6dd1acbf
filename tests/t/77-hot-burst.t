#!/bin/bash
# A burst of 400 risky payments to one vendor, paid by one cashier, at
# 200/s into the running daemon (issue 21): each F09 finding is alerted
# once; the vendor's Benford finding (F05), whose MAD changes with nearly
# every payment, is alerted at most twice (new, and at most one re-trigger
# per `realert` window) while every hit counts: hit_count equals the hits,
# counted here from the history's events. With realert = "0" a re-trigger
# alert says what changed since the last alert, in the JSON webhook and
# in a chat message. A realert that is no duration is refused at -n.
. "$(dirname "$0")/../lib.sh"

new_db burst
receiver_start office -s s3cret
receiver_start ding --emulate dingtalk -s SECdingtalk0123456789
conf() { # conf FILE EXTRA-PARAMS
  local params; params=$(only_rules F05 F09 | sed "s/ };\$/ $2 };/")
  cat >"$1" <<CONF
database = { conninfo = "$CONNINFO"; };
rules_dir = "$QF_ROOT/rules";
evaluation = { interval = 60; };
receivers = ( { name = "office"; format = "json"; url = "$RECV_URL_office"; secret = "s3cret"; },
              { name = "ding"; format = "dingtalk"; url = "$RECV_URL_ding"; secret = "SECdingtalk0123456789"; } );
delivery = { backoff_initial = 0.2; backoff_max = 1.0; };
$params
CONF
}
conf "$T_DIR/q.conf" ""

# a bad realert names the override's file:line and the rule
conf "$T_DIR/bad.conf" 'F05 = { realert = "soon"; };'
out=$("$QFD" -c "$T_DIR/bad.conf" -n 2>&1); st=$?
is "$st" 78 "-n refuses a realert that is no duration"
like "$out" "bad.conf:[0-9]+.*F05.*realert 'soon'" "and says where, which rule and what"

"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/daemon.log" &
dpid=$!; T_PIDS+=($dpid)
wait_for 20 "grep -q 'lane qingfengd-rules: connected' '$T_DIR/daemon.log'"
sleep 0.5

"$QF_BUILD/qf-latency" "$CONNINFO" 200 400 VHOT CHOT >"$T_DIR/commits"
is "$(wc -l <"$T_DIR/commits" | tr -d ' ')" 400 "400 payments committed"
wait_for 120 '[ "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE rule_id = '"'F09'"'")" -ge 400 ] &&
              [ "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = '"'pending'"'")" = 0 ] &&
              [ "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE rule_id = '"'F05'"'")" -ge 1 ]'
sleep 1 # the rest lane's last pass on the burst, its alerts on their way
wait_sql "NOT EXISTS (SELECT 1 FROM qf.alert WHERE state IN ('pending', 'sending'))"

# the hits, counted from the records: every payment of the burst is risky
risky=$(sql "$DB" "SELECT count(*) FROM records.payment WHERE vendor_id = 'VHOT' AND created_by = approved_by")
is "$risky" 400 "400 risky payments in the records"
is "$(sql "$DB" "SELECT count(*) || ' ' || sum(hit_count) FROM qf.finding WHERE rule_id = 'F09'")" "400 400" \
   "400 F09 findings, one hit each"
is "$(sql "$DB" "SELECT count(*) FROM (SELECT a.finding_id FROM qf.alert a JOIN qf.finding f ON f.id = a.finding_id
                  WHERE f.rule_id = 'F09' AND a.receiver = 'office' GROUP BY 1 HAVING count(*) = 1) x")" 400 \
   "each F09 finding alerted exactly once (per receiver)"
is "$(jsonl office 'my $b = JSON::PP->new->decode($r->{body}); print "$b->{finding}{evidence}{payment_id}\n" if $b->{finding}{rule_id} eq "F09" && $b->{event} eq "finding.new"' | sort -u | wc -l | tr -d ' ')" \
   400 "the JSON receiver got the 400 F09 alerts, each payment once"

f05=$(sql "$DB" "SELECT id FROM qf.finding WHERE rule_id = 'F05' AND dedupe_key = 'VHOT'")
ok $([ -n "$f05" ]; echo $?) "the hot vendor has a Benford finding (F05)"
hits=$(sql "$DB" "SELECT hit_count FROM qf.finding WHERE id = ${f05:-0}")
events=$(sql "$DB" "SELECT count(*) FROM qf.finding_event WHERE finding_id = ${f05:-0} AND action IN ('created', 'retriggered')")
ok $([ "${hits:-0}" -ge 3 ]; echo $?) "F05 re-triggered during the burst ($hits hits)"
is "$hits" "$events" "F05 hit_count equals its hits in the history (created + retriggered events)"
is "$(sql "$DB" "SELECT count(*) FROM (SELECT f.id FROM qf.finding f
                  WHERE f.hit_count <> (SELECT count(*) FROM qf.finding_event e WHERE e.finding_id = f.id
                                          AND e.action IN ('created', 'retriggered'))) x")" 0 \
   "every finding's hit_count equals its hits in the history"
most=$(sql "$DB" "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM qf.alert WHERE receiver = 'office'
                  AND event IN ('finding.new', 'finding.retriggered') GROUP BY finding_id) x")
ok $([ "$most" -ge 1 ] && [ "$most" -le 2 ]; echo $?) "no finding got more than 2 alerts (most: $most)"
f05_alerts=$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE finding_id = ${f05:-0} AND receiver = 'office'")
ok $([ "$f05_alerts" -ge 1 ] && [ "$f05_alerts" -le 2 ] && [ "$f05_alerts" -lt "${hits:-0}" ]; echo $?) \
   "F05: $f05_alerts alert(s) for its $hits hits (new, and a re-trigger only if its level rose)"
like "$(grep -c . "$T_DIR/ding.jsonl")" "^[0-9]+$" "the chat receiver got messages"

# realert = "0": every re-trigger is alerted, and says what changed
conf "$T_DIR/q.conf" 'F05 = { realert = "0"; };'
kill -HUP $dpid
wait_for 10 "grep -q 'reloaded' '$T_DIR/daemon.log'"
sleep 0.5
sql "$DB" "INSERT INTO records.payment (payment_id, vendor_id, department, invoice_no, amount, created_by, approved_by, paid_by, paid_at, posted_at)
           SELECT 'X' || g, 'VHOT', '财务处', 'XINV-' || g, 9000 + g, 'PX', 'PY', 'CHOT', now(), now() FROM generate_series(1, 5) g"
wait_sql "EXISTS (SELECT 1 FROM qf.alert WHERE finding_id = ${f05:-0} AND event = 'finding.retriggered' AND state = 'delivered' AND receiver = 'office')"
ok $? "realert = 0: the re-trigger is alerted"
wait_sql "NOT EXISTS (SELECT 1 FROM qf.alert WHERE state IN ('pending', 'sending'))"
# each re-trigger alert counts the hits since the one before: with the
# first (finding.new, 1 hit), they add up to hit_count
sum=$(jsonl office 'my $b = JSON::PP->new->decode($r->{body}); next unless $b->{finding}{rule_id} eq "F05";
                    print $b->{event} eq "finding.new" ? 1 : $b->{finding}{changes}{new_hits}, "\n"' | perl -ne '$s += $_; END { print $s + 0 }')
now=$(sql "$DB" "SELECT hit_count FROM qf.finding WHERE id = ${f05:-0}")
is "$sum" "$now" "the alerts' new hits since the last alert add up to hit_count ($now)"
last=$(jsonl office 'my $b = JSON::PP->new->decode($r->{body}); next unless $b->{event} eq "finding.retriggered" && $b->{finding}{rule_id} eq "F05";
                     my $c = $b->{finding}{changes}; my $m = $c->{evidence}{mad};
                     print join(" ", $c->{new_hits}, $m ? "mad $m->{before} -> $m->{after}" : "-", defined $c->{since} ? "since" : "-"), "\n"' | tail -1)
like "$last" "^[0-9]+ mad [0-9.]+ -> [0-9.]+ since$" "the JSON webhook says what changed: new hits, the MAD before and after, since when ($last)"
like "$(tail -3 "$T_DIR/ding.jsonl")" "since the last alert: [0-9]+ " "the chat message says what changed since the last alert"

kill -TERM $dpid; wait $dpid; is "$?" 0 "the daemon stops cleanly"
done_testing
