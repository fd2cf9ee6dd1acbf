-- F10: a vendor's first payment >= 50000 within 7 days of the vendor's creation
INSERT INTO records.counterparty (party_id, name, kind, created_at) VALUES
 ('NV1', '新甲', 'vendor', '2026-03-01 10:00+08'), ('NV2', '新乙', 'vendor', '2026-03-01 10:00+08'),
 ('NV3', '新丙', 'vendor', '2026-03-01 10:00+08'), ('NV4', '新丁', 'vendor', '2026-03-01 10:00+08');
INSERT INTO records.payment (payment_id, vendor_id, department, amount, paid_at, approved_by) VALUES
 ('N1', 'NV1', '财务处', 50000.00, '2026-03-08 10:00+08', 'ap1'),    -- POS: the minimum, exactly 7 days
 ('N2', 'NV2', '财务处', 49999.99, '2026-03-02 10:00+08', 'ap2'),    -- NEG: below the minimum
 ('N3', 'NV3', '财务处', 60000.00, '2026-03-08 10:00:01+08', 'ap3'), -- NEG: 7 days and 1 s
 ('N4', 'NV4', '财务处', 100.00,   '2026-03-02 10:00+08', 'ap4'),
 ('N5', 'NV4', '财务处', 60000.00, '2026-03-03 10:00+08', 'ap5');    -- NEG: not the first payment
