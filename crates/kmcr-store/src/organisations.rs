//! Organisations that left the sharing agreement, and the purge of what they sent. The store keeps and removes; the
//! service decides who may and what follows (the person index, the access policy in force).

/// An organisation recorded as having left the agreement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Departure {
    pub ods_code: String,
    pub left_ms: i64,
    /// Who recorded it (an operator's command, a client).
    pub recorded_by: String,
    /// When its data was purged, if it was.
    pub purged_ms: Option<i64>,
}

/// What one step of a purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeStep {
    /// Resources it had sent, now gone (their keys stay as placeholders, as for a resource only referenced so far, so
    /// that other sources' references stay whole).
    pub resources: u64,
    /// Versions of those resources.
    pub versions: u64,
    /// The last key removed: the next step starts after it.
    pub last_key: i64,
}

pub const DEPARTURE_COLUMNS: &str = "ods_code, left_ms, recorded_by, purged_ms";
