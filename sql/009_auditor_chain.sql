-- The history chain is one chain over every finding, but row-level security
-- shows a scoped auditor (a lab's branch secretary) only their findings'
-- events: checked from their view, the chain would look broken where it is
-- not. Verification therefore runs as the owner, over all events, and
-- returns only where the chain breaks (a sequence number, an event id, a
-- reason), never an event's content. The head (a number and a hash) is
-- readable by every reader of findings, to quote in reports.
CREATE OR REPLACE FUNCTION qf.verify_chain(OUT seq bigint, OUT event_id bigint, OUT why text)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
SELECT x.seq, x.id, x.why FROM (
  SELECT e.seq, e.id,
         CASE WHEN e.seq <> row_number() OVER w
              THEN 'sequence broken: expected ' || row_number() OVER w || ' (an event is missing or moved)'
              WHEN e.prev_hash <> coalesce(lag(e.hash) OVER w, repeat('0', 64))
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
REVOKE ALL ON FUNCTION qf.verify_chain() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION qf.verify_chain() TO qf_auditor, qf_admin, qf_engine;
GRANT SELECT ON qf.chain_head TO qf_auditor;
