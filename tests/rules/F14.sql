-- F14: a task_invoice whose amount < the method's fee × (1 - 0.05), and the task's client has no fee_discount
-- approved at or before invoiced_at with discount_pct >= 100 × (1 - amount / fee); key task_id, subject the
-- invoice's approved_by
INSERT INTO records.fee_schedule (method, fee) VALUES ('M1', 1000.00), ('M2', 300.00);
INSERT INTO records.test_task (task_id, lab, method, client_id) VALUES
 ('F1', '化学室', 'M1', 'CA'), ('F2', '化学室', 'M1', 'CA'), ('F3', '化学室', 'M1', 'CB'), ('F4', '化学室', 'M1', 'CB'),
 ('F5', '化学室', 'M1', 'CB'), ('F6', '化学室', 'M2', 'CC'), ('F7', '化学室', 'M2', 'CC'), ('F8', '化学室', 'M9', 'CA'),
 ('F9', '机械室', 'M1', 'CA'), ('F11', '化学室', 'M1', 'CB');
INSERT INTO records.fee_discount (discount_id, client_id, discount_pct, approved_by, approved_at) VALUES
 ('DB1', 'CB', 20, 'x', '2026-05-01 10:00+08'),
 ('DC1', 'CC', 33.33, 'x', '2026-01-01 10:00+08'),
 ('DA1', 'CX', 90, 'x', '2026-01-01 10:00+08');   -- another client's
INSERT INTO records.task_invoice (task_id, amount, invoiced_at, approved_by) VALUES
 ('F1', 950.00, '2026-05-01 10:00+08', 'v1'),      -- NEG: exactly the tolerance edge (1000 × 0.95)
 ('F2', 949.99, '2026-05-01 10:00+08', 'v2'),      -- POS: a cent below it, CA has no discount
 ('F3', 800.00, '2026-05-01 10:00+08', 'v3'),      -- NEG: 20 % off, DB1 (20 %) approved at the same instant
 ('F4', 800.00, '2026-05-01 09:59:59+08', 'v4'),   -- POS: DB1 was approved a second after the invoice
 ('F5', 799.99, '2026-06-01 10:00+08', 'v5'),      -- POS: 20.001 % off, DB1 covers 20 %
 ('F6', 200.01, '2026-05-01 10:00+08', 'v6'),      -- NEG: 33.33 % off, exactly DC1
 ('F7', 200.00, '2026-05-01 10:00+08', 'v7'),      -- POS: 33.333… % off, DC1 covers 33.33 %
 ('F8', 10.00, '2026-05-01 10:00+08', 'v8'),       -- NEG: M9 has no published fee (scope)
 ('F9', 1000.00, '2026-05-01 10:00+08', 'v9a'),    -- two invoices of one task: the full fee ...
 ('F9', 900.00, '2026-05-02 10:00+08', 'v9b'),     -- ... and 10 % off: POS once, for this one
 ('F11', 500.00, NULL, 'v11'),                     -- POS: no invoice date, so no discount was approved before it
 ('FX', 1.00, '2026-05-01 10:00+08', 'vX');        -- NEG: the task is not loaded, no method
