-- T17: two report_issue rows of a task with different content_hash and no report_amendment of the task with
-- amended_at between the earlier's issued_at and the later's (inclusive). Key (task_id, later version),
-- subject the later version's issued_by. Earlier/later by issued_at, then version.
INSERT INTO records.test_task (task_id, report_no, lab) VALUES
 ('V1', 'R1', '化学室'), ('V2', 'R2', '化学室'), ('V3', 'R3', '化学室'), ('V4', 'R4', '化学室'),
 ('V5', 'R5', '化学室'), ('V6', 'R6', '化学室'), ('V7', 'R7', '化学室'), ('V8', 'R8', '化学室');
INSERT INTO records.report_issue (task_id, version, content_hash, issued_at, issued_by) VALUES
 ('V1', 1, 'h1', '2026-03-01 10:00+08', 'i1'),   -- NEG: v2 amended in between, v3 amended at its issue instant
 ('V1', 2, 'h2', '2026-03-05 10:00+08', 'i2'),
 ('V1', 3, 'h3', '2026-03-09 10:00+08', 'i3'),
 ('V2', 1, 'h1', '2026-03-01 10:00+08', 'i1'),   -- a copy with the same content (NEG) ...
 ('V2', 1, 'h1', '2026-03-02 10:00+08', 'i1'),
 ('V2', 2, 'h2', '2026-03-05 10:00+08', 'i2'),   -- ... then version 2 differs, no amendment: POS ["V2", 2]
 ('V3', 1, 'h1', '2026-03-01 10:00+08', 'i1'),   -- POS ["V3", 2]: amendments one second outside the window
 ('V3', 2, 'h2', '2026-03-05 10:00+08', 'i2'),
 ('V4', 1, 'h1', '2026-03-01 10:00+08', 'i1'),   -- POS ["V4", 1]: a copy of version 1 with other content
 ('V4', 1, 'h9', '2026-03-03 10:00+08', 'i4'),
 ('V5', 1, 'h1', '2026-03-01 10:00+08', 'i1'),   -- NEG: amended at the earlier issue instant
 ('V5', 2, 'h2', '2026-03-05 02:00Z', 'i2'),
 ('V6', 1, 'h1', '2026-03-01 10:00+08', 'i1'),   -- v2 amended (NEG) ...
 ('V6', 2, 'h2', '2026-03-05 10:00+08', 'i2'),
 ('V6', 3, 'h1', '2026-03-09 10:00+08', 'i3'),   -- ... v3 goes back to v1's content, unamended since v2: POS ["V6", 3]
 ('V7', 1, 'h1', '2026-03-01 10:00+08', 'i1'),   -- NEG: a version whose content is not known
 ('V7', 2, NULL, '2026-03-05 10:00+08', 'i2'),
 ('V8', 2, 'h2', '2026-03-01 10:00+08', 'i2'),   -- NEG: version 2 was issued first; version 1, issued later,
 ('V8', 1, 'h1', '2026-03-05 10:00+08', 'i1');   -- differs from it and the amendment lies between their issues
INSERT INTO records.report_amendment (task_id, amended_at, amended_by, reason) VALUES
 ('V1', '2026-03-03 10:00+08', 'm', 'x'), ('V1', '2026-03-09 02:00Z', 'm', 'x'),
 ('V3', '2026-03-01 09:59:59+08', 'm', 'x'), ('V3', '2026-03-05 10:00:01+08', 'm', 'x'),
 ('V5', '2026-03-01 02:00Z', 'm', 'x'),
 ('V6', '2026-03-03 10:00+08', 'm', 'x'),
 ('V8', '2026-03-03 10:00+08', 'm', 'x');
