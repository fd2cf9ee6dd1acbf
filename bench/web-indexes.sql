-- Indexes the console's pages want at 1,000,000 findings (bench/web.sh,
-- WEB_INDEXES=1): proposed for a migration, not applied by one. Each list
-- filter reads its findings newest first along (filter, id), so a page
-- stops after its 51 rows; the dashboard's measures find the period's
-- signed findings by acknowledged_at; the trend and the 423 matrix find
-- a period's findings by first_seen.
CREATE INDEX IF NOT EXISTS finding_status_id ON qf.finding (status, id);
-- the findings not closed, newest first: the light filter (a light is
-- only ever that of a finding not closed)
CREATE INDEX IF NOT EXISTS finding_unclosed_id ON qf.finding (id) WHERE status IN ('open', 'acknowledged', 'reported');
CREATE INDEX IF NOT EXISTS finding_rule_id ON qf.finding (rule_id, id);
CREATE INDEX IF NOT EXISTS finding_owner_id ON qf.finding (owner, id);
CREATE INDEX IF NOT EXISTS finding_department_id ON qf.finding (department, id);
CREATE INDEX IF NOT EXISTS finding_acknowledged_at ON qf.finding (acknowledged_at) WHERE acknowledged_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS finding_first_seen ON qf.finding (first_seen);
