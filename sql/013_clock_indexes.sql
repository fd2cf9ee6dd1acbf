-- The clock work (escalation and reminders, every timed pass and every
-- --once) looks for open findings whose step is due. Through the
-- (status, level) index that was every open finding: 40 and 10 ms a pass
-- at 17,000 findings, growing with the history. These partial indexes hold
-- exactly the candidates, ordered by the instant the query compares, so a
-- pass reads only the due ones.
CREATE INDEX IF NOT EXISTS finding_escalate_due ON qf.finding ((coalesce(escalated_at, first_seen)))
    WHERE status = 'open' AND level <> 'red';
CREATE INDEX IF NOT EXISTS finding_remind_due ON qf.finding ((coalesce(reminded_at, first_seen)))
    WHERE status = 'open' AND level = 'red';
