#!/bin/bash
# Access control as real roles: auditors see only their scope (a lab
# secretary their department, not its disciplinary findings; discipline
# staff the disciplinary ones), cannot UPDATE findings or touch history,
# change status only through qf.set_finding_status (history names them);
# the engine role runs the daemon but cannot delete findings or history;
# an ETL role loads records with no rights in qf.
. "$(dirname "$0")/../lib.sh"

new_db roles
as() { local who=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -U "$who" -d "$DB" -c "$*" 2>&1; }
sql "$DB" "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_t_engine') THEN CREATE ROLE qf_t_engine LOGIN IN ROLE qf_engine; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_t_lab') THEN CREATE ROLE qf_t_lab LOGIN IN ROLE qf_auditor; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_t_disc') THEN CREATE ROLE qf_t_disc LOGIN IN ROLE qf_auditor; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_t_admin') THEN CREATE ROLE qf_t_admin LOGIN IN ROLE qf_admin; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_t_etl') THEN CREATE ROLE qf_t_etl LOGIN; END IF;
END \$\$;
GRANT USAGE ON SCHEMA records TO qf_t_etl; GRANT INSERT ON ALL TABLES IN SCHEMA records TO qf_t_etl;
INSERT INTO qf.auditor_scope (role_name, department) VALUES ('qf_t_lab', '化学室');
INSERT INTO qf.auditor_scope (role_name, supervision) VALUES ('qf_t_disc', 'disciplinary');"

# records loaded by an ETL role that has no rights in qf (capture still works)
out=$(as qf_t_etl "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by) VALUES
   ('P-化', '化学室', 100, 'a', 'a', 'x'), ('P-机', '机械室', 100, 'b', 'b', 'x');
 INSERT INTO records.reception (reception_id, host_department, guests, accompanying, has_official_letter, held_at) VALUES
   ('R-化', '化学室', 2, 5, true, now())")
is "$out" "" "an ETL role with no rights in qf loads records; the capture trigger still logs them"
is "$(sql "$DB" "SELECT count(*) FROM qf.change_log")" 2 "(two statements captured)"

# the daemon as the engine role
CONNINFO="host=$PGHOST dbname=$DB user=qf_t_engine" write_conf "$T_DIR/q.conf" "http://127.0.0.1:9/hook" "$(only_rules F09 D05)"
sed -i 's/once_deadline = [0-9]*/once_deadline = 1/' "$T_DIR/q.conf"
run_once "$T_DIR/q.conf"; is "$?" 0 "qingfengd runs as a member of qf_engine"
is "$(sql "$DB" "SELECT string_agg(rule_id || ':' || department, ',' ORDER BY rule_id, department) FROM qf.finding")" "D05:化学室,F09:化学室,F09:机械室" "and records its findings"
like "$(as qf_t_engine "DELETE FROM qf.finding")" "permission denied" "the engine cannot delete findings"
like "$(as qf_t_engine "UPDATE qf.finding_event SET note = 'x'")" "permission denied" "nor change history"
like "$(as qf_t_engine "DELETE FROM qf.finding_event")" "permission denied" "nor delete it"

# a lab's branch secretary
is "$(as qf_t_lab "SELECT string_agg(rule_id || ':' || department, ',' ORDER BY id) FROM qf.finding")" "F09:化学室" \
   "the lab secretary sees their department's findings, not its disciplinary ones, not other labs'"
is "$(as qf_t_lab "SELECT count(*) FROM qf.finding_event")" 1 "and only those findings' history"
like "$(as qf_t_lab "UPDATE qf.finding SET status = 'resolved'")" "permission denied" "an auditor cannot UPDATE findings"
like "$(as qf_t_lab "UPDATE qf.finding_event SET note = 'x'")" "permission denied" "nor history"
like "$(as qf_t_lab "DELETE FROM qf.finding_event")" "permission denied" "nor delete it"
mine=$(sql "$DB" "SELECT id FROM qf.finding WHERE department = '化学室' AND rule_id = 'F09'")
other=$(sql "$DB" "SELECT id FROM qf.finding WHERE department = '机械室'")
is "$(as qf_t_lab "SELECT (qf.set_finding_status($mine, 'acknowledged', '已核实 checked')).action")" acknowledged "acknowledges through the function"
is "$(sql "$DB" "SELECT status FROM qf.finding WHERE id = $mine")" acknowledged "the status changed"
is "$(sql "$DB" "SELECT actor FROM qf.finding_event WHERE finding_id = $mine AND action = 'acknowledged'")" qf_t_lab "and the history names the auditor"
like "$(as qf_t_lab "SELECT qf.set_finding_status($other, 'resolved', 'x')")" "no finding $other" "but not a finding outside the scope"
# resolve is a feedback and a close in one step (sql/021): four eyes, on
# by default, refuse it to one role; with them off it works
like "$(QF_SQL_DIR= "$QFCTL" -d "host=$PGHOST dbname=$DB user=qf_t_lab" findings resolve "$mine" --note "已整改" 2>&1)" "four eyes" \
   "qfctl findings resolve by the auditor alone is refused under four eyes"
sql "$DB" "UPDATE qf.setting SET value = 'false' WHERE name = 'disposal.four_eyes'"
like "$(QF_SQL_DIR= "$QFCTL" -d "host=$PGHOST dbname=$DB user=qf_t_lab" findings resolve "$mine" --note "已整改" 2>&1)" "finding $mine resolved" \
   "qfctl findings resolve works as the auditor (four eyes off)"

# discipline staff
is "$(as qf_t_disc "SELECT string_agg(rule_id || ':' || department, ',' ORDER BY id) FROM qf.finding")" "D05:化学室" "discipline staff see the disciplinary findings"
# an admin
is "$(as qf_t_admin "SELECT count(*) FROM qf.finding")" 3 "an admin sees everything"

# the chain's triggers run as the owner: no role may attach them to a table
# of its own (the head trigger would then move the head anywhere), and the
# engine cannot move the head by hand
head=$(sql "$DB" "SELECT seq || ' ' || hash FROM qf.chain_head")
forge="CREATE TEMP TABLE t (seq bigint, hash text);
  CREATE TRIGGER x AFTER INSERT ON t REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION qf.finding_event_head();
  INSERT INTO t VALUES (1000000000000, 'forged')"
like "$(as qf_t_lab "$forge")" "permission denied for function (qf\.)?finding_event_head" "an auditor cannot attach the head trigger to a table of their own"
like "$(as qf_t_engine "$forge")" "permission denied for function (qf\.)?finding_event_head" "nor can the engine"
like "$(as qf_t_engine "CREATE TEMP TABLE t (LIKE qf.finding_event); CREATE TRIGGER x BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION qf.finding_event_chain()")" \
     "permission denied for function (qf\.)?finding_event_chain" "nor the event trigger"
like "$(as qf_t_engine "UPDATE qf.chain_head SET seq = 1000000000000")" "permission denied" "the engine cannot update the head"
is "$(sql "$DB" "SELECT seq || ' ' || hash FROM qf.chain_head")" "$head" "the head is where it was"

# the views follow the reader's scope
is "$(as qf_t_lab "SELECT count(*) FROM qf.v_findings")" 1 "v_findings applies the reader's scope"
is "$(as qf_t_admin "SELECT sum(findings) FROM qf.v_423_matrix")" 3 "v_423_matrix counts what the reader may see"
is "$(as qf_t_admin "SELECT count(*) FROM qf.v_findings_open")" "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE status IN ('open', 'acknowledged')")" "v_findings_open"
is "$(as qf_t_admin "SELECT string_agg(supervision || '/' || risk || '/' || duty || '/' || level || '=' || findings, ',' ORDER BY 1) FROM qf.v_423_matrix")" \
   "$(sql "$DB" "SELECT string_agg(s, ',' ORDER BY s) FROM (SELECT supervision || '/' || risk || '/' || duty || '/' || level || '=' || count(*) AS s FROM qf.finding GROUP BY supervision, risk, duty, level) x")" \
   "v_423_matrix equals the counts computed directly"
# so does qfctl report: the lab's secretary reports on their department only
rep=$(QF_SQL_DIR= "$QFCTL" -d "host=$PGHOST dbname=$DB user=qf_t_lab" report --from 2000-01-01 --to 2100-01-01 --format csv 2>&1)
is "$(printf '%s\n' "$rep" | awk -F, '/^"423/ {s += $6} END {print s + 0}')" 1 "qfctl report as an auditor counts only their scope"
like "$rep" '"历史链头 history chain head",[0-9]+,' "and quotes the chain head"
# the chain spans every finding, most of them hidden from this auditor: it
# still verifies for them, and a tampered event is still reported to them
aud() { QF_SQL_DIR= "$QFCTL" -d "host=$PGHOST dbname=$DB user=qf_t_lab" "$@" 2>&1; }
out=$(aud audit verify); st=$?
is "$st" 0 "audit verify as a scoped auditor: the intact chain verifies ($out)"
like "$(aud audit head)" "$(sql "$DB" "SELECT hash FROM qf.chain_head")" "audit head as an auditor"
hidden=$(sql "$DB" "SELECT min(e.seq) FROM qf.finding_event e JOIN qf.finding f ON f.id = e.finding_id WHERE f.department IS DISTINCT FROM '化学室'")
sql "$DB" "UPDATE qf.finding_event SET note = 'rewritten' WHERE seq = $hidden"
out=$(aud audit verify); st=$?
is "$st" 1 "a change to an event outside their scope: exit 1"
like "$out" "$hidden" "naming the event by its number ($out)"
unlike "$out" "rewritten" "without showing its content"
done_testing
