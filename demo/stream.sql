-- Records that arrive while the daemon runs (one per statement; the demo
-- script sends them one at a time). Two of them are planted risk points:
-- 0102 (creator approves, just below the approval limit: F09, F03) and
-- 0104 (approver pays a round large amount: F09, F06).
INSERT INTO records.payment (payment_id, vendor_id, department, invoice_no, amount, paid_at, created_by, approved_by, paid_by) VALUES ('FK2026-0101', 'V02', '化学室', 'INV20261101', 18650.00, now(), 'P004', 'P003', 'P005');
INSERT INTO records.payment (payment_id, vendor_id, department, invoice_no, amount, paid_at, created_by, approved_by, paid_by) VALUES ('FK2026-0102', 'V04', '机械室', 'INV20261102', 49800.00, now(), 'P006', 'P006', 'P005');
INSERT INTO records.payment (payment_id, vendor_id, department, invoice_no, amount, paid_at, created_by, approved_by, paid_by) VALUES ('FK2026-0103', 'V01', '电气室', 'INV20261103', 7320.50, now(), 'P004', 'P003', 'P005');
INSERT INTO records.payment (payment_id, vendor_id, department, invoice_no, amount, paid_at, created_by, approved_by, paid_by) VALUES ('FK2026-0104', 'V03', '食品室', 'INV20261104', 126000.00, now(), 'P006', 'P003', 'P003');
INSERT INTO records.payment (payment_id, vendor_id, department, invoice_no, amount, paid_at, created_by, approved_by, paid_by) VALUES ('FK2026-0105', 'V05', '综合办公室', 'INV20261105', 2300.00, now(), 'P004', 'P003', 'P005');
