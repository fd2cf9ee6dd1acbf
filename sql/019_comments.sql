-- What BI clients (psql \d+, DBeaver, Power BI, FineBI) show their users:
-- a comment on every table, view and column that auditors and admins read,
-- in Chinese and English, so a report is built from what the columns mean,
-- not from guesses; and the age of a finding as a number of days, which a
-- spreadsheet can sum and sort (an interval it cannot).

COMMENT ON SCHEMA qf IS '清风 qingfeng: findings, their hash-chained history and the alert outbox. Read through the views v_findings, v_findings_open, v_423_matrix; row-level security applies your scope. / the engine''s state';

COMMENT ON TABLE qf.finding IS '风险点 finding: one row per (rule, dedupe key); a repeated hit updates it. Auditors read only the rows of their scope (qf.auditor_scope); change status only with qf.set_finding_status().';
COMMENT ON COLUMN qf.finding.id IS '风险点编号 finding id';
COMMENT ON COLUMN qf.finding.rule_id IS '规则编号 rule id (T01-T11 technical, F01-F13 financial, D01-D09 disciplinary; see qfctl rules list)';
COMMENT ON COLUMN qf.finding.dedupe_key IS '去重键 the key the rule names the risk point by (e.g. a payment id); one finding per rule and key';
COMMENT ON COLUMN qf.finding.rule_version IS '规则版本 hash of the rule text that fired';
COMMENT ON COLUMN qf.finding.title IS '标题 the rule''s title, Chinese then English';
COMMENT ON COLUMN qf.finding.level IS '风险等级 level: yellow 黄, orange 橙, red 红 (may rise by escalation)';
COMMENT ON COLUMN qf.finding.supervision IS '三个监督 supervision: technical 技术, financial 财务, disciplinary 纪律';
COMMENT ON COLUMN qf.finding.risk IS '两大风险 risk: technical 技术风险, non-technical 非技术风险';
COMMENT ON COLUMN qf.finding.duty IS '四个到位 duty: primary 主体责任, supervisory 监督责任, dual-duty 一岗双责, impartiality 检验公正';
COMMENT ON COLUMN qf.finding.subject IS '责任人 the person the finding is about (records.person.person_id), or NULL';
COMMENT ON COLUMN qf.finding.department IS '部门 the department (lab or office) the finding belongs to';
COMMENT ON COLUMN qf.finding.status IS '处置状态 status: open 待签收, acknowledged 已签收, resolved 办结(属实), dismissed 办结(不属实)';
COMMENT ON COLUMN qf.finding.first_seen IS '首次发现 when the engine first recorded it';
COMMENT ON COLUMN qf.finding.last_seen IS '最近发现 when the engine last saw it hit again with changed evidence';
COMMENT ON COLUMN qf.finding.hit_count IS '命中次数 how many times it was recorded (first hit and re-triggers)';
COMMENT ON COLUMN qf.finding.evidence IS '证据 the source table and its key columns, with the values that made the rule fire (JSON)';
COMMENT ON COLUMN qf.finding.evidence_hash IS 'md5 of the evidence: an unchanged hit is not a re-trigger';
COMMENT ON COLUMN qf.finding.message IS '提示信息 the rendered message, Chinese then English';
COMMENT ON COLUMN qf.finding.tags IS '标签 the rule''s tags (for routes)';
COMMENT ON COLUMN qf.finding.escalated_at IS '升级时间 when its level last rose by ageing escalation';
COMMENT ON COLUMN qf.finding.base_level IS '初始等级 the level the rule gave it before any escalation';
COMMENT ON COLUMN qf.finding.reminded_at IS '提醒时间 when the last reminder for an open red finding was queued';

COMMENT ON TABLE qf.finding_event IS '处置记录 history of every finding and of control changes (scopes, alert re-queues): append-only, hash-chained (hash = sha256(prev_hash || canonical row)); qfctl audit verify checks it. Auditors read the events of the findings they see.';
COMMENT ON COLUMN qf.finding_event.id IS '记录编号 event id';
COMMENT ON COLUMN qf.finding_event.seq IS '链序号 position in the hash chain (1, 2, 3 ... without gaps)';
COMMENT ON COLUMN qf.finding_event.finding_id IS '风险点编号 the finding, or NULL for a control event (scope_granted, scope_changed, scope_revoked)';
COMMENT ON COLUMN qf.finding_event.at IS '时间 when, set by the database (the transaction''s time)';
COMMENT ON COLUMN qf.finding_event.actor IS '操作人 who: the PostgreSQL role of the session, set by the database';
COMMENT ON COLUMN qf.finding_event.action IS '动作 created, retriggered, escalated, reminded, acknowledged, resolved, dismissed, reopened, alert_requeued, scope_granted, scope_changed, scope_revoked';
COMMENT ON COLUMN qf.finding_event.level IS '等级 the finding''s level at the event';
COMMENT ON COLUMN qf.finding_event.note IS '说明 the note given with the step (a control event: the change as JSON)';
COMMENT ON COLUMN qf.finding_event.prev_hash IS 'hash of the event before it in the chain';
COMMENT ON COLUMN qf.finding_event.hash IS 'sha256 of prev_hash and this event''s canonical row';

COMMENT ON TABLE qf.alert IS '预警推送 the delivery outbox: one row per (finding event, receiver). The payload is fixed when written; only the engine changes delivery columns, and admins re-queue with qf.alert_retry().';
COMMENT ON COLUMN qf.alert.id IS '推送编号 alert id; the Idempotency-Key of every attempt';
COMMENT ON COLUMN qf.alert.event_id IS '处置记录 the history event it tells about';
COMMENT ON COLUMN qf.alert.finding_id IS '风险点编号 the finding';
COMMENT ON COLUMN qf.alert.receiver IS '接收方 the receiver''s name in the configuration';
COMMENT ON COLUMN qf.alert.event IS '事件 finding.new, finding.retriggered, finding.escalated, finding.reminder, finding.resolved';
COMMENT ON COLUMN qf.alert.payload IS '内容 the finding as it was at the event (JSON)';
COMMENT ON COLUMN qf.alert.state IS '状态 pending 待发, delivered 已送达, dead 失败, silenced 已屏蔽 (kept, never sent)';
COMMENT ON COLUMN qf.alert.attempts IS '尝试次数 attempts since written or re-queued';
COMMENT ON COLUMN qf.alert.created_at IS '生成时间 when it was queued';
COMMENT ON COLUMN qf.alert.next_attempt_at IS '下次尝试 when it is due next';
COMMENT ON COLUMN qf.alert.last_attempt_at IS '上次尝试 when it was last sent';
COMMENT ON COLUMN qf.alert.claimed_by IS 'the daemon holding it (a lease, not a lock)';
COMMENT ON COLUMN qf.alert.claimed_until IS 'when that lease ends';
COMMENT ON COLUMN qf.alert.last_status IS 'HTTP status of the last answer';
COMMENT ON COLUMN qf.alert.last_error IS '错误 why the last attempt failed (credentials starred)';
COMMENT ON COLUMN qf.alert.delivered_at IS '送达时间 when the receiver accepted it';
COMMENT ON COLUMN qf.alert.requeued_at IS '重发时间 when an operator last re-queued it';
COMMENT ON COLUMN qf.alert.silence_id IS '屏蔽规则 the silence that held it back (qf.silence)';

COMMENT ON TABLE qf.silence IS '屏蔽 silences: matching findings are still recorded, their alerts kept as silenced and never sent';
COMMENT ON COLUMN qf.silence.rule_id IS '规则 the rule it applies to, or NULL for any';
COMMENT ON COLUMN qf.silence.subject IS '责任人 the person it applies to, or NULL for any';
COMMENT ON COLUMN qf.silence.department IS '部门 the department it applies to, or NULL for any';
COMMENT ON COLUMN qf.silence.starts_at IS '开始 from';
COMMENT ON COLUMN qf.silence.until IS '结束 until (exclusive)';
COMMENT ON COLUMN qf.silence.reason IS '原因 why';
COMMENT ON COLUMN qf.silence.created_by IS '设置人 who added it (set by the database)';
COMMENT ON COLUMN qf.silence.created_at IS '设置时间 when (set by the database)';
COMMENT ON COLUMN qf.silence.expired_at IS '提前结束 when it was ended early (qfctl silence expire)';

COMMENT ON TABLE qf.auditor_scope IS '查阅范围 what an auditor role may see, by department and/or supervision (NULL = any). Disciplinary findings are visible only through a row that names supervision disciplinary: a catch-all row (both NULL) does NOT show them. Every change is a history event.';
COMMENT ON COLUMN qf.auditor_scope.role_name IS '角色 the PostgreSQL role (a person or a group) as written';
COMMENT ON COLUMN qf.auditor_scope.role_oid IS 'that role''s OID when the row was written: a dropped role''s row matches no one';
COMMENT ON COLUMN qf.auditor_scope.department IS '部门 the department, or NULL for every department';
COMMENT ON COLUMN qf.auditor_scope.supervision IS '监督类别 technical, financial or disciplinary, or NULL for technical and financial';

COMMENT ON TABLE qf.rule_run IS '规则运行 one row per evaluation of a rule (kept evaluation.keep_runs days)';
COMMENT ON COLUMN qf.rule_run.rule_id IS '规则编号 rule id';
COMMENT ON COLUMN qf.rule_run.started_at IS '开始 when the evaluation started';
COMMENT ON COLUMN qf.rule_run.finished_at IS '结束 when it was recorded';
COMMENT ON COLUMN qf.rule_run.rows_scanned IS '扫描行数 rows the rule''s statement returned';
COMMENT ON COLUMN qf.rule_run.findings IS '风险点数 findings written (new or re-triggered)';
COMMENT ON COLUMN qf.rule_run.error IS '错误 why the run failed, or NULL';

COMMENT ON TABLE qf.chain_head IS '链头 the newest event of the history chain (seq, hash): copy it elsewhere (qfctl audit head) to detect a rewrite';
COMMENT ON TABLE qf.finding_count IS 'findings by level and status, kept by triggers (behind the metric qingfeng_findings)';
COMMENT ON TABLE qf.schema_migrations IS 'the sql/ migrations applied (qfctl migrate)';

-- Ages as days (numeric, two decimals) beside the interval: BI clients and
-- spreadsheets sum, sort and chart numbers, not intervals. New columns go
-- last, so the views keep their column order.
CREATE OR REPLACE VIEW qf.v_findings WITH (security_invoker = true) AS
SELECT f.id, f.rule_id, f.title, f.level, f.supervision, f.risk, f.duty, f.subject, f.department, f.status,
       f.first_seen, f.last_seen, f.hit_count, f.evidence, f.message,
       now() - f.first_seen AS age,
       (SELECT min(e.at) FROM qf.finding_event e
         WHERE e.finding_id = f.id AND e.action IN ('resolved', 'dismissed')) AS closed_at,
       round((extract(epoch FROM now() - f.first_seen) / 86400)::numeric, 2) AS age_days
  FROM qf.finding f;
CREATE OR REPLACE VIEW qf.v_findings_open WITH (security_invoker = true) AS
SELECT * FROM qf.v_findings WHERE status IN ('open', 'acknowledged');

COMMENT ON VIEW qf.v_findings IS '风险点一览 every finding you may see (your scope), for BI tools';
COMMENT ON VIEW qf.v_findings_open IS '未办结风险点 findings still open or acknowledged, for BI tools';
COMMENT ON VIEW qf.v_423_matrix IS '423 矩阵 findings by supervision × risk × duty × level (total and still open), within your scope';
COMMENT ON COLUMN qf.v_findings.age IS '已过时间 time since first seen (interval)';
COMMENT ON COLUMN qf.v_findings.age_days IS '已过天数 days since first seen (number, two decimals)';
COMMENT ON COLUMN qf.v_findings.closed_at IS '办结时间 when it was first resolved or dismissed, or NULL';
COMMENT ON COLUMN qf.v_findings_open.age IS '已过时间 time since first seen (interval)';
COMMENT ON COLUMN qf.v_findings_open.age_days IS '已过天数 days since first seen (number, two decimals)';
COMMENT ON COLUMN qf.v_423_matrix.findings IS '风险点数 findings';
COMMENT ON COLUMN qf.v_423_matrix.open IS '未办结 still open or acknowledged';

COMMENT ON FUNCTION qf.set_finding_status(bigint, text, text) IS '处置 change a finding''s status (acknowledged, resolved, dismissed, open) with a note; checks your scope; recorded in the history under your role';
COMMENT ON FUNCTION qf.verify_chain() IS '校验 the first broken link of the history chain, or no row when it is intact';
COMMENT ON FUNCTION qf.alert_retry(bigint) IS '重发 re-queue alert ID (or every dead alert when NULL), recorded in the history';
COMMENT ON FUNCTION qf.visible(text, text) IS 'whether the session user may see a finding of that department and supervision';

COMMENT ON COLUMN qf.silence.id IS '屏蔽编号 silence id (qfctl silence expire ID)';
COMMENT ON COLUMN qf.auditor_scope.id IS '编号 row id';
COMMENT ON COLUMN qf.chain_head.only_row IS 'always true: the table has one row';
COMMENT ON COLUMN qf.chain_head.seq IS '链序号 seq of the newest event';
COMMENT ON COLUMN qf.chain_head.hash IS 'hash of the newest event';
COMMENT ON COLUMN qf.finding_count.level IS '风险等级 level';
COMMENT ON COLUMN qf.finding_count.status IS '处置状态 status';
COMMENT ON COLUMN qf.finding_count.n IS '数量 findings with that level and status';
COMMENT ON COLUMN qf.schema_migrations.version IS 'the migration''s number';
COMMENT ON COLUMN qf.schema_migrations.name IS 'its file name';
COMMENT ON COLUMN qf.schema_migrations.checksum IS 'sha256 of the file as applied';
COMMENT ON COLUMN qf.schema_migrations.applied_at IS 'when it was applied';
COMMENT ON COLUMN qf.schema_migrations.applied_by IS 'the role that applied it';

-- the views' columns that come from qf.finding say what the table says
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT c.relname, a.attname, col_description('qf.finding'::regclass, fa.attnum) AS d
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               JOIN pg_attribute fa ON fa.attrelid = 'qf.finding'::regclass AND fa.attname = a.attname
              WHERE n.nspname = 'qf' AND c.relname IN ('v_findings', 'v_findings_open', 'v_423_matrix')
                AND col_description(c.oid, a.attnum) IS NULL LOOP
        EXECUTE format('COMMENT ON COLUMN qf.%I.%I IS %L', v.relname, v.attname, v.d);
    END LOOP;
END
$$;
COMMENT ON COLUMN qf.v_findings_open.closed_at IS '办结时间 NULL here: these findings are not closed';
