-- T14: a subcontract row not disclosed (disclosed = false): orange; or whose subcontractor's
-- accreditation_valid_to is NULL (or the subcontractor unknown) or before the local sent date: red.
-- Key (task_id, item), subject the task's approved_by.
INSERT INTO records.counterparty (party_id, name, kind, accreditation_valid_to) VALUES
 ('S1', '甲检测公司', 'vendor', '2026-06-30'),
 ('S2', '乙检测公司', 'vendor', NULL);              -- qualification not known
INSERT INTO records.test_task (task_id, lab, approved_by) VALUES
 ('K1', '化学室', 'a1'), ('K2', '化学室', 'a2'), ('K3', '机械室', 'a3');
INSERT INTO records.subcontract (task_id, item, subcontractor_id, sent_at, disclosed) VALUES
 ('K1', '铅', 'S1', '2026-06-30 23:30+08', true),    -- NEG: sent on the last qualified local day, disclosed
 ('K1', '镉', 'S1', '2026-06-30 16:30Z', true),      -- POS red: 07-01 00:30 local, the qualification had lapsed
 ('K1', '汞', 'S1', '2026-05-01 10:00+08', false),   -- POS orange: not disclosed in the report
 ('K1', '砷', 'S1', '2026-05-01 10:00+08', NULL),    -- NEG: disclosure not recorded (not false), qualified
 ('K2', '铅', 'S2', '2026-05-01 10:00+08', true),    -- POS red: the subcontractor's qualification is unknown
 ('K2', '镉', 'S9', '2026-05-01 10:00+08', true),    -- POS red: a subcontractor not in counterparty
 ('K2', '汞', 'S1', '2026-05-01 10:00+08', false),   -- one key twice: undisclosed (orange) ...
 ('K2', '汞', 'S2', '2026-05-02 10:00+08', true),    -- ... and unqualified (red): one finding, red
 ('K3', '硬度', 'S1', '2026-07-15 10:00+08', false), -- POS red: lapsed and not disclosed
 ('K9', '铅', 'S1', '2026-05-01 10:00+08', false);   -- POS orange: the task is not loaded: no subject, no department
