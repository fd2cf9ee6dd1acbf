-- Demo data for `make demo`: a small slice of a provincial inspection
-- institute, with planted F09 risk points recorded in demo.truth so the
-- demo can check its own findings (recall and precision).
CREATE SCHEMA IF NOT EXISTS demo;
CREATE TABLE demo.truth (rule_id text, dedupe_key text, PRIMARY KEY (rule_id, dedupe_key));

INSERT INTO records.person (person_id, name, department, post, is_leader, key_post, post_since) VALUES
 ('P001', '王建国', '院领导',       '院长',         true,  false, '2019-03-01'),
 ('P002', '李淑芬', '纪检监察室',   '纪检监察室主任', true,  false, '2020-07-01'),
 ('P003', '张伟',   '财务处',       '处长',         true,  true,  '2018-01-15'),
 ('P004', '刘洋',   '财务处',       '会计',         false, true,  '2021-04-01'),
 ('P005', '陈静',   '财务处',       '出纳',         false, true,  '2022-09-01'),
 ('P006', '杨磊',   '财务处',       '会计',         false, true,  '2023-02-20'),
 ('P007', '赵敏',   '化学室',       '主任',         true,  false, '2017-05-01'),
 ('P008', '黄涛',   '化学室',       '检验员',       false, false, '2020-03-01'),
 ('P009', '周杰',   '机械室',       '主任',         true,  false, '2019-11-01'),
 ('P010', '吴芳',   '电气室',       '主任',         true,  false, '2021-06-01'),
 ('P011', '徐明',   '食品室',       '主任',         true,  false, '2016-08-01'),
 ('P012', '孙丽',   '综合办公室',   '主任',         true,  false, '2020-01-01');

INSERT INTO records.counterparty (party_id, name, kind, uscc, created_at, created_by) VALUES
 ('V01', '华测仪器设备有限公司',   'vendor', '91320100MA1XXXXX01', '2024-01-10', 'P004'),
 ('V02', '江南化学试剂有限公司',   'vendor', '91320100MA1XXXXX02', '2023-06-01', 'P004'),
 ('V03', '中检标准物质中心',       'vendor', '91110000MA1XXXXX03', '2022-03-15', 'P006'),
 ('V04', '苏信实验室装备公司',     'vendor', '91320500MA1XXXXX04', '2025-09-01', 'P006'),
 ('V05', '长江物业服务有限公司',   'vendor', '91320100MA1XXXXX05', '2021-01-01', 'P004');

-- 60 ordinary payments: creator, approver and payer always different people
INSERT INTO records.payment (payment_id, vendor_id, department, invoice_no, invoice_date, contract_id, contract_date,
                             amount, book, voucher_no, posted_at, paid_at, created_by, approved_by, paid_by)
SELECT 'FK2026-' || lpad(g::text, 4, '0'),
       'V0' || (1 + g % 5),
       (ARRAY['化学室', '机械室', '电气室', '食品室', '综合办公室'])[1 + g % 5],
       'INV' || (20260000 + g * 7),
       date '2026-01-05' + g * 5, 'HT-' || (100 + g % 9), date '2026-01-01' + (g % 9),
       round((exp(5 + (g * 37 % 100) / 12.0))::numeric, 2),
       'GL-2026', g, timestamptz '2026-01-06 09:30+08' + g * interval '5 days',
       timestamptz '2026-01-06 10:00+08' + g * interval '5 days',
       (ARRAY['P004', 'P006'])[1 + g % 2], 'P003', 'P005'
  FROM generate_series(1, 60) g;

-- planted: the same person at two incompatible posts
UPDATE records.payment SET approved_by = created_by WHERE payment_id IN ('FK2026-0007', 'FK2026-0023');
UPDATE records.payment SET paid_by = approved_by    WHERE payment_id IN ('FK2026-0031', 'FK2026-0052');
INSERT INTO demo.truth VALUES ('F09', 'FK2026-0007'), ('F09', 'FK2026-0023'), ('F09', 'FK2026-0031'), ('F09', 'FK2026-0052');
