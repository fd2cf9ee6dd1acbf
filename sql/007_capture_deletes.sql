-- A deleted row can no longer be looked up by its key, so the capture keeps
-- deleted rows themselves (deletes are rare in the record tables): a rule
-- that re-reads the keys a change touches (${changed(TABLE, EXPR, COLUMN)})
-- then also finds the COLUMN values of deleted rows, e.g. F08 the book of a
-- deleted voucher.
ALTER TABLE qf.change_log ADD COLUMN old_rows jsonb;
ALTER TABLE qf.change_log ALTER COLUMN old_rows SET STORAGE EXTERNAL;

CREATE OR REPLACE FUNCTION qf.capture_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    -- TG_ARGV[0] is the key column; format(%I) quotes it
    IF TG_OP = 'DELETE' THEN
        EXECUTE format('INSERT INTO qf.change_log (tbl, op, keys, old_rows)'
                       ' SELECT %L, ''d'', array_agg(%I::text), jsonb_agg(to_jsonb(o)) FROM old_rows o'
                       ' HAVING count(*) > 0',
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
