SELECT r.key::text, r.subject::text,
       coalesce(r.department::text, (SELECT p.department FROM records.person p WHERE p.person_id = r.subject::text)),
       r.level::text, r.evidence::text,
       (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each_text(r.evidence::jsonb) AS e(k, v))::text
FROM (
SELECT jsonb_build_array(p.person_id, pr.label)::text AS key, p.person_id AS subject,
       p.department AS department, (NULL) AS level,
       jsonb_build_object('table', 'records.duty_record', 'person_id', p.person_id, 'name', p.name,
                          'period', pr.label, 'deadline', pr.deadline) AS evidence
FROM records.person AS p
CROSS JOIN LATERAL (
  SELECT to_char(g.s, 'YYYY-"Q"Q') AS label, g.s::date AS pstart, (g.s + interval '3 months' - interval '1 day')::date AS deadline
    FROM generate_series(date_trunc('quarter', greatest(p.post_since, ($1::timestamptz)::date - make_interval(years => ($2::numeric)::int))),
                         ($1::timestamptz)::date, interval '3 months') AS g(s)
) AS pr
WHERE (
p.is_leader
)
  AND pr.deadline < ($1::timestamptz)::date
  AND pr.deadline >= greatest(p.post_since, ($1::timestamptz)::date - make_interval(years => ($2::numeric)::int))
  AND NOT EXISTS (SELECT 1 FROM records."duty_record" AS e
                   WHERE e.person_id = p.person_id AND e."period" = pr.label
                     AND e."done_at"::date <= pr.deadline
                     AND e."done_at"::date >= pr.pstart
                     AND (e.duty = 'heart_talk'))
) AS r
LEFT JOIN LATERAL (SELECT o.evidence_hash FROM qf.finding o WHERE $3::boolean AND o.rule_id = $4 AND o.dedupe_key = r.key::text LIMIT 1) AS known ON true
WHERE r.key IS NOT NULL
  AND known.evidence_hash IS DISTINCT FROM md5(r.evidence::jsonb::text)
ORDER BY 1