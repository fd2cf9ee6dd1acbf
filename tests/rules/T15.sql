-- T15: a sampling row with fewer than 2 distinct non-null person ids in samplers; subject the first sampler
INSERT INTO records.person (person_id, department) VALUES ('p8', '抽样室');
INSERT INTO records.test_task (task_id, lab) VALUES ('Q1', '食品室');
INSERT INTO records.sampling (sampling_id, task_id, sampled_at, samplers) VALUES
 ('C1', 'Q1', '2026-05-01 10:00+08', '{p1,p2}'),        -- NEG: two people
 ('C2', 'Q1', '2026-05-01 10:00+08', '{p1}'),           -- POS: one
 ('C3', 'Q1', '2026-05-01 10:00+08', '{p3,p3}'),        -- POS: one person named twice
 ('C4', 'Q1', '2026-05-01 10:00+08', '{NULL,p4}'),      -- POS: one known person, the first sampler is p4
 ('C5', 'Q1', '2026-05-01 10:00+08', '{p5,NULL,p6}'),   -- NEG: two known people
 ('C6', 'Q1', '2026-05-01 10:00+08', '{}'),             -- POS: nobody: no subject
 ('C7', 'Q1', '2026-05-01 10:00+08', NULL),             -- POS: no samplers recorded
 ('C8', NULL, '2026-05-01 10:00+08', '{p8}');           -- POS: no task: the sampler's department
