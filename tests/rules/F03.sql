-- F03: amount in [50000 × 0.95, 50000)
INSERT INTO records.payment (payment_id, department, amount, approved_by) VALUES
 ('L1', '财务处', 47500.00, 'ap1'),  -- POS: lower bound included
 ('L2', '财务处', 47499.99, 'ap2'),  -- NEG
 ('L3', '财务处', 49999.99, 'ap3'),  -- POS
 ('L4', '财务处', 50000.00, 'ap4');  -- NEG: upper bound excluded
