-- D06: complaints in the last 365 days: 1 yellow, >= 2 orange, red if any preliminary or substantiated
INSERT INTO records.person (person_id, name, department) VALUES ('C1', '甲', '化学室');
INSERT INTO records.complaint (complaint_id, person_id, received_at, stage) VALUES
 ('k1', 'C1', '2026-01-01 10:00+08', 'received'),          -- C1 POS yellow
 ('k2', 'C2', '2026-01-01 10:00+08', 'received'),
 ('k3', 'C2', '2026-02-01 10:00+08', 'closed'),            -- C2 POS orange: two
 ('k4', 'C3', '2026-03-01 10:00+08', 'preliminary'),       -- C3 POS red
 ('k5', 'C4', '2025-11-25 12:00+08', 'substantiated'),     -- C4 NEG: exactly 365 days old
 ('k6', 'C5', '2025-11-25 12:00:01+08', 'received');       -- C5 POS yellow: just inside
