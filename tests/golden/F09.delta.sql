SELECT r.key::text, r.subject::text,
       coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text)),
       r.level::text, r.evidence::text,
       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text
FROM (
SELECT t."payment_id"::text AS key, t."created_by" AS subject, t."department" AS department, (NULL) AS level,
       jsonb_build_object('table', 'records.payment', 'payment_id', t."payment_id", 'vendor_id', t."vendor_id", 'amount', t."amount", 'invoice_no', t."invoice_no", 'paid_at', t."paid_at", 'created_by', t."created_by", 'approved_by', t."approved_by", 'paid_by', t."paid_by") AS evidence
FROM records."payment" AS t
WHERE (
created_by = approved_by OR approved_by = paid_by
)
  AND t."payment_id"::text = ANY(ARRAY(SELECT unnest(c.keys) FROM qf.change_log c WHERE c.tbl = 'payment' AND c.xid >= $3::xid8 AND (coalesce(current_setting('qingfeng.lane', true), '') = '' OR (cardinality(c.keys) > nullif(current_setting('qingfeng.lane_keys', true), '')::int) = (coalesce(current_setting('qingfeng.lane', true), '') = 'bulk')) AND coalesce(NOT pg_visible_in_snapshot(c.xid, nullif(current_setting('qingfeng.seen', true), '')::pg_snapshot), true)))
) AS r
LEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o WHERE $1::boolean AND o.rule_id = $2 AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true
WHERE r.key IS NOT NULL
  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)
ORDER BY 1