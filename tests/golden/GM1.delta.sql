SELECT r.key::text, r.subject::text,
       coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text)),
       r.level::text, r.evidence::text,
       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text
FROM (
SELECT jsonb_build_array(t."gift_id", t."person_id")::text AS key, t."person_id" AS subject, NULL AS department, (CASE WHEN t.kind = ANY($4::text[]) THEN 'red' END) AS level,
       jsonb_build_object('table', 'records.gift', 'gift_id', t."gift_id", 'person_id', t."person_id", 'kind', t."kind", 'value', t."value", 'received_at', t."received_at") AS evidence
FROM records."gift" AS t
WHERE (
(t.value >= $2::numeric) AND t.handed_in IS NOT TRUE AND t.received_at < $3::timestamptz AND ((t.gift_id)::text = ANY(ARRAY(SELECT unnest(c.keys) FROM qf.change_log c WHERE c.tbl = 'gift' AND c.xid >= $1::xid8)))
)
  AND ($5::timestamptz = '-infinity' OR t."received_at" >= $5::timestamptz)
  AND t."gift_id"::text = ANY(ARRAY(SELECT unnest(c.keys) FROM qf.change_log c WHERE c.tbl = 'gift' AND c.xid >= $1::xid8 AND (coalesce(current_setting('qingfeng.lane', true), '') = '' OR (cardinality(c.keys) > nullif(current_setting('qingfeng.lane_keys', true), '')::int) = (coalesce(current_setting('qingfeng.lane', true), '') = 'bulk')) AND coalesce(NOT pg_visible_in_snapshot(c.xid, nullif(current_setting('qingfeng.seen', true), '')::pg_snapshot), true)))
) AS r
LEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o WHERE $6::boolean AND o.rule_id = $7 AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true
WHERE r.key IS NOT NULL
  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)
  AND NOT (r.evidence::jsonb->>'kind' IS NOT DISTINCT FROM $8 AND $3::timestamptz < $9::timestamptz)
  AND NOT (r.evidence::jsonb->>'kind' IS NOT DISTINCT FROM $10 AND r.evidence::jsonb->>'value' IS NOT DISTINCT FROM $11 AND $3::timestamptz < $12::timestamptz)
ORDER BY 1