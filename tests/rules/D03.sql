-- D03: a relative works for a counterparty (USCC) or is its legal representative (id_hash), and no COI declaration
INSERT INTO records.counterparty (party_id, name, kind, uscc, legal_rep_id_hash) VALUES
 ('K1', '甲公司', 'vendor', 'U1', NULL), ('K2', '乙公司', 'client', 'U2', 'idh2'), ('K3', '丙公司', 'vendor', 'U3', NULL),
 ('K4', '丁公司', 'vendor', NULL, NULL);
INSERT INTO records.relative (person_id, name, relation, id_hash, employer_uscc) VALUES
 ('R1', '甲妻', '配偶', NULL, 'U1'),      -- POS: employer
 ('R2', '乙子', '子女', 'idh2', NULL),    -- POS: legal representative
 ('R3', '丙弟', '兄弟', NULL, 'U3'),      -- NEG: declared
 ('R4', '丁父', '父母', NULL, NULL);      -- NEG: nulls match nothing
INSERT INTO records.coi_declaration (person_id, party_id, relation) VALUES ('R3', 'K3', '兄弟任职');
