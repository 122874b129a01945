//! SQLite: bulk load jobs (`crate::loads`).

use rusqlite::{Connection, OptionalExtension};

use crate::loads::{LOAD_COLUMNS, LineRefusal, LoadJob, LoadStatus};
use crate::{Receipt, StoreError};

/// Records a job's start (once: starting it again changes nothing), progress or end, in the caller's transaction.
pub fn record(transaction: &Connection, receipt: Receipt) -> Result<(), StoreError> {
    match receipt {
        Receipt::FeedMessage(_) | Receipt::OrganisationLeft { .. } | Receipt::OrganisationPurged { .. } => {
            unreachable!("recorded by sqlite::feeds and sqlite::organisations")
        }
        Receipt::LoadStarted(job) => {
            transaction
                .prepare_cached(&format!(
                    "INSERT INTO bulk_load ({LOAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?5, NULL, 0, 0, 0) ON \
                     CONFLICT (job_id) DO NOTHING"
                ))?
                .execute((&job.job_id, &job.ods_code, &job.client_id, &job.source, job.started_ms))?;
        }
        Receipt::LoadProgress(checkpoint) => {
            let changed = transaction
                .prepare_cached(
                    "UPDATE bulk_load SET lines_done = ?2, loaded = loaded + ?3, refused = refused + ?4, updated_ms \
                     = ?5 WHERE job_id = ?1 AND lines_done = ?6 AND finished_ms IS NULL",
                )?
                .execute((
                    &checkpoint.job_id,
                    checkpoint.lines_done,
                    checkpoint.loaded,
                    checkpoint.refusals.len() as i64,
                    checkpoint.recorded_ms,
                    checkpoint.previous_lines_done,
                ))?;
            if changed != 1 {
                return Err(StoreError::LoadContended(checkpoint.job_id));
            }
            let mut insert = transaction.prepare_cached(
                "INSERT INTO bulk_load_refusal (job_id, line, reason) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?;
            for refusal in &checkpoint.refusals {
                insert.execute((&checkpoint.job_id, refusal.line, &refusal.reason))?;
            }
        }
        Receipt::LoadFinished { job_id, finished_ms } => {
            transaction
                .prepare_cached(
                    "UPDATE bulk_load SET finished_ms = ?2, updated_ms = ?2 WHERE job_id = ?1 AND finished_ms IS NULL",
                )?
                .execute((&job_id, finished_ms))?;
        }
    }
    Ok(())
}

pub fn status(connection: &Connection, job_id: &str) -> Result<Option<LoadStatus>, StoreError> {
    Ok(connection
        .prepare_cached(&format!("SELECT {LOAD_COLUMNS} FROM bulk_load WHERE job_id = ?1"))?
        .query_row([job_id], row_to_status)
        .optional()?)
}

pub fn jobs(connection: &Connection, limit: usize) -> Result<Vec<LoadStatus>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!("SELECT {LOAD_COLUMNS} FROM bulk_load ORDER BY started_ms DESC, job_id LIMIT ?1"))?;
    let rows = statement.query_map([limit as i64], row_to_status)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn refusals(
    connection: &Connection,
    job_id: &str,
    after_line: i64,
    limit: usize,
) -> Result<Vec<LineRefusal>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT line, reason FROM bulk_load_refusal WHERE job_id = ?1 AND line > ?2 ORDER BY line LIMIT ?3",
    )?;
    let rows = statement.query_map((job_id, after_line, limit as i64), |row| {
        Ok(LineRefusal { line: row.get(0)?, reason: row.get(1)? })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn row_to_status(row: &rusqlite::Row<'_>) -> rusqlite::Result<LoadStatus> {
    Ok(LoadStatus {
        job: LoadJob {
            job_id: row.get(0)?,
            ods_code: row.get(1)?,
            client_id: row.get(2)?,
            source: row.get(3)?,
            started_ms: row.get(4)?,
        },
        updated_ms: row.get(5)?,
        finished_ms: row.get(6)?,
        lines_done: row.get(7)?,
        loaded: row.get(8)?,
        refused: row.get(9)?,
    })
}
