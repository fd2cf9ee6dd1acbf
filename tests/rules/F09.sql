-- F09: created_by = approved_by, or approved_by = paid_by
INSERT INTO records.payment (payment_id, department, created_by, approved_by, paid_by) VALUES
 ('Y1', '财务处', 'a', 'a', 'b'),     -- POS: creator approves
 ('Y2', '财务处', 'a', 'b', 'b'),     -- POS: approver pays
 ('Y3', '财务处', 'a', 'b', 'c'),     -- NEG
 ('Y4', '财务处', 'a', 'b', 'a'),     -- NEG: creator pays is not F09
 ('Y5', '财务处', 'a', NULL, NULL);   -- NEG: not approved yet
