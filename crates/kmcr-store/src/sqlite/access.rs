//! SQLite: what the access decision reads about a person, and the grants table.

use std::collections::HashMap;

use kmcr_audit::{AuditRecord, ChainedAuditEntry};
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::to_sql;
use crate::access::{self, PersonRow};
use crate::query::{Dialect, ParamIds, SqlBuilder};
use crate::{GrantChange, GrantFilter, PersonRecordFacts, StoreError, StoredGrant};

pub fn person_record_facts(
    connection: &Connection,
    params: &ParamIds,
    patient_ids: &[String],
    now_ms: i64,
) -> Result<PersonRecordFacts, StoreError> {
    if patient_ids.is_empty() {
        return Ok(PersonRecordFacts::default());
    }
    let ids: Vec<&str> = patient_ids.iter().map(String::as_str).collect();
    let builder = access::compile_person_rows(Dialect::Sqlite, &ids);
    let rows: Vec<PersonRow> = query(connection, &builder, |row| {
        Ok(PersonRow {
            resource_key: row.get(0)?,
            resource_type: row.get(1)?,
            source: row.get(2)?,
            sensitivity: row.get(3)?,
            resource_id: row.get(4)?,
            patient_key: row.get(5)?,
        })
    })?;
    let contact_keys = access::contact_keys(&rows);
    let mut periods = HashMap::new();
    if !contact_keys.is_empty() {
        let builder = access::compile_contact_periods(Dialect::Sqlite, params, &contact_keys);
        for (key, start, end) in query(connection, &builder, |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))? {
            periods.insert(key, (start, end));
        }
    }
    let referring_keys = access::referring_keys(&rows);
    let referenced = if referring_keys.is_empty() {
        Vec::new()
    } else {
        let builder = access::compile_referenced_organisations(Dialect::Sqlite, params, &referring_keys);
        query(connection, &builder, |row| Ok((row.get(0)?, row.get(1)?)))?
    };
    let consent_keys = access::consent_keys(&rows);
    let consents = if consent_keys.is_empty() {
        Vec::new()
    } else {
        let builder = access::compile_bodies(Dialect::Sqlite, &consent_keys);
        query(connection, &builder, |row| Ok((row.get(0)?, row.get::<_, Option<String>>(1)?.unwrap_or_default())))?
    };
    let builder = access::compile_grants_of(Dialect::Sqlite, &ids, now_ms);
    let grants = query(connection, &builder, grant_from_row)?;
    Ok(access::assemble_facts(&rows, &periods, &referenced, consents, grants))
}

pub fn grants(
    connection: &Connection,
    filter: &GrantFilter,
    after_grant_id: i64,
    limit: usize,
) -> Result<Vec<StoredGrant>, StoreError> {
    let builder = access::compile_grants(Dialect::Sqlite, filter, after_grant_id, limit);
    query(connection, &builder, grant_from_row)
}

/// Applies a grant change and its audit entry in the writer's transaction.
pub fn write_grant(
    transaction: &Connection,
    change: GrantChange,
    audit: AuditRecord,
) -> Result<(StoredGrant, ChainedAuditEntry), StoreError> {
    let grant_id = match change {
        GrantChange::Create(grant) => {
            transaction
                .prepare_cached(
                    "INSERT INTO access_grant (kind, user_id, role_profile_id, ods_code, patient_id, reason, from_ms, \
                     to_ms, review_status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute((
                    &grant.kind,
                    &grant.user_id,
                    &grant.role_profile_id,
                    &grant.ods_code,
                    &grant.patient_id,
                    &grant.reason,
                    grant.from_ms,
                    grant.to_ms,
                    &grant.review_status,
                ))?;
            transaction.last_insert_rowid()
        }
        GrantChange::Review(review) => {
            let changed = transaction
                .prepare_cached(
                    "UPDATE access_grant SET review_status = 'reviewed', reviewed_by = ?2, review_outcome = ?3, \
                     review_note = ?4, reviewed_ms = ?5 WHERE grant_id = ?1 AND review_status = 'open' AND \
                     (?6 IS NULL OR ods_code = ?6)",
                )?
                .execute((
                    review.grant_id,
                    &review.reviewed_by,
                    &review.outcome,
                    &review.note,
                    audit.recorded_unix_ms,
                    &review.within_ods_code,
                ))?;
            if changed == 0 {
                return Err(StoreError::GrantNotOpen(review.grant_id));
            }
            review.grant_id
        }
    };
    let grant = transaction
        .prepare_cached(&format!("SELECT {} FROM access_grant WHERE grant_id = ?1", access::GRANT_COLUMNS))?
        .query_row([grant_id], grant_from_row)
        .optional()?
        .ok_or_else(|| StoreError::Corrupt(format!("grant {grant_id} vanished in its own transaction")))?;
    let entry = super::audit::append_audit(transaction, audit)?;
    Ok((grant, entry))
}

fn grant_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredGrant> {
    Ok(StoredGrant {
        grant_id: row.get(0)?,
        kind: row.get(1)?,
        user_id: row.get(2)?,
        role_profile_id: row.get(3)?,
        ods_code: row.get(4)?,
        patient_id: row.get(5)?,
        reason: row.get(6)?,
        from_ms: row.get(7)?,
        to_ms: row.get(8)?,
        review_status: row.get(9)?,
        reviewed_by: row.get(10)?,
        review_outcome: row.get(11)?,
        review_note: row.get(12)?,
        reviewed_ms: row.get(13)?,
    })
}

fn query<T>(
    connection: &Connection,
    builder: &SqlBuilder,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection.prepare_cached(&builder.sql)?;
    let rows = statement.query_map(params_from_iter(builder.values.iter().map(to_sql)), map)?;
    Ok(rows.collect::<Result<Vec<T>, _>>()?)
}
