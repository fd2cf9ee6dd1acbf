-- D07: a leader without a responsibility_letter for year Y by Y-03-31
INSERT INTO records.person (person_id, name, department, is_leader, post_since) VALUES
 ('L1', '甲', '院领导', true, '2020-01-01'),   -- NEG: both years on time (local dates)
 ('L2', '乙', '化学室', true, '2020-01-01'),   -- POS 2026: signed 04-01 locally
 ('L3', '丙', '机械室', true, '2026-04-01');   -- NEG: took office after the 2026 deadline
INSERT INTO records.duty_record (duty, person_id, period, done_at) VALUES
 ('responsibility_letter', 'L1', '2025', '2025-03-01 09:00+08'),
 ('responsibility_letter', 'L1', '2026', '2026-03-31 23:30+08'),
 ('responsibility_letter', 'L2', '2025', '2025-03-01 09:00+08'),
 ('responsibility_letter', 'L2', '2026', '2026-03-31 16:30Z');
