-- T09: change to an approved task outside 08:00-18:00 local (inclusive) or on a non-workday; orange after issue
INSERT INTO records.workday (day, is_workday) VALUES ('2026-03-08', true), ('2026-03-04', false); -- a 调休 Sunday, a holiday Wednesday
INSERT INTO records.test_task (task_id, lab, approved_at, issued_at) VALUES ('H1', '化学室', '2026-03-02 09:00+08', '2026-03-05 09:00+08');
INSERT INTO records.test_result (result_id, task_id, item) VALUES ('HR1', 'H1', 'pH');
INSERT INTO records.audit_trail (event_id, entity, entity_id, field, changed_by, changed_at) VALUES
 ('B1', 'test_task',   'H1',  'verdict', 'u1', '2026-03-03 18:00:00+08'), -- NEG: 18:00 is inside
 ('B2', 'test_task',   'H1',  'verdict', 'u2', '2026-03-03 18:00:01+08'), -- POS yellow
 ('B3', 'test_result', 'HR1', 'value',   'u3', '2026-03-03 07:59:59+08'), -- POS yellow
 ('B4', 'test_task',   'H1',  'verdict', 'u4', '2026-03-07 10:00+08'),    -- POS orange: Saturday, after issue
 ('B5', 'test_task',   'H1',  'verdict', 'u5', '2026-03-03 08:00:00+08'), -- NEG: 08:00 is inside
 ('B6', 'test_task',   'H1',  'verdict', 'u6', '2026-03-08 10:00+08'),    -- NEG: working Sunday
 ('B7', 'test_task',   'H1',  'verdict', 'u7', '2026-03-04 10:00+08'),    -- POS yellow: holiday, before issue
 ('B8', 'test_task',   'H1',  'verdict', 'u8', '2026-03-01 23:00+08'),    -- NEG: before approval
 ('B9', 'test_task',   'H1',  'verdict', 'u9', '2026-03-03 02:30:00Z');   -- NEG: 02:30 UTC is 10:30 local, inside
