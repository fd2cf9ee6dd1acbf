-- F04: a counterparty's bank account or phone equals an employee's or a relative's (red); only the address (orange)
INSERT INTO records.person (person_id, name, department, phone, bank_account, address) VALUES
 ('E1', '甲', '化学室', NULL, '6222 0000 1111', NULL),
 ('E2', '乙', '机械室', '021-5555', NULL, NULL),
 ('E3', '丙', '电气室', NULL, NULL, NULL),
 ('E4', '丁', '食品室', NULL, NULL, '北京市海淀区1号');
INSERT INTO records.relative (person_id, name, relation, phone) VALUES ('E3', '丙之子', '子', '13800000002');
INSERT INTO records.counterparty (party_id, name, kind, phone, bank_account, address) VALUES
 ('K1', '甲供应商', 'vendor', NULL, '6222-0000-1111', NULL),              -- POS red: E1's account, other punctuation
 ('K2', '乙供应商', 'vendor', '138 0000 0002', NULL, NULL),               -- POS red: E3's relative's phone
 ('K3', '丙供应商', 'vendor', NULL, NULL, '北京市 海淀区 1号'),            -- POS orange: E4's address, spacing differs
 ('K4', '丁供应商', 'vendor', '021-5556', '6222 0000 1112', '上海市1号');  -- NEG
