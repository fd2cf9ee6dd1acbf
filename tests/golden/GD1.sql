SELECT r.key::text, r.subject::text,
       coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text)),
       r.level::text, r.evidence::text,
       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text
FROM (
SELECT t."claim_id"::text AS key, t."person_id" AS subject, NULL AS department, (NULL) AS level,
       jsonb_build_object('table', 'records.reimbursement', 'claim_id', t."claim_id", 'invoice_code', t."invoice_code", 'invoice_no', t."invoice_no", 'amount', t."amount", 'person_id', t."person_id", 'duplicate_of', o.k) AS evidence
FROM records."reimbursement" AS t
JOIN LATERAL (SELECT o."claim_id"::text AS k FROM records."reimbursement" AS o
  WHERE o."invoice_code" = t."invoice_code" AND o."invoice_no" = t."invoice_no" AND o."person_id" IS DISTINCT FROM t."person_id"
    AND (o."claimed_at", o."claim_id") < (t."claimed_at", t."claim_id")
  ORDER BY o."claimed_at" LIMIT 1) AS o ON true
WHERE (
t.amount > 0
)
  AND t."invoice_code" IS NOT NULL
  AND t."invoice_no" IS NOT NULL
  AND ($1::timestamptz = '-infinity' OR t."claimed_at" >= $1::timestamptz)
) AS r
LEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o WHERE $2::boolean AND o.rule_id = $3 AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true
WHERE r.key IS NOT NULL
  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)
ORDER BY 1