//! SQLite: sign-in sessions and one-time items (`crate::sign_in`). Changes run on the writer thread.

use rusqlite::{Connection, OptionalExtension};

use crate::StoreError;
use crate::sign_in::{ItemTaken, SessionsToEnd, SignInChange, SignInOutcome, StoredSession};

pub fn apply(transaction: &Connection, change: SignInChange) -> Result<SignInOutcome, StoreError> {
    match change {
        SignInChange::StartSession(session) => {
            transaction
                .prepare_cached(
                    "INSERT INTO sign_in_session (session_id, user_id, started_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute((&session.session_id, &session.user_id, session.started_ms, session.expires_ms))?;
        }
        SignInChange::EndSessions { which, why, at_ms } => {
            let (column, value) = match &which {
                SessionsToEnd::One(session_id) => ("session_id", session_id),
                SessionsToEnd::OfUser(user_id) => ("user_id", user_id),
            };
            transaction
                .prepare_cached(&format!(
                    "UPDATE sign_in_session SET ended_ms = ?2, ended_why = ?3 WHERE {column} = ?1 AND ended_ms IS NULL"
                ))?
                .execute((value, at_ms, &why))?;
        }
        SignInChange::PutItem(item) => {
            transaction
                .prepare_cached(
                    "INSERT INTO sign_in_item (kind, item_key, group_id, content, expires_ms, spent) \
                     VALUES (?1, ?2, ?3, ?4, ?5, 0)",
                )?
                .execute((&item.kind, &item.key, &item.group_id, &item.content, item.expires_ms))?;
        }
        SignInChange::TakeItem { kind, key } => {
            let fresh: Option<(String, i64)> = transaction
                .prepare_cached(
                    "UPDATE sign_in_item SET spent = 1 WHERE kind = ?1 AND item_key = ?2 AND spent = 0 \
                     RETURNING content, expires_ms",
                )?
                .query_row((&kind, &key), |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            if let Some((content, expires_ms)) = fresh {
                return Ok(SignInOutcome::Taken(ItemTaken::Fresh { content, expires_ms }));
            }
            let spent: Option<(String, String)> = transaction
                .prepare_cached("SELECT group_id, content FROM sign_in_item WHERE kind = ?1 AND item_key = ?2")?
                .query_row((&kind, &key), |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            return Ok(SignInOutcome::Taken(match spent {
                Some((group_id, content)) => ItemTaken::Spent { group_id, content },
                None => ItemTaken::Unknown,
            }));
        }
        SignInChange::ReplaceItem { kind, key, content } => {
            let changed = transaction
                .prepare_cached("UPDATE sign_in_item SET content = ?3 WHERE kind = ?1 AND item_key = ?2 AND spent = 0")?
                .execute((&kind, &key, &content))?;
            return Ok(SignInOutcome::Replaced(changed == 1));
        }
        SignInChange::SpendGroup { group_id } => {
            transaction
                .prepare_cached("UPDATE sign_in_item SET spent = 1 WHERE group_id = ?1")?
                .execute([&group_id])?;
        }
        SignInChange::ForgetExpired { now_ms } => {
            transaction.prepare_cached("DELETE FROM sign_in_item WHERE expires_ms <= ?1")?.execute([now_ms])?;
            transaction.prepare_cached("DELETE FROM sign_in_session WHERE expires_ms <= ?1")?.execute([now_ms])?;
        }
    }
    Ok(SignInOutcome::Done)
}

pub fn session(connection: &Connection, session_id: &str) -> Result<Option<StoredSession>, StoreError> {
    let found = connection
        .prepare_cached(
            "SELECT session_id, user_id, started_ms, expires_ms, ended_ms, ended_why FROM sign_in_session \
             WHERE session_id = ?1",
        )?
        .query_row([session_id], |row| {
            let ended_ms: Option<i64> = row.get(4)?;
            let ended_why: Option<String> = row.get(5)?;
            Ok(StoredSession {
                session_id: row.get(0)?,
                user_id: row.get(1)?,
                started_ms: row.get(2)?,
                expires_ms: row.get(3)?,
                ended: ended_ms.map(|at| (at, ended_why.unwrap_or_default())),
            })
        })
        .optional()?;
    Ok(found)
}

/// An unspent item's content, if it has not expired.
pub fn item(connection: &Connection, kind: &str, key: &str, now_ms: i64) -> Result<Option<String>, StoreError> {
    let found = connection
        .prepare_cached(
            "SELECT content FROM sign_in_item WHERE kind = ?1 AND item_key = ?2 AND spent = 0 AND expires_ms > ?3",
        )?
        .query_row((kind, key, now_ms), |row| row.get(0))
        .optional()?;
    Ok(found)
}

/// Unspent, unexpired items of one kind in one group.
pub fn count_items(connection: &Connection, kind: &str, group_id: &str, now_ms: i64) -> Result<i64, StoreError> {
    let count = connection
        .prepare_cached(
            "SELECT COUNT(*) FROM sign_in_item WHERE group_id = ?1 AND kind = ?2 AND spent = 0 AND expires_ms > ?3",
        )?
        .query_row((group_id, kind, now_ms), |row| row.get(0))?;
    Ok(count)
}
