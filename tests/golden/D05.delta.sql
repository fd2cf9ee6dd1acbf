SELECT r.key::text, r.subject::text,
       coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text)),
       r.level::text, r.evidence::text,
       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text
FROM (
SELECT t."reception_id"::text AS key, NULL AS subject, t."host_department" AS department, (NULL) AS level,
       jsonb_build_object('table', 'records.reception', 'reception_id', t."reception_id", 'host_department', t."host_department", 'guests', t."guests", 'accompanying', t."accompanying", 'has_official_letter', t."has_official_letter", 'held_at', t."held_at", 'cost', t."cost") AS evidence
FROM records."reception" AS t
WHERE (
(guests <= 10 AND accompanying > 3) OR (guests > 10 AND accompanying * 3 > guests) OR has_official_letter IS NOT TRUE
)
  AND ($1::timestamptz = '-infinity' OR t."held_at" >= $1::timestamptz)
  AND t."reception_id"::text = ANY(ARRAY(SELECT unnest(c.keys) FROM qf.change_log c WHERE c.tbl = 'reception' AND c.xid >= $4::xid8 AND (coalesce(current_setting('qingfeng.lane', true), '') = '' OR (cardinality(c.keys) > nullif(current_setting('qingfeng.lane_keys', true), '')::int) = (coalesce(current_setting('qingfeng.lane', true), '') = 'bulk')) AND coalesce(NOT pg_visible_in_snapshot(c.xid, nullif(current_setting('qingfeng.seen', true), '')::pg_snapshot), true)))
) AS r
LEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o WHERE $2::boolean AND o.rule_id = $3 AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true
WHERE r.key IS NOT NULL
  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)
ORDER BY 1