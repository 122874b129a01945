//! SQLite: labels worked out again at open (see `crate::relabel`), on the writer's connection before the writer starts.

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;
use crate::relabel::{BATCH_SIZE, sensitivity_of_body};

pub fn relabel(connection: &mut Connection, rules: &kmcr_access::CodeRules) -> Result<(), StoreError> {
    let fingerprint = rules.fingerprint();
    let stored: String =
        connection.query_row("SELECT code_rules_fingerprint FROM label_state", [], |row| row.get(0))?;
    if stored == fingerprint {
        return Ok(());
    }
    let (mut after_key, mut n_labelled) = (0_i64, 0_usize);
    loop {
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let batch: Vec<(i64, String)> = transaction
            .prepare_cached(
                "SELECT r.resource_key, v.body FROM resource r JOIN resource_version v ON v.resource_key = \
                 r.resource_key AND v.version_id = r.version_id WHERE r.resource_key > ?1 AND r.version_id > 0 AND \
                 v.body IS NOT NULL ORDER BY r.resource_key LIMIT ?2",
            )?
            .query_map((after_key, BATCH_SIZE), |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let Some(&(last_key, _)) = batch.last() else { break };
        for (resource_key, body) in batch {
            let Some(bits) = sensitivity_of_body(&body, rules) else { continue };
            if bits != 0 {
                transaction
                    .prepare_cached("UPDATE resource SET sensitivity = sensitivity | ?2 WHERE resource_key = ?1")?
                    .execute((resource_key, bits))?;
                n_labelled += 1;
            }
        }
        transaction.commit()?;
        after_key = last_key;
    }
    connection.execute("UPDATE label_state SET code_rules_fingerprint = ?1", [&fingerprint])?;
    tracing::info!(n_labelled, "stored items labelled again under the code rules in force");
    Ok(())
}
