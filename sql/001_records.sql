-- The canonical record tables (schema "records") of DATA-CONTRACT.md.
-- Integrators load these from LIMS, ERP and HR. Text ids throughout because
-- source systems use strings; money is numeric(14,2) yuan; instants are
-- timestamptz. CHECK constraints only where the contract fixes a vocabulary:
-- the engine must accept messy but legal data and flag it, not reject it.

CREATE SCHEMA IF NOT EXISTS records;

-- People and counterparties
CREATE TABLE records.person (
    person_id    text PRIMARY KEY,
    name         text,
    department   text,
    post         text,
    is_leader    boolean NOT NULL DEFAULT false,
    key_post     boolean NOT NULL DEFAULT false,
    post_since   date,
    phone        text,
    id_hash      text,
    bank_account text,
    address      text
);

CREATE TABLE records.relative (
    person_id     text NOT NULL,
    name          text,
    relation      text,
    id_hash       text,
    phone         text,
    employer_uscc text
);
CREATE INDEX ON records.relative (person_id);

CREATE TABLE records.counterparty (
    party_id          text PRIMARY KEY,
    name              text,
    kind              text CHECK (kind IN ('client', 'vendor', 'both')),
    uscc              text,
    legal_rep_id_hash text,
    phone             text,
    address           text,
    bank_account      text,
    created_at        timestamptz,
    created_by        text
);

CREATE TABLE records.coi_declaration (
    person_id   text NOT NULL,
    party_id    text NOT NULL,
    relation    text,
    declared_at timestamptz,
    valid_from  date,
    valid_to    date
);
CREATE INDEX ON records.coi_declaration (person_id, party_id);

CREATE TABLE records.workday (
    day        date PRIMARY KEY,
    is_workday boolean NOT NULL
);

-- Technical (LIMS)
CREATE TABLE records.test_task (
    task_id         text PRIMARY KEY,
    report_no       text,
    sample_id       text,
    client_id       text,
    lab             text,
    method          text,
    received_at     timestamptz,
    test_start      timestamptz,
    test_end        timestamptz,
    tested_by       text,
    reviewed_by     text,
    approved_by     text,
    signed_by       text,
    reviewed_at     timestamptz,
    approved_at     timestamptz,
    issued_at       timestamptz,
    verdict         text CHECK (verdict IN ('pass', 'fail')),
    contracted_days integer
);
CREATE INDEX ON records.test_task (client_id);

CREATE TABLE records.test_result (
    result_id   text PRIMARY KEY,
    task_id     text NOT NULL,
    item        text,
    attempt     integer,
    verdict     text CHECK (verdict IN ('pass', 'fail')),
    value       numeric,
    analyst     text,
    raw_hash    text,
    recorded_at timestamptz
);
CREATE INDEX ON records.test_result (task_id, item);
CREATE INDEX ON records.test_result (raw_hash) WHERE raw_hash IS NOT NULL;

CREATE TABLE records.oos_investigation (
    task_id    text NOT NULL,
    item       text,
    opened_at  timestamptz,
    closed_at  timestamptz,
    conclusion text
);
CREATE INDEX ON records.oos_investigation (task_id, item);

CREATE TABLE records.report_amendment (
    task_id    text NOT NULL,
    amended_at timestamptz,
    amended_by text,
    reason     text
);
CREATE INDEX ON records.report_amendment (task_id);

CREATE TABLE records.audit_trail (
    event_id   text PRIMARY KEY,
    entity     text,
    entity_id  text,
    field      text,
    old_value  text,
    new_value  text,
    changed_by text,
    changed_at timestamptz
);
CREATE INDEX ON records.audit_trail (entity, entity_id);

CREATE TABLE records.equipment (
    equipment_id    text PRIMARY KEY,
    name            text,
    calibration_due date,
    status          text CHECK (status IN ('in_service', 'out_of_service', 'repair'))
);

CREATE TABLE records.equipment_use (
    task_id      text NOT NULL,
    equipment_id text NOT NULL,
    used_at      timestamptz
);
CREATE INDEX ON records.equipment_use (task_id);

CREATE TABLE records.signatory (
    person_id  text NOT NULL,
    method     text NOT NULL,
    valid_from date,
    valid_to   date
);
CREATE INDEX ON records.signatory (person_id);

CREATE TABLE records.method_norm (
    method    text PRIMARY KEY,
    min_hours numeric
);

-- Financial (ERP)
CREATE TABLE records.purchase_order (
    po_id       text PRIMARY KEY,
    vendor_id   text,
    department  text,
    requester   text,
    category    text,
    amount      numeric(14,2),
    ordered_at  timestamptz,
    created_by  text,
    approved_by text
);
CREATE INDEX ON records.purchase_order (vendor_id, department, ordered_at);

CREATE TABLE records.payment (
    payment_id    text PRIMARY KEY,
    vendor_id     text,
    department    text,
    invoice_no    text,
    invoice_date  date,
    contract_id   text,
    contract_date date,
    amount        numeric(14,2),
    book          text,
    voucher_no    bigint,
    posted_at     timestamptz,
    paid_at       timestamptz,
    created_by    text,
    approved_by   text,
    paid_by       text
);
CREATE INDEX ON records.payment (vendor_id, invoice_no);
CREATE INDEX ON records.payment (vendor_id, amount);

CREATE TABLE records.reimbursement (
    claim_id           text PRIMARY KEY,
    person_id          text,
    invoice_code       text,
    invoice_no         text,
    amount             numeric(14,2),
    category           text,
    city               text,
    expense_date       date,
    claimed_at         timestamptz,
    approved_by        text,
    travel_approval_id text
);
CREATE INDEX ON records.reimbursement (invoice_code, invoice_no);

CREATE TABLE records.leave (
    person_id  text NOT NULL,
    start_date date,
    end_date   date
);
CREATE INDEX ON records.leave (person_id);

CREATE TABLE records.fee_discount (
    discount_id  text PRIMARY KEY,
    contract_id  text,
    client_id    text,
    discount_pct numeric,
    approved_by  text,
    approved_at  timestamptz
);

-- Disciplinary
CREATE TABLE records.gift (
    gift_id        text PRIMARY KEY,
    person_id      text,
    giver_party_id text,
    giver_name     text,
    kind           text CHECK (kind IN ('gift', 'cash', 'securities', 'hospitality')),
    value          numeric(14,2),
    received_at    timestamptz,
    registered_at  timestamptz,
    handed_in      boolean
);

CREATE TABLE records.hospitality (
    hospitality_id text PRIMARY KEY,
    person_id      text,
    host_party_id  text,
    held_at        timestamptz
);

CREATE TABLE records.complaint (
    complaint_id text PRIMARY KEY,
    person_id    text,
    received_at  timestamptz,
    stage        text CHECK (stage IN ('received', 'preliminary', 'substantiated', 'closed'))
);

CREATE TABLE records.duty_record (
    duty        text NOT NULL CHECK (duty IN ('responsibility_letter', 'heart_talk', 'personal_report')),
    person_id   text NOT NULL,
    counterpart text,
    period      text,
    done_at     timestamptz
);
CREATE INDEX ON records.duty_record (person_id, duty);

CREATE TABLE records.reception (
    reception_id        text PRIMARY KEY,
    host_department     text,
    guests              integer,
    accompanying        integer,
    has_official_letter boolean,
    held_at             timestamptz,
    cost                numeric(14,2)
);
