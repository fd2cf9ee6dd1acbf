-- T07: any two recorded steps of received ≤ start ≤ end ≤ reviewed ≤ approved ≤ issued out of order
INSERT INTO records.test_task (task_id, lab, approved_by, received_at, test_start, test_end, reviewed_at, approved_at, issued_at) VALUES
 ('O1', '建材室', 'A1', '2026-03-01 09:00+08', '2026-03-01 10:00+08', '2026-03-02 10:00+08', '2026-03-03 10:00+08', '2026-03-04 10:00+08', '2026-03-05 10:00+08'), -- NEG
 ('O2', '建材室', 'A2', '2026-03-01 09:00+08', '2026-03-01 08:59+08', NULL, NULL, NULL, NULL),                                                                 -- POS: started before receipt
 ('O3', '建材室', 'A3', '2026-03-01 09:00+08', '2026-03-01 10:00+08', NULL, '2026-03-03 10:00+08', '2026-03-03 09:00+08', NULL),                               -- POS: approved before review
 ('O4', '建材室', 'A4', '2026-03-05 09:00+08', NULL, NULL, NULL, NULL, '2026-03-04 09:00+08'),                                                                 -- POS: issued before receipt (not neighbours)
 ('O5', '建材室', 'A5', '2026-03-01 09:00+08', '2026-03-01 09:00+08', '2026-03-01 09:00+08', NULL, NULL, NULL);                                                -- NEG: equal is in order
