#!/bin/bash
# Metrics and health over a PostgreSQL restart: /metrics in Prometheus
# text, /healthz 200 or 503 while the database is away; the daemon
# reconnects and every finding made before and after is alerted, none
# duplicated; reconnects are counted.
. "$(dirname "$0")/../lib.sh"
own_cluster   # it stops and restarts PostgreSQL: a cluster of its own, so the other tests run on

get() { perl -MHTTP::Tiny -e 'my $r = HTTP::Tiny->new(timeout => 5)->get($ARGV[0]); print "$r->{status}\n$r->{content}"' "$1"; }
pg() { $QF_PGRUNAS "$QF_PGCTL" -D "$QF_PGDATA" -l "$QF_PGLOG" -w -m fast "$@" >/dev/null; }
pay() { sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('$1', '$1', '$1')"; }

new_db metrics
receiver_start rcv -s s3cret -r 500,200   # the first request fails once
write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09)" "evaluation = { interval = 2; };"
"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/daemon.log" &
dpid=$!
wait_for 10 'grep -q "connected to the database" "$T_DIR/daemon.log"'
port=$(grep -o 'metrics on [^ ]* (port [0-9]*' "$T_DIR/daemon.log" | grep -o '[0-9]*$')
ok $([ -n "$port" ] && echo 0 || echo 1) "metrics listen on 127.0.0.1:$port"
base="http://127.0.0.1:$port"
like "$(get "$base/metrics")" 'qingfeng_deliveries_total\{receiver="office",outcome="dead"\} 0' \
  "a configured receiver's counters are there, at 0, before its first request"

pay B1; pay B2
wait_for 10 '[ "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = '"'delivered'"'")" = 2 ]'; ok $? "two findings before the restart are delivered"
# the database's gauges are refreshed every 5 s: wait for one after the
# deliveries (the alerts are queued with their findings, so a snapshot
# with both findings and nothing pending is one)
after='qingfeng_findings\{level="orange",status="open"\} 2'
wait_for 12 'o=$(get "$base/metrics"); [[ $o =~ $after && $o == *"qingfeng_alerts{state=\"pending\"} 0"* ]]'
ok $? "a gauge snapshot after the deliveries"
out=$(get "$base/metrics")
is "$(printf '%s\n' "$out" | head -1)" 200 "/metrics answers 200"
like "$out" "qingfeng_up 1" "qingfeng_up 1"
like "$out" "$after" "findings by level and status"
like "$out" 'qingfeng_alerts\{state="pending"\} 0' "alerts by state: none pending"
like "$out" 'qingfeng_alerts\{state="dead"\} 0' "none dead"
like "$out" 'qingfeng_alerts\{state="silenced"\} 0' "none silenced"
unlike "$out" 'qingfeng_alerts\{state="delivered"' "delivered alerts are counted by the daemon, not the gauge"
like "$out" 'qingfeng_deliveries_total\{receiver="office",outcome="delivered"\} 2' "two alerts delivered"
like "$out" 'qingfeng_deliveries_total\{receiver="office",outcome="retry"\} 1' "one attempt to retry (the 500)"
like "$out" 'qingfeng_deliveries_total\{receiver="office",outcome="dead"\} 0' "none given up"
like "$out" "qingfeng_outbox_depth 0" "outbox depth"
like "$out" "qingfeng_oldest_pending_seconds 0" "oldest pending age"
like "$out" "qingfeng_change_lag_seconds [0-9.]+" "change lag"
like "$out" 'qingfeng_rule_evaluations_total\{rule="F09",outcome="ok"\} [1-9]' "evaluations per rule"
like "$out" 'qingfeng_rule_duration_seconds_sum\{rule="F09"\} [0-9.]+' "and their duration"
like "$out" "qingfeng_reconnects_total 0" "no reconnect yet"
is "$(get "$base/healthz" | head -1)" 200 "/healthz 200 while connected"

# the database goes away
pg stop
wait_for 10 '[ "$(get "$base/healthz" | head -1)" = 503 ]'; ok $? "/healthz 503 while PostgreSQL is down"
like "$(get "$base/metrics")" "qingfeng_up 0" "qingfeng_up 0"
kill -0 $dpid; ok $? "the daemon keeps running"
pg start
wait_for 30 '[ "$(get "$base/healthz" | head -1)" = 200 ]'; ok $? "it reconnects and /healthz is 200 again"
like "$(get "$base/metrics")" "qingfeng_reconnects_total 1" "the reconnect is counted"

# a restart during the run: before and after both alerted, nothing twice
pay B3
pg restart
pay B4
wait_for 20 '[ "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = '"'delivered'"'")" = 4 ]'
ok $? "findings made before and after pg_ctl restart are all delivered"
is "$(sql "$DB" "SELECT count(*) || '/' || count(DISTINCT dedupe_key) FROM qf.finding")" "4/4" "four findings, none duplicated"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert")" 4 "four alerts, none duplicated"
is "$(jsonl rcv 'print "$r->{idempotency_key}\n"' | sort -u | wc -l)" 4 "the receiver got all four alerts"

# an alert given up on shows in the gauge (a copy of one, for a receiver
# no longer configured, so the daemon leaves it alone)
sql "$DB" "INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload, state)
           SELECT event_id, finding_id, 'retired', event, payload, 'dead' FROM qf.alert ORDER BY id LIMIT 1"
wait_for 12 'get "$base/metrics" | grep -q "qingfeng_alerts{state=\"dead\"} 1"'; ok $? "a dead alert in the gauge"

kill -TERM $dpid; wait $dpid; is "$?" 0 "SIGTERM: exit 0"
done_testing
