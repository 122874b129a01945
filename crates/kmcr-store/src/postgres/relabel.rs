//! PostgreSQL: labels worked out again at open (see `crate::relabel`). Nodes starting together take turns.

use super::MIGRATION_LOCK_ID;
use crate::StoreError;
use crate::relabel::{BATCH_SIZE, sensitivity_of_body};

pub async fn relabel(client: &mut deadpool_postgres::Object, rules: &kmcr_access::CodeRules) -> Result<(), StoreError> {
    let fingerprint = rules.fingerprint();
    let stored = async |client: &deadpool_postgres::Object| -> Result<String, StoreError> {
        Ok(client.query_one("SELECT code_rules_fingerprint FROM label_state", &[]).await?.get(0))
    };
    if stored(client).await? == fingerprint {
        return Ok(());
    }
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_ID]).await?;
    let outcome =
        if stored(client).await? == fingerprint { Ok(()) } else { label_all(client, rules, &fingerprint).await };
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_ID]).await?;
    outcome
}

async fn label_all(
    client: &mut deadpool_postgres::Object,
    rules: &kmcr_access::CodeRules,
    fingerprint: &str,
) -> Result<(), StoreError> {
    let (mut after_key, mut n_labelled) = (0_i64, 0_usize);
    loop {
        let transaction = client.transaction().await?;
        let batch = transaction
            .query(
                "SELECT r.resource_key, v.body FROM resource r JOIN resource_version v ON v.resource_key = \
                 r.resource_key AND v.version_id = r.version_id WHERE r.resource_key > $1 AND r.version_id > 0 AND \
                 v.body IS NOT NULL ORDER BY r.resource_key LIMIT $2",
                &[&after_key, &BATCH_SIZE],
            )
            .await?;
        let Some(last) = batch.last() else { break };
        let last_key: i64 = last.get(0);
        let (mut keys, mut bits) = (Vec::new(), Vec::new());
        for row in &batch {
            if let Some(found) = sensitivity_of_body(row.get(1), rules).filter(|found| *found != 0) {
                keys.push(row.get::<_, i64>(0));
                bits.push(found);
            }
        }
        if !keys.is_empty() {
            transaction
                .execute(
                    "UPDATE resource r SET sensitivity = r.sensitivity | u.x FROM unnest($1::bigint[], $2::bigint[]) \
                     AS u(k, x) WHERE r.resource_key = u.k",
                    &[&keys, &bits],
                )
                .await?;
            n_labelled += keys.len();
        }
        transaction.commit().await?;
        after_key = last_key;
    }
    client.execute("UPDATE label_state SET code_rules_fingerprint = $1", &[&fingerprint]).await?;
    tracing::info!(n_labelled, "stored items labelled again under the code rules in force");
    Ok(())
}
