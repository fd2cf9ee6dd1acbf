-- D02: hospitality from a party that is a client (task) or vendor (payment) within ±90 days
INSERT INTO records.person (person_id, name, department) VALUES ('h1', '甲', '化学室'), ('h2', '乙', '机械室'), ('h4', '丁', '食品室');
INSERT INTO records.hospitality (hospitality_id, person_id, host_party_id, held_at) VALUES
 ('H1', 'h1', 'CP1', '2026-06-01 10:00+08'),   -- POS: task received exactly 90 days later
 ('H2', 'h2', 'CP2', '2026-06-01 10:00+08'),   -- NEG: payment 90 days and 1 s earlier
 ('H3', 'h2', 'CP3', '2026-06-01 10:00+08'),   -- NEG: no dealings
 ('H4', 'h4', 'CP4', '2026-06-01 10:00+08');   -- POS: vendor paid a month before
INSERT INTO records.test_task (task_id, client_id, received_at) VALUES ('tk1', 'CP1', '2026-08-30 10:00+08');
INSERT INTO records.payment (payment_id, vendor_id, paid_at) VALUES
 ('py2', 'CP2', '2026-03-03 09:59:59+08'), ('py4', 'CP4', '2026-05-01 10:00+08');
