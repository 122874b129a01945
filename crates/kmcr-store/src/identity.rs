//! The person index as stored: each source Patient's person and why, every change of it, and the pairs in the review
//! band with what a person decided about them. Written in the same transaction as the Person resources it changes.
//!
//! The SQL is written once with `?N` placeholders; PostgreSQL runs it with `$N` (see [`for_postgres`]).

/// The person a source Patient belongs to, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonLink {
    pub patient_id: String,
    pub person_id: String,
    /// The Patient version that was matched.
    pub patient_version_id: i64,
    /// `new-person`, `verified-nhs-number`, `probabilistic-score`, `probabilistic-score-person`, `manual-decision`,
    /// `merge`, `person-join` or `person-split`.
    pub reason: String,
    /// The record it was linked through, if any.
    pub linked_through: Option<String>,
    pub score: Option<f64>,
    /// The evidence field by field, as JSON text.
    pub evidence: Option<String>,
}

/// A record placed (again): its new link, the person it left, and who or what made the change.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkChange {
    pub link: PersonLink,
    pub previous_person_id: Option<String>,
    pub actor: String,
}

/// A record taken out of the index (its Patient was deleted).
#[derive(Clone, Debug, PartialEq)]
pub struct Unlink {
    pub patient_id: String,
    pub previous_person_id: String,
    pub actor: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewStatus {
    Open,
    Linked,
    KeptApart,
}

impl ReviewStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ReviewStatus::Open => "open",
            ReviewStatus::Linked => "linked",
            ReviewStatus::KeptApart => "kept-apart",
        }
    }

    pub fn parse(text: &str) -> Option<ReviewStatus> {
        match text {
            "open" => Some(ReviewStatus::Open),
            "linked" => Some(ReviewStatus::Linked),
            "kept-apart" => Some(ReviewStatus::KeptApart),
            _ => None,
        }
    }
}

/// A pair of records for a person to decide about, or decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Review {
    pub review_id: i64,
    /// The pair in id order (`first_patient_id` < `second_patient_id`).
    pub first_patient_id: String,
    pub second_patient_id: String,
    pub score: f64,
    pub evidence: String,
    pub status: ReviewStatus,
    pub created_ms: i64,
    pub decided_by: Option<String>,
    pub decided_ms: Option<i64>,
}

/// One change of a record's person.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkHistoryEntry {
    pub sequence: i64,
    pub patient_id: String,
    pub person_id_before: Option<String>,
    /// `None` when the record left the index.
    pub person_id_after: Option<String>,
    pub reason: String,
    pub linked_through: Option<String>,
    pub score: Option<f64>,
    pub evidence: Option<String>,
    pub actor: String,
    pub recorded_ms: i64,
}

/// A change of some record's person, as another node follows them: which record, and when the change was written
/// (by the writing node's clock).
#[derive(Clone, Debug, PartialEq)]
pub struct LinkChangeSeen {
    pub sequence: i64,
    pub patient_id: String,
    pub recorded_ms: i64,
}

/// A pair put in the review band by matching.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewPair {
    pub first_patient_id: String,
    pub second_patient_id: String,
    pub score: f64,
    pub evidence: String,
}

/// What a person decided about a pair: it sticks when the records are matched again.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewDecision {
    pub first_patient_id: String,
    pub second_patient_id: String,
    pub status: ReviewStatus,
    pub actor: String,
}

/// A matching model the person index trained: its m, u and prior as JSON (the index's own format), and how many
/// records it was trained on.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainedModel {
    pub n_records: i64,
    pub model: String,
}

/// A model as stored, with when it was trained.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredModel {
    pub model_id: i64,
    pub n_records: i64,
    pub trained_ms: i64,
    pub model: String,
}

/// What a write's Patients make of the person index, worked out inside the write's transaction once its outcomes are
/// known: the index's changes, and the Person resources to write with them (their outcomes are not returned). The
/// embedded store's one writer runs it in commit order, so that the person index is placed, and each Person written,
/// in the order the store commits (see [`Store::write_then`](crate::Store::write_then)).
pub type AfterWrite = Box<dyn FnOnce(&[crate::WriteOutcome]) -> (IdentityWrite, Vec<crate::WriteOp>) + Send>;

/// Everything one write changes in the person index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IdentityWrite {
    pub changes: Vec<LinkChange>,
    pub unlinks: Vec<Unlink>,
    pub reviews: Vec<ReviewPair>,
    pub decisions: Vec<ReviewDecision>,
    pub models: Vec<TrainedModel>,
}

impl IdentityWrite {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.unlinks.is_empty()
            && self.reviews.is_empty()
            && self.decisions.is_empty()
            && self.models.is_empty()
    }

    /// Adds `other`'s changes after these, to be written in one transaction.
    pub fn append(&mut self, other: IdentityWrite) {
        // Destructured, so that a new kind of change cannot be left out here.
        let IdentityWrite { changes, unlinks, reviews, decisions, models } = other;
        self.changes.extend(changes);
        self.unlinks.extend(unlinks);
        self.reviews.extend(reviews);
        self.decisions.extend(decisions);
        self.models.extend(models);
    }
}

/// The two ids of a pair in the order the table keeps them.
pub fn ordered<'a>(first: &'a str, second: &'a str) -> (&'a str, &'a str) {
    if first <= second { (first, second) } else { (second, first) }
}

pub const UPSERT_LINK: &str = "INSERT INTO mpi_record (patient_id, person_id, patient_version_id, reason, \
     linked_through, score, evidence, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (patient_id) DO \
     UPDATE SET person_id = excluded.person_id, patient_version_id = excluded.patient_version_id, reason = \
     excluded.reason, linked_through = excluded.linked_through, score = excluded.score, evidence = excluded.evidence, \
     updated_ms = excluded.updated_ms";

pub const DELETE_LINK: &str = "DELETE FROM mpi_record WHERE patient_id = ?1";

pub const INSERT_HISTORY: &str = "INSERT INTO mpi_link_history (patient_id, person_id_before, person_id_after, \
     reason, linked_through, score, evidence, actor, recorded_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// A review pair found again keeps its status; its score and evidence are refreshed only while it is open.
pub const UPSERT_REVIEW: &str = "INSERT INTO mpi_review (first_patient_id, second_patient_id, score, evidence, \
     status, created_ms) VALUES (?1, ?2, ?3, ?4, 'open', ?5) ON CONFLICT (first_patient_id, second_patient_id) DO \
     UPDATE SET score = excluded.score, evidence = excluded.evidence WHERE mpi_review.status = 'open'";

pub const UPSERT_DECISION: &str = "INSERT INTO mpi_review (first_patient_id, second_patient_id, score, evidence, \
     status, created_ms, decided_by, decided_ms) VALUES (?1, ?2, 0, '{}', ?3, ?4, ?5, ?4) ON CONFLICT \
     (first_patient_id, second_patient_id) DO UPDATE SET status = excluded.status, decided_by = excluded.decided_by, \
     decided_ms = excluded.decided_ms";

pub const INSERT_MODEL: &str = "INSERT INTO mpi_model (n_records, trained_ms, model) VALUES (?1, ?2, ?3)";

pub const SELECT_LATEST_MODEL: &str =
    "SELECT model_id, n_records, trained_ms, model FROM mpi_model ORDER BY model_id DESC LIMIT 1";

pub const SELECT_LINKS: &str = "SELECT patient_id, person_id, patient_version_id, reason, linked_through, score, \
     evidence FROM mpi_record ORDER BY patient_id";

pub const REVIEW_COLUMNS: &str = "review_id, first_patient_id, second_patient_id, score, evidence, status, \
     created_ms, decided_by, decided_ms";

pub const SELECT_HISTORY: &str = "SELECT sequence, patient_id, person_id_before, person_id_after, reason, \
     linked_through, score, evidence, actor, recorded_ms FROM mpi_link_history WHERE patient_id = ?1 ORDER BY sequence";

pub const SELECT_LINK_CHANGES_AFTER: &str = "SELECT sequence, patient_id, recorded_ms FROM mpi_link_history WHERE \
     sequence > ?1 ORDER BY sequence LIMIT ?2";

/// The last change written before `?1` (ms): changes up to it are settled, whatever transaction wrote them. Walks the
/// history back from its newest change.
pub const SELECT_SEQUENCE_BEFORE: &str =
    "SELECT sequence FROM mpi_link_history WHERE recorded_ms < ?1 ORDER BY sequence DESC LIMIT 1";

pub const SELECT_DECISIONS_SINCE: &str = "SELECT review_id, first_patient_id, second_patient_id, score, evidence, \
     status, created_ms, decided_by, decided_ms FROM mpi_review WHERE decided_ms >= ?1 ORDER BY decided_ms, review_id";

pub const SELECT_LINK: &str = "SELECT patient_id, person_id, patient_version_id, reason, linked_through, score, \
     evidence FROM mpi_record WHERE patient_id = ?1";

/// `?N` placeholders as PostgreSQL spells them.
pub fn for_postgres(sql: &str) -> String {
    sql.replace('?', "$")
}
