//! PostgreSQL: what the access decision reads about a person, and the grants table.

use std::collections::HashMap;

use kmcr_audit::AuditRecord;
use tokio_postgres::Transaction;

use super::{bind, kept_statement};
use crate::GrantFilter;
use crate::access::{self, PersonRow};
use crate::query::{Dialect, ParamIds, SqlBuilder};
use crate::{GrantChange, PersonRecordFacts, StoreError, StoredGrant};

pub async fn person_record_facts(
    client: &deadpool_postgres::Object,
    params: &ParamIds,
    patient_ids: &[String],
    now_ms: i64,
) -> Result<PersonRecordFacts, StoreError> {
    if patient_ids.is_empty() {
        return Ok(PersonRecordFacts::default());
    }
    let ids: Vec<&str> = patient_ids.iter().map(String::as_str).collect();
    let rows: Vec<PersonRow> = query(client, &access::compile_person_rows(Dialect::Postgres, &ids))
        .await?
        .iter()
        .map(|row| PersonRow {
            resource_key: row.get(0),
            resource_type: row.get(1),
            source: row.get(2),
            sensitivity: row.get(3),
            resource_id: row.get(4),
            patient_key: row.get(5),
        })
        .collect();
    let contact_keys = access::contact_keys(&rows);
    let mut periods = HashMap::new();
    if !contact_keys.is_empty() {
        let builder = access::compile_contact_periods(Dialect::Postgres, params, &contact_keys);
        for row in query(client, &builder).await? {
            periods.insert(row.get::<_, i64>(0), (row.get::<_, Option<i64>>(1), row.get::<_, Option<i64>>(2)));
        }
    }
    let referring_keys = access::referring_keys(&rows);
    let referenced: Vec<(i64, String)> = if referring_keys.is_empty() {
        Vec::new()
    } else {
        let builder = access::compile_referenced_organisations(Dialect::Postgres, params, &referring_keys);
        query(client, &builder).await?.iter().map(|row| (row.get(0), row.get(1))).collect()
    };
    let consent_keys = access::consent_keys(&rows);
    let consents: Vec<(String, String)> = if consent_keys.is_empty() {
        Vec::new()
    } else {
        let builder = access::compile_bodies(Dialect::Postgres, &consent_keys);
        query(client, &builder)
            .await?
            .iter()
            .map(|row| (row.get(0), row.get::<_, Option<String>>(1).unwrap_or_default()))
            .collect()
    };
    let builder = access::compile_grants_of(Dialect::Postgres, &ids, now_ms);
    let grants = query(client, &builder).await?.iter().map(grant_from_row).collect();
    Ok(access::assemble_facts(&rows, &periods, &referenced, consents, grants))
}

pub async fn grants(
    client: &deadpool_postgres::Object,
    filter: &GrantFilter,
    after_grant_id: i64,
    limit: usize,
) -> Result<Vec<StoredGrant>, StoreError> {
    let builder = access::compile_grants(Dialect::Postgres, filter, after_grant_id, limit);
    Ok(query(client, &builder).await?.iter().map(grant_from_row).collect())
}

/// Applies a grant change in the caller's transaction (which appends its audit entry).
pub async fn write_grant(
    transaction: &Transaction<'_>,
    change: GrantChange,
    audit: &AuditRecord,
) -> Result<StoredGrant, StoreError> {
    let row = match change {
        GrantChange::Create(grant) => {
            transaction
                .query_one(
                    &format!(
                        "INSERT INTO access_grant (kind, user_id, role_profile_id, ods_code, patient_id, reason, \
                         from_ms, to_ms, review_status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {}",
                        access::GRANT_COLUMNS
                    ),
                    &[
                        &grant.kind,
                        &grant.user_id,
                        &grant.role_profile_id,
                        &grant.ods_code,
                        &grant.patient_id,
                        &grant.reason,
                        &grant.from_ms,
                        &grant.to_ms,
                        &grant.review_status,
                    ],
                )
                .await?
        }
        GrantChange::Review(review) => transaction
            .query_opt(
                &format!(
                    "UPDATE access_grant SET review_status = 'reviewed', reviewed_by = $2, review_outcome = $3, \
                     review_note = $4, reviewed_ms = $5 WHERE grant_id = $1 AND review_status = 'open' AND \
                     ($6::text IS NULL OR ods_code = $6) RETURNING {}",
                    access::GRANT_COLUMNS
                ),
                &[
                    &review.grant_id,
                    &review.reviewed_by,
                    &review.outcome,
                    &review.note,
                    &audit.recorded_unix_ms,
                    &review.within_ods_code,
                ],
            )
            .await?
            .ok_or(StoreError::GrantNotOpen(review.grant_id))?,
    };
    Ok(grant_from_row(&row))
}

fn grant_from_row(row: &tokio_postgres::Row) -> StoredGrant {
    StoredGrant {
        grant_id: row.get(0),
        kind: row.get(1),
        user_id: row.get(2),
        role_profile_id: row.get(3),
        ods_code: row.get(4),
        patient_id: row.get(5),
        reason: row.get(6),
        from_ms: row.get(7),
        to_ms: row.get(8),
        review_status: row.get(9),
        reviewed_by: row.get(10),
        review_outcome: row.get(11),
        review_note: row.get(12),
        reviewed_ms: row.get(13),
    }
}

async fn query(
    client: &deadpool_postgres::Object,
    builder: &SqlBuilder,
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    let statement = kept_statement(client, &builder.sql).await?;
    Ok(client.query(&statement, &bind(&builder.values)).await?)
}
