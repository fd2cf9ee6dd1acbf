#!/bin/bash
# Watching the watchers (issue 24, TRUST.md), the chain itself: a payment
# edited or deleted after its F09 finding writes one evidence_changed event
# (old and new amount; the deleted row) and a finding.evidence_changed
# alert in every receiver format, a record no finding names writes
# nothing; as a superuser editing the database directly, a finding's
# evidence changed afterwards, a deleted control event or reordered events
# make `audit verify` fail at the first bad link, and a chain rewritten
# whole and consistently passes plain verify but fails verify --anchor with
# an anchor sent before; a database made at schema 19 with findings and
# history verifies after the migration, and new events use the new form.
. "$(dirname "$0")/../lib.sh"

verify() { "$QFCTL" -d "$CONNINFO" audit verify "$@" 2>&1; }

# ---------------------------------------------------------------- evidence
new_db evidence
receiver_start office -s s3cret
declare -A URLPATH=([dingtalk]="/robot/send?access_token=tok123" [wecom]="/cgi-bin/webhook/send?key=key123"
                    [feishu]="/open-apis/bot/v2/hook/tok123" [slack]="/services/T0/B0/x123")
declare -A SECRET=([dingtalk]="SECdingtalk0123456789" [wecom]="" [feishu]="feishusecret01" [slack]="")
chats=""
for f in dingtalk wecom feishu slack; do
  receiver_start "$f" --emulate "$f" ${SECRET[$f]:+-s "${SECRET[$f]}"}
  chats="$chats, { name = \"$f\"; format = \"$f\"; url = \"http://127.0.0.1:$(cat "$T_DIR/$f.port")${URLPATH[$f]}\"; ${SECRET[$f]:+secret = \"${SECRET[$f]}\";} timeout = 2; }"
done
write_conf "$T_DIR/q.conf" "$RECV_URL_office" "$(only_rules F09)" "evaluation = { interval = 1; };"
sed -i "s|^receivers = ( \(.*\) );|receivers = ( \1$chats );|" "$T_DIR/q.conf"
sql "$DB" "INSERT INTO records.payment (payment_id, vendor_id, department, amount, created_by, approved_by, paid_by) VALUES
           ('PAY-C', 'V1', '财务处', 48000.00, 'P1', 'P1', 'P2'), ('PAY-OK', 'V1', '财务处', 5000.00, 'P1', 'P2', 'P3')"
run_once "$T_DIR/q.conf"; is "$?" 0 "--once flags PAY-C"
fid=$(sql "$DB" "SELECT id FROM qf.finding WHERE dedupe_key = 'PAY-C'")
is "$(sql "$DB" "SELECT count(*) FROM qf.evidence_ref WHERE tbl = 'payment' AND key = 'PAY-C' AND finding_id = $fid")" 1 \
   "the finding's evidence names records.payment PAY-C"
is "$(sql "$DB" "SELECT form || ' ' || (evidence = (SELECT evidence FROM qf.finding WHERE id = $fid)) FROM qf.finding_event WHERE finding_id = $fid AND action = 'created'")" \
   "2 true" "its created event is in form 2 and keeps the evidence as written"

sql "$DB" "UPDATE records.payment SET amount = 5000.00 WHERE payment_id = 'PAY-OK'"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event WHERE action = 'evidence_changed'")" 0 "a record no finding names: nothing"
sql "$DB" "UPDATE records.payment SET amount = 49000.00 WHERE payment_id = 'PAY-C'"
is "$(sql "$DB" "SELECT count(*) || ' ' || min(finding_id) || ' ' || min(detail->>'op') || ' ' || min(detail->'changed'->'amount'->>'old') || ' ' || min(detail->'changed'->'amount'->>'new') || ' ' || (min(detail::text) LIKE '%vendor_id%')::text FROM qf.finding_event WHERE action = 'evidence_changed'")" \
   "1 $fid update 48000.00 49000.00 false" "the flagged payment edited: one evidence_changed event, old and new amount, only what changed"
is "$(sql "$DB" "SELECT actor FROM qf.finding_event WHERE action = 'evidence_changed'")" "$(sql "$DB" "SELECT session_user")" \
   "its actor is who changed the record"
run_once "$T_DIR/q.conf"; is "$?" 0 "--once sends the alerts"
is "$(sql "$DB" "SELECT string_agg(receiver || ':' || state, ' ' ORDER BY receiver) FROM qf.alert WHERE event = 'finding.evidence_changed'")" \
   "dingtalk:delivered feishu:delivered office:delivered slack:delivered wecom:delivered" "a finding.evidence_changed alert, delivered to every receiver format"
is "$(jsonl office 'my $b = JSON::PP->new->decode($r->{body}); next unless $b->{event} eq "finding.evidence_changed"; my $c = $b->{finding}{evidence_change}; print "$b->{finding}{id} $c->{op} ", ($r->{sig_ok} ? "signed" : "unsigned"), "\n"')" \
   "$fid update signed" "json: a finding.evidence_changed body, signed"
like "$(jsonl office 'print $r->{body}, "\n" if $r->{body} =~ /"finding.evidence_changed"/')" '"amount": ?\{"new": ?49000.00, ?"old": ?48000.00\}' \
     "with the old and new amount, exact"
for f in dingtalk wecom feishu slack; do
  like "$(jsonl "$f" 'print $r->{body}, "\n" if $r->{body} =~ /evidence changed/')" "amount 48000.00 → 49000.00" \
       "$f: the message names the column, the old and the new value"
done
sql "$DB" "DELETE FROM records.payment WHERE payment_id = 'PAY-C'"
is "$(sql "$DB" "SELECT count(*) || ' ' || max(detail->>'op') || ' ' || max(detail->'changed'->'amount'->>'old') FROM qf.finding_event WHERE action = 'evidence_changed' AND detail->>'op' = 'delete'")" \
   "1 delete 49000.00" "the flagged payment deleted: one more event, with the deleted row"
sql "$DB" "DELETE FROM records.payment WHERE payment_id = 'PAY-OK'"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event WHERE action = 'evidence_changed'")" 2 "deleting a record no finding names: nothing"
run_once "$T_DIR/q.conf"
like "$(jsonl office 'my $b = JSON::PP->new->decode($r->{body}); print $b->{finding}{message}, "\n" if $b->{event} eq "finding.evidence_changed" && $b->{finding}{evidence_change}{op} eq "delete"')" \
     "was deleted after the finding: records.payment PAY-C" "and its alert says the record was deleted"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE event = 'finding.evidence_changed' AND state = 'delivered'")" 10 "to every receiver"
like "$("$QFCTL" -d "$CONNINFO" audit log --kind evidence_changed)" "update records.payment PAY-C: amount 48000.00 -> 49000.00" \
     "audit log lists the change"

# an anchor from the daemon, before any tampering
sed -i 's|^metrics = |audit = { anchor_receivers = ["office"]; anchor_every = 3600; };\nmetrics = |' "$T_DIR/q.conf"
"$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/daemon.log" &
dpid=$!; T_PIDS+=("$dpid")
wait_for 10 '[ -n "$(jsonl office '"'"'my $b = JSON::PP->new->decode($r->{body}); print "x" if $b->{anchor}'"'"')" ]'
ok $? "the daemon sent an anchor"
kill -TERM $dpid; wait $dpid
"$QFCTL" -d "$CONNINFO" silence add --rule F01 --until 2099-01-01 --reason "to delete later" >/dev/null
anchor=$(jsonl office 'my $b = JSON::PP->new->decode($r->{body}); print "$b->{anchor}{id}:$b->{anchor}{hash}\n" if $b->{anchor}' | tail -1)
like "$anchor" "^[0-9]+:[0-9a-f]{64}$" "the anchor is ID:HASH"
out=$(verify --anchor "$anchor"); is "$?" 0 "the untouched chain verifies, with the anchor"
like "$out" "contains the 1 anchor" "and says so"

# -------------------------------------------------- tampering as a superuser
base=$DB
copy() { # copy NAME: a clone of the evidence database to tamper with
  local d=${base}_$1; dropdb --if-exists "$d" >/dev/null 2>&1; createdb -T "$base" "$d" && echo "$d"
}
use() { DB=$1; CONNINFO="host=$PGHOST port=${PGPORT:-5432} dbname=$1"; }

use "$(copy ev)"
seal=$(sql "$DB" "SELECT seq FROM qf.finding_event WHERE finding_id = $fid AND action IN ('created', 'retriggered') ORDER BY seq DESC LIMIT 1")
sql "$DB" "UPDATE qf.finding SET evidence = jsonb_set(evidence, '{amount}', '1.00') WHERE id = $fid"
out=$(verify); is "$?" 1 "a finding's evidence changed afterwards: verify fails"
like "$out" "BROKEN at seq $seal, event id [0-9]+: finding $fid: its evidence is not what this event sealed" "naming the event that sealed it"
use "$(copy ev2)"
sql "$DB" "UPDATE qf.finding_event SET evidence = jsonb_set(evidence, '{amount}', '1.00') WHERE seq = $seal"
out=$(verify); is "$?" 1 "the sealed evidence itself changed: verify fails"
like "$out" "BROKEN at seq $seal, .*its content does not match its hash" "at that event"

use "$(copy del)"
cseq=$(sql "$DB" "SELECT seq FROM qf.finding_event WHERE action = 'silence_added'")
sql "$DB" "DELETE FROM qf.finding_event WHERE action = 'silence_added'"
out=$(verify); is "$?" 1 "a control event deleted: verify fails"
like "$out" "BROKEN at seq $cseq: .*sequence broken|BROKEN at seq .*chain head" "at the gap"

use "$(copy order)"
sql "$DB" "UPDATE qf.finding_event SET seq = -1 WHERE seq = 2; UPDATE qf.finding_event SET seq = 2 WHERE seq = 3;
           UPDATE qf.finding_event SET seq = 3 WHERE seq = -1"
out=$(verify); is "$?" 1 "two events reordered: verify fails"
like "$out" "BROKEN at seq 2, .*does not link to the event before it" "at the first moved event"

use "$(copy form)"
sql "$DB" "UPDATE qf.finding_event SET form = 1 WHERE seq = (SELECT max(seq) FROM qf.finding_event WHERE form = 2)"
out=$(verify); is "$?" 1 "an event's form set back to 1: verify fails"

# the owner rewrites the whole chain consistently, without the record's
# changes (events before the anchor)
use "$(copy rewrite)"
sql "$DB" "DELETE FROM qf.alert WHERE event_id IN (SELECT id FROM qf.finding_event WHERE action = 'evidence_changed');
DELETE FROM qf.finding_event WHERE action = 'evidence_changed';
DO \$\$
DECLARE e record; prev text := repeat('0', 64); n bigint := 0; h text;
BEGIN
  FOR e IN SELECT * FROM qf.finding_event ORDER BY seq LOOP
    n := n + 1;
    h := qf.event_hash(prev, CASE WHEN e.form = 1
           THEN qf.event_canonical(n, e.id, e.finding_id, e.at, e.actor, e.action, e.level, e.note)
           ELSE qf.event_canonical2(n, e.id, e.finding_id, e.at, e.actor, e.action, e.level, e.note, e.detail, e.evidence) END);
    UPDATE qf.finding_event SET seq = -n, prev_hash = prev, hash = h WHERE id = e.id;
    prev := h;
  END LOOP;
  UPDATE qf.finding_event SET seq = -seq WHERE seq < 0;
  UPDATE qf.chain_head SET seq = n, hash = prev;
END \$\$" >/dev/null
out=$(verify); is "$?" 0 "a chain rewritten whole and consistently passes plain verify"
out=$(verify --anchor "$anchor"); is "$?" 1 "but not verify --anchor with an anchor sent before"
like "$out" "does NOT contain anchor $anchor" "naming the anchor it no longer holds"
out=$(verify --anchor "0:$(printf '0%.0s' $(seq 1 64))" --anchor "$anchor"); is "$?" 1 "with several anchors, the first missing one fails it"
like "$out" "anchor $anchor" "and is named"
out=$(verify --anchor "12x:abc"); is "$?" 64 "a malformed anchor is a usage error"
use "$base"

# ------------------------------------------------------------------ migration
new_db_at old 19
sql "$DB" "INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, department, evidence, evidence_hash)
           VALUES ('F09', 'PAY-9', 'v', 't', 'orange', 'financial', 'non-technical', 'supervisory', '财务处',
                   '{\"table\":\"records.payment\",\"payment_id\":\"PAY-9\",\"amount\":1.00}', md5('x'));
           INSERT INTO qf.finding_event (finding_id, action, level) SELECT id, 'created', level FROM qf.finding;
           SELECT qf.set_finding_status(id, 'acknowledged', 'seen') FROM qf.finding;
           INSERT INTO qf.auditor_scope (role_name, department) VALUES ('qf_auditor', '财务处')" >/dev/null
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event")" 3 "schema 19: a finding, its history and a scope grant (3 events)"
"$QFCTL" -d "$CONNINFO" migrate >/dev/null; is "$?" 0 "migrated to schema 22"
out=$(verify); is "$?" 0 "audit verify passes after the migration"
is "$(sql "$DB" "SELECT string_agg(form::text, ',' ORDER BY seq) FROM qf.finding_event")" "1,1,1" "the old events keep form 1"
sql "$DB" "SELECT qf.set_finding_status(id, 'resolved', 'done') FROM qf.finding" >/dev/null
sql "$DB" "UPDATE records.payment SET amount = 2 WHERE payment_id = 'PAY-9'" >/dev/null
sql "$DB" "INSERT INTO records.payment (payment_id, amount) VALUES ('PAY-9', 1.00)" >/dev/null
sql "$DB" "UPDATE records.payment SET amount = 2 WHERE payment_id = 'PAY-9'" >/dev/null
is "$(sql "$DB" "SELECT string_agg(action || ':' || form, ',' ORDER BY seq) FROM qf.finding_event WHERE seq > 3")" \
   "reported:2,resolved:2,evidence_changed:2" "new events use form 2 (and the old finding's record is watched)"
out=$(verify); is "$?" 0 "the mixed chain verifies"
sql "$DB" "UPDATE qf.finding_event SET note = 'tampered' WHERE seq = 2"
out=$(verify); is "$?" 1 "an old (form 1) event changed is still caught"
like "$out" "BROKEN at seq 2, .*content does not match" "at that event"
done_testing
