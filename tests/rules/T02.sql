-- T02: pass after an earlier fail, without a prior OOS investigation or by the same analyst
INSERT INTO records.test_task (task_id, lab) VALUES ('K1', '化学室'), ('K2', '化学室'), ('K3', '化学室');
INSERT INTO records.test_result (result_id, task_id, item, attempt, verdict, analyst, recorded_at) VALUES
 ('r1', 'K1', 'pH', 1, 'fail', 'X', '2026-03-01 10:00+08'), ('r2', 'K1', 'pH', 2, 'pass', 'Y', '2026-03-02 10:00+08'), -- NEG: OOS before
 ('r3', 'K1', 'Pb', 1, 'fail', 'X', '2026-03-01 10:00+08'), ('r4', 'K1', 'Pb', 2, 'pass', 'Y', '2026-03-02 10:00+08'), -- POS: no OOS
 ('r5', 'K2', 'pH', 1, 'fail', 'X', '2026-03-01 10:00+08'), ('r6', 'K2', 'pH', 2, 'pass', 'X', '2026-03-02 10:00+08'), -- POS: same analyst
 ('r7', 'K2', 'Cd', 1, 'fail', 'X', '2026-03-01 10:00+08'), ('r8', 'K2', 'Cd', 2, 'pass', 'Y', '2026-03-02 10:00+08'), -- POS: OOS at the pass, not before
 ('r9', 'K3', 'pH', 1, 'pass', 'X', '2026-03-01 10:00+08'), ('r10','K3', 'pH', 2, 'fail', 'Y', '2026-03-02 10:00+08'); -- NEG: fail after pass
INSERT INTO records.oos_investigation (task_id, item, opened_at) VALUES
 ('K1', 'pH', '2026-03-01 12:00+08'), ('K2', 'pH', '2026-03-01 12:00+08'), ('K2', 'Cd', '2026-03-02 10:00+08');
