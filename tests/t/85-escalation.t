#!/bin/bash
# Escalation exactly as RULES-423.md says: ageing (one level per
# escalate_after days without acknowledgement, each step an event and an
# alert), repeat offenders, several open findings on one subject; a hit that
# warrants a higher level raises its finding; structured exceptions.
. "$(dirname "$0")/../lib.sh"

new_db esc
receiver_start rcv -s s3cret
pay() { # ID CREATED APPROVED PAID AMOUNT
  sql "$DB" "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by, paid_at)
             VALUES ('$1', '财务处', $5, '$2', '$3', '$4', '2026-03-02 10:00+08')"
}
level() { sql "$DB" "SELECT level FROM qf.finding WHERE rule_id = '$1' AND dedupe_key = '$2'"; }

# --- ageing
write_conf "$T_DIR/f.conf" "$RECV_URL_rcv" "$(only_rules F03 F09)"
pay A1 P1 P1 P2 100.00        # F09 orange
pay A2 P7 P8 P9 48000.00      # F03 yellow
run_once "$T_DIR/f.conf"
is "$(level F09 A1) $(level F03 A2)" "orange yellow" "new findings at their rules' levels"
sql "$DB" "UPDATE qf.finding SET first_seen = now() - interval '15 days 1 minute' WHERE dedupe_key IN ('A1', 'A2')"
run_once "$T_DIR/f.conf"
is "$(level F09 A1) $(level F03 A2)" "red orange" "unacknowledged for 15 days: each rises one level"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event WHERE action = 'escalated'")" 2 "each rise is a history event"
like "$(sql "$DB" "SELECT note FROM qf.finding_event WHERE action = 'escalated' ORDER BY id LIMIT 1")" "not acknowledged within 15 days" "saying why"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE event = 'finding.escalated' AND state = 'delivered'")" 2 "and a delivered finding.escalated alert"
is "$(jsonl rcv 'my $b = JSON::PP->new->decode($r->{body}); print "$b->{finding}{rule_id}:$b->{finding}{level}\n" if $b->{event} eq "finding.escalated"' | sort | tr '\n' ' ')" \
   "F03:orange F09:red " "the escalated alerts carry the new level"
run_once "$T_DIR/f.conf"
is "$(level F03 A2)" orange "once per step: no second rise in the same period"
sql "$DB" "UPDATE qf.finding SET escalated_at = now() - interval '15 days 1 minute' WHERE dedupe_key IN ('A1', 'A2')"
run_once "$T_DIR/f.conf"
is "$(level F09 A1) $(level F03 A2)" "red red" "after another period orange rises to red; red stays red"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event WHERE action = 'escalated'")" 3 "three rises in all"
pay A3 P7 P8 P9 48100.00
run_once "$T_DIR/f.conf"
sql "$DB" "UPDATE qf.finding SET status = 'acknowledged', first_seen = now() - interval '40 days' WHERE dedupe_key = 'A3'"
run_once "$T_DIR/f.conf"
is "$(level F03 A3)" yellow "an acknowledged finding does not age"

# --- repeat offender: the 3rd finding of a rule on one subject within 365 days opens one level higher
new_db repeat
write_conf "$T_DIR/r.conf" "$RECV_URL_rcv" "$(only_rules F09)"
pay R1 P1 P1 P2 100.00; run_once "$T_DIR/r.conf"
pay R2 P1 P1 P2 100.00; run_once "$T_DIR/r.conf"
is "$(level F09 R1) $(level F09 R2)" "orange orange" "first and second F09 on P1: orange"
pay R3 P1 P1 P2 100.00; run_once "$T_DIR/r.conf"
is "$(level F09 R3)" red "the third F09 on P1 within 365 days opens red"
like "$(sql "$DB" "SELECT note FROM qf.finding_event e JOIN qf.finding f ON f.id = e.finding_id WHERE f.dedupe_key = 'R3'")" \
   "finding 3 of this rule on this subject" "the created event says why"
pay R4 P5 P5 P6 100.00; run_once "$T_DIR/r.conf"
is "$(level F09 R4)" orange "another subject is unaffected"
sql "$DB" "UPDATE qf.finding SET first_seen = now() - interval '366 days' WHERE dedupe_key IN ('R1', 'R2', 'R3')"
pay R5 P1 P1 P2 100.00; run_once "$T_DIR/r.conf"
is "$(level F09 R5)" orange "earlier findings older than 365 days do not count"
# three at once in one pass: the third of the batch opens higher
pay S1 P9 P9 P2 100.00; pay S2 P9 P9 P2 100.00; pay S3 P9 P9 P2 100.00
run_once "$T_DIR/r.conf"
is "$(level F09 S1) $(level F09 S2) $(level F09 S3)" "orange orange red" "three in one pass: the third opens red"

# --- several open findings from different rules on one subject
new_db multi
write_conf "$T_DIR/m.conf" "$RECV_URL_rcv" "$(only_rules F03 F06 F09)"
pay M1 PX PQ PZ 48000.00      # F03 on approver PQ
pay M2 PY PQ PZ 20000.00      # F06 on approver PQ
run_once "$T_DIR/m.conf"
is "$(level F03 M1) $(level F06 M2)" "yellow yellow" "PQ has open findings from two rules"
pay M3 PQ PQ PZ 123.45        # F09 on creator PQ
run_once "$T_DIR/m.conf"
is "$(level F09 M3)" red "a new finding on PQ opens one level higher (orange → red)"
like "$(sql "$DB" "SELECT note FROM qf.finding_event e JOIN qf.finding f ON f.id = e.finding_id WHERE f.dedupe_key = 'M3' AND f.rule_id = 'F09'")" \
   "open findings from 2 rules" "the created event says why"
sql "$DB" "UPDATE qf.finding SET status = 'resolved' WHERE rule_id IN ('F03', 'F06')"
pay M4 PQ PQ PZ 123.46
run_once "$T_DIR/m.conf"
is "$(level F09 M4)" orange "once they are resolved, new findings open at the rule's level"

# --- a re-trigger that warrants a higher level raises the finding (D06: 1 complaint yellow, 2 orange)
new_db d06
write_conf "$T_DIR/d.conf" "$RECV_URL_rcv" "$(only_rules D06)"
sql "$DB" "INSERT INTO records.complaint VALUES ('k1', 'PC', now() - interval '10 days', 'received')"
run_once "$T_DIR/d.conf"
is "$(level D06 PC)" yellow "one complaint: yellow"
sql "$DB" "INSERT INTO records.complaint VALUES ('k2', 'PC', now() - interval '1 day', 'received')"
run_once "$T_DIR/d.conf"
is "$(sql "$DB" "SELECT level || ' ' || hit_count FROM qf.finding WHERE dedupe_key = 'PC'")" "orange 2" "a second complaint re-triggers it at orange"
is "$(sql "$DB" "SELECT string_agg(action || ':' || level, ',' ORDER BY seq) FROM qf.finding_event")" "created:yellow,retriggered:orange" "both steps in the history"

# --- structured exceptions from the deployment's config
new_db exc
sql "$DB" "INSERT INTO records.counterparty (party_id, name, kind, created_at) VALUES ('NV1', '框架协议供应商', 'vendor', now() - interval '2 days'), ('NV2', '新供应商', 'vendor', now() - interval '2 days');
           INSERT INTO records.payment (payment_id, vendor_id, amount, paid_at, approved_by) VALUES ('E1', 'NV1', 80000, now() - interval '1 day', 'ap'), ('E2', 'NV2', 80000, now() - interval '1 day', 'ap')"
write_conf "$T_DIR/e.conf" "$RECV_URL_rcv" 'params = { F10 = { exceptions = ( { match = { vendor_id = "NV1"; }; until = "2099-01-01"; reason = "framework contract 2026-17, approved by the party committee"; } ); }; };'
is "$("$QFCTL" -c "$T_DIR/e.conf" rules test F10 2>/dev/null | cut -f2 | tr '\n' ' ')" "E2 " "an excepted vendor is not flagged by F10; others are"
is "$("$QFCTL" -c "$T_DIR/e.conf" rules test F10 --now 2099-01-02T00:00:00+08:00 2>/dev/null | cut -f2 | tr '\n' ' ')" "E1 E2 " "the exception ends at its date"
write_conf "$T_DIR/e2.conf" "$RECV_URL_rcv" 'params = { F10 = { exceptions = ( { match = { vendor_id = "NV1"; }; until = "2099-01-01"; } ); }; };'
out=$("$QFD" -n -c "$T_DIR/e2.conf" 2>&1); st=$?
is "$st" 78 "an exception without a reason is refused"
like "$out" "e2.conf:$(grep -n 'exceptions' "$T_DIR/e2.conf" | cut -d: -f1): missing required setting 'reason'" "naming file and line"

done_testing
