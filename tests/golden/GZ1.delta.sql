SELECT r.key::text, r.subject::text,
       coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text)),
       r.level::text, r.evidence::text,
       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text
FROM (
SELECT t."result_id"::text AS key, t."analyst" AS subject, NULL::text AS department, (NULL) AS level,
       jsonb_build_object('table', 'records.test_result', 'result_id', t."result_id", 'item', t."item", 'task_id', t."task_id", 'recorded_at', t."recorded_at", 'value', t."value", 'mean', round(t.qf_mean, 2), 'stddev', round(t.qf_sd, 2), 'z', round(zz.z, 2)) AS evidence
FROM (SELECT t.*, avg(t."value") OVER w AS qf_mean, stddev_pop(t."value") OVER w AS qf_sd, count(*) OVER w AS qf_n
        FROM records."test_result" AS t WHERE (t.verdict = 'pass' AND ((t.item)::text = ANY(ARRAY(SELECT x."item"::text FROM records."test_result" x WHERE x."result_id"::text = ANY(ARRAY(SELECT unnest(c.keys) FROM qf.change_log c WHERE c.tbl = 'test_result' AND c.xid >= $1::xid8)) UNION ALL SELECT o->>'item' FROM qf.change_log c, jsonb_array_elements(c.old_rows) o WHERE c.tbl = 'test_result' AND c.old_rows IS NOT NULL AND c.xid >= $1::xid8)))) AND t."value" IS NOT NULL
  AND ($4::timestamptz = '-infinity' OR t."recorded_at" >= $4::timestamptz)
      WINDOW w AS (PARTITION BY t."item")) AS t
CROSS JOIN LATERAL (SELECT (t."value" - t.qf_mean) / nullif(t.qf_sd, 0) AS z) AS zz
WHERE t.qf_n >= ($2::numeric) AND abs(zz.z) > ($3::numeric)
) AS r
LEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o WHERE $5::boolean AND o.rule_id = $6 AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true
WHERE r.key IS NOT NULL
  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)
ORDER BY 1