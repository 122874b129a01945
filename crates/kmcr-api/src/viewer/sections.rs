//! The parts of a person's record beyond the summary, each one `$everything` of the types it shows (with the Patients
//! and Flags every page of a person starts with): one decision and one audit entry per page view.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kmcr_viewer::record::PersonRecord;
use kmcr_viewer::section_pages::{self, PersonView};

use super::html;
use super::person::{PersonRead, read_person, today};
use super::sign_in::bar;
use crate::AppState;

async fn section_page(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    types: &[&str],
    draw: impl FnOnce(kmcr_viewer::layout::SignedInBar<'_>, &PersonView<'_>, &PersonRead) -> Option<String>,
) -> Response {
    let read = match read_person(state, headers, id, types).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let record = PersonRecord::of(&read.items, read.patient_id.as_str());
    let today = today();
    let view =
        PersonView { patient_id: read.patient_id.as_str(), record: &record, withheld: &read.withheld, today: &today };
    match draw(bar(&read.signed_in), &view, &read) {
        Some(page) => html(StatusCode::OK, page),
        None => {
            let page = kmcr_viewer::sign_in_pages::message_page(
                Some(bar(&read.signed_in)),
                "Not found",
                "There is no such item in this person's record, or it is not one you may see.",
            );
            html(StatusCode::NOT_FOUND, page)
        }
    }
}

/// `GET /viewer/person/{id}/results`.
pub async fn results(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    section_page(&state, &headers, &id, &["Observation"], |bar, view, read| {
        Some(section_pages::results_page(bar, view, &read.items))
    })
    .await
}

/// `GET /viewer/person/{id}/timeline`.
pub async fn timeline(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    section_page(&state, &headers, &id, &["Encounter"], |bar, view, _| Some(section_pages::timeline_page(bar, view)))
        .await
}

/// `GET /viewer/person/{id}/documents`.
pub async fn documents(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    section_page(&state, &headers, &id, &["DocumentReference"], |bar, view, _| {
        Some(section_pages::documents_page(bar, view))
    })
    .await
}

/// `GET /viewer/person/{id}/documents/{document_id}`: one document, read in the page.
pub async fn document(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, document_id)): Path<(String, String)>,
) -> Response {
    section_page(&state, &headers, &id, &["DocumentReference"], |bar, view, read| {
        let document =
            read.items.iter().find(|item| item.resource_type == "DocumentReference" && item.id == document_id)?;
        Some(section_pages::document_page(bar, view, document))
    })
    .await
}

/// `GET /viewer/person/{id}/medications`.
pub async fn medications(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    section_page(&state, &headers, &id, &["MedicationStatement", "MedicationRequest"], |bar, view, read| {
        Some(section_pages::medications_page(bar, view, &read.items))
    })
    .await
}

/// `GET /viewer/person/{id}/social-care`.
pub async fn social_care(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    section_page(&state, &headers, &id, &["EpisodeOfCare", "CarePlan", "CareTeam", "RelatedPerson"], |bar, view, _| {
        Some(section_pages::social_care_page(bar, view))
    })
    .await
}
