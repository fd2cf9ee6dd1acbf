SELECT t."payment_id"::text AS key,
       t."created_by"::text AS subject,
       t."department"::text AS department,
       jsonb_build_object('table', 'records.payment', 'payment_id', t."payment_id", 'vendor_id', t."vendor_id", 'amount', t."amount", 'invoice_no', t."invoice_no", 'paid_at', t."paid_at", 'created_by', t."created_by", 'approved_by', t."approved_by", 'paid_by', t."paid_by")::text AS evidence,
       jsonb_build_object('payment_id', t."payment_id"::text, 'vendor_id', t."vendor_id"::text, 'amount', t."amount"::text, 'invoice_no', t."invoice_no"::text, 'paid_at', t."paid_at"::text, 'created_by', t."created_by"::text, 'approved_by', t."approved_by"::text, 'paid_by', t."paid_by"::text)::text AS vars
FROM records."payment" AS t
WHERE (
created_by = approved_by OR approved_by = paid_by
)
  AND t."payment_id" IS NOT NULL
ORDER BY 1