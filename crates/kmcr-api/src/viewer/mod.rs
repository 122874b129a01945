//! The clinician viewer (`/viewer`): server-rendered NHS.UK pages (`kmcr-viewer` draws them) for signing in,
//! choosing a role profile, finding a person and reading their record. Each page is one more caller of the service
//! layer, with the signed-in user in their active role profile as the principal: the same decision and audit entry as
//! the API, no second path to the data. Every page is sent with a Content-Security-Policy that allows no inline script
//! or style, no framing, and forms only to KMCR; every form carries the session's CSRF token; no patient data goes in
//! a URL but resource ids (searches are posted).

mod ig;
mod person;
mod sections;
mod session;
mod sign_in;

pub use sign_in::{IdentityProviderSignIn, signed_in_through_identity_provider};

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;

/// The viewer's routes (listed in `crate::ROUTES` too).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/viewer", get(person::search_page))
        .route("/viewer/search", post(person::search))
        .route("/viewer/person/{id}", get(person::summary))
        .route("/viewer/person/{id}/results", get(sections::results))
        .route("/viewer/person/{id}/timeline", get(sections::timeline))
        .route("/viewer/person/{id}/documents", get(sections::documents))
        .route("/viewer/person/{id}/documents/{document_id}", get(sections::document))
        .route("/viewer/person/{id}/medications", get(sections::medications))
        .route("/viewer/person/{id}/social-care", get(sections::social_care))
        .route("/viewer/person/{id}/relationship", get(person::relationship_page).post(person::declare_relationship))
        .route("/viewer/person/{id}/break-glass", get(person::break_glass_page).post(person::break_glass))
        .route("/viewer/person/{id}/sealed", get(person::sealed_page).post(person::declare_sealed))
        .route("/viewer/ig/break-glass", get(ig::break_glass_queue))
        .route("/viewer/ig/break-glass/{grant_id}/review", post(ig::review))
        .route("/viewer/ig/person/{id}/access", get(ig::access))
        .route("/viewer/ig/person/{id}/objections", get(ig::objections))
        .route("/viewer/sign-in", get(sign_in::sign_in_page).post(sign_in::sign_in))
        .route("/viewer/sign-in/cis2", get(crate::auth::viewer_oidc_start))
        .route("/viewer/role", get(sign_in::role_page).post(sign_in::choose_role))
        .route("/viewer/sign-out", post(sign_in::sign_out))
        .route("/viewer/assets/{*path}", get(asset))
}

/// Security headers for every page: no inline script or style, nothing from elsewhere, no framing, no caching of
/// patient data, no referrer leaving KMCR.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

fn redirect(location: &'static str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(LOCATION, HeaderValue::from_static(location));
    response
}

fn redirect_to(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// `GET /viewer/assets/...`: the design system's files, named by their content, so cached for good.
async fn asset(Path(path): Path<String>) -> Response {
    let Some(asset) = kmcr_viewer::assets::asset(&path) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}

/// A posted form's fields. Read only after the session is checked, so that a request without one is sent to sign
/// in whatever its body; a field missing reads as empty.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn parse(body: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }

    fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(field, _)| field == name).map_or("", |(_, value)| value.as_str())
    }
}
