#!/bin/bash
# /metrics of a running daemon as the Prometheus tools read it (issue 22,
# item 3): `promtool check metrics` passes with no output, and Python's
# prometheus_client parses the text into the families and samples it
# says, each family with its type. qingfeng_build_info is there; the
# findings gauge has every level by status and the alerts gauge every
# state, zeros included; qingfeng_outbox_depth, deprecated, equals
# qingfeng_alerts{state="pending"}.
. "$(dirname "$0")/../lib.sh"

get() { perl -MHTTP::Tiny -e 'my $r = HTTP::Tiny->new(timeout => 5)->get($ARGV[0]); print $r->{content}' "$1"; }
pay() { sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('$1', '$1', '$1')"; }
PY=/usr/bin/python3 # Debian's, with python3-prometheus-client (not a virtualenv's)

# families as Python's prometheus_client parses a text on stdin: a line
# per family (name, type), a line per sample (name, labels sorted, value)
py_families() {
  "$PY" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    print("family %s %s" % (f.name, f.type))
    for s in f.samples:
        labels = ",".join("%s=%s" % (k, v) for k, v in sorted(s.labels.items()))
        print("  %s{%s} %s" % (s.name, labels, format(s.value, ".17g")))'
}
# the same, read from the text as the exposition format says it: a TYPE
# line opens a family (a counter's without its _total, as the parser
# names it), each sample line after it is one of its samples
text_families() {
  perl -ne '
    chomp;
    if (/^# TYPE (\S+) (\S+)$/) { my ($n, $t) = ($1, $2); $n =~ s/_total$// if $t eq "counter"; print "family $n $t\n"; next }
    next if /^#/ || !length;
    my ($name, $labels, $v) = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/ or do { print "bad line: $_\n"; next };
    my @l; while (defined $labels && $labels =~ /\G,?([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/gc) {
      my ($k, $x) = ($1, $2); $x =~ s/\\n/\n/g; $x =~ s/\\(.)/$1/g; push @l, "$k=$x" }
    printf "  %s{%s} %s\n", $name, join(",", sort @l), sprintf("%.17g", $v);'
}

new_db promtool
receiver_start rcv -s s3cret
write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09)" "evaluation = { interval = 2; };"
pay M1; pay M2
"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/daemon.log" &
dpid=$!
T_PIDS+=("$dpid")
wait_for 10 'grep -q "metrics on" "$T_DIR/daemon.log"'
port=$(grep -o 'metrics on [^ ]* (port [0-9]*' "$T_DIR/daemon.log" | grep -o '[0-9]*$')
base="http://127.0.0.1:$port"
wait_for 10 '[ "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = '"'delivered'"'")" = 2 ]'; ok $? "(two findings delivered)"
# one finding acknowledged, and an alert pending for a receiver no longer
# configured (the daemon leaves it alone), whose name needs escaping: every
# family then has samples
sql "$DB" "SELECT qf.set_finding_status((SELECT min(id) FROM qf.finding), 'acknowledged', 'seen')" >/dev/null
sql "$DB" "INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload, state)
           SELECT event_id, finding_id, E're\"tired\\\\', event, payload, 'pending' FROM qf.alert ORDER BY id LIMIT 1"
wait_for 15 'get "$base/metrics" | grep -q "^qingfeng_findings{level=\"orange\",status=\"acknowledged\"} 1$" &&
             get "$base/metrics" | grep -q "^qingfeng_alerts_orphaned"'
ok $? "(a gauge snapshot with the acknowledgement and the orphaned alert)"
get "$base/metrics" >"$T_DIR/metrics.txt"

# --- promtool ---
if command -v promtool >/dev/null; then
  out=$(promtool check metrics <"$T_DIR/metrics.txt" 2>&1); st=$?
  is "$st:$out" "0:" "promtool check metrics: exit 0, no output (no warning)"
  out=$(printf '# TYPE foo counter\nfoo 1\n' | promtool check metrics 2>&1); st=$?
  ok $([ "$st" -ne 0 ] && [ -n "$out" ] && echo 0 || echo 1) "(control: promtool complains about a counter without _total and HELP: $st)"
else
  ok 1 "promtool check metrics (promtool is not installed: run tools/deps.sh)"
fi

# --- prometheus_client ---
if "$PY" -c 'import prometheus_client' 2>/dev/null; then
  py=$(py_families <"$T_DIR/metrics.txt"); st=$?
  is "$st" 0 "prometheus_client parses /metrics"
  txt=$(text_families <"$T_DIR/metrics.txt")
  is "$py" "$txt" "into the families and samples the text says, in its order, each family with its type"
  is "$(printf '%s\n' "$py" | grep '^family' | tr '\n' '|')" \
     "family qingfeng_up gauge|family qingfeng_build_info gauge|family qingfeng_reconnects counter|family qingfeng_db_refused gauge|family qingfeng_db_connect_failures counter|family qingfeng_passes counter|family qingfeng_findings_created counter|family qingfeng_alerts_queued counter|family qingfeng_rule_evaluations counter|family qingfeng_rule_duration_seconds summary|family qingfeng_deliveries counter|family qingfeng_findings gauge|family qingfeng_alerts gauge|family qingfeng_outbox_depth gauge|family qingfeng_oldest_pending_seconds gauge|family qingfeng_change_lag_seconds gauge|family qingfeng_alerts_orphaned gauge|family qingfeng_findings_overdue gauge|" \
     "every family, once, with its type"
  empty=$(printf '%s\n' "$py" | awk '/^family/ { if (f && !n) print f; f = $2; n = 0; next } { n++ } END { if (f && !n) print f }')
  is "$empty" "" "every family has samples"
  # the control: the layout the issue reported (TYPE lines together, then
  # the samples) is parsed otherwise, so the comparison above can fail
  bad=$'# HELP a A\n# TYPE a gauge\n# HELP b B\n# TYPE b gauge\na 1\nb 2\n'
  ok $([ "$(printf '%s' "$bad" | py_families)" != "$(printf '%s' "$bad" | text_families)" ] && echo 0 || echo 1) \
     "(control: TYPE lines printed together are parsed into other families)"

  v=$("$QFCTL" version)   # qfctl 0.1.0 (rule engine 2, schema 19)
  want=$(printf '%s\n' "$v" | sed -E 's/^qfctl ([^ ]+) \(rule engine ([0-9]+), schema ([0-9]+)\)$/  qingfeng_build_info{rule_engine=\2,schema=\3,version=\1} 1/')
  is "$(printf '%s\n' "$py" | grep 'qingfeng_build_info{')" "$want" "qingfeng_build_info: version, rule format and schema of this build, value 1"
  want=$(sql "$DB" "SELECT string_agg(format('  qingfeng_findings{level=%s,status=%s} %s', l, s,
                      (SELECT count(*) FROM qf.finding f WHERE f.level = l AND f.status = s)), E'\n' ORDER BY l, s)
                      FROM unnest('{yellow,orange,red}'::text[]) l, unnest('{open,acknowledged,reported,resolved,dismissed}'::text[]) s")
  is "$(printf '%s\n' "$py" | grep 'qingfeng_findings{' | sort)" "$(printf '%s\n' "$want" | sort)" \
     "qingfeng_findings: all 15 levels by statuses, zeros included, as counted by SQL"
  is "$(printf '%s\n' "$py" | grep 'qingfeng_alerts{' | tr '\n' '|')" \
     "  qingfeng_alerts{state=dead} 0|  qingfeng_alerts{state=pending} 1|  qingfeng_alerts{state=silenced} 0|" \
     "qingfeng_alerts: every state but delivered, zeros included"
  is "$(printf '%s\n' "$py" | grep 'qingfeng_outbox_depth{')" "  qingfeng_outbox_depth{} 1" \
     "qingfeng_outbox_depth (deprecated) equals qingfeng_alerts{state=pending}"
  like "$(grep '^# HELP qingfeng_outbox_depth' "$T_DIR/metrics.txt")" 'Deprecated' "and its HELP says it is deprecated"
  is "$(printf '%s\n' "$py" | grep 'qingfeng_alerts_orphaned{')" '  qingfeng_alerts_orphaned{receiver=re"tired\} 1' \
     "a label value with a quote and a backslash is read back as it is in the database"
  is "$(printf '%s\n' "$py" | grep -c 'qingfeng_rule_duration_seconds_\(sum\|count\){rule=F09}')" 2 \
     "the summary's _sum and _count are samples of qingfeng_rule_duration_seconds"
else
  ok 1 "prometheus_client parse (python3-prometheus-client is not installed: run tools/deps.sh)"
fi

kill -TERM $dpid; wait $dpid; is "$?" 0 "SIGTERM: exit 0"
done_testing
