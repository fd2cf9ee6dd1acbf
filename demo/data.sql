-- Demo data for `make demo`: a small slice of a provincial inspection
-- institute whose records are in order, plus planted risk points across
-- the three supervisions, recorded in demo.truth so the demo can check its
-- own findings (recall and precision).
SET TimeZone = 'Asia/Shanghai';
CREATE SCHEMA IF NOT EXISTS demo;
CREATE TABLE demo.truth (rule_id text, dedupe_key text, PRIMARY KEY (rule_id, dedupe_key));

INSERT INTO records.person (person_id, name, department, post, is_leader, key_post, post_since) VALUES
 ('P001', '王建国', '院领导',       '院长',         true,  false, '2019-03-01'),
 ('P002', '李淑芬', '纪检监察室',   '纪检监察室主任', true,  false, '2020-07-01'),
 ('P003', '张伟',   '财务处',       '处长',         true,  true,  '2018-01-15'),
 ('P004', '刘洋',   '财务处',       '会计',         false, true,  '2022-04-01'),
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
       -- paid on a weekday: Saturday and Sunday move to Monday
       timestamptz '2026-01-06 10:00+08' + g * interval '5 days'
         + CASE extract(isodow FROM date '2026-01-06' + g * 5) WHEN 6 THEN interval '2 days' WHEN 7 THEN interval '1 day'
                ELSE interval '0' END,
       (ARRAY['P004', 'P006'])[1 + g % 2], 'P003', 'P005'
  FROM generate_series(1, 60) g;

-- planted: the same person at two incompatible posts
UPDATE records.payment SET approved_by = created_by WHERE payment_id IN ('FK2026-0007', 'FK2026-0023');
UPDATE records.payment SET paid_by = approved_by    WHERE payment_id IN ('FK2026-0031', 'FK2026-0052');
INSERT INTO demo.truth VALUES ('F09', 'FK2026-0007'), ('F09', 'FK2026-0023'), ('F09', 'FK2026-0031'), ('F09', 'FK2026-0052');

-- the leaders' duties, done on time: personal reports by 01-31, responsibility
-- letters by 03-31, a heart-to-heart talk inside every quarter
INSERT INTO records.duty_record (duty, person_id, counterpart, period, done_at)
SELECT d.duty, p.person_id, 'P002', y::text, make_timestamptz(y, d.m, 15, 10, 0, 0, 'Asia/Shanghai')
  FROM records.person p, generate_series(2024, 2026) y,
       (VALUES ('personal_report', 1), ('responsibility_letter', 3)) AS d(duty, m)
 WHERE p.is_leader;
INSERT INTO records.duty_record (duty, person_id, counterpart, period, done_at)
SELECT 'heart_talk', p.person_id, 'P004', to_char(q, 'YYYY-"Q"Q'), q + interval '20 days 10 hours'
  FROM records.person p, generate_series(timestamptz '2024-01-01 00:00+08', '2026-10-01 00:00+08', interval '3 months') q
 WHERE p.is_leader;

-- LIMS: tasks tested, reviewed and approved by different people, in order
INSERT INTO records.test_task (task_id, report_no, sample_id, client_id, lab, method, received_at, test_start, test_end,
                               tested_by, reviewed_by, approved_by, signed_by, reviewed_at, approved_at, issued_at, verdict, contracted_days)
SELECT 'RW2026-' || lpad(g::text, 4, '0'), 'BG2026-' || lpad(g::text, 4, '0'), 'YP-' || g, 'V0' || (1 + g % 5),
       CASE WHEN g % 2 = 0 THEN '化学室' ELSE '机械室' END, 'GB/T ' || (1000 + g % 3),
       t, t + interval '1 hour', t + interval '1 day', 'P008', CASE WHEN g % 2 = 0 THEN 'P007' ELSE 'P009' END,
       'P001', 'P001', t + interval '2 days', t + interval '3 days', t + interval '4 days', 'pass', 10
  FROM generate_series(1, 20) g, LATERAL (SELECT timestamptz '2026-02-02 09:00+08' + g * interval '7 days') AS x(t);
INSERT INTO records.signatory (person_id, method, valid_from, valid_to) VALUES ('P001', '*', '2019-03-01', NULL);

-- planted: the tester also reviews his own test (T03)
UPDATE records.test_task SET reviewed_by = tested_by WHERE task_id = 'RW2026-0011';
INSERT INTO demo.truth VALUES ('T03', 'RW2026-0011');
-- planted: a reception for 4 guests with 5 staff at table (D05)
INSERT INTO records.reception (reception_id, host_department, guests, accompanying, has_official_letter, held_at, cost) VALUES
 ('JD2026-001', '综合办公室', 6, 2, true, '2026-04-10 12:00+08', 960.00),
 ('JD2026-002', '化学室', 4, 5, true, '2026-05-20 12:00+08', 1480.00);
INSERT INTO demo.truth VALUES ('D05', 'JD2026-002');
-- planted: a leader who has not signed the 2026 responsibility letter (D07)
DELETE FROM records.duty_record WHERE person_id = 'P011' AND duty = 'responsibility_letter' AND period = '2026';
INSERT INTO demo.truth VALUES ('D07', '["P011", "2026"]');
-- planted: the head of finance has held a key post since 2018 (D09)
INSERT INTO demo.truth VALUES ('D09', 'P003');
