//! HL7 v2 feeds for the integration engine of the organisation that sends them (JSON): `GET /feeds`, each of its
//! senders' counts, error rate and last message; `GET /feeds/dead-letters`, its messages refused and not yet made
//! good, with the reason (never the message); `POST /feeds/dead-letters/{key}/replay`, one sent through again after a
//! fix. Who may ask, and what they see, is the service's rule (`kmcr_service::dead_letters`).

#![allow(clippy::result_large_err)]

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use kmcr_fhir::Instant;
use kmcr_service::ServiceError;
use kmcr_service::dead_letters::{DEFAULT_DEAD_LETTERS_PER_PAGE, DeadLetter, MAX_DEAD_LETTERS_PER_PAGE};
use kmcr_store::FeedSummary;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::handlers::context;
use crate::responses::error_response;

fn summary_json(summary: &FeedSummary) -> Value {
    let total = summary.accepted + summary.rejected;
    let error_rate = if total == 0 { 0.0 } else { summary.rejected as f64 / total as f64 };
    json!({
        "sender": summary.sender,
        "organisation": summary.ods_code,
        "accepted": summary.accepted,
        "rejected": summary.rejected,
        "unresolved": summary.unresolved,
        // The share of messages refused, 0 to 1, to four places.
        "errorRate": (error_rate * 10_000.0).round() / 10_000.0,
        "lastMessage": Instant::from_unix_ms(summary.last_received_ms).to_string(),
    })
}

fn dead_letter_json(letter: &DeadLetter) -> Value {
    json!({
        "key": letter.message_key,
        "received": Instant::from_unix_ms(letter.received_ms).to_string(),
        "sender": letter.sender,
        "controlId": letter.control_id,
        "messageType": letter.message_type,
        "ack": letter.ack_code,
        "reason": letter.reason,
    })
}

/// `GET /feeds`.
pub async fn status(State(state): State<AppState>, caller: Caller) -> Response {
    match state.service.feed_summary_for(&context(caller)).await {
        Ok(summaries) => {
            Json(json!({ "feeds": summaries.iter().map(summary_json).collect::<Vec<_>>() })).into_response()
        }
        Err(error) => error_response(error),
    }
}

#[derive(Deserialize)]
pub struct DeadLettersQuery {
    after: Option<i64>,
    count: Option<usize>,
}

/// `GET /feeds/dead-letters?after=KEY&count=N`: oldest first, with a `next` link while there may be more.
pub async fn dead_letters(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<DeadLettersQuery>,
) -> Response {
    let count = query.count.unwrap_or(DEFAULT_DEAD_LETTERS_PER_PAGE).clamp(1, MAX_DEAD_LETTERS_PER_PAGE);
    let page = match state.service.dead_letters_for(&context(caller), query.after.unwrap_or(0), count).await {
        Ok(page) => page,
        Err(error) => return error_response(error),
    };
    let mut body = json!({ "deadLetters": page.letters.iter().map(dead_letter_json).collect::<Vec<_>>() });
    if let Some(after) = page.next_after_key {
        body["next"] = json!(format!("/feeds/dead-letters?after={after}&count={count}"));
    }
    Json(body).into_response()
}

/// `POST /feeds/dead-letters/{key}/replay`: the ACK code it is answered with now, why when refused again, and whether
/// it is made good.
pub async fn replay(State(state): State<AppState>, caller: Caller, Path(key): Path<String>) -> Response {
    let Ok(key) = key.parse::<i64>() else {
        return error_response(ServiceError::Invalid(
            "a dead letter's key is a number (see /feeds/dead-letters)".into(),
        ));
    };
    match state.service.replay_dead_letter_for(&context(caller), key).await {
        Ok(outcome) => {
            let mut body = json!({ "key": outcome.message_key, "ack": outcome.ack_code, "resolved": outcome.resolved });
            if let Some(reason) = outcome.reason {
                body["reason"] = json!(reason);
            }
            Json(body).into_response()
        }
        Err(error) => error_response(error),
    }
}
