SELECT r.key::text, r.subject::text,
       coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text)),
       r.level::text, r.evidence::text,
       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text
FROM (
SELECT t."person_id"::text AS key, (t.person_id) AS subject, (NULL) AS department, (CASE WHEN bool_or(t.stage IN ('preliminary', 'substantiated')) THEN 'red' WHEN count(*) >= 2 THEN 'orange' ELSE 'yellow' END) AS level,
       jsonb_build_object('table', 'records.complaint', 'person_id', t."person_id", 'count', count(*), 'first', min(t."received_at"), 'last', max(t."received_at"), 'window_days', $2::numeric, 'complaint_ids', (jsonb_agg(t.complaint_id ORDER BY t.complaint_id)), 'stages', (jsonb_agg(t.stage ORDER BY t.complaint_id))) AS evidence
FROM records."complaint" AS t
WHERE (
((t.person_id)::text = ANY(ARRAY(SELECT x."person_id"::text FROM records."complaint" x WHERE x."complaint_id"::text = ANY(ARRAY(SELECT unnest(c.keys) FROM qf.change_log c WHERE c.tbl = 'complaint' AND c.xid >= $1::xid8)) UNION ALL SELECT o->>'person_id' FROM qf.change_log c, jsonb_array_elements(c.old_rows) o WHERE c.tbl = 'complaint' AND c.old_rows IS NOT NULL AND c.xid >= $1::xid8)))
)
  AND t."received_at" > $3::timestamptz - ($2::numeric) * interval '1 day' AND t."received_at" <= $3::timestamptz
  AND t."person_id" IS NOT NULL
GROUP BY t."person_id"
HAVING count(*) >= (1)
) AS r
LEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o WHERE $4::boolean AND o.rule_id = $5 AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true
WHERE r.key IS NOT NULL
  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)
ORDER BY 1