//! PostgreSQL: HL7 v2 receipts and dead letters (`crate::feeds`).

use tokio_postgres::GenericClient;

use crate::StoreError;
use crate::feeds::{
    FEED_MESSAGE_COLUMNS, FEED_SUMMARY_SQL, FeedMessageFilter, FeedReceipt, FeedSummary, StoredFeedMessage,
    filter_condition,
};

pub async fn insert(transaction: &deadpool_postgres::Transaction<'_>, receipt: &FeedReceipt) -> Result<(), StoreError> {
    super::execute_cached(
        transaction,
        "INSERT INTO feed_message (sender, control_id, received_ms, ods_code, message_type, status, ack_code, \
             reason, ack, body, body_encoding) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &receipt.sender,
            &receipt.control_id,
            &receipt.received_ms,
            &receipt.ods_code,
            &receipt.message_type,
            &receipt.status,
            &receipt.ack_code,
            &receipt.reason,
            &receipt.ack,
            &receipt.body,
            &receipt.body_encoding,
        ],
    )
    .await?;
    Ok(())
}

pub async fn accepted_ack(
    client: &deadpool_postgres::Client,
    sender: &str,
    control_id: &str,
) -> Result<Option<String>, StoreError> {
    // Prepared once per connection: asked before every message is applied.
    let statement = client
        .prepare_cached("SELECT ack FROM feed_message WHERE sender = $1 AND control_id = $2 AND status = 'accepted'")
        .await?;
    let row = client.query_opt(&statement, &[&sender, &control_id]).await?;
    Ok(row.map(|row| row.get(0)))
}

pub async fn messages(
    client: &impl GenericClient,
    status: &str,
    after_key: i64,
    limit: usize,
) -> Result<Vec<StoredFeedMessage>, StoreError> {
    let sql = format!(
        "SELECT {FEED_MESSAGE_COLUMNS} FROM feed_message f WHERE f.status = $1 AND f.message_key > $2 ORDER BY \
         f.message_key LIMIT $3"
    );
    let rows = client.query(&sql, &[&status, &after_key, &(limit as i64)]).await?;
    Ok(rows.iter().map(row_to_message).collect())
}

pub async fn filtered(
    client: &impl GenericClient,
    filter: FeedMessageFilter,
    limit: usize,
) -> Result<Vec<StoredFeedMessage>, StoreError> {
    let key = match filter {
        FeedMessageFilter::UnresolvedDeadLetters { after_key } => after_key,
        FeedMessageFilter::Key(key) => key,
    };
    let condition = filter_condition(filter).replace("{key}", "$1");
    let sql =
        format!("SELECT {FEED_MESSAGE_COLUMNS} FROM feed_message f WHERE {condition} ORDER BY f.message_key LIMIT $2");
    let rows = client.query(&sql, &[&key, &(limit as i64)]).await?;
    Ok(rows.iter().map(row_to_message).collect())
}

pub async fn summary(client: &impl GenericClient) -> Result<Vec<FeedSummary>, StoreError> {
    let rows = client.query(FEED_SUMMARY_SQL, &[]).await?;
    Ok(rows
        .iter()
        .map(|row| FeedSummary {
            sender: row.get(0),
            ods_code: row.get(1),
            accepted: row.get(2),
            rejected: row.get(3),
            unresolved: row.get(4),
            last_received_ms: row.get(5),
        })
        .collect())
}

fn row_to_message(row: &tokio_postgres::Row) -> StoredFeedMessage {
    StoredFeedMessage {
        message_key: row.get(0),
        receipt: FeedReceipt {
            sender: row.get(1),
            control_id: row.get(2),
            received_ms: row.get(3),
            ods_code: row.get(4),
            message_type: row.get(5),
            status: row.get(6),
            ack_code: row.get(7),
            reason: row.get(8),
            ack: row.get(9),
            body: row.get(10),
            body_encoding: row.get(11),
        },
    }
}
