-- Hot keys (issue 21): an incremental pass costs what the change costs,
-- not what the changed key's history holds.
--
-- 1. Pair probes on indexes. F01 probes, for each payment a change can
--    affect, its vendor's payments of the same invoice or of the same
--    amount within the window: (vendor_id, invoice_no, paid_at) and
--    (vendor_id, amount, paid_at) answer each probe in index order. They
--    replace the two-column indexes of 001, which they extend. F05's and
--    T11's window edges read a key's rows of one day: (vendor_id, paid_at)
--    and (client_id, received_at), which carry the column the edges count,
--    so that the planner takes them rather than an index-only scan of the
--    vendor's whole history on another.
-- 2. Summaries kept by the writes. The statistical and window rules whose
--    answer is a count over a key's window (F05 Benford: first digits per
--    vendor; T11: tasks per client and tester) read, in an incremental
--    pass, per-key counts per day (and per 30 days for F05's year), kept
--    exact by statement triggers in the writer's own transaction, and
--    count only the two edge days of the window from the rows. A full pass (the clock's reconciliation, --once)
--    still counts the rows, so the two agree or a test says otherwise.
-- 3. Old rows of updates. An update that moves a row to another key (a
--    payment to another vendor, a gift to another year) changes the old
--    key's findings too: the capture now keeps the rows an update replaced,
--    as it kept deleted ones (007), and ${changed(TABLE, EXPR, COLUMN)}
--    reads both.

-- First, before any statement takes a snapshot: writers in progress finish
-- and no new one starts until this migration commits, so the backfill sees
-- every row the triggers will not count.
LOCK TABLE records.payment, records.test_task IN SHARE ROW EXCLUSIVE MODE;

CREATE INDEX IF NOT EXISTS payment_vendor_invoice ON records.payment (vendor_id, invoice_no, paid_at);
CREATE INDEX IF NOT EXISTS payment_vendor_amount ON records.payment (vendor_id, amount, paid_at);
-- partial: F01's amount probes (vendor_id = AND amount = AND paid_at
-- between) cannot use it. The planner takes a key's rows for the average
-- key's (20 payments a vendor at 10M rows), and would read a hot vendor's
-- month through (vendor_id, paid_at) to filter its amount.
CREATE INDEX IF NOT EXISTS payment_vendor_paid ON records.payment (vendor_id, paid_at) INCLUDE (amount)
    WHERE abs(amount) >= 10;
DROP INDEX IF EXISTS records.payment_vendor_id_invoice_no_idx;
DROP INDEX IF EXISTS records.payment_vendor_id_amount_idx;
CREATE INDEX IF NOT EXISTS test_task_client_received ON records.test_task (client_id, received_at) INCLUDE (tested_by);
DROP INDEX IF EXISTS records.test_task_client_id_idx;

-- Days are UTC days since the epoch: a summary row means the same day
-- whatever the time zone of the session that wrote it. A standard SQL
-- body is bound when created (no search_path at run time) and, without a
-- SET clause, inlined into the triggers' statements.
CREATE FUNCTION qf.epoch_day(t timestamptz) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.floor(EXTRACT(epoch FROM t) OPERATOR(pg_catalog./) 86400)::pg_catalog.int4;
COMMENT ON FUNCTION qf.epoch_day(timestamptz) IS
  '自 1970-01-01 起的 UTC 日序号 the UTC day number since 1970-01-01 (the day of the hot-key summaries)';

-- Benford over a year of a vendor with tens of thousands of payments: one
-- row per day and first digit would be 3,300 rows to sum per vendor. A row
-- holds the nine digits' counts, of one day (span 1) or of 30 days (span
-- 30, from a multiple of 30): a year is 12 rows of 30 days and at most 58
-- of single days, and the two edge days are counted from the rows.
CREATE TABLE qf.sum_payment_digit (
    vendor_id text     NOT NULL,
    span      smallint NOT NULL CHECK (span IN (1, 30)),
    day       integer  NOT NULL,
    n1        bigint   NOT NULL DEFAULT 0,
    n2        bigint   NOT NULL DEFAULT 0,
    n3        bigint   NOT NULL DEFAULT 0,
    n4        bigint   NOT NULL DEFAULT 0,
    n5        bigint   NOT NULL DEFAULT 0,
    n6        bigint   NOT NULL DEFAULT 0,
    n7        bigint   NOT NULL DEFAULT 0,
    n8        bigint   NOT NULL DEFAULT 0,
    n9        bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (vendor_id, span, day)
);
COMMENT ON TABLE qf.sum_payment_digit IS
  '付款首位数汇总（F05 增量评估用，由触发器维护） payments of at least 10 yuan per vendor, per UTC day (span 1) and per 30 days (span 30) of paid_at, counted by the first digit of the amount; kept by the triggers of records.payment in the writer''s transaction; F05 reads it in an incremental pass';
COMMENT ON COLUMN qf.sum_payment_digit.vendor_id IS '供应商 vendor';
COMMENT ON COLUMN qf.sum_payment_digit.span IS '天数（1 或 30） days the row covers (1 or 30)';
COMMENT ON COLUMN qf.sum_payment_digit.day IS '首日（UTC 日序号，qf.epoch_day；30 天行为 30 的倍数） first day (qf.epoch_day; a multiple of 30 for span 30)';
COMMENT ON COLUMN qf.sum_payment_digit.n1 IS '首位数为 1 的笔数 payments whose amount begins with 1';
COMMENT ON COLUMN qf.sum_payment_digit.n2 IS '首位数为 2 的笔数 payments whose amount begins with 2';
COMMENT ON COLUMN qf.sum_payment_digit.n3 IS '首位数为 3 的笔数 payments whose amount begins with 3';
COMMENT ON COLUMN qf.sum_payment_digit.n4 IS '首位数为 4 的笔数 payments whose amount begins with 4';
COMMENT ON COLUMN qf.sum_payment_digit.n5 IS '首位数为 5 的笔数 payments whose amount begins with 5';
COMMENT ON COLUMN qf.sum_payment_digit.n6 IS '首位数为 6 的笔数 payments whose amount begins with 6';
COMMENT ON COLUMN qf.sum_payment_digit.n7 IS '首位数为 7 的笔数 payments whose amount begins with 7';
COMMENT ON COLUMN qf.sum_payment_digit.n8 IS '首位数为 8 的笔数 payments whose amount begins with 8';
COMMENT ON COLUMN qf.sum_payment_digit.n9 IS '首位数为 9 的笔数 payments whose amount begins with 9';

CREATE TABLE qf.sum_task_tester (
    client_id text    NOT NULL,
    day       integer NOT NULL,
    tested_by text,
    n         bigint  NOT NULL,
    UNIQUE NULLS NOT DISTINCT (client_id, day, tested_by)
);
COMMENT ON TABLE qf.sum_task_tester IS
  '委托方任务检测人日汇总（T11 增量评估用，由触发器维护） test tasks per client, UTC day of received_at and tester (NULL: none yet), kept by the triggers of records.test_task in the writer''s transaction; T11 reads it in an incremental pass';
COMMENT ON COLUMN qf.sum_task_tester.client_id IS '委托方 client';
COMMENT ON COLUMN qf.sum_task_tester.day IS '收样日（UTC 日序号，qf.epoch_day） day of received_at (qf.epoch_day)';
COMMENT ON COLUMN qf.sum_task_tester.tested_by IS '检测人（空：未指定） tester (NULL: none)';
COMMENT ON COLUMN qf.sum_task_tester.n IS '任务数 number of tasks';

-- Written by the triggers alone (as their owner); the engine reads them.
REVOKE ALL ON qf.sum_payment_digit, qf.sum_task_tester FROM PUBLIC;
GRANT SELECT ON qf.sum_payment_digit, qf.sum_task_tester TO qf_engine, qf_admin;

-- One statement's rows in, its replaced or deleted rows out, as one upsert
-- per summary row in key order (two writers of the same rows lock them in
-- the same order). A row whose count falls to zero stays: a sum over it is
-- still exact, and a key that comes back reuses it. Each trigger gathers
-- its transition tables' rows (which tables it has depends on its event)
-- and one helper adds them up.
CREATE TYPE qf.payment_digit_delta AS (vendor_id text, day integer, d text, k integer);
COMMENT ON TYPE qf.payment_digit_delta IS 'a payment''s first digit counted in (k = 1) or out (k = -1) of qf.sum_payment_digit';

CREATE FUNCTION qf.sum_payment_add(p qf.payment_digit_delta[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO qf.sum_payment_digit AS s (vendor_id, span, day, n1, n2, n3, n4, n5, n6, n7, n8, n9)
    SELECT g.vendor_id, g.span, g.day,
           COALESCE(pg_catalog.sum(g.k) FILTER (WHERE g.d OPERATOR(pg_catalog.=) '1'), 0),
           COALESCE(pg_catalog.sum(g.k) FILTER (WHERE g.d OPERATOR(pg_catalog.=) '2'), 0),
           COALESCE(pg_catalog.sum(g.k) FILTER (WHERE g.d OPERATOR(pg_catalog.=) '3'), 0),
           COALESCE(pg_catalog.sum(g.k) FILTER (WHERE g.d OPERATOR(pg_catalog.=) '4'), 0),
           COALESCE(pg_catalog.sum(g.k) FILTER (WHERE g.d OPERATOR(pg_catalog.=) '5'), 0),
           COALESCE(pg_catalog.sum(g.k) FILTER (WHERE g.d OPERATOR(pg_catalog.=) '6'), 0),
           COALESCE(pg_catalog.sum(g.k) FILTER (WHERE g.d OPERATOR(pg_catalog.=) '7'), 0),
           COALESCE(pg_catalog.sum(g.k) FILTER (WHERE g.d OPERATOR(pg_catalog.=) '8'), 0),
           COALESCE(pg_catalog.sum(g.k) FILTER (WHERE g.d OPERATOR(pg_catalog.=) '9'), 0)
      FROM (SELECT c.vendor_id, 1::pg_catalog.int2 AS span, c.day, c.d, c.k FROM pg_catalog.unnest(p) c
            UNION ALL
            SELECT c.vendor_id, 30::pg_catalog.int2, c.day OPERATOR(pg_catalog.-) ((c.day OPERATOR(pg_catalog.%) 30 OPERATOR(pg_catalog.+) 30) OPERATOR(pg_catalog.%) 30), c.d, c.k
              FROM pg_catalog.unnest(p) c) g
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (vendor_id, span, day) DO UPDATE SET n1 = s.n1 OPERATOR(pg_catalog.+) EXCLUDED.n1, n2 = s.n2 OPERATOR(pg_catalog.+) EXCLUDED.n2, n3 = s.n3 OPERATOR(pg_catalog.+) EXCLUDED.n3, n4 = s.n4 OPERATOR(pg_catalog.+) EXCLUDED.n4, n5 = s.n5 OPERATOR(pg_catalog.+) EXCLUDED.n5, n6 = s.n6 OPERATOR(pg_catalog.+) EXCLUDED.n6, n7 = s.n7 OPERATOR(pg_catalog.+) EXCLUDED.n7, n8 = s.n8 OPERATOR(pg_catalog.+) EXCLUDED.n8, n9 = s.n9 OPERATOR(pg_catalog.+) EXCLUDED.n9;
END
$$;
REVOKE ALL ON FUNCTION qf.sum_payment_add(qf.payment_digit_delta[]) FROM PUBLIC;
COMMENT ON FUNCTION qf.sum_payment_add(qf.payment_digit_delta[]) IS 'adds payments'' first digits to qf.sum_payment_digit (the trigger of records.payment)';

CREATE FUNCTION qf.sum_payment_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    out_ qf.payment_digit_delta[];
    in_ qf.payment_digit_delta[];
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'records.payment'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.sum_payment_apply() is a trigger of records.payment only';
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM qf.sum_payment_digit;
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        SELECT pg_catalog.array_agg(ROW(r.vendor_id, qf.epoch_day(r.paid_at),
                   pg_catalog.substr(pg_catalog.trunc(pg_catalog.abs(r.amount))::pg_catalog.text, 1, 1), -1)
                   ::qf.payment_digit_delta)
          INTO out_ FROM old_rows r
         WHERE r.vendor_id IS NOT NULL AND r.paid_at IS NOT NULL AND pg_catalog.abs(r.amount) OPERATOR(pg_catalog.>=) 10;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT pg_catalog.array_agg(ROW(r.vendor_id, qf.epoch_day(r.paid_at),
                   pg_catalog.substr(pg_catalog.trunc(pg_catalog.abs(r.amount))::pg_catalog.text, 1, 1), 1)
                   ::qf.payment_digit_delta)
          INTO in_ FROM new_rows r
         WHERE r.vendor_id IS NOT NULL AND r.paid_at IS NOT NULL AND pg_catalog.abs(r.amount) OPERATOR(pg_catalog.>=) 10;
    END IF;
    IF out_ IS NOT NULL OR in_ IS NOT NULL THEN
        PERFORM qf.sum_payment_add(pg_catalog.array_cat(out_, in_));
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION qf.sum_payment_apply() FROM PUBLIC;
COMMENT ON FUNCTION qf.sum_payment_apply() IS
  'qf.sum_payment_digit 的维护触发器 keeps qf.sum_payment_digit exact: a statement''s new rows counted in, its replaced and deleted rows out';

CREATE TYPE qf.task_tester_delta AS (client_id text, day integer, tested_by text, k integer);
COMMENT ON TYPE qf.task_tester_delta IS 'a test task counted in (k = 1) or out (k = -1) of qf.sum_task_tester';

CREATE FUNCTION qf.sum_task_add(p qf.task_tester_delta[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO qf.sum_task_tester AS s (client_id, day, tested_by, n)
    SELECT c.client_id, c.day, c.tested_by, pg_catalog.sum(c.k)::pg_catalog.int8
      FROM pg_catalog.unnest(p) c
     GROUP BY 1, 2, 3 HAVING pg_catalog.sum(c.k) OPERATOR(pg_catalog.<>) 0 ORDER BY 1, 2, 3
    ON CONFLICT (client_id, day, tested_by) DO UPDATE SET n = s.n OPERATOR(pg_catalog.+) EXCLUDED.n;
END
$$;
REVOKE ALL ON FUNCTION qf.sum_task_add(qf.task_tester_delta[]) FROM PUBLIC;
COMMENT ON FUNCTION qf.sum_task_add(qf.task_tester_delta[]) IS 'adds test tasks to qf.sum_task_tester (the trigger of records.test_task)';

CREATE FUNCTION qf.sum_test_task_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    out_ qf.task_tester_delta[];
    in_ qf.task_tester_delta[];
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) 'records.test_task'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'qf.sum_test_task_apply() is a trigger of records.test_task only';
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM qf.sum_task_tester;
        RETURN NULL;
    END IF;
    -- the transition tables a trigger has depend on its event
    IF TG_OP <> 'INSERT' THEN
        SELECT pg_catalog.array_agg(ROW(r.client_id, qf.epoch_day(r.received_at), r.tested_by, -1)::qf.task_tester_delta)
          INTO out_ FROM old_rows r WHERE r.client_id IS NOT NULL AND r.received_at IS NOT NULL;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT pg_catalog.array_agg(ROW(r.client_id, qf.epoch_day(r.received_at), r.tested_by, 1)::qf.task_tester_delta)
          INTO in_ FROM new_rows r WHERE r.client_id IS NOT NULL AND r.received_at IS NOT NULL;
    END IF;
    IF out_ IS NOT NULL OR in_ IS NOT NULL THEN
        PERFORM qf.sum_task_add(pg_catalog.array_cat(out_, in_));
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION qf.sum_test_task_apply() FROM PUBLIC;
COMMENT ON FUNCTION qf.sum_test_task_apply() IS
  'qf.sum_task_tester 的维护触发器 keeps qf.sum_task_tester exact: a statement''s new rows counted in, its replaced and deleted rows out';

CREATE TRIGGER qf_sum_ins AFTER INSERT ON records.payment
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.sum_payment_apply();
CREATE TRIGGER qf_sum_upd AFTER UPDATE ON records.payment
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.sum_payment_apply();
CREATE TRIGGER qf_sum_del AFTER DELETE ON records.payment
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.sum_payment_apply();
CREATE TRIGGER qf_sum_trunc AFTER TRUNCATE ON records.payment
    FOR EACH STATEMENT EXECUTE FUNCTION qf.sum_payment_apply();
CREATE TRIGGER qf_sum_ins AFTER INSERT ON records.test_task
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.sum_test_task_apply();
CREATE TRIGGER qf_sum_upd AFTER UPDATE ON records.test_task
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.sum_test_task_apply();
CREATE TRIGGER qf_sum_del AFTER DELETE ON records.test_task
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION qf.sum_test_task_apply();
CREATE TRIGGER qf_sum_trunc AFTER TRUNCATE ON records.test_task
    FOR EACH STATEMENT EXECUTE FUNCTION qf.sum_test_task_apply();

-- The rows already there (the lock above holds writers off).
WITH c AS (SELECT r.vendor_id, qf.epoch_day(r.paid_at) AS day, substr(trunc(abs(r.amount))::text, 1, 1) AS d
             FROM records.payment r
            WHERE r.vendor_id IS NOT NULL AND r.paid_at IS NOT NULL AND abs(r.amount) >= 10)
INSERT INTO qf.sum_payment_digit (vendor_id, span, day, n1, n2, n3, n4, n5, n6, n7, n8, n9)
SELECT g.vendor_id, g.span, g.day, count(*) FILTER (WHERE g.d = '1'), count(*) FILTER (WHERE g.d = '2'), count(*) FILTER (WHERE g.d = '3'), count(*) FILTER (WHERE g.d = '4'), count(*) FILTER (WHERE g.d = '5'), count(*) FILTER (WHERE g.d = '6'), count(*) FILTER (WHERE g.d = '7'), count(*) FILTER (WHERE g.d = '8'), count(*) FILTER (WHERE g.d = '9')
  FROM (SELECT c.vendor_id, 1::int2 AS span, c.day, c.d FROM c
        UNION ALL
        SELECT c.vendor_id, 30::int2, c.day - (c.day % 30 + 30) % 30, c.d FROM c) g
 GROUP BY 1, 2, 3;
INSERT INTO qf.sum_task_tester (client_id, day, tested_by, n)
SELECT r.client_id, qf.epoch_day(r.received_at), r.tested_by, count(*)
  FROM records.test_task r
 WHERE r.client_id IS NOT NULL AND r.received_at IS NOT NULL
 GROUP BY 1, 2, 3;

-- The capture keeps the rows an update replaced, as it keeps deleted ones.
CREATE OR REPLACE FUNCTION qf.capture_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- TG_ARGV[0] is the key column; format(%I) quotes it
    IF TG_OP = 'DELETE' THEN
        EXECUTE pg_catalog.format(
            'INSERT INTO qf.change_log (tbl, op, keys, old_rows)'
            ' SELECT %L, ''d'', pg_catalog.array_agg(%I::pg_catalog.text), pg_catalog.jsonb_agg(pg_catalog.to_jsonb(o))'
            ' FROM old_rows o HAVING pg_catalog.count(*) > 0',
            TG_TABLE_NAME, TG_ARGV[0]);
    ELSIF TG_OP = 'UPDATE' THEN
        EXECUTE pg_catalog.format(
            'INSERT INTO qf.change_log (tbl, op, keys, old_rows)'
            ' SELECT %L, ''u'', (SELECT pg_catalog.array_agg(%I::pg_catalog.text) FROM new_rows),'
            '        pg_catalog.jsonb_agg(pg_catalog.to_jsonb(o))'
            ' FROM old_rows o HAVING pg_catalog.count(*) > 0',
            TG_TABLE_NAME, TG_ARGV[0]);
    ELSE
        EXECUTE pg_catalog.format(
            'INSERT INTO qf.change_log (tbl, op, keys)'
            ' SELECT %L, ''i'', pg_catalog.array_agg(%I::pg_catalog.text) FROM new_rows HAVING pg_catalog.count(*) > 0',
            TG_TABLE_NAME, TG_ARGV[0]);
    END IF;
    PERFORM pg_catalog.pg_notify('qingfeng', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT tbl, key_col FROM qf.capture LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS qf_capture_upd ON records.%I', c.tbl);
        EXECUTE format('CREATE TRIGGER qf_capture_upd AFTER UPDATE ON records.%I'
                       ' REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION qf.capture_changes(%L)', c.tbl, c.key_col);
    END LOOP;
END
$$;
