-- Indexes for the columns incremental passes look changed keys up by
-- (${changed(TABLE, EXPR, COLUMN)} in the rule pack): without them a pass
-- after a few new records would scan the whole table.
CREATE INDEX IF NOT EXISTS payment_book_voucher ON records.payment (book, voucher_no);
CREATE INDEX IF NOT EXISTS gift_person ON records.gift (person_id, received_at);
CREATE INDEX IF NOT EXISTS complaint_person ON records.complaint (person_id, received_at);
CREATE INDEX IF NOT EXISTS fee_discount_client ON records.fee_discount (client_id, approved_at);
CREATE INDEX IF NOT EXISTS test_result_task ON records.test_result (task_id);
CREATE INDEX IF NOT EXISTS audit_trail_entity_id ON records.audit_trail (entity_id);
