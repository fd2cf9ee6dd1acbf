-- F07: paid on a non-workday (local date, calendar overrides) with amount >= 10000
INSERT INTO records.workday (day, is_workday) VALUES ('2026-03-08', true), ('2026-03-04', false);
INSERT INTO records.payment (payment_id, department, amount, paid_at, paid_by) VALUES
 ('W1', '财务处', 10000.00, '2026-03-07 10:00+08', 'p1'),  -- POS: Saturday
 ('W2', '财务处',  9999.99, '2026-03-07 10:00+08', 'p2'),  -- NEG: below the minimum
 ('W3', '财务处', 50000.00, '2026-03-06 10:00+08', 'p3'),  -- NEG: Friday
 ('W4', '财务处', 50000.00, '2026-03-08 10:00+08', 'p4'),  -- NEG: a working Sunday (调休)
 ('W5', '财务处', 50000.00, '2026-03-04 10:00+08', 'p5'),  -- POS: a holiday Wednesday
 ('W6', '财务处', 50000.00, '2026-03-06 23:59+08', 'p6'),  -- NEG: still Friday locally
 ('W7', '财务处', 50000.00, '2026-03-06 16:30Z', 'p7');    -- POS: Friday in UTC, Saturday 00:30 in Shanghai
