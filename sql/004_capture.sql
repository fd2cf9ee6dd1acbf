-- Change capture: every statement that changes a records table appends
-- one row to qf.change_log with the keys it touched, stamped with its
-- transaction id, and notifies channel "qingfeng" (delivered at commit).
-- One row per statement, not per record, keeps a 100k-row COPY cheap.
-- Evaluation cursors compare transaction ids with the snapshot's xmin, so
-- a row whose transaction commits late is never skipped (ARCHITECTURE.md).

CREATE TABLE qf.change_log (
    id         bigserial PRIMARY KEY,
    tbl        text NOT NULL,
    op         "char" NOT NULL,            -- i, u, d
    keys       text[] NOT NULL,
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    changed_at timestamptz NOT NULL DEFAULT now()
);
-- a big statement's key array is stored out of line but not compressed:
-- pglz on a 100k-key array costs more than the bytes it saves
ALTER TABLE qf.change_log ALTER COLUMN keys SET STORAGE EXTERNAL;

-- the change check of each rule is one probe per table it reads
CREATE INDEX change_log_tbl_xid ON qf.change_log (tbl, xid);
CREATE INDEX change_log_xid ON qf.change_log (xid);

-- The column that identifies a changed row of each table for the rules
-- (its primary key, or the entity it belongs to). daemon/rule.c keeps
-- the same map; tests/t/86-incremental.t checks they agree.
CREATE TABLE qf.capture (
    tbl     text PRIMARY KEY,
    key_col text NOT NULL
);
INSERT INTO qf.capture VALUES
 ('person', 'person_id'), ('relative', 'person_id'), ('counterparty', 'party_id'),
 ('coi_declaration', 'person_id'), ('workday', 'day'), ('test_task', 'task_id'),
 ('test_result', 'result_id'), ('oos_investigation', 'task_id'), ('report_amendment', 'task_id'),
 ('audit_trail', 'event_id'), ('equipment', 'equipment_id'), ('equipment_use', 'task_id'),
 ('signatory', 'person_id'), ('method_norm', 'method'), ('purchase_order', 'po_id'),
 ('payment', 'payment_id'), ('reimbursement', 'claim_id'), ('leave', 'person_id'),
 ('fee_discount', 'discount_id'), ('gift', 'gift_id'), ('hospitality', 'hospitality_id'),
 ('complaint', 'complaint_id'), ('duty_record', 'person_id'), ('reception', 'reception_id');

CREATE FUNCTION qf.capture_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- TG_ARGV[0] is the key column; format(%I) quotes it
    IF TG_OP = 'DELETE' THEN
        EXECUTE format('INSERT INTO qf.change_log (tbl, op, keys)'
                       ' SELECT %L, ''d'', array_agg(%I::text) FROM old_rows HAVING count(*) > 0',
                       TG_TABLE_NAME, TG_ARGV[0]);
    ELSE
        EXECUTE format('INSERT INTO qf.change_log (tbl, op, keys)'
                       ' SELECT %L, %L, array_agg(%I::text) FROM new_rows HAVING count(*) > 0',
                       TG_TABLE_NAME, CASE TG_OP WHEN 'INSERT' THEN 'i' ELSE 'u' END, TG_ARGV[0]);
    END IF;
    PERFORM pg_notify('qingfeng', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT tbl, key_col FROM qf.capture LOOP
        EXECUTE format('CREATE TRIGGER qf_capture_ins AFTER INSERT ON records.%I REFERENCING NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION qf.capture_changes(%L)', c.tbl, c.key_col);
        EXECUTE format('CREATE TRIGGER qf_capture_upd AFTER UPDATE ON records.%I REFERENCING NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION qf.capture_changes(%L)', c.tbl, c.key_col);
        EXECUTE format('CREATE TRIGGER qf_capture_del AFTER DELETE ON records.%I REFERENCING OLD TABLE AS old_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION qf.capture_changes(%L)', c.tbl, c.key_col);
    END LOOP;
END
$$;

-- Rule cursors live in qf.cursor as 'rule:<id>': position is the xmin
-- watermark (xid8 as bigint) of the snapshot the rule last saw, and
-- clock_at when a clock-driven rule last ran.
ALTER TABLE qf.cursor ADD COLUMN clock_at timestamptz;
