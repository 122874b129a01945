//! SQLite: HL7 v2 receipts and dead letters (`crate::feeds`).

use rusqlite::{Connection, OptionalExtension};

use crate::StoreError;
use crate::feeds::{FEED_MESSAGE_COLUMNS, FeedReceipt, StoredFeedMessage};

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
        "SELECT {FEED_MESSAGE_COLUMNS} FROM feed_message WHERE status = ?1 AND message_key > ?2 ORDER BY message_key \
         LIMIT ?3"
    ))?;
    let rows = statement.query_map((status, after_key, limit as i64), |row| {
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
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
