//! FHIR HTTP responses: resources with their headers, Bundles, and OperationOutcomes for every error.

use axum::http::header::{CONTENT_TYPE, ETAG, LAST_MODIFIED, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kmcr_service::{ServiceError, operation_outcome, outcome_with};
use kmcr_store::{StoredResource, WriteOutcome};
use serde_json::Value;

use crate::http_date::http_date;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// A JSON body with the FHIR media type.
pub fn fhir_json(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

pub fn outcome_response(status: StatusCode, issue_code: &str, stable_code: &str, text: &str) -> Response {
    fhir_json(status, outcome_with("error", issue_code, stable_code, text).to_string())
}

/// The one place a service error becomes an HTTP response.
pub fn error_response(error: ServiceError) -> Response {
    let (status, _, stable_code) = error.classify();
    if status >= 500 {
        tracing::error!(stable_code, "request failed");
    } else {
        tracing::debug!(stable_code, "request refused");
    }
    let status = StatusCode::from_u16(status).expect("the table holds valid statuses");
    fhir_json(status, operation_outcome(&error).to_string())
}

/// A stored resource with `ETag` and `Last-Modified`.
pub fn resource_response(status: StatusCode, resource: &StoredResource) -> Response {
    let mut response = fhir_json(status, resource.json.clone().unwrap_or_default());
    add_version_headers(&mut response, resource.version_id, resource.last_updated);
    response
}

/// `If-None-Exist` found the item, and the caller may not read it: where it is, as an OperationOutcome, no body.
pub fn exists_response(resource: &StoredResource, base_url: &str) -> Response {
    let text = format!("{}/{} already exists; nothing was created", resource.resource_type, resource.id);
    let body = kmcr_service::outcome_with("information", "informational", "KMCR-EXISTS", &text);
    let mut response = fhir_json(StatusCode::OK, body.to_string());
    let location = format!("{base_url}/{}/{}/_history/{}", resource.resource_type, resource.id, resource.version_id);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(axum::http::header::LOCATION, location);
    }
    add_version_headers(&mut response, resource.version_id, resource.last_updated);
    response
}

pub fn add_version_headers(response: &mut Response, version_id: i64, last_updated: kmcr_fhir::Instant) {
    let headers = response.headers_mut();
    headers.insert(ETAG, HeaderValue::from_str(&format!("W/\"{version_id}\"")).expect("ascii"));
    headers.insert(LAST_MODIFIED, HeaderValue::from_str(&http_date(last_updated)).expect("ascii"));
}

/// What `Prefer: return=` asks for after a write.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ReturnPreference {
    Minimal,
    Representation,
    OperationOutcome,
}

pub fn write_response(
    status: StatusCode,
    outcome: &WriteOutcome,
    base_url: &str,
    preference: ReturnPreference,
) -> Response {
    let body = match preference {
        ReturnPreference::Representation => outcome.json.clone().unwrap_or_default(),
        ReturnPreference::Minimal => String::new(),
        ReturnPreference::OperationOutcome => {
            let text = format!("{}/{} stored as version {}", outcome.resource_type, outcome.id, outcome.version_id);
            let mut outcome_json = outcome_with("information", "informational", "KMCR-OK", &text);
            outcome_json["issue"][0]["severity"] = Value::String("information".into());
            outcome_json.to_string()
        }
    };
    let mut response = if body.is_empty() { status.into_response() } else { fhir_json(status, body) };
    add_version_headers(&mut response, outcome.version_id, outcome.last_updated);
    let location = format!("{base_url}/{}/{}/_history/{}", outcome.resource_type, outcome.id, outcome.version_id);
    response.headers_mut().insert(LOCATION, HeaderValue::from_str(&location).expect("ids are ascii"));
    response
}

pub async fn method_not_allowed() -> Response {
    outcome_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
        "KMCR-METHOD-NOT-ALLOWED",
        "this interaction is not supported on this URL",
    )
}

pub async fn no_such_endpoint() -> Response {
    outcome_response(StatusCode::NOT_FOUND, "not-found", "KMCR-NO-ENDPOINT", "no FHIR endpoint at this URL")
}
