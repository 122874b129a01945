//! Discovery: SMART's `/fhir/.well-known/smart-configuration` and the JWKS that lets others check KMCR's tokens.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::AppState;

pub async fn smart_configuration(State(state): State<AppState>) -> Response {
    axum::Json(state.auth.smart.smart_configuration()).into_response()
}

pub async fn jwks(State(state): State<AppState>) -> Response {
    axum::Json(state.auth.issuer.jwks()).into_response()
}
