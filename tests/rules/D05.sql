-- D05: accompanying > 3 with <= 10 guests, > guests/3 with more guests, or no official letter
INSERT INTO records.reception (reception_id, host_department, guests, accompanying, has_official_letter, held_at) VALUES
 ('R1', '综合办公室', 10, 3, true,  '2026-03-01 12:00+08'),  -- NEG
 ('R2', '综合办公室', 10, 4, true,  '2026-03-01 12:00+08'),  -- POS
 ('R3', '综合办公室', 12, 4, true,  '2026-03-01 12:00+08'),  -- NEG: 4 = 12/3
 ('R4', '综合办公室', 12, 5, true,  '2026-03-01 12:00+08'),  -- POS
 ('R5', '化学室',      2, 1, false, '2026-03-01 12:00+08'),  -- POS: no letter
 ('R6', '化学室',      2, 1, NULL,  '2026-03-01 12:00+08');  -- POS: letter not recorded
