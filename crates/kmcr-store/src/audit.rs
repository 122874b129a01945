//! What both backends share about the audit chain: the IG queries, and the searchable rows each entry gets.
//!
//! Every entry is found again by the people it is about (`audit_by_subject`), by its actor (`audit_by_actor`) and by
//! its flags (`audit_flag`: break-glass, sealed items shown): rows written in the same transaction as the entry
//! (migration 9), each query a range of one primary key read in sequence order.

use kmcr_audit::ChainedAuditEntry;

/// Which entries an IG query asks for. Each is answered oldest first, after a sequence, a page at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditQuery {
    /// Who accessed this person or source record: `Person/id` or `Patient/id`.
    Subject(String),
    /// What this user (or client) accessed, recorded in `[since_ms, until_ms)` when given.
    Actor { actor_id: String, since_ms: Option<i64>, until_ms: Option<i64> },
    /// Emergency access (purpose of use ETREAT).
    BreakGlass,
    /// Entries whose reasons say sealed items were shown (`kmcr_audit::SEALED_ITEMS_SHOWN_REASON_PREFIX`).
    SealedItemsShown,
    /// Every entry recorded at or after `since_ms`. Start paging at [`crate::Store::audit_sequence_recorded_since`]
    /// less one: from sequence 0 each page would read every earlier entry.
    RecordedSince(i64),
}

/// The flag of emergency access in `audit_flag`.
pub(crate) const BREAK_GLASS_FLAG: &str = "break-glass";
/// The flag of sealed items shown in `audit_flag`.
pub(crate) const SEALED_ITEMS_SHOWN_FLAG: &str = "sealed-items-shown";

/// Entries read back per page when a backfill or a verification walks the chain.
pub(crate) const WALK_PAGE_SIZE: usize = 10_000;

/// The searchable rows of entries, column by column (as PostgreSQL binds them).
#[derive(Default)]
pub(crate) struct SearchRows {
    pub subjects: (Vec<String>, Vec<i64>),
    pub actors: (Vec<String>, Vec<i64>, Vec<i64>),
    pub flags: (Vec<&'static str>, Vec<i64>),
}

impl SearchRows {
    pub fn add(&mut self, entry: &ChainedAuditEntry) {
        let record = &entry.record;
        for subject in record.subjects() {
            self.subjects.0.push(subject.to_string());
            self.subjects.1.push(entry.sequence);
        }
        self.actors.0.push(record.actor_id.clone());
        self.actors.1.push(entry.sequence);
        self.actors.2.push(record.recorded_unix_ms);
        for flag in flags(entry) {
            self.flags.0.push(flag);
            self.flags.1.push(entry.sequence);
        }
    }
}

/// The flags an entry is found by.
pub(crate) fn flags(entry: &ChainedAuditEntry) -> impl Iterator<Item = &'static str> {
    let break_glass = entry.record.is_break_glass().then_some(BREAK_GLASS_FLAG);
    let sealed = entry.record.shows_sealed_items().then_some(SEALED_ITEMS_SHOWN_FLAG);
    break_glass.into_iter().chain(sealed)
}
