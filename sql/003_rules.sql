-- Helpers the rule pack uses. Calendar logic is in the institute's time
-- zone: the engine sets the session TimeZone, so ::date and extract() on a
-- timestamptz give local dates and hours.

-- records.workday overrides the Mon-Fri default (holidays, 调休 weekends).
CREATE FUNCTION qf.is_workday(d date) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT w.is_workday FROM records.workday w WHERE w.day = d),
                    extract(isodow FROM d) < 6)
$$;

-- Addresses compared loosely (F04): no white space or punctuation, lower case.
CREATE FUNCTION qf.norm_address(a text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT nullif(lower(regexp_replace(a, '[[:space:][:punct:]，。、（）《》：；—-]+', '', 'g')), '')
$$;

-- Phone numbers and bank accounts compared on their digits only.
CREATE FUNCTION qf.digits(a text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT nullif(regexp_replace(a, '[^0-9]', '', 'g'), '')
$$;

-- The escalation step after a level.
CREATE FUNCTION qf.level_up(l text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE l WHEN 'yellow' THEN 'orange' ELSE 'red' END
$$;
CREATE FUNCTION qf.level_rank(l text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE l WHEN 'yellow' THEN 1 WHEN 'orange' THEN 2 WHEN 'red' THEN 3 END
$$;

-- When a finding last rose a level (ageing escalation counts from here).
ALTER TABLE qf.finding ADD COLUMN escalated_at timestamptz;
ALTER TABLE qf.finding ADD COLUMN base_level text;
UPDATE qf.finding SET base_level = level;

-- The finding as webhooks carry it (DATA-CONTRACT.md), one definition for
-- every kind of alert.
CREATE FUNCTION qf.finding_payload(f qf.finding) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', f.id, 'rule_id', f.rule_id, 'title', f.title, 'level', f.level,
             'supervision', f.supervision, 'risk', f.risk, 'duty', f.duty, 'subject', f.subject,
             'department', f.department, 'status', f.status, 'first_seen', f.first_seen,
             'last_seen', f.last_seen, 'hit_count', f.hit_count, 'evidence', f.evidence,
             'message', f.message, 'tags', to_jsonb(f.tags), 'rule_version', f.rule_version)
$$;
