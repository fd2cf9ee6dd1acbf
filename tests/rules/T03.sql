-- T03: two of tested_by / reviewed_by / approved_by are the same non-null person
INSERT INTO records.test_task (task_id, lab, tested_by, reviewed_by, approved_by) VALUES
 ('S1', '机械室', 'A', 'A', 'B'),    -- POS: tester reviews
 ('S2', '机械室', 'B', 'C', 'C'),    -- POS: reviewer approves
 ('S3', '机械室', 'B', 'C', 'D'),    -- NEG: separated
 ('S4', '机械室', 'D', NULL, NULL),  -- NEG: nulls are not a person
 ('S5', '机械室', 'E', 'F', 'E');    -- POS: tester approves
