//! PostgreSQL: bulk load jobs (`crate::loads`).

use tokio_postgres::GenericClient;

use crate::loads::{LOAD_COLUMNS, LineRefusal, LoadJob, LoadStatus};
use crate::{Receipt, StoreError};

/// Records a job's start (once: starting it again changes nothing), progress or end, in the caller's transaction.
pub async fn record(client: &impl GenericClient, receipt: Receipt) -> Result<(), StoreError> {
    match receipt {
        Receipt::FeedMessage(_) | Receipt::OrganisationLeft { .. } | Receipt::OrganisationPurged { .. } => {
            unreachable!("recorded by postgres::feeds and postgres::organisations")
        }
        Receipt::LoadStarted(job) => {
            client
                .execute(
                    &format!(
                        "INSERT INTO bulk_load ({LOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $5, NULL, 0, 0, 0) ON \
                         CONFLICT (job_id) DO NOTHING"
                    ),
                    &[&job.job_id, &job.ods_code, &job.client_id, &job.source, &job.started_ms],
                )
                .await?;
        }
        Receipt::LoadProgress(checkpoint) => {
            let changed = client
                .execute(
                    "UPDATE bulk_load SET lines_done = $2, loaded = loaded + $3, refused = refused + $4, updated_ms = \
                     $5 WHERE job_id = $1 AND lines_done = $6 AND finished_ms IS NULL",
                    &[
                        &checkpoint.job_id,
                        &checkpoint.lines_done,
                        &checkpoint.loaded,
                        &(checkpoint.refusals.len() as i64),
                        &checkpoint.recorded_ms,
                        &checkpoint.previous_lines_done,
                    ],
                )
                .await?;
            if changed != 1 {
                return Err(StoreError::LoadContended(checkpoint.job_id));
            }
            if !checkpoint.refusals.is_empty() {
                let lines: Vec<i64> = checkpoint.refusals.iter().map(|refusal| refusal.line).collect();
                let reasons: Vec<&str> = checkpoint.refusals.iter().map(|refusal| refusal.reason.as_str()).collect();
                client
                    .execute(
                        "INSERT INTO bulk_load_refusal (job_id, line, reason) SELECT $1, u.line, u.reason FROM \
                         unnest($2::bigint[], $3::text[]) AS u(line, reason) ON CONFLICT DO NOTHING",
                        &[&checkpoint.job_id, &lines, &reasons],
                    )
                    .await?;
            }
        }
        Receipt::LoadFinished { job_id, finished_ms } => {
            client
                .execute(
                    "UPDATE bulk_load SET finished_ms = $2, updated_ms = $2 WHERE job_id = $1 AND finished_ms IS NULL",
                    &[&job_id, &finished_ms],
                )
                .await?;
        }
    }
    Ok(())
}

pub async fn status(client: &impl GenericClient, job_id: &str) -> Result<Option<LoadStatus>, StoreError> {
    let row = client.query_opt(&format!("SELECT {LOAD_COLUMNS} FROM bulk_load WHERE job_id = $1"), &[&job_id]).await?;
    Ok(row.as_ref().map(row_to_status))
}

pub async fn jobs(client: &impl GenericClient, limit: usize) -> Result<Vec<LoadStatus>, StoreError> {
    let rows = client
        .query(
            &format!("SELECT {LOAD_COLUMNS} FROM bulk_load ORDER BY started_ms DESC, job_id LIMIT $1"),
            &[&(limit as i64)],
        )
        .await?;
    Ok(rows.iter().map(row_to_status).collect())
}

pub async fn refusals(
    client: &impl GenericClient,
    job_id: &str,
    after_line: i64,
    limit: usize,
) -> Result<Vec<LineRefusal>, StoreError> {
    let rows = client
        .query(
            "SELECT line, reason FROM bulk_load_refusal WHERE job_id = $1 AND line > $2 ORDER BY line LIMIT $3",
            &[&job_id, &after_line, &(limit as i64)],
        )
        .await?;
    Ok(rows.iter().map(|row| LineRefusal { line: row.get(0), reason: row.get(1) }).collect())
}

fn row_to_status(row: &tokio_postgres::Row) -> LoadStatus {
    LoadStatus {
        job: LoadJob {
            job_id: row.get(0),
            ods_code: row.get(1),
            client_id: row.get(2),
            source: row.get(3),
            started_ms: row.get(4),
        },
        updated_ms: row.get(5),
        finished_ms: row.get(6),
        lines_done: row.get(7),
        loaded: row.get(8),
        refused: row.get(9),
    }
}
