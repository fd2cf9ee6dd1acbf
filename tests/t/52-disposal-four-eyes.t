#!/bin/bash
# The disposal loop's steps as real roles through qfctl (issue 23,
# acceptance 2): the owner signs for a finding, someone checks it and gives
# feedback, another role closes it (four eyes: the same role is refused);
# an auditor outside the finding's scope can neither see it nor act on it;
# wrong stages, bad fields and other roles are refused with their own exit
# codes and change nothing; every step is a chain event naming its actor,
# and the chain verifies after the whole loop.
. "$(dirname "$0")/../lib.sh"

new_db foureyes
role_ensure "qf_fe_owner LOGIN IN ROLE qf_auditor" "qf_fe_sup LOGIN IN ROLE qf_auditor" \
            "qf_fe_out LOGIN IN ROLE qf_auditor" "qf_fe_admin LOGIN IN ROLE qf_admin"
sql "$DB" "INSERT INTO qf.auditor_scope (role_name, department) VALUES
             ('qf_fe_owner', '财务处'), ('qf_fe_sup', '财务处'), ('qf_fe_out', '化学室')" >/dev/null
write_conf "$T_DIR/q.conf" "http://127.0.0.1:9/hook" "$(only_rules F09)
disposal = { owners = ( { department = \"财务处\"; role = \"qf_fe_owner\"; } ); };"
sed -i 's/once_deadline = [0-9]*/once_deadline = 1/' "$T_DIR/q.conf"
sql "$DB" "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by)
           VALUES ('P1', '财务处', 10, 'A', 'A', 'X'), ('P2', '财务处', 20, 'B', 'B', 'X')"
run_once "$T_DIR/q.conf"
f1=$(sql "$DB" "SELECT id FROM qf.finding WHERE dedupe_key = 'P1'")
f2=$(sql "$DB" "SELECT id FROM qf.finding WHERE dedupe_key = 'P2'")
is "$(sql "$DB" "SELECT string_agg(DISTINCT owner, ',') FROM qf.finding")" qf_fe_owner "the findings are owned as disposal.owners says"

as() { local who=$1; shift; "$QFCTL" -d "host=$PGHOST port=${PGPORT:-5432} dbname=$DB user=$who" "$@" 2>&1; }
events() { sql "$DB" "SELECT count(*) FROM qf.finding_event"; }
state() { sql "$DB" "SELECT status FROM qf.finding WHERE id = $1"; }

# outside the scope: nothing to see, nothing to do, and not told which
is "$(as qf_fe_out findings list --format json)" "[]" "an auditor of another department sees none of them"
n=$(events)
out=$(as qf_fe_out findings ack "$f1"); st=$?
is "$st" 3 "and cannot sign for one (exit 3)"
like "$out" "no finding $f1 within your scope" "told there is no such finding in their scope"
out=$(as qf_fe_out findings feedback "$f1" --outcome unfounded --disposition none --note "nothing"); st=$?
is "$st" 3 "nor give its feedback"
out=$(as qf_fe_out findings assign "$f1" --to qf_fe_out --note "mine now"); st=$?
is "$st" 3 "nor assign it to themselves"
is "$(events) $(state "$f1")" "$n open" "nothing was written"

# the owner signs; another auditor of the department may not
out=$(as qf_fe_sup findings ack "$f1"); st=$?
is "$st" 4 "an auditor who is not the owner cannot sign for it (exit 4)"
like "$out" "belongs to qf_fe_owner" "and is told whose it is"
out=$(as qf_fe_owner findings close "$f1"); st=$?
is "$st" 5 "closing an unsigned finding is the wrong stage (exit 5)"
is "$(as qf_fe_owner findings ack "$f1" --note "已签收")" "finding $f1 acknowledged" "the owner signs for it"
out=$(as qf_fe_owner findings ack "$f1"); st=$?
is "$st" 5 "signing twice is the wrong stage (exit 5)"

# feedback: bad fields are refused, nothing written
n=$(events)
out=$(as qf_fe_owner findings feedback "$f1" --outcome maybe --disposition talk --note x); st=$?
is "$st" 65 "an unknown outcome is refused (exit 65)"
like "$out" "unknown outcome \"maybe\"" "saying which"
out=$(as qf_fe_owner findings feedback "$f1" --outcome partly --disposition lecture --note x); st=$?
is "$st" 65 "an unknown disposition is refused"
out=$(as qf_fe_owner findings feedback "$f1" --outcome partly --disposition talk); st=$?
is "$st" 65 "feedback without a note is refused"
out=$(as qf_fe_owner findings feedback "$f1" --outcome); st=$?
is "$st" 64 "a missing option value is a usage error (64)"
is "$(events) $(state "$f1")" "$n acknowledged" "nothing was written"
is "$(as qf_fe_owner findings feedback "$f1" --outcome partly --disposition talk --note "核实：部分属实")" \
   "finding $f1 reported (outcome partly, disposition talk)" "the owner gives the feedback"

# what each may do now, as the console offers it
acts() { psql -X -q -At -U "$1" -d "$DB" -c "SELECT array_to_string(qf.disposal_actions($2), ',')"; }
is "$(acts qf_fe_owner "$f1")|$(acts qf_fe_sup "$f1")|$(acts qf_fe_out "$f1")|$(acts qf_fe_admin "$f1")" \
   "reopen,assign|close,reopen||close,reopen,assign" "qf.disposal_actions: the owner may not close (four eyes), another may, the other department nothing"

# four eyes
out=$(as qf_fe_owner findings close "$f1" --note "done"); st=$?
is "$st" 4 "four eyes: the role that gave the feedback cannot close it (exit 4)"
like "$out" "four eyes: qf_fe_owner gave the feedback" "and is told why"
is "$(state "$f1")" reported "the finding is still reported"
is "$(as qf_fe_sup findings close "$f1" --note "同意办结")" "finding $f1 resolved" "another role closes it: resolved (partly substantiated)"
out=$(as qf_fe_sup findings close "$f1"); st=$?
is "$st" 5 "closing a closed finding is the wrong stage (exit 5)"
like "$out" "already closed" "saying so"
is "$(sql "$DB" "SELECT string_agg(action || ':' || actor, ' ' ORDER BY seq) FROM qf.finding_event
                 WHERE finding_id = $f1 AND action <> 'created'")" \
   "acknowledged:qf_fe_owner reported:qf_fe_owner resolved:qf_fe_sup" "each step is a chain event naming its actor"
like "$(sql "$DB" "SELECT note FROM qf.finding_event WHERE finding_id = $f1 AND action = 'reported'")" \
     "^outcome partly, disposition talk: 核实：部分属实$" "the feedback's outcome and disposition are in the chain"
is "$(sql "$DB" "SELECT outcome || ' ' || disposition || ' ' || feedback_by || ' ' || closed_by FROM qf.finding WHERE id = $f1")" \
   "partly talk qf_fe_owner qf_fe_sup" "and on the finding"

show=$(as qf_fe_sup findings show "$f1")
like "$show" "责任人 owner +qf_fe_owner" "findings show: the owner"
like "$show" "结论/处置 outcome +partly / talk" "the outcome and disposition"
like "$show" "办结 closed +[0-9-]+ [0-9:]+ qf_fe_sup" "and who closed it, when"

# the one-step resolve is a feedback and a close by one role: four eyes refuse it
as qf_fe_owner findings ack "$f2" >/dev/null
out=$(as qf_fe_owner findings resolve "$f2" --note "已整改"); st=$?
ok "$([ $st -ne 0 ] && echo 0 || echo 1)" "findings resolve in one step is refused under four eyes"
like "$out" "four eyes" "saying why"

# reopen and assign
# reopening gives a fresh close deadline from the calendar; a person's
# session cannot forge the calendar the database keeps for the engine
forged=$(psql -X -q -At -U qf_fe_sup -d "$DB" -v ON_ERROR_STOP=1 -c "BEGIN;
  SELECT count(set_config('qingfeng.workday_' || n, concat(now(), '|', d, '|', '2999-01-01'), false))
    FROM generate_series(1, 40) n,
         (SELECT (qf.clock_now() AT TIME ZONE (SELECT value FROM qf.setting WHERE name = 'timezone'))::date AS d) x;
  SELECT (qf.finding_reopen($f1, '复查 rechecking')).action;
  COMMIT;" 2>&1 | tail -1)
is "$forged" reopened "a closed finding is reopened"
is "$(sql "$DB" "SELECT close_due < '2100-01-01' FROM qf.finding WHERE id = $f1")" t \
   "with a close deadline from the calendar, not from settings the person's session forged"
is "$(state "$f1")" acknowledged "back to acknowledged"
out=$(as qf_fe_sup findings assign "$f1" --to qf_fe_sup --note "take it"); st=$?
is "$st" 4 "an auditor who neither owns it nor is an admin cannot assign it"
out=$(as qf_fe_admin findings assign "$f1" --to qf_no_such_role --note "x"); st=$?
is "$st" 65 "assigning to a role that does not exist is refused (65)"
is "$(as qf_fe_admin findings assign "$f1" --to qf_fe_sup --note "转办 to the supervisor")" "finding $f1 assigned to qf_fe_sup" \
   "an admin assigns it"
is "$(sql "$DB" "SELECT owner FROM qf.finding WHERE id = $f1") $(sql "$DB" "SELECT actor || ' ' || note FROM qf.finding_event WHERE action = 'assigned'")" \
   "qf_fe_sup qf_fe_admin from qf_fe_owner to qf_fe_sup: 转办 to the supervisor" "the new owner, and the event naming the admin"
is "$(as qf_fe_out findings list --format json)" "[]" "the other department still sees nothing"
like "$(as qf_fe_sup findings list --owner qf_fe_sup)" "qf_fe_sup" "findings list --owner shows the owner column"

# four eyes off (disposal.four_eyes = false, synced by the engine)
sed -i 's/disposal = { /disposal = { four_eyes = false; /' "$T_DIR/q.conf"
run_once "$T_DIR/q.conf"
is "$(sql "$DB" "SELECT value FROM qf.setting WHERE name = 'disposal.four_eyes'")" false "the engine synced four_eyes = false"
is "$(as qf_fe_owner findings resolve "$f2" --note "已整改")" "finding $f2 resolved" "then one role may resolve in one step"
is "$(sql "$DB" "SELECT string_agg(action || ':' || actor, ' ' ORDER BY seq) FROM qf.finding_event WHERE finding_id = $f2 AND action <> 'created'")" \
   "acknowledged:qf_fe_owner reported:qf_fe_owner resolved:qf_fe_owner" "as a feedback and a close"

is "$(as qf_fe_sup audit verify | sed 's/:.*//')" "history chain intact" "qfctl audit verify passes after the whole loop"
done_testing
