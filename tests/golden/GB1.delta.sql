SELECT r.key::text, r.subject::text,
       coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text)),
       r.level::text, r.evidence::text,
       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text
FROM (
WITH v AS (SELECT t."vendor_id"::text AS g, substr(trunc(abs(t."amount"))::text, 1, 1)::int AS d
             FROM records."payment" AS t WHERE (t.paid_at > $2::timestamptz - $3::numeric * interval '1 day' AND t.paid_at <= $2::timestamptz AND ((t.vendor_id)::text = ANY(ARRAY(SELECT x."vendor_id"::text FROM records."payment" x WHERE x."payment_id"::text = ANY(ARRAY(SELECT unnest(c.keys) FROM qf.change_log c WHERE c.tbl = 'payment' AND c.xid >= $1::xid8)) UNION ALL SELECT o->>'vendor_id' FROM qf.change_log c, jsonb_array_elements(c.old_rows) o WHERE c.tbl = 'payment' AND c.old_rows IS NOT NULL AND c.xid >= $1::xid8)))) AND abs(t."amount") >= 10 AND t."vendor_id" IS NOT NULL),
     n AS (SELECT g, count(*) AS n FROM v GROUP BY g HAVING count(*) >= ($4::numeric)),
     c AS (SELECT n.g, n.n, dg.d, count(v.d) AS cnt FROM n CROSS JOIN generate_series(1, 9) AS dg(d)
             LEFT JOIN v ON v.g = n.g AND v.d = dg.d GROUP BY n.g, n.n, dg.d),
     m AS (SELECT g, n, avg(abs(cnt::numeric / n - log(1 + 1.0 / d))) AS mad,
                  jsonb_object_agg(d::text, round(cnt::numeric / n, 4) ORDER BY d) AS shares
             FROM c GROUP BY g, n)
SELECT g AS key, NULL::text AS subject, NULL::text AS department, (NULL) AS level,
       jsonb_build_object('table', 'records.payment', 'vendor_id', g, 'n', n, 'mad', round(mad, 5),
                          'first_digit_shares', shares) AS evidence
FROM m WHERE mad > ($5::numeric)
) AS r
LEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o WHERE $6::boolean AND o.rule_id = $7 AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true
WHERE r.key IS NOT NULL
  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)
ORDER BY 1