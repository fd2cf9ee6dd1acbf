-- T12: an issued report of a lab that has accreditation rows, with no row for its (lab, method) whose
-- valid_from <= local issue date <= valid_to (valid_to NULL open-ended); labs without rows are not checked
INSERT INTO records.accreditation (lab, method, valid_from, valid_to) VALUES
 ('化学室', 'M1', '2025-01-01', '2026-06-30'),   -- until 06-30 inclusive ...
 ('化学室', 'M1', '2026-08-01', NULL),           -- ... re-accredited from 08-01, open-ended
 ('化学室', 'M2', '2026-03-01', '2026-12-31'),
 ('化学室', 'M4', NULL, NULL),                   -- no valid_from: only valid_to NULL is open-ended, so it covers nothing
 ('机械室', 'M9', '2020-01-01', NULL);
-- 纺织室 has no accreditation rows: out of the table's scope
INSERT INTO records.test_task (task_id, report_no, lab, method, signed_by, issued_at) VALUES
 ('A1', 'R1', '化学室', 'M1', 's1', '2026-06-30 23:30+08'),   -- NEG: the last valid local day
 ('A2', 'R2', '化学室', 'M1', 's2', '2026-06-30 16:30Z'),     -- POS: 07-01 00:30 local (06-30 in UTC)
 ('A3', 'R3', '化学室', 'M1', 's3', '2026-07-31 23:59+08'),   -- POS: the day before re-accreditation
 ('A4', 'R4', '化学室', 'M1', 's4', '2026-07-31 16:00Z'),     -- NEG: 08-01 00:00 local, valid again (07-31 in UTC)
 ('A5', 'R5', '化学室', 'M2', 's5', '2026-02-28 12:00+08'),   -- POS: before its scope began
 ('A6', 'R6', '化学室', 'M2', 's6', '2026-03-01 00:00+08'),   -- NEG: the first valid day
 ('A7', 'R7', '化学室', 'M3', 's7', '2026-05-01 10:00+08'),   -- POS: a method the lab was never accredited for
 ('A8', 'R8', '化学室', 'M3', 's8', NULL),                    -- NEG: not issued
 ('A9', 'R9', '化学室', 'M4', 's9', '2026-05-01 10:00+08'),   -- POS: the row without valid_from covers nothing
 ('B1', 'R10', '机械室', 'M1', 'sA', '2026-05-01 10:00+08'),  -- POS: M1 is accredited for 化学室, not for 机械室
 ('B2', 'R11', '机械室', 'M9', 'sB', '2026-05-01 10:00+08'),  -- NEG: open-ended
 ('C1', 'R12', '纺织室', 'M3', 'sC', '2026-05-01 10:00+08'),  -- NEG: 纺织室 lists no accreditation (scope)
 ('C2', 'R13', NULL, 'M1', 'sD', '2026-05-01 10:00+08');      -- NEG: no lab, so not in any lab's scope
