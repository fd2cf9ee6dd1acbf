-- F01: same vendor and invoice_no; or same vendor and amount within 30 days (the later payment is flagged)
INSERT INTO records.payment (payment_id, vendor_id, department, invoice_no, amount, paid_at, paid_by) VALUES
 ('P1', 'V1', '财务处', 'I1', 100.00,  '2026-03-01 10:00+08', 'x1'),
 ('P2', 'V1', '财务处', 'I1', 250.00,  '2026-05-01 10:00+08', 'x2'),  -- POS: same invoice as P1
 ('P3', 'V1', '财务处', 'I3', 1000.00, '2026-06-01 00:00+08', 'x3'),
 ('P4', 'V1', '财务处', 'I4', 1000.00, '2026-07-01 00:00+08', 'x4'),  -- POS: same amount exactly 30 days later
 ('P5', 'V1', '财务处', 'I5', 2000.00, '2026-06-01 00:00+08', 'x5'),
 ('P6', 'V1', '财务处', 'I6', 2000.00, '2026-07-01 00:00:01+08', 'x6'), -- NEG: 30 days and 1 s
 ('P7', 'V2', '财务处', 'I1', 100.00,  '2026-05-01 10:00+08', 'x7');  -- NEG: another vendor
