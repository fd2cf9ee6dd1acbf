-- T01: audit_trail change to verdict/value after approval, no covering amendment
INSERT INTO records.test_task (task_id, report_no, lab, approved_at) VALUES
 ('T1', 'R-1', '化学室', '2026-03-01 10:00+08'),
 ('T2', 'R-2', '食品室', '2026-03-01 10:00+08'),
 ('T3', 'R-3', '化学室', NULL);
INSERT INTO records.test_result (result_id, task_id, item) VALUES ('RS2', 'T2', 'pH');
INSERT INTO records.report_amendment (task_id, amended_at, amended_by, reason) VALUES ('T2', '2026-03-02 09:00+08', 'M', 'typo');
INSERT INTO records.audit_trail (event_id, entity, entity_id, field, old_value, new_value, changed_by, changed_at) VALUES
 ('A1', 'test_task',   'T1',  'verdict', 'fail', 'pass', 'U1', '2026-03-01 10:00:00+08'), -- NEG: at approval, not after
 ('A2', 'test_task',   'T1',  'verdict', 'fail', 'pass', 'U2', '2026-03-01 10:00:01+08'), -- POS
 ('A3', 'test_result', 'RS2', 'value',   '7.1',  '6.9',  'U3', '2026-03-02 09:00:00+08'), -- NEG: amendment at the same instant
 ('A4', 'test_result', 'RS2', 'value',   '6.9',  '6.5',  'U4', '2026-03-02 09:00:01+08'), -- POS: amendment earlier than the change
 ('A5', 'test_task',   'T1',  'method',  'M1',   'M2',   'U5', '2026-03-05 10:00+08'),    -- NEG: neither verdict nor value
 ('A6', 'test_task',   'T3',  'verdict', 'fail', 'pass', 'U6', '2026-03-05 10:00+08');    -- NEG: task not approved
