-- Security (issue 19): what the owner's rights may be used for, and by whom.
--
-- 1. Every SECURITY DEFINER function runs with search_path = pg_catalog,
--    pg_temp, pg_temp named LAST. A search_path that does not name pg_temp
--    searches it FIRST for types and relations: any role could create
--    pg_temp.text as a domain whose CHECK calls its own function, and that
--    function then ran with the owner's rights (COPY TO PROGRAM, ALTER ROLE
--    ... SUPERUSER) from inside qf.set_finding_status, the capture trigger
--    an ETL role fires, or the chain triggers the engine fires. Types and
--    functions in the bodies are schema-qualified as well, so nothing
--    depends on the path. Installations should also revoke TEMP on the
--    database from PUBLIC (README, "Security").
-- 2. The outbox: no role but the owner changes what an alert says or where
--    it goes. The engine updates only the delivery columns; an operator
--    re-queues through qf.alert_retry(), which writes a history event.
-- 3. History: an event's actor and time are the database's (session_user,
--    the transaction's now()), whatever the inserting statement says; a
--    finding changes only in a transaction that writes its event.
-- 4. Auditor scopes are keyed by role OID: a dropped role's row matches
--    no one (not a new role that takes the old name), breaks no other
--    auditor, and every grant, change and revocation is a history event.

-- ---- history: control events beside findings' events ----
-- A scope change or an alert's re-queue is not a finding's change, but it
-- belongs in the same chain: finding_id is NULL for the control actions.
ALTER TABLE qf.finding_event ALTER COLUMN finding_id DROP NOT NULL;
ALTER TABLE qf.finding_event DROP CONSTRAINT finding_event_action_check;
ALTER TABLE qf.finding_event ADD CONSTRAINT finding_event_action_check
    CHECK (action IN ('created', 'retriggered', 'escalated', 'reminded',
                      'acknowledged', 'resolved', 'dismissed', 'reopened', 'alert_requeued',
                      'scope_granted', 'scope_changed', 'scope_revoked'));
ALTER TABLE qf.finding_event ADD CONSTRAINT finding_event_control_check
    CHECK ((finding_id IS NULL) = (action IN ('scope_granted', 'scope_changed', 'scope_revoked')));

-- The canonical text and hash, unchanged in value (the chain verifies as
-- before), with every name qualified: they run inside the definer
-- functions below. No SET clause, so they stay inlinable.
CREATE OR REPLACE FUNCTION qf.event_canonical(seq bigint, id bigint, finding_id bigint, at timestamptz,
                                              actor text, action text, level text, note text)
RETURNS pg_catalog.text LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.jsonb_build_array(seq, id, finding_id,
                 pg_catalog.to_char(pg_catalog.timezone('UTC', at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                 actor, action, level, note)::pg_catalog.text
$$;

CREATE OR REPLACE FUNCTION qf.event_hash(prev_hash text, canonical text)
RETURNS pg_catalog.text LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(prev_hash OPERATOR(pg_catalog.||) canonical,
                                                                     'UTF8')), 'hex')
$$;

-- The event trigger: actor and time are set here, not by the statement.
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
    SELECT h.seq, h.hash INTO h_seq, h_hash FROM qf.chain_head h FOR UPDATE;
    SELECT e.seq, e.hash INTO l_seq, l_hash
      FROM qf.finding_event e WHERE e.seq > h_seq ORDER BY e.seq DESC LIMIT 1;
    IF FOUND THEN
        h_seq := l_seq;
        h_hash := l_hash;
    END IF;
    NEW.seq := h_seq + 1;
    NEW.prev_hash := h_hash;
    NEW.hash := qf.event_hash(NEW.prev_hash,
                    qf.event_canonical(NEW.seq, NEW.id, NEW.finding_id, NEW.at,
                                       NEW.actor, NEW.action, NEW.level, NEW.note));
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION qf.finding_event_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'qf.finding_event'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.finding_event_head() is the trigger of qf.finding_event only';
    END IF;
    UPDATE qf.chain_head h SET seq = n.seq, hash = n.hash
      FROM (SELECT e.seq, e.hash FROM new_events e ORDER BY e.seq DESC LIMIT 1) n
     WHERE n.seq > h.seq;
    RETURN NULL;
END
$$;

-- The engine names only what an event is about; id, seq, time, actor and
-- hashes are the database's.
REVOKE INSERT ON qf.finding_event FROM qf_engine;
GRANT INSERT (finding_id, action, level, note) ON qf.finding_event TO qf_engine;

-- A finding changes only together with its history: checked at commit,
-- so the event may come before or after the change in the transaction
-- (set_finding_status updates first, the findings write inserts in one
-- statement, escalation raises and then writes the events). Every event
-- of a transaction carries its now(). A change of status needs a status
-- event, a change of level an event that sets one. The schema's owner and
-- superusers are not held to it: they can disable a trigger anyway
-- (migrations, tests that age findings); the anchors of TRUST.md cover
-- them. Costs ~4 µs a row at commit (50,000 findings: 0.2 s).
CREATE FUNCTION qf.finding_needs_event() RETURNS trigger
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
        need := ARRAY['acknowledged', 'resolved', 'dismissed', 'reopened'];
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
                    HINT = 'findings change through the engine''s writes or qf.set_finding_status()';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER finding_needs_event_ins AFTER INSERT ON qf.finding
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION qf.finding_needs_event();
CREATE CONSTRAINT TRIGGER finding_needs_event_upd AFTER UPDATE ON qf.finding
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW)
    EXECUTE FUNCTION qf.finding_needs_event();

-- ---- the remaining definer functions, with pg_temp last ----
CREATE OR REPLACE FUNCTION qf.finding_count_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d pg_catalog.jsonb;
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'qf.finding'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.finding_count_apply() is a trigger of qf.finding only';
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM 1 FROM qf.chain_head FOR UPDATE;
        DELETE FROM qf.finding_count;
        RETURN NULL;
    END IF;
    -- the transition tables a trigger has depend on its event
    IF TG_OP = 'INSERT' THEN
        SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(level, status, k)) INTO d
          FROM (SELECT level, status, pg_catalog.count(*) AS k FROM new_rows GROUP BY level, status) x;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(level, status, -k)) INTO d
          FROM (SELECT level, status, pg_catalog.count(*) AS k FROM old_rows GROUP BY level, status) x;
    ELSE
        SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(level, status, k)) INTO d
          FROM (SELECT level, status, pg_catalog.sum(k) AS k
                  FROM (SELECT level, status, 1 AS k FROM new_rows
                        UNION ALL SELECT level, status, -1 FROM old_rows) c
                 GROUP BY level, status HAVING pg_catalog.sum(k) <> 0) x;
    END IF;
    IF d IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM qf.chain_head FOR UPDATE;
    INSERT INTO qf.finding_count AS c (level, status, n)
    SELECT e OPERATOR(pg_catalog.->>) 0, e OPERATOR(pg_catalog.->>) 1,
           (e OPERATOR(pg_catalog.->>) 2)::pg_catalog.int8
      FROM pg_catalog.jsonb_array_elements(d) e
        ON CONFLICT (level, status) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

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
    ELSE
        EXECUTE pg_catalog.format(
            'INSERT INTO qf.change_log (tbl, op, keys)'
            ' SELECT %L, %L, pg_catalog.array_agg(%I::pg_catalog.text) FROM new_rows HAVING pg_catalog.count(*) > 0',
            TG_TABLE_NAME, CASE TG_OP WHEN 'INSERT' THEN 'i' ELSE 'u' END, TG_ARGV[0]);
    END IF;
    PERFORM pg_catalog.pg_notify('qingfeng', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION qf.verify_chain(OUT seq bigint, OUT event_id bigint, OUT why text)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
SELECT x.seq, x.id, x.why FROM (
  SELECT e.seq, e.id,
         CASE WHEN e.seq <> pg_catalog.row_number() OVER w
              THEN 'sequence broken: expected ' || pg_catalog.row_number() OVER w || ' (an event is missing or moved)'
              WHEN e.prev_hash <> coalesce(pg_catalog.lag(e.hash) OVER w, pg_catalog.repeat('0', 64))
              THEN 'does not link to the event before it (one was deleted or reordered)'
              WHEN e.hash <> qf.event_hash(e.prev_hash, qf.event_canonical(e.seq, e.id, e.finding_id, e.at,
                                                                           e.actor, e.action, e.level, e.note))
              THEN 'its content does not match its hash (it was changed)' END AS why
    FROM qf.finding_event e WINDOW w AS (ORDER BY e.seq)) x
 WHERE x.why IS NOT NULL
UNION ALL
SELECT h.seq, NULL, 'the chain head (seq ' || h.seq || ') does not match the last event'
  FROM qf.chain_head h
 WHERE NOT EXISTS (SELECT 1 FROM (SELECT e.seq, e.hash FROM qf.finding_event e ORDER BY e.seq DESC LIMIT 1) l
                    WHERE l.seq = h.seq AND l.hash = h.hash)
   AND NOT (h.seq = 0 AND NOT EXISTS (SELECT 1 FROM qf.finding_event))
 ORDER BY 1 LIMIT 1
$$;

-- Status changes by people, checked against the caller's scope.
CREATE OR REPLACE FUNCTION qf.set_finding_status(p_id bigint, p_status text, p_note text) RETURNS qf.finding_event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f qf.finding;
    e qf.finding_event;
    act pg_catalog.text := CASE p_status WHEN 'acknowledged' THEN 'acknowledged' WHEN 'resolved' THEN 'resolved'
                                         WHEN 'dismissed' THEN 'dismissed' WHEN 'open' THEN 'reopened' END;
BEGIN
    IF act IS NULL THEN
        RAISE EXCEPTION 'unknown status %', p_status USING ERRCODE = '22023';
    END IF;
    IF p_note IS NULL OR pg_catalog.btrim(p_note) = '' THEN
        RAISE EXCEPTION 'a note is required' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO f FROM qf.finding WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR NOT qf.visible(f.department, f.supervision) THEN
        RAISE EXCEPTION 'no finding %', p_id USING ERRCODE = 'P0002';
    END IF;
    IF f.status = p_status THEN
        RAISE EXCEPTION 'finding % is already %', p_id, p_status USING ERRCODE = '22023';
    END IF;
    UPDATE qf.finding SET status = p_status WHERE id = p_id;
    INSERT INTO qf.finding_event (finding_id, action, level, note)
    VALUES (p_id, act, f.level, p_note) RETURNING * INTO e;
    RETURN e;
END
$$;

-- ---- the outbox ----
REVOKE UPDATE ON qf.alert FROM qf_engine, qf_admin;
GRANT UPDATE (state, attempts, next_attempt_at, last_attempt_at, claimed_by, claimed_until,
              last_status, last_error, delivered_at) ON qf.alert TO qf_engine;

-- An operator's re-queue (`qfctl alerts retry ID | --dead`): a fresh
-- budget of attempts and age, and one history event per alert naming who
-- sent it again. p_id NULL re-queues every dead alert. Returns how many.
CREATE FUNCTION qf.alert_retry(p_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n pg_catalog.int8;
BEGIN
    WITH a AS (
        UPDATE qf.alert a SET state = 'pending', attempts = 0, requeued_at = pg_catalog.now(),
                              next_attempt_at = pg_catalog.now(), claimed_by = NULL, claimed_until = NULL
          FROM qf.alert o
         WHERE o.id = a.id
           AND CASE WHEN p_id IS NULL THEN a.state = 'dead'
                    ELSE a.id = p_id AND a.state IN ('dead', 'pending', 'silenced') END
        RETURNING a.id, a.finding_id, a.receiver, a.event, o.state AS was),
    ev AS (
        INSERT INTO qf.finding_event (finding_id, action, level, note)
        SELECT a.finding_id, 'alert_requeued', f.level,
               pg_catalog.format('alert %s (%s to %s) re-queued; it was %s', a.id, a.event, a.receiver, a.was)
          FROM a JOIN qf.finding f ON f.id = a.finding_id ORDER BY a.id
        RETURNING 1)
    SELECT pg_catalog.count(*) INTO n FROM ev;
    RETURN n;
END
$$;

-- ---- silences: who added one and when are the database's ----
CREATE FUNCTION qf.silence_stamp() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.created_by := session_user;
        NEW.created_at := pg_catalog.now();
    ELSE
        NEW.id := OLD.id;
        NEW.created_by := OLD.created_by;
        NEW.created_at := OLD.created_at;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER silence_stamp BEFORE INSERT OR UPDATE ON qf.silence
    FOR EACH ROW EXECUTE FUNCTION qf.silence_stamp();

-- ---- auditor scopes, keyed by role OID ----
ALTER TABLE qf.auditor_scope ADD COLUMN role_oid oid;
UPDATE qf.auditor_scope s SET role_oid = r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = s.role_name;

-- The role is resolved when the row is written, by its exact name (not
-- parsed as an identifier); a row keeps its role while its name is not
-- changed, so a role created later under a dropped role's name gets
-- nothing from it.
CREATE FUNCTION qf.auditor_scope_resolve() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.role_name IS NOT DISTINCT FROM OLD.role_name THEN
        NEW.role_oid := OLD.role_oid;
    ELSE
        NEW.role_oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = NEW.role_name);
        IF NEW.role_oid IS NULL THEN
            RAISE EXCEPTION 'role "%" does not exist', NEW.role_name USING ERRCODE = '42704';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER auditor_scope_resolve BEFORE INSERT OR UPDATE ON qf.auditor_scope
    FOR EACH ROW EXECUTE FUNCTION qf.auditor_scope_resolve();

-- Every grant, change and revocation of a scope is a history event, with
-- the row as it was and as it is.
CREATE FUNCTION qf.auditor_scope_log() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    act pg_catalog.text := CASE TG_OP WHEN 'INSERT' THEN 'scope_granted' WHEN 'UPDATE' THEN 'scope_changed'
                                      ELSE 'scope_revoked' END;
    o pg_catalog.jsonb;
    n pg_catalog.jsonb;
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'qf.auditor_scope'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.auditor_scope_log() is a trigger of qf.auditor_scope only';
    END IF;
    IF TG_OP <> 'INSERT' THEN
        o := pg_catalog.jsonb_build_object('id', OLD.id, 'role', OLD.role_name, 'role_oid', OLD.role_oid,
                 'role_exists', EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = OLD.role_oid),
                 'department', OLD.department, 'supervision', OLD.supervision);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        n := pg_catalog.jsonb_build_object('id', NEW.id, 'role', NEW.role_name, 'role_oid', NEW.role_oid,
                 'department', NEW.department, 'supervision', NEW.supervision);
    END IF;
    INSERT INTO qf.finding_event (finding_id, action, note)
    VALUES (NULL, act, pg_catalog.jsonb_build_object('before', o, 'after', n)::pg_catalog.text);
    RETURN NULL;
END
$$;
CREATE TRIGGER auditor_scope_log AFTER INSERT OR UPDATE OR DELETE ON qf.auditor_scope
    FOR EACH ROW EXECUTE FUNCTION qf.auditor_scope_log();

-- Rows whose role was dropped before this migration match no one: removed
-- now, each with its event.
DELETE FROM qf.auditor_scope WHERE role_oid IS NULL;
ALTER TABLE qf.auditor_scope ALTER COLUMN role_oid SET NOT NULL;

-- Rows of roles dropped since (a leaver): they match no one already; the
-- engine removes them on its timed pass, each with its revocation event.
CREATE FUNCTION qf.auditor_scope_cleanup() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH d AS (DELETE FROM qf.auditor_scope s
                WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = s.role_oid)
               RETURNING 1)
    SELECT pg_catalog.count(*) FROM d
$$;

-- What an auditor may see. pg_has_role() with the OID of a dropped role
-- is false, where with its name it raised "role does not exist" for every
-- auditor the row was evaluated for.
CREATE OR REPLACE FUNCTION qf.visible(p_department text, p_supervision text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.pg_has_role(session_user, 'qf_admin', 'member')
        OR pg_catalog.pg_has_role(session_user, 'qf_engine', 'member')
        OR EXISTS (SELECT 1 FROM qf.auditor_scope s
                    WHERE pg_catalog.pg_has_role(session_user, s.role_oid, 'member')
                      AND (s.department IS NULL OR s.department = p_department)
                      AND (s.supervision IS NULL OR s.supervision = p_supervision)
                      AND (p_supervision <> 'disciplinary' OR s.supervision = 'disciplinary'))
$$;

-- Control events (no finding) are read by admins; auditors read the
-- events of the findings they see, as before.
CREATE POLICY event_control_read ON qf.finding_event FOR SELECT TO qf_admin USING (finding_id IS NULL);

-- ---- privileges of the functions ----
-- New functions are executable by PUBLIC unless revoked; trigger functions
-- by no one (firing a trigger needs no EXECUTE, attaching one does).
REVOKE ALL ON FUNCTION qf.finding_needs_event(), qf.silence_stamp(), qf.auditor_scope_resolve(),
       qf.auditor_scope_log(), qf.alert_retry(bigint), qf.auditor_scope_cleanup() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION qf.alert_retry(bigint) TO qf_admin;
GRANT EXECUTE ON FUNCTION qf.auditor_scope_cleanup() TO qf_engine, qf_admin;
