//! PostgreSQL: sign-in sessions and one-time items (`crate::sign_in`). Taking an item is one `UPDATE … RETURNING`,
//! so that of two nodes redeeming the same code at once only one succeeds.

use tokio_postgres::GenericClient;

use crate::StoreError;
use crate::sign_in::{ItemTaken, SessionsToEnd, SignInChange, SignInOutcome, StoredSession};

pub async fn apply(client: &impl GenericClient, change: SignInChange) -> Result<SignInOutcome, StoreError> {
    match change {
        SignInChange::StartSession(session) => {
            client
                .execute(
                    "INSERT INTO sign_in_session (session_id, user_id, started_ms, expires_ms) VALUES ($1, $2, $3, $4)",
                    &[&session.session_id, &session.user_id, &session.started_ms, &session.expires_ms],
                )
                .await?;
        }
        SignInChange::EndSessions { which, why, at_ms } => {
            let (column, value) = match &which {
                SessionsToEnd::One(session_id) => ("session_id", session_id),
                SessionsToEnd::OfUser(user_id) => ("user_id", user_id),
            };
            let sql = format!(
                "UPDATE sign_in_session SET ended_ms = $2, ended_why = $3 WHERE {column} = $1 AND ended_ms IS NULL"
            );
            client.execute(&sql, &[value, &at_ms, &why]).await?;
        }
        SignInChange::PutItem(item) => {
            client
                .execute(
                    "INSERT INTO sign_in_item (kind, item_key, group_id, content, expires_ms, spent) \
                     VALUES ($1, $2, $3, $4, $5, FALSE)",
                    &[&item.kind, &item.key, &item.group_id, &item.content, &item.expires_ms],
                )
                .await?;
        }
        SignInChange::TakeItem { kind, key } => {
            let fresh = client
                .query_opt(
                    "UPDATE sign_in_item SET spent = TRUE WHERE kind = $1 AND item_key = $2 AND NOT spent \
                     RETURNING content, expires_ms",
                    &[&kind, &key],
                )
                .await?;
            if let Some(row) = fresh {
                return Ok(SignInOutcome::Taken(ItemTaken::Fresh { content: row.get(0), expires_ms: row.get(1) }));
            }
            let spent = client
                .query_opt(
                    "SELECT group_id, content FROM sign_in_item WHERE kind = $1 AND item_key = $2",
                    &[&kind, &key],
                )
                .await?;
            return Ok(SignInOutcome::Taken(match spent {
                Some(row) => ItemTaken::Spent { group_id: row.get(0), content: row.get(1) },
                None => ItemTaken::Unknown,
            }));
        }
        SignInChange::ReplaceItem { kind, key, content } => {
            let changed = client
                .execute(
                    "UPDATE sign_in_item SET content = $3 WHERE kind = $1 AND item_key = $2 AND NOT spent",
                    &[&kind, &key, &content],
                )
                .await?;
            return Ok(SignInOutcome::Replaced(changed == 1));
        }
        SignInChange::SpendGroup { group_id } => {
            client.execute("UPDATE sign_in_item SET spent = TRUE WHERE group_id = $1", &[&group_id]).await?;
        }
        SignInChange::ForgetExpired { now_ms } => {
            client.execute("DELETE FROM sign_in_item WHERE expires_ms <= $1", &[&now_ms]).await?;
            client.execute("DELETE FROM sign_in_session WHERE expires_ms <= $1", &[&now_ms]).await?;
        }
    }
    Ok(SignInOutcome::Done)
}

pub async fn session(client: &impl GenericClient, session_id: &str) -> Result<Option<StoredSession>, StoreError> {
    let row = client
        .query_opt(
            "SELECT session_id, user_id, started_ms, expires_ms, ended_ms, ended_why FROM sign_in_session \
             WHERE session_id = $1",
            &[&session_id],
        )
        .await?;
    Ok(row.map(|row| {
        let ended_ms: Option<i64> = row.get(4);
        let ended_why: Option<String> = row.get(5);
        StoredSession {
            session_id: row.get(0),
            user_id: row.get(1),
            started_ms: row.get(2),
            expires_ms: row.get(3),
            ended: ended_ms.map(|at| (at, ended_why.unwrap_or_default())),
        }
    }))
}

/// An unspent item's content, if it has not expired.
pub async fn item(
    client: &impl GenericClient,
    kind: &str,
    key: &str,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    let row = client
        .query_opt(
            "SELECT content FROM sign_in_item WHERE kind = $1 AND item_key = $2 AND NOT spent AND expires_ms > $3",
            &[&kind, &key, &now_ms],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

/// Unspent, unexpired items of one kind in one group.
pub async fn count_items(
    client: &impl GenericClient,
    kind: &str,
    group_id: &str,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let row = client
        .query_one(
            "SELECT COUNT(*) FROM sign_in_item WHERE group_id = $1 AND kind = $2 AND NOT spent AND expires_ms > $3",
            &[&group_id, &kind, &now_ms],
        )
        .await?;
    Ok(row.get(0))
}
