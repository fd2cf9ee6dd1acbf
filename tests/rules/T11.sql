-- T11: one person tests > 60 % of a client's tasks in 90 days, client with >= 10 tasks (now = 2026-11-25 12:00+08)
INSERT INTO records.test_task (task_id, client_id, tested_by, received_at)
SELECT 'c1-' || g, 'CL1', CASE WHEN g <= 7 THEN 'P1' ELSE 'Q' || g END, '2026-11-01 10:00+08' FROM generate_series(1, 10) g;  -- POS: 7/10
INSERT INTO records.test_task (task_id, client_id, tested_by, received_at)
SELECT 'c2-' || g, 'CL2', CASE WHEN g <= 6 THEN 'P2' ELSE 'Q' || g END, '2026-11-01 10:00+08' FROM generate_series(1, 10) g;  -- NEG: 6/10 is not > 0.6
INSERT INTO records.test_task (task_id, client_id, tested_by, received_at)
SELECT 'c3-' || g, 'CL3', 'P3', '2026-11-01 10:00+08' FROM generate_series(1, 9) g;                                              -- NEG: 9 tasks < 10
INSERT INTO records.test_task (task_id, client_id, tested_by, received_at)
SELECT 'c4-' || g, 'CL4', 'P4', CASE WHEN g = 1 THEN timestamptz '2026-08-27 12:00+08' ELSE '2026-11-01 10:00+08' END
  FROM generate_series(1, 10) g;                                                                                                  -- NEG: one task exactly 90 days old is outside
