#!/bin/bash
# The disposal loop's deadlines on the engine's clock (issue 23, DISPOSAL.md;
# acceptance 1): a red finding gets its owner from disposal.owners and a
# sign deadline of 1 workday, which a weekend and a records.workday holiday
# do not count; not signed by then, it gets an `overdue` event and a
# finding.overdue alert, routed on its event to the receiver that asked,
# again every overdue_every workdays while late; once signed, only the
# close deadline remains, and passing it is overdue again.
. "$(dirname "$0")/../lib.sh"

new_db overdue
receiver_start office
receiver_start board
cat >"$T_DIR/q.conf" <<CONF
database = { conninfo = "$CONNINFO"; };
rules_dir = "$QF_ROOT/rules";
receivers = ( { name = "office"; format = "json"; url = "$RECV_URL_office"; },
              { name = "board"; format = "json"; url = "$RECV_URL_board"; } );
routes = ( { match = { event = [ "finding.overdue" ]; }; receivers = [ "board" ]; },
           { receivers = [ "office" ]; } );
delivery = { once_deadline = 10; backoff_initial = 0.2; };
reminders = { red_every = 0; };
disposal = { owners = ( { department = "财务处"; role = "jw_caiwu"; }, { role = "jw_office"; } );
             overdue_every = 2; };
$(only_rules F09 | sed 's/params = {/params = { F09 = { level = "red"; };/')
CONF
at() { "$QFD" -c "$T_DIR/q.conf" --once --clock "$1" >>"$T_DIR/once.log" 2>&1; }
ev() { sql "$DB" "SELECT count(*) FROM qf.finding_event WHERE action = '$1'"; }
board() { jsonl board 'my $b = JSON::PP->new->decode($r->{body}); my $o = $b->{finding}{overdue} || {}; print "$b->{event} $b->{finding}{id} $o->{step} $o->{owner}\n"'; }

# 2027-01-08 is a Friday; Monday the 11th a holiday of the institute
sql "$DB" "INSERT INTO records.workday VALUES ('2027-01-11', false)"
sql "$DB" "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by)
           VALUES ('P1', '财务处', 10, 'A', 'A', 'X')"
at "2027-01-08 10:00"; is "$?" 0 "--once --clock Friday 10:00 exits 0"
fid=$(sql "$DB" "SELECT id FROM qf.finding")
is "$(sql "$DB" "SET TimeZone = 'Asia/Shanghai'; SELECT owner || ' ' || level || ' ' || to_char(first_seen, 'YYYY-MM-DD HH24:MI')
                 || ' ' || to_char(sign_due, 'YYYY-MM-DD HH24:MI') || ' ' || to_char(close_due, 'YYYY-MM-DD HH24:MI') FROM qf.finding")" \
   "jw_caiwu red 2027-01-08 10:00 2027-01-12 10:00 2027-01-25 10:00" \
   "owner by department; first seen on the engine's clock; sign due Tuesday 10:00 (weekend and holiday not counted), close in 10 workdays"
is "$(sql "$DB" "SELECT light FROM qf.v_findings")" yellow "its handling light is yellow: a red finding is due to be signed within a workday"
is "$(requests office) $(requests board)" "1 0" "the new finding went to office only"

at "2027-01-12 09:00"
is "$(ev overdue)" 0 "Tuesday 09:00: not yet late, no overdue event"
is "$(sql "$DB" "SELECT light FROM qf.v_findings")" yellow "but the light is yellow (the deadline is within a workday)"
at "2027-01-12 10:30"
is "$(ev overdue)" 1 "Tuesday 10:30, not signed: an overdue event"
like "$(sql "$DB" "SELECT actor || ' | ' || note FROM qf.finding_event WHERE action = 'overdue'")" \
     "the sign deadline 2027-01-12 10:00 passed 0.0 days ago; owner jw_caiwu" "its note says which deadline, how late and whose"
is "$(board)" "finding.overdue $fid sign jw_caiwu" "a finding.overdue alert reached the receiver its route names, with step and owner"
is "$(requests office)" 1 "and not the other receiver"
is "$(sql "$DB" "SELECT light FROM qf.v_findings")" red "the light is red"
is "$(sql "$DB" "SELECT deadline || ' ' || owner FROM qf.v_findings_overdue")" "sign jw_caiwu" "v_findings_overdue lists it"
at "2027-01-13 11:00"
is "$(ev overdue)" 1 "a workday later: no second overdue yet (every 2 workdays)"
at "2027-01-14 10:31"
is "$(ev overdue)" 2 "two workdays after the first: overdue again"
is "$(requests board)" 2 "and alerted again"

# signed: the sign deadline is met, only the close deadline remains
out=$("$QFCTL" -c "$T_DIR/q.conf" findings ack "$fid" --note "已签收 signed"); st=$?
is "$st/$out" "0/finding $fid acknowledged" "qfctl findings ack"
is "$(sql "$DB" "SELECT light FROM qf.v_findings")" green "after signing, the light is green again (close is due on the 25th)"
"$QFCTL" -c "$T_DIR/q.conf" findings list --format json >"$T_DIR/list.json"
is "$(perl -MJSON::PP -e 'local $/; my $a = decode_json(<STDIN>); print join(" ", map { $_->{owner} . " " . $_->{light} . " " . $_->{status} . " " . (defined $_->{close_due} ? "close_due" : "none") } @$a)' <"$T_DIR/list.json")" \
   "jw_caiwu green acknowledged close_due" "findings list --format json has owner, light, close_due"
at "2027-01-18 10:00"
is "$(ev overdue)" 2 "signed: no overdue while the close deadline is ahead"
at "2027-01-25 10:30"
is "$(ev overdue)" 3 "the close deadline passed: overdue for closing"
is "$(board | tail -1)" "finding.overdue $fid close jw_caiwu" "alerted as late for closing"
is "$("$QFCTL" -c "$T_DIR/q.conf" findings list --overdue --format json | perl -MJSON::PP -e 'local $/; print scalar @{decode_json(<STDIN>)}')" 1 \
   "qfctl findings list --overdue shows it"
is "$("$QFCTL" -c "$T_DIR/q.conf" findings list --light green --format json | perl -MJSON::PP -e 'local $/; print scalar @{decode_json(<STDIN>)}')" 0 \
   "and --light green does not"
is "$("$QFCTL" -c "$T_DIR/q.conf" audit verify >/dev/null; echo $?)" 0 "the history chain verifies"
done_testing
