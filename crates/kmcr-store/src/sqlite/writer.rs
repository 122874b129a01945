//! The one SQLite writer: a thread that owns the write connection and commits in groups.
//!
//! Writes (and the audit entries of reads) queue here. The thread takes every job waiting, runs each in a savepoint
//! of one transaction (so each job is still all-or-nothing), commits once, and only then answers each job. One commit,
//! and one fsync, serves every concurrent request. A second thread checkpoints the WAL in the background so that the
//! writer never stops to copy pages back into the database.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Duration;

use kmcr_audit::{AuditRecord, ChainedAuditEntry};
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::write;
use crate::write_rows::PreparedOp;
use crate::{IdentityWrite, StoreError, WriteOutcome};

/// Jobs committed together at most; the queue holds at most this many waiting.
const MAX_JOBS_PER_COMMIT: usize = 64;
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);

pub enum WriteJob {
    Batch {
        ops: Vec<PreparedOp>,
        identity: IdentityWrite,
        audit: Option<AuditRecord>,
        reply: oneshot::Sender<Result<Vec<WriteOutcome>, StoreError>>,
    },
    Audit {
        record: AuditRecord,
        reply: oneshot::Sender<Result<ChainedAuditEntry, StoreError>>,
    },
}

/// Starts the writer and checkpointer threads; the writer stops when every sender is dropped.
///
/// Past `max_wal_bytes` the writer truncates the WAL itself: under a steady stream of writes a passive checkpoint never
/// catches up with the end of the WAL, so without this the WAL would grow without bound.
pub fn start(connection: Connection, path: PathBuf, max_wal_bytes: u64) -> Result<SyncSender<WriteJob>, StoreError> {
    connection.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
    let (sender, receiver) = std::sync::mpsc::sync_channel(MAX_JOBS_PER_COMMIT);
    let stopped = Arc::new(AtomicBool::new(false));
    let checkpoint_connection = super::open_connection(&path, false)?;
    let writer_stopped = stopped.clone();
    let path_for_writer = path.clone();
    std::thread::Builder::new()
        .name("kmcr-sqlite-writer".into())
        .spawn(move || {
            writer_loop(connection, receiver, path_for_writer, max_wal_bytes);
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

fn writer_loop(mut connection: Connection, receiver: Receiver<WriteJob>, path: PathBuf, max_wal_bytes: u64) {
    let mut wal_path = path.into_os_string();
    wal_path.push("-wal");
    let wal_path = PathBuf::from(wal_path);
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_JOBS_PER_COMMIT {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        commit_group(&mut connection, jobs);
        let wal_bytes = std::fs::metadata(&wal_path).map_or(0, |metadata| metadata.len());
        if wal_bytes > max_wal_bytes {
            // Most frames are already copied by the background checkpointer; this copies the rest and empties the WAL.
            if let Err(error) = connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
                tracing::warn!(%error, wal_bytes, "WAL truncation failed");
            }
        }
    }
}

enum Done {
    Batch(oneshot::Sender<Result<Vec<WriteOutcome>, StoreError>>, Result<Vec<WriteOutcome>, StoreError>),
    Audit(oneshot::Sender<Result<ChainedAuditEntry, StoreError>>, Result<ChainedAuditEntry, StoreError>),
}

fn commit_group(connection: &mut Connection, jobs: Vec<WriteJob>) {
    if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
        let error = StoreError::from(error);
        for job in jobs {
            reply_error(job, error.clone());
        }
        return;
    }
    let mut done = Vec::with_capacity(jobs.len());
    for job in jobs {
        done.push(run_in_savepoint(connection, job));
    }
    match connection.execute_batch("COMMIT") {
        Ok(()) => {
            for finished in done {
                match finished {
                    Done::Batch(reply, result) => drop(reply.send(result)),
                    Done::Audit(reply, result) => drop(reply.send(result)),
                }
            }
        }
        Err(error) => {
            let _ = connection.execute_batch("ROLLBACK");
            let error = StoreError::from(error);
            for finished in done {
                match finished {
                    Done::Batch(reply, _) => drop(reply.send(Err(error.clone()))),
                    Done::Audit(reply, _) => drop(reply.send(Err(error.clone()))),
                }
            }
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
        };
    }
    let (done, failed) = match job {
        WriteJob::Batch { ops, identity, audit, reply } => {
            let result = write::write_ops(connection, ops, identity, audit);
            let failed = result.is_err();
            (Done::Batch(reply, result), failed)
        }
        WriteJob::Audit { record, reply } => {
            let result = write::append_audit(connection, record);
            let failed = result.is_err();
            (Done::Audit(reply, result), failed)
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
    }
}
