#!/bin/bash
# Watching the watchers (issue 24, TRUST.md), the control surface: the
# daemon's start, reload (only when something changed), clean stop and an
# unclean last stop (kill -9) are control events with their actor and
# content in `qfctl audit log`; four eyes on silences of red findings (the
# adder cannot approve, the database says so); silence.four_eyes = false
# applies at once and its change is itself logged; the chain head goes to
# the anchor receiver, signed, every audit.anchor_every (under --clock) and
# after a control event.
. "$(dirname "$0")/../lib.sh"

role_ensure "qf_t72_a LOGIN IN ROLE qf_admin" "qf_t72_b LOGIN IN ROLE qf_admin" "qf_t72_eng LOGIN IN ROLE qf_engine"
new_db trust
sql "$DB" "GRANT CONNECT ON DATABASE $DB TO qf_t72_a, qf_t72_b, qf_t72_eng" >/dev/null
A="$CONNINFO user=qf_t72_a"
B="$CONNINFO user=qf_t72_b"
ENG="$CONNINFO user=qf_t72_eng"
receiver_start office -s s3cret
receiver_start anchor -s anch0r
mkdir -p "$T_DIR/rules"
cp "$QF_ROOT"/rules/*.conf "$T_DIR/rules/"
# F09 at level red: its silences need a second admin
params=$(only_rules F09 | sed 's/ };$/ F09 = { level = "red"; }; };/')
conf() { # conf FOUR_EYES [EXTRA]
  CONNINFO=$ENG RULES_DIR=$T_DIR/rules write_conf "$T_DIR/q.conf" "$RECV_URL_office" "$params" \
    "evaluation = { interval = 1; };" "silence = { four_eyes = $1; };" \
    "audit = { anchor_receivers = [\"anchor\"]; anchor_every = 3; identity = \"t72\"; };" "${2:-}"
  # the anchor receiver: json, its own secret
  sed -i "s|^receivers = ( \(.*\) );|receivers = ( \1, { name = \"anchor\"; format = \"json\"; url = \"$RECV_URL_anchor\"; secret = \"anch0r\"; } );|" "$T_DIR/q.conf"
}
conf true
"$QFD" -n -c "$T_DIR/q.conf" >/dev/null; is "$?" 0 "the configuration with silence and audit is valid"
bad=$T_DIR/bad.conf; cp "$T_DIR/q.conf" "$bad"; sed -i 's/anchor_receivers = \["anchor"\]/anchor_receivers = ["nope"]/' "$bad"
like "$("$QFD" -n -c "$bad" 2>&1)" "bad.conf:[0-9]+: anchor receiver 'nope' is not a receiver" "an unknown anchor receiver is refused with file:line"

log() { "$QFCTL" -d "$A" audit log "$@"; }
anchors() { jsonl anchor 'print "1\n" if $r->{body} =~ /"event":"chain.anchor"/' | wc -l; }
started() { grep -c "recorded the started rule set" "$T_DIR/daemon.log" 2>/dev/null; }
start() {
  local n; n=$(started)
  "$QFD" -c "$T_DIR/q.conf" --clock "2026-03-02 09:00" 2>>"$T_DIR/daemon.log" &
  dpid=$!; T_PIDS+=("$dpid")
  wait_for 10 '[ "$(started)" -gt "'"${n:-0}"'" ]'
}
start; ok $? "the daemon starts and records its rule set"
# the disposal loop's settings (sql/021) are synced at connect too: this
# test is about the daemon's own events and silence.four_eyes
j=$(log --format json | perl -MJSON::PP -e 'my $a = decode_json(join "", <>);
  print encode_json([grep { $_->{kind} ne "setting_changed" || $_->{detail}{name} eq "silence.four_eyes" } @$a])')
is "$(printf '%s' "$j" | perl -MJSON::PP -e 'my $a = decode_json(join "", <>); print join(",", map { $_->{kind} } @$a)')" \
   "daemon_started,setting_changed,rules_loaded" "start: daemon_started, the four_eyes setting, the rule set"
is "$(printf '%s' "$j" | perl -MJSON::PP -e 'my $a = decode_json(join "", <>); print join(",", map { $_->{actor} } @$a)')" \
   "qf_t72_eng,qf_t72_eng,qf_t72_eng" "the actor is the daemon's role"
host=$(hostname)
is "$(printf '%s' "$j" | perl -MJSON::PP -e 'my $a = decode_json(join "", <>); my $d = $a->[0]{detail}; print "$d->{identity} $d->{host} ", ($d->{pid} > 0 ? "pid" : "nopid"), " ", length $d->{config_hash}')" \
   "t72 $host pid 64" "daemon_started names the identity, host, pid and the config's sha256"
is "$(printf '%s' "$j" | perl -MJSON::PP -e 'my $a = decode_json(join "", <>); my $r = $a->[2]{detail}{rules}; print "$r->{F09}{level} ", ($r->{F09}{enabled} ? 1 : 0), " ", ($r->{F01}{enabled} ? 1 : 0), " ", length $r->{F09}{version}')" \
   "red 1 0 16" "rules_loaded: per rule its level, enabled and version after the overrides"
like "$(log)" "setting_changed +- +silence.four_eyes: unset -> true" "the table form: the setting's change"

# a reload that changes nothing writes nothing
n0=$(sql "$DB" "SELECT count(*) FROM qf.finding_event")
kill -HUP $dpid
wait_for 10 'grep -q "reloaded:" "$T_DIR/daemon.log"'; ok $? "SIGHUP: reloaded"
sleep 1
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event")" "$n0" "a reload with an unchanged configuration writes nothing"
# a threshold raised in the overrides: the reload is logged with the rule that changed
sed -i 's/F09 = { level = "red"; }/F09 = { level = "red"; enabled = true; }; F10 = { enabled = true; }/' "$T_DIR/q.conf"
grep -q 'F10 = { enabled = false; };' "$T_DIR/q.conf" && sed -i 's/ F10 = { enabled = false; };//' "$T_DIR/q.conf"
kill -HUP $dpid
wait_for 10 '[ "$(log --kind daemon_reloaded --format json | grep -c F10)" = 1 ]'; ok $? "a changed reload: daemon_reloaded names the rule that changed (F10)"
like "$(log --kind rules --format json)" '"reason": ?"reload"' "and the new rule set is recorded (rules_loaded, reason reload)"

# four eyes: a silence on the red rule by A holds nothing until B approves
sid=$("$QFCTL" -d "$A" silence add --rule F09 --until "2099-01-01" --reason "vendor audit" | awk '{print $2}')
like "$("$QFCTL" -d "$A" silence list)" "waiting for approval" "silence list shows it waiting"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('R1', 'P1', 'P1')"
wait_for 10 '[ "$(sql "$DB" "SELECT state FROM qf.alert WHERE receiver = '"'office'"' AND payload->>'"'id'"' IS NOT NULL ORDER BY id DESC LIMIT 1")" = delivered ]'
ok $? "before approval the red finding's alert is sent"
out=$("$QFCTL" -d "$A" silence approve "$sid" 2>&1); st=$?
is "$st" 1 "the adder cannot approve it"
like "$out" "qf_t72_a added it and cannot approve it too" "the database says why"
out=$(psql -X -q -At -d "$A" -c "UPDATE qf.silence SET approved_by = 'qf_t72_b', approved_at = now() WHERE id = $sid" 2>&1)
like "$out" "permission denied" "nor can A write the approval columns directly"
"$QFCTL" -d "$B" silence approve "$sid" >/dev/null; is "$?" 0 "another admin (B) approves it"
like "$("$QFCTL" -d "$A" silence list)" "approved by qf_t72_b" "silence list shows the approval"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('R2', 'P2', 'P2')"
wait_for 10 '[ "$(sql "$DB" "SELECT count(*) FROM qf.alert a JOIN qf.finding f ON f.id = a.finding_id WHERE f.dedupe_key = '"'R2'"'")" -ge 1 ]'
is "$(sql "$DB" "SELECT state || ' ' || silence_id FROM qf.alert a JOIN qf.finding f ON f.id = a.finding_id WHERE f.dedupe_key = 'R2' AND receiver = 'office'")" \
   "silenced $sid" "once approved it holds the red finding's alert back"
j=$(log --kind silence --format json)
is "$(printf '%s' "$j" | perl -MJSON::PP -e 'my $a = decode_json(join "", <>); print join(",", map { "$_->{kind}:$_->{actor}" } @$a)')" \
   "silence_added:qf_t72_a,silence_approved:qf_t72_b" "the log: added by A, approved by B"
like "$(log --kind silence)" "silence $sid: rule=F09 person=\* department=\* .*vendor audit" "with what it covers and why"
out=$(psql -X -q -At -d "$A" -c "UPDATE qf.silence SET until = '2099-06-01' WHERE id = $sid RETURNING coalesce(approved_by, 'none')" 2>&1)
is "$out" "none" "widening an approved silence takes the approval back"
like "$(log --kind silence_edited --format json)" '"approved_by": ?null' "and the edit is logged"
"$QFCTL" -d "$B" silence approve "$sid" >/dev/null
"$QFCTL" -d "$A" silence expire "$sid" >/dev/null
out=$(psql -X -q -At -d "$A" -c "UPDATE qf.silence SET expired_at = NULL WHERE id = $sid RETURNING coalesce(approved_by, 'none')" 2>&1)
is "$out" "none" "bringing an expired silence back takes its approval back"
"$QFCTL" -d "$A" silence expire "$sid" >/dev/null
like "$(log --kind silence_expired --format json)" "\"actor\": ?\"qf_t72_a\"" "expiring it is logged too"

# the anchor: signed, at the configured pace, and after a control event
wait_for 10 '[ "$(anchors)" -ge 2 ]'; ok $? "anchors arrive"
is "$(jsonl anchor 'print $r->{sig_ok} ? 1 : 0, "\n"' | sort -u)" 1 "every anchor is signed with the receiver's secret"
# (with no routes the anchor receiver gets the findings too, as every receiver does)
is "$(jsonl anchor 'my $b = JSON::PP->new->decode($r->{body}); next unless $b->{event} =~ /^chain/; print(($b->{event} eq "chain.anchor" && $b->{anchor}{hash} =~ /^[0-9a-f]{64}$/ && $b->{anchor}{id} > 0 && $b->{anchor}{events} == $b->{anchor}{seq}) ? 1 : 0, "\n")' | sort -u)" 1 \
   "the body: event chain.anchor, the head's id, seq, hash and event count"
like "$(jsonl anchor 'my $b = JSON::PP->new->decode($r->{body}); print $b->{anchor}{at}, "\n" if $b->{anchor}' | head -1)" "^2026-03-02" "it states the --clock's time"
n=$(anchors)
sleep 4.5
ok "$([ "$(anchors)" -gt "$n" ]; echo $?)" "with nothing happening, another within anchor_every (3 s)"
# a day between periodic anchors from now on: an anchor within seconds
# of the silence is the silence's
last_anchor() { jsonl anchor 'my $b = JSON::PP->new->decode($r->{body}); print "$b->{anchor}{id}:$b->{anchor}{hash}\n" if $b->{anchor}' | tail -1; }
head() { sql "$DB" "SELECT id || ':' || hash FROM qf.finding_event ORDER BY seq DESC LIMIT 1"; }
sed -i 's/anchor_every = 3;/anchor_every = 86400;/' "$T_DIR/q.conf"
kill -HUP $dpid
wait_for 10 '[ "$(last_anchor)" = "$(head)" ] && [ "$(log --kind daemon_reloaded --format json | grep -c 86400)" = 0 ]'
sleep 1
n=$(anchors)
sid2=$("$QFCTL" -d "$A" silence add --person P9 --until "2099-01-01" --reason "leave" | awk '{print $2}')
head=$(head)
wait_for 3 '[ "$(anchors)" -gt "$n" ]'; ok $? "a silence sends an anchor at once (anchor_every is now a day)"
last=$(last_anchor)
is "$last" "$head" "it is the head after the silence_added event"
"$QFCTL" -d "$A" audit verify --anchor "$last" >/dev/null; is "$?" 0 "audit verify --anchor accepts it"

# four eyes off: applies at once, and the change is logged
conf false
kill -HUP $dpid
wait_for 10 '[ "$(sql "$DB" "SELECT value FROM qf.setting WHERE name = '"'silence.four_eyes'"'")" = false ]'; ok $? "four_eyes = false reaches qf.setting"
like "$(log --kind setting_changed)" "silence.four_eyes: true -> false" "the change of the setting is in the log"
sid3=$("$QFCTL" -d "$A" silence add --rule F09 --until "2099-01-01" --reason "no second admin today" | awk '{print $2}')
unlike "$("$QFCTL" -d "$A" silence list)" "waiting for approval" "nothing waits"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('R3', 'P3', 'P3')"
wait_for 10 '[ "$(sql "$DB" "SELECT count(*) FROM qf.alert a JOIN qf.finding f ON f.id = a.finding_id WHERE f.dedupe_key = '"'R3'"'")" -ge 1 ]'
is "$(sql "$DB" "SELECT state || ' ' || silence_id FROM qf.alert a JOIN qf.finding f ON f.id = a.finding_id WHERE f.dedupe_key = 'R3' AND receiver = 'office'")" \
   "silenced $sid3" "the unapproved silence holds the red finding at once"

# clean stop, then kill -9 and a restart: the unclean stop is recorded
kill -TERM $dpid; wait $dpid; is "$?" 0 "SIGTERM: a clean stop"
like "$(log --kind daemon_stopped)" "daemon_stopped +- +t72 pid" "daemon_stopped is logged"
start; ok $? "started again"
unlike "$(log --kind daemon_unclean_stop)" "unclean" "after a clean stop: no unclean stop"
kill -9 $dpid; wait $dpid 2>/dev/null
start; ok $? "started after kill -9"
like "$(log --kind daemon_unclean_stop --format json)" "\"kind\": ?\"daemon_unclean_stop\".*\"identity\": ?\"t72\"" \
     "the start records that the last run ended without a clean stop"
like "$(grep "without a clean stop" "$T_DIR/daemon.log")" "t72" "and logs it"
# auditor scopes (sql/017) are in the same log
psql -X -q -At -d "$B" -c "INSERT INTO qf.auditor_scope (role_name, department) VALUES ('qf_t72_a', '财务处')" >/dev/null
is "$(log --kind scope --format json | perl -MJSON::PP -e 'my $a = decode_json(join "", <>); print join(",", map { "$_->{kind}:$_->{actor}" } @$a)')" \
   "scope_granted:qf_t72_b" "a scope granted by B is in the log under B"
is "$(log --since 2099-01-01 --format json)" "[]" "--since leaves out what came before"
"$QFCTL" -d "$A" audit verify >/dev/null; is "$?" 0 "the chain of findings and control events verifies"
done_testing
