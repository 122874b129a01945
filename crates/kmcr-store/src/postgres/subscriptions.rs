//! PostgreSQL: subscriptions, the outbox and subscriptions' events (`crate::subscriptions`). A dispatch takes its
//! outbox rows with `DELETE … RETURNING`, so that of two nodes handing out the same events only one does.

use tokio_postgres::{GenericClient, Row};

use crate::StoreError;
use crate::subscriptions::{
    EVENT_COLUMNS, EventRange, OUTBOX_SQL, OutboxEvent, SUBSCRIPTION_COLUMNS, StoredSubscription, SubscriptionChange,
    SubscriptionEvent, SubscriptionOutcome,
};

pub async fn apply(
    client: &mut deadpool_postgres::Object,
    change: SubscriptionChange,
) -> Result<SubscriptionOutcome, StoreError> {
    let transaction = client.transaction().await?;
    let outcome = match change {
        SubscriptionChange::Put(subscription) => {
            transaction
                .execute(
                    &format!(
                        "INSERT INTO subscription ({SUBSCRIPTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, \
                         0, 0, NULL, NULL, NULL, $8, $8) ON CONFLICT (subscription_id) DO UPDATE SET owner_client_id = \
                         excluded.owner_client_id, owner_ods_code = excluded.owner_ods_code, configured = \
                         excluded.configured, body = excluded.body, status = excluded.status, error = excluded.error, \
                         updated_ms = excluded.updated_ms, failures_in_row = CASE WHEN excluded.status = 'requested' \
                         THEN 0 ELSE subscription.failures_in_row END, failing_since_ms = CASE WHEN excluded.status = \
                         'requested' THEN NULL ELSE subscription.failing_since_ms END"
                    ),
                    &[
                        &subscription.subscription_id,
                        &subscription.owner_client_id,
                        &subscription.owner_ods_code,
                        &subscription.configured,
                        &subscription.body,
                        &subscription.status,
                        &subscription.error,
                        &subscription.updated_ms,
                    ],
                )
                .await?;
            SubscriptionOutcome::Done
        }
        SubscriptionChange::Remove { subscription_id } => {
            transaction
                .execute("DELETE FROM subscription_event WHERE subscription_id = $1", &[&subscription_id])
                .await?;
            transaction.execute("DELETE FROM subscription WHERE subscription_id = $1", &[&subscription_id]).await?;
            SubscriptionOutcome::Done
        }
        SubscriptionChange::Dispatch { outbox_seqs, events } => {
            let taken: std::collections::HashSet<i64> = transaction
                .query("DELETE FROM event_outbox WHERE seq = ANY($1) RETURNING seq", &[&outbox_seqs])
                .await?
                .iter()
                .map(|row| row.get(0))
                .collect();
            let mut numbered = Vec::new();
            for event in events.into_iter().filter(|event| taken.contains(&event.outbox_seq)) {
                let row = transaction
                    .query_opt(
                        "UPDATE subscription SET events_since_start = events_since_start + 1 WHERE subscription_id = \
                         $1 RETURNING events_since_start",
                        &[&event.subscription_id],
                    )
                    .await?;
                let Some(row) = row else { continue };
                let number: i64 = row.get(0);
                transaction
                    .execute(
                        &format!(
                            "INSERT INTO subscription_event ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                             $9, NULL)"
                        ),
                        &[
                            &event.subscription_id,
                            &number,
                            &event.topic,
                            &event.resource_type,
                            &event.resource_id,
                            &event.version_id,
                            &event.patient_id,
                            &event.recorded_ms,
                            &event.payload,
                        ],
                    )
                    .await?;
                numbered.push((event.subscription_id, number));
            }
            SubscriptionOutcome::Numbered(numbered)
        }
        SubscriptionChange::Delivered { subscription_id, through_event_number, at_ms } => {
            let n_delivered = match through_event_number {
                Some(through) => {
                    transaction
                        .execute(
                            "UPDATE subscription_event SET delivered_ms = $3 WHERE subscription_id = $1 AND \
                             event_number <= $2 AND delivered_ms IS NULL",
                            &[&subscription_id, &through, &at_ms],
                        )
                        .await? as i64
                }
                None => 0,
            };
            transaction
                .execute(
                    "UPDATE subscription SET n_sent = n_sent + $2, last_delivered_ms = CASE WHEN $2 > 0 THEN $3 ELSE \
                     last_delivered_ms END, last_sent_ms = $3, failures_in_row = 0, failing_since_ms = NULL WHERE \
                     subscription_id = $1",
                    &[&subscription_id, &n_delivered, &at_ms],
                )
                .await?;
            SubscriptionOutcome::Done
        }
        SubscriptionChange::Failed { subscription_id, at_ms, status, error } => {
            transaction
                .execute(
                    "UPDATE subscription SET n_failed = n_failed + 1, failures_in_row = failures_in_row + 1, \
                     failing_since_ms = COALESCE(failing_since_ms, $2), status = COALESCE($3, status), error = CASE \
                     WHEN $3::text IS NULL THEN error ELSE $4 END, updated_ms = CASE WHEN $3::text IS NULL THEN \
                     updated_ms ELSE $2 END WHERE subscription_id = $1",
                    &[&subscription_id, &at_ms, &status, &error],
                )
                .await?;
            SubscriptionOutcome::Done
        }
        SubscriptionChange::SetStatus { subscription_id, status, error, at_ms, only_from } => {
            transaction
                .execute(
                    "UPDATE subscription SET status = $2, error = $3, updated_ms = $4, last_sent_ms = CASE WHEN $2 = \
                     'active' THEN $4 ELSE last_sent_ms END WHERE subscription_id = $1 AND ($5::text IS NULL OR status \
                     = $5)",
                    &[&subscription_id, &status, &error, &at_ms, &only_from],
                )
                .await?;
            SubscriptionOutcome::Done
        }
    };
    transaction.commit().await?;
    Ok(outcome)
}

fn subscription_from(row: &Row) -> StoredSubscription {
    StoredSubscription {
        subscription_id: row.get(0),
        owner_client_id: row.get(1),
        owner_ods_code: row.get(2),
        configured: row.get(3),
        body: row.get(4),
        status: row.get(5),
        error: row.get(6),
        events_since_start: row.get(7),
        n_sent: row.get(8),
        n_failed: row.get(9),
        failures_in_row: row.get(10),
        failing_since_ms: row.get(11),
        last_delivered_ms: row.get(12),
        last_sent_ms: row.get(13),
        created_ms: row.get(14),
        updated_ms: row.get(15),
    }
}

pub async fn subscriptions(
    client: &impl GenericClient,
    id: Option<&str>,
) -> Result<Vec<StoredSubscription>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT {SUBSCRIPTION_COLUMNS} FROM subscription WHERE $1::text IS NULL OR subscription_id = $1 ORDER \
                 BY subscription_id"
            ),
            &[&id],
        )
        .await?;
    Ok(rows.iter().map(subscription_from).collect())
}

pub async fn outbox(client: &impl GenericClient, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
    let rows = client.query(&OUTBOX_SQL.replace("{limit}", &limit.to_string()), &[]).await?;
    Ok(rows
        .iter()
        .map(|row| OutboxEvent {
            seq: row.get(0),
            topic: row.get(1),
            resource_type: row.get(2),
            resource_id: row.get(3),
            version_id: row.get(4),
            patient_id: row.get(5),
            source_ods_code: row.get(6),
            recorded_ms: row.get(7),
        })
        .collect())
}

pub async fn events(
    client: &impl GenericClient,
    subscription_id: &str,
    range: EventRange,
) -> Result<Vec<SubscriptionEvent>, StoreError> {
    let pending = if range.only_undelivered { "AND delivered_ms IS NULL" } else { "" };
    let rows = client
        .query(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM subscription_event WHERE subscription_id = $1 AND event_number >= $2 AND \
                 event_number <= $3 {pending} ORDER BY event_number LIMIT $4"
            ),
            &[&subscription_id, &range.from_number, &range.to_number, &(range.limit as i64)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| SubscriptionEvent {
            subscription_id: row.get(0),
            event_number: row.get(1),
            topic: row.get(2),
            resource_type: row.get(3),
            resource_id: row.get(4),
            version_id: row.get(5),
            patient_id: row.get(6),
            recorded_ms: row.get(7),
            payload: row.get(8),
            delivered_ms: row.get(9),
        })
        .collect())
}

pub async fn with_undelivered(client: &impl GenericClient) -> Result<Vec<String>, StoreError> {
    let rows =
        client.query("SELECT DISTINCT subscription_id FROM subscription_event WHERE delivered_ms IS NULL", &[]).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}
