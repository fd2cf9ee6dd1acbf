-- The optional record tables of the lab-integrity rules (RULES-LAB.md,
-- issue 25: T12-T17, D10, F14) and the counterparty column they read.
-- An institute loads what its LIMS and ERP hold; a rule over one of these
-- tables checks only the scope the table covers, so an empty table raises
-- nothing. Same conventions as 001_records.sql: text ids, numeric(14,2)
-- yuan, timestamptz instants, no CHECK beyond a fixed vocabulary.

-- a subcontractor's own qualification (CMA/CNAS); NULL = none known
ALTER TABLE records.counterparty ADD COLUMN accreditation_valid_to date;

-- the lab's accredited scope per method; valid_to NULL = open-ended
CREATE TABLE records.accreditation (
    lab        text NOT NULL,
    method     text NOT NULL,
    valid_from date,
    valid_to   date
);
CREATE INDEX ON records.accreditation (lab, method);

-- methods (standards) withdrawn or superseded (作废/被替代)
CREATE TABLE records.standard_status (
    method       text PRIMARY KEY,
    withdrawn_on date,
    replaced_by  text
);

-- subcontracted items; disclosed = marked as subcontracted in the report
CREATE TABLE records.subcontract (
    task_id          text NOT NULL,
    item             text,
    subcontractor_id text,
    sent_at          timestamptz,
    disclosed        boolean
);
CREATE INDEX ON records.subcontract (task_id);
CREATE INDEX ON records.subcontract (subcontractor_id);

-- on-site sampling and the person_ids who took the sample
CREATE TABLE records.sampling (
    sampling_id text PRIMARY KEY,
    task_id     text,
    sampled_at  timestamptz,
    samplers    text[]
);
CREATE INDEX ON records.sampling (task_id);

CREATE TABLE records.retained_sample (
    sample_id    text PRIMARY KEY,
    task_id      text,
    retain_until date,
    disposed_at  timestamptz,
    disposed_by  text
);
CREATE INDEX ON records.retained_sample (task_id);

-- every issued version (or copy) of a report, with the hash of its content
CREATE TABLE records.report_issue (
    task_id      text NOT NULL,
    version      integer,
    content_hash text,
    issued_at    timestamptz,
    issued_by    text
);
CREATE INDEX ON records.report_issue (task_id);

-- the yearly 公正性/保密 declaration of each person who takes part in testing
CREATE TABLE records.impartiality_declaration (
    person_id text NOT NULL,
    year      integer,
    signed_at timestamptz
);
CREATE INDEX ON records.impartiality_declaration (person_id, year);

-- the published fee per method, and what was invoiced
CREATE TABLE records.fee_schedule (
    method text PRIMARY KEY,
    fee    numeric(14,2)
);

CREATE TABLE records.task_invoice (
    task_id     text NOT NULL,
    amount      numeric(14,2),
    invoiced_at timestamptz,
    approved_by text
);
CREATE INDEX ON records.task_invoice (task_id);

-- Change capture, as 004_capture.sql does for the other tables: the
-- column that identifies a changed row for the rules (daemon/rule.c keeps
-- the same map), and the three statement triggers.
INSERT INTO qf.capture VALUES
 ('accreditation', 'lab'), ('standard_status', 'method'), ('subcontract', 'task_id'),
 ('sampling', 'sampling_id'), ('retained_sample', 'sample_id'), ('report_issue', 'task_id'),
 ('impartiality_declaration', 'person_id'), ('fee_schedule', 'method'), ('task_invoice', 'task_id');

DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT tbl, key_col FROM qf.capture
              WHERE tbl IN ('accreditation', 'standard_status', 'subcontract', 'sampling', 'retained_sample',
                            'report_issue', 'impartiality_declaration', 'fee_schedule', 'task_invoice') LOOP
        EXECUTE format('CREATE TRIGGER qf_capture_ins AFTER INSERT ON records.%I REFERENCING NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION qf.capture_changes(%L)', c.tbl, c.key_col);
        EXECUTE format('CREATE TRIGGER qf_capture_upd AFTER UPDATE ON records.%I REFERENCING NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION qf.capture_changes(%L)', c.tbl, c.key_col);
        EXECUTE format('CREATE TRIGGER qf_capture_del AFTER DELETE ON records.%I REFERENCING OLD TABLE AS old_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION qf.capture_changes(%L)', c.tbl, c.key_col);
    END LOOP;
END
$$;

-- Indexes for the delta lookups of the new rules on the existing tables
-- (${changed(TABLE, EXPR[, COLUMN])}, like 008_delta_indexes.sql): the
-- tasks of a lab whose accreditation changed (T12), of a method whose
-- status or fee changed (T13, F14), and of the people whose impartiality
-- declarations changed, in any of the four roles (D10: the expression is
-- the rule's, ARRAY[...] && the changed people).
CREATE INDEX IF NOT EXISTS test_task_lab ON records.test_task (lab);
CREATE INDEX IF NOT EXISTS test_task_method ON records.test_task (method);
CREATE INDEX IF NOT EXISTS test_task_people ON records.test_task
    USING gin ((ARRAY[tested_by, reviewed_by, approved_by, signed_by]));

-- nothing for PUBLIC (006_roles.sql); the engine reads the records
REVOKE ALL ON records.accreditation, records.standard_status, records.subcontract, records.sampling,
              records.retained_sample, records.report_issue, records.impartiality_declaration,
              records.fee_schedule, records.task_invoice FROM PUBLIC;
GRANT SELECT ON records.accreditation, records.standard_status, records.subcontract, records.sampling,
                records.retained_sample, records.report_issue, records.impartiality_declaration,
                records.fee_schedule, records.task_invoice TO qf_engine;
