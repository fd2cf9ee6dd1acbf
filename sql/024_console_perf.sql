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
-- 3. The dashboard: a calendar month's measures (qf.finding_measure) and
--    the findings first seen per day (qf.finding_day), kept exactly by
--    statement triggers on qf.finding; the median and "overdue now" along
--    indexes. tests/t/59-console-measures.t compares them with the
--    findings.

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

-- ---- the measures of a calendar month, kept as findings change ----
-- qf.disposal_measures() read every finding closed, signed or late in the
-- period (at 1,000,000 findings a month holds ~41,000 of each: 0.4 to
-- 2.7 s). The counts of a month are kept per (month, rule, department,
-- supervision) by a statement trigger on qf.finding, exactly: each
-- statement adds what its new rows contribute and takes away what its
-- old rows did. Months are calendar months in Asia/Shanghai (the
-- default `timezone` of the engine and the console): a period that is
-- one such month is answered from here, any other period from the
-- findings as before. The median is read along an index of the month's
-- closed findings ordered by days to close (the middle one or two), and
-- "overdue now" along the partial indexes of the findings not done.

-- The calendar month (in Asia/Shanghai) of an instant. Immutable (the zone
-- is named), so the indexes below can hold it.
CREATE FUNCTION qf.measure_month(t timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_catalog.date_trunc('month', pg_catalog.timezone('Asia/Shanghai', t))::pg_catalog.date
$$;
COMMENT ON FUNCTION qf.measure_month(timestamptz) IS 'the calendar month (in Asia/Shanghai) of an instant, by which qf.finding_measure keeps the measures';

-- Days from first seen to closed, as qf.disposal_measures() computes them.
CREATE FUNCTION qf.days_to_close(p_first_seen timestamptz, p_closed_at timestamptz) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT EXTRACT(epoch FROM p_closed_at OPERATOR(pg_catalog.-) p_first_seen) OPERATOR(pg_catalog./) 86400
$$;
COMMENT ON FUNCTION qf.days_to_close(timestamptz, timestamptz) IS 'days from first seen to closed (the median''s values)';

CREATE TABLE qf.finding_measure (
    month          date NOT NULL,
    rule_id        text NOT NULL,
    department     text,
    supervision    text,
    closed         bigint NOT NULL DEFAULT 0,
    substantiated  bigint NOT NULL DEFAULT 0,
    closed_on_time bigint NOT NULL DEFAULT 0,
    signed         bigint NOT NULL DEFAULT 0,
    signed_on_time bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX finding_measure_key ON qf.finding_measure (month, rule_id, department, supervision) NULLS NOT DISTINCT;
COMMENT ON TABLE qf.finding_measure IS '处置指标(月) the disposal measures per calendar month (Asia/Shanghai), rule, department and supervision, kept exactly by a trigger on qf.finding; qf.disposal_measures() reads it for a period of one such month. Row-level security as qf.finding''s';
COMMENT ON COLUMN qf.finding_measure.month IS '月份 the first day of the month (qf.measure_month)';
COMMENT ON COLUMN qf.finding_measure.rule_id IS '规则 the rule';
COMMENT ON COLUMN qf.finding_measure.department IS '部门 the department (NULL: none)';
COMMENT ON COLUMN qf.finding_measure.supervision IS '监督类别 the supervision';
COMMENT ON COLUMN qf.finding_measure.closed IS '办结 findings whose closed_at falls in the month';
COMMENT ON COLUMN qf.finding_measure.substantiated IS '属实 of those, outcome substantiated or partly';
COMMENT ON COLUMN qf.finding_measure.closed_on_time IS '按时办结 of those, closed_at <= close_due';
COMMENT ON COLUMN qf.finding_measure.signed IS '签收 findings whose acknowledged_at falls in the month';
COMMENT ON COLUMN qf.finding_measure.signed_on_time IS '按时签收 of those, acknowledged_at <= sign_due';

-- No role writes it but the trigger (as the owner); people read their
-- scope's figures only.
REVOKE ALL ON qf.finding_measure FROM PUBLIC;
GRANT SELECT ON qf.finding_measure TO qf_auditor, qf_admin, qf_engine;
ALTER TABLE qf.finding_measure ENABLE ROW LEVEL SECURITY;
CREATE POLICY finding_measure_read ON qf.finding_measure FOR SELECT USING (
    (SELECT qf.my_scope()) IS NULL
    OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements((SELECT qf.my_scope())) e(x)
                WHERE (x OPERATOR(pg_catalog.->>) 'd' IS NULL
                       OR x OPERATOR(pg_catalog.->>) 'd' OPERATOR(pg_catalog.=) department)
                  AND (x OPERATOR(pg_catalog.->>) 's' IS NULL
                       OR x OPERATOR(pg_catalog.->>) 's' OPERATOR(pg_catalog.=) supervision)
                  AND (supervision OPERATOR(pg_catalog.<>) 'disciplinary'
                       OR x OPERATOR(pg_catalog.->>) 's' OPERATOR(pg_catalog.=) 'disciplinary')));

-- The 423 matrix and the daily trend of a period: the findings first seen
-- per day (in Asia/Shanghai), supervision, risk, duty, level and
-- department, and how many of them are closed; kept by the same trigger.
CREATE TABLE qf.finding_day (
    day         date NOT NULL,
    supervision text,
    risk        text,
    duty        text,
    level       text,
    department  text,
    n           bigint NOT NULL DEFAULT 0,
    closed      bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX finding_day_key ON qf.finding_day (day, supervision, risk, duty, level, department) NULLS NOT DISTINCT;
COMMENT ON TABLE qf.finding_day IS '每日风险点 findings first seen per day (Asia/Shanghai), supervision, risk, duty, level and department, kept exactly by a trigger on qf.finding: the console''s 423 matrix and trend. Row-level security as qf.finding''s';
COMMENT ON COLUMN qf.finding_day.day IS '日期 the day first seen (Asia/Shanghai)';
COMMENT ON COLUMN qf.finding_day.supervision IS '监督类别 the supervision';
COMMENT ON COLUMN qf.finding_day.risk IS '风险类别 the risk';
COMMENT ON COLUMN qf.finding_day.duty IS '责任类别 the duty';
COMMENT ON COLUMN qf.finding_day.level IS '等级 the level now';
COMMENT ON COLUMN qf.finding_day.department IS '部门 the department (NULL: none)';
COMMENT ON COLUMN qf.finding_day.n IS '风险点 findings';
COMMENT ON COLUMN qf.finding_day.closed IS '已办结 of those, resolved or dismissed now';
REVOKE ALL ON qf.finding_day FROM PUBLIC;
GRANT SELECT ON qf.finding_day TO qf_auditor, qf_admin, qf_engine;
ALTER TABLE qf.finding_day ENABLE ROW LEVEL SECURITY;
CREATE POLICY finding_day_read ON qf.finding_day FOR SELECT USING (
    (SELECT qf.my_scope()) IS NULL
    OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements((SELECT qf.my_scope())) e(x)
                WHERE (x OPERATOR(pg_catalog.->>) 'd' IS NULL
                       OR x OPERATOR(pg_catalog.->>) 'd' OPERATOR(pg_catalog.=) department)
                  AND (x OPERATOR(pg_catalog.->>) 's' IS NULL
                       OR x OPERATOR(pg_catalog.->>) 's' OPERATOR(pg_catalog.=) supervision)
                  AND (supervision OPERATOR(pg_catalog.<>) 'disciplinary'
                       OR x OPERATOR(pg_catalog.->>) 's' OPERATOR(pg_catalog.=) 'disciplinary')));

-- Each statement on qf.finding adds what its new rows contribute to their
-- months and takes away what its old rows did (an update: both, of the
-- rows whose counted columns changed; rows neither closed nor signed
-- contribute nothing and are skipped first).
-- Groups whose figures do not change are not written: the engine's
-- updates of last_seen lock no row here, and a person's step locks only
-- the rows of its finding's groups until it commits.
CREATE FUNCTION qf.finding_measure_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    src pg_catalog.text;
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'qf.finding'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.finding_measure_apply() is a trigger of qf.finding only';
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM qf.finding_measure;
        DELETE FROM qf.finding_day;
        RETURN NULL;
    END IF;
    -- the transition tables a trigger has depend on its event; an update
    -- counts only the rows whose day, class or closedness changed
    EXECUTE 'WITH r AS (' OPERATOR(pg_catalog.||)
        CASE TG_OP WHEN 'INSERT' THEN 'SELECT n.first_seen, n.supervision, n.risk, n.duty, n.level, n.department, n.status, 1 AS k FROM new_rows n'
                   WHEN 'DELETE' THEN 'SELECT o.first_seen, o.supervision, o.risk, o.duty, o.level, o.department, o.status, -1 AS k FROM old_rows o'
                   ELSE 'SELECT x.* FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
                         LATERAL (VALUES (n.first_seen, n.supervision, n.risk, n.duty, n.level, n.department, n.status, 1),
                                         (o.first_seen, o.supervision, o.risk, o.duty, o.level, o.department, o.status, -1))
                                 x(first_seen, supervision, risk, duty, level, department, status, k)
                         WHERE (n.first_seen, n.supervision, n.risk, n.duty, n.level, n.department,
                                n.status OPERATOR(pg_catalog.=) ANY (ARRAY[''resolved'', ''dismissed'']))
                               IS DISTINCT FROM
                               (o.first_seen, o.supervision, o.risk, o.duty, o.level, o.department,
                                o.status OPERATOR(pg_catalog.=) ANY (ARRAY[''resolved'', ''dismissed'']))' END
        OPERATOR(pg_catalog.||) ')
        INSERT INTO qf.finding_day AS d (day, supervision, risk, duty, level, department, n, closed)
        SELECT pg_catalog.timezone(''Asia/Shanghai'', r.first_seen)::pg_catalog.date, r.supervision, r.risk, r.duty,
               r.level, r.department, pg_catalog.sum(r.k),
               pg_catalog.sum(CASE WHEN r.status OPERATOR(pg_catalog.=) ANY (ARRAY[''resolved'', ''dismissed''])
                                   THEN r.k ELSE 0 END)
          FROM r GROUP BY 1, 2, 3, 4, 5, 6
        HAVING pg_catalog.sum(r.k) OPERATOR(pg_catalog.<>) 0
            OR pg_catalog.sum(CASE WHEN r.status OPERATOR(pg_catalog.=) ANY (ARRAY[''resolved'', ''dismissed''])
                                   THEN r.k ELSE 0 END) OPERATOR(pg_catalog.<>) 0
         ORDER BY 1, 2, 3, 4, 5, 6
            ON CONFLICT (day, supervision, risk, duty, level, department) DO UPDATE
           SET n = d.n OPERATOR(pg_catalog.+) EXCLUDED.n, closed = d.closed OPERATOR(pg_catalog.+) EXCLUDED.closed';
    src := CASE TG_OP WHEN 'INSERT' THEN 'SELECT r.*, 1 AS k FROM new_rows r'
                      WHEN 'DELETE' THEN 'SELECT r.*, -1 AS k FROM old_rows r'
                      ELSE 'SELECT x.* FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
                            LATERAL (VALUES (n.closed_at, n.acknowledged_at, n.outcome, n.close_due, n.sign_due,
                                             n.rule_id, n.department, n.supervision, 1),
                                            (o.closed_at, o.acknowledged_at, o.outcome, o.close_due, o.sign_due,
                                             o.rule_id, o.department, o.supervision, -1))
                                    x(closed_at, acknowledged_at, outcome, close_due, sign_due, rule_id, department,
                                      supervision, k)
                            WHERE (n.closed_at, n.acknowledged_at, n.outcome, n.close_due, n.sign_due, n.rule_id,
                                   n.department, n.supervision)
                                  IS DISTINCT FROM
                                  (o.closed_at, o.acknowledged_at, o.outcome, o.close_due, o.sign_due, o.rule_id,
                                   o.department, o.supervision)' END;
    EXECUTE 'WITH r AS (SELECT * FROM (' OPERATOR(pg_catalog.||) src OPERATOR(pg_catalog.||) ') x
                        WHERE x.closed_at IS NOT NULL OR x.acknowledged_at IS NOT NULL),
             c AS (SELECT qf.measure_month(r.closed_at) AS month, r.rule_id, r.department, r.supervision, r.k AS closed,
                          CASE WHEN r.outcome OPERATOR(pg_catalog.=) ANY (ARRAY[''substantiated'', ''partly''])
                               THEN r.k ELSE 0 END AS substantiated,
                          CASE WHEN r.closed_at OPERATOR(pg_catalog.<=) r.close_due THEN r.k ELSE 0 END AS closed_on_time,
                          0 AS signed, 0 AS signed_on_time
                     FROM r WHERE r.closed_at IS NOT NULL
                   UNION ALL
                   SELECT qf.measure_month(r.acknowledged_at), r.rule_id, r.department, r.supervision, 0, 0, 0, r.k,
                          CASE WHEN r.acknowledged_at OPERATOR(pg_catalog.<=) r.sign_due THEN r.k ELSE 0 END
                     FROM r WHERE r.acknowledged_at IS NOT NULL)
        INSERT INTO qf.finding_measure AS m (month, rule_id, department, supervision, closed, substantiated,
                                             closed_on_time, signed, signed_on_time)
        SELECT c.month, c.rule_id, c.department, c.supervision, pg_catalog.sum(c.closed), pg_catalog.sum(c.substantiated),
               pg_catalog.sum(c.closed_on_time), pg_catalog.sum(c.signed), pg_catalog.sum(c.signed_on_time)
          FROM c GROUP BY 1, 2, 3, 4
        HAVING pg_catalog.sum(c.closed) OPERATOR(pg_catalog.<>) 0
            OR pg_catalog.sum(c.substantiated) OPERATOR(pg_catalog.<>) 0
            OR pg_catalog.sum(c.closed_on_time) OPERATOR(pg_catalog.<>) 0
            OR pg_catalog.sum(c.signed) OPERATOR(pg_catalog.<>) 0
            OR pg_catalog.sum(c.signed_on_time) OPERATOR(pg_catalog.<>) 0
         ORDER BY 1, 2, 3, 4
            ON CONFLICT (month, rule_id, department, supervision) DO UPDATE
           SET closed = m.closed OPERATOR(pg_catalog.+) EXCLUDED.closed,
               substantiated = m.substantiated OPERATOR(pg_catalog.+) EXCLUDED.substantiated,
               closed_on_time = m.closed_on_time OPERATOR(pg_catalog.+) EXCLUDED.closed_on_time,
               signed = m.signed OPERATOR(pg_catalog.+) EXCLUDED.signed,
               signed_on_time = m.signed_on_time OPERATOR(pg_catalog.+) EXCLUDED.signed_on_time';
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION qf.finding_measure_apply() FROM PUBLIC;
CREATE TRIGGER finding_measure_ins AFTER INSERT ON qf.finding
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.finding_measure_apply();
CREATE TRIGGER finding_measure_upd AFTER UPDATE ON qf.finding
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.finding_measure_apply();
CREATE TRIGGER finding_measure_del AFTER DELETE ON qf.finding
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.finding_measure_apply();
CREATE TRIGGER finding_measure_trunc AFTER TRUNCATE ON qf.finding
    FOR EACH STATEMENT EXECUTE FUNCTION qf.finding_measure_apply();

-- the findings there are now
INSERT INTO qf.finding_measure (month, rule_id, department, supervision, closed, substantiated, closed_on_time,
                                signed, signed_on_time)
SELECT month, rule_id, department, supervision, sum(closed), sum(substantiated), sum(closed_on_time), sum(signed),
       sum(signed_on_time)
  FROM (SELECT qf.measure_month(f.closed_at) AS month, f.rule_id, f.department, f.supervision, 1 AS closed,
               (f.outcome IN ('substantiated', 'partly'))::int AS substantiated,
               coalesce(f.closed_at <= f.close_due, false)::int AS closed_on_time, 0 AS signed, 0 AS signed_on_time
          FROM qf.finding f WHERE f.closed_at IS NOT NULL
        UNION ALL
        SELECT qf.measure_month(f.acknowledged_at), f.rule_id, f.department, f.supervision, 0, 0, 0, 1,
               coalesce(f.acknowledged_at <= f.sign_due, false)::int
          FROM qf.finding f WHERE f.acknowledged_at IS NOT NULL) c
 GROUP BY 1, 2, 3, 4;

INSERT INTO qf.finding_day (day, supervision, risk, duty, level, department, n, closed)
SELECT timezone('Asia/Shanghai', f.first_seen)::date, f.supervision, f.risk, f.duty, f.level, f.department, count(*),
       count(*) FILTER (WHERE f.status IN ('resolved', 'dismissed'))
  FROM qf.finding f GROUP BY 1, 2, 3, 4, 5, 6;

-- The median's reads: a month's closed findings in order of days to
-- close, overall, per rule and per department (the middle one or two).
-- Partial: the engine's inserts (nothing closed yet) do not touch them.
ALTER TABLE qf.finding ADD COLUMN closed_month date GENERATED ALWAYS AS (qf.measure_month(closed_at)) STORED;
COMMENT ON COLUMN qf.finding.closed_month IS '办结月份 the calendar month (Asia/Shanghai) of closed_at, by which the measures are kept';
-- (a column, not an index on the expression: row-level security lets only
-- leakproof conditions into an index scan, and date = date is one)
CREATE INDEX finding_close_days ON qf.finding (closed_month, qf.days_to_close(first_seen, closed_at))
    INCLUDE (department, supervision, first_seen, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX finding_close_days_rule ON qf.finding (closed_month, rule_id, qf.days_to_close(first_seen, closed_at))
    INCLUDE (department, supervision, first_seen, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX finding_close_days_department ON qf.finding (closed_month, department, qf.days_to_close(first_seen, closed_at))
    INCLUDE (department, supervision, first_seen, closed_at) WHERE closed_at IS NOT NULL;
-- "overdue now" counted, and the dashboard's first 50 late findings found,
-- from the indexes of the findings not done alone (index-only)
DROP INDEX qf.finding_sign_due, qf.finding_close_due;
CREATE INDEX finding_sign_due ON qf.finding (sign_due) INCLUDE (id, close_due, rule_id, department, supervision)
    WHERE status = 'open';
CREATE INDEX finding_close_due ON qf.finding (close_due) INCLUDE (id, sign_due, rule_id, department, supervision, status)
    WHERE status IN ('open', 'acknowledged', 'reported');

-- The measures of one calendar month (Asia/Shanghai), p_month its first
-- day: the counts from qf.finding_measure, the median along the indexes
-- above, overdue now from the findings not done; the rows, groups and
-- rounding of qf.disposal_measures().
CREATE FUNCTION qf.disposal_measures_month(p_month date)
RETURNS TABLE ("grouping" text, grp text, closed bigint, substantiated bigint, substantiation_rate numeric,
               closed_on_time bigint, signed bigint, signed_on_time bigint, overdue_now bigint,
               median_days_to_close numeric)
LANGUAGE sql STABLE AS $$
WITH c AS (SELECT qf.clock_now() AS t OFFSET 0),
x AS (
    -- grouped by byte ("C"; the database's collation compares through
    -- strcoll, slower), the groups' names given back their collation
    SELECT m.rule_id COLLATE "C" AS rule_id, coalesce(m.department, '-') COLLATE "C" AS department, m.closed, m.substantiated, m.closed_on_time,
           m.signed, m.signed_on_time, 0 AS late
      FROM qf.finding_measure m
     WHERE m.month = p_month AND (m.closed <> 0 OR m.signed <> 0)
    UNION ALL
    -- late now, counted per (rule, department) before the grouping sets
    SELECT l.rule_id, l.department, 0, 0, 0, 0, 0, count(*)
      FROM (SELECT f.rule_id COLLATE "C" AS rule_id, coalesce(f.department, '-') COLLATE "C" AS department
              FROM qf.finding f CROSS JOIN c
             WHERE f.status IN ('open', 'acknowledged', 'reported') AND f.close_due < c.t
            UNION ALL
            SELECT f.rule_id, coalesce(f.department, '-')
              FROM qf.finding f CROSS JOIN c
             WHERE f.status = 'open' AND f.sign_due < c.t AND (f.close_due < c.t) IS NOT TRUE) l
     GROUP BY 1, 2),
g AS (
    SELECT CASE WHEN GROUPING(x.rule_id) = 0 THEN 'rule' WHEN GROUPING(x.department) = 0 THEN 'department' ELSE 'all' END AS gg,
           (CASE WHEN GROUPING(x.rule_id) = 0 THEN x.rule_id WHEN GROUPING(x.department) = 0 THEN x.department
                 ELSE 'all' END) COLLATE "default" AS gv,
           coalesce(sum(x.closed), 0)::bigint AS closed, coalesce(sum(x.substantiated), 0)::bigint AS substantiated,
           coalesce(sum(x.closed_on_time), 0)::bigint AS closed_on_time, coalesce(sum(x.signed), 0)::bigint AS signed,
           coalesce(sum(x.signed_on_time), 0)::bigint AS signed_on_time, coalesce(sum(x.late), 0)::bigint AS late
      FROM x
     GROUP BY GROUPING SETS ((), (x.rule_id), (x.department)))
SELECT g.gg, g.gv, g.closed, g.substantiated, round(100.0 * g.substantiated / nullif(g.closed, 0), 1),
       g.closed_on_time, g.signed, g.signed_on_time, g.late,
       -- percentile_cont(0.5): the middle value, or the two middle ones
       -- interpolated halfway, in float8 as it computes them
       round((CASE WHEN g.closed = 0 THEN NULL
                   WHEN g.gg = 'all' THEN (SELECT CASE WHEN count(*) = 1 THEN min(v.d) ELSE min(v.d) + (max(v.d) - min(v.d)) * 0.5::float8 END
                         FROM (SELECT qf.days_to_close(f.first_seen, f.closed_at)::float8 AS d
                                 FROM qf.finding f
                                WHERE f.closed_month = p_month AND f.closed_at IS NOT NULL
                                ORDER BY qf.days_to_close(f.first_seen, f.closed_at)
                               OFFSET (g.closed - 1) / 2 LIMIT 2 - g.closed % 2) v)
                   WHEN g.gg = 'rule' THEN (SELECT CASE WHEN count(*) = 1 THEN min(v.d) ELSE min(v.d) + (max(v.d) - min(v.d)) * 0.5::float8 END
                         FROM (SELECT qf.days_to_close(f.first_seen, f.closed_at)::float8 AS d
                                 FROM qf.finding f
                                WHERE f.closed_month = p_month AND f.closed_at IS NOT NULL
                                  AND f.rule_id = g.gv
                                ORDER BY f.rule_id, qf.days_to_close(f.first_seen, f.closed_at)
                               OFFSET (g.closed - 1) / 2 LIMIT 2 - g.closed % 2) v)
                   WHEN g.gv <> '-' THEN (SELECT CASE WHEN count(*) = 1 THEN min(v.d) ELSE min(v.d) + (max(v.d) - min(v.d)) * 0.5::float8 END
                         FROM (SELECT qf.days_to_close(f.first_seen, f.closed_at)::float8 AS d
                                 FROM qf.finding f
                                WHERE f.closed_month = p_month AND f.closed_at IS NOT NULL
                                  AND f.department = g.gv
                                ORDER BY f.department, qf.days_to_close(f.first_seen, f.closed_at)
                               OFFSET (g.closed - 1) / 2 LIMIT 2 - g.closed % 2) v)
                   -- '-': no department (coalesce is not leakproof: no index condition)
                   ELSE (SELECT CASE WHEN count(*) = 1 THEN min(v.d) ELSE min(v.d) + (max(v.d) - min(v.d)) * 0.5::float8 END
                         FROM (SELECT qf.days_to_close(f.first_seen, f.closed_at)::float8 AS d
                                 FROM qf.finding f
                                WHERE f.closed_month = p_month AND f.closed_at IS NOT NULL
                                  AND (f.department IS NULL OR f.department = '-')
                                ORDER BY qf.days_to_close(f.first_seen, f.closed_at)
                               OFFSET (g.closed - 1) / 2 LIMIT 2 - g.closed % 2) v)
              END)::numeric, 1)
  FROM g
 WHERE g.closed > 0 OR g.signed > 0 OR g.late > 0 OR g.gg = 'all'
 ORDER BY CASE g.gg WHEN 'rule' THEN 1 WHEN 'department' THEN 2 ELSE 0 END, 2
$$;

-- The measures of any period, from the findings (021's qf.disposal_measures).
CREATE FUNCTION qf.disposal_measures_scan(p_from timestamptz, p_to timestamptz)
RETURNS TABLE ("grouping" text, grp text, closed bigint, substantiated bigint, substantiation_rate numeric,
               closed_on_time bigint, signed bigint, signed_on_time bigint, overdue_now bigint,
               median_days_to_close numeric)
LANGUAGE sql STABLE AS $$
WITH c AS (SELECT qf.clock_now() AS t OFFSET 0),
f AS (
    SELECT f.rule_id, coalesce(f.department, '-') AS department,
           (f.closed_at >= p_from AND f.closed_at < p_to) AS is_closed,
           f.outcome IN ('substantiated', 'partly') AS is_subst,
           (f.closed_at <= f.close_due) AS closed_in_time,
           (f.acknowledged_at >= p_from AND f.acknowledged_at < p_to) AS is_signed,
           (f.acknowledged_at <= f.sign_due) AS signed_in_time,
           qf.disposal_late_step(f.status, f.sign_due, f.close_due, c.t) IS NOT NULL AS is_late,
           extract(epoch FROM f.closed_at - f.first_seen) / 86400 AS days
      FROM qf.finding f CROSS JOIN c
     WHERE (f.closed_at >= p_from AND f.closed_at < p_to)
        OR (f.acknowledged_at >= p_from AND f.acknowledged_at < p_to)
        OR (f.status = 'open' AND f.sign_due < c.t)
        OR (f.status IN ('open', 'acknowledged', 'reported') AND f.close_due < c.t))
SELECT CASE WHEN GROUPING(f.rule_id) = 0 THEN 'rule' WHEN GROUPING(f.department) = 0 THEN 'department' ELSE 'all' END,
       CASE WHEN GROUPING(f.rule_id) = 0 THEN f.rule_id WHEN GROUPING(f.department) = 0 THEN f.department ELSE 'all' END,
       count(*) FILTER (WHERE f.is_closed),
       count(*) FILTER (WHERE f.is_closed AND f.is_subst),
       round(100.0 * count(*) FILTER (WHERE f.is_closed AND f.is_subst) / nullif(count(*) FILTER (WHERE f.is_closed), 0), 1),
       count(*) FILTER (WHERE f.is_closed AND f.closed_in_time),
       count(*) FILTER (WHERE f.is_signed),
       count(*) FILTER (WHERE f.is_signed AND f.signed_in_time),
       count(*) FILTER (WHERE f.is_late),
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY f.days) FILTER (WHERE f.is_closed))::numeric, 1)
  FROM f
 GROUP BY GROUPING SETS ((), (f.rule_id), (f.department))
 ORDER BY CASE WHEN GROUPING(f.rule_id) = 0 THEN 1 WHEN GROUPING(f.department) = 0 THEN 2 ELSE 0 END, 2
$$;

-- The measures (DISPOSAL-API.md, "Measures"): a period that is one
-- calendar month in Asia/Shanghai from qf.finding_measure, any other
-- from the findings. The same rows either way (tests/t/59-console-measures.t).
CREATE OR REPLACE FUNCTION qf.disposal_measures(p_from timestamptz, p_to timestamptz)
RETURNS TABLE ("grouping" text, grp text, closed bigint, substantiated bigint, substantiation_rate numeric,
               closed_on_time bigint, signed bigint, signed_on_time bigint, overdue_now bigint,
               median_days_to_close numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    m date := qf.measure_month(p_from);
BEGIN
    IF p_from = timezone('Asia/Shanghai', m::timestamp)
       AND p_to = timezone('Asia/Shanghai', (m + interval '1 month')::timestamp) THEN
        -- the month as a literal: planned for it (with a parameter the
        -- median's reads took 20 ms more)
        RETURN QUERY EXECUTE pg_catalog.format('SELECT * FROM qf.disposal_measures_month(%L::pg_catalog.date)', m);
    ELSE
        RETURN QUERY SELECT * FROM qf.disposal_measures_scan(p_from, p_to);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION qf.measure_month(timestamptz), qf.days_to_close(timestamptz, timestamptz),
       qf.disposal_measures_month(date), qf.disposal_measures_scan(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION qf.measure_month(timestamptz), qf.days_to_close(timestamptz, timestamptz),
      qf.disposal_measures_month(date), qf.disposal_measures_scan(timestamptz, timestamptz) TO qf_auditor, qf_admin, qf_engine;
COMMENT ON FUNCTION qf.disposal_measures_month(date) IS '处置指标(月) the measures of one calendar month (Asia/Shanghai; its first day), within your scope: what qf.disposal_measures() returns for that month, from qf.finding_measure';
COMMENT ON FUNCTION qf.disposal_measures_scan(timestamptz, timestamptz) IS '处置指标 the measures of any period [from, to) within your scope, read from the findings';
COMMENT ON FUNCTION qf.disposal_measures(timestamptz, timestamptz) IS '处置指标 the monthly measures for [from, to) within your scope, overall, per rule and per department: closed, 查实率, closed and signed on time, overdue now, median days to close (a calendar month in Asia/Shanghai from qf.finding_measure, any other period from the findings)';

-- The dashboard's 423 matrix and daily trend read the findings first seen
-- in the period: along this index alone (index-only), not the table.
CREATE INDEX finding_first_seen ON qf.finding (first_seen) INCLUDE (supervision, risk, duty, level, status, department);

-- The console's 423 matrix and trend of [p_from, p_to): findings first
-- seen per (supervision, risk, duty, level, day) and how many are closed,
-- the day as YYYY-MM-DD in the session's zone. Read from the findings.
CREATE FUNCTION qf.finding_period_scan(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (supervision text, risk text, duty text, level text, day text, n bigint, closed bigint)
LANGUAGE sql STABLE AS $$
    SELECT g.supervision, g.risk, g.duty, g.level, to_char(g.d, 'YYYY-MM-DD'), g.n, g.closed
      FROM (SELECT f.supervision COLLATE "C" AS supervision, f.risk COLLATE "C" AS risk,
                   f.duty COLLATE "C" AS duty, f.level COLLATE "C" AS level,
                   date_trunc('day', f.first_seen) AS d, count(*) AS n,
                   count(*) FILTER (WHERE f.status IN ('resolved', 'dismissed')) AS closed
              FROM qf.finding f
             WHERE f.first_seen >= p_from AND f.first_seen < p_to
             GROUP BY 1, 2, 3, 4, 5) g
$$;

-- The same, from qf.finding_day when the period runs from a midnight to a
-- midnight in Asia/Shanghai and the session's zone is that one (its days
-- are then the table's); else from the findings.
CREATE FUNCTION qf.finding_period(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (supervision text, risk text, duty text, level text, day text, n bigint, closed bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    a date := timezone('Asia/Shanghai', p_from)::date;
    b date := timezone('Asia/Shanghai', p_to)::date;
BEGIN
    IF current_setting('TimeZone') = 'Asia/Shanghai'
       AND p_from = timezone('Asia/Shanghai', a::timestamp) AND p_to = timezone('Asia/Shanghai', b::timestamp) THEN
        RETURN QUERY
            SELECT d.supervision, d.risk, d.duty, d.level, to_char(d.day, 'YYYY-MM-DD'), sum(d.n)::bigint,
                   sum(d.closed)::bigint
              FROM qf.finding_day d
             WHERE d.day >= a AND d.day < b
             GROUP BY d.supervision, d.risk, d.duty, d.level, d.day
            HAVING sum(d.n) <> 0;
    ELSE
        RETURN QUERY SELECT * FROM qf.finding_period_scan(p_from, p_to);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION qf.finding_period(timestamptz, timestamptz), qf.finding_period_scan(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION qf.finding_period(timestamptz, timestamptz), qf.finding_period_scan(timestamptz, timestamptz)
    TO qf_auditor, qf_admin, qf_engine;
COMMENT ON FUNCTION qf.finding_period(timestamptz, timestamptz) IS '423 矩阵与趋势 findings first seen in [from, to) within your scope per supervision, risk, duty, level and day, and how many are closed (from qf.finding_day for whole days in Asia/Shanghai)';
COMMENT ON FUNCTION qf.finding_period_scan(timestamptz, timestamptz) IS '423 矩阵与趋势 the same as qf.finding_period(), read from the findings';
