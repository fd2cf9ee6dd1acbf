SELECT r.key::text, r.subject::text,
       coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text)),
       r.level::text, r.evidence::text,
       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text
FROM (
SELECT t."payment_id"::text AS key, NULL AS subject, t."department" AS department, (NULL) AS level,
       jsonb_build_object('table', 'records.payment', 'payment_id', t."payment_id", 'vendor_id', t."vendor_id", 'invoice_no', t."invoice_no", 'duplicate_of', o.k) AS evidence
FROM records."payment" AS t
JOIN LATERAL (SELECT o."payment_id"::text AS k FROM records."payment" AS o
  WHERE o."vendor_id" = t."vendor_id" AND o."invoice_no" = t."invoice_no"
    AND (o."paid_at", o."payment_id") < (t."paid_at", t."payment_id")
  ORDER BY o."paid_at" LIMIT 1) AS o ON true
WHERE (
true
)
  AND t."vendor_id" IS NOT NULL
  AND t."invoice_no" IS NOT NULL
) AS r
LEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o WHERE $1::boolean AND o.rule_id = $2 AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true
WHERE r.key IS NOT NULL
  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)
ORDER BY 1