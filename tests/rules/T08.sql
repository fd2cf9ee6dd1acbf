-- T08: test shorter than min_hours × 0.5, or turnaround longer than contracted_days × 2
INSERT INTO records.method_norm (method, min_hours) VALUES ('MN', 10);
INSERT INTO records.test_task (task_id, lab, method, tested_by, test_start, test_end, received_at, issued_at, contracted_days) VALUES
 ('G1', '食品室', 'MN', 'a', '2026-03-01 08:00+08', '2026-03-01 13:00+08', NULL, NULL, NULL),                     -- NEG: exactly 5 h
 ('G2', '食品室', 'MN', 'b', '2026-03-01 08:00+08', '2026-03-01 12:59+08', NULL, NULL, NULL),                     -- POS: 4 h 59 min
 ('G3', '食品室', 'MN', 'c', NULL, NULL, '2026-03-01 08:00+08', '2026-03-21 08:00+08', 10),                       -- NEG: exactly 20 days
 ('G4', '食品室', 'MN', 'd', NULL, NULL, '2026-03-01 08:00+08', '2026-03-21 08:01+08', 10),                       -- POS: 20 days 1 min
 ('G5', '食品室', 'XX', 'e', '2026-03-01 08:00+08', '2026-03-01 08:10+08', NULL, NULL, NULL);                      -- NEG: no norm for the method
