//! Index rows written again at open (see `crate::reindex`). Nodes starting together take turns (an advisory lock);
//! each batch locks its resources' rows, so a write racing the rewrite waits for it and then writes its own rows.

use super::MIGRATION_LOCK_ID;
use super::write::insert_index_rows;
use crate::StoreError;
use crate::query::ParamIds;
use crate::reindex::{BATCH_SIZE, INDEX_VERSION, rows_of_stored, types_changed_since};
use crate::write_rows::INDEX_TABLES;

pub async fn reindex(client: &mut deadpool_postgres::Object, params: &ParamIds) -> Result<(), StoreError> {
    let version_of = async |client: &deadpool_postgres::Object| -> Result<i64, StoreError> {
        Ok(client.query_one("SELECT index_version FROM index_state", &[]).await?.get(0))
    };
    if version_of(client).await? >= INDEX_VERSION {
        return Ok(());
    }
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_ID]).await?;
    let outcome = rewrite(client, params, version_of(client).await?).await;
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_ID]).await?;
    outcome
}

async fn rewrite(client: &mut deadpool_postgres::Object, params: &ParamIds, version: i64) -> Result<(), StoreError> {
    if version >= INDEX_VERSION {
        return Ok(());
    }
    for resource_type in types_changed_since(version) {
        let (mut after_key, mut n_rewritten) = (0_i64, 0_usize);
        loop {
            let transaction = client.transaction().await?;
            let batch = transaction
                .query(
                    "SELECT r.resource_key, v.patient_key, v.body FROM resource r JOIN resource_version v ON \
                     v.resource_key = r.resource_key AND v.version_id = r.version_id WHERE r.resource_type = $1 AND \
                     r.resource_key > $2 AND r.version_id > 0 AND NOT r.deleted AND v.body IS NOT NULL ORDER BY \
                     r.resource_key LIMIT $3 FOR UPDATE OF r",
                    &[&resource_type.as_str(), &after_key, &BATCH_SIZE],
                )
                .await?;
            let Some(last) = batch.last() else { break };
            let last_key: i64 = last.get(0);
            let mut rewritten_keys = Vec::with_capacity(batch.len());
            let mut rows = Vec::new();
            for row in &batch {
                let (resource_key, patient_key, body): (i64, Option<i64>, &str) = (row.get(0), row.get(1), row.get(2));
                let Some(resource_rows) = rows_of_stored(params, resource_type, body) else {
                    tracing::warn!(resource_type = resource_type.as_str(), resource_key, "stored JSON does not parse");
                    continue;
                };
                rewritten_keys.push(resource_key);
                rows.extend(resource_rows.into_iter().map(|index_row| (resource_key, patient_key, index_row)));
            }
            for table in INDEX_TABLES {
                transaction
                    .execute(&format!("DELETE FROM {table} WHERE resource_key = ANY($1)"), &[&rewritten_keys])
                    .await?;
            }
            insert_index_rows(&transaction, rows).await?;
            transaction.commit().await?;
            n_rewritten += rewritten_keys.len();
            after_key = last_key;
        }
        if n_rewritten > 0 {
            tracing::info!(resource_type = resource_type.as_str(), n_rewritten, "index rows written again");
        }
    }
    client.execute("UPDATE index_state SET index_version = $1", &[&INDEX_VERSION]).await?;
    tracing::info!(from = version, to = INDEX_VERSION, "index version raised");
    Ok(())
}
