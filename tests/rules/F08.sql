-- F08: a voucher number missing between two present ones, within one book and calendar year
INSERT INTO records.payment (payment_id, book, voucher_no, posted_at) VALUES
 ('v1', 'GL', 1, '2026-01-05 10:00+08'), ('v2', 'GL', 2, '2026-01-06 10:00+08'), ('v4', 'GL', 4, '2026-01-07 10:00+08'),
 ('v5', 'GL', 5, '2026-01-08 10:00+08'), ('v8', 'GL', 8, '2026-02-01 10:00+08'),       -- POS: 3, 6, 7 missing
 ('w1', 'GL', 10, '2025-12-01 10:00+08'), ('w2', 'GL', 11, '2025-12-02 10:00+08'),     -- NEG: 2025 complete
 ('y1', 'GL2', 1, '2025-12-31 23:00+08'), ('y3', 'GL2', 3, '2026-01-01 00:30+08'),     -- NEG: different years (local)
 ('z1', 'GL3', 7, '2026-03-01 10:00+08'), ('z2', 'GL3', 7, '2026-03-02 10:00+08');     -- NEG: a repeated number is no gap
