-- T04: a person with a COI declaration for the client, valid on received_at, works on the task
INSERT INTO records.coi_declaration (person_id, party_id, relation, valid_from, valid_to) VALUES
 ('P1', 'C1', '配偶任职', '2026-01-01', '2026-12-31');
INSERT INTO records.test_task (task_id, lab, client_id, received_at, tested_by, reviewed_by, approved_by, signed_by) VALUES
 ('Q1', '电气室', 'C1', '2026-03-01 10:00+08', 'P1', 'X', 'Y', 'Z'),   -- POS orange: tested
 ('Q2', '电气室', 'C1', '2026-03-01 10:00+08', 'X', 'Y', 'Z', 'P1'),   -- POS red: signed
 ('Q3', '电气室', 'C1', '2025-12-31 23:59+08', 'P1', 'X', 'Y', 'Z'),   -- NEG: before valid_from (local date)
 ('Q4', '电气室', 'C2', '2026-03-01 10:00+08', 'P1', 'X', 'Y', 'Z'),   -- NEG: another client
 ('Q5', '电气室', 'C1', '2026-12-31 23:30+08', 'X', 'P1', 'Y', 'Z'),   -- POS: last valid local day
 ('Q6', '电气室', 'C1', '2027-01-01 00:10+08', 'P1', 'X', 'Y', 'Z');   -- NEG: after valid_to
