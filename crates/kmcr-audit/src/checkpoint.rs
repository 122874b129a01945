//! Signed checkpoints of the chain's head, kept outside the database.
//!
//! A checkpoint says "entry `sequence` had hash `hash`", signed with an Ed25519 key that the operator keeps apart from
//! the database. Whoever can rewrite the database but not the key cannot make a rewritten chain or a shortened one
//! agree with the checkpoints. Signing and checking are pure; where checkpoints are kept is a [`CheckpointSink`],
//! implemented with files by the store.

use std::sync::Mutex;
use std::time::Duration;

use ed25519_dalek::{Signer, Verifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What is signed is prefixed with this, so a checkpoint signature can never be taken for a signature of anything else.
const SIGNING_CONTEXT: &[u8] = b"KMCR audit checkpoint v1\n";

/// The signed head of the chain at one moment. One line of JSON in a checkpoint file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The sequence of the entry signed (the head when the checkpoint was made).
    pub sequence: i64,
    /// That entry's hash.
    pub hash: String,
    /// When the checkpoint was signed.
    pub signed_unix_ms: i64,
    /// Which key signed it: [`CheckpointVerifyingKey::key_id`].
    pub key_id: String,
    /// The Ed25519 signature, hexadecimal.
    pub signature: String,
}

fn signed_bytes(sequence: i64, hash: &str, signed_unix_ms: i64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(SIGNING_CONTEXT.len() + 16 + hash.len());
    bytes.extend_from_slice(SIGNING_CONTEXT);
    bytes.extend_from_slice(&sequence.to_be_bytes());
    bytes.extend_from_slice(&signed_unix_ms.to_be_bytes());
    bytes.extend_from_slice(hash.as_bytes());
    bytes
}

/// A key that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointKeyError {
    #[error("a checkpoint key is 64 hexadecimal characters (32 bytes)")]
    NotHex,
    #[error("the public key is not a valid Ed25519 point")]
    NotAPublicKey,
}

fn parse_hex_32(text: &str) -> Result<[u8; 32], CheckpointKeyError> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return Err(CheckpointKeyError::NotHex);
    }
    let mut bytes = [0u8; 32];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).map_err(|_| CheckpointKeyError::NotHex)?;
    }
    Ok(bytes)
}

fn parse_hex_64(text: &str) -> Option<[u8; 64]> {
    if text.len() != 128 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 64];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).ok()?;
    }
    Some(bytes)
}

/// The private key that signs checkpoints. Never printed.
#[derive(Clone)]
pub struct CheckpointSigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for CheckpointSigningKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "CheckpointSigningKey({})", self.verifying_key().key_id())
    }
}

impl CheckpointSigningKey {
    /// The key of a 32-byte secret seed (from a random source, or a key file).
    pub fn from_seed(seed: [u8; 32]) -> CheckpointSigningKey {
        CheckpointSigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The key of its seed in hexadecimal, as a key file holds it.
    pub fn from_hex(text: &str) -> Result<CheckpointSigningKey, CheckpointKeyError> {
        Ok(CheckpointSigningKey::from_seed(parse_hex_32(text)?))
    }

    /// The seed in hexadecimal, to write a key file.
    pub fn to_hex(&self) -> String {
        crate::hex(&self.0.to_bytes())
    }

    pub fn verifying_key(&self) -> CheckpointVerifyingKey {
        CheckpointVerifyingKey(self.0.verifying_key())
    }

    /// Signs the head `(sequence, hash)` at `signed_unix_ms`.
    pub fn sign(&self, sequence: i64, hash: &str, signed_unix_ms: i64) -> Checkpoint {
        let signature = self.0.sign(&signed_bytes(sequence, hash, signed_unix_ms));
        Checkpoint {
            sequence,
            hash: hash.to_string(),
            signed_unix_ms,
            key_id: self.verifying_key().key_id(),
            signature: crate::hex(&signature.to_bytes()),
        }
    }
}

/// The public key that checks checkpoints; it may be given to anyone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointVerifyingKey(ed25519_dalek::VerifyingKey);

impl CheckpointVerifyingKey {
    pub fn from_hex(text: &str) -> Result<CheckpointVerifyingKey, CheckpointKeyError> {
        let bytes = parse_hex_32(text)?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(CheckpointVerifyingKey)
            .map_err(|_| CheckpointKeyError::NotAPublicKey)
    }

    pub fn to_hex(&self) -> String {
        crate::hex(self.0.as_bytes())
    }

    /// The first 16 hexadecimal characters of the SHA-256 of the public key: names the key in each checkpoint.
    pub fn key_id(&self) -> String {
        crate::hex(&Sha256::digest(self.0.as_bytes())[..8])
    }

    /// Whether this key signed `checkpoint` as it stands.
    pub fn verifies(&self, checkpoint: &Checkpoint) -> bool {
        if checkpoint.key_id != self.key_id() {
            return false;
        }
        let Some(signature) = parse_hex_64(&checkpoint.signature) else { return false };
        let signature = ed25519_dalek::Signature::from_bytes(&signature);
        let message = signed_bytes(checkpoint.sequence, &checkpoint.hash, checkpoint.signed_unix_ms);
        self.0.verify(&message, &signature).is_ok()
    }
}

/// When the store signs the head: after `every_n_entries` new entries or `every_interval`, whichever comes first (and
/// only if there is anything new).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointPolicy {
    pub every_n_entries: u64,
    pub every_interval: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy { every_n_entries: 1_000, every_interval: Duration::from_secs(1) }
    }
}

/// A checkpoint could not be kept or read back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointSinkError {
    #[error("the checkpoint sink is unavailable: {0}")]
    Unavailable(String),
    #[error("checkpoint {line_number} does not parse: {reason}")]
    Malformed { line_number: usize, reason: String },
}

/// Where checkpoints are kept, append-only: somewhere the database's users cannot write.
pub trait CheckpointSink: Send + Sync {
    /// Keeps `checkpoint` durably before returning.
    fn append(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointSinkError>;
    /// Every checkpoint kept, in the order appended.
    fn checkpoints(&self) -> Result<Vec<Checkpoint>, CheckpointSinkError>;
}

/// Checkpoints in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryCheckpointSink(Mutex<Vec<Checkpoint>>);

impl CheckpointSink for MemoryCheckpointSink {
    fn append(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointSinkError> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(checkpoint.clone());
        Ok(())
    }

    fn checkpoints(&self) -> Result<Vec<Checkpoint>, CheckpointSinkError> {
        Ok(self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_only_as_signed() {
        let key = CheckpointSigningKey::from_seed([7; 32]);
        let public = key.verifying_key();
        let checkpoint = key.sign(42, "ab", 1_000);
        assert!(public.verifies(&checkpoint));
        assert_eq!(CheckpointSigningKey::from_hex(&key.to_hex()).unwrap().verifying_key(), public);
        assert_eq!(CheckpointVerifyingKey::from_hex(&public.to_hex()).unwrap(), public);

        let moved = Checkpoint { sequence: 41, ..checkpoint.clone() };
        assert!(!public.verifies(&moved));
        let rehashed = Checkpoint { hash: "ac".into(), ..checkpoint.clone() };
        assert!(!public.verifies(&rehashed));
        let other_key = CheckpointSigningKey::from_seed([8; 32]);
        assert!(!other_key.verifying_key().verifies(&checkpoint));
        let forged = Checkpoint { key_id: public.key_id(), ..other_key.sign(42, "ab", 1_000) };
        assert!(!public.verifies(&forged));
        assert_eq!(CheckpointSigningKey::from_hex("zz").unwrap_err(), CheckpointKeyError::NotHex);
        assert!(!format!("{key:?}").contains(&key.to_hex()), "the secret never prints");
    }
}
