-- F13: a discount above 30 %, or more than 3 discounts to one client in a calendar quarter (local)
INSERT INTO records.fee_discount (discount_id, client_id, discount_pct, approved_by, approved_at) VALUES
 ('D1', 'CA', 30.00, 'a1', '2026-02-01 10:00+08'),   -- NEG: exactly the maximum
 ('D2', 'CA', 30.01, 'a2', '2026-05-01 10:00+08'),   -- POS: above
 ('q1', 'CQ', 5, 'b1', '2026-01-05 10:00+08'), ('q2', 'CQ', 5, 'b2', '2026-02-05 10:00+08'),
 ('q3', 'CQ', 5, 'b3', '2026-03-05 10:00+08'), ('q4', 'CQ', 5, 'b4', '2026-03-31 23:30+08'),  -- POS: 4 in 2026-Q1
 ('r1', 'CR', 5, 'c1', '2026-01-05 10:00+08'), ('r2', 'CR', 5, 'c2', '2026-02-05 10:00+08'),
 ('r3', 'CR', 5, 'c3', '2026-03-05 10:00+08'), ('r4', 'CR', 5, 'c4', '2026-03-31 16:30Z');     -- NEG: r4 is 04-01 locally
