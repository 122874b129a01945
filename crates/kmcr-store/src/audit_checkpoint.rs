//! Checkpoints of the audit chain kept outside the database: the file they are appended to, the key files, and the task
//! that signs the chain's head every N entries or T seconds.
//!
//! The signing itself, and what a checkpoint is, live in `kmcr_audit` (pure); this module does the I/O.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kmcr_audit::{
    Checkpoint, CheckpointKeyError, CheckpointPolicy, CheckpointSigningKey, CheckpointSink, CheckpointSinkError,
    CheckpointVerifyingKey,
};

use crate::{Store, StoreError};

/// Checkpoints appended as lines of JSON to a file the operator keeps apart from the database (another disk, another
/// machine's share, a write-once store). Each line is synced before `append` returns.
pub struct FileCheckpointSink {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl FileCheckpointSink {
    /// Opens `path` for appending, creating it if need be.
    pub fn open(path: &Path) -> Result<FileCheckpointSink, CheckpointSinkError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|error| unavailable(path, &error))?;
        Ok(FileCheckpointSink { path: path.to_path_buf(), file: Mutex::new(file) })
    }

    /// Every checkpoint in the file at `path`, without opening it for writing (for verification).
    pub fn read(path: &Path) -> Result<Vec<Checkpoint>, CheckpointSinkError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(unavailable(path, &error)),
        };
        let mut checkpoints = Vec::new();
        let complete_lines = text.matches('\n').count();
        for (index, line) in text.split('\n').enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(line) {
                Ok(checkpoint) => checkpoints.push(checkpoint),
                // The last line, cut short by a crash while it was written, was never acknowledged: it is not a fault.
                Err(_) if index == complete_lines => {
                    tracing::warn!(path = %path.display(), "the last checkpoint line is incomplete; ignored");
                }
                Err(error) => {
                    return Err(CheckpointSinkError::Malformed { line_number: index + 1, reason: error.to_string() });
                }
            }
        }
        Ok(checkpoints)
    }
}

fn unavailable(path: &Path, error: &std::io::Error) -> CheckpointSinkError {
    CheckpointSinkError::Unavailable(format!("{}: {error}", path.display()))
}

impl CheckpointSink for FileCheckpointSink {
    fn append(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointSinkError> {
        let mut line = serde_json::to_string(checkpoint).expect("a checkpoint always serialises");
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(line.as_bytes()).and_then(|()| file.sync_data()).map_err(|error| unavailable(&self.path, &error))
    }

    fn checkpoints(&self) -> Result<Vec<Checkpoint>, CheckpointSinkError> {
        FileCheckpointSink::read(&self.path)
    }
}

/// A key file: the secret (signs; its public key verifies too) or only the public key (verifies).
#[derive(Debug)]
pub enum CheckpointKeyFile {
    Secret(CheckpointSigningKey),
    Public(CheckpointVerifyingKey),
}

impl CheckpointKeyFile {
    pub fn verifying_key(&self) -> CheckpointVerifyingKey {
        match self {
            CheckpointKeyFile::Secret(key) => key.verifying_key(),
            CheckpointKeyFile::Public(key) => key.clone(),
        }
    }
}

const SECRET_KEY_LABEL: &str = "kmcr-audit-checkpoint-ed25519-secret";
const PUBLIC_KEY_LABEL: &str = "kmcr-audit-checkpoint-ed25519-public";

/// A key file that cannot be read or does not hold a key.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointKeyFileError {
    #[error("cannot use the checkpoint key file {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("the checkpoint key file {path} does not hold a key ({SECRET_KEY_LABEL} or {PUBLIC_KEY_LABEL} and hex)")]
    NotAKeyFile { path: PathBuf },
    #[error("the checkpoint key in {path} is not valid: {source}")]
    BadKey { path: PathBuf, source: CheckpointKeyError },
}

/// Reads a key file: one line, a label (`kmcr-audit-checkpoint-ed25519-secret` or `...-public`) and the key in hex.
pub fn read_checkpoint_key_file(path: &Path) -> Result<CheckpointKeyFile, CheckpointKeyFileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| CheckpointKeyFileError::Io { path: path.to_path_buf(), message: error.to_string() })?;
    let not_a_key = || CheckpointKeyFileError::NotAKeyFile { path: path.to_path_buf() };
    let (label, key) = text.trim().split_once(' ').ok_or_else(not_a_key)?;
    let bad_key = |source| CheckpointKeyFileError::BadKey { path: path.to_path_buf(), source };
    match label {
        SECRET_KEY_LABEL => CheckpointSigningKey::from_hex(key).map(CheckpointKeyFile::Secret).map_err(bad_key),
        PUBLIC_KEY_LABEL => CheckpointVerifyingKey::from_hex(key).map(CheckpointKeyFile::Public).map_err(bad_key),
        _ => Err(not_a_key()),
    }
}

/// Writes `key` to `secret_path` (a new file, readable by its owner only) and its public key to `secret_path` with
/// `.pub` added. Fails rather than overwrite a key.
pub fn write_checkpoint_key_files(
    secret_path: &Path,
    key: &CheckpointSigningKey,
) -> Result<PathBuf, CheckpointKeyFileError> {
    let io_error = |path: &Path, error: std::io::Error| CheckpointKeyFileError::Io {
        path: path.to_path_buf(),
        message: error.to_string(),
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut secret = options.open(secret_path).map_err(|error| io_error(secret_path, error))?;
    secret
        .write_all(format!("{SECRET_KEY_LABEL} {}\n", key.to_hex()).as_bytes())
        .and_then(|()| secret.sync_all())
        .map_err(|error| io_error(secret_path, error))?;
    let mut public_path = secret_path.as_os_str().to_owned();
    public_path.push(".pub");
    let public_path = PathBuf::from(public_path);
    std::fs::write(&public_path, format!("{PUBLIC_KEY_LABEL} {}\n", key.verifying_key().to_hex()))
        .map_err(|error| io_error(&public_path, error))?;
    Ok(public_path)
}

/// The running checkpoint task; it stops when this is dropped.
pub struct AuditCheckpoints {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AuditCheckpoints {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How often the task looks at the head: the count of new entries is seen at most this late.
const MAX_POLL_INTERVAL: Duration = Duration::from_millis(100);

fn sink_error(error: CheckpointSinkError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

impl Store {
    /// Signs the chain's head, once it is on disk, and appends the checkpoint to `sink`, if the head is after
    /// `after_sequence`. Returns the checkpoint made.
    pub async fn checkpoint_audit_head(
        &self,
        key: &CheckpointSigningKey,
        sink: &Arc<dyn CheckpointSink>,
        after_sequence: i64,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let Some((sequence, hash)) = self.durable_audit_head().await? else { return Ok(None) };
        if sequence <= after_sequence {
            return Ok(None);
        }
        let checkpoint = key.sign(sequence, &hash, kmcr_fhir::Instant::now().unix_ms);
        let sink = sink.clone();
        let appended = checkpoint.clone();
        tokio::task::spawn_blocking(move || sink.append(&appended))
            .await
            .expect("appending a checkpoint does not panic")
            .map_err(sink_error)?;
        Ok(Some(checkpoint))
    }

    /// Starts the task that signs the head after `policy.every_n_entries` new entries or `policy.every_interval`,
    /// whichever comes first, looking at the head every `every_interval` or 100 ms if that is sooner. It carries on
    /// from the last checkpoint in `sink`. A failure to sign or keep a checkpoint is logged and tried again.
    pub async fn start_audit_checkpoints(
        &self,
        key: CheckpointSigningKey,
        sink: Arc<dyn CheckpointSink>,
        policy: CheckpointPolicy,
    ) -> Result<AuditCheckpoints, StoreError> {
        let reading_sink = sink.clone();
        let existing = tokio::task::spawn_blocking(move || reading_sink.checkpoints())
            .await
            .expect("reading checkpoints does not panic")
            .map_err(sink_error)?;
        let mut last_sequence = existing.iter().map(|checkpoint| checkpoint.sequence).max().unwrap_or(0);
        let head_sequence = self.audit_head().await?.map_or(0, |(sequence, _)| sequence);
        if head_sequence < last_sequence {
            tracing::error!(
                head_sequence,
                last_checkpoint_sequence = last_sequence,
                "the audit chain ends before its last checkpoint: entries were removed, or the database was restored"
            );
            last_sequence = head_sequence;
        }
        let store = self.clone();
        let task = tokio::spawn(async move {
            let poll_interval = policy.every_interval.min(MAX_POLL_INTERVAL).max(Duration::from_millis(1));
            let mut ticker = tokio::time::interval(poll_interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_signed_at = tokio::time::Instant::now();
            loop {
                ticker.tick().await;
                let head_sequence = match store.audit_head().await {
                    Ok(head) => head.map_or(0, |(sequence, _)| sequence),
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the audit head to checkpoint it");
                        continue;
                    }
                };
                let n_new = u64::try_from(head_sequence - last_sequence).unwrap_or(0);
                let due = n_new >= policy.every_n_entries.max(1)
                    || (n_new > 0 && last_signed_at.elapsed() >= policy.every_interval);
                if !due {
                    continue;
                }
                match store.checkpoint_audit_head(&key, &sink, last_sequence).await {
                    Ok(Some(checkpoint)) => {
                        last_sequence = checkpoint.sequence;
                        last_signed_at = tokio::time::Instant::now();
                    }
                    Ok(None) => {}
                    Err(error) => tracing::error!(%error, "the audit head could not be checkpointed"),
                }
            }
        });
        Ok(AuditCheckpoints { task })
    }
}
