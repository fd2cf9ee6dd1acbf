-- D01: gift >= 100 not registered within 30 days (deadline passed); cash/securities not handed in after 30 days (red);
--      a person's gifts in a calendar year total > 600 (now = 2026-11-25 12:00+08)
INSERT INTO records.gift (gift_id, person_id, kind, value, received_at, registered_at, handed_in) VALUES
 ('G1', 'p1', 'gift', 100.00, '2026-10-01 10:00+08', NULL, NULL),                          -- POS: the minimum, deadline passed
 ('G2', 'p2', 'gift',  99.99, '2026-10-01 10:00+08', NULL, NULL),                          -- NEG: below the minimum
 ('G3', 'p3', 'gift', 500.00, '2026-11-01 10:00+08', NULL, NULL),                          -- NEG: deadline 12-01 not passed
 ('G4', 'p4', 'gift', 200.00, '2026-06-01 00:00+08', '2026-07-01 00:00+08', true),         -- NEG: registered on day 30
 ('G5', 'p5', 'gift', 200.00, '2026-06-01 00:00+08', '2026-07-01 00:00:01+08', true),      -- POS: one second late
 ('G6', 'p6', 'cash',  50.00, '2026-09-01 10:00+08', '2026-09-02 10:00+08', false),        -- POS red: cash kept
 ('G7', 'p7', 'securities', 5000.00, '2026-09-01 10:00+08', '2026-09-02 10:00+08', true),  -- NEG as a gift (handed in); POS for p7's 2026 total 5000 > 600
 ('y1', 'Y1', 'gift', 300.00, '2026-02-01 10:00+08', '2026-02-02 10:00+08', true),
 ('y2', 'Y1', 'gift', 301.00, '2026-03-01 10:00+08', '2026-03-02 10:00+08', true),         -- POS: Y1 2026 total 601
 ('y3', 'Y2', 'gift', 300.00, '2026-02-01 10:00+08', '2026-02-02 10:00+08', true),
 ('y4', 'Y2', 'gift', 300.00, '2026-03-01 10:00+08', '2026-03-02 10:00+08', true),         -- NEG: Y2 total exactly 600
 ('y5', 'Y2', 'gift', 100.00, '2025-12-31 23:00+08', '2026-01-02 10:00+08', true);         -- NEG: 2025 locally
