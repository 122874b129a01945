//! The one SQLite writer: a thread that owns the write connection and commits in groups.
//!
//! Writes (and the audit entries of reads) queue here. The thread takes every job waiting, runs each in a savepoint
//! of one transaction (so each job is still all-or-nothing) and commits once. One commit serves every concurrent
//! request.
//!
//! A commit is answered only once it is on disk, but the writer does not wait for the disk itself: its connection
//! commits without syncing (`synchronous = NORMAL`) and hands the group's answers to a second thread, the syncer,
//! which syncs the WAL file (one `fdatasync` for every group committed meanwhile) and only then answers. The writer
//! runs the next group while the disk is busy; before, sampled during a load, it was waiting for the disk's flush
//! (`submit_bio_wait`) in 31% of samples. What is answered is as durable as with `synchronous = FULL`: a commit's
//! frames are in the WAL before the syncer is told of it, so the sync that follows covers them; and the WAL is only
//! ever overwritten or truncated after a checkpoint has copied every frame into the database file and synced it.
//! One difference: readers may see a commit a moment before it is on disk (and before its writer is answered), so a
//! power cut in that moment can lose a write that was read but never acknowledged; its sender, unanswered, sends it
//! again.
//!
//! A third thread checkpoints the WAL in the background so that the writer never stops to copy pages back into the
//! database.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::time::Duration;

use kmcr_audit::{AuditRecord, ChainedAuditEntry};
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::write;
use crate::sign_in::{SignInChange, SignInOutcome};
use crate::write_rows::PreparedOp;
use crate::{GrantChange, IdentityWrite, StoreError, StoredGrant, WriteOutcome};

/// Jobs committed together at most; the queue holds at most this many waiting.
const MAX_JOBS_PER_COMMIT: usize = 64;
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);

pub enum WriteJob {
    Batch {
        ops: Vec<PreparedOp>,
        identity: IdentityWrite,
        audit: Option<AuditRecord>,
        receipt: Option<crate::Receipt>,
        /// Run once the operations are applied, with the parameters to prepare what it writes.
        then: Option<(crate::AfterWrite, Arc<crate::query::ParamIds>)>,
        reply: oneshot::Sender<Result<Vec<WriteOutcome>, StoreError>>,
    },
    Audit {
        record: AuditRecord,
        reply: oneshot::Sender<Result<ChainedAuditEntry, StoreError>>,
    },
    Grant {
        change: GrantChange,
        audit: AuditRecord,
        reply: oneshot::Sender<Result<StoredGrant, StoreError>>,
    },
    SignIn {
        change: SignInChange,
        reply: oneshot::Sender<Result<SignInOutcome, StoreError>>,
    },
    Subscriptions {
        change: crate::SubscriptionChange,
        reply: oneshot::Sender<Result<crate::SubscriptionOutcome, StoreError>>,
    },
    Purge {
        ods_code: String,
        after_key: i64,
        limit: usize,
        reply: oneshot::Sender<Result<crate::PurgeStep, StoreError>>,
    },
}

/// Starts the writer and checkpointer threads; the writer stops when every sender is dropped.
///
/// Past `max_wal_bytes` the writer truncates the WAL itself: under a steady stream of writes a passive checkpoint never
/// catches up with the end of the WAL, so without this the WAL would grow without bound.
pub fn start(connection: Connection, path: PathBuf, max_wal_bytes: u64) -> Result<SyncSender<WriteJob>, StoreError> {
    // The syncer makes each commit durable before it is answered (see the module's comment).
    connection.execute_batch(&format!(
        "PRAGMA wal_autocheckpoint = 0; PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = {max_wal_bytes}"
    ))?;
    let (sender, receiver) = std::sync::mpsc::sync_channel(MAX_JOBS_PER_COMMIT);
    let (committed_sender, committed_receiver) = std::sync::mpsc::channel::<Vec<Done>>();
    let syncer_path = path.clone();
    std::thread::Builder::new()
        .name("kmcr-sqlite-sync".into())
        .spawn(move || syncer_loop(&syncer_path, committed_receiver))
        .map_err(|error| StoreError::Unavailable(format!("cannot start the syncer: {error}")))?;
    let stopped = Arc::new(AtomicBool::new(false));
    let checkpoint_connection = super::open_connection(&path, false)?;
    let writer_stopped = stopped.clone();
    let path_for_writer = path.clone();
    std::thread::Builder::new()
        .name("kmcr-sqlite-writer".into())
        .spawn(move || {
            writer_loop(connection, receiver, committed_sender, path_for_writer, max_wal_bytes);
            writer_stopped.store(true, Ordering::SeqCst);
        })
        .map_err(|error| StoreError::Unavailable(format!("cannot start the writer: {error}")))?;
    std::thread::Builder::new()
        .name("kmcr-sqlite-checkpoint".into())
        .spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                std::thread::sleep(CHECKPOINT_INTERVAL);
                if let Err(error) = checkpoint_connection.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(%error, "WAL checkpoint failed");
                }
            }
            let _ = checkpoint_connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        })
        .map_err(|error| StoreError::Unavailable(format!("cannot start the checkpointer: {error}")))?;
    Ok(sender)
}

fn writer_loop(
    mut connection: Connection,
    receiver: Receiver<WriteJob>,
    committed: Sender<Vec<Done>>,
    path: PathBuf,
    max_wal_bytes: u64,
) {
    let wal_path = wal_path(&path);
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_JOBS_PER_COMMIT {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if let Some(answers) = commit_group(&mut connection, jobs)
            && let Err(unsent) = committed.send(answers)
        {
            // The syncer has stopped (it only stops when this sender is dropped, so this is not expected).
            fail_all(unsent.0, StoreError::Unavailable("the syncer has stopped".into()));
        }
        let wal_bytes = std::fs::metadata(&wal_path).map_or(0, |metadata| metadata.len());
        if wal_bytes > max_wal_bytes {
            // Most frames are already copied by the background checkpointer; this copies the rest and starts the WAL
            // again from its beginning. The file keeps its size (`journal_size_limit`), so that the next frames
            // overwrite blocks already on disk rather than the file system allocating them afresh.
            if let Err(error) = connection.execute_batch("PRAGMA wal_checkpoint(RESTART)") {
                tracing::warn!(%error, wal_bytes, "WAL truncation failed");
            }
        }
    }
}

// One per job, alive from its savepoint to its answer: boxing the larger variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Done {
    Batch(oneshot::Sender<Result<Vec<WriteOutcome>, StoreError>>, Result<Vec<WriteOutcome>, StoreError>),
    Audit(oneshot::Sender<Result<ChainedAuditEntry, StoreError>>, Result<ChainedAuditEntry, StoreError>),
    Grant(oneshot::Sender<Result<StoredGrant, StoreError>>, Result<StoredGrant, StoreError>),
    SignIn(oneshot::Sender<Result<SignInOutcome, StoreError>>, Result<SignInOutcome, StoreError>),
    Subscriptions(
        oneshot::Sender<Result<crate::SubscriptionOutcome, StoreError>>,
        Result<crate::SubscriptionOutcome, StoreError>,
    ),
    Purge(oneshot::Sender<Result<crate::PurgeStep, StoreError>>, Result<crate::PurgeStep, StoreError>),
}

fn wal_path(database_path: &Path) -> PathBuf {
    let mut wal_path = database_path.as_os_str().to_owned();
    wal_path.push("-wal");
    PathBuf::from(wal_path)
}

/// Runs the jobs in one transaction and commits it; the answers, to be sent once the commit is on disk. A group that
/// could not be committed is answered with the error at once (`None`).
fn commit_group(connection: &mut Connection, jobs: Vec<WriteJob>) -> Option<Vec<Done>> {
    if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
        let error = StoreError::from(error);
        for job in jobs {
            reply_error(job, error.clone());
        }
        return None;
    }
    let mut done = Vec::with_capacity(jobs.len());
    for job in jobs {
        done.push(run_in_savepoint(connection, job));
    }
    match connection.execute_batch("COMMIT") {
        Ok(()) => Some(done),
        Err(error) => {
            let _ = connection.execute_batch("ROLLBACK");
            fail_all(done, StoreError::from(error));
            None
        }
    }
}

/// Syncs the WAL for every group committed since the last sync, then answers them; stops when the writer stops.
fn syncer_loop(database_path: &Path, committed: Receiver<Vec<Done>>) {
    let wal_path = wal_path(database_path);
    while let Ok(first) = committed.recv() {
        let mut groups = vec![first];
        groups.extend(committed.try_iter());
        match sync_wal(&wal_path, database_path) {
            Ok(()) => {
                for finished in groups.into_iter().flatten() {
                    match finished {
                        Done::Batch(reply, result) => drop(reply.send(result)),
                        Done::Audit(reply, result) => drop(reply.send(result)),
                        Done::Grant(reply, result) => drop(reply.send(result)),
                        Done::SignIn(reply, result) => drop(reply.send(result)),
                        Done::Subscriptions(reply, result) => drop(reply.send(result)),
                        Done::Purge(reply, result) => drop(reply.send(result)),
                    }
                }
            }
            Err(error) => {
                // Committed but perhaps not on disk: not acknowledged, so the caller knows it may be lost.
                tracing::error!(%error, "the WAL could not be synced");
                let error = StoreError::Unavailable(format!("the write could not be made durable: {error}"));
                for group in groups {
                    fail_all(group, error.clone());
                }
            }
        }
    }
}

/// The WAL's data on disk. Opened afresh each time, as it is cheap beside the sync and the file may have been
/// truncated meanwhile; if it is gone, a checkpoint has copied it into the database, which is then synced as well.
fn sync_wal(wal_path: &Path, database_path: &Path) -> std::io::Result<()> {
    match std::fs::File::open(wal_path) {
        Ok(wal) => wal.sync_data(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => std::fs::File::open(database_path)?.sync_data(),
        Err(error) => Err(error),
    }
}

fn fail_all(done: Vec<Done>, error: StoreError) {
    for finished in done {
        match finished {
            Done::Batch(reply, _) => drop(reply.send(Err(error.clone()))),
            Done::Audit(reply, _) => drop(reply.send(Err(error.clone()))),
            Done::Grant(reply, _) => drop(reply.send(Err(error.clone()))),
            Done::SignIn(reply, _) => drop(reply.send(Err(error.clone()))),
            Done::Subscriptions(reply, _) => drop(reply.send(Err(error.clone()))),
            Done::Purge(reply, _) => drop(reply.send(Err(error.clone()))),
        }
    }
}

/// Runs one job; a failed job is rolled back to its savepoint and leaves the others untouched.
fn run_in_savepoint(connection: &Connection, job: WriteJob) -> Done {
    if let Err(error) = connection.execute_batch("SAVEPOINT job") {
        let error = StoreError::from(error);
        return match job {
            WriteJob::Batch { reply, .. } => Done::Batch(reply, Err(error)),
            WriteJob::Audit { reply, .. } => Done::Audit(reply, Err(error)),
            WriteJob::Grant { reply, .. } => Done::Grant(reply, Err(error)),
            WriteJob::SignIn { reply, .. } => Done::SignIn(reply, Err(error)),
            WriteJob::Subscriptions { reply, .. } => Done::Subscriptions(reply, Err(error)),
            WriteJob::Purge { reply, .. } => Done::Purge(reply, Err(error)),
        };
    }
    let (done, failed) = match job {
        WriteJob::Batch { ops, identity, audit, receipt, then, reply } => {
            let result = write::write_ops(connection, ops, identity, audit, receipt, then);
            let failed = result.is_err();
            (Done::Batch(reply, result), failed)
        }
        WriteJob::Audit { record, reply } => {
            let result = super::audit::append_audit(connection, record);
            let failed = result.is_err();
            (Done::Audit(reply, result), failed)
        }
        WriteJob::Grant { change, audit, reply } => {
            let result = super::access::write_grant(connection, change, audit).map(|(grant, _)| grant);
            let failed = result.is_err();
            (Done::Grant(reply, result), failed)
        }
        WriteJob::SignIn { change, reply } => {
            let result = super::sign_in::apply(connection, change);
            let failed = result.is_err();
            (Done::SignIn(reply, result), failed)
        }
        WriteJob::Subscriptions { change, reply } => {
            let result = super::subscriptions::apply(connection, change);
            let failed = result.is_err();
            (Done::Subscriptions(reply, result), failed)
        }
        WriteJob::Purge { ods_code, after_key, limit, reply } => {
            let result = super::organisations::purge_source(connection, &ods_code, after_key, limit);
            let failed = result.is_err();
            (Done::Purge(reply, result), failed)
        }
    };
    let end = if failed { "ROLLBACK TO job; RELEASE job" } else { "RELEASE job" };
    if let Err(error) = connection.execute_batch(end) {
        tracing::error!(%error, "savepoint could not be closed");
    }
    done
}

fn reply_error(job: WriteJob, error: StoreError) {
    match job {
        WriteJob::Batch { reply, .. } => drop(reply.send(Err(error))),
        WriteJob::Audit { reply, .. } => drop(reply.send(Err(error))),
        WriteJob::Grant { reply, .. } => drop(reply.send(Err(error))),
        WriteJob::SignIn { reply, .. } => drop(reply.send(Err(error))),
        WriteJob::Subscriptions { reply, .. } => drop(reply.send(Err(error))),
        WriteJob::Purge { reply, .. } => drop(reply.send(Err(error))),
    }
}
