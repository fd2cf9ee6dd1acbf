-- F12: an invoice claimed twice (red, the later claim) or an expense during the claimant's leave (orange)
INSERT INTO records.person (person_id, name, department) VALUES ('L1', '请假人', '机械室'), ('L2', '报销人', '电气室');
INSERT INTO records.leave (person_id, start_date, end_date) VALUES ('L1', '2026-05-01', '2026-05-05');
INSERT INTO records.reimbursement (claim_id, person_id, invoice_code, invoice_no, amount, expense_date, claimed_at) VALUES
 ('C1', 'L2', 'IC1', 'IN1', 300.00, '2026-03-01', '2026-03-01 10:00+08'),
 ('C2', 'L2', 'IC1', 'IN1', 300.00, '2026-03-01', '2026-03-02 10:00+08'),  -- POS red: second claim of the invoice
 ('C3', 'L1', 'IC3', 'IN3', 200.00, '2026-05-01', '2026-05-10 10:00+08'),  -- POS orange: first day of leave
 ('C4', 'L1', 'IC4', 'IN4', 200.00, '2026-05-06', '2026-05-10 10:00+08'),  -- NEG: after the leave
 ('C5', 'L1', 'IC5', 'IN5', 200.00, '2026-04-30', '2026-05-10 10:00+08'),  -- NEG: before the leave
 ('C6', 'L1', 'IC1', 'IN1', 300.00, '2026-05-05', '2026-05-10 10:00+08');  -- POS red: duplicate and during leave
