-- D10: a person who is tested_by, reviewed_by, approved_by or signed_by on a task issued in local year Y
-- without an impartiality_declaration for Y signed (local date) by Y-01-31; years whose deadline has
-- passed, from the 2-year lookback on (now 2026-11-25: 2025 and 2026; 2024's deadline is before 2024-11-25)
INSERT INTO records.person (person_id, department) VALUES
 ('p1', '化学室'), ('p2', '化学室'), ('p3', '机械室'), ('p4', '机械室'), ('p5', '纺织室'), ('p6', '纺织室'),
 ('p7', '纺织室'), ('p9', '食品室');
INSERT INTO records.impartiality_declaration (person_id, year, signed_at) VALUES
 ('p1', 2026, '2026-01-31 23:30+08'),   -- the deadline day itself (local): in time
 ('p2', 2026, '2026-01-31 16:30Z'),     -- 02-01 00:30 local: late (01-31 in UTC)
 ('p3', 2025, '2025-01-10 10:00+08'),   -- 2025 only
 ('p4', 2026, NULL),                    -- no signing date: does not count
 ('p5', 2025, '2025-01-10 10:00+08'), ('p5', 2026, '2026-01-10 10:00+08'),
 ('p6', 2026, '2026-01-10 10:00+08'),   -- 2026 only
 ('p9', 2025, '2025-01-10 10:00+08');   -- 2025 only
INSERT INTO records.test_task (task_id, tested_by, reviewed_by, approved_by, signed_by, issued_at) VALUES
 ('E1', 'p1', 'p2', 'p3', 'p3', '2026-05-01 10:00+08'),  -- 2026: p1 NEG; p2 POS (late); p3 POS (reviewer and signer, once)
 ('E2', 'p3', NULL, NULL, NULL, '2025-05-01 10:00+08'),  -- NEG: p3 declared for 2025
 ('E3', 'p4', 'p5', NULL, NULL, '2026-05-01 10:00+08'),  -- p4 POS (no signing date); p5 NEG
 ('E4', 'p6', NULL, NULL, NULL, '2025-12-31 16:30Z'),    -- NEG: 2026-01-01 00:30 local, p6 declared for 2026 (2025 in UTC)
 ('E5', 'p9', NULL, NULL, NULL, '2025-12-31 16:30Z'),    -- POS: 2026 locally, p9 declared for 2025 only
 ('E6', 'p7', NULL, NULL, NULL, '2024-06-01 10:00+08'),  -- NEG: 2024 is before the lookback
 ('E7', 'p7', NULL, NULL, NULL, NULL),                   -- NEG: not issued
 ('E8', 'p8', NULL, NULL, NULL, '2026-11-20 10:00+08'),  -- POS: p8 never declared (and is not in records.person)
 ('E9', NULL, NULL, NULL, NULL, '2026-05-01 10:00+08');  -- nobody on it
