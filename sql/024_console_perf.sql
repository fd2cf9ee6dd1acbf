-- The console at a million findings (issue 23, acceptance 6; figures in
-- bench/RESULTS.md, "The console's pages at a million findings").
--
-- 1. Row-level security that reads the caller's scope once per statement
--    and matches rows inline. qf.visible() is SECURITY DEFINER, so
--    PostgreSQL cannot inline it and called it once per row read (~10 µs:
--    half a second for a month's measures at 1,000,000 findings). The
--    meaning is qf.visible()'s, which the step functions keep using;
--    tests/t/59-console-scope.t compares the two row by row.
-- 2. Indexes for the console's list filters: each reads its findings
--    newest first along (filter, id), so a page stops after its rows.

-- ---- the caller's scope, once per statement ----

-- NULL: the caller sees everything (an admin, the engine). Else the rows
-- of qf.auditor_scope of every role the session user is a member of, as
-- [{"d": department, "s": supervision}] (JSON null: any), [] for none.
-- Keyed by session_user like qf.visible(): SET ROLE changes nothing; by
-- role OID: a role re-created under a dropped role's name gets nothing.
CREATE FUNCTION qf.my_scope() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN pg_catalog.pg_has_role(session_user, 'qf_admin', 'member')
                  OR pg_catalog.pg_has_role(session_user, 'qf_engine', 'member') THEN NULL
                ELSE coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('d', s.department,
                                                                                         's', s.supervision))
                                 FROM qf.auditor_scope s
                                WHERE pg_catalog.pg_has_role(session_user, s.role_oid, 'member')),
                              '[]'::pg_catalog.jsonb) END
$$;
REVOKE ALL ON FUNCTION qf.my_scope() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION qf.my_scope() TO qf_auditor, qf_admin, qf_engine;
COMMENT ON FUNCTION qf.my_scope() IS '查阅范围 the caller''s scope as [{"d": department, "s": supervision}] (null: any), or NULL when the caller sees everything (qf_admin, qf_engine); what the row-level security of qf.finding reads once per statement';

-- The policy's expression is bound to these objects when it is created:
-- a name a role shadows later (pg_temp) is not looked up again.
-- qf.visible()'s rule, written out: a function holding a subquery would
-- not be inlined, and would be called per row again.
ALTER POLICY finding_read ON qf.finding USING (
    (SELECT qf.my_scope()) IS NULL
    OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements((SELECT qf.my_scope())) e(x)
                WHERE (x OPERATOR(pg_catalog.->>) 'd' IS NULL
                       OR x OPERATOR(pg_catalog.->>) 'd' OPERATOR(pg_catalog.=) department)
                  AND (x OPERATOR(pg_catalog.->>) 's' IS NULL
                       OR x OPERATOR(pg_catalog.->>) 's' OPERATOR(pg_catalog.=) supervision)
                  AND (supervision OPERATOR(pg_catalog.<>) 'disciplinary'
                       OR x OPERATOR(pg_catalog.->>) 's' OPERATOR(pg_catalog.=) 'disciplinary')));

-- ---- the list's indexes ----
-- A list filter reads its findings newest first along (filter, id): a page
-- stops after its 51 rows instead of sorting every match.
CREATE INDEX finding_status_id ON qf.finding (status, id);
CREATE INDEX finding_rule_id ON qf.finding (rule_id, id);
-- (owner, id) answers what (owner) did
CREATE INDEX finding_owner_id ON qf.finding (owner, id);
DROP INDEX IF EXISTS qf.finding_owner;
-- the findings not closed, newest first: the light filter (a light is
-- only ever that of a finding not closed)
CREATE INDEX finding_unclosed_id ON qf.finding (id) WHERE status IN ('open', 'acknowledged', 'reported');
