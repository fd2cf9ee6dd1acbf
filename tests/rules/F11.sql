-- F11: paid (local date) before the invoice date or the contract date
INSERT INTO records.payment (payment_id, department, paid_at, invoice_date, contract_date, paid_by) VALUES
 ('B1', '财务处', '2026-03-01 10:00+08', '2026-03-02', NULL, 'p1'),          -- POS: before the invoice
 ('B2', '财务处', '2026-03-02 00:30+08', '2026-03-02', NULL, 'p2'),          -- NEG: same local day (16:30 UTC the day before)
 ('B3', '财务处', '2026-03-04 10:00+08', '2026-03-01', '2026-03-05', 'p3'),  -- POS: before the contract
 ('B4', '财务处', '2026-03-04 10:00+08', NULL, NULL, 'p4');                  -- NEG: no dates
