//! Audit entries and the hash chain that makes the audit trail tamper-evident.
//!
//! Each entry carries the hash of the entry before it; changing, removing or reordering any entry breaks every hash
//! after it. Storage crates persist entries; this crate only builds and checks them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash that the first entry of a chain points back to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, as recorded: who, acting for which organisation, did what to which resources, and how it ended.
/// Holds identifiers only, never names, NHS numbers or clinical text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub recorded_unix_ms: i64,
    /// The principal: an API client id, later a user id.
    pub actor_id: String,
    /// ODS code of the organisation the actor acts for.
    pub actor_ods_code: String,
    /// `read`, `vread`, `search`, `history`, `create`, `update`, `delete`, `transaction`, `everything`, ...
    pub action: String,
    /// The request id, to join the audit with traces.
    pub request_id: String,
    /// The resources touched, as `Type/id` (or `Type/id/_history/n`), and for searches the resource type searched.
    pub resources: Vec<String>,
    /// The patients whose data was touched, as `Patient/id`.
    pub patients: Vec<String>,
    /// `permitted`, `denied`, `failed`.
    pub outcome: String,
    /// Why the access decision answered as it did (e.g. `scope system/Observation.read`).
    pub reasons: Vec<String>,
}

/// An audit record placed in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainedAuditEntry {
    pub sequence: i64,
    pub record: AuditRecord,
    pub previous_hash: String,
    pub hash: String,
}

/// Links `record` after the entry with `previous_hash` at position `sequence`.
pub fn chain(sequence: i64, record: AuditRecord, previous_hash: &str) -> ChainedAuditEntry {
    let hash = entry_hash(sequence, &record, previous_hash);
    ChainedAuditEntry { sequence, record, previous_hash: previous_hash.to_string(), hash }
}

/// The canonical bytes hashed for an entry: sequence, previous hash and the record as JSON in field order.
pub fn entry_hash(sequence: i64, record: &AuditRecord, previous_hash: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(sequence.to_be_bytes());
    hasher.update(previous_hash.as_bytes());
    hasher.update(serde_json::to_vec(record).expect("an audit record always serialises"));
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Where a chain stops being valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainFault {
    /// The entry's hash does not match its content.
    Altered { sequence: i64 },
    /// The entry does not point at the hash of the entry before it.
    Broken { sequence: i64 },
    /// Sequence numbers are not consecutive: an entry was removed or inserted.
    Gap { sequence: i64 },
}

/// Checks entries in order, starting from `previous_hash` (the genesis hash for a whole chain).
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = &'a ChainedAuditEntry>,
    mut previous_hash: String,
    mut expected_sequence: Option<i64>,
) -> Result<(String, Option<i64>), ChainFault> {
    for entry in entries {
        if let Some(expected) = expected_sequence
            && entry.sequence != expected
        {
            return Err(ChainFault::Gap { sequence: entry.sequence });
        }
        if entry.previous_hash != previous_hash {
            return Err(ChainFault::Broken { sequence: entry.sequence });
        }
        if entry_hash(entry.sequence, &entry.record, &entry.previous_hash) != entry.hash {
            return Err(ChainFault::Altered { sequence: entry.sequence });
        }
        previous_hash = entry.hash.clone();
        expected_sequence = Some(entry.sequence + 1);
    }
    Ok((previous_hash, expected_sequence))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &str) -> AuditRecord {
        AuditRecord {
            recorded_unix_ms: 1,
            actor_id: "client".into(),
            actor_ods_code: "RVV".into(),
            action: action.into(),
            request_id: "r1".into(),
            resources: vec!["Patient/1".into()],
            patients: vec!["Patient/1".into()],
            outcome: "permitted".into(),
            reasons: vec![],
        }
    }

    #[test]
    fn tampering_is_detected() {
        let first = chain(1, record("read"), GENESIS_HASH);
        let second = chain(2, record("search"), &first.hash);
        assert!(verify_chain([&first, &second], GENESIS_HASH.into(), Some(1)).is_ok());

        let mut altered = second.clone();
        altered.record.actor_id = "someone else".into();
        assert_eq!(
            verify_chain([&first, &altered], GENESIS_HASH.into(), Some(1)),
            Err(ChainFault::Altered { sequence: 2 })
        );
        assert_eq!(verify_chain([&second], GENESIS_HASH.into(), Some(1)), Err(ChainFault::Gap { sequence: 2 }));
        let rechained = chain(2, record("search"), GENESIS_HASH);
        assert_eq!(
            verify_chain([&first, &rechained], GENESIS_HASH.into(), Some(1)),
            Err(ChainFault::Broken { sequence: 2 })
        );
    }
}
