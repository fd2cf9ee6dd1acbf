-- D04: a leader without a personal_report for year Y by Y-01-31; periods from max(post_since, now - 2 years)
INSERT INTO records.person (person_id, name, department, is_leader, post_since) VALUES
 ('L1', '甲', '院领导', true, '2020-01-01'),   -- 2025 on the deadline (ok), 2026 late: POS 2026
 ('L2', '乙', '化学室', true, '2026-03-01'),   -- NEG: took office after the 2026 deadline
 ('L3', '丙', '机械室', true, '2015-01-01'),   -- POS 2025 and 2026: nothing filed (2024's deadline is before the lookback)
 ('N1', '丁', '机械室', false, '2015-01-01');  -- NEG: not a leader
INSERT INTO records.duty_record (duty, person_id, period, done_at) VALUES
 ('personal_report', 'L1', '2025', '2025-01-31 23:00+08'),
 ('personal_report', 'L1', '2026', '2026-02-01 09:00+08'),
 ('responsibility_letter', 'L3', '2026', '2026-01-10 09:00+08');   -- another duty does not count
