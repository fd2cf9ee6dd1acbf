SELECT r.key::text, r.subject::text,
       coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text)),
       r.level::text, r.evidence::text,
       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text
FROM (
SELECT jsonb_build_array(t."vendor_id", t."department")::text AS key, (min(t.requester)) AS subject, (min(t.department)) AS department, (CASE WHEN sum(t.amount) >= 2 * $2::numeric THEN 'red' END) AS level,
       jsonb_build_object('table', 'records.purchase_order', 'vendor_id', t."vendor_id", 'department', t."department", 'count', count(*), 'total', (sum(t.amount)), 'orders', (jsonb_agg(t.po_id ORDER BY t.po_id))) AS evidence
FROM records."purchase_order" AS t
WHERE (
t.amount > 0 AND ($1::xid8 IS NULL OR (t.vendor_id)::text = ANY(ARRAY(SELECT x."vendor_id"::text FROM records."purchase_order" x WHERE x."po_id"::text = ANY(ARRAY(SELECT unnest(c.keys) FROM qf.change_log c WHERE c.tbl = 'purchase_order' AND c.xid >= $1::xid8)) UNION ALL SELECT o->>'vendor_id' FROM qf.change_log c, jsonb_array_elements(c.old_rows) o WHERE c.tbl = 'purchase_order' AND c.old_rows IS NOT NULL AND c.xid >= $1::xid8)))
)
  AND ($3::timestamptz = '-infinity' OR t."ordered_at" >= $3::timestamptz)
  AND t."vendor_id" IS NOT NULL
  AND t."department" IS NOT NULL
GROUP BY t."vendor_id", t."department"
HAVING (
sum(t.amount) >= $2::numeric
)
) AS r
LEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o WHERE $4::boolean AND o.rule_id = $5 AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true
WHERE r.key IS NOT NULL
  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)
  AND NOT (r.evidence::jsonb->>'vendor_id' IS NOT DISTINCT FROM $6 AND r.evidence::jsonb->>'department' IS NOT DISTINCT FROM $7 AND $8::timestamptz < $9::timestamptz)
ORDER BY 1