//! The access endpoints (JSON): a user declares a legitimate relationship, break-glass or a reason to see sealed
//! items; information governance reviews break-glass uses and asks the audit who accessed whom (answered as FHIR
//! AuditEvents shaped as IHE BALP).

#![allow(clippy::result_large_err)]

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kmcr_access::GrantKind;
use kmcr_fhir::ResourceId;
use kmcr_service::{GrantRequest, ServiceError};
use kmcr_store::{AuditQuery, StoredGrant};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::handlers::context;
use crate::responses::error_response;

#[derive(Deserialize)]
pub struct DeclareBody {
    /// `declared-relationship`, `break-glass` or `sensitive-access`.
    kind: String,
    /// The Patient id of the record the user opened.
    patient: String,
    reason: String,
    minutes: Option<i64>,
}

fn grant_json(grant: &StoredGrant) -> Value {
    json!({
        "id": grant.grant_id,
        "kind": grant.kind,
        "userId": grant.user_id,
        "roleProfileId": grant.role_profile_id,
        "odsCode": grant.ods_code,
        "patient": format!("Patient/{}", grant.patient_id),
        "reason": grant.reason,
        "from": kmcr_fhir::Instant::from_unix_ms(grant.from_ms).to_string(),
        "until": kmcr_fhir::Instant::from_unix_ms(grant.to_ms).to_string(),
        "reviewStatus": grant.review_status,
        "reviewedBy": grant.reviewed_by,
        "reviewOutcome": grant.review_outcome,
        "reviewNote": grant.review_note,
    })
}

/// `POST /access/grants`.
pub async fn declare(State(state): State<AppState>, caller: Caller, Json(body): Json<DeclareBody>) -> Response {
    let Some(kind) = GrantKind::parse(&body.kind) else {
        return error_response(ServiceError::Invalid(
            "kind: declared-relationship, break-glass or sensitive-access".into(),
        ));
    };
    let patient_id = match ResourceId::parse(body.patient.trim_start_matches("Patient/")) {
        Ok(id) => id,
        Err(error) => return error_response(ServiceError::Invalid(format!("patient: {error}"))),
    };
    let request = GrantRequest { kind, patient_id, reason: body.reason, minutes: body.minutes.unwrap_or(60) };
    match state.service.declare(&context(caller), request).await {
        Ok(grant) => (StatusCode::CREATED, Json(grant_json(&grant))).into_response(),
        Err(error) => error_response(error),
    }
}

#[derive(Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
    after: Option<i64>,
    count: Option<usize>,
}

/// `GET /access/break-glass?status=open`: the IG review queue.
pub async fn break_glass_queue(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<QueueQuery>,
) -> Response {
    let status = query.status.as_deref().filter(|status| *status != "all");
    let result = state
        .service
        .break_glass_uses(&context(caller), status, query.after.unwrap_or(0), query.count.unwrap_or(50))
        .await;
    match result {
        Ok(grants) => Json(json!({ "uses": grants.iter().map(grant_json).collect::<Vec<_>>() })).into_response(),
        Err(error) => error_response(error),
    }
}

#[derive(Deserialize)]
pub struct ReviewBody {
    outcome: String,
    #[serde(default)]
    note: String,
}

/// `POST /access/break-glass/{id}/review`.
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    Path(grant_id): Path<i64>,
    Json(body): Json<ReviewBody>,
) -> Response {
    match state.service.review_break_glass(&context(caller), grant_id, &body.outcome, &body.note).await {
        Ok(grant) => Json(grant_json(&grant)).into_response(),
        Err(error) => error_response(error),
    }
}

#[derive(Deserialize)]
pub struct AuditTrailQuery {
    person: Option<String>,
    patient: Option<String>,
    actor: Option<String>,
    #[serde(rename = "break-glass")]
    break_glass: Option<String>,
    sealed: Option<String>,
    after: Option<i64>,
    count: Option<usize>,
}

/// `GET /audit/events?person=..|patient=..|actor=..|break-glass=true|sealed=true`: a Bundle of AuditEvents (IHE BALP).
pub async fn audit_events(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditTrailQuery>,
) -> Response {
    let audit_query = match (&query.person, &query.patient, &query.actor) {
        (Some(person), _, _) => AuditQuery::Subject(format!("Person/{}", person.trim_start_matches("Person/"))),
        (None, Some(patient), _) => AuditQuery::Subject(format!("Patient/{}", patient.trim_start_matches("Patient/"))),
        (None, None, Some(actor)) => AuditQuery::Actor { actor_id: actor.clone(), since_ms: None, until_ms: None },
        _ if query.break_glass.is_some() => AuditQuery::BreakGlass,
        _ if query.sealed.is_some() => AuditQuery::SealedItemsShown,
        _ => {
            return error_response(ServiceError::BadSearch(
                "ask by person, patient, actor, break-glass=true or sealed=true".into(),
            ));
        }
    };
    let count = query.count.unwrap_or(100);
    let page = match state.service.audit_trail(&context(caller), audit_query, query.after.unwrap_or(0), count).await {
        Ok(page) => page,
        Err(error) => return error_response(error),
    };
    let events: Vec<Value> =
        page.entries.iter().flat_map(kmcr_audit::audit_events).map(|event| json!({ "resource": event })).collect();
    let mut bundle = json!({ "resourceType": "Bundle", "type": "searchset", "entry": events });
    if let Some(last) = page.scanned_through {
        // The same question, from where this page stopped.
        let mut next = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [("person", &query.person), ("patient", &query.patient), ("actor", &query.actor)]
            .into_iter()
            .chain([("break-glass", &query.break_glass), ("sealed", &query.sealed)])
        {
            if let Some(value) = value {
                next.append_pair(name, value);
            }
        }
        next.append_pair("after", &last.to_string()).append_pair("count", &count.to_string());
        bundle["link"] = json!([{ "relation": "next", "url": format!("/audit/events?{}", next.finish()) }]);
    }
    crate::responses::fhir_json(StatusCode::OK, bundle.to_string())
}
