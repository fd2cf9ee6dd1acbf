SELECT r.key::text, r.subject::text,
       coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text)),
       r.level::text, r.evidence::text,
       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text
FROM (
SELECT t."person_id"::text AS key, (NULL) AS subject, (min(t.city)) AS department, (NULL) AS level,
       jsonb_build_object('table', 'records.reimbursement', 'person_id', t."person_id", 'count', count(*), 'first', min(t."claimed_at"), 'last', max(t."claimed_at"), 'window_days', 30) AS evidence
FROM records."reimbursement" AS t
WHERE (
true
)
  AND t."claimed_at" > $2::timestamptz - (30) * interval '1 day' AND t."claimed_at" <= $2::timestamptz
  AND t."person_id" IS NOT NULL
GROUP BY t."person_id"
HAVING count(*) >= ($1::numeric)
) AS r
LEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o WHERE $3::boolean AND o.rule_id = $4 AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true
WHERE r.key IS NOT NULL
  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)
ORDER BY 1