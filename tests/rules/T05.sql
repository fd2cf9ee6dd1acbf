-- T05: equipment used after its calibration due date (local date), or not in service
INSERT INTO records.equipment (equipment_id, name, calibration_due, status) VALUES
 ('E1', '天平', '2026-03-31', 'in_service'), ('E2', '色谱仪', '2027-01-01', 'repair'), ('E3', '光谱仪', '2027-01-01', 'in_service');
INSERT INTO records.test_task (task_id, lab, tested_by) VALUES ('U1', '化学室', 'A'), ('U2', '化学室', 'B'), ('U3', '化学室', 'C'), ('U4', '化学室', 'D');
INSERT INTO records.equipment_use (task_id, equipment_id, used_at) VALUES
 ('U1', 'E1', '2026-03-31 23:00+08'),  -- NEG: on the due date
 ('U2', 'E1', '2026-04-01 00:30+08'),  -- POS: the day after (16:30 UTC the day before)
 ('U3', 'E2', '2026-03-01 10:00+08'),  -- POS: under repair
 ('U4', 'E3', '2026-03-01 10:00+08');  -- NEG
