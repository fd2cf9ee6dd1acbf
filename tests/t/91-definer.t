#!/bin/bash
# The temp-schema attack on SECURITY DEFINER functions (issue 19), tried as
# each role the product defines: an auditor without a scope, a scoped
# auditor, an ETL role that may only load records, the engine and an admin.
# Each creates pg_temp.evil() and domains named like the built-in types
# (pg_temp.text, pg_temp.jsonb, ...) whose CHECK calls it, then reaches
# every definer function it can: by calling each one it may execute, and by
# firing the triggers its ordinary work fires. evil() creates a table named
# after the role it runs as; a table named after the owner means the
# attacker ran code with the owner's rights. The same attack is first made
# on a database at schema 16, where it must succeed, so the check is real.
. "$(dirname "$0")/../lib.sh"

as() { local who=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -U "$who" -d "$DB" -c "$*" 2>&1; }

sql postgres "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_d_noscope') THEN CREATE ROLE qf_d_noscope LOGIN IN ROLE qf_auditor; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_d_aud') THEN CREATE ROLE qf_d_aud LOGIN IN ROLE qf_auditor; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_d_etl') THEN CREATE ROLE qf_d_etl LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_d_engine') THEN CREATE ROLE qf_d_engine LOGIN IN ROLE qf_engine; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_d_admin') THEN CREATE ROLE qf_d_admin LOGIN IN ROLE qf_admin; END IF;
END \$\$" >/dev/null
owner=$(sql postgres "SELECT current_user")

# setup DB: the ETL role's rights, a scope, one finding per department
# with its event and an alert, as the engine would leave them
setup() {
  sql "$DB" "GRANT USAGE ON SCHEMA records TO qf_d_etl;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA records TO qf_d_etl;
    GRANT CREATE ON SCHEMA public TO qf_d_noscope, qf_d_aud, qf_d_etl, qf_d_engine, qf_d_admin;
    INSERT INTO qf.auditor_scope (role_name, department) VALUES ('qf_d_aud', '化学室');
    INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, department,
                            evidence, evidence_hash)
    VALUES ('F09', 'k1', 'v', 't', 'yellow', 'financial', 'non-technical', 'primary', '化学室', '{}', md5('{}')),
           ('F09', 'k2', 'v', 't', 'yellow', 'financial', 'non-technical', 'primary', '机械室', '{}', md5('{}'));
    INSERT INTO qf.finding_event (finding_id, action, level) SELECT id, 'created', level FROM qf.finding ORDER BY id;
    INSERT INTO qf.alert (event_id, finding_id, receiver, event, payload, state)
    SELECT e.id, e.finding_id, 'office', 'finding.new', '{}', 'dead' FROM qf.finding_event e
     WHERE e.finding_id IS NOT NULL" >/dev/null
}

# The attack's first half, the same in every session: evil() and the
# domains. A table public.pwned_<session>_<current> is the proof; it can
# only be created by a role with CREATE on public, which the test grants
# to each attacker, so a failure to create it never hides a run as the owner.
PRELUDE="SET client_min_messages = error;
CREATE FUNCTION pg_temp.evil(v pg_catalog.text) RETURNS pg_catalog.bool LANGUAGE plpgsql AS \$e\$
BEGIN
  EXECUTE pg_catalog.format('CREATE TABLE IF NOT EXISTS public.%I ()', 'pwned_' || session_user || '_' || current_user);
  RETURN true;
END \$e\$;
CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (pg_temp.evil(VALUE));
CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (pg_temp.evil(VALUE::pg_catalog.text));
CREATE DOMAIN pg_temp.timestamptz AS pg_catalog.timestamptz CHECK (pg_temp.evil(VALUE::pg_catalog.text));
CREATE DOMAIN pg_temp.int8 AS pg_catalog.int8 CHECK (pg_temp.evil(VALUE::pg_catalog.text));
CREATE DOMAIN pg_temp.int4 AS pg_catalog.int4 CHECK (pg_temp.evil(VALUE::pg_catalog.text));
CREATE DOMAIN pg_temp.bool AS pg_catalog.bool CHECK (pg_temp.evil(VALUE::pg_catalog.text));
CREATE DOMAIN pg_temp.name AS pg_catalog.name CHECK (pg_temp.evil(VALUE::pg_catalog.text));
CREATE DOMAIN pg_temp.oid AS pg_catalog.oid CHECK (pg_temp.evil(VALUE::pg_catalog.text));
CREATE DOMAIN pg_temp.regclass AS pg_catalog.regclass CHECK (pg_temp.evil(VALUE::pg_catalog.text));
CREATE DOMAIN pg_temp.xid8 AS pg_catalog.xid8 CHECK (pg_temp.evil(VALUE::pg_catalog.text));
SET client_min_messages = notice;
"

# calls ROLE: every SECURITY DEFINER function of qf and records that ROLE
# may execute, called with NULL arguments of its exact (qualified) types
calls() {
  sql "$DB" "SELECT string_agg(format('SELECT %s(%s);', p.oid::regproc,
                 coalesce((SELECT string_agg(format('NULL::%I.%I', tn.nspname, t.typname), ', ' ORDER BY a.i)
                             FROM unnest(p.proargtypes) WITH ORDINALITY a(t_oid, i)
                             JOIN pg_type t ON t.oid = a.t_oid JOIN pg_namespace tn ON tn.oid = t.typnamespace), '')),
                 E'\n')
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname IN ('qf', 'records') AND p.prosecdef AND p.prorettype <> 'trigger'::regtype
                AND has_function_privilege('$1', p.oid, 'EXECUTE')"
}

# attack ROLE WORK: the prelude, every callable definer function, then WORK
# (what the role does in its day), in one session, errors not stopping it
attack() {
  local who=$1 work=$2
  { printf '%s\n' "$PRELUDE"; calls "$who"; printf '%s\n' "$work"; } |
    psql -X -q -At -U "$who" -d "$DB" >"$T_DIR/attack-$who.out" 2>&1
}
# pwned: the tables evil() created while running as the owner
pwned() { sql "$DB" "SELECT coalesce(string_agg(tablename, ' ' ORDER BY tablename), '') FROM pg_tables
                      WHERE schemaname = 'public' AND tablename LIKE 'pwned\\_%\\_$owner'"; }

f1() { sql "$DB" "SELECT id FROM qf.finding WHERE dedupe_key = 'k1'"; }
ETL_WORK="INSERT INTO records.payment (payment_id, department, amount) VALUES ('P-x', '化学室', 1);
UPDATE records.payment SET amount = 2 WHERE payment_id = 'P-x';
DELETE FROM records.payment WHERE payment_id = 'P-x';"

# --- the attack is real: at schema 16 it runs code as the owner ---
new_db_at old 16 && setup; ok $? "a database at schema 16 with findings and alerts"
attack qf_d_aud "SELECT qf.set_finding_status($(f1), 'acknowledged', 'x');"
attack qf_d_etl "$ETL_WORK"
like "$(pwned)" "pwned_qf_d_aud_$owner" "schema 16: an auditor runs its own code as the owner through set_finding_status (the attack is real)"
like "$(pwned)" "pwned_qf_d_etl_$owner" "schema 16: so does an ETL role through the capture trigger"
old_bad=$(sql "$DB" "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                      WHERE n.nspname IN ('qf', 'records') AND p.prosecdef
                        AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)")
ok "$([ "$old_bad" -gt 0 ]; echo $?)" "schema 16: the catalog check finds definer functions without pg_temp last ($old_bad)"

# --- now ---
new_db now && setup; ok $? "a database at the current schema with findings and alerts"
a1=$(sql "$DB" "SELECT id FROM qf.alert LIMIT 1")

attack qf_d_noscope "SELECT qf.set_finding_status($(f1), 'acknowledged', 'x'); SELECT count(*) FROM qf.finding;"
is "$(pwned)" "" "an auditor without a scope runs nothing as the owner"
is "$(grep -c 'no finding' "$T_DIR/attack-qf_d_noscope.out")" 1 "(it reached set_finding_status, which refused it)"

attack qf_d_aud "SELECT (qf.set_finding_status($(f1), 'acknowledged', 'x')).action; SELECT * FROM qf.verify_chain();"
is "$(pwned)" "" "a scoped auditor runs nothing as the owner, through a status change that succeeds"
is "$(sql "$DB" "SELECT status FROM qf.finding WHERE dedupe_key = 'k1'")" acknowledged "(the status change went through)"

attack qf_d_etl "$ETL_WORK"
is "$(pwned)" "" "an ETL role runs nothing as the owner through the capture trigger (insert, update, delete)"
is "$(sql "$DB" "SELECT string_agg(op::text, '' ORDER BY id) FROM qf.change_log WHERE tbl = 'payment'")" iud "(the three changes were captured)"

attack qf_d_engine "BEGIN;
INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, evidence, evidence_hash)
  VALUES ('F09', 'k3', 'v', 't', 'yellow', 'financial', 'non-technical', 'primary', '{}', md5('{}'));
INSERT INTO qf.finding_event (finding_id, action, level) SELECT id, 'created', level FROM qf.finding WHERE dedupe_key = 'k3';
COMMIT;
BEGIN;
UPDATE qf.finding SET level = 'orange' WHERE dedupe_key = 'k3';
INSERT INTO qf.finding_event (finding_id, action, level) SELECT id, 'escalated', level FROM qf.finding WHERE dedupe_key = 'k3';
COMMIT;
SELECT qf.auditor_scope_cleanup();"
is "$(pwned)" "" "the engine runs nothing as the owner through the chain, count and history-check triggers"
is "$(sql "$DB" "SELECT level FROM qf.finding WHERE dedupe_key = 'k3'")" orange "(its finding and escalation were written)"

attack qf_d_admin "SELECT qf.alert_retry($a1); SELECT qf.alert_retry(NULL);
INSERT INTO qf.auditor_scope (role_name, supervision) VALUES ('qf_d_noscope', 'technical');
UPDATE qf.auditor_scope SET department = '化学室' WHERE role_name = 'qf_d_noscope';
DELETE FROM qf.auditor_scope WHERE role_name = 'qf_d_noscope';
INSERT INTO qf.silence (rule_id, until, reason) VALUES ('F09', now() + interval '1 day', 'x');"
# the generic calls re-queue both dead alerts (NULL), then the work
# re-queues one of them again: three events
is "$(pwned)" "" "an admin runs nothing as the owner through alert_retry, the scope triggers and silences"
is "$(sql "$DB" "SELECT string_agg(action, ',' ORDER BY seq) FROM qf.finding_event WHERE actor = 'qf_d_admin'")" \
   "alert_requeued,alert_requeued,alert_requeued,scope_granted,scope_changed,scope_revoked,silence_added" "(the admin's work was done and recorded)"
is "$(grep -c 'does not exist\|syntax error' "$T_DIR"/attack-*.out | awk -F: '{s += $2} END {print s}')" 0 \
   "every generated call named a real function and type"

# --- the catalog: every definer function has pg_temp last, none is PUBLIC's ---
defs=$(sql "$DB" "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname IN ('qf', 'records') AND p.prosecdef")
ok "$([ "$defs" -ge 10 ]; echo $?)" "the catalog check sees the definer functions ($defs)"
is "$(sql "$DB" "SELECT coalesce(string_agg(p.oid::regprocedure::text, ' '), '') FROM pg_proc p
                  JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname IN ('qf', 'records') AND p.prosecdef
                   AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)")" "" \
   "every SECURITY DEFINER function sets search_path = pg_catalog, pg_temp"
is "$(sql "$DB" "SELECT coalesce(string_agg(p.oid::regprocedure::text, ' '), '') FROM pg_proc p
                  JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname IN ('qf', 'records') AND p.prosecdef
                   AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) x
                                                     WHERE x.grantee = 0 AND x.privilege_type = 'EXECUTE'))")" "" \
   "and none is executable by PUBLIC"
is "$(sql "$DB" "SELECT count(*) FROM qf.verify_chain()")" 0 "the history chain verifies after all of it"

done_testing
