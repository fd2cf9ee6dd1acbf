-- T06: issued report signed by someone without a valid signatory authorisation for the method
INSERT INTO records.signatory (person_id, method, valid_from, valid_to) VALUES
 ('W1', 'M1', '2026-01-01', '2026-06-30'), ('W2', '*', NULL, NULL);
INSERT INTO records.test_task (task_id, report_no, lab, method, signed_by, issued_at) VALUES
 ('V1', 'R1', '纺织室', 'M1', 'W1', '2026-06-30 20:00+08'),  -- NEG: last valid local day
 ('V2', 'R2', '纺织室', 'M1', 'W1', '2026-07-01 09:00+08'),  -- POS: expired
 ('V3', 'R3', '纺织室', 'M2', 'W2', '2026-07-01 09:00+08'),  -- NEG: any method
 ('V4', 'R4', '纺织室', 'M1', 'W3', '2026-07-01 09:00+08'),  -- POS: never authorised
 ('V5', 'R5', '纺织室', 'M1', 'W3', NULL),                   -- NEG: not issued
 ('V6', 'R6', '纺织室', 'M2', 'W1', '2026-03-01 09:00+08');  -- POS: authorised for M1 only
