-- qf.rule_run gets a row for every evaluation of a rule, a dozen for each
-- notified commit: the daemon keeps evaluation.keep_runs days of them
-- (qingfeng.conf(5)) and deletes older ones in its timed passes.
GRANT DELETE ON qf.rule_run TO qf_engine;
CREATE INDEX IF NOT EXISTS rule_run_started ON qf.rule_run (started_at);
