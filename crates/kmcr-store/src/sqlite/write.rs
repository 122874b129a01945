//! The SQLite write path: one transaction per batch, prepared statements, keys resolved once per batch.

use std::collections::HashMap;

use kmcr_audit::AuditRecord;
use kmcr_fhir::{Instant, ResourceType};
use rusqlite::{Connection, OptionalExtension};

use crate::write_rows::{INDEX_TABLES, IndexRow, PreparedAction, PreparedOp};
use crate::{IdentityWrite, Precondition, StoreError, WriteOutcome};

/// Keys looked up or created during one batch.
pub(super) type KeyCache = HashMap<(ResourceType, String), i64>;

struct Current {
    resource_key: i64,
    version_id: i64,
    deleted: bool,
    source_ods_code: Option<String>,
    event_state: Option<String>,
}

/// Applies one batch inside the caller's transaction (a savepoint of the writer's group commit).
pub fn write_ops(
    connection: &Connection,
    ops: Vec<PreparedOp>,
    identity: IdentityWrite,
    audit: Option<AuditRecord>,
    receipt: Option<crate::Receipt>,
    then: Option<(crate::AfterWrite, std::sync::Arc<crate::query::ParamIds>)>,
) -> Result<Vec<WriteOutcome>, StoreError> {
    let now = Instant::now();
    let mut keys = KeyCache::new();
    let mut outcomes = Vec::with_capacity(ops.len());
    // A bulk load brings history, not news: its items keep their event state but fire nothing.
    let fires_events = !matches!(receipt, Some(crate::Receipt::LoadProgress(_)));
    for op in ops {
        outcomes.push(apply(connection, &mut keys, op, now, fires_events)?);
    }
    let mut identity = identity;
    if let Some((then, params)) = then {
        let (placed, persons) = then(&outcomes);
        identity.append(placed);
        for op in crate::write_rows::prepare(&params, persons) {
            apply(connection, &mut keys, op, now, fires_events)?;
        }
    }
    if !identity.is_empty() {
        super::identity::apply(connection, identity, now)?;
    }
    if let Some(audit) = audit {
        super::audit::append_audit(connection, audit)?;
    }
    match receipt {
        None => {}
        Some(crate::Receipt::FeedMessage(receipt)) => super::feeds::insert(connection, &receipt)?,
        Some(receipt @ (crate::Receipt::OrganisationLeft { .. } | crate::Receipt::OrganisationPurged { .. })) => {
            super::organisations::record(connection, receipt)?
        }
        Some(receipt) => super::loads::record(connection, receipt)?,
    }
    Ok(outcomes)
}

fn apply(
    transaction: &Connection,
    keys: &mut KeyCache,
    op: PreparedOp,
    now: Instant,
    fires_events: bool,
) -> Result<WriteOutcome, StoreError> {
    let current = current_state(transaction, op.resource_type, op.id.as_str())?;
    let (existing_version, exists) = match &current {
        Some(current) => (current.version_id, current.version_id > 0 && !current.deleted),
        None => (0, false),
    };
    check_precondition(&op, existing_version, exists)?;
    let existing_source = current
        .as_ref()
        .filter(|current| current.version_id > 0)
        .and_then(|current| current.source_ods_code.as_deref());
    let verdict = kmcr_access::decide_write_by(&op.writer_ods_code, op.resource_type, existing_source);
    if !verdict.permitted {
        return Err(StoreError::NotOwner { resource_type: op.resource_type, id: op.id, reason: verdict.reason });
    }
    let unchanged = WriteOutcome {
        resource_type: op.resource_type,
        id: op.id.clone(),
        version_id: existing_version,
        last_updated: now,
        created: false,
        deleted: true,
        unchanged: true,
        json: None,
    };
    let resource_key = match &current {
        Some(current) => Some(current.resource_key),
        None if matches!(op.action, PreparedAction::Delete) => return Ok(unchanged),
        None => None,
    };
    let version_id = existing_version + 1;
    let had_index_rows = exists;
    match op.action {
        PreparedAction::Delete => {
            let Some(resource_key) = resource_key.filter(|_| exists) else { return Ok(unchanged) };
            insert_version(transaction, resource_key, version_id, now, true, op.writer_ods_code.as_str(), None, None)?;
            let row =
                ResourceRow { version_id, now, deleted: true, source: op.writer_ods_code.as_str(), event_state: None };
            update_resource(transaction, resource_key, &row, None)?;
            delete_index_rows(transaction, resource_key)?;
            Ok(WriteOutcome { version_id, deleted: true, unchanged: false, ..unchanged })
        }
        PreparedAction::Put { body, rows, owning_patient_id, sensitivity, events } => {
            // A Patient belongs to itself: its key is known only once its row exists.
            let owns_itself =
                op.resource_type == ResourceType::PATIENT && owning_patient_id.as_deref() == Some(op.id.as_str());
            let mut patient_key = match owning_patient_id {
                Some(_) if owns_itself => resource_key,
                Some(patient_id) => Some(resolve_key(transaction, keys, ResourceType::PATIENT, &patient_id)?),
                None => None,
            };
            let json = body.render(version_id, now);
            let source = op.writer_ods_code.as_str();
            // The topics this version fires, and the state kept for the next, written with the resource's row.
            // A placeholder (only referenced so far) has no state: its first version is news.
            let previous_state = current
                .as_ref()
                .filter(|current| current.version_id > 0)
                .and_then(|current| current.event_state.as_deref());
            let (state, fired) = crate::subscriptions::fire(previous_state, &events);
            let row = ResourceRow { version_id, now, deleted: false, source, event_state: state.as_deref() };
            // A resource never seen gets its row in one insert; one seen before (or referenced) is updated.
            let resource_key = match resource_key {
                Some(resource_key) => {
                    update_resource(transaction, resource_key, &row, patient_key)?;
                    resource_key
                }
                None => {
                    let resource_key =
                        insert_resource(transaction, op.resource_type, op.id.as_str(), &row, patient_key)?;
                    if owns_itself {
                        patient_key = Some(resource_key);
                        set_patient_key(transaction, resource_key)?;
                    }
                    resource_key
                }
            };
            keys.insert((op.resource_type, op.id.as_str().to_string()), resource_key);
            if sensitivity != 0 {
                // Sealed once, sealed in every version: the union is kept.
                transaction
                    .prepare_cached("UPDATE resource SET sensitivity = sensitivity | ?2 WHERE resource_key = ?1")?
                    .execute((resource_key, sensitivity))?;
            }
            insert_version(transaction, resource_key, version_id, now, false, source, patient_key, Some(&json))?;
            if fires_events {
                for topic in fired {
                    transaction
                        .prepare_cached(
                            "INSERT INTO event_outbox (topic, resource_key, version_id, recorded_ms) VALUES (?1, ?2, \
                             ?3, ?4)",
                        )?
                        .execute((topic.code(), resource_key, version_id, now.unix_ms))?;
                }
            }
            if had_index_rows {
                delete_index_rows(transaction, resource_key)?;
            }
            insert_index_rows(transaction, keys, resource_key, patient_key, rows)?;
            Ok(WriteOutcome {
                resource_type: op.resource_type,
                id: op.id,
                version_id,
                last_updated: now,
                created: !exists,
                deleted: false,
                unchanged: false,
                json: Some(json),
            })
        }
    }
}

fn check_precondition(op: &PreparedOp, existing_version: i64, exists: bool) -> Result<(), StoreError> {
    match op.precondition {
        Precondition::None => Ok(()),
        Precondition::MustNotExist if existing_version > 0 => {
            Err(StoreError::AlreadyExists { resource_type: op.resource_type, id: op.id.clone() })
        }
        Precondition::MustNotExist => Ok(()),
        Precondition::VersionIs(expected) if expected == existing_version && (exists || expected == 0) => Ok(()),
        Precondition::VersionIs(expected) => Err(StoreError::VersionConflict {
            resource_type: op.resource_type,
            id: op.id.clone(),
            expected,
            actual: existing_version,
        }),
    }
}

fn current_state(
    transaction: &Connection,
    resource_type: ResourceType,
    id: &str,
) -> Result<Option<Current>, StoreError> {
    let mut statement = transaction.prepare_cached(
        "SELECT resource_key, version_id, deleted, source_ods_code, event_state FROM resource WHERE resource_type = ?1 \
         AND resource_id = ?2",
    )?;
    Ok(statement
        .query_row((resource_type.as_str(), id), |row| {
            Ok(Current {
                resource_key: row.get(0)?,
                version_id: row.get(1)?,
                deleted: row.get(2)?,
                source_ods_code: row.get(3)?,
                event_state: row.get(4)?,
            })
        })
        .optional()?)
}

/// What a write sets in a resource's row.
struct ResourceRow<'a> {
    version_id: i64,
    now: Instant,
    deleted: bool,
    source: &'a str,
    /// The topics' tokens that hold for this version (`kmcr_events::EventState`).
    event_state: Option<&'a str>,
}

fn insert_placeholder(transaction: &Connection, resource_type: ResourceType, id: &str) -> Result<i64, StoreError> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO resource (resource_type, resource_id, version_id, last_updated_ms, deleted, event_state) VALUES (?1, \
         ?2, 0, 0, 0, NULL)",
    )?;
    statement.execute((resource_type.as_str(), id))?;
    Ok(transaction.last_insert_rowid())
}

fn insert_resource(
    transaction: &Connection,
    resource_type: ResourceType,
    id: &str,
    row: &ResourceRow<'_>,
    patient_key: Option<i64>,
) -> Result<i64, StoreError> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO resource (resource_type, resource_id, version_id, last_updated_ms, deleted, source_ods_code, \
         patient_key, event_state) VALUES (?1, ?2, 1, ?3, 0, ?4, ?5, ?6)",
    )?;
    statement.execute((resource_type.as_str(), id, row.now.unix_ms, row.source, patient_key, row.event_state))?;
    Ok(transaction.last_insert_rowid())
}

fn set_patient_key(transaction: &Connection, resource_key: i64) -> Result<(), StoreError> {
    let mut statement = transaction.prepare_cached("UPDATE resource SET patient_key = ?1 WHERE resource_key = ?1")?;
    statement.execute([resource_key])?;
    Ok(())
}

/// The key of a referenced resource, creating a placeholder when it has not been stored yet.
fn resolve_key(
    transaction: &Connection,
    keys: &mut KeyCache,
    resource_type: ResourceType,
    id: &str,
) -> Result<i64, StoreError> {
    if let Some(key) = keys.get(&(resource_type, id.to_string())) {
        return Ok(*key);
    }
    let mut statement = transaction
        .prepare_cached("SELECT resource_key FROM resource WHERE resource_type = ?1 AND resource_id = ?2")?;
    let key = match statement.query_row((resource_type.as_str(), id), |row| row.get(0)).optional()? {
        Some(key) => key,
        None => insert_placeholder(transaction, resource_type, id)?,
    };
    keys.insert((resource_type, id.to_string()), key);
    Ok(key)
}

#[allow(clippy::too_many_arguments)]
fn insert_version(
    transaction: &Connection,
    resource_key: i64,
    version_id: i64,
    now: Instant,
    deleted: bool,
    source: &str,
    patient_key: Option<i64>,
    json: Option<&str>,
) -> Result<(), StoreError> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO resource_version (resource_key, version_id, last_updated_ms, deleted, source_ods_code, \
         patient_key, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    statement.execute((resource_key, version_id, now.unix_ms, deleted, source, patient_key, json))?;
    Ok(())
}

fn update_resource(
    transaction: &Connection,
    resource_key: i64,
    row: &ResourceRow<'_>,
    patient_key: Option<i64>,
) -> Result<(), StoreError> {
    let mut statement = transaction.prepare_cached(
        "UPDATE resource SET version_id = ?2, last_updated_ms = ?3, deleted = ?4, source_ods_code = ?5, \
         patient_key = COALESCE(?6, patient_key), event_state = ?7 WHERE resource_key = ?1",
    )?;
    statement.execute((
        resource_key,
        row.version_id,
        row.now.unix_ms,
        row.deleted,
        row.source,
        patient_key,
        row.event_state,
    ))?;
    Ok(())
}

pub(super) fn delete_index_rows(transaction: &Connection, resource_key: i64) -> Result<(), StoreError> {
    for table in INDEX_TABLES {
        let mut statement = transaction.prepare_cached(&format!("DELETE FROM {table} WHERE resource_key = ?1"))?;
        statement.execute([resource_key])?;
    }
    Ok(())
}

pub(super) fn insert_index_rows(
    transaction: &Connection,
    keys: &mut KeyCache,
    resource_key: i64,
    patient_key: Option<i64>,
    rows: Vec<IndexRow>,
) -> Result<(), StoreError> {
    for (ordinal, row) in rows.into_iter().enumerate() {
        let ordinal = ordinal as i64;
        match row {
            IndexRow::Token { param_id, system, code, display_text } => transaction
                .prepare_cached(
                    "INSERT INTO idx_token (resource_key, param_id, ordinal, system, code, display_text, patient_key) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute((resource_key, param_id, ordinal, system, code, display_text, patient_key))?,
            IndexRow::String { param_id, normalized, exact } => transaction
                .prepare_cached(
                    "INSERT INTO idx_string (resource_key, param_id, ordinal, normalized, exact, patient_key) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute((resource_key, param_id, ordinal, normalized, exact, patient_key))?,
            IndexRow::Date { param_id, low_ms, high_ms } => transaction
                .prepare_cached(
                    "INSERT INTO idx_date (resource_key, param_id, ordinal, low_ms, high_ms, patient_key) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute((resource_key, param_id, ordinal, low_ms, high_ms, patient_key))?,
            IndexRow::Reference { param_id, target, url } => {
                let target_key = match target {
                    Some((target_type, target_id)) => Some(resolve_key(transaction, keys, target_type, &target_id)?),
                    None => None,
                };
                transaction
                    .prepare_cached(
                        "INSERT INTO idx_reference (resource_key, param_id, ordinal, target_key, url, patient_key) VALUES \
                         (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute((resource_key, param_id, ordinal, target_key, url, patient_key))?
            }
            IndexRow::Quantity { param_id, value, system, code } => transaction
                .prepare_cached(
                    "INSERT INTO idx_quantity (resource_key, param_id, ordinal, value, system, code, patient_key) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute((resource_key, param_id, ordinal, value, system, code, patient_key))?,
            IndexRow::Number { param_id, value } => transaction
                .prepare_cached(
                    "INSERT INTO idx_number (resource_key, param_id, ordinal, value, patient_key) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute((resource_key, param_id, ordinal, value, patient_key))?,
            IndexRow::Uri { param_id, uri } => transaction
                .prepare_cached(
                    "INSERT INTO idx_uri (resource_key, param_id, ordinal, uri, patient_key) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute((resource_key, param_id, ordinal, uri, patient_key))?,
        };
    }
    Ok(())
}
