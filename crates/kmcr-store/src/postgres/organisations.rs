//! PostgreSQL: organisations that left the agreement, and purges (`crate::organisations`).

use tokio_postgres::GenericClient;

use crate::organisations::{DEPARTURE_COLUMNS, Departure, PurgeStep};
use crate::write_rows::INDEX_TABLES;
use crate::{Receipt, StoreError};

pub async fn record(client: &impl GenericClient, receipt: Receipt) -> Result<(), StoreError> {
    match receipt {
        Receipt::OrganisationLeft { ods_code, recorded_by, left_ms } => {
            client
                .execute(
                    &format!(
                        "INSERT INTO organisation_departure ({DEPARTURE_COLUMNS}) VALUES ($1, $2, $3, NULL) ON \
                         CONFLICT (ods_code) DO NOTHING"
                    ),
                    &[&ods_code, &left_ms, &recorded_by],
                )
                .await?;
        }
        Receipt::OrganisationPurged { ods_code, purged_ms, patient_ids } => {
            client
                .execute(
                    "UPDATE organisation_departure SET purged_ms = $2 WHERE ods_code = $1",
                    &[&ods_code, &purged_ms],
                )
                .await?;
            client.execute("DELETE FROM feed_message WHERE ods_code = $1", &[&ods_code]).await?;
            client
                .execute(
                    "DELETE FROM bulk_load_refusal WHERE job_id IN (SELECT job_id FROM bulk_load WHERE ods_code = $1)",
                    &[&ods_code],
                )
                .await?;
            client.execute("DELETE FROM bulk_load WHERE ods_code = $1", &[&ods_code]).await?;
            client
                .execute(
                    "DELETE FROM mpi_review WHERE first_patient_id = ANY($1) OR second_patient_id = ANY($1)",
                    &[&patient_ids],
                )
                .await?;
        }
        _ => unreachable!("other receipts are recorded elsewhere"),
    }
    Ok(())
}

pub async fn departures(client: &impl GenericClient) -> Result<Vec<Departure>, StoreError> {
    let rows =
        client.query(&format!("SELECT {DEPARTURE_COLUMNS} FROM organisation_departure ORDER BY ods_code"), &[]).await?;
    Ok(rows
        .iter()
        .map(|row| Departure {
            ods_code: row.get(0),
            left_ms: row.get(1),
            recorded_by: row.get(2),
            purged_ms: row.get(3),
        })
        .collect())
}

pub async fn patient_ids_sent_by(client: &impl GenericClient, ods_code: &str) -> Result<Vec<String>, StoreError> {
    let rows = client
        .query(
            "SELECT resource_id FROM resource WHERE resource_type = 'Patient' AND source_ods_code = $1 AND version_id > 0",
            &[&ods_code],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// One step of a purge, in one transaction.
pub async fn purge_source(
    client: &mut deadpool_postgres::Object,
    ods_code: &str,
    after_key: i64,
    limit: usize,
) -> Result<PurgeStep, StoreError> {
    let transaction = client.transaction().await?;
    let rows = transaction
        .query(
            "SELECT resource_key, resource_type, resource_id FROM resource WHERE resource_key > $1 AND \
             source_ods_code = $2 AND version_id > 0 ORDER BY resource_key LIMIT $3 FOR UPDATE",
            &[&after_key, &ods_code, &(limit as i64)],
        )
        .await?;
    let keys: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
    let patient_ids: Vec<String> =
        rows.iter().filter(|row| row.get::<_, &str>(1) == "Patient").map(|row| row.get(2)).collect();
    transaction
        .execute(
            "DELETE FROM mpi_review WHERE first_patient_id = ANY($1) OR second_patient_id = ANY($1)",
            &[&patient_ids],
        )
        .await?;
    for table in INDEX_TABLES {
        transaction.execute(&format!("DELETE FROM {table} WHERE resource_key = ANY($1)"), &[&keys]).await?;
    }
    let versions = transaction.execute("DELETE FROM resource_version WHERE resource_key = ANY($1)", &[&keys]).await?;
    transaction
        .execute(
            "UPDATE resource SET version_id = 0, deleted = false, source_ods_code = NULL, patient_key = NULL, \
             sensitivity = 0 WHERE resource_key = ANY($1)",
            &[&keys],
        )
        .await?;
    transaction.commit().await?;
    let last_key = keys.last().copied().unwrap_or(after_key);
    Ok(PurgeStep { resources: keys.len() as u64, versions, last_key })
}
