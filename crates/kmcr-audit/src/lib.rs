//! Audit entries and the hash chain that makes the audit trail tamper-evident.
//!
//! Each entry carries the hash of the entry before it; changing, removing or reordering any entry breaks every hash
//! after it. Storage crates persist entries; this crate only builds and checks them.
//!
//! Someone who can write to the database could still rewrite the whole chain, recomputing every hash, or cut off its
//! tail. Signed checkpoints kept outside the database (`checkpoint`) catch both: `ChainVerifier` (`verify`) walks the
//! chain and checks it against them. `balp` exports entries as FHIR AuditEvents shaped as IHE BALP.

mod balp;
mod checkpoint;
mod verify;

pub use balp::{BALP_PROFILE_BASE, KMCR_OBSERVER, audit_events};
pub use checkpoint::{
    Checkpoint, CheckpointKeyError, CheckpointPolicy, CheckpointSigningKey, CheckpointSink, CheckpointSinkError,
    CheckpointVerifyingKey, MemoryCheckpointSink,
};
pub use verify::{AuditFault, ChainVerifier, VerifiedChain};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The purpose of use (`v3-ActReason`) of emergency access: break-glass.
pub const BREAK_GLASS_PURPOSE: &str = "ETREAT";

/// The start of the reason the service records when sealed (sensitive) items were shown: an entry whose `reasons` hold
/// an item starting with this is a sensitive-data use, as the IG queries find it.
pub const SEALED_ITEMS_SHOWN_REASON_PREFIX: &str = "sealed items shown";

/// The hash that the first entry of a chain points back to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, as recorded: who (user and role profile, or system, and the organisation acted for), whom (every
/// person whose data was returned), what (items, or the query), why (purpose and stated reason), and the decision with
/// its reasons. Holds identifiers, codes and what the caller typed (the query, the stated reason); never names or
/// clinical text that KMCR holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub recorded_unix_ms: i64,
    /// `user`, `system` or `patient` (empty in entries written before users existed: read as `system`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actor_kind: String,
    /// The user id (`nhsid_useruid` or a local account), the API client id, or the public user id.
    pub actor_id: String,
    /// ODS code of the organisation the actor acts for (`PUBLIC` for a member of the public).
    pub actor_ods_code: String,
    /// The role profile id the user acted in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_profile_id: Option<String>,
    /// The SDS job role code (`R8000`) of that role profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_role_code: Option<String>,
    /// The sign-in session (for a user or a patient).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// `read`, `vread`, `search`, `history`, `create`, `update`, `delete`, `transaction`, `everything`, ...
    pub action: String,
    /// The purpose of use, a `v3-ActReason` code: TREAT, ETREAT, PATRQT, FAMRQT, HOPERAT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_of_use: Option<String>,
    /// The reason the user stated (break-glass, a declared relationship, sealed items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stated_reason: Option<String>,
    /// The request id, to join the audit with traces.
    pub request_id: String,
    /// A search's or operation's query as asked (`Observation?patient=...&code=...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The resources returned or touched, as `Type/id` (or `Type/id/_history/n`).
    pub resources: Vec<String>,
    /// The persons whose data was returned or touched, as `Person/id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub persons: Vec<String>,
    /// The source patient records whose data was returned or touched, as `Patient/id`.
    pub patients: Vec<String>,
    /// `permitted`, `permitted-withheld`, `denied`, `failed`, `not-found`.
    pub outcome: String,
    /// How many items were withheld from the answer.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub n_withheld: u32,
    /// Why the access decision answered as it did: the basis (`registered-practice`, `break-glass`, ...) and reasons.
    pub reasons: Vec<String>,
}

impl AuditRecord {
    /// A record with every optional part empty, for the caller to fill in.
    pub fn new(actor_kind: &str, actor_id: &str, actor_ods_code: &str, action: &str, request_id: &str) -> AuditRecord {
        AuditRecord {
            recorded_unix_ms: 0,
            actor_kind: actor_kind.to_string(),
            actor_id: actor_id.to_string(),
            actor_ods_code: actor_ods_code.to_string(),
            role_profile_id: None,
            job_role_code: None,
            session_id: None,
            action: action.to_string(),
            purpose_of_use: None,
            stated_reason: None,
            request_id: request_id.to_string(),
            query: None,
            resources: Vec::new(),
            persons: Vec::new(),
            patients: Vec::new(),
            outcome: String::new(),
            n_withheld: 0,
            reasons: Vec::new(),
        }
    }
}

impl AuditRecord {
    /// Emergency access (purpose of use ETREAT).
    pub fn is_break_glass(&self) -> bool {
        self.purpose_of_use.as_deref() == Some(BREAK_GLASS_PURPOSE)
    }

    /// Sealed items were shown (a reason starting with [`SEALED_ITEMS_SHOWN_REASON_PREFIX`]).
    pub fn shows_sealed_items(&self) -> bool {
        self.reasons.iter().any(|reason| reason.starts_with(SEALED_ITEMS_SHOWN_REASON_PREFIX))
    }

    /// The people the entry is about, as `Person/id` and `Patient/id`, each once, persons first.
    pub fn subjects(&self) -> Vec<&str> {
        let mut subjects: Vec<&str> = Vec::with_capacity(self.persons.len() + self.patients.len());
        for subject in self.persons.iter().chain(&self.patients) {
            if !subjects.contains(&subject.as_str()) {
                subjects.push(subject);
            }
        }
        subjects
    }
}

fn is_zero(count: &u32) -> bool {
    *count == 0
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
    let record_json = serde_json::to_vec(record).expect("an audit record always serialises");
    entry_hash_of_json(sequence, previous_hash, &record_json)
}

/// [`entry_hash`] of a record already serialised, as the store keeps it: the stored text is what was hashed when the
/// entry was made, so a verifier hashes it as it is, without parsing it and serialising it again. Any change to the
/// stored text, even one that parses to the same record, changes the hash.
pub fn entry_hash_of_json(sequence: i64, previous_hash: &str, record_json: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(sequence.to_be_bytes());
    hasher.update(previous_hash.as_bytes());
    hasher.update(record_json);
    hex(&hasher.finalize())
}

/// Lower-case hexadecimal, as hashes are written.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

/// An entry as the store keeps it: the record still as the JSON text that was hashed. Verification needs no more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAuditEntry {
    pub sequence: i64,
    pub record_json: String,
    pub previous_hash: String,
    pub hash: String,
}

impl StoredAuditEntry {
    /// The entry with its record parsed.
    pub fn parse(&self) -> Result<ChainedAuditEntry, serde_json::Error> {
        Ok(ChainedAuditEntry {
            sequence: self.sequence,
            record: serde_json::from_str(&self.record_json)?,
            previous_hash: self.previous_hash.clone(),
            hash: self.hash.clone(),
        })
    }
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
        let mut record = AuditRecord::new("system", "client", "RVV", action, "r1");
        record.recorded_unix_ms = 1;
        record.resources = vec!["Patient/1".into()];
        record.patients = vec!["Patient/1".into()];
        record.outcome = "permitted".into();
        record
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
