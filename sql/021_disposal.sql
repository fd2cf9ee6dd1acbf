-- The disposal loop (预警处置闭环, issue 23; DISPOSAL.md): who owns a
-- finding, by when it must be signed for and closed on the institute's
-- workday calendar, what the check found (outcome) and what was done
-- (disposition), four-eyes closing, overdue supervision (督办), and the
-- measures a discipline office reports monthly.
--
-- Every step is a function that runs as the owner, checks the caller's
-- scope (qf.visible), role, stage and the four-eyes rule, and writes the
-- step's history event in the same transaction. Refusals by SQLSTATE:
--   P0002 no such finding, or outside your scope (not told which)
--   42501 refused: four eyes, or your role may not take this step
--   55000 wrong stage (closing a closed finding, signing a signed one)
--   22023 a bad field (outcome, disposition, role, a missing note)
--
-- Times of the loop (first_seen on insert, deadlines, signed, reported,
-- closed, overdue) are on the engine's clock, qf.clock_now(): the real
-- time, or under `qingfengd --clock` the clock the engine was given (it
-- syncs the offset into qf.setting), so a replay or a demo judges
-- deadlines as if the records were arriving then. The history's own
-- times (finding_event.at) stay the database's.

-- ---- settings the engine syncs from its configuration ----
-- (migration 022 creates the same table the same way: whichever runs
-- first creates it)
CREATE TABLE IF NOT EXISTS qf.setting (
    name   text PRIMARY KEY,
    value  text NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now(),
    set_by text NOT NULL DEFAULT session_user
);
REVOKE ALL ON qf.setting FROM PUBLIC;
GRANT SELECT ON qf.setting TO qf_engine, qf_auditor, qf_admin;
GRANT INSERT, UPDATE ON qf.setting TO qf_engine;
COMMENT ON TABLE qf.setting IS '设置 settings the engine copies from its configuration at start and reload, so the database functions can enforce them (disposal.four_eyes, disposal.owners, disposal.deadlines, engine.clock_offset, timezone)';
COMMENT ON COLUMN qf.setting.name IS '名称 the setting, e.g. disposal.four_eyes';
COMMENT ON COLUMN qf.setting.value IS '值 its value as text (JSON for lists)';
COMMENT ON COLUMN qf.setting.set_at IS '设置时间 when it was last written';
COMMENT ON COLUMN qf.setting.set_by IS '设置人 the role that wrote it';

-- ---- the finding's disposal columns ----
ALTER TABLE qf.finding
    ADD COLUMN owner text,
    ADD COLUMN sign_due timestamptz,
    ADD COLUMN close_due timestamptz,
    ADD COLUMN acknowledged_at timestamptz,
    ADD COLUMN acknowledged_by text,
    ADD COLUMN outcome text CHECK (outcome IN ('substantiated', 'partly', 'unfounded')),
    ADD COLUMN disposition text CHECK (disposition IN ('talk', 'criticism', 'admonish', 'transfer', 'rectify', 'none')),
    ADD COLUMN feedback_by text,
    ADD COLUMN feedback_at timestamptz,
    ADD COLUMN closed_at timestamptz,
    ADD COLUMN closed_by text,
    ADD COLUMN overdue_at timestamptz,
    ADD COLUMN overdue_step text CHECK (overdue_step IN ('sign', 'close'));

ALTER TABLE qf.finding DROP CONSTRAINT finding_status_check;
ALTER TABLE qf.finding ADD CONSTRAINT finding_status_check
    CHECK (status IN ('open', 'acknowledged', 'reported', 'resolved', 'dismissed'));

ALTER TABLE qf.finding_event DROP CONSTRAINT finding_event_action_check;
ALTER TABLE qf.finding_event ADD CONSTRAINT finding_event_action_check
    CHECK (action IN ('created', 'retriggered', 'escalated', 'reminded',
                      'acknowledged', 'resolved', 'dismissed', 'reopened', 'alert_requeued',
                      'scope_granted', 'scope_changed', 'scope_revoked',
                      'assigned', 'reported', 'overdue'));

ALTER TABLE qf.alert DROP CONSTRAINT alert_event_check;
ALTER TABLE qf.alert ADD CONSTRAINT alert_event_check
    CHECK (event IN ('finding.new', 'finding.retriggered', 'finding.escalated', 'finding.reminder',
                     'finding.resolved', 'finding.overdue'));

-- The clock work looks for late findings every pass: these hold exactly
-- the candidates, ordered by the deadline it compares.
CREATE INDEX IF NOT EXISTS finding_sign_due ON qf.finding (sign_due) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS finding_close_due ON qf.finding (close_due)
    WHERE status IN ('open', 'acknowledged', 'reported');
CREATE INDEX IF NOT EXISTS finding_owner ON qf.finding (owner);
CREATE INDEX IF NOT EXISTS finding_closed_at ON qf.finding (closed_at) WHERE closed_at IS NOT NULL;

-- ---- the engine's clock and the workday calendar ----

-- now() moved by the engine's --clock offset (0 without one). Inlined
-- into the queries that call it; the offset is read once per query.
CREATE FUNCTION qf.clock_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.now() OPERATOR(pg_catalog.+)
           coalesce((SELECT s.value::pg_catalog.interval FROM qf.setting s
                      WHERE s.name OPERATOR(pg_catalog.=) 'engine.clock_offset'), '0'::pg_catalog.interval)
$$;

-- The day n workdays after d (n = 0: d itself), by records.workday over
-- the Mon-Fri default. The engine writes findings in batches that share
-- a day: the answer is kept for the transaction (a custom setting per n,
-- keyed by the transaction's time), so a batch of 50,000 reads the
-- calendar a few times, not 100,000. Runs as the owner: auditors, who
-- read the handling light, may not read records.*.
CREATE FUNCTION qf.workday_add(p_day date, p_n integer) RETURNS date
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key pg_catalog.text;
    cached pg_catalog.text;
    d pg_catalog.date := p_day;
    lim pg_catalog.date;
    k pg_catalog.int4 := 0;
    hol pg_catalog.date[];
    work pg_catalog.date[];
    w pg_catalog.bool;
BEGIN
    IF p_day IS NULL OR p_n IS NULL THEN
        RETURN NULL;
    END IF;
    IF p_n <= 0 THEN
        RETURN p_day;
    END IF;
    -- any session may set a custom setting, so only the engine's (which
    -- writes findings anyway) trusts what is kept there: a person's
    -- session could otherwise forge the calendar its step reads
    -- (reopen's fresh deadline)
    IF pg_catalog.pg_has_role(session_user, 'qf_engine', 'MEMBER') THEN
        key := pg_catalog.concat(pg_catalog.now(), '|', p_day, '|');
        cached := pg_catalog.current_setting(pg_catalog.concat('qingfeng.workday_', p_n), true);
        IF cached IS NOT NULL AND pg_catalog.starts_with(cached, key) THEN
            RETURN pg_catalog.substr(cached, pg_catalog.length(key) + 1)::pg_catalog.date;
        END IF;
    END IF;
    -- the overrides of the span the answer can fall in (n workdays take
    -- at most ~1.4 n days, plus holidays: a generous bound, then per day)
    lim := p_day + (p_n * 2 + 60);
    SELECT pg_catalog.array_agg(x.day) FILTER (WHERE NOT x.is_workday),
           pg_catalog.array_agg(x.day) FILTER (WHERE x.is_workday)
      INTO hol, work
      FROM records.workday x
     WHERE x.day > p_day AND x.day <= lim;
    WHILE k < p_n LOOP
        d := d + 1;
        IF d > lim THEN
            w := coalesce((SELECT x.is_workday FROM records.workday x WHERE x.day = d),
                          pg_catalog.date_part('isodow', d) < 6);
        ELSIF d = ANY (coalesce(work, '{}')) THEN
            w := true;
        ELSIF d = ANY (coalesce(hol, '{}')) THEN
            w := false;
        ELSE
            w := pg_catalog.date_part('isodow', d) < 6;
        END IF;
        IF w THEN
            k := k + 1;
        END IF;
    END LOOP;
    IF key IS NOT NULL THEN
        PERFORM pg_catalog.set_config(pg_catalog.concat('qingfeng.workday_', p_n), pg_catalog.concat(key, d), false);
    END IF;
    RETURN d;
END
$$;

-- The instant n workdays after t at the same local time of day, in the
-- institute's time zone (the engine's `timezone`, synced; else the
-- session's).
CREATE FUNCTION qf.add_workdays(t timestamptz, n integer) RETURNS timestamptz
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tz pg_catalog.text := coalesce((SELECT s.value FROM qf.setting s WHERE s.name OPERATOR(pg_catalog.=) 'timezone'),
                                   pg_catalog.current_setting('TimeZone'));
    loc pg_catalog.timestamp;
BEGIN
    IF t IS NULL OR n IS NULL THEN
        RETURN NULL;
    END IF;
    loc := pg_catalog.timezone(tz, t);
    RETURN pg_catalog.timezone(tz, (qf.workday_add(loc::pg_catalog.date, n) OPERATOR(pg_catalog.+)
                                    loc::pg_catalog.time)::pg_catalog.timestamp);
END
$$;

-- [sign, close] workdays of a level: disposal.deadlines, else red 1/10,
-- orange 2/20, yellow 3/30.
CREATE FUNCTION qf.disposal_days(p_level text) RETURNS integer[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(
        (SELECT ARRAY[(s.value::pg_catalog.jsonb OPERATOR(pg_catalog.->) p_level OPERATOR(pg_catalog.->>) 0)::pg_catalog.int4,
                      (s.value::pg_catalog.jsonb OPERATOR(pg_catalog.->) p_level OPERATOR(pg_catalog.->>) 1)::pg_catalog.int4]
           FROM qf.setting s
          WHERE s.name OPERATOR(pg_catalog.=) 'disposal.deadlines'
            AND s.value::pg_catalog.jsonb OPERATOR(pg_catalog.?) p_level),
        CASE p_level WHEN 'red' THEN ARRAY[1, 10] WHEN 'orange' THEN ARRAY[2, 20] ELSE ARRAY[3, 30] END)
$$;

-- The owner of a new finding: the first disposal.owners entry naming its
-- department, else the first that names none (the default), else NULL.
CREATE FUNCTION qf.disposal_owner(p_department text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT o.e OPERATOR(pg_catalog.->>) 'role'
      FROM qf.setting s,
           pg_catalog.jsonb_array_elements(s.value::pg_catalog.jsonb) WITH ORDINALITY AS o(e, n)
     WHERE s.name OPERATOR(pg_catalog.=) 'disposal.owners'
       AND (NOT o.e OPERATOR(pg_catalog.?) 'department'
            OR o.e OPERATOR(pg_catalog.->>) 'department' OPERATOR(pg_catalog.=) p_department)
     ORDER BY (o.e OPERATOR(pg_catalog.?) 'department') DESC, o.n
     LIMIT 1
$$;

-- The engine's clock offset, for the trigger below.
CREATE FUNCTION qf.clock_offset() RETURNS interval LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT s.value::pg_catalog.interval FROM qf.setting s
                      WHERE s.name OPERATOR(pg_catalog.=) 'engine.clock_offset'), '0'::pg_catalog.interval)
$$;

-- Owner and deadlines of a new finding; a rise of level shortens the
-- deadlines still ahead (never lengthens them). Under --clock, the times
-- the engine's statements stamp with now() are moved to its clock.
--
-- The engine writes findings in batches of up to tens of thousands in one
-- statement, all stamped with the same now(): the clock offset, each
-- department's owner and each level's deadlines from a first_seen are
-- worked out once and kept for the transaction in custom settings
-- (qingfeng.*, keyed by the transaction's now()), so a row costs a few
-- lookups, not the calendar walk (50,000 findings: ~19 µs a row, ~0.9 s, instead of ~100 µs).
CREATE FUNCTION qf.finding_disposal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tx pg_catalog.text := pg_catalog.concat(pg_catalog.now(), '|');
    -- what is kept in custom settings is trusted in the engine's session
    -- only (any session may set them): people's steps work it out anew
    keep pg_catalog.bool := pg_catalog.pg_has_role(session_user, 'qf_engine', 'MEMBER');
    c pg_catalog.text;
    k pg_catalog.text;
    off pg_catalog.interval;
    days pg_catalog.int4[];
    t pg_catalog.timestamptz;
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'qf.finding'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.finding_disposal() is a trigger of qf.finding only';
    END IF;
    c := CASE WHEN keep THEN pg_catalog.current_setting('qingfeng.clock_offset', true) END;
    IF c IS NOT NULL AND pg_catalog.starts_with(c, tx) THEN
        off := pg_catalog.substr(c, pg_catalog.length(tx) + 1)::pg_catalog.interval;
    ELSE
        off := qf.clock_offset();
        PERFORM pg_catalog.set_config('qingfeng.clock_offset', pg_catalog.concat(tx, off), false);
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
            IF c IS NOT NULL AND pg_catalog.starts_with(c, tx) THEN
                NEW.owner := NULLIF(pg_catalog.substr(c, pg_catalog.length(tx) + 1), '');
            ELSE
                NEW.owner := qf.disposal_owner(NEW.department);
                PERFORM pg_catalog.set_config(k, pg_catalog.concat(tx, NEW.owner), false);
            END IF;
        END IF;
        IF NEW.sign_due IS NULL AND NEW.close_due IS NULL THEN
            k := pg_catalog.concat('qingfeng.due_', NEW.level);
            c := CASE WHEN keep THEN pg_catalog.current_setting(k, true) END;
            tx := pg_catalog.concat(tx, NEW.first_seen, '|');
            IF c IS NOT NULL AND pg_catalog.starts_with(c, tx) THEN
                c := pg_catalog.substr(c, pg_catalog.length(tx) + 1);
                NEW.sign_due := pg_catalog.split_part(c, '|', 1)::pg_catalog.timestamptz;
                NEW.close_due := pg_catalog.split_part(c, '|', 2)::pg_catalog.timestamptz;
            ELSE
                days := qf.disposal_days(NEW.level);
                NEW.sign_due := qf.add_workdays(NEW.first_seen, days[1]);
                NEW.close_due := qf.add_workdays(NEW.first_seen, days[2]);
                PERFORM pg_catalog.set_config(k, pg_catalog.concat(tx, NEW.sign_due, '|', NEW.close_due), false);
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
CREATE TRIGGER finding_disposal BEFORE INSERT OR UPDATE ON qf.finding
    FOR EACH ROW EXECUTE FUNCTION qf.finding_disposal();

-- A finding changes only together with its history (sql/017), the new
-- status `reported` with its event.
CREATE OR REPLACE FUNCTION qf.finding_needs_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    need pg_catalog.text[] := NULL;
    what pg_catalog.text := 'a change';
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'qf.finding'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.finding_needs_event() is a trigger of qf.finding only';
    END IF;
    IF pg_catalog.pg_has_role(session_user,
                              (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) TG_RELID),
                              'MEMBER') THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        need := ARRAY['created'];
        what := 'a new finding';
    ELSIF OLD.status IS DISTINCT FROM NEW.status THEN
        need := ARRAY['acknowledged', 'reported', 'resolved', 'dismissed', 'reopened'];
        what := 'a change of status';
    ELSIF OLD.level IS DISTINCT FROM NEW.level THEN
        need := ARRAY['created', 'retriggered', 'escalated'];
        what := 'a change of level';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM qf.finding_event e
                    WHERE e.finding_id OPERATOR(pg_catalog.=) NEW.id
                      AND e.at OPERATOR(pg_catalog.=) pg_catalog.now()
                      AND (need IS NULL OR e.action OPERATOR(pg_catalog.=) ANY (need))) THEN
        RAISE EXCEPTION 'finding %: % without its history event', NEW.id, what
              USING ERRCODE = '42501',
                    HINT = 'findings change through the engine''s writes or the qf.finding_* step functions';
    END IF;
    RETURN NULL;
END
$$;

-- ---- the steps ----

-- The finding p_id locked for a step, when the caller may see it.
CREATE FUNCTION qf.disposal_take(p_id bigint) RETURNS qf.finding
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f qf.finding;
BEGIN
    IF p_id IS NULL THEN
        RAISE EXCEPTION 'a finding id is required' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO f FROM qf.finding x WHERE x.id OPERATOR(pg_catalog.=) p_id FOR UPDATE;
    IF NOT FOUND OR NOT qf.visible(f.department, f.supervision) THEN
        RAISE EXCEPTION 'no finding % within your scope (没有该风险点，或不在您的查阅范围内)', p_id
              USING ERRCODE = 'P0002';
    END IF;
    RETURN f;
END
$$;

-- Whether the session user is exempt from the role and four-eyes checks:
-- the schema's owner (and superusers), as for the history check, sql/017.
CREATE FUNCTION qf.disposal_exempt() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.pg_has_role(session_user, c.relowner, 'MEMBER')
      FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) 'qf.finding'::pg_catalog.regclass
$$;

-- Whether the session user may act as the finding's owner: a member of
-- the owner role, an admin, or anyone in scope when it has no owner.
CREATE FUNCTION qf.disposal_is_owner(p_owner text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT p_owner IS NULL
        OR pg_catalog.pg_has_role(session_user, 'qf_admin', 'MEMBER')
        OR qf.disposal_exempt()
        OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                    WHERE r.rolname OPERATOR(pg_catalog.=) p_owner
                      AND pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER'))
$$;

CREATE FUNCTION qf.disposal_event(p_id bigint, p_action text, p_level text, p_note text) RETURNS qf.finding_event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    e qf.finding_event;
BEGIN
    INSERT INTO qf.finding_event (finding_id, action, level, note)
    VALUES (p_id, p_action, p_level, p_note) RETURNING * INTO e;
    RETURN e;
END
$$;

-- 签收 sign for a finding: the owner (a member of its owner role) or an
-- admin; anyone in scope when it has no owner.
CREATE FUNCTION qf.finding_ack(p_id bigint, p_note text) RETURNS qf.finding_event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f qf.finding := qf.disposal_take(p_id);
BEGIN
    IF f.status OPERATOR(pg_catalog.<>) 'open' THEN
        RAISE EXCEPTION 'finding % is already signed for (status %); nothing to sign (已签收)', p_id, f.status
              USING ERRCODE = '55000';
    END IF;
    IF NOT qf.disposal_is_owner(f.owner) THEN
        RAISE EXCEPTION 'finding % belongs to %: only a member of that role or a qf_admin may sign for it (只有责任人可以签收)',
              p_id, f.owner USING ERRCODE = '42501';
    END IF;
    UPDATE qf.finding x SET status = 'acknowledged', acknowledged_at = qf.clock_now(), acknowledged_by = session_user
     WHERE x.id OPERATOR(pg_catalog.=) p_id;
    RETURN qf.disposal_event(p_id, 'acknowledged', f.level, NULLIF(pg_catalog.btrim(p_note), ''));
END
$$;

-- 反馈 feedback: what the check found and what was done, by whoever
-- checked it, on a signed finding. The event's note carries both.
CREATE FUNCTION qf.finding_feedback(p_id bigint, p_outcome text, p_disposition text, p_note text)
RETURNS qf.finding_event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f qf.finding;
BEGIN
    IF p_outcome IS NULL OR NOT p_outcome OPERATOR(pg_catalog.=) ANY (ARRAY['substantiated', 'partly', 'unfounded']) THEN
        RAISE EXCEPTION 'unknown outcome "%": use substantiated (属实), partly (部分属实) or unfounded (不属实)',
              coalesce(p_outcome, '') USING ERRCODE = '22023';
    END IF;
    IF p_disposition IS NULL OR NOT p_disposition OPERATOR(pg_catalog.=) ANY
           (ARRAY['talk', 'criticism', 'admonish', 'transfer', 'rectify', 'none']) THEN
        RAISE EXCEPTION 'unknown disposition "%": use talk (谈话提醒), criticism (批评教育), admonish (诫勉), transfer (移交), rectify (责令整改) or none (予以了结)',
              coalesce(p_disposition, '') USING ERRCODE = '22023';
    END IF;
    IF p_note IS NULL OR pg_catalog.btrim(p_note) OPERATOR(pg_catalog.=) '' THEN
        RAISE EXCEPTION 'feedback needs a note saying what the check found (反馈须填写核查情况)' USING ERRCODE = '22023';
    END IF;
    f := qf.disposal_take(p_id);
    IF f.status OPERATOR(pg_catalog.=) 'open' THEN
        RAISE EXCEPTION 'finding % is not signed for yet: sign for it first (qfctl findings ack) (请先签收)', p_id
              USING ERRCODE = '55000';
    ELSIF f.status OPERATOR(pg_catalog.<>) 'acknowledged' THEN
        RAISE EXCEPTION 'finding % already has its feedback (status %): close or reopen it (已反馈或已办结)', p_id, f.status
              USING ERRCODE = '55000';
    END IF;
    UPDATE qf.finding x SET status = 'reported', outcome = p_outcome, disposition = p_disposition,
                            feedback_by = session_user, feedback_at = qf.clock_now()
     WHERE x.id OPERATOR(pg_catalog.=) p_id;
    RETURN qf.disposal_event(p_id, 'reported', f.level,
                             pg_catalog.format('outcome %s, disposition %s: %s', p_outcome, p_disposition, p_note));
END
$$;

-- Whether four eyes are on (disposal.four_eyes; on unless the engine
-- synced false).
CREATE FUNCTION qf.disposal_four_eyes() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT s.value OPERATOR(pg_catalog.<>) 'false' FROM qf.setting s
                      WHERE s.name OPERATOR(pg_catalog.=) 'disposal.four_eyes'), true)
$$;

-- 办结 close a reported finding: resolved when the outcome is
-- substantiated or partly, dismissed when unfounded; under four eyes not
-- by the role that gave the feedback.
CREATE FUNCTION qf.finding_close(p_id bigint, p_note text) RETURNS qf.finding_event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f qf.finding := qf.disposal_take(p_id);
    st pg_catalog.text;
BEGIN
    IF f.status OPERATOR(pg_catalog.=) ANY (ARRAY['resolved', 'dismissed']) THEN
        RAISE EXCEPTION 'finding % is already closed (%) (已办结)', p_id, f.status USING ERRCODE = '55000';
    ELSIF f.status OPERATOR(pg_catalog.<>) 'reported' THEN
        RAISE EXCEPTION 'finding % has no feedback yet (status %): give feedback first (qfctl findings feedback) (请先反馈)',
              p_id, f.status USING ERRCODE = '55000';
    END IF;
    IF qf.disposal_four_eyes() AND f.feedback_by OPERATOR(pg_catalog.=) session_user AND NOT qf.disposal_exempt() THEN
        RAISE EXCEPTION 'four eyes: % gave the feedback of finding %, so another role must close it (四眼原则：反馈人不能办结)',
              session_user, p_id USING ERRCODE = '42501';
    END IF;
    st := CASE WHEN f.outcome OPERATOR(pg_catalog.=) 'unfounded' THEN 'dismissed' ELSE 'resolved' END;
    UPDATE qf.finding x SET status = st, closed_at = qf.clock_now(), closed_by = session_user
     WHERE x.id OPERATOR(pg_catalog.=) p_id;
    RETURN qf.disposal_event(p_id, st, f.level, NULLIF(pg_catalog.btrim(p_note), ''));
END
$$;

-- 重新打开 reopen a closed (or reported) finding: back to acknowledged,
-- its feedback cleared (kept in the history), a fresh close deadline of
-- its level counted from now.
CREATE FUNCTION qf.finding_reopen(p_id bigint, p_note text) RETURNS qf.finding_event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f qf.finding;
BEGIN
    IF p_note IS NULL OR pg_catalog.btrim(p_note) OPERATOR(pg_catalog.=) '' THEN
        RAISE EXCEPTION 'reopening needs a note saying why (请说明重新打开的原因)' USING ERRCODE = '22023';
    END IF;
    f := qf.disposal_take(p_id);
    IF NOT f.status OPERATOR(pg_catalog.=) ANY (ARRAY['reported', 'resolved', 'dismissed']) THEN
        RAISE EXCEPTION 'finding % is not closed or reported (status %): nothing to reopen', p_id, f.status
              USING ERRCODE = '55000';
    END IF;
    UPDATE qf.finding x
       SET status = 'acknowledged', outcome = NULL, disposition = NULL, feedback_by = NULL, feedback_at = NULL,
           closed_at = NULL, closed_by = NULL, overdue_at = NULL, overdue_step = NULL,
           acknowledged_at = coalesce(x.acknowledged_at, qf.clock_now()),
           close_due = CASE WHEN x.close_due IS NULL THEN NULL
                            ELSE qf.add_workdays(qf.clock_now(), (qf.disposal_days(x.level))[2]) END
     WHERE x.id OPERATOR(pg_catalog.=) p_id;
    RETURN qf.disposal_event(p_id, 'reopened', f.level, p_note);
END
$$;

-- 转办 assign: a new owner (a role that exists), by an admin or the
-- present owner, while the finding is not closed.
CREATE FUNCTION qf.finding_assign(p_id bigint, p_to text, p_note text) RETURNS qf.finding_event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f qf.finding;
BEGIN
    IF p_to IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) p_to) THEN
        RAISE EXCEPTION 'no role "%" to assign to (没有该角色)', coalesce(p_to, '') USING ERRCODE = '22023';
    END IF;
    IF p_note IS NULL OR pg_catalog.btrim(p_note) OPERATOR(pg_catalog.=) '' THEN
        RAISE EXCEPTION 'assigning needs a note saying why (请说明转办原因)' USING ERRCODE = '22023';
    END IF;
    f := qf.disposal_take(p_id);
    IF f.status OPERATOR(pg_catalog.=) ANY (ARRAY['resolved', 'dismissed']) THEN
        RAISE EXCEPTION 'finding % is closed (%): reopen it before assigning it', p_id, f.status USING ERRCODE = '55000';
    END IF;
    IF f.owner IS NOT DISTINCT FROM p_to THEN
        RAISE EXCEPTION 'finding % is already owned by %', p_id, p_to USING ERRCODE = '22023';
    END IF;
    IF NOT (pg_catalog.pg_has_role(session_user, 'qf_admin', 'MEMBER') OR qf.disposal_exempt()
            OR (f.owner IS NOT NULL AND qf.disposal_is_owner(f.owner))) THEN
        RAISE EXCEPTION 'only a qf_admin or the present owner (%) may assign finding % (只有管理员或责任人可以转办)',
              coalesce(f.owner, 'none'), p_id USING ERRCODE = '42501';
    END IF;
    UPDATE qf.finding x SET owner = p_to WHERE x.id OPERATOR(pg_catalog.=) p_id;
    RETURN qf.disposal_event(p_id, 'assigned', f.level,
                             pg_catalog.format('from %s to %s: %s', coalesce(f.owner, '-'), p_to, p_note));
END
$$;

-- The old single-step status change (qfctl findings ack|resolve|dismiss|
-- reopen) through the steps: resolve and dismiss are a feedback
-- (substantiated / unfounded, disposition none) and a close in one step,
-- which four eyes forbid to one role; reopen returns to acknowledged.
CREATE OR REPLACE FUNCTION qf.set_finding_status(p_id bigint, p_status text, p_note text) RETURNS qf.finding_event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f qf.finding;
    v_outcome pg_catalog.text;
BEGIN
    IF NOT p_status OPERATOR(pg_catalog.=) ANY (ARRAY['acknowledged', 'resolved', 'dismissed', 'open'])
       OR p_status IS NULL THEN
        RAISE EXCEPTION 'unknown status %', p_status USING ERRCODE = '22023';
    END IF;
    IF p_note IS NULL OR pg_catalog.btrim(p_note) OPERATOR(pg_catalog.=) '' THEN
        RAISE EXCEPTION 'a note is required' USING ERRCODE = '22023';
    END IF;
    IF p_status OPERATOR(pg_catalog.=) 'acknowledged' THEN
        RETURN qf.finding_ack(p_id, p_note);
    ELSIF p_status OPERATOR(pg_catalog.=) 'open' THEN
        RETURN qf.finding_reopen(p_id, p_note);
    END IF;
    f := qf.disposal_take(p_id);
    v_outcome := CASE p_status WHEN 'resolved' THEN 'substantiated' ELSE 'unfounded' END;
    IF f.status OPERATOR(pg_catalog.=) p_status THEN
        RAISE EXCEPTION 'finding % is already %', p_id, p_status USING ERRCODE = '55000';
    ELSIF f.status OPERATOR(pg_catalog.=) 'reported' THEN
        IF (f.outcome OPERATOR(pg_catalog.=) 'unfounded') OPERATOR(pg_catalog.<>) (v_outcome OPERATOR(pg_catalog.=) 'unfounded') THEN
            RAISE EXCEPTION 'finding %''s feedback says %: closing it makes it %, not %', p_id, f.outcome,
                  CASE f.outcome WHEN 'unfounded' THEN 'dismissed' ELSE 'resolved' END, p_status USING ERRCODE = '55000';
        END IF;
        RETURN qf.finding_close(p_id, p_note);
    ELSIF NOT f.status OPERATOR(pg_catalog.=) ANY (ARRAY['open', 'acknowledged']) THEN
        RAISE EXCEPTION 'finding % is already closed (%)', p_id, f.status USING ERRCODE = '55000';
    END IF;
    IF qf.disposal_four_eyes() AND NOT qf.disposal_exempt() THEN
        RAISE EXCEPTION 'four eyes: % would give the feedback of finding % and close it in one step; give feedback (qfctl findings feedback) and have another role close it (四眼原则)',
              session_user, p_id USING ERRCODE = '42501';
    END IF;
    -- from open the one step also signs for it: the owner's to do
    IF f.status OPERATOR(pg_catalog.=) 'open' AND NOT qf.disposal_is_owner(f.owner) THEN
        RAISE EXCEPTION 'finding % belongs to %: only a member of that role or a qf_admin may sign for it (只有责任人可以签收)',
              p_id, f.owner USING ERRCODE = '42501';
    END IF;
    UPDATE qf.finding x SET status = 'reported', outcome = v_outcome, disposition = 'none',
                            feedback_by = session_user, feedback_at = qf.clock_now(),
                            acknowledged_at = coalesce(x.acknowledged_at, qf.clock_now()),
                            acknowledged_by = coalesce(x.acknowledged_by, session_user)
     WHERE x.id OPERATOR(pg_catalog.=) p_id;
    PERFORM qf.disposal_event(p_id, 'reported', f.level,
                              pg_catalog.format('outcome %s, disposition none: %s', v_outcome, p_note));
    UPDATE qf.finding x SET status = p_status, closed_at = qf.clock_now(), closed_by = session_user
     WHERE x.id OPERATOR(pg_catalog.=) p_id;
    RETURN qf.disposal_event(p_id, p_status, f.level, p_note);
END
$$;

-- The steps the session user may take on finding p_id now, as the step
-- functions would judge them (scope, role, stage, four eyes): for the
-- console to offer only those. Empty when the finding is not visible.
CREATE FUNCTION qf.disposal_actions(p_id bigint) RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f qf.finding;
    a pg_catalog.text[] := '{}';
    admin pg_catalog.bool := pg_catalog.pg_has_role(session_user, 'qf_admin', 'MEMBER') OR qf.disposal_exempt();
BEGIN
    SELECT * INTO f FROM qf.finding x WHERE x.id = p_id;
    IF NOT FOUND OR NOT qf.visible(f.department, f.supervision) THEN
        RETURN a;
    END IF;
    IF f.status = 'open' AND qf.disposal_is_owner(f.owner) THEN
        a := a || 'ack'::pg_catalog.text;
    END IF;
    IF f.status = 'acknowledged' THEN
        a := a || 'feedback'::pg_catalog.text;
    END IF;
    IF f.status = 'reported' AND (NOT qf.disposal_four_eyes() OR f.feedback_by IS DISTINCT FROM session_user
                                  OR qf.disposal_exempt()) THEN
        a := a || 'close'::pg_catalog.text;
    END IF;
    IF f.status = ANY (ARRAY['reported', 'resolved', 'dismissed']) THEN
        a := a || 'reopen'::pg_catalog.text;
    END IF;
    IF NOT f.status = ANY (ARRAY['resolved', 'dismissed']) AND (admin OR (f.owner IS NOT NULL AND qf.disposal_is_owner(f.owner))) THEN
        a := a || 'assign'::pg_catalog.text;
    END IF;
    RETURN a;
END
$$;

-- ---- what the views, the report and the console read ----

-- The handling light (时限灯) at instant t: none for a closed finding; red
-- once a deadline of a step not done has passed; yellow when the next one
-- falls before `soon` (one workday ahead of t); else green.
CREATE FUNCTION qf.disposal_light(p_status text, p_sign_due timestamptz, p_close_due timestamptz,
                                  t timestamptz, soon timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_status IN ('resolved', 'dismissed') THEN NULL
                WHEN (p_status = 'open' AND p_sign_due < t) OR p_close_due < t THEN 'red'
                WHEN (p_status = 'open' AND p_sign_due <= soon) OR p_close_due <= soon THEN 'yellow'
                ELSE 'green' END
$$;

-- The step a late finding is late for, at instant t: close before sign
-- (the later deadline passed too), or NULL when it is not late.
CREATE FUNCTION qf.disposal_late_step(p_status text, p_sign_due timestamptz, p_close_due timestamptz, t timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_status IN ('open', 'acknowledged', 'reported') AND p_close_due < t THEN 'close'
                WHEN p_status = 'open' AND p_sign_due < t THEN 'sign' END
$$;

-- New columns go last, so the views keep their column order.
CREATE OR REPLACE VIEW qf.v_findings WITH (security_invoker = true) AS
SELECT f.id, f.rule_id, f.title, f.level, f.supervision, f.risk, f.duty, f.subject, f.department, f.status,
       f.first_seen, f.last_seen, f.hit_count, f.evidence, f.message,
       now() - f.first_seen AS age,
       (SELECT min(e.at) FROM qf.finding_event e
         WHERE e.finding_id = f.id AND e.action IN ('resolved', 'dismissed')) AS closed_at,
       round((extract(epoch FROM now() - f.first_seen) / 86400)::numeric, 2) AS age_days,
       f.owner, f.sign_due, f.close_due,
       qf.disposal_light(f.status, f.sign_due, f.close_due, (SELECT qf.clock_now()),
                         (SELECT qf.add_workdays(qf.clock_now(), 1))) AS light,
       f.outcome, f.disposition, f.acknowledged_at, f.acknowledged_by, f.feedback_by, f.feedback_at, f.closed_by,
       f.closed_at AS disposal_closed_at
  FROM qf.finding f;
CREATE OR REPLACE VIEW qf.v_findings_open WITH (security_invoker = true) AS
SELECT * FROM qf.v_findings WHERE status IN ('open', 'acknowledged', 'reported');

-- 督办 the findings late now (engine clock), with the step, the deadline
-- and how many days late; the clock's overdue alerts say the same.
CREATE VIEW qf.v_findings_overdue WITH (security_invoker = true) AS
SELECT x.id, x.rule_id, x.title, x.level, x.department, x.owner, x.status, x.deadline, x.due,
       round((extract(epoch FROM x.t - x.due) / 86400)::numeric, 1) AS days_late
  FROM (SELECT f.*, c.t, qf.disposal_late_step(f.status, f.sign_due, f.close_due, c.t) AS deadline,
               CASE qf.disposal_late_step(f.status, f.sign_due, f.close_due, c.t)
                    WHEN 'close' THEN f.close_due ELSE f.sign_due END AS due
          FROM qf.finding f CROSS JOIN (SELECT qf.clock_now() AS t OFFSET 0) c
         WHERE (f.status = 'open' AND f.sign_due < c.t)
            OR (f.status IN ('open', 'acknowledged', 'reported') AND f.close_due < c.t)) x;
GRANT SELECT ON qf.v_findings_overdue TO qf_auditor, qf_admin, qf_engine;

-- The monthly measures (DISPOSAL.md "Measures"), for [p_from, p_to), over
-- the findings the caller may see (row-level security applies: this runs
-- as the caller). Grouped over everything ('all'), per rule and per
-- department:
--   closed                findings closed in the period
--   substantiated         of those, outcome substantiated or partly
--   substantiation_rate   查实率: substantiated / closed, percent, NULL when none closed
--   closed_on_time        of those closed, closed by their close_due
--   signed                findings signed for in the period
--   signed_on_time        of those, signed by their sign_due
--   overdue_now           findings late now (engine clock), whatever the period
--   median_days_to_close  of those closed, days from first seen to closed
CREATE FUNCTION qf.disposal_measures(p_from timestamptz, p_to timestamptz)
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

-- The finding as webhooks carry it, with its owner and deadlines.
CREATE OR REPLACE FUNCTION qf.finding_payload(f qf.finding) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', f.id, 'rule_id', f.rule_id, 'title', f.title, 'level', f.level,
             'supervision', f.supervision, 'risk', f.risk, 'duty', f.duty, 'subject', f.subject,
             'department', f.department, 'status', f.status, 'first_seen', f.first_seen,
             'last_seen', f.last_seen, 'hit_count', f.hit_count, 'evidence', f.evidence,
             'message', f.message, 'tags', to_jsonb(f.tags), 'rule_version', f.rule_version,
             'owner', f.owner, 'sign_due', f.sign_due, 'close_due', f.close_due)
$$;

-- ---- privileges ----
REVOKE ALL ON FUNCTION qf.clock_now(), qf.clock_offset(), qf.workday_add(date, integer),
       qf.add_workdays(timestamptz, integer), qf.disposal_days(text), qf.disposal_owner(text),
       qf.finding_disposal(), qf.disposal_take(bigint), qf.disposal_exempt(), qf.disposal_is_owner(text),
       qf.disposal_event(bigint, text, text, text), qf.disposal_four_eyes(),
       qf.finding_ack(bigint, text), qf.finding_feedback(bigint, text, text, text), qf.finding_close(bigint, text),
       qf.finding_reopen(bigint, text), qf.finding_assign(bigint, text, text),
       qf.disposal_light(text, timestamptz, timestamptz, timestamptz, timestamptz),
       qf.disposal_late_step(text, timestamptz, timestamptz, timestamptz),
       qf.disposal_measures(timestamptz, timestamptz), qf.disposal_actions(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION qf.finding_ack(bigint, text), qf.finding_feedback(bigint, text, text, text),
      qf.finding_close(bigint, text), qf.finding_reopen(bigint, text), qf.finding_assign(bigint, text, text),
      qf.disposal_actions(bigint) TO qf_auditor, qf_admin;
GRANT EXECUTE ON FUNCTION qf.clock_now(), qf.clock_offset(), qf.add_workdays(timestamptz, integer),
      qf.workday_add(date, integer), qf.disposal_days(text), qf.disposal_four_eyes(),
      qf.disposal_light(text, timestamptz, timestamptz, timestamptz, timestamptz),
      qf.disposal_late_step(text, timestamptz, timestamptz, timestamptz),
      qf.disposal_measures(timestamptz, timestamptz) TO qf_auditor, qf_admin, qf_engine;
GRANT EXECUTE ON FUNCTION qf.disposal_owner(text) TO qf_engine;

-- ---- what BI clients and auditors read ----
COMMENT ON COLUMN qf.finding.owner IS '责任人(处置) owner: the PostgreSQL role that must sign for and handle it (disposal.owners at creation; qf.finding_assign changes it)';
COMMENT ON COLUMN qf.finding.sign_due IS '签收时限 sign-for deadline: first_seen plus the level''s sign workdays (red 1, orange 2, yellow 3), at the same local time';
COMMENT ON COLUMN qf.finding.close_due IS '办结时限 close deadline: first_seen plus the level''s close workdays (red 10, orange 20, yellow 30); a reopened finding gets a fresh one';
COMMENT ON COLUMN qf.finding.acknowledged_at IS '签收时间 when it was signed for (engine clock)';
COMMENT ON COLUMN qf.finding.acknowledged_by IS '签收人 the role that signed for it';
COMMENT ON COLUMN qf.finding.outcome IS '核查结论 outcome: substantiated 属实, partly 部分属实, unfounded 不属实';
COMMENT ON COLUMN qf.finding.disposition IS '处置方式 disposition: talk 谈话提醒, criticism 批评教育, admonish 诫勉, transfer 移交/移送, rectify 责令整改, none 予以了结';
COMMENT ON COLUMN qf.finding.feedback_by IS '反馈人 the role that gave the feedback (four eyes: it may not close)';
COMMENT ON COLUMN qf.finding.feedback_at IS '反馈时间 when the feedback was given (engine clock)';
COMMENT ON COLUMN qf.finding.closed_at IS '办结时间 when it was last closed (engine clock)';
COMMENT ON COLUMN qf.finding.closed_by IS '办结人 the role that closed it';
COMMENT ON COLUMN qf.finding.overdue_at IS '督办时间 when the last overdue event was written';
COMMENT ON COLUMN qf.finding.overdue_step IS '督办环节 the step that last overdue event was for: sign or close';
COMMENT ON COLUMN qf.finding.status IS '处置状态 status: open 待签收, acknowledged 已签收/核查中, reported 已反馈, resolved 办结(属实), dismissed 办结(不属实)';

COMMENT ON VIEW qf.v_findings_open IS '未办结风险点 findings still open, acknowledged or reported, for BI tools';
COMMENT ON VIEW qf.v_findings_overdue IS '督办 findings late now (engine clock): the step (sign or close), its deadline, days late, owner';
COMMENT ON COLUMN qf.v_findings.light IS '时限灯 handling light: green on time, yellow the next deadline within one workday, red a deadline passed with its step not done; NULL once closed (engine clock)';
COMMENT ON COLUMN qf.v_findings_open.light IS '时限灯 handling light: green on time, yellow the next deadline within one workday, red a deadline passed with its step not done (engine clock)';
COMMENT ON COLUMN qf.v_findings.disposal_closed_at IS '办结时间 when it was last closed (engine clock; closed_at is the first closure''s history time)';
COMMENT ON COLUMN qf.v_findings_open.disposal_closed_at IS '办结时间 NULL here: these findings are not closed';
COMMENT ON COLUMN qf.v_findings_overdue.deadline IS '逾期环节 the deadline missed: sign (签收) or close (办结)';
COMMENT ON COLUMN qf.v_findings_overdue.due IS '时限 that deadline';
COMMENT ON COLUMN qf.v_findings_overdue.days_late IS '逾期天数 days since it passed (calendar days, one decimal)';
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT c.relname, a.attname, col_description('qf.finding'::regclass, fa.attnum) AS d
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               JOIN pg_attribute fa ON fa.attrelid = 'qf.finding'::regclass AND fa.attname = a.attname
              WHERE n.nspname = 'qf' AND c.relname IN ('v_findings', 'v_findings_open', 'v_findings_overdue')
                AND col_description(c.oid, a.attnum) IS NULL LOOP
        EXECUTE format('COMMENT ON COLUMN qf.%I.%I IS %L', v.relname, v.attname, v.d);
    END LOOP;
END
$$;

COMMENT ON FUNCTION qf.finding_ack(bigint, text) IS '签收 sign for finding ID (its owner or an admin), with an optional note; recorded in the history under your role';
COMMENT ON FUNCTION qf.finding_feedback(bigint, text, text, text) IS '反馈 give the outcome (substantiated|partly|unfounded) and disposition (talk|criticism|admonish|transfer|rectify|none) of a signed finding, with a note';
COMMENT ON FUNCTION qf.finding_close(bigint, text) IS '办结 close a reported finding (resolved, or dismissed when unfounded); under four eyes not by the role that gave the feedback';
COMMENT ON FUNCTION qf.finding_reopen(bigint, text) IS '重新打开 return a reported or closed finding to acknowledged, with a note; a fresh close deadline';
COMMENT ON FUNCTION qf.finding_assign(bigint, text, text) IS '转办 give finding ID a new owner role, with a note (an admin or the present owner)';
COMMENT ON FUNCTION qf.set_finding_status(bigint, text, text) IS '处置 the one-step status change of qfctl ack|resolve|dismiss|reopen: resolve and dismiss are feedback and close in one step (refused under four eyes)';
COMMENT ON FUNCTION qf.disposal_measures(timestamptz, timestamptz) IS '处置指标 the monthly measures for [from, to) within your scope, overall, per rule and per department: closed, 查实率, closed and signed on time, overdue now, median days to close';
COMMENT ON FUNCTION qf.disposal_actions(bigint) IS '可办理 the steps (ack, feedback, close, reopen, assign) you may take on finding ID now: scope, role, stage and four eyes as the step functions judge them';
COMMENT ON FUNCTION qf.clock_now() IS 'the engine''s clock: now(), moved by qingfengd --clock (engine.clock_offset)';
COMMENT ON FUNCTION qf.add_workdays(timestamptz, integer) IS 'the instant n workdays (records.workday over Mon-Fri) after t, at the same local time';
COMMENT ON FUNCTION qf.workday_add(date, integer) IS 'the day n workdays (records.workday over Mon-Fri) after d';
COMMENT ON FUNCTION qf.disposal_days(text) IS '[sign, close] workdays of a level (disposal.deadlines)';
COMMENT ON FUNCTION qf.disposal_light(text, timestamptz, timestamptz, timestamptz, timestamptz) IS '时限灯 the handling light of a finding at an instant';
COMMENT ON FUNCTION qf.disposal_late_step(text, timestamptz, timestamptz, timestamptz) IS 'the step a finding is late for at an instant (close, sign) or NULL';
