-- Re-trigger noise (issue 21): a finding whose evidence keeps changing
-- (F05's MAD with every payment of a hot vendor) is alerted at most once
-- per `realert` window of its rule, and whenever its level rises. Every
-- hit still counts (hit_count, last_seen, the history); what the last
-- alert said is kept here, so the next one can say what changed since.
-- NULL (findings from before this migration): the next re-trigger alerts.
ALTER TABLE qf.finding ADD COLUMN alerted_at timestamptz;
ALTER TABLE qf.finding ADD COLUMN alerted_hits integer;
ALTER TABLE qf.finding ADD COLUMN alerted_evidence jsonb;

COMMENT ON COLUMN qf.finding.alerted_at IS '上次告警 when the last new or re-triggered alert of this finding was queued (NULL: before schema 23)';
COMMENT ON COLUMN qf.finding.alerted_hits IS '上次告警时命中次数 hit_count at the last alert: hits since = hit_count - alerted_hits';
COMMENT ON COLUMN qf.finding.alerted_evidence IS '上次告警的证据 the evidence the last alert carried; a re-trigger alert says what changed since';

-- The escalation counts of a new finding's subject (daemon/db_record.c)
-- read a bounded number of index entries, whatever the subject's history:
-- up to 10 earlier findings of the rule, and one probe per rule with open
-- findings. A hot cashier had each new finding count all of theirs.
-- Both are partial, with predicates the known-hit probes by (rule_id,
-- dedupe_key) do not imply: a generic plan made while qf.finding was empty
-- took a plain index (rule_id, subject, first_seen) for those probes, with
-- rule_id as the only condition, and read every finding of the rule at
-- each probe (the live lane grew slower with every finding).
CREATE INDEX IF NOT EXISTS finding_subject_rule_seen ON qf.finding (subject, rule_id, first_seen) WHERE subject IS NOT NULL;
CREATE INDEX IF NOT EXISTS finding_open_subject_rule ON qf.finding (subject, rule_id) WHERE status = 'open';
