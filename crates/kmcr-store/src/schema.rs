//! The database schema, as ordered migrations written once for both backends.
//!
//! Types are spelled with placeholders that each backend replaces: `{key}` (the auto-assigned primary key),
//! `{bigint}`, `{real}`, `{bool}`, `{ctext}` (text compared byte by byte). A migration, once released, never changes: add a new one.

/// (version, statements) in order of application.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, MIGRATION_1),
    (2, MIGRATION_2),
    (3, MIGRATION_3),
    (4, MIGRATION_4),
    (5, MIGRATION_5),
    (6, MIGRATION_6),
    (7, MIGRATION_7),
    (8, MIGRATION_8),
    (9, MIGRATION_9),
    (10, MIGRATION_10),
    (11, MIGRATION_11),
    (12, MIGRATION_12),
    (13, MIGRATION_13),
    (14, MIGRATION_14),
    (15, MIGRATION_15),
];

const MIGRATION_1: &str = r#"
-- The identity of every resource KMCR has stored or seen referenced. version_id 0 marks a resource that is only
-- referenced so far: its key exists so that references and patient keys are integers from the first write.
CREATE TABLE resource (
    resource_key {key},
    resource_type TEXT NOT NULL,
    resource_id {ctext} NOT NULL,
    version_id {bigint} NOT NULL,
    last_updated_ms {bigint} NOT NULL,
    deleted {bool} NOT NULL,
    source_ods_code TEXT,
    patient_key {bigint},
    UNIQUE (resource_type, resource_id)
);
CREATE INDEX resource_by_patient ON resource (patient_key) WHERE patient_key IS NOT NULL;
CREATE INDEX resource_by_type_updated ON resource (resource_type, last_updated_ms);

-- Every version of every resource, the JSON as returned to clients (meta filled in).
CREATE TABLE resource_version (
    resource_key {bigint} NOT NULL,
    version_id {bigint} NOT NULL,
    last_updated_ms {bigint} NOT NULL,
    deleted {bool} NOT NULL,
    source_ods_code TEXT NOT NULL,
    patient_key {bigint},
    body TEXT,
    PRIMARY KEY (resource_key, version_id)
);
CREATE INDEX resource_version_by_updated ON resource_version (last_updated_ms);

-- Search parameters get small integer ids so that index rows stay narrow.
CREATE TABLE search_param (
    param_id {key},
    resource_type TEXT NOT NULL,
    code {ctext} NOT NULL,
    UNIQUE (resource_type, code)
);

-- Search index rows of the current version of each resource. patient_key is the patient the resource belongs to
-- (its own key for a Patient), kept on every row so that tables can be partitioned by it. Rows are clustered by
-- resource (on SQLite WITHOUT ROWID: one b-tree fewer per table to write); ordinal tells a resource's rows apart.
CREATE TABLE idx_token (
    resource_key {bigint} NOT NULL,
    param_id {bigint} NOT NULL,
    ordinal {bigint} NOT NULL,
    system {ctext},
    code {ctext},
    display_text TEXT,
    patient_key {bigint},
    PRIMARY KEY (resource_key, param_id, ordinal)
) {without_rowid};
CREATE INDEX idx_token_by_code ON idx_token (param_id, code, system);

CREATE TABLE idx_string (
    resource_key {bigint} NOT NULL,
    param_id {bigint} NOT NULL,
    ordinal {bigint} NOT NULL,
    normalized {ctext} NOT NULL,
    exact {ctext} NOT NULL,
    patient_key {bigint},
    PRIMARY KEY (resource_key, param_id, ordinal)
) {without_rowid};
CREATE INDEX idx_string_by_value ON idx_string (param_id, normalized);

CREATE TABLE idx_date (
    resource_key {bigint} NOT NULL,
    param_id {bigint} NOT NULL,
    ordinal {bigint} NOT NULL,
    low_ms {bigint} NOT NULL,
    high_ms {bigint} NOT NULL,
    patient_key {bigint},
    PRIMARY KEY (resource_key, param_id, ordinal)
) {without_rowid};
CREATE INDEX idx_date_by_low ON idx_date (param_id, low_ms);

CREATE TABLE idx_reference (
    resource_key {bigint} NOT NULL,
    param_id {bigint} NOT NULL,
    ordinal {bigint} NOT NULL,
    target_key {bigint},
    url {ctext},
    patient_key {bigint},
    PRIMARY KEY (resource_key, param_id, ordinal)
) {without_rowid};
CREATE INDEX idx_reference_by_target ON idx_reference (param_id, target_key) WHERE target_key IS NOT NULL;
CREATE INDEX idx_reference_by_url ON idx_reference (param_id, url) WHERE url IS NOT NULL;
CREATE INDEX idx_reference_by_patient ON idx_reference (patient_key, target_key) WHERE patient_key IS NOT NULL;

CREATE TABLE idx_quantity (
    resource_key {bigint} NOT NULL,
    param_id {bigint} NOT NULL,
    ordinal {bigint} NOT NULL,
    value {real} NOT NULL,
    system {ctext},
    code {ctext},
    patient_key {bigint},
    PRIMARY KEY (resource_key, param_id, ordinal)
) {without_rowid};
CREATE INDEX idx_quantity_by_value ON idx_quantity (param_id, value);

CREATE TABLE idx_number (
    resource_key {bigint} NOT NULL,
    param_id {bigint} NOT NULL,
    ordinal {bigint} NOT NULL,
    value {real} NOT NULL,
    patient_key {bigint},
    PRIMARY KEY (resource_key, param_id, ordinal)
) {without_rowid};
CREATE INDEX idx_number_by_value ON idx_number (param_id, value);

CREATE TABLE idx_uri (
    resource_key {bigint} NOT NULL,
    param_id {bigint} NOT NULL,
    ordinal {bigint} NOT NULL,
    uri {ctext} NOT NULL,
    patient_key {bigint},
    PRIMARY KEY (resource_key, param_id, ordinal)
) {without_rowid};
CREATE INDEX idx_uri_by_value ON idx_uri (param_id, uri);

-- The audit chain: append-only; each entry carries the hash of the one before.
CREATE TABLE audit_entry (
    sequence {bigint} PRIMARY KEY,
    recorded_ms {bigint} NOT NULL,
    record TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
"#;

const MIGRATION_3: &str = r#"
-- A type's resources in key order, so that a search with no criterion to drive it (every Patient, page by page, as the
-- person index reads them at start) takes each page from where the last ended. Without it a page sorted every resource
-- of the type: paging through 200,000 Patients read 40 million rows.
CREATE INDEX resource_by_type_key ON resource (resource_type, resource_key);
"#;

const MIGRATION_4: &str = r#"
-- Value indexes led by the epoch of the resource key (resource_key >> 20: about a million resources each). Values come
-- in no order (dates, quantities, names, identifiers), so an index led by the value takes each new row at a random
-- place: once it outgrows the caches, every row costs a page of its own to read and to write (in an SQLite experiment
-- with random dates, 20,179 rows/s at 1.2 million rows and 15,331 at 12 million). Led by the epoch, new rows land only
-- in the newest epoch's part, which stays small however large the store (30,249 and 30,209 rows/s in the same
-- experiment); a search driven by a value seeks once per epoch (`query::epochs_condition`).
DROP INDEX idx_token_by_code;
CREATE INDEX idx_token_by_epoch_code ON idx_token ((resource_key >> 20), param_id, code, system);
DROP INDEX idx_string_by_value;
CREATE INDEX idx_string_by_epoch_value ON idx_string ((resource_key >> 20), param_id, normalized);
DROP INDEX idx_date_by_low;
CREATE INDEX idx_date_by_epoch_low ON idx_date ((resource_key >> 20), param_id, low_ms);
DROP INDEX idx_quantity_by_value;
CREATE INDEX idx_quantity_by_epoch_value ON idx_quantity ((resource_key >> 20), param_id, value);
DROP INDEX idx_number_by_value;
CREATE INDEX idx_number_by_epoch_value ON idx_number ((resource_key >> 20), param_id, value);
DROP INDEX idx_uri_by_value;
CREATE INDEX idx_uri_by_epoch_value ON idx_uri ((resource_key >> 20), param_id, uri);
"#;

const MIGRATION_5: &str = r#"
-- Every matching model the person index trained, newest last: the m and u of each field's levels and the prior, as
-- JSON, with how many records it was trained on. A restart uses the newest instead of training again, so scores stay
-- the same across restarts and a large index starts in seconds; the index trains again when its records have doubled.
CREATE TABLE mpi_model (
    model_id {key},
    n_records {bigint} NOT NULL,
    trained_ms {bigint} NOT NULL,
    model TEXT NOT NULL
);
"#;

const MIGRATION_6: &str = r#"
-- The version of index extraction the index rows were written at (`reindex.rs`). A store that has this table from this
-- migration was written at version 0, or is new; at open, the rows of the types whose extraction changed since are
-- written again and the version raised.
CREATE TABLE index_state (
    index_version {bigint} NOT NULL
);
INSERT INTO index_state (index_version) VALUES (0);
"#;

const MIGRATION_7: &str = r#"
-- Decisions by when they were made, for nodes following each other's decisions (open pairs have none).
CREATE INDEX mpi_review_by_decided ON mpi_review (decided_ms) WHERE decided_ms IS NOT NULL;
"#;

const MIGRATION_8: &str = r#"
-- Access. Each resource's sensitive categories (a bit set, `kmcr_access::Sensitivity`) from its labels and the code
-- rules, kept as the union over every version written, so that an earlier version of a sealed item is sealed too.
ALTER TABLE resource ADD COLUMN sensitivity {bigint} NOT NULL DEFAULT 0;

-- What users declared about a person, bound to their role profile and time-limited: a legitimate relationship,
-- break-glass (reviewed by IG afterwards: review_status 'open' until then), a reason to see sealed items, a proxy's
-- authority. Keyed by the source Patient the user opened; it holds for that Patient's person.
CREATE TABLE access_grant (
    grant_id {key},
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role_profile_id TEXT NOT NULL,
    ods_code TEXT NOT NULL,
    patient_id {ctext} NOT NULL,
    reason TEXT NOT NULL,
    from_ms {bigint} NOT NULL,
    to_ms {bigint} NOT NULL,
    review_status TEXT,
    reviewed_by TEXT,
    review_outcome TEXT,
    review_note TEXT,
    reviewed_ms {bigint}
);
CREATE INDEX access_grant_by_patient ON access_grant (patient_id, to_ms);
CREATE INDEX access_grant_by_review ON access_grant (review_status, grant_id) WHERE review_status IS NOT NULL;
"#;

const MIGRATION_9: &str = r#"
-- The searchable parts of audit entries, for information governance: who accessed a person, what a user accessed,
-- break-glass and sealed-item uses. Written in the same transaction as each entry (`sqlite/audit.rs`,
-- `postgres/audit.rs`); every query is a range of one primary key, paged by sequence.
CREATE TABLE audit_by_subject (
    subject {ctext} NOT NULL,
    sequence {bigint} NOT NULL,
    PRIMARY KEY (subject, sequence)
) {without_rowid};
CREATE TABLE audit_by_actor (
    actor_id {ctext} NOT NULL,
    sequence {bigint} NOT NULL,
    recorded_ms {bigint} NOT NULL,
    PRIMARY KEY (actor_id, sequence)
) {without_rowid};
CREATE TABLE audit_flag (
    flag {ctext} NOT NULL,
    sequence {bigint} NOT NULL,
    PRIMARY KEY (flag, sequence)
) {without_rowid};
-- Entries by time, to find where an export since a date starts.
CREATE INDEX audit_entry_by_recorded ON audit_entry (recorded_ms);
-- Entries written before this migration are made searchable at the next open, then this row goes.
CREATE TABLE audit_search_backfill (
    through_sequence {bigint} NOT NULL
);
INSERT INTO audit_search_backfill (through_sequence) SELECT COALESCE(MAX(sequence), 0) FROM audit_entry;
"#;

const MIGRATION_10: &str = r#"
-- The code rules the sensitivity of stored items was worked out under (`kmcr_access::CodeRules::fingerprint`). Empty:
-- never; at open, when it differs from the rules configured, every current item is labelled again (`relabel.rs`).
CREATE TABLE label_state (
    code_rules_fingerprint TEXT NOT NULL
);
INSERT INTO label_state (code_rules_fingerprint) VALUES ('');
"#;

const MIGRATION_11: &str = r#"
-- Sign-in, kept in the database so that every node of a deployment honours the same sessions, codes and refresh
-- tokens (`sign_in.rs`). A session ends by sign-out or revocation; tokens naming an ended session are refused.
CREATE TABLE sign_in_session (
    session_id {ctext} PRIMARY KEY,
    user_id {ctext} NOT NULL,
    started_ms {bigint} NOT NULL,
    expires_ms {bigint} NOT NULL,
    ended_ms {bigint},
    ended_why TEXT
);
CREATE INDEX sign_in_session_by_user ON sign_in_session (user_id);
CREATE INDEX sign_in_session_by_expiry ON sign_in_session (expires_ms);
-- One-time items of OAuth: authorisation codes, refresh tokens and sign-ins waiting for their user, by kind and the
-- SHA-256 of their secret text; group_id is the SMART grant they belong to, so that a replay revokes them all.
CREATE TABLE sign_in_item (
    kind TEXT NOT NULL,
    item_key {ctext} NOT NULL,
    group_id {ctext} NOT NULL,
    content TEXT NOT NULL,
    expires_ms {bigint} NOT NULL,
    spent {bool} NOT NULL,
    PRIMARY KEY (kind, item_key)
);
CREATE INDEX sign_in_item_by_group ON sign_in_item (group_id);
CREATE INDEX sign_in_item_by_expiry ON sign_in_item (expires_ms);
"#;

const MIGRATION_12: &str = r#"
-- Every HL7 v2 message received over MLLP, with the ACK sent (`feeds.rs`). An accepted message is written in the same
-- transaction as the data it became, so its ACK is never sent for data that is not kept; a message sent again (same
-- sender, same MSH-10) is answered with the ACK kept here and not applied twice. Rejected messages are the dead
-- letters: kept with the reason, to be listed and replayed.
CREATE TABLE feed_message (
    message_key {key},
    sender {ctext} NOT NULL,
    control_id {ctext},
    received_ms {bigint} NOT NULL,
    ods_code TEXT,
    message_type TEXT,
    status TEXT NOT NULL,
    ack_code TEXT NOT NULL,
    reason TEXT,
    ack TEXT NOT NULL,
    body TEXT NOT NULL,
    body_encoding TEXT NOT NULL
);
CREATE UNIQUE INDEX feed_message_accepted ON feed_message (sender, control_id) WHERE status = 'accepted';
CREATE INDEX feed_message_by_status ON feed_message (status, message_key);
CREATE INDEX feed_message_by_sender ON feed_message (sender, message_key);
"#;

const MIGRATION_13: &str = r#"
-- Bulk loads (`loads.rs`): each job, how far its file has been committed (written in the same transaction as the
-- data of its lines, so a load resumes after a crash where it stopped) and the lines refused, with the reason.
CREATE TABLE bulk_load (
    job_id {ctext} PRIMARY KEY,
    ods_code TEXT NOT NULL,
    client_id TEXT NOT NULL,
    source TEXT NOT NULL,
    started_ms {bigint} NOT NULL,
    updated_ms {bigint} NOT NULL,
    finished_ms {bigint},
    lines_done {bigint} NOT NULL,
    loaded {bigint} NOT NULL,
    refused {bigint} NOT NULL
);
CREATE TABLE bulk_load_refusal (
    job_id {ctext} NOT NULL,
    line {bigint} NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (job_id, line)
);
"#;

const MIGRATION_14: &str = r#"
-- Organisations that left the sharing agreement (`organisations.rs`): from then on their data is in no view, on every
-- node, whatever a node's configuration says; once purged, it is gone from the store.
CREATE TABLE organisation_departure (
    ods_code TEXT PRIMARY KEY,
    left_ms {bigint} NOT NULL,
    recorded_by TEXT NOT NULL,
    purged_ms {bigint}
);
"#;

const MIGRATION_15: &str = r#"
-- Events (`subscriptions.rs`). The tokens of the topics that hold for a resource (`kmcr_events::EventState`), so that a
-- write fires a topic only when its token appears or changes. Rows stored before this migration read '?' (unknown):
-- their next version takes on its tokens without firing, so that an update of an old record is not news. Every insert
-- names the column.
ALTER TABLE resource ADD COLUMN event_state TEXT DEFAULT '?';

-- Events fired, written in the transaction of the data that fired them; taken out once handed to every subscription
-- they concern.
CREATE TABLE event_outbox (
    seq {key},
    topic TEXT NOT NULL,
    resource_key {bigint} NOT NULL,
    version_id {bigint} NOT NULL,
    recorded_ms {bigint} NOT NULL
);

-- Subscriptions: the FHIR resource as last written, whose organisation's system made it, and how delivery stands.
CREATE TABLE subscription (
    subscription_id {ctext} PRIMARY KEY,
    owner_client_id TEXT NOT NULL,
    owner_ods_code TEXT NOT NULL,
    configured {bool} NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    events_since_start {bigint} NOT NULL,
    n_sent {bigint} NOT NULL,
    n_failed {bigint} NOT NULL,
    failures_in_row {bigint} NOT NULL,
    failing_since_ms {bigint},
    last_delivered_ms {bigint},
    last_sent_ms {bigint},
    created_ms {bigint} NOT NULL,
    updated_ms {bigint} NOT NULL
);

-- Each subscription's events, numbered from 1 in the order handed to it; kept after delivery for `$events`.
CREATE TABLE subscription_event (
    subscription_id {ctext} NOT NULL,
    event_number {bigint} NOT NULL,
    topic TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id {ctext} NOT NULL,
    version_id {bigint} NOT NULL,
    patient_id {ctext},
    recorded_ms {bigint} NOT NULL,
    payload TEXT NOT NULL,
    delivered_ms {bigint},
    PRIMARY KEY (subscription_id, event_number)
);
CREATE INDEX subscription_event_pending ON subscription_event (subscription_id, event_number) WHERE delivered_ms IS NULL;
"#;

const MIGRATION_2: &str = r#"
-- The person index: the person of each source Patient, why, and the Patient version matched.
CREATE TABLE mpi_record (
    patient_id {ctext} PRIMARY KEY,
    person_id {ctext} NOT NULL,
    patient_version_id {bigint} NOT NULL,
    reason TEXT NOT NULL,
    linked_through {ctext},
    score {real},
    evidence TEXT,
    updated_ms {bigint} NOT NULL
);
CREATE INDEX mpi_record_by_person ON mpi_record (person_id);

-- Every change of a record's person, oldest first: nothing a link, a merge or an unmerge does is lost.
CREATE TABLE mpi_link_history (
    sequence {key},
    patient_id {ctext} NOT NULL,
    person_id_before {ctext},
    person_id_after {ctext},
    reason TEXT NOT NULL,
    linked_through {ctext},
    score {real},
    evidence TEXT,
    actor TEXT NOT NULL,
    recorded_ms {bigint} NOT NULL
);
CREATE INDEX mpi_link_history_by_patient ON mpi_link_history (patient_id, sequence);

-- Pairs in the review band, and what a person decided about them (decisions stick when records are re-matched).
CREATE TABLE mpi_review (
    review_id {key},
    first_patient_id {ctext} NOT NULL,
    second_patient_id {ctext} NOT NULL,
    score {real} NOT NULL,
    evidence TEXT NOT NULL,
    status TEXT NOT NULL,
    created_ms {bigint} NOT NULL,
    decided_by TEXT,
    decided_ms {bigint},
    UNIQUE (first_patient_id, second_patient_id)
);
CREATE INDEX mpi_review_by_status ON mpi_review (status, review_id);
"#;

/// How one backend spells the placeholders of the migrations.
pub struct Spelling {
    pub key: &'static str,
    pub bigint: &'static str,
    pub real: &'static str,
    pub boolean: &'static str,
    pub ctext: &'static str,
    pub without_rowid: &'static str,
}

/// Spells the placeholder types of a migration for one backend.
pub fn render(statements: &str, spelling: &Spelling) -> String {
    statements
        .replace("{without_rowid}", spelling.without_rowid)
        .replace("{ctext}", spelling.ctext)
        .replace("{key}", spelling.key)
        .replace("{bigint}", spelling.bigint)
        .replace("{real}", spelling.real)
        .replace("{bool}", spelling.boolean)
}
