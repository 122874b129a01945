//! Entries written by earlier builds, before the record gained role profiles, purposes and persons, must still verify:
//! the fields added since are left out of the JSON when empty, so an old record serialises to the very bytes hashed.

use kmcr_audit::{AuditRecord, ChainVerifier, GENESIS_HASH, StoredAuditEntry, chain, entry_hash, entry_hash_of_json};
use sha2::{Digest, Sha256};

/// A record as the first builds wrote it, and its hash as they computed it (hex by `format!`).
const OLD_RECORD_JSON: &str = r#"{"recorded_unix_ms":1700000000000,"actor_id":"client-1","actor_ods_code":"RVV","action":"read","request_id":"r1","resources":["Patient/1"],"patients":["Patient/1"],"outcome":"permitted","reasons":["scope patient/*.read"]}"#;

fn old_hash(sequence: i64, previous_hash: &str, record_json: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(sequence.to_be_bytes());
    hasher.update(previous_hash.as_bytes());
    hasher.update(record_json.as_bytes());
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn an_entry_written_before_the_redesign_still_verifies() {
    let record: AuditRecord = serde_json::from_str(OLD_RECORD_JSON).unwrap();
    assert_eq!(serde_json::to_string(&record).unwrap(), OLD_RECORD_JSON, "an old record serialises as it was written");
    let hash = old_hash(1, GENESIS_HASH, OLD_RECORD_JSON);
    assert_eq!(entry_hash(1, &record, GENESIS_HASH), hash);
    assert_eq!(entry_hash_of_json(1, GENESIS_HASH, OLD_RECORD_JSON.as_bytes()), hash);

    let next = chain(2, record.clone(), &hash);
    let stored = vec![
        StoredAuditEntry { sequence: 1, record_json: OLD_RECORD_JSON.into(), previous_hash: GENESIS_HASH.into(), hash },
        StoredAuditEntry {
            sequence: 2,
            record_json: serde_json::to_string(&next.record).unwrap(),
            previous_hash: next.previous_hash.clone(),
            hash: next.hash.clone(),
        },
    ];
    let mut verifier = ChainVerifier::new(Vec::new(), Vec::new());
    verifier.check_page(&stored).unwrap();
    assert_eq!(verifier.finish().unwrap().n_entries, 2);
}

#[test]
fn markers_of_break_glass_and_sealed_items() {
    let mut record = AuditRecord::new("user", "555", "RVV", "read", "r1");
    assert!(!record.is_break_glass() && !record.shows_sealed_items());
    record.purpose_of_use = Some("ETREAT".into());
    record.reasons = vec!["break-glass".into(), "sealed items shown: 2 (B1611, reason stated)".into()];
    assert!(record.is_break_glass() && record.shows_sealed_items());
    record.persons = vec!["Person/a".into()];
    record.patients = vec!["Patient/1".into(), "Person/a".into()];
    assert_eq!(record.subjects(), ["Person/a", "Patient/1"]);
}
