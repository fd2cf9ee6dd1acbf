-- The cost of a findings write, which every alert waits for (issue 21).
--
-- bench/hotkey.sh (400 risky payments of one vendor at 200/s) measured the
-- engine's findings statement at a p50 of 4.4 ms for one finding, about
-- 3 ms of it in the triggers of qf.finding. The largest were sql/024's
-- monthly and daily counts: its trigger built its two statements as text
-- and ran them with EXECUTE, so PostgreSQL parsed and planned both at
-- every statement on qf.finding (an INSERT ... ON CONFLICT fires the
-- insert and the update triggers: four plans a write, ~1.6 ms). With them
-- disabled the stream's p50 went from 7.5-8.2 to 3.0-4.5 ms.
--
-- Here each trigger gathers its transition table's contributions with a
-- static statement (PL/pgSQL keeps its plan for the session, and each
-- trigger has its own copy of the function, so new_rows and old_rows are
-- the trigger's), and two helpers add them up and write them, also with
-- kept plans. Nothing is gathered, and nothing written, when no row
-- counts: a re-hit (last_seen, hit_count) changes no figure. The figures
-- themselves are as before: tests/t/59-console-measures.t compares them
-- with the findings.

CREATE TYPE qf.finding_day_delta AS (
    first_seen  timestamptz,
    supervision text,
    risk        text,
    duty        text,
    level       text,
    department  text,
    closed      boolean,
    k           integer
);
COMMENT ON TYPE qf.finding_day_delta IS 'a finding''s contribution (k = 1) or withdrawal (k = -1) to qf.finding_day, for qf.finding_day_add()';

CREATE TYPE qf.finding_measure_delta AS (
    closed_at       timestamptz,
    acknowledged_at timestamptz,
    outcome         text,
    close_due       timestamptz,
    sign_due        timestamptz,
    rule_id         text,
    department      text,
    supervision     text,
    k               integer
);
COMMENT ON TYPE qf.finding_measure_delta IS 'a finding''s contribution (k = 1) or withdrawal (k = -1) to qf.finding_measure, for qf.finding_measure_add()';

CREATE FUNCTION qf.finding_day_add(p qf.finding_day_delta[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- the rows in key order: two writers lock the rows they share in the
    -- same order
    INSERT INTO qf.finding_day AS d (day, supervision, risk, duty, level, department, n, closed)
    SELECT pg_catalog.timezone('Asia/Shanghai', r.first_seen)::pg_catalog.date, r.supervision, r.risk, r.duty,
           r.level, r.department, pg_catalog.sum(r.k), pg_catalog.sum(CASE WHEN r.closed THEN r.k ELSE 0 END)
      FROM pg_catalog.unnest(p) r
     GROUP BY 1, 2, 3, 4, 5, 6
    HAVING pg_catalog.sum(r.k) OPERATOR(pg_catalog.<>) 0
        OR pg_catalog.sum(CASE WHEN r.closed THEN r.k ELSE 0 END) OPERATOR(pg_catalog.<>) 0
     ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (day, supervision, risk, duty, level, department) DO UPDATE
       SET n = d.n OPERATOR(pg_catalog.+) EXCLUDED.n, closed = d.closed OPERATOR(pg_catalog.+) EXCLUDED.closed;
END
$$;

CREATE FUNCTION qf.finding_measure_add(p qf.finding_measure_delta[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH c AS (SELECT qf.measure_month(r.closed_at) AS month, r.rule_id, r.department, r.supervision,
                      r.k AS closed,
                      CASE WHEN r.outcome OPERATOR(pg_catalog.=) ANY (ARRAY['substantiated', 'partly'])
                           THEN r.k ELSE 0 END AS substantiated,
                      CASE WHEN r.closed_at OPERATOR(pg_catalog.<=) r.close_due THEN r.k ELSE 0 END AS closed_on_time,
                      0 AS signed, 0 AS signed_on_time
                 FROM pg_catalog.unnest(p) r WHERE r.closed_at IS NOT NULL
               UNION ALL
               SELECT qf.measure_month(r.acknowledged_at), r.rule_id, r.department, r.supervision, 0, 0, 0, r.k,
                      CASE WHEN r.acknowledged_at OPERATOR(pg_catalog.<=) r.sign_due THEN r.k ELSE 0 END
                 FROM pg_catalog.unnest(p) r WHERE r.acknowledged_at IS NOT NULL)
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
           signed_on_time = m.signed_on_time OPERATOR(pg_catalog.+) EXCLUDED.signed_on_time;
END
$$;
REVOKE ALL ON FUNCTION qf.finding_day_add(qf.finding_day_delta[]), qf.finding_measure_add(qf.finding_measure_delta[])
    FROM PUBLIC;
COMMENT ON FUNCTION qf.finding_day_add(qf.finding_day_delta[]) IS 'adds findings'' contributions to qf.finding_day (the trigger of qf.finding)';
COMMENT ON FUNCTION qf.finding_measure_add(qf.finding_measure_delta[]) IS 'adds findings'' contributions to qf.finding_measure (the trigger of qf.finding)';

-- Each statement on qf.finding adds what its new rows contribute and
-- takes away what its old rows did (an update: both, of the rows whose
-- counted columns changed; for the measures only rows signed or closed
-- count).
CREATE OR REPLACE FUNCTION qf.finding_measure_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    dd qf.finding_day_delta[];
    md qf.finding_measure_delta[];
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'qf.finding'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.finding_measure_apply() is a trigger of qf.finding only';
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM qf.finding_measure;
        DELETE FROM qf.finding_day;
        RETURN NULL;
    END IF;
    -- the transition tables a trigger has depend on its event: each
    -- branch names only its own, and is planned the first time it runs
    IF TG_OP = 'INSERT' THEN
        SELECT pg_catalog.array_agg(ROW(n.first_seen, n.supervision, n.risk, n.duty, n.level, n.department,
                                        n.status OPERATOR(pg_catalog.=) ANY (ARRAY['resolved', 'dismissed']), 1)
                                    ::qf.finding_day_delta)
          INTO dd FROM new_rows n;
        SELECT pg_catalog.array_agg(ROW(n.closed_at, n.acknowledged_at, n.outcome, n.close_due, n.sign_due,
                                        n.rule_id, n.department, n.supervision, 1)::qf.finding_measure_delta)
          INTO md FROM new_rows n WHERE n.closed_at IS NOT NULL OR n.acknowledged_at IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT pg_catalog.array_agg(ROW(o.first_seen, o.supervision, o.risk, o.duty, o.level, o.department,
                                        o.status OPERATOR(pg_catalog.=) ANY (ARRAY['resolved', 'dismissed']), -1)
                                    ::qf.finding_day_delta)
          INTO dd FROM old_rows o;
        SELECT pg_catalog.array_agg(ROW(o.closed_at, o.acknowledged_at, o.outcome, o.close_due, o.sign_due,
                                        o.rule_id, o.department, o.supervision, -1)::qf.finding_measure_delta)
          INTO md FROM old_rows o WHERE o.closed_at IS NOT NULL OR o.acknowledged_at IS NOT NULL;
    ELSE
        SELECT pg_catalog.array_agg(x.d)
          INTO dd
          FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
               LATERAL (VALUES (ROW(n.first_seen, n.supervision, n.risk, n.duty, n.level, n.department,
                                    n.status OPERATOR(pg_catalog.=) ANY (ARRAY['resolved', 'dismissed']), 1)
                                ::qf.finding_day_delta),
                               (ROW(o.first_seen, o.supervision, o.risk, o.duty, o.level, o.department,
                                    o.status OPERATOR(pg_catalog.=) ANY (ARRAY['resolved', 'dismissed']), -1)
                                ::qf.finding_day_delta)) x(d)
         WHERE (n.first_seen, n.supervision, n.risk, n.duty, n.level, n.department,
                n.status OPERATOR(pg_catalog.=) ANY (ARRAY['resolved', 'dismissed']))
               IS DISTINCT FROM
               (o.first_seen, o.supervision, o.risk, o.duty, o.level, o.department,
                o.status OPERATOR(pg_catalog.=) ANY (ARRAY['resolved', 'dismissed']));
        SELECT pg_catalog.array_agg(x.d)
          INTO md
          FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
               LATERAL (VALUES (ROW(n.closed_at, n.acknowledged_at, n.outcome, n.close_due, n.sign_due,
                                    n.rule_id, n.department, n.supervision, 1)::qf.finding_measure_delta),
                               (ROW(o.closed_at, o.acknowledged_at, o.outcome, o.close_due, o.sign_due,
                                    o.rule_id, o.department, o.supervision, -1)::qf.finding_measure_delta)) x(d)
         WHERE (n.closed_at, n.acknowledged_at, n.outcome, n.close_due, n.sign_due, n.rule_id,
                n.department, n.supervision)
               IS DISTINCT FROM
               (o.closed_at, o.acknowledged_at, o.outcome, o.close_due, o.sign_due, o.rule_id,
                o.department, o.supervision)
           AND ((x.d).closed_at IS NOT NULL OR (x.d).acknowledged_at IS NOT NULL);
    END IF;
    IF dd IS NOT NULL THEN
        PERFORM qf.finding_day_add(dd);
    END IF;
    IF md IS NOT NULL THEN
        PERFORM qf.finding_measure_add(md);
    END IF;
    RETURN NULL;
END
$$;

-- The owner and the deadlines of a new finding (sql/021's trigger) are
-- worked out once per transaction, and the live lane writes each commit's
-- findings in a transaction of their own: every write paid for them. As
-- SQL functions with their own search_path (which PostgreSQL does not
-- inline) both were parsed and planned anew at each transaction; in
-- PL/pgSQL their plans are kept for the session. Same answers.
CREATE OR REPLACE FUNCTION qf.disposal_owner(p_department text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT o.e OPERATOR(pg_catalog.->>) 'role'
              FROM qf.setting s,
                   pg_catalog.jsonb_array_elements(s.value::pg_catalog.jsonb) WITH ORDINALITY AS o(e, n)
             WHERE s.name OPERATOR(pg_catalog.=) 'disposal.owners'
               AND (NOT o.e OPERATOR(pg_catalog.?) 'department'
                    OR o.e OPERATOR(pg_catalog.->>) 'department' OPERATOR(pg_catalog.=) p_department)
             ORDER BY (o.e OPERATOR(pg_catalog.?) 'department') DESC, o.n
             LIMIT 1);
END
$$;

CREATE OR REPLACE FUNCTION qf.disposal_days(p_level text) RETURNS integer[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN coalesce(
        (SELECT ARRAY[(s.value::pg_catalog.jsonb OPERATOR(pg_catalog.->) p_level OPERATOR(pg_catalog.->>) 0)::pg_catalog.int4,
                      (s.value::pg_catalog.jsonb OPERATOR(pg_catalog.->) p_level OPERATOR(pg_catalog.->>) 1)::pg_catalog.int4]
           FROM qf.setting s
          WHERE s.name OPERATOR(pg_catalog.=) 'disposal.deadlines'
            AND s.value::pg_catalog.jsonb OPERATOR(pg_catalog.?) p_level),
        CASE p_level WHEN 'red' THEN ARRAY[1, 10] WHEN 'orange' THEN ARRAY[2, 20] ELSE ARRAY[3, 30] END);
END
$$;

-- The owner and deadlines above, kept from one transaction to the next.
-- sql/021's trigger kept them for a transaction only (keyed by its
-- now()), and worked them out again in each of the live lane's: eight
-- statements and a walk over the calendar per alert, the largest trigger
-- of the write. They depend only on the settings (qf.setting), the
-- calendar (records.workday), the session's TimeZone and the finding's
-- local day: a generation that every change of the first two moves now
-- keys them, with that TimeZone, and the deadlines also with the day.
CREATE TABLE qf.calendar_gen (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    gen text NOT NULL
);
INSERT INTO qf.calendar_gen (gen) VALUES (pg_catalog.pg_current_xact_id()::text);
REVOKE ALL ON qf.calendar_gen FROM PUBLIC;
COMMENT ON TABLE qf.calendar_gen IS 'the generation of the settings and the calendar: the transaction that last changed qf.setting or records.workday (what a finding''s owner and deadlines depend on; the engine keeps them by it)';

-- The transaction's own id: never reused, so a generation names one
-- state of both tables (a rolled-back change's id is never seen again).
CREATE FUNCTION qf.calendar_gen_bump() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE qf.calendar_gen SET gen = pg_catalog.pg_current_xact_id()::pg_catalog.text;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION qf.calendar_gen_bump() FROM PUBLIC;
CREATE TRIGGER calendar_gen_setting AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON qf.setting
    FOR EACH STATEMENT EXECUTE FUNCTION qf.calendar_gen_bump();
CREATE TRIGGER calendar_gen_workday AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON records.workday
    FOR EACH STATEMENT EXECUTE FUNCTION qf.calendar_gen_bump();

CREATE OR REPLACE FUNCTION qf.finding_disposal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tx pg_catalog.text := pg_catalog.concat(pg_catalog.now(), '|');
    -- what is kept in custom settings is trusted in the engine's session
    -- only (any session may set them): people's steps work it out anew
    keep pg_catalog.bool := pg_catalog.pg_has_role(session_user, 'qf_engine', 'MEMBER');
    ck pg_catalog.text;
    c pg_catalog.text;
    k pg_catalog.text;
    off pg_catalog.interval;
    days pg_catalog.int4[];
    tz pg_catalog.text;
    loc pg_catalog.timestamp;
    d1 pg_catalog.date;
    d2 pg_catalog.date;
    t pg_catalog.timestamptz;
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'qf.finding'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.finding_disposal() is a trigger of qf.finding only';
    END IF;
    -- the generation, read once a transaction
    c := CASE WHEN keep THEN pg_catalog.current_setting('qingfeng.calendar_gen', true) END;
    IF c IS NOT NULL AND pg_catalog.starts_with(c, tx) THEN
        ck := pg_catalog.substr(c, pg_catalog.length(tx) + 1);
    ELSE
        ck := pg_catalog.concat((SELECT g.gen FROM qf.calendar_gen g), '|', pg_catalog.current_setting('TimeZone'), '|');
        IF keep THEN
            PERFORM pg_catalog.set_config('qingfeng.calendar_gen', pg_catalog.concat(tx, ck), false);
        END IF;
    END IF;
    c := CASE WHEN keep THEN pg_catalog.current_setting('qingfeng.clock_offset', true) END;
    IF c IS NOT NULL AND pg_catalog.starts_with(c, ck) THEN
        off := pg_catalog.substr(c, pg_catalog.length(ck) + 1)::pg_catalog.interval;
    ELSE
        off := qf.clock_offset();
        IF keep THEN
            PERFORM pg_catalog.set_config('qingfeng.clock_offset', pg_catalog.concat(ck, off), false);
        END IF;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF off <> '0'::pg_catalog.interval THEN
            IF NEW.first_seen = pg_catalog.now() THEN
                NEW.first_seen := NEW.first_seen + off;
            END IF;
            IF NEW.last_seen = pg_catalog.now() THEN
                NEW.last_seen := NEW.last_seen + off;
            END IF;
        END IF;
        IF NEW.owner IS NULL THEN
            k := pg_catalog.concat('qingfeng.owner_', pg_catalog.md5(coalesce(NEW.department, '')));
            c := CASE WHEN keep THEN pg_catalog.current_setting(k, true) END;
            IF c IS NOT NULL AND pg_catalog.starts_with(c, ck) THEN
                NEW.owner := NULLIF(pg_catalog.substr(c, pg_catalog.length(ck) + 1), '');
            ELSE
                NEW.owner := qf.disposal_owner(NEW.department);
                IF keep THEN
                    PERFORM pg_catalog.set_config(k, pg_catalog.concat(ck, NEW.owner), false);
                END IF;
            END IF;
        END IF;
        IF NEW.sign_due IS NULL AND NEW.close_due IS NULL AND NEW.first_seen IS NOT NULL THEN
            -- qf.add_workdays(first_seen, n) for the level's two n, as it
            -- works them out: the day n workdays after the local day (kept
            -- per day), at the same local time
            c := CASE WHEN keep THEN pg_catalog.current_setting('qingfeng.timezone', true) END;
            IF c IS NOT NULL AND pg_catalog.starts_with(c, ck) THEN
                tz := pg_catalog.substr(c, pg_catalog.length(ck) + 1);
            ELSE
                tz := coalesce((SELECT s.value FROM qf.setting s WHERE s.name OPERATOR(pg_catalog.=) 'timezone'),
                               pg_catalog.current_setting('TimeZone'));
                IF keep THEN
                    PERFORM pg_catalog.set_config('qingfeng.timezone', pg_catalog.concat(ck, tz), false);
                END IF;
            END IF;
            loc := pg_catalog.timezone(tz, NEW.first_seen);
            k := pg_catalog.concat('qingfeng.due_', NEW.level);
            c := CASE WHEN keep THEN pg_catalog.current_setting(k, true) END;
            tx := pg_catalog.concat(ck, loc::pg_catalog.date, '|');
            IF c IS NOT NULL AND pg_catalog.starts_with(c, tx) THEN
                c := pg_catalog.substr(c, pg_catalog.length(tx) + 1);
                NEW.sign_due := pg_catalog.timezone(tz, (pg_catalog.split_part(c, '|', 1)::pg_catalog.date
                                                         OPERATOR(pg_catalog.+) loc::pg_catalog.time)::pg_catalog.timestamp);
                NEW.close_due := pg_catalog.timezone(tz, (pg_catalog.split_part(c, '|', 2)::pg_catalog.date
                                                          OPERATOR(pg_catalog.+) loc::pg_catalog.time)::pg_catalog.timestamp);
            ELSE
                days := qf.disposal_days(NEW.level);
                d1 := qf.workday_add(loc::pg_catalog.date, days[1]);
                d2 := qf.workday_add(loc::pg_catalog.date, days[2]);
                NEW.sign_due := pg_catalog.timezone(tz, (d1 OPERATOR(pg_catalog.+) loc::pg_catalog.time)::pg_catalog.timestamp);
                NEW.close_due := pg_catalog.timezone(tz, (d2 OPERATOR(pg_catalog.+) loc::pg_catalog.time)::pg_catalog.timestamp);
                IF keep AND d1 IS NOT NULL AND d2 IS NOT NULL THEN
                    PERFORM pg_catalog.set_config(k, pg_catalog.concat(tx, d1, '|', d2), false);
                END IF;
            END IF;
        END IF;
        RETURN NEW;
    END IF;
    IF off <> '0'::pg_catalog.interval
       AND NEW.last_seen IS DISTINCT FROM OLD.last_seen
       AND NEW.last_seen = pg_catalog.now() THEN
        NEW.last_seen := NEW.last_seen + off;
    END IF;
    IF qf.level_rank(NEW.level) > qf.level_rank(OLD.level) THEN
        days := qf.disposal_days(NEW.level);
        t := pg_catalog.now() + off;
        IF NEW.status = 'open' AND OLD.sign_due > t THEN
            NEW.sign_due := LEAST(OLD.sign_due, qf.add_workdays(NEW.first_seen, days[1]));
        END IF;
        IF NEW.status = ANY (ARRAY['open', 'acknowledged', 'reported']) AND OLD.close_due > t THEN
            NEW.close_due := LEAST(OLD.close_due, qf.add_workdays(NEW.first_seen, days[2]));
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- The console's list indexes of sql/024, (status, id), (rule_id, id) and
-- (owner, id), were also candidates for the engine's probes of a finding
-- by rule and key (the rule statements' "already known" probe, the
-- findings write's LATERAL lookup) and by subject and status (the
-- escalation's open rules): a generic plan made while qf.finding was
-- nearly empty, when every index costs the same, took (rule_id, id) and
-- then read every finding of the rule at each probe. In the fresh-key
-- latency benchmark the findings write grew from 1.3 to 3.2 ms over 1,000
-- findings and p99 reached 36 ms. Each is now partial on a condition the
-- engine's probes never state (id > 0, true of every finding) and the
-- console's and qfctl's lists always do, so only they can use them.
DROP INDEX qf.finding_status_id;
DROP INDEX qf.finding_rule_id;
DROP INDEX qf.finding_owner_id;
CREATE INDEX finding_status_id ON qf.finding (status, id) WHERE id > 0;
CREATE INDEX finding_rule_id ON qf.finding (rule_id, id) WHERE id > 0;
CREATE INDEX finding_owner_id ON qf.finding (owner, id) WHERE id > 0;
