//! SQLite: organisations that left the agreement, and purges (`crate::organisations`).

use rusqlite::Connection;

use crate::organisations::{DEPARTURE_COLUMNS, Departure, PurgeStep};
use crate::write_rows::INDEX_TABLES;
use crate::{Receipt, StoreError};

pub fn record(transaction: &Connection, receipt: Receipt) -> Result<(), StoreError> {
    match receipt {
        Receipt::OrganisationLeft { ods_code, recorded_by, left_ms } => {
            transaction
                .prepare_cached(&format!(
                    "INSERT INTO organisation_departure ({DEPARTURE_COLUMNS}) VALUES (?1, ?2, ?3, NULL) ON CONFLICT \
                     (ods_code) DO NOTHING"
                ))?
                .execute((&ods_code, left_ms, &recorded_by))?;
        }
        Receipt::OrganisationPurged { ods_code, purged_ms, patient_ids } => {
            transaction.execute(
                "UPDATE organisation_departure SET purged_ms = ?2 WHERE ods_code = ?1",
                (&ods_code, purged_ms),
            )?;
            transaction.execute("DELETE FROM feed_message WHERE ods_code = ?1", [&ods_code])?;
            transaction.execute(
                "DELETE FROM bulk_load_refusal WHERE job_id IN (SELECT job_id FROM bulk_load WHERE ods_code = ?1)",
                [&ods_code],
            )?;
            transaction.execute("DELETE FROM bulk_load WHERE ods_code = ?1", [&ods_code])?;
            let mut reviews = transaction
                .prepare_cached("DELETE FROM mpi_review WHERE first_patient_id = ?1 OR second_patient_id = ?1")?;
            for patient_id in &patient_ids {
                reviews.execute([patient_id])?;
            }
        }
        _ => unreachable!("other receipts are recorded elsewhere"),
    }
    Ok(())
}

pub fn departures(connection: &Connection) -> Result<Vec<Departure>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!("SELECT {DEPARTURE_COLUMNS} FROM organisation_departure ORDER BY ods_code"))?;
    let rows = statement.query_map([], |row| {
        Ok(Departure { ods_code: row.get(0)?, left_ms: row.get(1)?, recorded_by: row.get(2)?, purged_ms: row.get(3)? })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn patient_ids_sent_by(connection: &Connection, ods_code: &str) -> Result<Vec<String>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT resource_id FROM resource WHERE resource_type = 'Patient' AND source_ods_code = ?1 AND version_id > 0",
    )?;
    let rows = statement.query_map([ods_code], |row| row.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// One step of a purge, in the caller's transaction.
pub fn purge_source(
    transaction: &Connection,
    ods_code: &str,
    after_key: i64,
    limit: usize,
) -> Result<PurgeStep, StoreError> {
    let rows: Vec<(i64, String, String)> = transaction
        .prepare_cached(
            "SELECT resource_key, resource_type, resource_id FROM resource WHERE resource_key > ?1 AND source_ods_code \
             = ?2 AND version_id > 0 ORDER BY resource_key LIMIT ?3",
        )?
        .query_map((after_key, ods_code, limit as i64), |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let keys: Vec<i64> = rows.iter().map(|(key, _, _)| *key).collect();
    let last_key = keys.last().copied().unwrap_or(after_key);
    let mut step = PurgeStep { resources: keys.len() as u64, versions: 0, last_key };
    let mut reviews =
        transaction.prepare_cached("DELETE FROM mpi_review WHERE first_patient_id = ?1 OR second_patient_id = ?1")?;
    for (_, _, patient_id) in rows.iter().filter(|(_, resource_type, _)| resource_type == "Patient") {
        reviews.execute([patient_id])?;
    }
    for table in INDEX_TABLES {
        let mut delete = transaction.prepare_cached(&format!("DELETE FROM {table} WHERE resource_key = ?1"))?;
        for key in &keys {
            delete.execute([key])?;
        }
    }
    let mut versions = transaction.prepare_cached("DELETE FROM resource_version WHERE resource_key = ?1")?;
    let mut placeholder = transaction.prepare_cached(
        "UPDATE resource SET version_id = 0, deleted = 0, source_ods_code = NULL, patient_key = NULL, sensitivity = 0 \
         WHERE resource_key = ?1",
    )?;
    for key in &keys {
        step.versions += versions.execute([key])? as u64;
        placeholder.execute([key])?;
    }
    Ok(step)
}
