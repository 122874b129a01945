//! The HTTP face of KMCR: the FHIR R4 REST API (`/fhir`), OAuth2 and SMART App Launch (`/oauth/...`, discovery,
//! the JWKS), the access endpoints (`/access/...`: declarations and the break-glass review queue), the audit's IG
//! queries (`/audit/events`), the person index's (`/mpi/...`), the HL7 v2 feeds' (`/feeds/...`: counts, dead
//! letters, replay) and the clinician viewer's pages (`/viewer/...`).
//!
//! Handlers translate HTTP to service calls and service results to HTTP responses; every rule about what may be
//! read or written lives in the service layer and `kmcr-access`. Build the whole API with [`router`]; [`ROUTES`]
//! lists every route, so that a test can prove each one reaches the access decision.

mod auth;
mod capability;
mod handlers;
mod http_date;
mod responses;
mod viewer;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use kmcr_service::Service;

pub use auth::{Authentication, SESSION_RECHECK_MS, StoredAuthorizations, StoredSessions};

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub auth: Arc<Authentication>,
    /// The public base URL of the FHIR API, e.g. `http://127.0.0.1:8080/fhir`, used in links and `fullUrl`s.
    pub fhir_base_url: String,
    pub max_body_bytes: usize,
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let max_body_bytes = state.max_body_bytes;
    let fhir = Router::new()
        .route("/metadata", get(capability::metadata))
        .route("/", post(handlers::bundle))
        .route("/_history", get(handlers::history_system))
        .route("/{resource_type}", get(handlers::search_get).post(handlers::create).put(handlers::conditional_update))
        .route("/{resource_type}/_search", post(handlers::search_post))
        .route("/Patient/$match", post(handlers::matching::patient_match))
        .route("/Subscription", get(handlers::subscriptions::search).post(handlers::subscriptions::create))
        .route(
            "/Subscription/$status",
            get(handlers::subscriptions::type_status).post(handlers::subscriptions::type_status),
        )
        .route(
            "/Subscription/{id}",
            get(handlers::subscriptions::read)
                .put(handlers::subscriptions::update)
                .delete(handlers::subscriptions::delete),
        )
        .route(
            "/Subscription/{id}/{operation}",
            get(handlers::subscriptions::operation).post(handlers::subscriptions::operation),
        )
        // A bulk load's body is as long as its file: streamed, never held, so no body limit applies.
        .route("/$import", post(handlers::loads::import).layer(DefaultBodyLimit::disable()))
        .route("/$import-status/{job}", get(handlers::loads::import_status))
        .route("/{resource_type}/_history", get(handlers::history_type))
        .route("/{resource_type}/{id}", get(handlers::read).put(handlers::update).delete(handlers::delete))
        .route("/{resource_type}/{id}/_history", get(handlers::history_instance))
        .route("/{resource_type}/{id}/_history/{version_id}", get(handlers::vread))
        .route(
            "/{resource_type}/{id}/{operation}",
            get(handlers::instance_operation).post(handlers::instance_operation),
        )
        .method_not_allowed_fallback(responses::method_not_allowed)
        .fallback(responses::no_such_endpoint);
    Router::new()
        // Clients post transactions to the base URL with and without the trailing slash.
        .route("/fhir/", post(handlers::bundle))
        .route("/fhir/.well-known/smart-configuration", get(auth::smart_configuration))
        .nest("/fhir", fhir)
        .route("/.well-known/jwks.json", get(auth::jwks))
        .route("/oauth/token", post(auth::token))
        .route("/oauth/authorize", get(auth::authorize_page).post(auth::authorize_submit))
        .route("/oauth/oidc/start", get(auth::oidc_start))
        .route("/oauth/oidc/callback", get(auth::oidc_callback))
        .route("/oauth/revoke", post(auth::revoke))
        .route("/oauth/sign-out", post(auth::sign_out))
        .route("/access/grants", post(handlers::access::declare))
        .route("/access/break-glass", get(handlers::access::break_glass_queue))
        .route("/access/break-glass/{grant_id}/review", post(handlers::access::review))
        .route("/audit/events", get(handlers::access::audit_events))
        .route("/mpi/reviews", get(handlers::matching::reviews))
        .route("/mpi/reviews/{review_id}", post(handlers::matching::decide))
        .route("/mpi/patients/{id}/history", get(handlers::matching::link_history))
        .route("/feeds", get(handlers::feeds::status))
        .route("/feeds/dead-letters", get(handlers::feeds::dead_letters))
        .route("/feeds/dead-letters/{key}/replay", post(handlers::feeds::replay))
        .merge(viewer::routes())
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// Every route: (method, path as routed, whether it serves data about people). A route that serves data passes the
/// access decision and leaves an audit entry; the others (discovery, sign-in, tokens) serve none. A test walks this
/// list; another checks that it names every route `router` builds.
pub const ROUTES: &[(&str, &str, bool)] = &[
    ("GET", "/fhir/metadata", false),
    ("POST", "/fhir/", true),
    ("POST", "/fhir", true),
    ("GET", "/fhir/_history", true),
    ("GET", "/fhir/{resource_type}", true),
    ("POST", "/fhir/{resource_type}", true),
    ("PUT", "/fhir/{resource_type}", true),
    ("POST", "/fhir/{resource_type}/_search", true),
    ("POST", "/fhir/Patient/$match", true),
    ("GET", "/fhir/Subscription", true),
    ("POST", "/fhir/Subscription", true),
    ("GET", "/fhir/Subscription/$status", true),
    ("POST", "/fhir/Subscription/$status", true),
    ("GET", "/fhir/Subscription/{id}", true),
    ("PUT", "/fhir/Subscription/{id}", true),
    ("DELETE", "/fhir/Subscription/{id}", true),
    ("GET", "/fhir/Subscription/{id}/{operation}", true),
    ("POST", "/fhir/Subscription/{id}/{operation}", true),
    ("POST", "/fhir/$import", true),
    ("GET", "/fhir/$import-status/{job}", true),
    ("GET", "/fhir/{resource_type}/_history", true),
    ("GET", "/fhir/{resource_type}/{id}", true),
    ("PUT", "/fhir/{resource_type}/{id}", true),
    ("DELETE", "/fhir/{resource_type}/{id}", true),
    ("GET", "/fhir/{resource_type}/{id}/_history", true),
    ("GET", "/fhir/{resource_type}/{id}/_history/{version_id}", true),
    ("GET", "/fhir/{resource_type}/{id}/{operation}", true),
    ("POST", "/fhir/{resource_type}/{id}/{operation}", true),
    ("GET", "/fhir/.well-known/smart-configuration", false),
    ("GET", "/.well-known/jwks.json", false),
    ("POST", "/oauth/token", false),
    ("GET", "/oauth/authorize", false),
    ("POST", "/oauth/authorize", false),
    ("GET", "/oauth/oidc/start", false),
    ("GET", "/oauth/oidc/callback", false),
    ("POST", "/oauth/revoke", false),
    ("POST", "/oauth/sign-out", false),
    ("POST", "/access/grants", true),
    ("GET", "/access/break-glass", true),
    ("POST", "/access/break-glass/{grant_id}/review", true),
    ("GET", "/audit/events", true),
    ("GET", "/mpi/reviews", true),
    ("POST", "/mpi/reviews/{review_id}", true),
    ("GET", "/mpi/patients/{id}/history", true),
    ("GET", "/feeds", true),
    ("GET", "/feeds/dead-letters", true),
    ("POST", "/feeds/dead-letters/{key}/replay", true),
    // The clinician viewer (`viewer/mod.rs`): signed in by a session cookie, not a bearer token.
    ("GET", "/viewer", false),
    ("POST", "/viewer/search", true),
    ("GET", "/viewer/person/{id}", true),
    ("GET", "/viewer/person/{id}/results", true),
    ("GET", "/viewer/person/{id}/timeline", true),
    ("GET", "/viewer/person/{id}/documents", true),
    ("GET", "/viewer/person/{id}/documents/{document_id}", true),
    ("GET", "/viewer/person/{id}/medications", true),
    ("GET", "/viewer/person/{id}/social-care", true),
    ("GET", "/viewer/person/{id}/relationship", true),
    ("POST", "/viewer/person/{id}/relationship", true),
    ("GET", "/viewer/person/{id}/break-glass", true),
    ("POST", "/viewer/person/{id}/break-glass", true),
    ("GET", "/viewer/person/{id}/sealed", true),
    ("POST", "/viewer/person/{id}/sealed", true),
    ("GET", "/viewer/ig/break-glass", true),
    ("POST", "/viewer/ig/break-glass/{grant_id}/review", true),
    ("GET", "/viewer/ig/person/{id}/access", true),
    ("GET", "/viewer/ig/person/{id}/objections", true),
    ("GET", "/viewer/sign-in", false),
    ("POST", "/viewer/sign-in", false),
    ("GET", "/viewer/sign-in/cis2", false),
    ("GET", "/viewer/role", false),
    ("POST", "/viewer/role", false),
    ("POST", "/viewer/sign-out", false),
    ("GET", "/viewer/assets/{*path}", false),
];
