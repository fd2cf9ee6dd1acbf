-- F02: orders each below 200000 to one vendor and department within 30 days summing to >= 200000, >= 2 orders
INSERT INTO records.purchase_order (po_id, vendor_id, department, requester, amount, ordered_at) VALUES
 ('a1', 'VA', 'D1', 'r1', 150000.00, '2026-03-01 00:00+08'),
 ('a2', 'VA', 'D1', 'r2',  60000.00, '2026-03-31 00:00+08'),   -- POS: exactly 30 days after a1
 ('a3', 'VA', 'D1', 'r3', 250000.00, '2026-03-10 00:00+08'),   -- not below the threshold: ignored
 ('b1', 'VB', 'D1', 'r1', 150000.00, '2026-03-01 00:00+08'),
 ('b2', 'VB', 'D1', 'r2',  60000.00, '2026-03-31 00:00:01+08'),-- NEG: 1 s too late
 ('c1', 'VC', 'D1', 'r1', 100000.00, '2026-03-01 00:00+08'),
 ('c2', 'VC', 'D1', 'r2',  99999.99, '2026-03-02 00:00+08'),   -- NEG: 199999.99
 ('d1', 'VD', 'D2', 'r1', 120000.00, '2026-04-01 00:00+08'),
 ('d2', 'VD', 'D2', 'r2',  90000.00, '2026-04-10 00:00+08'),
 ('d3', 'VD', 'D2', 'r3', 110000.00, '2026-04-20 00:00+08'),   -- POS once: from 04-01 (the 04-10 window overlaps it)
 ('e1', 'VA', 'D2', 'r1', 190000.00, '2026-03-01 00:00+08'),
 ('e2', 'VA', 'D1', 'r1',  10000.00, '2026-06-01 00:00+08');   -- NEG: other department / alone
