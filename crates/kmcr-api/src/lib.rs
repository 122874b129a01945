//! The FHIR R4 REST API (`/fhir`) and the OAuth2 client-credentials token endpoint (`/oauth/token`).
//!
//! Handlers translate HTTP to service calls and service results to FHIR HTTP responses; every rule about what may be
//! read or written lives in the service layer. Build the whole API with [`router`].

mod auth;
mod capability;
mod handlers;
mod http_date;
mod responses;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use kmcr_service::Service;

pub use auth::{ApiClient, TokenSigner};

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub clients: Arc<Vec<ApiClient>>,
    pub signer: Arc<TokenSigner>,
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
        .nest("/fhir", fhir)
        .route("/oauth/token", post(auth::token))
        .route("/mpi/reviews", get(handlers::matching::reviews))
        .route("/mpi/reviews/{review_id}", post(handlers::matching::decide))
        .route("/mpi/patients/{id}/history", get(handlers::matching::link_history))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}
