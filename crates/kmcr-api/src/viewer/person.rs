//! Finding a person and reading their record, through the service layer as the signed-in user in their active role
//! profile: each page view is the same decision and the same audit entry as the API's search, `$everything` or read.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kmcr_access::GrantKind;
use kmcr_fhir::{Instant, NhsNumber, ResourceId, ResourceType};
use kmcr_service::{RequestContext, ServiceError};
use kmcr_store::{EverythingRequest, StoredResource};
use kmcr_viewer::person_pages::{self, DeclareKind};
use kmcr_viewer::record::{Item, PersonRecord};
use kmcr_viewer::search_pages::{self, Found, Outcome, SearchForm};
use kmcr_viewer::sign_in_pages;

use super::session::SignedIn;
use super::sign_in::{bar, form_refusal, require};
use super::{Fields, html, redirect_to};
use crate::AppState;

const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// Items of a person read for one page at most; a record beyond it is read page by page.
const PAGE_OF_ITEMS: usize = 1000;

/// `GET /viewer`: the search page.
pub async fn search_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let signed_in = match require(&state, &headers, true).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let page = search_pages::search_page(bar(&signed_in), &SearchForm::default(), Outcome::NotSearched);
    html(StatusCode::OK, page)
}

/// `POST /viewer/search`: posted, so that what was searched for stays out of URLs, logs and history.
pub async fn search(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signed_in = match require(&state, &headers, true).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let fields = Fields::parse(&body);
    if let Some(response) = form_refusal(&signed_in, fields.get("csrf")) {
        return response;
    }
    let form = SearchForm {
        nhs_number: fields.get("nhs_number").to_string(),
        family: fields.get("family").to_string(),
        given: fields.get("given").to_string(),
        birth_day: fields.get("birth_day").to_string(),
        birth_month: fields.get("birth_month").to_string(),
        birth_year: fields.get("birth_year").to_string(),
        postcode: fields.get("postcode").to_string(),
    };
    let invalid = |message: &str, field_id: &str| {
        let bar = bar(&signed_in);
        html(StatusCode::BAD_REQUEST, search_pages::search_page(bar, &form, Outcome::Invalid { message, field_id }))
    };
    let params = match fields.get("by") {
        "nhs-number" => {
            let digits: String = form.nhs_number.chars().filter(|character| !character.is_whitespace()).collect();
            if digits.is_empty() {
                return invalid("Enter an NHS number", "nhs-number");
            }
            if NhsNumber::parse(&digits).is_err() {
                return invalid("Enter a valid NHS number: 10 digits whose last is the check digit", "nhs-number");
            }
            vec![("identifier".to_string(), format!("{NHS_NUMBER_SYSTEM}|{digits}"))]
        }
        _ => {
            if form.family.trim().is_empty() {
                return invalid("Enter the person's family name", "family");
            }
            let Some(birth_date) = birth_date(&form.birth_day, &form.birth_month, &form.birth_year) else {
                return invalid("Enter the date of birth as day, month and year", "birth-day");
            };
            let mut params =
                vec![("family".to_string(), form.family.trim().to_string()), ("birthdate".to_string(), birth_date)];
            if !form.given.trim().is_empty() {
                params.push(("given".to_string(), form.given.trim().to_string()));
            }
            if !form.postcode.trim().is_empty() {
                params.push(("address-postalcode".to_string(), form.postcode.trim().to_string()));
            }
            params.push(("_count".to_string(), "50".to_string()));
            params
        }
    };
    let Some(context) = signed_in.context() else { return redirect_to("/viewer/role") };
    let result = match state.service.search(&context, ResourceType::PATIENT, &params, false, None).await {
        Ok(result) => result,
        Err(error) => return service_error_page(&signed_in, &error),
    };
    let found = group_by_person(&state, &result.outcome.matches);
    let bar = bar(&signed_in);
    html(StatusCode::OK, search_pages::search_page(bar, &form, Outcome::Found(&found)))
}

/// `YYYY-MM-DD` from the three boxes, if they make a real date.
fn birth_date(day: &str, month: &str, year: &str) -> Option<String> {
    let (day, month, year): (u32, u32, u32) =
        (day.trim().parse().ok()?, month.trim().parse().ok()?, year.trim().parse().ok()?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    ((1800..=9999).contains(&year) && (1..=days_in_month).contains(&day))
        .then(|| format!("{year:04}-{month:02}-{day:02}"))
}

/// One line per person: source records with the same NHS number are one person, each source named.
fn group_by_person(state: &AppState, patients: &[StoredResource]) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    for patient in patients {
        let Some(json) = patient.json.as_deref().and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
        else {
            continue;
        };
        let item = item_of(state, patient, json);
        let record = PersonRecord::of(std::slice::from_ref(&item), patient.id.as_str());
        let banner = record.banner;
        let same =
            found.iter_mut().find(|person| banner.nhs_number.is_some() && person.nhs_number == banner.nhs_number);
        match same {
            Some(person) => {
                if !person.known_to.contains(&item.source) {
                    person.known_to.push(item.source);
                }
            }
            None => found.push(Found {
                patient_id: patient.id.to_string(),
                name: banner.name,
                nhs_number: banner.nhs_number,
                birth_date: banner.birth_date,
                known_to: vec![item.source],
            }),
        }
    }
    found
}

fn item_of(state: &AppState, stored: &StoredResource, json: serde_json::Value) -> Item {
    item_from(stored, json, source_name(state, stored.source_ods_code.as_str()))
}

fn item_from(stored: &StoredResource, json: serde_json::Value, source: String) -> Item {
    Item { resource_type: stored.resource_type.to_string(), id: stored.id.to_string(), json, source }
}

/// An organisation's name as the registry knows it, else its ODS code.
fn source_name(state: &AppState, ods_code: &str) -> String {
    state.service.organisation_name(ods_code).unwrap_or_else(|| ods_code.to_string())
}

/// The items with their sources' names, each source looked up once (a record of 500 items has a handful).
fn items_of(state: &AppState, resources: &[StoredResource]) -> Vec<Item> {
    let mut names: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    resources
        .iter()
        .filter_map(|stored| {
            let json = serde_json::from_str(stored.json.as_deref()?).ok()?;
            let ods_code = stored.source_ods_code.as_str();
            let source = names.entry(ods_code).or_insert_with(|| source_name(state, ods_code)).clone();
            Some(item_from(stored, json, source))
        })
        .collect()
}

pub(super) fn today() -> String {
    Instant::now().to_string().chars().take(10).collect()
}

/// A person's items as the user may see them, with what was withheld.
pub(super) struct PersonRead {
    pub signed_in: SignedIn,
    pub patient_id: ResourceId,
    pub items: Vec<Item>,
    pub withheld: Vec<String>,
}

/// Reads the person `id` names through `$everything` as the signed-in user (only `types`, when given, besides the
/// Patients, Flags and the Organizations they name, which every page of a person shows): one decision, one audit
/// entry for each page of items. Without a relationship, the response is the banner (a read of the Patient) and the
/// ways to declare one.
pub(super) async fn read_person(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    types: &[&str],
) -> Result<PersonRead, Response> {
    let signed_in = require(state, headers, true).await?;
    let Some(context) = signed_in.context() else { return Err(redirect_to("/viewer/role")) };
    let Ok(patient_id) = ResourceId::parse(id) else { return Err(not_found(&signed_in)) };
    let types: Vec<ResourceType> = if types.is_empty() {
        Vec::new()
    } else {
        ["Patient", "Flag", "Organization"]
            .iter()
            .chain(types)
            .filter_map(|name| ResourceType::parse(name).ok())
            .collect()
    };
    let mut resources = Vec::new();
    let mut withheld = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let request = EverythingRequest {
            patient_ids: vec![patient_id.clone()],
            since: None,
            types: types.clone(),
            count: PAGE_OF_ITEMS,
            cursor: None,
        };
        match state.service.everything(&context, request, cursor.as_deref()).await {
            Ok(page) => {
                resources.extend(page.resources);
                for notice in page.withheld {
                    if !withheld.contains(&notice) {
                        withheld.push(notice);
                    }
                }
                cursor = page.next_cursor;
                if cursor.is_none() {
                    break;
                }
            }
            Err(ServiceError::Forbidden(reason)) => {
                return Err(no_relationship(state, &signed_in, &context, &patient_id, &reason).await);
            }
            Err(error) => return Err(service_error_page(&signed_in, &error)),
        }
    }
    let items = items_of(state, &resources);
    Ok(PersonRead { signed_in, patient_id, items, withheld })
}

/// `GET /viewer/person/{id}`: the summary.
pub async fn summary(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let read = match read_person(&state, &headers, &id, &[]).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let record = PersonRecord::of(&read.items, read.patient_id.as_str());
    let page =
        person_pages::summary_page(bar(&read.signed_in), read.patient_id.as_str(), &record, &read.withheld, &today());
    html(StatusCode::OK, page)
}

/// The banner of a person the user may find but not yet read, with why and the ways in.
async fn no_relationship(
    state: &AppState,
    signed_in: &SignedIn,
    context: &RequestContext,
    patient_id: &ResourceId,
    reason: &str,
) -> Response {
    let banner = match banner_of(state, context, patient_id).await {
        Ok(banner) => banner,
        Err(error) => return service_error_page(signed_in, &error),
    };
    let page = person_pages::no_relationship_page(bar(signed_in), patient_id.as_str(), &banner, reason, &today());
    // The page itself is what the user asked for: the refusal is in the audit, and the way in is offered.
    html(StatusCode::OK, page)
}

async fn banner_of(
    state: &AppState,
    context: &RequestContext,
    patient_id: &ResourceId,
) -> Result<kmcr_viewer::record::Banner, ServiceError> {
    let patient = state.service.read(context, ResourceType::PATIENT, patient_id).await?;
    let items = items_of(state, std::slice::from_ref(&patient));
    Ok(PersonRecord::of(&items, patient_id.as_str()).banner)
}

fn not_found(signed_in: &SignedIn) -> Response {
    let page = sign_in_pages::message_page(
        Some(bar(signed_in)),
        "Person not found",
        "There is no such person, or their record is not one you may see.",
    );
    html(StatusCode::NOT_FOUND, page)
}

fn service_error_page(signed_in: &SignedIn, error: &ServiceError) -> Response {
    let (status, title, message) = match error {
        ServiceError::NotFound | ServiceError::Gone => return not_found(signed_in),
        ServiceError::Forbidden(reason) => (StatusCode::FORBIDDEN, "You cannot do this", reason.clone()),
        ServiceError::Invalid(reason) | ServiceError::BadSearch(reason) => {
            (StatusCode::BAD_REQUEST, "Check what you entered", reason.clone())
        }
        ServiceError::Unavailable | ServiceError::Corrupt => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Sorry, there is a problem",
            "The record cannot be read just now: try again shortly.".to_string(),
        ),
        other => (StatusCode::BAD_REQUEST, "This could not be done", other.to_string()),
    };
    html(status, sign_in_pages::message_page(Some(bar(signed_in)), title, &message))
}

/// `GET /viewer/person/{id}/relationship`.
pub async fn relationship_page(state: State<AppState>, headers: HeaderMap, id: Path<String>) -> Response {
    declare_page(state, headers, id, DeclareKind::Relationship).await
}

/// `GET /viewer/person/{id}/sealed`.
pub async fn sealed_page(state: State<AppState>, headers: HeaderMap, id: Path<String>) -> Response {
    declare_page(state, headers, id, DeclareKind::SensitiveAccess).await
}

/// `POST /viewer/person/{id}/sealed`.
pub async fn declare_sealed(state: State<AppState>, headers: HeaderMap, id: Path<String>, body: Bytes) -> Response {
    declare(state, headers, id, body, DeclareKind::SensitiveAccess).await
}

/// `GET /viewer/person/{id}/break-glass`.
pub async fn break_glass_page(state: State<AppState>, headers: HeaderMap, id: Path<String>) -> Response {
    declare_page(state, headers, id, DeclareKind::BreakGlass).await
}

async fn declare_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    kind: DeclareKind,
) -> Response {
    let signed_in = match require(&state, &headers, true).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let Some(context) = signed_in.context() else { return redirect_to("/viewer/role") };
    let Ok(patient_id) = ResourceId::parse(&id) else { return not_found(&signed_in) };
    let banner = match banner_of(&state, &context, &patient_id).await {
        Ok(banner) => banner,
        Err(error) => return service_error_page(&signed_in, &error),
    };
    let page = person_pages::declare_page(bar(&signed_in), patient_id.as_str(), kind, &banner, None, &today());
    html(StatusCode::OK, page)
}

/// `POST /viewer/person/{id}/relationship`.
pub async fn declare_relationship(
    state: State<AppState>,
    headers: HeaderMap,
    id: Path<String>,
    body: Bytes,
) -> Response {
    declare(state, headers, id, body, DeclareKind::Relationship).await
}

/// `POST /viewer/person/{id}/break-glass`.
pub async fn break_glass(state: State<AppState>, headers: HeaderMap, id: Path<String>, body: Bytes) -> Response {
    declare(state, headers, id, body, DeclareKind::BreakGlass).await
}

/// Declares through the service (decided and audited there), then opens the record.
async fn declare(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
    kind: DeclareKind,
) -> Response {
    let signed_in = match require(&state, &headers, true).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let form = Fields::parse(&body);
    if let Some(response) = form_refusal(&signed_in, form.get("csrf")) {
        return response;
    }
    let Some(context) = signed_in.context() else { return redirect_to("/viewer/role") };
    let Ok(patient_id) = ResourceId::parse(&id) else { return not_found(&signed_in) };
    let (grant_kind, minutes) = match kind {
        DeclareKind::Relationship => (GrantKind::DeclaredRelationship, 24 * 60),
        DeclareKind::BreakGlass => (GrantKind::BreakGlass, 4 * 60),
        DeclareKind::SensitiveAccess => (GrantKind::SensitiveAccess, 8 * 60),
    };
    let request = kmcr_service::GrantRequest {
        kind: grant_kind,
        patient_id: patient_id.clone(),
        reason: form.get("reason").to_string(),
        minutes,
    };
    match state.service.declare(&context, request).await {
        Ok(_) => redirect_to(&format!("/viewer/person/{}", patient_id.as_str())),
        Err(ServiceError::Invalid(message)) => {
            let banner = match banner_of(&state, &context, &patient_id).await {
                Ok(banner) => banner,
                Err(error) => return service_error_page(&signed_in, &error),
            };
            let message = format!("{}{}", message[..1].to_uppercase(), &message[1..]);
            let page = person_pages::declare_page(
                bar(&signed_in),
                patient_id.as_str(),
                kind,
                &banner,
                Some(&message),
                &today(),
            );
            html(StatusCode::BAD_REQUEST, page)
        }
        Err(error) => service_error_page(&signed_in, &error),
    }
}
