//! `Subscription`: made, read, changed and removed by the organisation's system that owns it, `$status` and
//! `$events` (R5 Backport IG operations). Never stored as an ordinary resource: the service keeps subscriptions apart,
//! so that one organisation's endpoints and headers are never another's to read.

#![allow(clippy::result_large_err)]

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header::LOCATION};
use kmcr_events::Payload;
use kmcr_events::notification::status_bundle;
use kmcr_fhir::Instant;
use kmcr_service::ServiceError;
use kmcr_service::references::parse_query;
use kmcr_service::subscriptions::EventsQuery;
use serde_json::{Value, json};

use super::{HandlerResult, context, json_body};
use crate::AppState;
use crate::auth::Caller;
use crate::responses::{error_response, fhir_json};

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> HandlerResult {
    let resource = json_body(body)?;
    let created = state.service.create_subscription(&context(caller), resource).await.map_err(error_response)?;
    let mut response = fhir_json(StatusCode::CREATED, created.to_string());
    if let Some(id) = created["id"].as_str()
        && let Ok(location) = HeaderValue::from_str(&format!("{}/Subscription/{id}", state.fhir_base_url))
    {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

pub async fn search(State(state): State<AppState>, caller: Caller) -> HandlerResult {
    let own = state.service.list_subscriptions(&context(caller)).await.map_err(error_response)?;
    let entries: Vec<Value> = own
        .into_iter()
        .map(|subscription| {
            let full_url =
                format!("{}/Subscription/{}", state.fhir_base_url, subscription["id"].as_str().unwrap_or(""));
            json!({"fullUrl": full_url, "resource": subscription, "search": {"mode": "match"}})
        })
        .collect();
    let bundle = json!({"resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries});
    Ok(fhir_json(StatusCode::OK, bundle.to_string()))
}

pub async fn read(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> HandlerResult {
    let subscription = state.service.read_subscription(&context(caller), &id).await.map_err(error_response)?;
    Ok(fhir_json(StatusCode::OK, subscription.to_string()))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> HandlerResult {
    let resource = json_body(body)?;
    if let Some(body_id) = resource["id"].as_str()
        && body_id != id
    {
        return Err(error_response(ServiceError::Invalid(format!(
            "the body's id '{body_id}' is not the id in the URL"
        ))));
    }
    let updated = state.service.update_subscription(&context(caller), &id, resource).await.map_err(error_response)?;
    Ok(fhir_json(StatusCode::OK, updated.to_string()))
}

pub async fn delete(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> HandlerResult {
    state.service.delete_subscription(&context(caller), &id).await.map_err(error_response)?;
    Ok(axum::response::IntoResponse::into_response(StatusCode::NO_CONTENT))
}

/// `Subscription/$status?id=a,b`.
pub async fn type_status(State(state): State<AppState>, caller: Caller, RawQuery(query): RawQuery) -> HandlerResult {
    let ids: Vec<String> = parse_query(query.as_deref().unwrap_or(""))
        .into_iter()
        .filter(|(name, _)| name == "id")
        .flat_map(|(_, value)| value.split(',').map(|id| id.trim().to_string()).collect::<Vec<_>>())
        .filter(|id| !id.is_empty())
        .collect();
    status(&state, caller, ids).await
}

/// `Subscription/{id}/$status` and `Subscription/{id}/$events`.
pub async fn operation(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, operation)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> HandlerResult {
    match operation.as_str() {
        "$status" => status(&state, caller, vec![id]).await,
        "$events" => events(&state, caller, id, query.as_deref().unwrap_or("")).await,
        _ => Err(error_response(state.service.unknown_subscription_operation(&context(caller), &id, &operation).await)),
    }
}

async fn status(state: &AppState, caller: Caller, ids: Vec<String>) -> HandlerResult {
    let statuses = state.service.subscription_status(&context(caller), &ids).await.map_err(error_response)?;
    let bundle_id = kmcr_service::new_resource_id();
    let bundle = status_bundle(&statuses, &state.fhir_base_url, bundle_id.as_str(), &Instant::now().to_string());
    Ok(fhir_json(StatusCode::OK, bundle.to_string()))
}

async fn events(state: &AppState, caller: Caller, id: String, query: &str) -> HandlerResult {
    let mut asked = EventsQuery { since: None, until: None, content: None };
    for (name, value) in parse_query(query) {
        let number =
            || value.parse::<i64>().map_err(|_| error_response(ServiceError::Invalid(format!("{name} is a number"))));
        match name.as_str() {
            "eventsSinceNumber" => asked.since = Some(number()?),
            "eventsUntilNumber" => asked.until = Some(number()?),
            "content" => {
                asked.content = Some(Payload::parse(&value).ok_or_else(|| {
                    error_response(ServiceError::Invalid("content is one of empty, id-only, full-resource".into()))
                })?)
            }
            _ => return Err(error_response(ServiceError::Invalid(format!("$events does not take '{name}'")))),
        }
    }
    let notification = state.service.subscription_events(&context(caller), &id, asked).await.map_err(error_response)?;
    let bundle_id = kmcr_service::new_resource_id();
    let bundle = notification.to_bundle(&state.fhir_base_url, bundle_id.as_str(), &Instant::now().to_string());
    Ok(fhir_json(StatusCode::OK, bundle.to_string()))
}
