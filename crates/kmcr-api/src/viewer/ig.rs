//! Information governance's pages, through the service layer's IG operations (each decided: a Privacy Officer or
//! Caldicott Guardian role profile; each audited).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kmcr_fhir::{Instant, ResourceId};
use kmcr_service::ServiceError;
use kmcr_store::{AuditQuery, StoredGrant};
use kmcr_viewer::fhir_values::{concept_text, display_date};
use kmcr_viewer::ig_pages::{self, AccessEntry, BreakGlassUse, ConsentLine};
use kmcr_viewer::sign_in_pages;

use super::sign_in::{bar, form_refusal, require};
use super::{Fields, html, redirect, redirect_to};
use crate::AppState;

/// Audit entries shown on one page.
const ACCESS_ENTRIES: usize = 200;

fn refused(signed_in: &super::session::SignedIn, error: &ServiceError) -> Response {
    let (status, message) = match error {
        ServiceError::Forbidden(reason) => (StatusCode::FORBIDDEN, reason.clone()),
        ServiceError::Invalid(reason) => (StatusCode::BAD_REQUEST, reason.clone()),
        ServiceError::NotFound => (StatusCode::NOT_FOUND, "There is no such item.".to_string()),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "This cannot be done just now: try again shortly.".to_string()),
    };
    let page = sign_in_pages::message_page(Some(bar(signed_in)), "You cannot do this", &message);
    html(status, page)
}

fn when(unix_ms: i64) -> String {
    let text = Instant::from_unix_ms(unix_ms).to_string();
    format!("{} {}", display_date(&text[..10.min(text.len())]), text.get(11..16).unwrap_or_default())
}

fn use_of(state: &AppState, grant: &StoredGrant) -> BreakGlassUse {
    BreakGlassUse {
        grant_id: grant.grant_id,
        user_id: grant.user_id.clone(),
        role_profile_id: grant.role_profile_id.clone(),
        organisation: state.service.organisation_name(&grant.ods_code).unwrap_or_else(|| grant.ods_code.clone()),
        patient_id: grant.patient_id.clone(),
        reason: grant.reason.clone(),
        from: when(grant.from_ms),
        to: when(grant.to_ms),
        review: grant.review_outcome.as_ref().map(|outcome| {
            (
                outcome.clone(),
                grant.review_note.clone().unwrap_or_default(),
                grant.reviewed_by.clone().unwrap_or_default(),
            )
        }),
    }
}

/// `GET /viewer/ig/break-glass`: uses awaiting review, then those reviewed.
pub async fn break_glass_queue(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let signed_in = match require(&state, &headers, true).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let Some(context) = signed_in.context() else { return redirect("/viewer/role") };
    let open = match state.service.break_glass_uses(&context, Some("open"), 0, 200).await {
        Ok(open) => open,
        Err(error) => return refused(&signed_in, &error),
    };
    let reviewed = match state.service.break_glass_uses(&context, Some("reviewed"), 0, 200).await {
        Ok(reviewed) => reviewed,
        Err(error) => return refused(&signed_in, &error),
    };
    let open: Vec<BreakGlassUse> = open.iter().map(|grant| use_of(&state, grant)).collect();
    let mut reviewed: Vec<BreakGlassUse> = reviewed.iter().map(|grant| use_of(&state, grant)).collect();
    reviewed.reverse();
    html(StatusCode::OK, ig_pages::break_glass_page(bar(&signed_in), &open, &reviewed))
}

/// `POST /viewer/ig/break-glass/{grant_id}/review`.
pub async fn review(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(grant_id): Path<String>,
    body: Bytes,
) -> Response {
    let signed_in = match require(&state, &headers, true).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let form = Fields::parse(&body);
    if let Some(response) = form_refusal(&signed_in, form.get("csrf")) {
        return response;
    }
    let Some(context) = signed_in.context() else { return redirect("/viewer/role") };
    let Ok(grant_id) = grant_id.parse::<i64>() else { return refused(&signed_in, &ServiceError::NotFound) };
    match state.service.review_break_glass(&context, grant_id, form.get("outcome"), form.get("note").trim()).await {
        Ok(_) => redirect("/viewer/ig/break-glass"),
        Err(error) => refused(&signed_in, &error),
    }
}

/// `GET /viewer/ig/person/{id}/access`: who accessed the person's record (the person, when linked; else the record).
pub async fn access(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let signed_in = match require(&state, &headers, true).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let Some(context) = signed_in.context() else { return redirect("/viewer/role") };
    let Ok(patient_id) = ResourceId::parse(&id) else { return refused(&signed_in, &ServiceError::NotFound) };
    let subject = state
        .service
        .person_reference_of(patient_id.as_str())
        .unwrap_or_else(|| format!("Patient/{}", patient_id.as_str()));
    let page = match state.service.audit_trail(&context, AuditQuery::Subject(subject), 0, ACCESS_ENTRIES).await {
        Ok(page) => page,
        Err(error) => return refused(&signed_in, &error),
    };
    let entries: Vec<AccessEntry> = page
        .entries
        .iter()
        .map(|entry| {
            let record = &entry.record;
            let organisation = state
                .service
                .organisation_name(&record.actor_ods_code)
                .unwrap_or_else(|| record.actor_ods_code.clone());
            AccessEntry {
                when: when(record.recorded_unix_ms),
                who: record.actor_id.clone(),
                role: format!(
                    "{} at {organisation}",
                    record.job_role_code.clone().unwrap_or_else(|| record.actor_kind.clone())
                ),
                action: record.action.clone(),
                purpose: record.purpose_of_use.clone().unwrap_or_default(),
                outcome: record.outcome.clone(),
                reason: record.stated_reason.clone().unwrap_or_default(),
            }
        })
        .collect();
    let page = ig_pages::access_page(bar(&signed_in), patient_id.as_str(), &entries, page.scanned_through.is_some());
    html(StatusCode::OK, page)
}

/// `GET /viewer/ig/person/{id}/objections`: the person's Consent records.
pub async fn objections(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let signed_in = match require(&state, &headers, true).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let Some(context) = signed_in.context() else { return redirect_to("/viewer/role") };
    let Ok(patient_id) = ResourceId::parse(&id) else { return refused(&signed_in, &ServiceError::NotFound) };
    let consents = match state.service.objections_of(&context, &patient_id).await {
        Ok(consents) => consents,
        Err(error) => return refused(&signed_in, &error),
    };
    let lines: Vec<ConsentLine> = consents
        .iter()
        .filter_map(|(json, source)| {
            let consent: serde_json::Value = serde_json::from_str(json).ok()?;
            let what = concept_text(&consent["provision"]["code"][0])
                .or_else(|| concept_text(&consent["category"][0]))
                .or_else(|| concept_text(&consent["policyRule"]))
                .unwrap_or_else(|| "Objection".into());
            Some(ConsentLine {
                status: consent["status"].as_str().unwrap_or("unknown").to_string(),
                what,
                recorded: consent["dateTime"]
                    .as_str()
                    .map(|date| display_date(&date[..10.min(date.len())]))
                    .unwrap_or_default(),
                source: state.service.organisation_name(source).unwrap_or_else(|| source.clone()),
            })
        })
        .collect();
    html(StatusCode::OK, ig_pages::objections_page(bar(&signed_in), patient_id.as_str(), &lines))
}
