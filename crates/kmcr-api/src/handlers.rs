//! One handler per FHIR interaction: parse the HTTP request, call the service, shape the FHIR response.

// Handlers and their helpers return the error response itself: it is built once per failed request and returned
// straight to axum, so boxing it would cost an allocation and buy nothing.
#![allow(clippy::result_large_err)]

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kmcr_fhir::{Instant, ResourceId, ResourceType};
use kmcr_service::references::parse_query;
use kmcr_service::{CreateResult, RequestContext, ServiceError};
use kmcr_store::{EverythingRequest, HistoryRequest};
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::responses::{ReturnPreference, error_response, fhir_json, resource_response, write_response};

pub mod access;
mod bundles;
pub mod feeds;
pub mod loads;
pub mod matching;
pub mod subscriptions;

use bundles::{history_bundle, page_bundle, search_bundle};

type HandlerResult = Result<Response, Response>;

pub(crate) fn context(Caller(principal): Caller) -> RequestContext {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    let request_id: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    tracing::debug!(%request_id, principal = %principal.id(), "request");
    RequestContext { principal, request_id }
}

fn resource_type(name: &str) -> Result<ResourceType, Response> {
    ResourceType::parse(name).map_err(|_| {
        crate::responses::outcome_response(
            StatusCode::NOT_FOUND,
            "not-supported",
            "KMCR-UNKNOWN-TYPE",
            "not a FHIR R4 resource type",
        )
    })
}

fn resource_id(text: &str) -> Result<ResourceId, Response> {
    ResourceId::parse(text).map_err(|error| error_response(ServiceError::Invalid(format!("id: {error}"))))
}

/// The request body as JSON, or the reason it is not.
fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, Response> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            error_response(ServiceError::TooLarge("the request body is larger than this server accepts".into()))
        } else {
            error_response(ServiceError::Invalid("the request body could not be read".into()))
        }
    })?;
    if bytes.is_empty() {
        return Err(error_response(ServiceError::Invalid("the request has no body".into())));
    }
    serde_json::from_slice(&bytes).map_err(|error| {
        error_response(ServiceError::Invalid(format!(
            "the body is not JSON: line {}, column {}: {}",
            error.line(),
            error.column(),
            match error.classify() {
                serde_json::error::Category::Eof => "it ends too early",
                serde_json::error::Category::Syntax => "syntax error",
                _ => "unexpected data",
            }
        )))
    })
}

fn prefers_lenient(headers: &HeaderMap) -> bool {
    prefer_values(headers).any(|value| value == "handling=lenient")
}

fn return_preference(headers: &HeaderMap) -> ReturnPreference {
    let mut preference = ReturnPreference::Representation;
    for value in prefer_values(headers) {
        match value.as_str() {
            "return=minimal" => preference = ReturnPreference::Minimal,
            "return=OperationOutcome" => preference = ReturnPreference::OperationOutcome,
            "return=representation" => preference = ReturnPreference::Representation,
            _ => {}
        }
    }
    preference
}

fn prefer_values(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split([',', ';']))
        .map(|value| value.trim().replace(' ', ""))
}

fn if_match_version(headers: &HeaderMap) -> Result<Option<i64>, Response> {
    match headers.get("if-match").map(|value| value.to_str()) {
        None => Ok(None),
        Some(Ok(text)) => kmcr_service::references::etag_version(text).map(Some).map_err(error_response),
        Some(Err(_)) => Err(error_response(ServiceError::Invalid("If-Match is not a version ETag".into()))),
    }
}

/// Search parameters with the paging cursor taken out.
fn split_cursor(params: Vec<(String, String)>) -> (Vec<(String, String)>, Option<String>) {
    let mut cursor = None;
    let params = params
        .into_iter()
        .filter(|(name, value)| {
            if name == "_cursor" {
                cursor = Some(value.clone());
                false
            } else {
                !matches!(name.as_str(), "_format" | "_pretty")
            }
        })
        .collect();
    (params, cursor)
}

pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path((type_name, id)): Path<(String, String)>,
) -> HandlerResult {
    let (resource_type, id) = (resource_type(&type_name)?, resource_id(&id)?);
    let stored = state.service.read(&context(caller), resource_type, &id).await.map_err(error_response)?;
    Ok(resource_response(StatusCode::OK, &stored))
}

pub async fn vread(
    State(state): State<AppState>,
    caller: Caller,
    Path((type_name, id, version_id)): Path<(String, String, String)>,
) -> HandlerResult {
    let (resource_type, id) = (resource_type(&type_name)?, resource_id(&id)?);
    let version_id: i64 = version_id.parse().map_err(|_| error_response(ServiceError::NotFound))?;
    let stored = state.service.vread(&context(caller), resource_type, &id, version_id).await.map_err(error_response)?;
    Ok(resource_response(StatusCode::OK, &stored))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(type_name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> HandlerResult {
    let resource_type = resource_type(&type_name)?;
    let resource = json_body(body)?;
    let if_none_exist = headers
        .get("if-none-exist")
        .and_then(|value| value.to_str().ok())
        .map(|query| parse_query(query.trim_start_matches('?')));
    let result = state
        .service
        .create(&context(caller), resource_type, resource, if_none_exist.as_deref())
        .await
        .map_err(error_response)?;
    Ok(match result {
        CreateResult::Created(outcome) => {
            write_response(StatusCode::CREATED, &outcome, &state.fhir_base_url, return_preference(&headers))
        }
        CreateResult::Exists { resource, readable: true } => resource_response(StatusCode::OK, &resource),
        // A write-only source learns where its own item is, not what it holds.
        CreateResult::Exists { resource, readable: false } => {
            crate::responses::exists_response(&resource, &state.fhir_base_url)
        }
    })
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((type_name, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> HandlerResult {
    let (resource_type, id) = (resource_type(&type_name)?, resource_id(&id)?);
    let resource = json_body(body)?;
    let if_match = if_match_version(&headers)?;
    let outcome =
        state.service.update(&context(caller), resource_type, id, resource, if_match).await.map_err(error_response)?;
    let status = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(write_response(status, &outcome, &state.fhir_base_url, return_preference(&headers)))
}

pub async fn conditional_update(
    State(state): State<AppState>,
    caller: Caller,
    Path(type_name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> HandlerResult {
    let resource_type = resource_type(&type_name)?;
    let condition = parse_query(query.as_deref().unwrap_or(""));
    if condition.is_empty() {
        return Err(crate::responses::method_not_allowed().await);
    }
    let resource = json_body(body)?;
    let outcome = state
        .service
        .conditional_update(&context(caller), resource_type, &condition, resource)
        .await
        .map_err(error_response)?;
    let status = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(write_response(status, &outcome, &state.fhir_base_url, return_preference(&headers)))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((type_name, id)): Path<(String, String)>,
) -> HandlerResult {
    let (resource_type, id) = (resource_type(&type_name)?, resource_id(&id)?);
    let outcome = state.service.delete(&context(caller), resource_type, id).await.map_err(error_response)?;
    let text = if outcome.unchanged {
        format!("{resource_type}/{} was not there; nothing to delete", outcome.id)
    } else {
        format!("{resource_type}/{} deleted (version {})", outcome.id, outcome.version_id)
    };
    let body = kmcr_service::outcome_with("information", "informational", "KMCR-DELETED", &text);
    let mut response = fhir_json(StatusCode::OK, body.to_string());
    if !outcome.unchanged {
        crate::responses::add_version_headers(&mut response, outcome.version_id, outcome.last_updated);
    }
    Ok(response)
}

pub async fn search_get(
    State(state): State<AppState>,
    caller: Caller,
    Path(type_name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> HandlerResult {
    let resource_type = resource_type(&type_name)?;
    search(state, caller, resource_type, parse_query(query.as_deref().unwrap_or("")), &headers).await
}

pub async fn search_post(
    State(state): State<AppState>,
    caller: Caller,
    Path(type_name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> HandlerResult {
    let resource_type = resource_type(&type_name)?;
    let body = body.map_err(|_| error_response(ServiceError::Invalid("the form body could not be read".into())))?;
    let mut params = parse_query(query.as_deref().unwrap_or(""));
    params.extend(parse_query(std::str::from_utf8(&body).unwrap_or("")));
    search(state, caller, resource_type, params, &headers).await
}

async fn search(
    state: AppState,
    caller: Caller,
    resource_type: ResourceType,
    params: Vec<(String, String)>,
    headers: &HeaderMap,
) -> HandlerResult {
    let (params, cursor) = split_cursor(params);
    let lenient = prefers_lenient(headers);
    let result = state
        .service
        .search(&context(caller), resource_type, &params, lenient, cursor.as_deref())
        .await
        .map_err(error_response)?;
    Ok(fhir_json(StatusCode::OK, search_bundle(&state.fhir_base_url, resource_type, &params, &result)))
}

pub async fn history_system(State(state): State<AppState>, caller: Caller, RawQuery(query): RawQuery) -> HandlerResult {
    history(state, caller, None, None, query).await
}

pub async fn history_type(
    State(state): State<AppState>,
    caller: Caller,
    Path(type_name): Path<String>,
    RawQuery(query): RawQuery,
) -> HandlerResult {
    let resource_type = resource_type(&type_name)?;
    history(state, caller, Some(resource_type), None, query).await
}

pub async fn history_instance(
    State(state): State<AppState>,
    caller: Caller,
    Path((type_name, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> HandlerResult {
    let (resource_type, id) = (resource_type(&type_name)?, resource_id(&id)?);
    history(state, caller, Some(resource_type), Some(id), query).await
}

async fn history(
    state: AppState,
    caller: Caller,
    resource_type: Option<ResourceType>,
    id: Option<ResourceId>,
    query: Option<String>,
) -> HandlerResult {
    let (params, cursor) = split_cursor(parse_query(query.as_deref().unwrap_or("")));
    let limits = state.service.limits().clone();
    let mut request = HistoryRequest { resource_type, id, since: None, count: limits.default_page_size, cursor: None };
    for (name, value) in &params {
        match name.as_str() {
            "_count" => request.count = parse_count(value, limits.max_page_size)?,
            "_since" => request.since = Some(parse_instant(value)?),
            _ => return Err(error_response(ServiceError::BadSearch(format!("history does not take '{name}'")))),
        }
    }
    let path = match (resource_type, &request.id) {
        (Some(resource_type), Some(id)) => format!("{resource_type}/{id}/_history"),
        (Some(resource_type), None) => format!("{resource_type}/_history"),
        _ => "_history".to_string(),
    };
    let page = state.service.history(&context(caller), request, cursor.as_deref()).await.map_err(error_response)?;
    Ok(fhir_json(StatusCode::OK, history_bundle(&state.fhir_base_url, &path, &params, &page)))
}

fn parse_count(value: &str, max: usize) -> Result<usize, Response> {
    value
        .parse::<usize>()
        .map(|count| count.min(max))
        .map_err(|_| error_response(ServiceError::BadSearch("_count is a whole number".into())))
}

fn parse_instant(value: &str) -> Result<Instant, Response> {
    kmcr_fhir_search::date::parse_date_range(value).map(|range| Instant::from_unix_ms(range.low_ms)).map_err(|_| {
        error_response(ServiceError::BadSearch("_since is an instant such as 2026-01-01T00:00:00Z".into()))
    })
}

pub async fn instance_operation(
    State(state): State<AppState>,
    caller: Caller,
    Path((type_name, id, operation)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> HandlerResult {
    let resource_type = resource_type(&type_name)?;
    if resource_type != ResourceType::PATIENT || operation != "$everything" {
        return Err(crate::responses::outcome_response(
            StatusCode::NOT_FOUND,
            "not-supported",
            "KMCR-UNKNOWN-OPERATION",
            "no such operation on this resource type",
        ));
    }
    let id = resource_id(&id)?;
    let (params, cursor) = split_cursor(parse_query(query.as_deref().unwrap_or("")));
    let limits = state.service.limits().clone();
    let mut request = EverythingRequest {
        patient_ids: vec![id.clone()],
        since: None,
        types: Vec::new(),
        count: limits.max_page_size,
        cursor: None,
    };
    for (name, value) in &params {
        match name.as_str() {
            "_count" => request.count = parse_count(value, limits.max_page_size)?,
            "_since" => request.since = Some(parse_instant(value)?),
            "_type" => {
                for type_name in value.split(',') {
                    let listed = ResourceType::parse(type_name.trim()).map_err(|_| {
                        error_response(ServiceError::BadSearch(format!("_type: '{type_name}' is not a resource type")))
                    })?;
                    request.types.push(listed);
                }
            }
            _ => return Err(error_response(ServiceError::BadSearch(format!("$everything does not take '{name}'")))),
        }
    }
    let page = state.service.everything(&context(caller), request, cursor.as_deref()).await.map_err(error_response)?;
    let self_path = format!("Patient/{id}/$everything");
    Ok(fhir_json(StatusCode::OK, page_bundle(&state.fhir_base_url, &self_path, &params, &page)))
}

pub async fn bundle(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> HandlerResult {
    let bundle = json_body(body)?;
    let response = state.service.bundle(&context(caller), bundle).await.map_err(error_response)?;
    Ok(fhir_json(StatusCode::OK, response.to_string()))
}
