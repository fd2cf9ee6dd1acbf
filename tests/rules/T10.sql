-- T10: results of different samples share a raw data hash
INSERT INTO records.test_task (task_id, sample_id) VALUES ('J1', 'SA'), ('J2', 'SB'), ('J3', 'SC'), ('J4', 'SC');
INSERT INTO records.test_result (result_id, task_id, analyst, raw_hash, recorded_at) VALUES
 ('x1', 'J1', 'an1', 'h1', '2026-03-01 10:00+08'), ('x2', 'J2', 'an2', 'h1', '2026-03-02 10:00+08'),  -- POS: subject the later analyst
 ('x3', 'J3', 'an3', 'h2', '2026-03-01 10:00+08'), ('x4', 'J4', 'an3', 'h2', '2026-03-02 10:00+08'),  -- NEG: same sample
 ('x5', 'J1', 'an1', NULL, NULL), ('x6', 'J2', 'an2', NULL, NULL);                                    -- NEG: no hash
