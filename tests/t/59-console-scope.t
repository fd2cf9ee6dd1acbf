#!/bin/bash
# The row-level security of qf.finding as sql/024 writes it (the caller's
# scope read once per statement by qf.my_scope(), matched inline) shows,
# to each real role, exactly the findings qf.visible() allows it, for every
# shape of scope: none, department only, supervision only, both, several
# rows, through a group role, disciplinary findings that need a
# disciplinary scope, a dropped role re-created under the same name, an
# admin, the engine. Compared row by row on 720 findings, on qf.finding
# and through qf.v_findings; then a role tries to make qf.my_scope() say
# more than its scope (temp-schema shadowing, search_path, SET ROLE,
# SET SESSION AUTHORIZATION, writing the scope table).
. "$(dirname "$0")/../lib.sh"

as() { local who=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -U "$who" -d "$DB" -c "$*" 2>&1; }

new_db scope
ok $? "a migrated database"
is "$(sql "$DB" "SELECT pg_get_expr(polqual, polrelid) LIKE '%my_scope()%' AND pg_get_expr(polqual, polrelid) NOT LIKE '%visible(%'
                   FROM pg_policy WHERE polname = 'finding_read'")" t \
   "the policy finding_read reads qf.my_scope(), not qf.visible() per row"

R="t59_none t59_dept t59_sup t59_both t59_many t59_disc t59_member t59_gone t59_admin t59_engine"
sql postgres "DO \$\$ BEGIN
  BEGIN CREATE ROLE t59_grp NOLOGIN IN ROLE qf_auditor; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59_none LOGIN IN ROLE qf_auditor; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59_dept LOGIN IN ROLE qf_auditor; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59_sup LOGIN IN ROLE qf_auditor; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59_both LOGIN IN ROLE qf_auditor; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59_many LOGIN IN ROLE qf_auditor; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59_disc LOGIN IN ROLE qf_auditor; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59_member LOGIN IN ROLE qf_auditor, t59_grp; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59_admin LOGIN IN ROLE qf_admin; EXCEPTION WHEN duplicate_object THEN NULL; END;
  BEGIN CREATE ROLE t59_engine LOGIN IN ROLE qf_engine; EXCEPTION WHEN duplicate_object THEN NULL; END;
  SET LOCAL client_min_messages = warning; DROP ROLE IF EXISTS t59_gone;
  CREATE ROLE t59_gone LOGIN IN ROLE qf_auditor;
END \$\$" >/dev/null

# 720 findings: 4 departments (one NULL) x 3 supervisions x 60
sql "$DB" "INSERT INTO qf.finding (rule_id, dedupe_key, rule_version, title, level, supervision, risk, duty, department,
                                   evidence, evidence_hash)
  SELECT 'F0' || (g % 9 + 1), 'k' || g, 'v', 't', (ARRAY['red', 'orange', 'yellow'])[1 + g % 3],
         (ARRAY['technical', 'financial', 'disciplinary'])[1 + g % 3],
         'technical', 'primary', (ARRAY['甲室', '乙室', 'Lab C', NULL])[1 + (g / 3) % 4], '{}', md5(g::text)
    FROM generate_series(1, 720) g"
# the scopes
sql "$DB" "INSERT INTO qf.auditor_scope (role_name, department, supervision) VALUES
  ('t59_dept', '甲室', NULL),
  ('t59_sup', NULL, 'financial'),
  ('t59_both', '乙室', 'technical'),
  ('t59_many', '甲室', NULL), ('t59_many', 'Lab C', 'financial'), ('t59_many', NULL, 'disciplinary'),
  ('t59_disc', '乙室', 'disciplinary'),
  ('t59_grp', 'Lab C', NULL),
  ('t59_gone', NULL, NULL)" >/dev/null
# a leaver: dropped, and a new person given the same name; the old row
# names the old role's OID and must give the new one nothing
sql postgres "DROP ROLE t59_gone; CREATE ROLE t59_gone LOGIN IN ROLE qf_auditor" >/dev/null
is "$(sql "$DB" "SELECT count(*) FROM qf.auditor_scope WHERE role_name = 't59_gone'")" 1 "(the dropped role's scope row is still there)"

# expected WHO: the ids whose (department, supervision) qf.visible() allows
# when WHO asks it, the combinations judged in WHO's own session
expected() {
  local allowed
  allowed=$(as "$1" "SELECT coalesce(string_agg(format('(%L, %L)', d, s), ', '), '(''-'', ''-'')')
                       FROM (VALUES ('甲室'), ('乙室'), ('Lab C'), (NULL)) dd(d),
                            (VALUES ('technical'), ('financial'), ('disciplinary')) ss(s)
                      WHERE qf.visible(d, s)")
  sql "$DB" "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM qf.finding f
              WHERE EXISTS (SELECT 1 FROM (VALUES $allowed) a(d, s)
                             WHERE a.d IS NOT DISTINCT FROM f.department AND a.s = f.supervision)"
}
seen() { as "$1" "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM qf.$2"; }
count() { tr ',' '\n' <<<"$1" | grep -c .; }

declare -A want=([t59_none]=0 [t59_dept]=120 [t59_sup]=240 [t59_both]=60 [t59_many]=420 [t59_disc]=60
                 [t59_member]=120 [t59_gone]=0 [t59_admin]=720 [t59_engine]=720)
for who in $R; do
  exp=$(expected "$who")
  got=$(seen "$who" finding)
  is "$(count "$exp")" "${want[$who]}" "$who: qf.visible() allows ${want[$who]} of 720"
  ok "$([ "$got" = "$exp" ]; echo $?)" "$who: qf.finding shows exactly those rows"
  ok "$([ "$(seen "$who" v_findings)" = "$exp" ]; echo $?)" "$who: so does qf.v_findings"
done
is "$(as t59_disc "SELECT DISTINCT supervision FROM qf.finding")" disciplinary \
   "a department's disciplinary findings need a disciplinary scope (t59_disc sees only those)"
is "$(as t59_dept "SELECT string_agg(DISTINCT supervision, ',' ORDER BY supervision) FROM qf.finding")" financial,technical \
   "a department-only scope does not show that department's disciplinary findings"
is "$(as t59_none "SELECT qf.my_scope()")" "[]" "no scope row: my_scope() is [] (nothing)"
is "$(as t59_admin "SELECT qf.my_scope() IS NULL")" t "an admin: my_scope() is NULL (everything)"
is "$(as t59_gone "SELECT qf.my_scope()")" "[]" "a role re-created under a dropped role's name: [] (nothing)"

# the history follows the findings (event_read reads qf.finding under the same policy)
sql "$DB" "INSERT INTO qf.finding_event (finding_id, action, level) SELECT id, 'created', level FROM qf.finding ORDER BY id" >/dev/null
ok "$([ "$(as t59_many "SELECT string_agg(DISTINCT finding_id::text, ',' ORDER BY finding_id::text) FROM qf.finding_event
                       WHERE finding_id IS NOT NULL")" = \
         "$(as t59_many "SELECT string_agg(id::text, ',' ORDER BY id::text) FROM qf.finding")" ]; echo $?)" \
   "t59_many reads the history of exactly the findings it sees"

# --- a role tries to make my_scope() lie ---
base=$(seen t59_dept finding)
evil=$(psql -X -q -At -U t59_dept -d "$DB" 2>&1 <<'SQL'
SET client_min_messages = error;
CREATE TEMP TABLE auditor_scope (id bigint, role_name text, role_oid oid, department text, supervision text);
INSERT INTO auditor_scope VALUES (1, 't59_dept', (SELECT oid FROM pg_roles WHERE rolname = 't59_dept'), NULL, NULL);
CREATE FUNCTION pg_temp.pg_has_role(name, oid, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE FUNCTION pg_temp.pg_has_role(name, text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE FUNCTION pg_temp.jsonb_array_elements(jsonb) RETURNS SETOF jsonb LANGUAGE sql AS $$ SELECT '{"d": null, "s": "disciplinary"}'::jsonb $$;
CREATE FUNCTION pg_temp.my_scope() RETURNS jsonb LANGUAGE sql AS 'SELECT NULL::jsonb';
CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (VALUE IS NULL);
CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (VALUE IS NOT NULL);
SET search_path = pg_temp, qf, public, pg_catalog;
SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM qf.finding;
SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM finding;
SELECT qf.my_scope()::pg_catalog.text;
SQL
)
is "$(sed -n 1p <<<"$evil")" "$base" "temp table auditor_scope, pg_temp functions and domains, search_path pg_temp first: the same rows"
is "$(sed -n 2p <<<"$evil")" "$base" "(and with qf on the search_path, unqualified)"
is "$(sed -n 3p <<<"$evil")" '[{"d": "甲室", "s": null}]' "my_scope() still says only its own scope"
is "$(as t59_member "SET ROLE t59_grp; SELECT count(*) FROM qf.finding")" 120 "SET ROLE to its group: the same (the scope is the session user's)"
like "$(as t59_dept "SET ROLE t59_admin; SELECT count(*) FROM qf.finding")" "permission denied" "SET ROLE to a role it is not a member of: refused"
like "$(as t59_dept "SET SESSION AUTHORIZATION t59_admin")" "permission denied" "SET SESSION AUTHORIZATION: refused"
like "$(as t59_dept "INSERT INTO qf.auditor_scope (role_name) VALUES ('t59_dept')")" "permission denied" \
     "an auditor cannot write its own scope"
like "$(as t59_dept "CREATE POLICY mine ON qf.finding FOR SELECT USING (true)")" "must be owner" \
     "nor add a policy"
like "$(as t59_dept "SET row_security = off; SELECT count(*) FROM qf.finding")" "row-level security" \
     "row_security = off with the policy in the way: an error, not the whole table"

done_testing
