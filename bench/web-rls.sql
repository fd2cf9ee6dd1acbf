-- Proposed for a migration (bench/web.sh applies it with WEB_INDEXES=1):
-- row-level security on qf.finding that costs nothing per row for those
-- who see everything, and little for a scoped auditor.
--
-- qf.visible(department, supervision) is SECURITY DEFINER, so PostgreSQL
-- cannot inline it: the policy calls it once per row read, ~10 µs, which
-- at 1,000,000 findings is most of the dashboard's time (48,000 rows of a
-- month's measures: 0.5 s) and of an auditor's filtered list. The caller's
-- scope is the same for every row of a statement: read it once (an
-- InitPlan, the (SELECT ...)), as JSON, and match each row against it
-- inline. The meaning is qf.visible()'s, which the step functions keep
-- using.
CREATE OR REPLACE FUNCTION qf.my_scope() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN pg_catalog.pg_has_role(session_user, 'qf_admin', 'member')
                  OR pg_catalog.pg_has_role(session_user, 'qf_engine', 'member') THEN NULL
                ELSE coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('d', s.department, 's', s.supervision))
                                 FROM qf.auditor_scope s
                                WHERE pg_catalog.pg_has_role(session_user, s.role_oid, 'member')), '[]'::pg_catalog.jsonb) END
$$;
REVOKE ALL ON FUNCTION qf.my_scope() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION qf.my_scope() TO qf_auditor, qf_admin, qf_engine;
COMMENT ON FUNCTION qf.my_scope() IS '查阅范围 the caller''s scope as [{"d": department, "s": supervision}] (NULL member: any), or NULL when the caller sees everything';

ALTER POLICY finding_read ON qf.finding USING (
    (SELECT qf.my_scope()) IS NULL
    OR EXISTS (SELECT 1 FROM jsonb_array_elements((SELECT qf.my_scope())) e(x)
                WHERE (x ->> 'd' IS NULL OR x ->> 'd' = department)
                  AND (x ->> 's' IS NULL OR x ->> 's' = supervision)
                  AND (supervision <> 'disciplinary' OR x ->> 's' = 'disciplinary')));
