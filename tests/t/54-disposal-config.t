#!/bin/bash
# The disposal loop's configuration and what the engine does with it
# (issue 23): the disposal and console sections checked with FILE:LINE;
# the settings synced into qf.setting; deadlines per level from
# disposal.deadlines; escalation shortens the deadlines ahead, never
# lengthens them; a running daemon on --clock sends the overdue alert to a
# Feishu robot as a card with a button to the finding in the console, and
# /metrics counts the overdue findings by level.
. "$(dirname "$0")/../lib.sh"

new_db dconf
check() { "$QFD" -c "$1" -n 2>&1; }

# --- bad values, each named with its file and line
write_conf "$T_DIR/bad.conf" "http://127.0.0.1:9/hook" 'disposal = {
  four_eyes = "yes";
  owners = ( { department = "财务处"; role = "jw_a"; }, { department = "财务处"; role = "jw_b"; }, { role = ""; } );
  deadlines = { red = [ 5, 3 ]; yellow = [ 1 ]; purple = [ 1, 2 ]; };
  overdue_every = 0;
  escalate = true;
};
console = { listen = "nowhere"; url = "ftp://qf.example.org"; trusted_header = "X User"; idle_timeout = 5; };
routes = ( { match = { event = [ "finding.late" ]; }; receivers = [ "office" ]; } );'
out=$(check "$T_DIR/bad.conf"); st=$?
is "$st" 78 "a bad disposal or console section: exit 78"
for want in ":7: 'four_eyes' must be" ":8: department '财务处' has an owner already \\(line 8\\)" \
            ":8: owner role '' is not a PostgreSQL role name" \
            ":9: deadlines.red: the close deadline \\(3\\) comes before the sign deadline \\(5\\)" \
            ":9: deadlines.yellow must be \\[ SIGN, CLOSE \\]" ":9: unknown setting 'purple' in deadlines" \
            ":10: .*overdue_every" ":11: unknown setting 'escalate' in disposal" \
            ":13: listen must be \"ADDRESS:PORT\"" ":13: url must start with http:// or https://" \
            ":13: trusted_header 'X User' is not a header name" ":13: .*idle_timeout" \
            ":14: 'event' has unknown value 'finding.late'"; do
  like "$out" "bad.conf$want" "reported: ${want#:}"
done

# --- good values: synced, and the deadlines they give
write_conf "$T_DIR/q.conf" "http://127.0.0.1:9/hook" "$(only_rules F09)" 'disposal = {
  four_eyes = false; owners = ( { role = "jw_all"; } );
  deadlines = { red = [ 1, 5 ]; orange = [ 2, 8 ]; yellow = [ 4, 12 ]; }; overdue_every = 3; };
console = { url = "https://qf.example.org/"; };'
sed -i 's/once_deadline = [0-9]*/once_deadline = 1/' "$T_DIR/q.conf"
like "$(check "$T_DIR/q.conf")" "configuration OK" "a good disposal and console section: configuration OK"
sql "$DB" "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by)
           VALUES ('P1', '财务处', 10, 'A', 'A', 'X')"
"$QFD" -c "$T_DIR/q.conf" --once --clock "2027-03-01 09:00" >"$T_DIR/once.log" 2>&1; is "$?" 0 "--once --clock on a Monday"
is "$(sql "$DB" "SELECT string_agg(name || '=' || value, ' ' ORDER BY name) FROM qf.setting WHERE name LIKE 'disposal.%' OR name = 'console.url'")" \
   'console.url=https://qf.example.org disposal.deadlines={"red":[1,5],"orange":[2,8],"yellow":[4,12]} disposal.four_eyes=false disposal.overdue_every=3 disposal.owners=[{"role":"jw_all"}]' \
   "the settings are in qf.setting"
like "$(sql "$DB" "SELECT value FROM qf.setting WHERE name = 'engine.clock_offset'")" "^[0-9]+ microseconds$" "and the engine's clock offset"
like "$(cat "$T_DIR/once.log")" "disposal.owners names role\(s\) that do not exist: jw_all" "an owner role that does not exist is logged"
is "$(sql "$DB" "SET TimeZone = 'Asia/Shanghai'; SELECT owner || ' ' || level || ' ' || to_char(sign_due, 'MM-DD HH24:MI') || ' ' || to_char(close_due, 'MM-DD HH24:MI') FROM qf.finding")" \
   "jw_all orange 03-03 09:00 03-11 09:00" "an orange finding: 2 and 8 workdays as configured"

# escalation: a yellow finding raised to orange gets the orange deadlines
# where they are shorter; lowered again, it keeps them
sql "$DB" "SET TimeZone = 'Asia/Shanghai';
  INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, evidence, evidence_hash, first_seen)
  VALUES ('F09', 'y1', 'v', 't', 'yellow', 'financial', 'non-technical', 'primary', '{}', md5('{}'), '2099-03-02 10:00+08')" >/dev/null
due() { sql "$DB" "SET TimeZone = 'Asia/Shanghai'; SELECT to_char(sign_due, 'MM-DD') || ' ' || to_char(close_due, 'MM-DD') FROM qf.finding WHERE dedupe_key = 'y1'"; }
is "$(due)" "03-06 03-18" "a yellow finding: 4 and 12 workdays"
sql "$DB" "UPDATE qf.finding SET level = 'orange' WHERE dedupe_key = 'y1'" >/dev/null
is "$(due)" "03-04 03-12" "raised to orange: both deadlines shortened to orange's"
sql "$DB" "UPDATE qf.finding SET level = 'yellow' WHERE dedupe_key = 'y1'" >/dev/null
is "$(due)" "03-04 03-12" "lowered again: never lengthened"
sql "$DB" "DELETE FROM qf.finding WHERE dedupe_key = 'y1'" >/dev/null

# --- a running daemon, late: the overdue alert as a Feishu card with a
# button to the console, and the gauge
receiver_start robot -e feishu
# the new finding's alert went nowhere (port 9): not part of this message
sql "$DB" "UPDATE qf.alert SET state = 'dead'" >/dev/null
sed -i "s|url = \"http://127.0.0.1:9/hook\"; secret = \"s3cret\";|url = \"$RECV_URL_robot\";|; s|format = \"json\"|format = \"feishu\"|" "$T_DIR/q.conf"
"$QFD" -c "$T_DIR/q.conf" --clock "2027-03-04 10:00" 2>"$T_DIR/daemon.log" & dpid=$!
T_PIDS+=("$dpid")
wait_for 20 '[ "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE event = '"'finding.overdue'"' AND state = '"'delivered'"'")" = 1 ]'
ok $? "the daemon found the finding late for signing and delivered its overdue alert"
fid=$(sql "$DB" "SELECT id FROM qf.finding")
card=$(jsonl robot 'my $b = JSON::PP->new->decode($r->{body}); next unless $b->{card}{header}{title}{content};
  my @e = @{$b->{card}{elements}}; my $a = $e[-1]{actions}[0] || {};
  print "$a->{url}|$a->{text}{content}|", ($e[0]{content} =~ /overdue.*not signed for.*days late/ ? "overdue" : "-"), "|",
        ($e[0]{content} =~ /owner: jw\\?_all/ ? "owner" : "-"), "\n"' | tail -1)
is "$card" "https://qf.example.org/findings/$fid|签收 / 查看 sign / view|overdue|owner" \
   "a Feishu card saying overdue and whose, with a button to the finding in the console"
port=$(grep -o 'metrics on [^ ]* (port [0-9]*' "$T_DIR/daemon.log" | grep -o '[0-9]*$')
get() { perl -MHTTP::Tiny -e 'my $r = HTTP::Tiny->new(timeout => 5)->get($ARGV[0]); print $r->{content}' "$1"; }
wait_for 12 '[[ "$(get "http://127.0.0.1:$port/metrics")" == *"qingfeng_findings_overdue{level=\"orange\"} 1"* ]]'
ok $? "/metrics: qingfeng_findings_overdue{level=\"orange\"} 1"
like "$(get "http://127.0.0.1:$port/metrics")" 'qingfeng_findings_overdue\{level="red"\} 0' "and 0 for the other levels"
# a reload syncs the settings again
sed -i 's/four_eyes = false;/four_eyes = true;/' "$T_DIR/q.conf"
kill -HUP "$dpid"
wait_for 10 '[ "$(sql "$DB" "SELECT value FROM qf.setting WHERE name = '"'disposal.four_eyes'"'")" = true ]'
ok $? "after SIGHUP the new disposal.four_eyes is in qf.setting"
kill -TERM "$dpid"; wait "$dpid"; is "$?" 0 "the daemon stops cleanly"
done_testing
