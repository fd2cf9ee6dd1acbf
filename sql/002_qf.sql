-- The engine's own state (schema "qf"). Every piece of state lives here so a
-- killed daemon resumes where the database says (ARCHITECTURE.md).

CREATE SCHEMA IF NOT EXISTS qf;

-- One row per (rule, dedupe key). A second hit on the same key updates this
-- row (hit_count, last_seen) instead of opening a new finding.
CREATE TABLE qf.finding (
    id            bigserial PRIMARY KEY,
    rule_id       text NOT NULL,
    dedupe_key    text NOT NULL,
    rule_version  text NOT NULL,
    title         text NOT NULL,
    level         text NOT NULL CHECK (level IN ('yellow', 'orange', 'red')),
    supervision   text NOT NULL CHECK (supervision IN ('technical', 'financial', 'disciplinary')),
    risk          text NOT NULL CHECK (risk IN ('technical', 'non-technical')),
    duty          text NOT NULL CHECK (duty IN ('primary', 'supervisory', 'dual-duty', 'impartiality')),
    subject       text,
    department    text,
    status        text NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'acknowledged', 'resolved', 'dismissed')),
    first_seen    timestamptz NOT NULL DEFAULT now(),
    last_seen     timestamptz NOT NULL DEFAULT now(),
    hit_count     integer NOT NULL DEFAULT 1,
    evidence      jsonb NOT NULL,
    -- md5 of the evidence: an unchanged hit is not a re-trigger
    evidence_hash text NOT NULL,
    message       text NOT NULL DEFAULT '',
    tags          text[] NOT NULL DEFAULT '{}',
    UNIQUE (rule_id, dedupe_key)
);
CREATE INDEX ON qf.finding (status, level);
CREATE INDEX ON qf.finding (subject);

-- The head of the history hash chain. A single row, locked by every event
-- insert, so the chain is a strict line even with concurrent writers.
CREATE TABLE qf.chain_head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seq      bigint NOT NULL,
    hash     text NOT NULL
);
INSERT INTO qf.chain_head VALUES (true, 0, repeat('0', 64));

-- Append-only, hash-chained history of every finding.
-- hash = sha256(prev_hash || canonical row), canonical row as qf.event_canonical().
CREATE TABLE qf.finding_event (
    id         bigserial PRIMARY KEY,
    seq        bigint NOT NULL UNIQUE,
    finding_id bigint NOT NULL REFERENCES qf.finding (id),
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL DEFAULT session_user,
    action     text NOT NULL CHECK (action IN ('created', 'retriggered', 'escalated', 'reminded',
                                                'acknowledged', 'resolved', 'dismissed', 'reopened')),
    level      text CHECK (level IN ('yellow', 'orange', 'red')),
    note       text,
    prev_hash  text NOT NULL,
    hash       text NOT NULL
);
CREATE INDEX ON qf.finding_event (finding_id);

-- The canonical text of an event that the chain hashes: a JSON array, whose
-- text form PostgreSQL produces deterministically; instants in UTC with
-- microseconds so the text does not depend on the session's TimeZone.
CREATE FUNCTION qf.event_canonical(seq bigint, id bigint, finding_id bigint, at timestamptz,
                                   actor text, action text, level text, note text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_array(seq, id, finding_id,
                             to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                             actor, action, level, note)::text
$$;

CREATE FUNCTION qf.event_hash(prev_hash text, canonical text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(prev_hash || canonical, 'UTF8')), 'hex')
$$;

CREATE FUNCTION qf.finding_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head qf.chain_head;
BEGIN
    SELECT * INTO head FROM qf.chain_head FOR UPDATE;
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    NEW.hash := qf.event_hash(NEW.prev_hash,
                    qf.event_canonical(NEW.seq, NEW.id, NEW.finding_id, NEW.at,
                                       NEW.actor, NEW.action, NEW.level, NEW.note));
    UPDATE qf.chain_head SET seq = NEW.seq, hash = NEW.hash;
    RETURN NEW;
END
$$;
CREATE TRIGGER finding_event_chain BEFORE INSERT ON qf.finding_event
    FOR EACH ROW EXECUTE FUNCTION qf.finding_event_chain();

-- The delivery outbox: one row per (finding event, receiver). The payload is
-- the finding as it was at the event, so every retry sends the same finding.
CREATE TABLE qf.alert (
    id              bigserial PRIMARY KEY,
    event_id        bigint NOT NULL REFERENCES qf.finding_event (id),
    finding_id      bigint NOT NULL REFERENCES qf.finding (id),
    receiver        text NOT NULL,
    event           text NOT NULL CHECK (event IN ('finding.new', 'finding.retriggered',
                                                   'finding.escalated', 'finding.reminder')),
    payload         jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    -- a lease, not a lock: a daemon killed mid-delivery leaves a claim that
    -- simply expires, and the alert is delivered again (at least once)
    claimed_by      text,
    claimed_until   timestamptz,
    last_status     integer,
    last_error      text,
    delivered_at    timestamptz,
    UNIQUE (event_id, receiver)
);
CREATE INDEX alert_due ON qf.alert (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX ON qf.alert (finding_id);

-- One row per rule evaluation.
CREATE TABLE qf.rule_run (
    id           bigserial PRIMARY KEY,
    rule_id      text NOT NULL,
    rule_version text,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    rows_scanned bigint NOT NULL DEFAULT 0,
    findings     integer NOT NULL DEFAULT 0,
    error        text
);
CREATE INDEX ON qf.rule_run (rule_id, started_at);

-- Silences suppress alerts (never findings) matching rule/subject/department.
CREATE TABLE qf.silence (
    id         bigserial PRIMARY KEY,
    rule_id    text,
    subject    text,
    department text,
    starts_at  timestamptz NOT NULL DEFAULT now(),
    until      timestamptz NOT NULL,
    reason     text NOT NULL,
    created_by text NOT NULL DEFAULT session_user,
    created_at timestamptz NOT NULL DEFAULT now(),
    expired_at timestamptz,
    CHECK (rule_id IS NOT NULL OR subject IS NOT NULL OR department IS NOT NULL)
);

-- Evaluation cursors (change capture positions, clock-driven schedules),
-- keyed by name, e.g. 'rule:F09'.
CREATE TABLE qf.cursor (
    name       text PRIMARY KEY,
    position   bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
