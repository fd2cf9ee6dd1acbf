-- F05: Benford first-digit MAD > 0.015 for a vendor with >= 300 payments >= 10 yuan in 365 days
-- VB1: 300 payments all starting with 9: POS
INSERT INTO records.payment (payment_id, vendor_id, amount, paid_at)
SELECT 'b1-' || g, 'VB1', 900 + g, '2026-06-01 10:00+08' FROM generate_series(1, 300) g;
-- VB2: 300 log-uniform amounts (Benford conforming): NEG
INSERT INTO records.payment (payment_id, vendor_id, amount, paid_at)
SELECT 'b2-' || g, 'VB2', round(power(10, 1 + 3 * (g - 0.5) / 300.0)::numeric, 2), '2026-06-01 10:00+08' FROM generate_series(1, 300) g;
-- VB3: 299 payments all starting with 9: NEG (below min_n)
INSERT INTO records.payment (payment_id, vendor_id, amount, paid_at)
SELECT 'b3-' || g, 'VB3', 900 + g, '2026-06-01 10:00+08' FROM generate_series(1, 299) g;
-- VB4: 300 nines, but one of them older than 365 days and one below 10 yuan: 298 count: NEG
INSERT INTO records.payment (payment_id, vendor_id, amount, paid_at)
SELECT 'b4-' || g, 'VB4', CASE WHEN g = 1 THEN 9.99 ELSE 900 + g END,
       CASE WHEN g = 2 THEN timestamptz '2025-11-25 12:00+08' ELSE '2026-06-01 10:00+08' END FROM generate_series(1, 300) g;
