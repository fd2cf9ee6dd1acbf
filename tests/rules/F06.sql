-- F06: amount >= 10000 and a multiple of 1000
INSERT INTO records.payment (payment_id, department, amount, approved_by) VALUES
 ('R1', '财务处', 10000.00, 'a1'),   -- POS: the minimum
 ('R2', '财务处',  9000.00, 'a2'),   -- NEG: below the minimum
 ('R3', '财务处', 10500.00, 'a3'),   -- NEG: not a multiple
 ('R4', '财务处', 123000.00, 'a4'),  -- POS
 ('R5', '财务处', 10000.50, 'a5');   -- NEG: cents
