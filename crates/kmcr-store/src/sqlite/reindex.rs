//! Index rows written again at open (see `crate::reindex`), on the writer's connection before the writer starts, so
//! nothing else in this store writes meanwhile. Each batch reads and then writes, so it takes the write lock first
//! (`IMMEDIATE`): a deferred transaction whose snapshot another connection outdates before it writes (a store of the
//! same file still closing, whose last checkpoint restarts the WAL) fails at once with "database is locked" instead
//! of waiting for the busy timeout.

use rusqlite::{Connection, TransactionBehavior};

use super::write::{KeyCache, delete_index_rows, insert_index_rows};
use crate::StoreError;
use crate::query::ParamIds;
use crate::reindex::{BATCH_SIZE, INDEX_VERSION, rows_of_stored, types_changed_since};

pub fn reindex(connection: &mut Connection, params: &ParamIds) -> Result<(), StoreError> {
    let version: i64 = connection.query_row("SELECT index_version FROM index_state", [], |row| row.get(0))?;
    if version >= INDEX_VERSION {
        return Ok(());
    }
    for resource_type in types_changed_since(version) {
        let (mut after_key, mut n_rewritten) = (0_i64, 0_usize);
        loop {
            let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let batch: Vec<(i64, Option<i64>, String)> = transaction
                .prepare_cached(
                    "SELECT r.resource_key, v.patient_key, v.body FROM resource r JOIN resource_version v ON \
                     v.resource_key = r.resource_key AND v.version_id = r.version_id WHERE r.resource_type = ?1 AND \
                     r.resource_key > ?2 AND r.version_id > 0 AND r.deleted = 0 AND v.body IS NOT NULL ORDER BY \
                     r.resource_key LIMIT ?3",
                )?
                .query_map((resource_type.as_str(), after_key, BATCH_SIZE), |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            let Some(&(last_key, ..)) = batch.last() else { break };
            let mut keys = KeyCache::new();
            for (resource_key, patient_key, body) in batch {
                let Some(rows) = rows_of_stored(params, resource_type, &body) else {
                    tracing::warn!(resource_type = resource_type.as_str(), resource_key, "stored JSON does not parse");
                    continue;
                };
                delete_index_rows(&transaction, resource_key)?;
                insert_index_rows(&transaction, &mut keys, resource_key, patient_key, rows)?;
                n_rewritten += 1;
            }
            transaction.commit()?;
            after_key = last_key;
        }
        if n_rewritten > 0 {
            tracing::info!(resource_type = resource_type.as_str(), n_rewritten, "index rows written again");
        }
    }
    connection.execute("UPDATE index_state SET index_version = ?1", [INDEX_VERSION])?;
    tracing::info!(from = version, to = INDEX_VERSION, "index version raised");
    Ok(())
}
