-- T13: a task of a method with a standard_status row, whose local test_start date (received_at when not
-- started) is >= withdrawn_on + grace_days (0)
INSERT INTO records.standard_status (method, withdrawn_on, replaced_by) VALUES
 ('GB 1-2010', '2026-03-01', 'GB 1-2025'),
 ('GB 2-2010', NULL, 'GB 2-2025');              -- superseded without a withdrawal date: nothing to compare
INSERT INTO records.test_task (task_id, lab, method, tested_by, received_at, test_start) VALUES
 ('W1', '化学室', 'GB 1-2010', 'u1', '2026-02-25 09:00+08', '2026-02-28 23:59+08'),  -- NEG: the day before
 ('W2', '化学室', 'GB 1-2010', 'u2', '2026-02-25 09:00+08', '2026-02-28 16:00Z'),    -- POS: 03-01 00:00 local, the withdrawal day itself
 ('W3', '化学室', 'GB 1-2010', 'u3', '2026-02-27 09:00+08', NULL),                   -- NEG: not started, received before
 ('W4', '化学室', 'GB 1-2010', 'u4', '2026-03-02 09:00+08', NULL),                   -- POS: not started, received after
 ('W5', '化学室', 'GB 1-2010', 'u5', '2026-02-20 09:00+08', '2026-03-05 09:00+08'),  -- POS: received before, tested after
 ('W6', '化学室', 'GB 1-2025', 'u6', '2026-04-01 09:00+08', '2026-04-01 10:00+08'),  -- NEG: the replacement
 ('W7', '化学室', 'GB 2-2010', 'u7', '2026-04-01 09:00+08', '2026-04-01 10:00+08'),  -- NEG: no withdrawal date
 ('W8', '化学室', 'GB 1-2010', 'u8', NULL, NULL),                                    -- NEG: no dates at all
 ('W9', '机械室', 'GB 1-2010', 'u9', '2026-03-06 08:00+08', '2026-03-06 09:00+08');  -- POS
