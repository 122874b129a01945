//! Verification of a whole chain, page by page, against its signed checkpoints.
//!
//! Faults are found in the order of the chain: the first one reported is the one at the lowest sequence. For each
//! entry: its sequence follows the one before (else a gap), it points at the hash before it (else a broken link), its
//! hash is that of its content (else altered), and a checkpoint at its sequence is signed by a known key (else a bad
//! signature) and names its hash (else the chain was rewritten since the checkpoint before). After the last entry, a
//! checkpoint beyond it means the tail was cut off.
//!
//! Entries are hashed as stored, without parsing (`entry_hash_of_json`), each page on every core; the links are then
//! checked in order.

use crate::{Checkpoint, CheckpointVerifyingKey, GENESIS_HASH, StoredAuditEntry, entry_hash_of_json};

/// The first fault found, with the sequence where it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditFault {
    /// The entry's hash does not match its content.
    #[error("entry {sequence} was altered: its hash does not match its content")]
    Altered { sequence: i64 },
    /// The entry does not point at the hash of the entry before it.
    #[error("entry {sequence} does not link to the entry before it")]
    BrokenLink { sequence: i64 },
    /// The entry expected next is missing (deleted) or another stands in its place (inserted).
    #[error("entry {expected_sequence} is missing: the next entry is {found_sequence}")]
    Gap { expected_sequence: i64, found_sequence: i64 },
    /// A checkpoint signed an entry that the database no longer holds: entries were removed from the end.
    #[error("the chain ends at entry {last_sequence}, but checkpoint {checkpoint_sequence} signed a later one")]
    TruncatedAfterCheckpoint { checkpoint_sequence: i64, last_sequence: i64 },
    /// The entry at a checkpoint's sequence has another hash than the one signed: the chain was rewritten (after
    /// `since_checkpoint`, the last checkpoint that still matched, if any) with every hash recomputed.
    #[error("entry {checkpoint_sequence} differs from its signed checkpoint: the chain was rewritten")]
    Rewritten { checkpoint_sequence: i64, since_checkpoint: Option<i64> },
    /// A checkpoint is not signed by any key given.
    #[error("checkpoint {checkpoint_sequence} does not carry a valid signature")]
    BadCheckpointSignature { checkpoint_sequence: i64 },
}

impl AuditFault {
    /// The sequence of the entry (or checkpoint) where the chain stops being valid.
    pub fn sequence(&self) -> i64 {
        match *self {
            AuditFault::Altered { sequence } | AuditFault::BrokenLink { sequence } => sequence,
            AuditFault::Gap { expected_sequence, .. } => expected_sequence,
            AuditFault::TruncatedAfterCheckpoint { checkpoint_sequence, .. }
            | AuditFault::Rewritten { checkpoint_sequence, .. }
            | AuditFault::BadCheckpointSignature { checkpoint_sequence } => checkpoint_sequence,
        }
    }

    /// A stable name of the kind of fault.
    pub fn kind(&self) -> &'static str {
        match self {
            AuditFault::Altered { .. } => "altered",
            AuditFault::BrokenLink { .. } => "broken-link",
            AuditFault::Gap { .. } => "gap",
            AuditFault::TruncatedAfterCheckpoint { .. } => "truncated",
            AuditFault::Rewritten { .. } => "rewritten",
            AuditFault::BadCheckpointSignature { .. } => "bad-checkpoint-signature",
        }
    }
}

/// What a successful verification covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedChain {
    pub n_entries: u64,
    /// The last entry's sequence and hash (0 and the genesis hash for an empty chain).
    pub last_sequence: i64,
    pub last_hash: String,
    pub n_checkpoints: usize,
    /// The last checkpoint's sequence: entries after it are protected by the chain alone.
    pub last_checkpoint_sequence: Option<i64>,
}

/// Walks a chain from its first entry, one page at a time.
pub struct ChainVerifier {
    previous_hash: String,
    expected_sequence: i64,
    n_entries: u64,
    /// Sorted by sequence; `next_checkpoint_idx` is the first not yet reached.
    checkpoints: Vec<Checkpoint>,
    next_checkpoint_idx: usize,
    last_matching_checkpoint: Option<i64>,
    keys: Vec<CheckpointVerifyingKey>,
    n_threads: usize,
}

/// Below this many entries a page is hashed on the calling thread: starting threads would cost more.
const MIN_ENTRIES_PER_THREAD: usize = 2_048;

impl ChainVerifier {
    /// A verifier of a chain from genesis against `checkpoints` (in any order), each of which must be signed by one of
    /// `keys`. With no checkpoints, only the chain itself is checked.
    pub fn new(mut checkpoints: Vec<Checkpoint>, keys: Vec<CheckpointVerifyingKey>) -> ChainVerifier {
        checkpoints.sort_by_key(|checkpoint| checkpoint.sequence);
        let n_threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        ChainVerifier {
            previous_hash: GENESIS_HASH.to_string(),
            expected_sequence: 1,
            n_entries: 0,
            checkpoints,
            next_checkpoint_idx: 0,
            last_matching_checkpoint: None,
            keys,
            n_threads,
        }
    }

    /// Checks the next page of entries (in sequence order, following the last page).
    pub fn check_page(&mut self, page: &[StoredAuditEntry]) -> Result<(), AuditFault> {
        let hashes = self.hash_page(page);
        for (entry, computed_hash) in page.iter().zip(hashes) {
            self.check_checkpoints_before(entry.sequence)?;
            if entry.sequence != self.expected_sequence {
                return Err(AuditFault::Gap {
                    expected_sequence: self.expected_sequence,
                    found_sequence: entry.sequence,
                });
            }
            if entry.previous_hash != self.previous_hash {
                return Err(AuditFault::BrokenLink { sequence: entry.sequence });
            }
            if computed_hash != entry.hash {
                return Err(AuditFault::Altered { sequence: entry.sequence });
            }
            self.check_checkpoints_at(entry)?;
            self.previous_hash.clone_from(&entry.hash);
            self.expected_sequence = entry.sequence + 1;
            self.n_entries += 1;
        }
        Ok(())
    }

    /// Ends the walk: a checkpoint beyond the last entry means the tail was cut off.
    pub fn finish(mut self) -> Result<VerifiedChain, AuditFault> {
        let last_sequence = self.expected_sequence - 1;
        if let Some(beyond) = self.checkpoints.get(self.next_checkpoint_idx) {
            let checkpoint_sequence = beyond.sequence;
            if !self.is_signed(beyond) {
                return Err(AuditFault::BadCheckpointSignature { checkpoint_sequence });
            }
            // The last signed checkpoint is the one to name: it proves the most that was removed.
            let last_signed = self.checkpoints[self.next_checkpoint_idx..]
                .iter()
                .rev()
                .find(|checkpoint| self.is_signed(checkpoint))
                .map_or(checkpoint_sequence, |checkpoint| checkpoint.sequence);
            return Err(AuditFault::TruncatedAfterCheckpoint { checkpoint_sequence: last_signed, last_sequence });
        }
        let n_checkpoints = self.checkpoints.len();
        let last_checkpoint_sequence = self.checkpoints.pop().map(|checkpoint| checkpoint.sequence);
        Ok(VerifiedChain {
            n_entries: self.n_entries,
            last_sequence,
            last_hash: self.previous_hash,
            n_checkpoints,
            last_checkpoint_sequence,
        })
    }

    fn is_signed(&self, checkpoint: &Checkpoint) -> bool {
        self.keys.iter().any(|key| key.verifies(checkpoint))
    }

    /// A checkpoint at a sequence the walk has passed without seeing (below the first entry, or inside a gap that is
    /// about to be reported) is reported only if its signature is bad; the gap itself is the fault.
    fn check_checkpoints_before(&mut self, sequence: i64) -> Result<(), AuditFault> {
        while let Some(checkpoint) = self.checkpoints.get(self.next_checkpoint_idx)
            && checkpoint.sequence < sequence.min(self.expected_sequence)
        {
            if !self.is_signed(checkpoint) {
                return Err(AuditFault::BadCheckpointSignature { checkpoint_sequence: checkpoint.sequence });
            }
            self.next_checkpoint_idx += 1;
        }
        Ok(())
    }

    fn check_checkpoints_at(&mut self, entry: &StoredAuditEntry) -> Result<(), AuditFault> {
        while let Some(checkpoint) = self.checkpoints.get(self.next_checkpoint_idx)
            && checkpoint.sequence == entry.sequence
        {
            if !self.is_signed(checkpoint) {
                return Err(AuditFault::BadCheckpointSignature { checkpoint_sequence: checkpoint.sequence });
            }
            if checkpoint.hash != entry.hash {
                return Err(AuditFault::Rewritten {
                    checkpoint_sequence: checkpoint.sequence,
                    since_checkpoint: self.last_matching_checkpoint,
                });
            }
            self.last_matching_checkpoint = Some(checkpoint.sequence);
            self.next_checkpoint_idx += 1;
        }
        Ok(())
    }

    /// Every entry's hash of its content, computed on up to `n_threads` threads in contiguous parts.
    fn hash_page(&self, page: &[StoredAuditEntry]) -> Vec<String> {
        let hash_one = |entry: &StoredAuditEntry| {
            entry_hash_of_json(entry.sequence, &entry.previous_hash, entry.record_json.as_bytes())
        };
        let n_threads = self.n_threads.min(page.len() / MIN_ENTRIES_PER_THREAD).max(1);
        if n_threads == 1 {
            return page.iter().map(hash_one).collect();
        }
        let part_len = page.len().div_ceil(n_threads);
        std::thread::scope(|scope| {
            let parts: Vec<_> = page
                .chunks(part_len)
                .map(|part| scope.spawn(move || part.iter().map(hash_one).collect::<Vec<_>>()))
                .collect();
            parts.into_iter().flat_map(|part| part.join().expect("hashing does not panic")).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditRecord, CheckpointSigningKey, chain};

    fn stored_chain(n: i64) -> Vec<StoredAuditEntry> {
        let mut previous_hash = GENESIS_HASH.to_string();
        (1..=n)
            .map(|sequence| {
                let mut record = AuditRecord::new("system", "client", "RVV", "read", &format!("r{sequence}"));
                record.recorded_unix_ms = sequence;
                let entry = chain(sequence, record, &previous_hash);
                previous_hash.clone_from(&entry.hash);
                StoredAuditEntry {
                    sequence,
                    record_json: serde_json::to_string(&entry.record).unwrap(),
                    previous_hash: entry.previous_hash,
                    hash: entry.hash,
                }
            })
            .collect()
    }

    fn verify(entries: &[StoredAuditEntry], checkpoints: Vec<Checkpoint>) -> Result<VerifiedChain, AuditFault> {
        let key = CheckpointSigningKey::from_seed([1; 32]).verifying_key();
        let mut verifier = ChainVerifier::new(checkpoints, vec![key]);
        for page in entries.chunks(3) {
            verifier.check_page(page)?;
        }
        verifier.finish()
    }

    #[test]
    fn each_kind_of_tampering_is_named_at_its_sequence() {
        let key = CheckpointSigningKey::from_seed([1; 32]);
        let entries = stored_chain(10);
        let checkpoints = vec![key.sign(4, &entries[3].hash, 1), key.sign(8, &entries[7].hash, 2)];
        let verified = verify(&entries, checkpoints.clone()).unwrap();
        assert_eq!((verified.n_entries, verified.last_sequence, verified.n_checkpoints), (10, 10, 2));

        let mut altered = entries.clone();
        altered[4].record_json = altered[4].record_json.replace("client", "someone");
        assert_eq!(verify(&altered, checkpoints.clone()), Err(AuditFault::Altered { sequence: 5 }));

        let mut without_middle = entries.clone();
        without_middle.remove(5);
        assert_eq!(
            verify(&without_middle, checkpoints.clone()),
            Err(AuditFault::Gap { expected_sequence: 6, found_sequence: 7 })
        );

        assert_eq!(
            verify(&entries[..6], checkpoints.clone()),
            Err(AuditFault::TruncatedAfterCheckpoint { checkpoint_sequence: 8, last_sequence: 6 })
        );
        assert_eq!(
            verify(&[], checkpoints.clone()),
            Err(AuditFault::TruncatedAfterCheckpoint { checkpoint_sequence: 8, last_sequence: 0 })
        );

        let mut relinked = entries.clone();
        relinked[6].previous_hash = GENESIS_HASH.into();
        assert_eq!(verify(&relinked, checkpoints.clone()), Err(AuditFault::BrokenLink { sequence: 7 }));

        // Entry 6 changed and every hash from it recomputed: consistent, but not what checkpoint 8 signed.
        let mut rewritten = entries[..5].to_vec();
        let mut previous_hash = rewritten[4].hash.clone();
        for entry in &entries[5..] {
            let record_json = entry.record_json.replace("RVV", "XXX");
            let hash = entry_hash_of_json(entry.sequence, &previous_hash, record_json.as_bytes());
            rewritten.push(StoredAuditEntry {
                sequence: entry.sequence,
                record_json,
                previous_hash,
                hash: hash.clone(),
            });
            previous_hash = hash;
        }
        assert_eq!(
            verify(&rewritten, checkpoints.clone()),
            Err(AuditFault::Rewritten { checkpoint_sequence: 8, since_checkpoint: Some(4) })
        );

        let mut forged = checkpoints.clone();
        forged[0].hash = entries[2].hash.clone();
        forged[0].sequence = 3;
        assert_eq!(verify(&entries, forged), Err(AuditFault::BadCheckpointSignature { checkpoint_sequence: 3 }));
    }

    #[test]
    fn a_page_hashed_on_several_threads_checks_as_on_one() {
        let entries = stored_chain(3 * MIN_ENTRIES_PER_THREAD as i64);
        let mut verifier = ChainVerifier::new(Vec::new(), Vec::new());
        verifier.n_threads = 3;
        verifier.check_page(&entries).unwrap();
        assert_eq!(verifier.finish().unwrap().last_hash, entries.last().unwrap().hash);

        let mut altered = entries.clone();
        altered[2 * MIN_ENTRIES_PER_THREAD + 5].record_json.push(' ');
        let mut verifier = ChainVerifier::new(Vec::new(), Vec::new());
        verifier.n_threads = 3;
        let sequence = (2 * MIN_ENTRIES_PER_THREAD + 6) as i64;
        assert_eq!(verifier.check_page(&altered), Err(AuditFault::Altered { sequence }));
    }
}
