-- Delivery state beyond the foundation: silenced alerts (kept for the
-- record, never sent), reminders, resolved notices, re-queued alerts.

ALTER TABLE qf.alert DROP CONSTRAINT alert_state_check;
ALTER TABLE qf.alert ADD CONSTRAINT alert_state_check
    CHECK (state IN ('pending', 'delivered', 'dead', 'silenced'));
ALTER TABLE qf.alert DROP CONSTRAINT alert_event_check;
ALTER TABLE qf.alert ADD CONSTRAINT alert_event_check
    CHECK (event IN ('finding.new', 'finding.retriggered', 'finding.escalated', 'finding.reminder',
                     'finding.resolved'));
-- an operator's `qfctl alerts retry` gives a fresh budget of attempts and age
ALTER TABLE qf.alert ADD COLUMN requeued_at timestamptz;
ALTER TABLE qf.alert ADD COLUMN silence_id bigint REFERENCES qf.silence (id);

ALTER TABLE qf.finding ADD COLUMN reminded_at timestamptz;

-- The active silence, if any, covering a finding: every condition a
-- silence gives must hold.
CREATE FUNCTION qf.silence_for(p_rule text, p_subject text, p_department text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT s.id FROM qf.silence s
     WHERE s.expired_at IS NULL AND now() >= s.starts_at AND now() < s.until
       AND (s.rule_id IS NULL OR s.rule_id = p_rule)
       AND (s.subject IS NULL OR s.subject = p_subject)
       AND (s.department IS NULL OR s.department = p_department)
     ORDER BY s.id LIMIT 1
$$;

-- Events the daemon still has to tell receivers about (resolved notices):
-- the cursor 'notices' holds the last finding_event.seq looked at.
INSERT INTO qf.cursor (name, position) VALUES ('notices', 0);
UPDATE qf.cursor SET position = coalesce((SELECT max(seq) FROM qf.finding_event), 0) WHERE name = 'notices';

-- A status change by a person, with its history event, in one statement;
-- the actor is the database session user. (Access control: issue 6.)
CREATE FUNCTION qf.set_finding_status(p_id bigint, p_status text, p_note text) RETURNS qf.finding_event
LANGUAGE plpgsql AS $$
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
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no finding %', p_id USING ERRCODE = 'P0002';
    END IF;
    IF f.status = p_status THEN
        RAISE EXCEPTION 'finding % is already %', p_id, p_status USING ERRCODE = '22023';
    END IF;
    UPDATE qf.finding SET status = p_status WHERE id = p_id;
    INSERT INTO qf.finding_event (finding_id, action, level, note) VALUES (p_id, act, f.level, p_note)
    RETURNING * INTO e;
    RETURN e;
END
$$;
