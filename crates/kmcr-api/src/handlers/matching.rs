//! `Patient/$match`, and the person index's own endpoints under `/mpi`: the review queue (both records side by side
//! with the evidence) where a data-quality officer links or keeps apart, and a record's link history.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kmcr_mpi::ManualDecision;
use kmcr_service::references::parse_query;
use kmcr_service::{ReviewView, ServiceError};
use kmcr_store::{Review, ReviewStatus, StoredResource};
use serde_json::{Value, json};

use super::{HandlerResult, context, json_body, resource_id};
use crate::AppState;
use crate::auth::Caller;
use crate::responses::{error_response, fhir_json};

const MATCH_GRADE_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/match-grade";
const MATCHED_PERSON_EXTENSION: &str = "https://kmcr.example.org/fhir/StructureDefinition/matched-person";
/// `$match` answers at most this many persons unless `count` asks for fewer.
const DEFAULT_MATCH_COUNT: usize = 10;

/// `POST /fhir/Patient/$match` with a Parameters body: `resource` (a Patient), `onlyCertainMatches`, `count`.
pub async fn patient_match(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> HandlerResult {
    let parameters = json_body(body)?;
    if parameters.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(error_response(ServiceError::Invalid("$match takes a Parameters resource".into())));
    }
    let mut patient = None;
    let mut only_certain_matches = false;
    let mut count = DEFAULT_MATCH_COUNT;
    for parameter in parameters.get("parameter").and_then(Value::as_array).into_iter().flatten() {
        match parameter.get("name").and_then(Value::as_str) {
            Some("resource") => patient = parameter.get("resource").cloned(),
            Some("onlyCertainMatches") => {
                only_certain_matches = parameter.get("valueBoolean").and_then(Value::as_bool).unwrap_or(false)
            }
            Some("count") => {
                count = parameter.get("valueInteger").and_then(Value::as_u64).map_or(count, |value| value as usize)
            }
            _ => {}
        }
    }
    let patient =
        patient.ok_or_else(|| error_response(ServiceError::Invalid("Parameters.parameter: no 'resource'".into())))?;
    let answers = state
        .service
        .match_patients(&context(caller), &patient, count, only_certain_matches)
        .await
        .map_err(error_response)?;
    let entries: Vec<Value> = answers
        .iter()
        .map(|answer| {
            json!({
                "fullUrl": format!("{}/Patient/{}", state.fhir_base_url, answer.patient.id),
                "resource": stored_json(&answer.patient),
                "search": {
                    "mode": "match",
                    "score": answer.match_probability,
                    "extension": [
                        { "url": MATCH_GRADE_EXTENSION, "valueCode": answer.grade.code() },
                        { "url": MATCHED_PERSON_EXTENSION, "valueReference": { "reference": format!("Person/{}", answer.person_id) } },
                    ],
                },
            })
        })
        .collect();
    let bundle = json!({ "resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries });
    Ok(fhir_json(StatusCode::OK, bundle.to_string()))
}

/// `GET /mpi/reviews?status=open&after=0&count=50`.
pub async fn reviews(State(state): State<AppState>, caller: Caller, RawQuery(query): RawQuery) -> HandlerResult {
    let (mut status, mut after, mut count) = (Some(ReviewStatus::Open), 0, 50);
    for (name, value) in parse_query(query.as_deref().unwrap_or("")) {
        match name.as_str() {
            "status" if value == "all" => status = None,
            "status" => {
                status = Some(ReviewStatus::parse(&value).ok_or_else(|| {
                    error_response(ServiceError::BadSearch("status is open, linked, kept-apart or all".into()))
                })?)
            }
            "after" => after = value.parse().map_err(|_| bad_number("after"))?,
            "count" => count = value.parse().map_err(|_| bad_number("count"))?,
            other => return Err(error_response(ServiceError::BadSearch(format!("unknown parameter '{other}'")))),
        }
    }
    let views = state.service.reviews(&context(caller), status, after, count).await.map_err(error_response)?;
    let next_after = views.last().map(|view| view.review.review_id);
    let reviews: Vec<Value> = views.iter().map(review_view_json).collect();
    Ok(fhir_json(StatusCode::OK, json!({ "reviews": reviews, "nextAfter": next_after }).to_string()))
}

/// `POST /mpi/reviews/{review_id}` with `{"decision": "link" | "keep-apart"}`.
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(review_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> HandlerResult {
    let review_id: i64 = review_id.parse().map_err(|_| error_response(ServiceError::NotFound))?;
    let body = json_body(body)?;
    let decision = match body.get("decision").and_then(Value::as_str) {
        Some("link") => ManualDecision::Link,
        Some("keep-apart") => ManualDecision::KeepApart,
        _ => return Err(error_response(ServiceError::Invalid("decision: 'link' or 'keep-apart'".into()))),
    };
    let review = state.service.decide_review(&context(caller), review_id, decision).await.map_err(error_response)?;
    Ok(fhir_json(StatusCode::OK, review_json(&review).to_string()))
}

/// `GET /mpi/patients/{id}/history`: every change of the record's person, oldest first.
pub async fn link_history(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> HandlerResult {
    let id = resource_id(&id)?;
    let history = state.service.link_history(&context(caller), &id).await.map_err(error_response)?;
    let entries: Vec<Value> = history
        .entries
        .iter()
        .map(|entry| {
            json!({
                "sequence": entry.sequence,
                "personBefore": entry.person_id_before,
                "personAfter": entry.person_id_after,
                "reason": entry.reason,
                "linkedThrough": entry.linked_through,
                "matchProbability": entry.score,
                "evidence": entry.evidence.as_deref().and_then(|text| serde_json::from_str::<Value>(text).ok()),
                "actor": entry.actor,
                "recorded": kmcr_fhir::Instant::from_unix_ms(entry.recorded_ms).to_string(),
            })
        })
        .collect();
    let body = json!({ "patient": id.as_str(), "person": history.person_id, "history": entries });
    Ok(fhir_json(StatusCode::OK, body.to_string()))
}

fn bad_number(name: &str) -> axum::response::Response {
    error_response(ServiceError::BadSearch(format!("{name} is a whole number")))
}

fn stored_json(stored: &StoredResource) -> Value {
    stored.json.as_deref().and_then(|text| serde_json::from_str(text).ok()).unwrap_or(Value::Null)
}

fn review_json(review: &Review) -> Value {
    json!({
        "id": review.review_id,
        "status": review.status.as_str(),
        "matchProbability": review.score,
        "evidence": serde_json::from_str::<Value>(&review.evidence).unwrap_or(Value::Null),
        "firstPatient": format!("Patient/{}", review.first_patient_id),
        "secondPatient": format!("Patient/{}", review.second_patient_id),
        "created": kmcr_fhir::Instant::from_unix_ms(review.created_ms).to_string(),
        "decidedBy": review.decided_by,
        "decided": review.decided_ms.map(|ms| kmcr_fhir::Instant::from_unix_ms(ms).to_string()),
    })
}

fn review_view_json(view: &ReviewView) -> Value {
    let mut value = review_json(&view.review);
    value["first"] = view.first.as_ref().map_or(Value::Null, stored_json);
    value["second"] = view.second.as_ref().map_or(Value::Null, stored_json);
    value
}
