-- D09: a key-post person in post for more than 5 years (now = 2026-11-25)
INSERT INTO records.person (person_id, name, department, post, key_post, post_since) VALUES
 ('K1', '甲', '财务处', '出纳', true,  '2021-11-25'),   -- NEG: exactly 5 years
 ('K2', '乙', '财务处', '会计', true,  '2021-11-24'),   -- POS
 ('K3', '丙', '化学室', '主任', false, '2000-01-01'),   -- NEG: not a key post
 ('K4', '丁', '财务处', '会计', true,  NULL);           -- NEG: unknown start
