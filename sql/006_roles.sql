-- Access control (issue 6): who may read and change what. People log in as
-- their own PostgreSQL roles, members of one of these group roles, so the
-- history names them (finding_event.actor is the session user).
--   qf_engine   the daemon: reads records, writes qf (never deletes findings,
--               never changes or deletes history)
--   qf_auditor  reads findings within its scope (qf.auditor_scope); changes
--               status only through qf.set_finding_status()
--   qf_admin    an auditor of everything, who also manages silences and alerts
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_engine') THEN CREATE ROLE qf_engine NOLOGIN; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_auditor') THEN CREATE ROLE qf_auditor NOLOGIN; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qf_admin') THEN CREATE ROLE qf_admin NOLOGIN; END IF;
END
$$;

-- What an auditor may see: rows for a role (a person or a group), by
-- department and/or supervision (NULL = any). Disciplinary findings are
-- seen only through a scope that names the disciplinary supervision.
CREATE TABLE qf.auditor_scope (
    id          bigserial PRIMARY KEY,
    role_name   text NOT NULL,
    department  text,
    supervision text CHECK (supervision IN ('technical', 'financial', 'disciplinary'))
);

CREATE FUNCTION qf.visible(p_department text, p_supervision text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT pg_has_role(session_user, 'qf_admin', 'member')
        OR pg_has_role(session_user, 'qf_engine', 'member')
        OR EXISTS (SELECT 1 FROM qf.auditor_scope s
                    WHERE pg_has_role(session_user, s.role_name, 'member')
                      AND (s.department IS NULL OR s.department = p_department)
                      AND (s.supervision IS NULL OR s.supervision = p_supervision)
                      AND (p_supervision <> 'disciplinary' OR s.supervision = 'disciplinary'))
$$;

-- nothing for PUBLIC; everything below is granted by name
REVOKE ALL ON ALL TABLES IN SCHEMA qf, records FROM PUBLIC;
REVOKE ALL ON SCHEMA qf, records FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA qf FROM PUBLIC;

GRANT USAGE ON SCHEMA qf, records TO qf_engine, qf_auditor, qf_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA records TO qf_engine;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA qf TO qf_engine;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA qf TO qf_engine;
GRANT SELECT ON qf.schema_migrations, qf.silence, qf.capture, qf.auditor_scope TO qf_engine;
GRANT SELECT, INSERT, UPDATE ON qf.finding, qf.alert, qf.cursor, qf.rule_run TO qf_engine;
GRANT SELECT, UPDATE ON qf.chain_head TO qf_engine;
GRANT SELECT, INSERT ON qf.finding_event TO qf_engine;                  -- history: append only
GRANT SELECT, DELETE ON qf.change_log TO qf_engine;                   -- pruning
-- whoever loads the records (an ETL role) needs no rights in qf: the
-- capture trigger appends to the change log as the owner
ALTER FUNCTION qf.capture_changes() SECURITY DEFINER SET search_path = pg_catalog;

GRANT SELECT ON qf.finding, qf.finding_event TO qf_auditor, qf_admin;
GRANT EXECUTE ON FUNCTION qf.visible(text, text), qf.level_rank(text), qf.event_hash(text, text),
      qf.event_canonical(bigint, bigint, bigint, timestamptz, text, text, text, text) TO qf_auditor, qf_admin;
GRANT SELECT ON qf.chain_head, qf.alert, qf.silence, qf.schema_migrations TO qf_admin;
GRANT SELECT ON qf.schema_migrations TO qf_auditor;
GRANT INSERT, UPDATE ON qf.silence TO qf_admin;
GRANT USAGE ON SEQUENCE qf.silence_id_seq TO qf_admin;
GRANT UPDATE ON qf.alert TO qf_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON qf.auditor_scope TO qf_admin;
GRANT USAGE ON SEQUENCE qf.auditor_scope_id_seq TO qf_admin;

-- Row-level security: an auditor reads what its scope allows (the owner,
-- who runs migrations, is not subject to it)
ALTER TABLE qf.finding ENABLE ROW LEVEL SECURITY;
CREATE POLICY finding_read ON qf.finding FOR SELECT USING (qf.visible(department, supervision));
CREATE POLICY finding_engine ON qf.finding FOR ALL TO qf_engine USING (true) WITH CHECK (true);
ALTER TABLE qf.finding_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_read ON qf.finding_event FOR SELECT
    USING (EXISTS (SELECT 1 FROM qf.finding f WHERE f.id = finding_id));
CREATE POLICY event_engine ON qf.finding_event FOR ALL TO qf_engine USING (true) WITH CHECK (true);

-- Status changes by people: only through this function, which runs as the
-- owner (auditors have no UPDATE on qf.finding) but checks the caller's
-- scope and records the caller (session_user) as the actor.
CREATE OR REPLACE FUNCTION qf.set_finding_status(p_id bigint, p_status text, p_note text) RETURNS qf.finding_event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    f qf.finding;
    e qf.finding_event;
    act text := CASE p_status WHEN 'acknowledged' THEN 'acknowledged' WHEN 'resolved' THEN 'resolved'
                              WHEN 'dismissed' THEN 'dismissed' WHEN 'open' THEN 'reopened' END;
BEGIN
    IF act IS NULL THEN
        RAISE EXCEPTION 'unknown status %', p_status USING ERRCODE = '22023';
    END IF;
    IF p_note IS NULL OR btrim(p_note) = '' THEN
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
    INSERT INTO qf.finding_event (finding_id, actor, action, level, note)
    VALUES (p_id, session_user, act, f.level, p_note) RETURNING * INTO e;
    RETURN e;
END
$$;
REVOKE ALL ON FUNCTION qf.set_finding_status(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION qf.set_finding_status(bigint, text, text) TO qf_auditor, qf_admin;

-- Views for BI tools; security_invoker, so row-level security applies to
-- whoever queries them
CREATE VIEW qf.v_findings WITH (security_invoker = true) AS
SELECT f.id, f.rule_id, f.title, f.level, f.supervision, f.risk, f.duty, f.subject, f.department, f.status,
       f.first_seen, f.last_seen, f.hit_count, f.evidence, f.message,
       now() - f.first_seen AS age,
       (SELECT min(e.at) FROM qf.finding_event e
         WHERE e.finding_id = f.id AND e.action IN ('resolved', 'dismissed')) AS closed_at
  FROM qf.finding f;
CREATE VIEW qf.v_findings_open WITH (security_invoker = true) AS
SELECT * FROM qf.v_findings WHERE status IN ('open', 'acknowledged');
CREATE VIEW qf.v_423_matrix WITH (security_invoker = true) AS
SELECT supervision, risk, duty, level, count(*) AS findings,
       count(*) FILTER (WHERE status IN ('open', 'acknowledged')) AS open
  FROM qf.finding GROUP BY supervision, risk, duty, level;
GRANT SELECT ON qf.v_findings, qf.v_findings_open, qf.v_423_matrix TO qf_auditor, qf_admin, qf_engine;
