SELECT r.key::text, r.subject::text,
       coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text)),
       r.level::text, r.evidence::text,
       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text
FROM (
SELECT t."category"::text AS key, (NULL) AS subject, (NULL) AS department, (NULL) AS level,
       jsonb_build_object('table', 'records.reimbursement', 'category', t."category", 'count', count(*)) AS evidence
FROM records."reimbursement" AS t
WHERE (
true
)
  AND t."category" IS NOT NULL
GROUP BY t."category"
HAVING (
count(*) > 100
)
) AS r
LEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o WHERE $1::boolean AND o.rule_id = $2 AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true
WHERE r.key IS NOT NULL
  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)
ORDER BY 1