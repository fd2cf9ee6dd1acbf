-- D08: a leader without a heart_talk done within each finished quarter, from max(post_since, now - 2 years)
SET TimeZone = 'Asia/Shanghai';  -- the labels below are computed in the institute's zone, as the engine does
INSERT INTO records.person (person_id, name, department, is_leader, post_since) VALUES
 ('L1', '甲', '院领导', true, '2020-01-01'),
 ('L2', '乙', '化学室', true, '2026-08-15');   -- NEG: 2026-Q3 is checked from 08-15 and was held
-- L1: every quarter from 2024-Q4 to 2026-Q3 held on its second day ...
INSERT INTO records.duty_record (duty, person_id, period, done_at)
SELECT 'heart_talk', 'L1', to_char(q, 'YYYY-"Q"Q'), q + interval '1 day 10 hours'
  FROM generate_series(timestamptz '2024-10-01 00:00+08', '2026-07-01 00:00+08', interval '3 months') AS q;
-- ... but 2026-Q1 was really held before the quarter, 2026-Q2 not at all, and 2026-Q3 after it: POS for those three
UPDATE records.duty_record SET done_at = '2025-12-20 10:00+08' WHERE person_id = 'L1' AND period = '2026-Q1';
DELETE FROM records.duty_record WHERE person_id = 'L1' AND period = '2026-Q2';
UPDATE records.duty_record SET done_at = '2026-10-01 10:00+08' WHERE person_id = 'L1' AND period = '2026-Q3';
INSERT INTO records.duty_record (duty, person_id, period, done_at) VALUES ('heart_talk', 'L2', '2026-Q3', '2026-09-01 10:00+08');
