-- T16: a retained sample whose disposed_at local date is before retain_until; subject disposed_by
INSERT INTO records.test_task (task_id, lab) VALUES ('G1', '食品室');
INSERT INTO records.retained_sample (sample_id, task_id, retain_until, disposed_at, disposed_by) VALUES
 ('S1', 'G1', '2026-04-01', '2026-04-01 00:30+08', 'd1'),  -- NEG: the retention day itself (03-31 in UTC)
 ('S2', 'G1', '2026-04-01', '2026-03-31 23:59+08', 'd2'),  -- POS: the day before
 ('S3', 'G1', '2026-04-01', '2026-03-31 16:00Z', 'd3'),    -- NEG: 04-01 00:00 local
 ('S4', 'G1', '2026-04-01', NULL, NULL),                   -- NEG: not disposed of
 ('S5', 'G1', NULL, '2026-01-01 10:00+08', 'd5'),          -- NEG: no retention date
 ('S6', 'G1', '2026-04-01', '2026-02-01 10:00+08', 'd6'),  -- POS: two months early
 ('S7', NULL, '2026-04-01', '2026-03-01 10:00+08', 'd7');  -- POS: no task: no department
