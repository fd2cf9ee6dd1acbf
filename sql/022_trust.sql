-- Watching the watchers (issue 24, TRUST.md).
--
-- The history chain proved that findings were not edited; it said nothing
-- of the easier ways to make a risk disappear: a silence, a threshold
-- raised in the overrides, the daemon stopped for a weekend, the flagged
-- payment itself edited, or the owner rewriting the chain consistently.
--
-- 1. Control events: every change of the control surface is an event of
--    the same chain, with no finding, a kind (action) and what changed
--    (detail): silences, settings, the daemon's start, reload, clean stop
--    and unclean last stop, the effective rule set, auditor scopes.
-- 2. Four eyes: a silence holds back a red or disciplinary finding's
--    alert only once a second qf_admin approved it (qf.silence_approve).
-- 3. Sealed evidence: the canonical row (form 2) of created and
--    retriggered events covers the sha256 of the evidence as written,
--    which the event keeps; verification recomputes it and compares each
--    finding's evidence with what its last such event sealed.
-- 4. Evidence watched: a source record named by a finding that is
--    updated or deleted afterwards writes an evidence_changed event, in
--    the changing transaction, with the old and new values.
-- 5. Anchors: qf.chain_contains() proves an anchored head still belongs
--    to the chain; the daemon sends heads to receivers outside the database.
--
-- Events written before this migration keep their form (1) and verify as
-- before; the trigger writes form 2 from now on, and a form-1 event after a
-- form-2 one is itself a break.

-- ---- settings the engine syncs from its configuration ----
-- (the same definition as branch "disposal" creates; whichever runs first)
CREATE TABLE IF NOT EXISTS qf.setting (
    name   text PRIMARY KEY,
    value  text NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now(),
    set_by text NOT NULL DEFAULT session_user
);
GRANT SELECT, INSERT, UPDATE ON qf.setting TO qf_engine;
GRANT SELECT ON qf.setting TO qf_auditor, qf_admin;
COMMENT ON TABLE qf.setting IS '设置 settings the engine takes from its configuration at start and reload (e.g. silence.four_eyes); every change is a control event of the history chain';
COMMENT ON COLUMN qf.setting.name IS '名称 the setting''s name, as in qingfeng.conf';
COMMENT ON COLUMN qf.setting.value IS '值 its value, as text';
COMMENT ON COLUMN qf.setting.set_at IS '设置时间 when it was last set';
COMMENT ON COLUMN qf.setting.set_by IS '设置人 the role that last set it';

-- ---- the history: form, detail, sealed evidence ----
ALTER TABLE qf.finding_event ADD COLUMN form smallint NOT NULL DEFAULT 1;
ALTER TABLE qf.finding_event ALTER COLUMN form SET DEFAULT 2;
ALTER TABLE qf.finding_event ADD COLUMN detail jsonb;
ALTER TABLE qf.finding_event ADD COLUMN evidence jsonb;
COMMENT ON COLUMN qf.finding_event.form IS '格式 the canonical form the hash covers: 1 before schema 22, 2 since (adds detail and the sha256 of the evidence)';
COMMENT ON COLUMN qf.finding_event.detail IS '详情 what a control event changed, or what an evidence_changed event saw (JSON)';
COMMENT ON COLUMN qf.finding_event.evidence IS '证据 the evidence as written, kept by created and retriggered events (form 2); its sha256 is in the hash';

ALTER TABLE qf.finding_event DROP CONSTRAINT IF EXISTS finding_event_action_check;
ALTER TABLE qf.finding_event ADD CONSTRAINT finding_event_action_check
    CHECK (action IN ('created', 'retriggered', 'escalated', 'reminded',
                      'acknowledged', 'resolved', 'dismissed', 'reopened', 'alert_requeued',
                      'assigned', 'reported', 'overdue', 'evidence_changed',
                      'scope_granted', 'scope_changed', 'scope_revoked',
                      'silence_added', 'silence_approved', 'silence_edited', 'silence_expired',
                      'setting_changed', 'rules_loaded',
                      'daemon_started', 'daemon_reloaded', 'daemon_stopped', 'daemon_unclean_stop'));
ALTER TABLE qf.finding_event DROP CONSTRAINT IF EXISTS finding_event_control_check;
ALTER TABLE qf.finding_event ADD CONSTRAINT finding_event_control_check
    CHECK ((finding_id IS NULL) = (action IN ('scope_granted', 'scope_changed', 'scope_revoked',
                                              'silence_added', 'silence_approved', 'silence_edited',
                                              'silence_expired', 'setting_changed', 'rules_loaded',
                                              'daemon_started', 'daemon_reloaded', 'daemon_stopped',
                                              'daemon_unclean_stop')));
COMMENT ON COLUMN qf.finding_event.action IS '动作 finding events: created, retriggered, escalated, reminded, acknowledged, resolved, dismissed, reopened, alert_requeued, evidence_changed; control events (no finding): scope_granted, scope_changed, scope_revoked, silence_added, silence_approved, silence_edited, silence_expired, setting_changed, rules_loaded, daemon_started, daemon_reloaded, daemon_stopped, daemon_unclean_stop';
COMMENT ON COLUMN qf.finding_event.finding_id IS '风险点编号 the finding, or NULL for a control event (qfctl audit log)';

-- Form 2: form 1's fields, then the detail and the sha256 of the evidence
-- text as written (NULL when the event seals none). No SET clause, so it
-- stays inlinable; every name is qualified for the definer functions.
CREATE FUNCTION qf.event_canonical2(seq bigint, id bigint, finding_id bigint, at timestamptz, actor text,
                                    action text, level text, note text, detail jsonb, evidence jsonb)
RETURNS pg_catalog.text LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.jsonb_build_array(2, seq, id, finding_id,
                 pg_catalog.to_char(pg_catalog.timezone('UTC', at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                 actor, action, level, note, detail,
                 pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(evidence::pg_catalog.text, 'UTF8')),
                                   'hex'))::pg_catalog.text
$$;
COMMENT ON FUNCTION qf.event_canonical2(bigint, bigint, bigint, timestamptz, text, text, text, text, jsonb, jsonb) IS
    'the canonical text of a form-2 history event, which the chain hashes (with the sha256 of the sealed evidence)';

-- The event trigger: actor, time, form and the sealed evidence are the
-- database's. A created or retriggered event seals the finding's evidence
-- as it is at that moment: the findings write inserts the finding before
-- its event in the same statement, and the trigger's query sees it.
-- A control event wakes the daemons (NOTIFY qingfeng 'qf.control'): they
-- send the new chain head to the anchor receivers.
CREATE OR REPLACE FUNCTION qf.finding_event_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    h_seq  pg_catalog.int8;
    h_hash pg_catalog.text;
    l_seq  pg_catalog.int8;
    l_hash pg_catalog.text;
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'qf.finding_event'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.finding_event_chain() is the trigger of qf.finding_event only';
    END IF;
    NEW.actor := session_user;
    NEW.at := pg_catalog.now();
    NEW.form := 2;
    IF NEW.action OPERATOR(pg_catalog.=) ANY (ARRAY['created', 'retriggered']::pg_catalog.text[]) THEN
        NEW.evidence := (SELECT f.evidence FROM qf.finding f WHERE f.id OPERATOR(pg_catalog.=) NEW.finding_id);
    ELSE
        NEW.evidence := NULL;
    END IF;
    SELECT h.seq, h.hash INTO h_seq, h_hash FROM qf.chain_head h FOR UPDATE;
    SELECT e.seq, e.hash INTO l_seq, l_hash
      FROM qf.finding_event e WHERE e.seq OPERATOR(pg_catalog.>) h_seq ORDER BY e.seq DESC LIMIT 1;
    IF FOUND THEN
        h_seq := l_seq;
        h_hash := l_hash;
    END IF;
    NEW.seq := h_seq OPERATOR(pg_catalog.+) 1;
    NEW.prev_hash := h_hash;
    NEW.hash := qf.event_hash(NEW.prev_hash,
                    qf.event_canonical2(NEW.seq, NEW.id, NEW.finding_id, NEW.at, NEW.actor, NEW.action,
                                        NEW.level, NEW.note, NEW.detail, NEW.evidence));
    IF NEW.finding_id IS NULL THEN
        PERFORM pg_catalog.pg_notify('qingfeng', 'qf.control');
    END IF;
    RETURN NEW;
END
$$;

-- The engine writes finding events only; its own control events go
-- through qf.daemon_* below, people's through the triggers of the tables
-- they change. (The owner, who runs those, is not subject to policies.)
CREATE POLICY event_engine_findings_only ON qf.finding_event AS RESTRICTIVE FOR INSERT TO qf_engine
    WITH CHECK (finding_id IS NOT NULL);

-- The first broken link: sequence, link, form, content; then a finding
-- whose evidence is not what its last sealing event sealed; then the head.
CREATE OR REPLACE FUNCTION qf.verify_chain(OUT seq bigint, OUT event_id bigint, OUT why text)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
SELECT x.seq, x.id, x.why FROM (
  SELECT e.seq, e.id,
         CASE WHEN e.seq <> pg_catalog.row_number() OVER w
              THEN 'sequence broken: expected ' || pg_catalog.row_number() OVER w || ' (an event is missing or moved)'
              WHEN e.prev_hash <> coalesce(pg_catalog.lag(e.hash) OVER w, pg_catalog.repeat('0', 64))
              THEN 'does not link to the event before it (one was deleted or reordered)'
              WHEN e.form < coalesce(pg_catalog.max(e.form) OVER p, e.form)
              THEN 'written in an older form than the events before it (its form was changed)'
              WHEN e.form NOT IN (1, 2)
              THEN 'unknown form ' || e.form
              WHEN e.hash <> qf.event_hash(e.prev_hash,
                                CASE WHEN e.form = 1
                                     THEN qf.event_canonical(e.seq, e.id, e.finding_id, e.at, e.actor, e.action,
                                                             e.level, e.note)
                                     ELSE qf.event_canonical2(e.seq, e.id, e.finding_id, e.at, e.actor, e.action,
                                                              e.level, e.note, e.detail, e.evidence) END)
              THEN 'its content does not match its hash (it was changed)' END AS why
    FROM qf.finding_event e
  WINDOW w AS (ORDER BY e.seq), p AS (ORDER BY e.seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) x
 WHERE x.why IS NOT NULL
UNION ALL
SELECT l.seq, l.id, 'finding ' || f.id || ': its evidence is not what this event sealed (changed afterwards)'
  FROM qf.finding f
  JOIN LATERAL (SELECT e.seq, e.id, e.form, e.evidence FROM qf.finding_event e
                 WHERE e.finding_id = f.id AND e.action IN ('created', 'retriggered')
                 ORDER BY e.seq DESC LIMIT 1) l ON l.form >= 2
 WHERE l.evidence IS DISTINCT FROM f.evidence
UNION ALL
SELECT h.seq, NULL, 'the chain head (seq ' || h.seq || ') does not match the last event'
  FROM qf.chain_head h
 WHERE NOT EXISTS (SELECT 1 FROM (SELECT e.seq, e.hash FROM qf.finding_event e ORDER BY e.seq DESC LIMIT 1) l
                    WHERE l.seq = h.seq AND l.hash = h.hash)
   AND NOT (h.seq = 0 AND NOT EXISTS (SELECT 1 FROM qf.finding_event))
 ORDER BY 1 LIMIT 1
$$;

-- An anchor (an event id and its hash, sent outside the database earlier)
-- still belongs to the chain: the event is there with that hash. With
-- qf.verify_chain() passing, the chain from it to the head is intact, so
-- everything up to the anchor is what it was when the anchor was sent.
-- Id 0 is the empty chain's head.
CREATE FUNCTION qf.chain_contains(p_id bigint, p_hash text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM qf.finding_event e
                    WHERE e.id OPERATOR(pg_catalog.=) p_id AND e.hash OPERATOR(pg_catalog.=) pg_catalog.lower(p_hash))
        OR (p_id OPERATOR(pg_catalog.=) 0 AND p_hash OPERATOR(pg_catalog.=) pg_catalog.repeat('0', 64))
$$;
COMMENT ON FUNCTION qf.chain_contains(bigint, text) IS
    '锚点 true when the chain still holds event p_id with hash p_hash (qfctl audit verify --anchor ID:HASH)';

-- The head to anchor: the newest event's id, seq and hash; seq is the
-- number of events (the chain has no gaps).
CREATE FUNCTION qf.chain_anchor(OUT id bigint, OUT seq bigint, OUT hash text, OUT events bigint,
                                OUT control_seq bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(e.id, 0), h.seq, h.hash, h.seq,
           (SELECT c.seq FROM qf.finding_event c WHERE c.finding_id IS NULL ORDER BY c.seq DESC LIMIT 1)
      FROM qf.chain_head h LEFT JOIN qf.finding_event e ON e.seq OPERATOR(pg_catalog.=) h.seq
$$;
COMMENT ON FUNCTION qf.chain_anchor() IS
    'the chain head to anchor outside the database: id, seq, hash, event count, and the seq of the newest control event';
CREATE INDEX IF NOT EXISTS finding_event_control ON qf.finding_event (seq) WHERE finding_id IS NULL;

-- ---- settings: every change is a control event ----
CREATE FUNCTION qf.setting_log() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'qf.setting'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.setting_log() is a trigger of qf.setting only';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.value IS NOT DISTINCT FROM NEW.value AND OLD.name IS NOT DISTINCT FROM NEW.name THEN
        RETURN NULL;
    END IF;
    INSERT INTO qf.finding_event (finding_id, action, detail)
    VALUES (NULL, 'setting_changed',
            pg_catalog.jsonb_build_object(
                'name', CASE WHEN TG_OP = 'DELETE' THEN OLD.name ELSE NEW.name END,
                'before', CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.value END,
                'after', CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.value END));
    RETURN NULL;
END
$$;
CREATE TRIGGER setting_log AFTER INSERT OR UPDATE OR DELETE ON qf.setting
    FOR EACH ROW EXECUTE FUNCTION qf.setting_log();

-- Four eyes on, unless the configuration said silence.four_eyes = false.
-- Inlinable (no SET): the alert writes call it per alert.
CREATE FUNCTION qf.four_eyes() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT s.value FROM qf.setting s WHERE s.name OPERATOR(pg_catalog.=) 'silence.four_eyes'),
                    'true') OPERATOR(pg_catalog.<>) 'false'
$$;
COMMENT ON FUNCTION qf.four_eyes() IS
    '四眼原则 whether a silence needs a second admin''s approval before it holds back a red or disciplinary finding';

-- ---- silences: approval, and every change in the chain ----
ALTER TABLE qf.silence ADD COLUMN approved_by text;
ALTER TABLE qf.silence ADD COLUMN approved_at timestamptz;
COMMENT ON COLUMN qf.silence.approved_by IS '批准人 the second admin who approved it (qfctl silence approve); until then it does not hold back red or disciplinary findings';
COMMENT ON COLUMN qf.silence.approved_at IS '批准时间 when it was approved';

-- Who added a silence and when are the database's; an approval is given
-- only by qf.silence_approve(), and a change of what a silence covers
-- (rule, person, department, from, until), or bringing an expired one
-- back, takes it back.
CREATE OR REPLACE FUNCTION qf.silence_stamp() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.created_by := session_user;
        NEW.created_at := pg_catalog.now();
        NEW.approved_by := NULL;
        NEW.approved_at := NULL;
    ELSE
        NEW.id := OLD.id;
        NEW.created_by := OLD.created_by;
        NEW.created_at := OLD.created_at;
        IF NEW.rule_id IS DISTINCT FROM OLD.rule_id OR NEW.subject IS DISTINCT FROM OLD.subject
           OR NEW.department IS DISTINCT FROM OLD.department OR NEW.starts_at IS DISTINCT FROM OLD.starts_at
           OR NEW.until IS DISTINCT FROM OLD.until
           OR (OLD.expired_at IS NOT NULL AND NEW.expired_at IS NULL) THEN
            NEW.approved_by := NULL;
            NEW.approved_at := NULL;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
REVOKE UPDATE ON qf.silence FROM qf_admin;
-- every column but the approval's (the stamp trigger keeps id and who
-- added it whatever an UPDATE says)
GRANT UPDATE (id, rule_id, subject, department, starts_at, until, reason, created_by, created_at, expired_at)
    ON qf.silence TO qf_admin;

CREATE FUNCTION qf.silence_log() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    act pg_catalog.text;
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'qf.silence'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.silence_log() is a trigger of qf.silence only';
    END IF;
    IF TG_OP = 'INSERT' THEN
        act := 'silence_added';
    ELSIF TG_OP = 'DELETE' THEN
        act := 'silence_edited';
    ELSIF OLD.approved_at IS NULL AND NEW.approved_at IS NOT NULL THEN
        act := 'silence_approved';
    ELSIF OLD.expired_at IS NULL AND NEW.expired_at IS NOT NULL THEN
        act := 'silence_expired';
    ELSIF pg_catalog.to_jsonb(OLD) OPERATOR(pg_catalog.=) pg_catalog.to_jsonb(NEW) THEN
        RETURN NULL;
    ELSE
        act := 'silence_edited';
    END IF;
    INSERT INTO qf.finding_event (finding_id, action, note, detail)
    VALUES (NULL, act, CASE WHEN TG_OP = 'DELETE' THEN OLD.reason ELSE NEW.reason END,
            pg_catalog.jsonb_build_object('silence', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
                'before', CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE pg_catalog.to_jsonb(OLD) END,
                'after', CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE pg_catalog.to_jsonb(NEW) END));
    RETURN NULL;
END
$$;
CREATE TRIGGER silence_log AFTER INSERT OR UPDATE OR DELETE ON qf.silence
    FOR EACH ROW EXECUTE FUNCTION qf.silence_log();

-- The second pair of eyes: another member of qf_admin than the one who
-- added it (session_user, checked here, not by the client).
CREATE FUNCTION qf.silence_approve(p_id bigint) RETURNS qf.silence
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s qf.silence;
BEGIN
    IF NOT pg_catalog.pg_has_role(session_user, 'qf_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'only a member of qf_admin approves silences' USING ERRCODE = '42501';
    END IF;
    SELECT * INTO s FROM qf.silence x WHERE x.id OPERATOR(pg_catalog.=) p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no silence %', p_id USING ERRCODE = 'P0002';
    END IF;
    IF s.expired_at IS NOT NULL OR s.until OPERATOR(pg_catalog.<=) pg_catalog.now() THEN
        RAISE EXCEPTION 'silence % has ended', p_id USING ERRCODE = '22023';
    END IF;
    IF s.approved_at IS NOT NULL THEN
        RAISE EXCEPTION 'silence % was approved already, by %', p_id, s.approved_by USING ERRCODE = '22023';
    END IF;
    IF s.created_by OPERATOR(pg_catalog.=) session_user THEN
        RAISE EXCEPTION 'silence %: % added it and cannot approve it too (four eyes: another admin must)',
              p_id, session_user USING ERRCODE = '42501';
    END IF;
    UPDATE qf.silence x SET approved_by = session_user, approved_at = pg_catalog.now()
     WHERE x.id OPERATOR(pg_catalog.=) p_id RETURNING * INTO s;
    RETURN s;
END
$$;
COMMENT ON FUNCTION qf.silence_approve(bigint) IS
    '批准屏蔽 approve a silence as a second qf_admin (not the one who added it); writes a silence_approved event';

-- ---- the daemon's own control events ----
-- One row per daemon identity (host and configuration): marked running at
-- start, cleared at a clean stop; a start that finds it still marked
-- records that the last run ended without one (kill -9, a crash, power).
CREATE TABLE qf.daemon_run (
    identity    text PRIMARY KEY,
    running     boolean NOT NULL,
    host        text,
    pid         integer,
    started_at  timestamptz NOT NULL,
    stopped_at  timestamptz,
    config_hash text,
    rules_hash  text,
    rules       jsonb
);
GRANT SELECT ON qf.daemon_run TO qf_engine, qf_admin;
COMMENT ON TABLE qf.daemon_run IS '引擎运行 one row per daemon (host and configuration): running or cleanly stopped, and the rule set it runs; written only by qf.daemon_started/_stopped/_rules';
COMMENT ON COLUMN qf.daemon_run.identity IS '标识 the daemon''s identity (audit.identity, default host:configuration path)';
COMMENT ON COLUMN qf.daemon_run.running IS '运行中 true from its start until its clean stop';
COMMENT ON COLUMN qf.daemon_run.host IS '主机 the host it runs on';
COMMENT ON COLUMN qf.daemon_run.pid IS '进程号 its process id';
COMMENT ON COLUMN qf.daemon_run.started_at IS '启动时间 when it last started';
COMMENT ON COLUMN qf.daemon_run.stopped_at IS '停止时间 when it last stopped cleanly';
COMMENT ON COLUMN qf.daemon_run.config_hash IS '配置哈希 sha256 of its configuration file';
COMMENT ON COLUMN qf.daemon_run.rules_hash IS '规则哈希 sha256 of its effective rule set (rules)';
COMMENT ON COLUMN qf.daemon_run.rules IS '规则 its effective rule set: per rule id, version, enabled, parameters and exceptions after the overrides';

CREATE FUNCTION qf.daemon_started(p_identity text, p_detail jsonb) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r qf.daemon_run;
    unclean pg_catalog.bool;
BEGIN
    IF NOT pg_catalog.pg_has_role(session_user, 'qf_engine', 'MEMBER') THEN
        RAISE EXCEPTION 'only the engine (qf_engine) records its start' USING ERRCODE = '42501';
    END IF;
    SELECT * INTO r FROM qf.daemon_run d WHERE d.identity OPERATOR(pg_catalog.=) p_identity FOR UPDATE;
    unclean := FOUND AND r.running;
    IF unclean THEN
        INSERT INTO qf.finding_event (finding_id, action, detail)
        VALUES (NULL, 'daemon_unclean_stop',
                pg_catalog.jsonb_build_object('identity', p_identity, 'host', r.host, 'pid', r.pid,
                                              'started_at', r.started_at,
                                              'found_by', p_detail));
    END IF;
    INSERT INTO qf.daemon_run AS d (identity, running, host, pid, started_at)
    VALUES (p_identity, true, p_detail OPERATOR(pg_catalog.->>) 'host',
            (p_detail OPERATOR(pg_catalog.->>) 'pid')::pg_catalog.int4, pg_catalog.now())
    ON CONFLICT (identity) DO UPDATE SET running = true, host = EXCLUDED.host, pid = EXCLUDED.pid,
                                         started_at = EXCLUDED.started_at;
    INSERT INTO qf.finding_event (finding_id, action, detail)
    VALUES (NULL, 'daemon_started', pg_catalog.jsonb_build_object('identity', p_identity)
                                    OPERATOR(pg_catalog.||) p_detail);
    RETURN unclean;
END
$$;

CREATE FUNCTION qf.daemon_stopped(p_identity text, p_detail jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT pg_catalog.pg_has_role(session_user, 'qf_engine', 'MEMBER') THEN
        RAISE EXCEPTION 'only the engine (qf_engine) records its stop' USING ERRCODE = '42501';
    END IF;
    UPDATE qf.daemon_run d SET running = false, stopped_at = pg_catalog.now()
     WHERE d.identity OPERATOR(pg_catalog.=) p_identity;
    INSERT INTO qf.finding_event (finding_id, action, detail)
    VALUES (NULL, 'daemon_stopped', pg_catalog.jsonb_build_object('identity', p_identity)
                                    OPERATOR(pg_catalog.||) p_detail);
END
$$;

-- The effective rule set, at start (p_reload false: always written) and
-- at a reload (written only when the configuration file or a rule
-- changed, with a daemon_reloaded event naming what changed). p_rules is
-- an object: rule id -> {version, enabled, params, exceptions, ...}.
CREATE FUNCTION qf.daemon_rules(p_identity text, p_reload boolean, p_config_hash text, p_rules jsonb,
                                p_detail jsonb) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r qf.daemon_run;
    known pg_catalog.bool;
    h pg_catalog.text := pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_rules::pg_catalog.text, 'UTF8')),
                                           'hex');
    changed pg_catalog.jsonb;
BEGIN
    IF NOT pg_catalog.pg_has_role(session_user, 'qf_engine', 'MEMBER') THEN
        RAISE EXCEPTION 'only the engine (qf_engine) records its rules' USING ERRCODE = '42501';
    END IF;
    SELECT * INTO r FROM qf.daemon_run d WHERE d.identity OPERATOR(pg_catalog.=) p_identity FOR UPDATE;
    known := FOUND;
    IF NOT known THEN
        -- qingfengd --once (cron) keeps its rule set here too, never running
        INSERT INTO qf.daemon_run (identity, running, host, pid, started_at)
        VALUES (p_identity, false, p_detail OPERATOR(pg_catalog.->>) 'host',
                (p_detail OPERATOR(pg_catalog.->>) 'pid')::pg_catalog.int4, pg_catalog.now());
    END IF;
    IF p_reload AND known AND r.config_hash IS NOT DISTINCT FROM p_config_hash
       AND r.rules_hash IS NOT DISTINCT FROM h THEN
        RETURN false;
    END IF;
    SELECT pg_catalog.jsonb_agg(k ORDER BY k) INTO changed
      FROM (SELECT coalesce(o.key, n.key) AS k
              FROM pg_catalog.jsonb_each(coalesce(r.rules, '{}'::pg_catalog.jsonb)) o
              FULL JOIN pg_catalog.jsonb_each(p_rules) n ON n.key OPERATOR(pg_catalog.=) o.key
             WHERE o.value IS DISTINCT FROM n.value) c;
    IF p_reload AND known THEN
        INSERT INTO qf.finding_event (finding_id, action, detail)
        VALUES (NULL, 'daemon_reloaded',
                pg_catalog.jsonb_build_object('identity', p_identity, 'config_hash', p_config_hash,
                    'config_changed', r.config_hash IS DISTINCT FROM p_config_hash,
                    'rules_changed', coalesce(changed, '[]'::pg_catalog.jsonb)) OPERATOR(pg_catalog.||) p_detail);
    END IF;
    INSERT INTO qf.finding_event (finding_id, action, detail)
    VALUES (NULL, 'rules_loaded',
            pg_catalog.jsonb_build_object('identity', p_identity, 'reason',
                                          CASE WHEN NOT p_reload THEN 'start' WHEN known THEN 'reload'
                                               ELSE 'first run' END,
                                          'config_hash', p_config_hash, 'rules_hash', h,
                                          'changed', coalesce(changed, '[]'::pg_catalog.jsonb),
                                          'rules', p_rules));
    UPDATE qf.daemon_run d SET config_hash = p_config_hash, rules_hash = h, rules = p_rules
     WHERE d.identity OPERATOR(pg_catalog.=) p_identity;
    RETURN true;
END
$$;

-- ---- evidence watched ----
-- The source records that findings name (the evidence's table and the
-- value of that table's capture key), kept by statement triggers on
-- qf.finding, so that the capture trigger looks for a changed record's
-- findings with one index probe per changed key, and keeps old values
-- only of those: a 100,000-row load of new records costs one probe of a
-- table that names none of them.
CREATE TABLE qf.evidence_ref (
    tbl        text NOT NULL,
    key        text NOT NULL,
    finding_id bigint NOT NULL,
    PRIMARY KEY (tbl, key, finding_id)
);
CREATE INDEX ON qf.evidence_ref (finding_id);
GRANT SELECT ON qf.evidence_ref TO qf_admin;
COMMENT ON TABLE qf.evidence_ref IS '证据记录 the source records findings name (table without schema, key value): a change to one writes an evidence_changed event';
COMMENT ON COLUMN qf.evidence_ref.tbl IS '表 the records table';
COMMENT ON COLUMN qf.evidence_ref.key IS '键 the value of the table''s capture key (qf.capture.key_col) in the evidence';
COMMENT ON COLUMN qf.evidence_ref.finding_id IS '风险点编号 the finding whose evidence names it';

CREATE FUNCTION qf.evidence_ref_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'qf.finding'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.evidence_ref_sync() is a trigger of qf.finding only';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM qf.evidence_ref r USING old_rows o JOIN new_rows n ON n.id OPERATOR(pg_catalog.=) o.id
         WHERE r.finding_id OPERATOR(pg_catalog.=) n.id AND o.evidence IS DISTINCT FROM n.evidence;
        INSERT INTO qf.evidence_ref (tbl, key, finding_id)
        SELECT c.tbl, n.evidence OPERATOR(pg_catalog.->>) c.key_col, n.id
          FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id
          JOIN qf.capture c ON 'records.' OPERATOR(pg_catalog.||) c.tbl
                               OPERATOR(pg_catalog.=) (n.evidence OPERATOR(pg_catalog.->>) 'table')
         WHERE o.evidence IS DISTINCT FROM n.evidence
           AND (n.evidence OPERATOR(pg_catalog.->>) c.key_col) IS NOT NULL
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO qf.evidence_ref (tbl, key, finding_id)
        SELECT c.tbl, n.evidence OPERATOR(pg_catalog.->>) c.key_col, n.id
          FROM new_rows n
          JOIN qf.capture c ON 'records.' OPERATOR(pg_catalog.||) c.tbl
                               OPERATOR(pg_catalog.=) (n.evidence OPERATOR(pg_catalog.->>) 'table')
         WHERE (n.evidence OPERATOR(pg_catalog.->>) c.key_col) IS NOT NULL
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER evidence_ref_ins AFTER INSERT ON qf.finding REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qf.evidence_ref_sync();
CREATE TRIGGER evidence_ref_upd AFTER UPDATE ON qf.finding REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qf.evidence_ref_sync();
INSERT INTO qf.evidence_ref (tbl, key, finding_id)
SELECT c.tbl, f.evidence ->> c.key_col, f.id
  FROM qf.finding f JOIN qf.capture c ON 'records.' || c.tbl = f.evidence ->> 'table'
 WHERE f.evidence ->> c.key_col IS NOT NULL
ON CONFLICT DO NOTHING;

-- The capture trigger, now also reading the rows as they were before an
-- update: a record that a finding names and that is updated or deleted
-- writes an evidence_changed event per finding, in the changing
-- transaction (so its actor is who changed it), with the columns that
-- changed (old and new) or the deleted row, and who the table says changed
-- it (a changed_by, updated_by or modified_by column). The daemon sends
-- the alerts (finding.evidence_changed). Old and new rows are paired by
-- the capture key, exact for the tables keyed by their primary key.
CREATE OR REPLACE FUNCTION qf.capture_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- TG_ARGV[0] is the key column; format(%I) quotes it
    IF TG_OP = 'DELETE' THEN
        EXECUTE pg_catalog.format(
            'INSERT INTO qf.change_log (tbl, op, keys, old_rows)'
            ' SELECT %L, ''d'', pg_catalog.array_agg(%I::pg_catalog.text), pg_catalog.jsonb_agg(pg_catalog.to_jsonb(o))'
            ' FROM old_rows o HAVING pg_catalog.count(*) > 0',
            TG_TABLE_NAME, TG_ARGV[0]);
    ELSIF TG_OP = 'UPDATE' THEN
        -- the rows an update replaced are kept, as sql/020 does: a row
        -- moved to another key makes the rules re-read the old key too
        EXECUTE pg_catalog.format(
            'INSERT INTO qf.change_log (tbl, op, keys, old_rows)'
            ' SELECT %L, ''u'', (SELECT pg_catalog.array_agg(%I::pg_catalog.text) FROM new_rows),'
            '        pg_catalog.jsonb_agg(pg_catalog.to_jsonb(o))'
            ' FROM old_rows o HAVING pg_catalog.count(*) > 0',
            TG_TABLE_NAME, TG_ARGV[0]);
    ELSE
        EXECUTE pg_catalog.format(
            'INSERT INTO qf.change_log (tbl, op, keys)'
            ' SELECT %L, ''i'', pg_catalog.array_agg(%I::pg_catalog.text) FROM new_rows HAVING pg_catalog.count(*) > 0',
            TG_TABLE_NAME, TG_ARGV[0]);
    END IF;
    IF TG_OP <> 'INSERT' AND EXISTS (SELECT 1 FROM qf.evidence_ref r WHERE r.tbl OPERATOR(pg_catalog.=) TG_TABLE_NAME) THEN
        EXECUTE pg_catalog.format(
            'INSERT INTO qf.finding_event (finding_id, action, level, detail)'
            ' SELECT c.finding_id, ''evidence_changed'', f.level,'
            '        pg_catalog.jsonb_build_object(''table'', ''records.'' OPERATOR(pg_catalog.||) %L,'
            '            ''key'', %L, ''value'', c.k, ''op'', CASE WHEN c.n IS NULL THEN ''delete'' ELSE ''update'' END,'
            '            ''changed'', (SELECT pg_catalog.jsonb_object_agg(j.key, pg_catalog.jsonb_build_object(''old'', j.value,'
            '                              ''new'', c.n OPERATOR(pg_catalog.->) j.key))'
            '                          FROM pg_catalog.jsonb_each(c.o) j'
            '                         WHERE c.n IS NULL OR (c.n OPERATOR(pg_catalog.->) j.key) IS DISTINCT FROM j.value),'
            '            ''changed_by'', coalesce(c.n, c.o) OPERATOR(pg_catalog.->>) ''changed_by'','
            '            ''updated_by'', coalesce(c.n, c.o) OPERATOR(pg_catalog.->>) ''updated_by'','
            '            ''modified_by'', coalesce(c.n, c.o) OPERATOR(pg_catalog.->>) ''modified_by'')'
            '   FROM (SELECT o.%I::pg_catalog.text AS k, pg_catalog.to_jsonb(o) AS o, %s AS n, r.finding_id'
            '           FROM old_rows o'
            '           JOIN qf.evidence_ref r ON r.tbl OPERATOR(pg_catalog.=) %L'
            '                                 AND r.key OPERATOR(pg_catalog.=) o.%I::pg_catalog.text %s) c'
            '   JOIN qf.finding f ON f.id OPERATOR(pg_catalog.=) c.finding_id'
            '  WHERE c.o IS DISTINCT FROM c.n'
            '  ORDER BY c.finding_id, c.k',
            TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[0],
            CASE WHEN TG_OP = 'DELETE' THEN 'NULL::pg_catalog.jsonb' ELSE 'pg_catalog.to_jsonb(nr)' END,
            TG_TABLE_NAME, TG_ARGV[0],
            CASE WHEN TG_OP = 'DELETE' THEN ''
                 ELSE pg_catalog.format(' LEFT JOIN new_rows nr ON nr.%I::pg_catalog.text'
                                        ' OPERATOR(pg_catalog.=) o.%I::pg_catalog.text', TG_ARGV[0], TG_ARGV[0]) END);
    END IF;
    PERFORM pg_catalog.pg_notify('qingfeng', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

-- The update triggers now also keep the old rows.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT tbl, key_col FROM qf.capture LOOP
        IF to_regclass(format('records.%I', c.tbl)) IS NOT NULL THEN
            EXECUTE format('DROP TRIGGER IF EXISTS qf_capture_upd ON records.%I', c.tbl);
            EXECUTE format('CREATE TRIGGER qf_capture_upd AFTER UPDATE ON records.%I'
                           ' REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
                           ' FOR EACH STATEMENT EXECUTE FUNCTION qf.capture_changes(%L)', c.tbl, c.key_col);
        END IF;
    END LOOP;
END
$$;

-- ---- the outbox: evidence_changed alerts and chain anchors ----
-- An anchor is an alert of no finding and no event: a head sent every
-- audit.anchor_every is sent again even when unchanged.
ALTER TABLE qf.alert ALTER COLUMN finding_id DROP NOT NULL;
ALTER TABLE qf.alert ALTER COLUMN event_id DROP NOT NULL;
DO $$
DECLARE
    def text := (SELECT pg_get_constraintdef(oid) FROM pg_constraint
                  WHERE conrelid = 'qf.alert'::regclass AND conname = 'alert_event_check');
BEGIN
    IF def IS NOT NULL AND position('finding.evidence_changed' IN def) = 0 THEN
        EXECUTE 'ALTER TABLE qf.alert DROP CONSTRAINT alert_event_check';
        EXECUTE 'ALTER TABLE qf.alert ADD CONSTRAINT alert_event_check '
             || replace(def, 'ARRAY[', 'ARRAY[''finding.evidence_changed''::text, ''chain.anchor''::text, ');
    END IF;
END
$$;
ALTER TABLE qf.alert ADD CONSTRAINT alert_anchor_check
    CHECK ((event = 'chain.anchor') = (finding_id IS NULL) AND (event = 'chain.anchor') = (event_id IS NULL));
COMMENT ON COLUMN qf.alert.event IS '事件 finding.new, finding.retriggered, finding.escalated, finding.reminder, finding.resolved, finding.evidence_changed, chain.anchor (the chain head, no finding)';
COMMENT ON COLUMN qf.alert.finding_id IS '风险点编号 the finding (NULL for a chain anchor)';
COMMENT ON COLUMN qf.alert.event_id IS '处置记录 the history event it tells about (NULL for a chain anchor)';

-- What a finding.evidence_changed alert says: the finding as it is, the
-- change (evidence_change: the event's detail, who and when), and a
-- message naming the changed columns, old → new, which every receiver
-- format shows.
CREATE FUNCTION qf.evidence_change_payload(f qf.finding, e qf.finding_event) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT qf.finding_payload(f) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
        'evidence_change', e.detail OPERATOR(pg_catalog.||)
                           pg_catalog.jsonb_build_object('event_id', e.id, 'actor', e.actor, 'at', e.at),
        'message',
        CASE WHEN e.detail OPERATOR(pg_catalog.->>) 'op' OPERATOR(pg_catalog.=) 'delete'
             THEN '证据记录在发现后被删除 / the record named in the evidence was deleted after the finding: '
                  OPERATOR(pg_catalog.||) (e.detail OPERATOR(pg_catalog.->>) 'table') OPERATOR(pg_catalog.||) ' '
                  OPERATOR(pg_catalog.||) (e.detail OPERATOR(pg_catalog.->>) 'value')
             ELSE '证据记录在发现后被修改 / the record named in the evidence was changed after the finding: '
                  OPERATOR(pg_catalog.||) (e.detail OPERATOR(pg_catalog.->>) 'table') OPERATOR(pg_catalog.||) ' '
                  OPERATOR(pg_catalog.||) (e.detail OPERATOR(pg_catalog.->>) 'value') OPERATOR(pg_catalog.||) ': '
                  OPERATOR(pg_catalog.||) coalesce((SELECT pg_catalog.string_agg(
                        c.key OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||)
                        coalesce(c.value OPERATOR(pg_catalog.->>) 'old', 'null') OPERATOR(pg_catalog.||) ' → '
                        OPERATOR(pg_catalog.||) coalesce(c.value OPERATOR(pg_catalog.->>) 'new', 'null'), '; ' ORDER BY c.key)
                     FROM pg_catalog.jsonb_each(e.detail OPERATOR(pg_catalog.->) 'changed') c), '')
        END OPERATOR(pg_catalog.||) ' (' OPERATOR(pg_catalog.||) e.actor OPERATOR(pg_catalog.||) ')')
$$;
COMMENT ON FUNCTION qf.evidence_change_payload(qf.finding, qf.finding_event) IS
    'the payload of a finding.evidence_changed alert: the finding, the change (old and new values) and a message';

-- ---- privileges of the functions ----
REVOKE ALL ON FUNCTION qf.setting_log(), qf.silence_log(), qf.evidence_ref_sync(),
       qf.silence_approve(bigint), qf.daemon_started(text, jsonb), qf.daemon_stopped(text, jsonb),
       qf.daemon_rules(text, boolean, text, jsonb, jsonb), qf.chain_contains(bigint, text), qf.chain_anchor(),
       qf.four_eyes(), qf.evidence_change_payload(qf.finding, qf.finding_event), qf.event_canonical2(bigint, bigint, bigint, timestamptz, text, text, text, text, jsonb, jsonb)
       FROM PUBLIC;
GRANT EXECUTE ON FUNCTION qf.silence_approve(bigint) TO qf_admin;
GRANT EXECUTE ON FUNCTION qf.daemon_started(text, jsonb), qf.daemon_stopped(text, jsonb),
      qf.daemon_rules(text, boolean, text, jsonb, jsonb) TO qf_engine;
GRANT EXECUTE ON FUNCTION qf.chain_contains(bigint, text), qf.chain_anchor() TO qf_engine, qf_auditor, qf_admin;
GRANT EXECUTE ON FUNCTION qf.four_eyes() TO qf_engine, qf_auditor, qf_admin;
GRANT EXECUTE ON FUNCTION qf.evidence_change_payload(qf.finding, qf.finding_event) TO qf_engine;
GRANT EXECUTE ON FUNCTION qf.event_canonical2(bigint, bigint, bigint, timestamptz, text, text, text, text, jsonb, jsonb)
      TO qf_engine, qf_auditor, qf_admin;
