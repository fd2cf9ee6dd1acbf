-- Findings by level and status, kept by the writes.
--
-- The gauge qingfeng_findings{level,status} is read on the daemon's loop
-- every 5 s, and the loop waits for it. Counting qf.finding grew with the
-- history: 250-300 ms at a million findings, a pause of every evaluation
-- and delivery. These counts are brought up to date by statement-level
-- triggers on qf.finding, one statement per write, from its transition
-- tables; the gauge reads a dozen rows.
--
-- Lock order: a write that changes a count first takes the chain head's row
-- lock, as every history event does. Every change of a level or a status
-- comes with an event (the findings write, escalation, a status change by a
-- person), and the count trigger fires after its statement, sometimes
-- before the event's insert (set_finding_status, escalation), sometimes
-- after it (the findings write): taking the head first in both keeps two
-- such transactions from holding one lock each and waiting for the other.
-- A statement that changes no level or status (a re-hit, a reminder) takes
-- neither lock.
-- First, before any statement takes a snapshot: writers in progress finish
-- and no new one starts until this migration commits, so the backfill at
-- the end sees every finding the triggers will not count, whatever the
-- database's default isolation level.
LOCK TABLE qf.finding IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE qf.finding_count (
    level  text NOT NULL,
    status text NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (level, status)
);

CREATE FUNCTION qf.finding_count_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    d jsonb;
BEGIN
    IF TG_RELID <> 'qf.finding'::regclass THEN
        RAISE EXCEPTION 'qf.finding_count_apply() is a trigger of qf.finding only';
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM 1 FROM qf.chain_head FOR UPDATE;
        DELETE FROM qf.finding_count;
        RETURN NULL;
    END IF;
    -- the transition tables a trigger has depend on its event
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(jsonb_build_array(level, status, k)) INTO d
          FROM (SELECT level, status, count(*) AS k FROM new_rows GROUP BY level, status) x;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(jsonb_build_array(level, status, -k)) INTO d
          FROM (SELECT level, status, count(*) AS k FROM old_rows GROUP BY level, status) x;
    ELSE
        SELECT jsonb_agg(jsonb_build_array(level, status, k)) INTO d
          FROM (SELECT level, status, sum(k) AS k
                  FROM (SELECT level, status, 1 AS k FROM new_rows
                        UNION ALL SELECT level, status, -1 FROM old_rows) c
                 GROUP BY level, status HAVING sum(k) <> 0) x;
    END IF;
    IF d IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM qf.chain_head FOR UPDATE;
    INSERT INTO qf.finding_count AS c (level, status, n)
    SELECT e->>0, e->>1, (e->>2)::bigint FROM jsonb_array_elements(d) e
        ON CONFLICT (level, status) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER finding_count_ins AFTER INSERT ON qf.finding
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.finding_count_apply();
CREATE TRIGGER finding_count_upd AFTER UPDATE ON qf.finding
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.finding_count_apply();
CREATE TRIGGER finding_count_del AFTER DELETE ON qf.finding
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.finding_count_apply();
CREATE TRIGGER finding_count_trunc AFTER TRUNCATE ON qf.finding
    FOR EACH STATEMENT EXECUTE FUNCTION qf.finding_count_apply();

-- qf.finding is held against writes since the lock above, so nothing is
-- counted twice or missed
INSERT INTO qf.finding_count (level, status, n)
SELECT level, status, count(*) FROM qf.finding GROUP BY level, status;

REVOKE ALL ON FUNCTION qf.finding_count_apply() FROM PUBLIC;
REVOKE ALL ON qf.finding_count FROM PUBLIC;
GRANT SELECT ON qf.finding_count TO qf_engine, qf_admin;
