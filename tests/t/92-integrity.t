#!/bin/bash
# What no role may write (issue 19), tried as the roles themselves:
# - the outbox: an admin cannot change an alert's payload, receiver or
#   state, nor can the engine change what an alert says; re-queues go
#   through qf.alert_retry(), which writes a history event;
# - history: the engine cannot choose an event's actor or time (neither can
#   a definer function: the trigger sets them), and a finding changes only
#   in a transaction that writes its event, of the right kind;
# - scopes: a dropped role's row breaks no other auditor and is not
#   inherited by a new role of the same name; every scope change is an
#   event; silences name who added them;
# - an upgrade from schema 16 keeps the chain valid.
. "$(dirname "$0")/../lib.sh"

as() { local who=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -U "$who" -d "$DB" -c "$*" 2>&1; }
# as_tx WHO SQL...: statements in one session and one transaction (psql -1)
as_tx() { local who=$1; shift; printf '%s\n' "$@" | psql -X -q -At -1 -v ON_ERROR_STOP=1 -U "$who" -d "$DB" 2>&1; }

sql postgres "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_i_engine') THEN CREATE ROLE qf_i_engine LOGIN IN ROLE qf_engine; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_i_admin') THEN CREATE ROLE qf_i_admin LOGIN IN ROLE qf_admin; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_i_lab') THEN CREATE ROLE qf_i_lab LOGIN IN ROLE qf_auditor; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_i_other') THEN CREATE ROLE qf_i_other LOGIN IN ROLE qf_auditor; END IF;
END \$\$" >/dev/null

# finding KEY DEPT: a finding with its event and one pending alert, as the engine writes them
NEWF="INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, department, evidence, evidence_hash)
      VALUES ('F09', :'k', 'v', 't', 'yellow', 'financial', 'non-technical', 'primary', :'d', '{\"a\": 1}', md5('{\"a\": 1}'));
      INSERT INTO qf.finding_event (finding_id, action, level) SELECT id, 'created', level FROM qf.finding WHERE dedupe_key = :'k';
      INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload)
      SELECT e.id, e.finding_id, 'office', 'finding.new', '{\"finding\": {\"title\": \"真的\"}}'
        FROM qf.finding_event e JOIN qf.finding f ON f.id = e.finding_id WHERE f.dedupe_key = :'k';"
finding() { printf '%s\n' "$NEWF" | psql -X -q -At -1 -v ON_ERROR_STOP=1 -U qf_i_engine -d "$DB" -v k="$1" -v d="$2" 2>&1; }

new_db integ
is "$(finding k1 化学室)" "" "the engine writes a finding, its event and its alert in one transaction"
finding k2 机械室 >/dev/null
f1=$(sql "$DB" "SELECT id FROM qf.finding WHERE dedupe_key = 'k1'")
a1=$(sql "$DB" "SELECT id FROM qf.alert WHERE finding_id = $f1")

# --- the outbox ---
like "$(as qf_i_admin "UPDATE qf.alert SET payload = '{\"finding\": {\"title\": \"伪造 forged\"}}' WHERE id = $a1")" \
     "permission denied" "an admin cannot change an alert's payload"
like "$(as qf_i_admin "UPDATE qf.alert SET state = 'delivered', delivered_at = now() WHERE id = $a1")" \
     "permission denied" "nor mark a never-sent alert delivered"
like "$(as qf_i_admin "UPDATE qf.alert SET receiver = 'elsewhere' WHERE id = $a1")" "permission denied" "nor send it elsewhere"
like "$(as qf_i_engine "UPDATE qf.alert SET payload = '{}' WHERE id = $a1")" "permission denied" "the engine cannot change a payload"
like "$(as qf_i_engine "UPDATE qf.alert SET event = 'finding.resolved' WHERE id = $a1")" "permission denied" "nor an alert's event"
is "$(as qf_i_engine "UPDATE qf.alert SET claimed_by = 'me', claimed_until = now(), attempts = attempts + 1,
                          last_attempt_at = now() WHERE id = $a1 RETURNING attempts")" 1 "the engine still claims (delivery columns)"
is "$(as qf_i_engine "UPDATE qf.alert SET state = 'dead', last_status = 400, last_error = 'x', claimed_by = NULL,
                          claimed_until = NULL, next_attempt_at = now() WHERE id = $a1 RETURNING state")" dead "and records an outcome"
is "$(sql "$DB" "SELECT payload->'finding'->>'title' FROM qf.alert WHERE id = $a1")" "真的" "the payload is what the engine wrote"
is "$(as qf_i_admin "SELECT qf.alert_retry($a1)")" 1 "an admin re-queues a dead alert through qf.alert_retry"
is "$(sql "$DB" "SELECT state || ' ' || attempts || ' ' || (requeued_at IS NOT NULL) FROM qf.alert WHERE id = $a1")" "pending 0 true" \
   "with a fresh budget"
is "$(sql "$DB" "SELECT actor || ' ' || action || ' ' || note FROM qf.finding_event WHERE finding_id = $f1 ORDER BY seq DESC LIMIT 1")" \
   "qf_i_admin alert_requeued alert $a1 (finding.new to office) re-queued; it was dead" "and the history names who sent it again"
like "$(as qf_i_lab "SELECT qf.alert_retry($a1)")" "permission denied" "an auditor cannot re-queue alerts"

# --- history: actor and time are the database's ---
like "$(as qf_i_engine "INSERT INTO qf.finding_event (finding_id, action, actor) VALUES ($f1, 'reminded', 'qf_i_lab')")" \
     "permission denied" "the engine cannot set an event's actor"
like "$(as qf_i_engine "INSERT INTO qf.finding_event (finding_id, action, at) VALUES ($f1, 'reminded', '2020-01-01')")" \
     "permission denied" "nor its time"
like "$(as qf_i_engine "INSERT INTO qf.finding_event (id, finding_id, action) VALUES (999999, $f1, 'reminded')")" \
     "permission denied" "nor its id"
# the owner is not held by grants; the trigger still decides actor and time
sql "$DB" "INSERT INTO qf.finding_event (finding_id, action, actor, at) VALUES ($f1, 'reminded', 'qf_i_lab', '2020-01-01')"
is "$(sql "$DB" "SELECT actor || ' ' || (at = now() OR at > now() - interval '1 minute') FROM qf.finding_event ORDER BY seq DESC LIMIT 1")" \
   "postgres true" "an event written with another actor and an old time names the session user and the present"

# --- a finding changes only with its event ---
like "$(as qf_i_engine "UPDATE qf.finding SET status = 'dismissed' WHERE id = $f1")" "finding $f1: a change of status without its history event" \
     "the engine cannot dismiss a finding without an event"
like "$(as_tx qf_i_engine "UPDATE qf.finding SET status = 'dismissed' WHERE id = $f1;" \
              "INSERT INTO qf.finding_event (finding_id, action) VALUES ($f1, 'reminded');")" \
     "a change of status without its history event" "nor with an event of another kind"
like "$(as qf_i_engine "UPDATE qf.finding SET escalated_at = now() + interval '10 years' WHERE id = $f1")" \
     "a change without its history event" "nor put off its escalation silently"
like "$(as qf_i_engine "UPDATE qf.finding SET evidence = '{\"a\": 2}' WHERE id = $f1")" "without its history event" \
     "nor change its evidence"
like "$(as_tx qf_i_engine "INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, evidence, evidence_hash)
        VALUES ('F09', 'k9', 'v', 't', 'red', 'financial', 'non-technical', 'primary', '{}', md5('{}'));")" \
     "a new finding without its history event" "nor create a finding without its 'created' event"
is "$(sql "$DB" "SELECT status || ' ' || (escalated_at IS NULL) || ' ' || (evidence->>'a') FROM qf.finding WHERE id = $f1")" "open true 1" \
   "the finding is as it was"
is "$(as_tx qf_i_engine "UPDATE qf.finding SET level = 'orange', escalated_at = now() WHERE id = $f1;" \
                        "INSERT INTO qf.finding_event (finding_id, action, level) VALUES ($f1, 'escalated', 'orange');")" "" \
   "escalation with its event goes through"
is "$(as qf_i_lab "SELECT 1")" 1 "(the lab auditor logs in)"
sql "$DB" "INSERT INTO qf.auditor_scope (role_name, department) VALUES ('qf_i_lab', '化学室')"
is "$(as qf_i_lab "SELECT (qf.set_finding_status($f1, 'acknowledged', '已核实')).actor")" qf_i_lab "a status change by a person goes through"

# --- scopes ---
sql postgres "SET client_min_messages = warning; DROP ROLE IF EXISTS qf_i_leaver; CREATE ROLE qf_i_leaver LOGIN IN ROLE qf_auditor"
is "$(as qf_i_admin "INSERT INTO qf.auditor_scope (role_name, department) VALUES ('qf_i_leaver', '机械室') RETURNING role_name")" qf_i_leaver \
   "an admin grants a leaver a scope"
is "$(as qf_i_leaver "SELECT string_agg(department, ',') FROM qf.finding")" 机械室 "(the leaver sees that lab)"
like "$(as qf_i_admin "INSERT INTO qf.auditor_scope (role_name) VALUES ('qf_i_nobody')")" 'role "qf_i_nobody" does not exist' \
     "a scope for a role that does not exist is refused"
sql postgres "DROP ROLE qf_i_leaver"
is "$(as qf_i_lab "SELECT string_agg(department, ',') FROM qf.finding")" 化学室 \
   "after the leaver's role is dropped, another auditor still reads their findings"
is "$(as qf_i_other "SELECT count(*) FROM qf.finding")" 0 "an auditor without a scope sees nothing, without an error"
sql postgres "CREATE ROLE qf_i_leaver LOGIN IN ROLE qf_auditor"
is "$(as qf_i_leaver "SELECT count(*) FROM qf.finding")" 0 "a new role under the leaver's name does not inherit the scope"
is "$(as qf_i_engine "SELECT qf.auditor_scope_cleanup()")" 1 "the cleanup removes the dropped role's row"
is "$(sql "$DB" "SELECT count(*) FROM qf.auditor_scope WHERE role_name = 'qf_i_leaver'")" 0 "(it is gone)"
sql postgres "DROP ROLE qf_i_leaver"
as qf_i_admin "UPDATE qf.auditor_scope SET supervision = 'technical' WHERE role_name = 'qf_i_lab'" >/dev/null
as qf_i_admin "DELETE FROM qf.auditor_scope WHERE role_name = 'qf_i_lab'" >/dev/null
is "$(as qf_i_admin "SELECT string_agg(actor || ':' || action || ':' || coalesce(note::jsonb #>> '{after,role}', note::jsonb #>> '{before,role}')
                                        || ':' || coalesce(note::jsonb #>> '{before,role_exists}', '-'), ' ' ORDER BY seq)
                       FROM qf.finding_event WHERE finding_id IS NULL")" \
   "postgres:scope_granted:qf_i_lab:- qf_i_admin:scope_granted:qf_i_leaver:- qf_i_engine:scope_revoked:qf_i_leaver:false qf_i_admin:scope_changed:qf_i_lab:true qf_i_admin:scope_revoked:qf_i_lab:true" \
   "every scope change is a history event an admin reads, with who made it"
is "$(as qf_i_lab "SELECT count(*) FROM qf.finding_event WHERE finding_id IS NULL")" 0 "auditors do not read control events"

# --- silences name who added them ---
is "$(as qf_i_admin "INSERT INTO qf.silence (rule_id, until, reason, created_by, created_at)
                     VALUES ('F09', now() + interval '1 day', 'x', 'qf_i_lab', '2020-01-01') RETURNING created_by || ' ' || (created_at > '2026-01-01')")" \
   "qf_i_admin true" "a silence names the admin who added it and when, whatever the statement says"
like "$(as qf_i_admin "UPDATE qf.silence SET created_by = 'qf_i_lab', reason = 'y' RETURNING created_by")" qf_i_admin \
     "and keeps them when it is edited"

is "$(sql "$DB" "SELECT count(*) FROM qf.verify_chain()")" 0 "the chain verifies across findings' and control events"
is "$("$QFCTL" -d "$CONNINFO" audit verify >/dev/null 2>&1; echo $?)" 0 "qfctl audit verify agrees"

# --- qfctl and the daemon go through the functions ---
sql "$DB" "UPDATE qf.alert SET state = 'dead' WHERE id = $a1"
like "$(QF_SQL_DIR= "$QFCTL" -d "host=$PGHOST dbname=$DB user=qf_i_admin" alerts retry "$a1" 2>&1)" "1" \
     "qfctl alerts retry works as an admin"
is "$(sql "$DB" "SELECT actor || ' ' || action FROM qf.finding_event ORDER BY seq DESC LIMIT 1")" "qf_i_admin alert_requeued" \
   "and the re-queue is in the history under the admin's name"
sql postgres "SET client_min_messages = warning; DROP ROLE IF EXISTS qf_i_leaver2; CREATE ROLE qf_i_leaver2 IN ROLE qf_auditor"
sql "$DB" "INSERT INTO qf.auditor_scope (role_name, department) VALUES ('qf_i_leaver2', '机械室')"
sql postgres "DROP ROLE qf_i_leaver2"
CONNINFO="host=$PGHOST dbname=$DB user=qf_i_engine" write_conf "$T_DIR/q.conf" "http://127.0.0.1:9/hook" "$(only_rules F09)"
sed -i 's/once_deadline = [0-9]*/once_deadline = 1/' "$T_DIR/q.conf"
run_once "$T_DIR/q.conf"; is "$?" 0 "qingfengd --once runs as the engine"
is "$(sql "$DB" "SELECT count(*) FROM qf.auditor_scope WHERE role_name = 'qf_i_leaver2'")" 0 \
   "its housekeeping removed the dropped role's scope row"
is "$(sql "$DB" "SELECT actor || ' ' || action || ' ' || (note::jsonb #>> '{before,role}') FROM qf.finding_event
                  WHERE finding_id IS NULL ORDER BY seq DESC LIMIT 1")" "qf_i_engine scope_revoked qf_i_leaver2" \
   "with its revocation event"
like "$(cat "$T_DIR/once.log")" "removed 1 auditor scope row" "and said so in the log"

# --- upgrade from 16 ---
new_db_at up 16
sql postgres "SET client_min_messages = warning; DROP ROLE IF EXISTS qf_i_gone; CREATE ROLE qf_i_gone"
sql "$DB" "INSERT INTO qf.auditor_scope (role_name, department) VALUES ('qf_i_gone', '化学室'), ('qf_i_lab', '化学室')"
sql postgres "DROP ROLE qf_i_gone"
printf '%s\n' "$NEWF" | psql -X -q -At -1 -v ON_ERROR_STOP=1 -d "$DB" -v k=u1 -v d=化学室 >/dev/null
like "$(as qf_i_lab "SELECT count(*) FROM qf.finding" )" "role .*does not exist" "schema 16: a dropped role's scope row breaks every auditor"
head16=$(sql "$DB" "SELECT seq || ' ' || hash FROM qf.chain_head")
"$QFCTL" -d "$CONNINFO" migrate >/dev/null
is "$(sql "$DB" "SELECT count(*) FROM qf.verify_chain()")" 0 "after the upgrade the old chain verifies"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding_event WHERE seq <= ${head16%% *} AND hash = '${head16#* }' AND seq = ${head16%% *}")" 1 \
   "and the old head is still in it"
is "$(sql "$DB" "SELECT action || ' ' || (note::jsonb #>> '{before,role}') FROM qf.finding_event WHERE finding_id IS NULL")" \
   "scope_revoked qf_i_gone" "the dropped role's row was removed, with its event"
is "$(as qf_i_lab "SELECT count(*) FROM qf.finding")" 1 "and auditors read again"

done_testing
