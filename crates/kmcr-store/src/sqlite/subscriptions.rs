//! SQLite: subscriptions, the outbox and subscriptions' events (`crate::subscriptions`). Changes run on the writer
//! thread.

use rusqlite::{Connection, OptionalExtension, Row};

use crate::StoreError;
use crate::subscriptions::{
    EVENT_COLUMNS, EventRange, OUTBOX_SQL, OutboxEvent, SUBSCRIPTION_COLUMNS, StoredSubscription, SubscriptionChange,
    SubscriptionEvent, SubscriptionOutcome,
};

pub fn apply(transaction: &Connection, change: SubscriptionChange) -> Result<SubscriptionOutcome, StoreError> {
    match change {
        SubscriptionChange::Put(subscription) => {
            transaction
                .prepare_cached(&format!(
                    "INSERT INTO subscription ({SUBSCRIPTION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, 0, 0, \
                     NULL, NULL, NULL, ?8, ?8) ON CONFLICT (subscription_id) DO UPDATE SET owner_client_id = \
                     excluded.owner_client_id, owner_ods_code = excluded.owner_ods_code, configured = \
                     excluded.configured, body = excluded.body, status = excluded.status, error = excluded.error, \
                     updated_ms = excluded.updated_ms, failures_in_row = CASE WHEN excluded.status = 'requested' THEN \
                     0 ELSE subscription.failures_in_row END, failing_since_ms = CASE WHEN excluded.status = \
                     'requested' THEN NULL ELSE subscription.failing_since_ms END"
                ))?
                .execute((
                    &subscription.subscription_id,
                    &subscription.owner_client_id,
                    &subscription.owner_ods_code,
                    subscription.configured,
                    &subscription.body,
                    &subscription.status,
                    &subscription.error,
                    subscription.updated_ms,
                ))?;
        }
        SubscriptionChange::Remove { subscription_id } => {
            transaction
                .prepare_cached("DELETE FROM subscription_event WHERE subscription_id = ?1")?
                .execute([&subscription_id])?;
            transaction
                .prepare_cached("DELETE FROM subscription WHERE subscription_id = ?1")?
                .execute([&subscription_id])?;
        }
        SubscriptionChange::Dispatch { outbox_seqs, events } => {
            let mut taken = std::collections::HashSet::new();
            for seq in outbox_seqs {
                if transaction.prepare_cached("DELETE FROM event_outbox WHERE seq = ?1")?.execute([seq])? == 1 {
                    taken.insert(seq);
                }
            }
            let mut numbered = Vec::new();
            for event in events.into_iter().filter(|event| taken.contains(&event.outbox_seq)) {
                let number: Option<i64> = transaction
                    .prepare_cached(
                        "UPDATE subscription SET events_since_start = events_since_start + 1 WHERE subscription_id = \
                         ?1 RETURNING events_since_start",
                    )?
                    .query_row([&event.subscription_id], |row| row.get(0))
                    .optional()?;
                let Some(number) = number else { continue };
                transaction
                    .prepare_cached(&format!(
                        "INSERT INTO subscription_event ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
                         NULL)"
                    ))?
                    .execute((
                        &event.subscription_id,
                        number,
                        &event.topic,
                        &event.resource_type,
                        &event.resource_id,
                        event.version_id,
                        &event.patient_id,
                        event.recorded_ms,
                        &event.payload,
                    ))?;
                numbered.push((event.subscription_id, number));
            }
            return Ok(SubscriptionOutcome::Numbered(numbered));
        }
        SubscriptionChange::Delivered { subscription_id, through_event_number, at_ms } => {
            let n_delivered = match through_event_number {
                Some(through) => transaction
                    .prepare_cached(
                        "UPDATE subscription_event SET delivered_ms = ?3 WHERE subscription_id = ?1 AND event_number \
                         <= ?2 AND delivered_ms IS NULL",
                    )?
                    .execute((&subscription_id, through, at_ms))? as i64,
                None => 0,
            };
            transaction
                .prepare_cached(
                    "UPDATE subscription SET n_sent = n_sent + ?2, last_delivered_ms = CASE WHEN ?2 > 0 THEN ?3 ELSE \
                     last_delivered_ms END, last_sent_ms = ?3, failures_in_row = 0, failing_since_ms = NULL WHERE \
                     subscription_id = ?1",
                )?
                .execute((&subscription_id, n_delivered, at_ms))?;
        }
        SubscriptionChange::Failed { subscription_id, at_ms, status, error } => {
            transaction
                .prepare_cached(
                    "UPDATE subscription SET n_failed = n_failed + 1, failures_in_row = failures_in_row + 1, \
                     failing_since_ms = COALESCE(failing_since_ms, ?2), status = COALESCE(?3, status), error = \
                     CASE WHEN ?3 IS NULL THEN error ELSE ?4 END, updated_ms = CASE WHEN ?3 IS NULL THEN updated_ms \
                     ELSE ?2 END WHERE subscription_id = ?1",
                )?
                .execute((&subscription_id, at_ms, &status, &error))?;
        }
        SubscriptionChange::SetStatus { subscription_id, status, error, at_ms, only_from } => {
            transaction
                .prepare_cached(
                    "UPDATE subscription SET status = ?2, error = ?3, updated_ms = ?4, last_sent_ms = CASE WHEN ?2 = \
                     'active' THEN ?4 ELSE last_sent_ms END WHERE subscription_id = ?1 AND (?5 IS NULL OR status = ?5)",
                )?
                .execute((&subscription_id, &status, &error, at_ms, &only_from))?;
        }
    }
    Ok(SubscriptionOutcome::Done)
}

fn subscription_from(row: &Row<'_>) -> rusqlite::Result<StoredSubscription> {
    Ok(StoredSubscription {
        subscription_id: row.get(0)?,
        owner_client_id: row.get(1)?,
        owner_ods_code: row.get(2)?,
        configured: row.get(3)?,
        body: row.get(4)?,
        status: row.get(5)?,
        error: row.get(6)?,
        events_since_start: row.get(7)?,
        n_sent: row.get(8)?,
        n_failed: row.get(9)?,
        failures_in_row: row.get(10)?,
        failing_since_ms: row.get(11)?,
        last_delivered_ms: row.get(12)?,
        last_sent_ms: row.get(13)?,
        created_ms: row.get(14)?,
        updated_ms: row.get(15)?,
    })
}

pub fn subscriptions(connection: &Connection, id: Option<&str>) -> Result<Vec<StoredSubscription>, StoreError> {
    let sql = match id {
        Some(_) => format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscription WHERE subscription_id = ?1"),
        None => format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscription WHERE ?1 IS NULL ORDER BY subscription_id"),
    };
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map([id], subscription_from)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn outbox(connection: &Connection, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
    let mut statement = connection.prepare_cached(&OUTBOX_SQL.replace("{limit}", &limit.to_string()))?;
    let rows = statement.query_map([], |row| {
        Ok(OutboxEvent {
            seq: row.get(0)?,
            topic: row.get(1)?,
            resource_type: row.get(2)?,
            resource_id: row.get(3)?,
            version_id: row.get(4)?,
            patient_id: row.get(5)?,
            source_ods_code: row.get(6)?,
            recorded_ms: row.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn events(
    connection: &Connection,
    subscription_id: &str,
    range: EventRange,
) -> Result<Vec<SubscriptionEvent>, StoreError> {
    let pending = if range.only_undelivered { "AND delivered_ms IS NULL" } else { "" };
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM subscription_event WHERE subscription_id = ?1 AND event_number >= ?2 AND \
         event_number <= ?3 {pending} ORDER BY event_number LIMIT ?4"
    ))?;
    let rows =
        statement.query_map((subscription_id, range.from_number, range.to_number, range.limit as i64), |row| {
            Ok(SubscriptionEvent {
                subscription_id: row.get(0)?,
                event_number: row.get(1)?,
                topic: row.get(2)?,
                resource_type: row.get(3)?,
                resource_id: row.get(4)?,
                version_id: row.get(5)?,
                patient_id: row.get(6)?,
                recorded_ms: row.get(7)?,
                payload: row.get(8)?,
                delivered_ms: row.get(9)?,
            })
        })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn with_undelivered(connection: &Connection) -> Result<Vec<String>, StoreError> {
    let mut statement = connection
        .prepare_cached("SELECT DISTINCT subscription_id FROM subscription_event WHERE delivered_ms IS NULL")?;
    let rows = statement.query_map([], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
