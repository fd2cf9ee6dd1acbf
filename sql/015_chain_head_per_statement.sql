-- The history chain, written once per statement instead of once per event.
--
-- The trigger used to update the single qf.chain_head row for every event.
-- A row updated n times in one transaction keeps n versions that no one can
-- prune while the transaction is open, and each next lookup walks them all:
-- a pass that wrote 50,000 findings spent about 45 s in this trigger alone
-- (20,000 events in one statement: 9.7 s).
--
-- Now an event links to the newest event: the head row, or a later event
-- that this statement inserted before it (a row-level trigger sees the rows
-- its statement inserted earlier). The head row is brought up to date once,
-- after the statement. Its row lock is still taken by every event, so the
-- chain stays one strict line with concurrent writers; the lock is held to
-- the end of the transaction, and taking it again writes nothing.
--
-- Both run as the owner: an event must link to the newest event whatever
-- the inserting role may read under row-level security. So no role may
-- execute them (firing a trigger needs no EXECUTE; attaching one does):
-- attached to a table of its own, the head trigger would let a role move
-- the head anywhere. They also refuse to run for any other table. The
-- engine no longer needs UPDATE on the head, and loses it.
CREATE OR REPLACE FUNCTION qf.finding_event_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    h_seq  bigint;
    h_hash text;
    l_seq  bigint;
    l_hash text;
BEGIN
    IF TG_RELID <> 'qf.finding_event'::regclass THEN
        RAISE EXCEPTION 'qf.finding_event_chain() is the trigger of qf.finding_event only';
    END IF;
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
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF TG_RELID <> 'qf.finding_event'::regclass THEN
        RAISE EXCEPTION 'qf.finding_event_head() is the trigger of qf.finding_event only';
    END IF;
    UPDATE qf.chain_head h SET seq = n.seq, hash = n.hash
      FROM (SELECT e.seq, e.hash FROM new_events e ORDER BY e.seq DESC LIMIT 1) n
     WHERE n.seq > h.seq;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS finding_event_head ON qf.finding_event;
CREATE TRIGGER finding_event_head AFTER INSERT ON qf.finding_event
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION qf.finding_event_head();

REVOKE ALL ON FUNCTION qf.finding_event_chain(), qf.finding_event_head() FROM PUBLIC, qf_engine;
REVOKE UPDATE ON qf.chain_head FROM qf_engine;
