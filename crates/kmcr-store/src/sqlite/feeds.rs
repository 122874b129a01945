//! SQLite: HL7 v2 receipts and dead letters (`crate::feeds`).

use rusqlite::{Connection, OptionalExtension};

use crate::StoreError;
use crate::feeds::{
    FEED_MESSAGE_COLUMNS, FEED_SUMMARY_SQL, FeedMessageFilter, FeedReceipt, FeedSummary, StoredFeedMessage,
    filter_condition,
};

pub fn insert(transaction: &Connection, receipt: &FeedReceipt) -> Result<(), StoreError> {
    transaction
        .prepare_cached(
            "INSERT INTO feed_message (sender, control_id, received_ms, ods_code, message_type, status, ack_code, \
             reason, ack, body, body_encoding) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute((
            &receipt.sender,
            &receipt.control_id,
            receipt.received_ms,
            &receipt.ods_code,
            &receipt.message_type,
            &receipt.status,
            &receipt.ack_code,
            &receipt.reason,
            &receipt.ack,
            &receipt.body,
            &receipt.body_encoding,
        ))?;
    Ok(())
}

pub fn accepted_ack(connection: &Connection, sender: &str, control_id: &str) -> Result<Option<String>, StoreError> {
    Ok(connection
        .prepare_cached("SELECT ack FROM feed_message WHERE sender = ?1 AND control_id = ?2 AND status = 'accepted'")?
        .query_row((sender, control_id), |row| row.get(0))
        .optional()?)
}

pub fn messages(
    connection: &Connection,
    status: &str,
    after_key: i64,
    limit: usize,
) -> Result<Vec<StoredFeedMessage>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {FEED_MESSAGE_COLUMNS} FROM feed_message f WHERE f.status = ?1 AND f.message_key > ?2 ORDER BY \
         f.message_key LIMIT ?3"
    ))?;
    let rows = statement.query_map((status, after_key, limit as i64), row_to_message)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn filtered(
    connection: &Connection,
    filter: FeedMessageFilter,
    limit: usize,
) -> Result<Vec<StoredFeedMessage>, StoreError> {
    let key = match filter {
        FeedMessageFilter::UnresolvedDeadLetters { after_key } => after_key,
        FeedMessageFilter::Key(key) => key,
    };
    let condition = filter_condition(filter).replace("{key}", "?1");
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {FEED_MESSAGE_COLUMNS} FROM feed_message f WHERE {condition} ORDER BY f.message_key LIMIT ?2"
    ))?;
    let rows = statement.query_map((key, limit as i64), row_to_message)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn summary(connection: &Connection) -> Result<Vec<FeedSummary>, StoreError> {
    let mut statement = connection.prepare_cached(FEED_SUMMARY_SQL)?;
    let rows = statement.query_map([], |row| {
        Ok(FeedSummary {
            sender: row.get(0)?,
            ods_code: row.get(1)?,
            accepted: row.get(2)?,
            rejected: row.get(3)?,
            unresolved: row.get(4)?,
            last_received_ms: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn row_to_message(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredFeedMessage> {
    Ok(StoredFeedMessage {
        message_key: row.get(0)?,
        receipt: FeedReceipt {
            sender: row.get(1)?,
            control_id: row.get(2)?,
            received_ms: row.get(3)?,
            ods_code: row.get(4)?,
            message_type: row.get(5)?,
            status: row.get(6)?,
            ack_code: row.get(7)?,
            reason: row.get(8)?,
            ack: row.get(9)?,
            body: row.get(10)?,
            body_encoding: row.get(11)?,
        },
    })
}
