//! `/oauth/token` (client credentials for systems; authorisation code and refresh token for SMART apps),
//! `/oauth/revoke` (RFC 7009) and `/oauth/sign-out` (ends the session of the bearer token, so every token of it is
//! refused from then on).

use axum::Form;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kmcr_access::Principal;
use kmcr_auth::{ClientAuthentication, Secret, SessionEnd, TokenEndpointError};
use kmcr_fhir::Instant;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;

#[derive(Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    token: Option<String>,
}

pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response =
        (status, axum::Json(json!({ "error": error, "error_description": description }))).into_response();
    no_store(&mut response);
    response
}

fn no_store(response: &mut Response) {
    response.headers_mut().insert("cache-control", axum::http::HeaderValue::from_static("no-store"));
    response.headers_mut().insert("pragma", axum::http::HeaderValue::from_static("no-cache"));
}

/// The client's credentials: HTTP Basic, or the form.
fn client_authentication(headers: &HeaderMap, request: &TokenRequest) -> Option<ClientAuthentication> {
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|decoded| {
            let (id, secret) = decoded.split_once(':')?;
            Some((form_decode(id), form_decode(secret)))
        });
    match basic {
        Some((client_id, secret)) => Some(ClientAuthentication { client_id, client_secret: Some(Secret::new(secret)) }),
        None => Some(ClientAuthentication {
            client_id: request.client_id.clone()?,
            client_secret: request.client_secret.clone().map(Secret::new),
        }),
    }
}

/// RFC 6749 section 2.3.1: client ids and secrets in Basic are form-encoded first.
fn form_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

pub async fn token(State(state): State<AppState>, headers: HeaderMap, Form(request): Form<TokenRequest>) -> Response {
    let now = Instant::now();
    let Some(client) = client_authentication(&headers, &request) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication is required");
    };
    let auth = &state.auth;
    let answer = match request.grant_type.as_deref() {
        Some("client_credentials") => {
            let secret = client.client_secret.clone().unwrap_or_else(|| Secret::new(String::new()));
            match auth.clients.client_credentials(&client.client_id, &secret, request.scope.as_deref()) {
                Ok(system) => {
                    let scope: Vec<String> = system.scopes.iter().map(ToString::to_string).collect();
                    let issued = auth.issuer.issue(&Principal::System(system), &client.client_id, now);
                    Ok(json!({
                        "access_token": issued.token,
                        "token_type": "bearer",
                        "expires_in": issued.lifetime_s,
                        "scope": scope.join(" "),
                    }))
                }
                Err(error) => {
                    tracing::info!(reason = error.oauth_error_code(), "token refused");
                    let status = match error.oauth_error_code() {
                        "invalid_client" => StatusCode::UNAUTHORIZED,
                        _ => StatusCode::BAD_REQUEST,
                    };
                    return oauth_error(status, error.oauth_error_code(), &error.to_string());
                }
            }
        }
        Some("authorization_code") => auth
            .smart
            .exchange_code(
                &client,
                request.code.as_deref().unwrap_or_default(),
                request.redirect_uri.as_deref().unwrap_or_default(),
                request.code_verifier.as_deref().unwrap_or_default(),
                now,
            )
            .await
            .map(|response| serde_json::to_value(response).expect("a token response serialises")),
        Some("refresh_token") => auth
            .smart
            .refresh(&client, request.refresh_token.as_deref().unwrap_or_default(), request.scope.as_deref(), now)
            .await
            .map(|response| serde_json::to_value(response).expect("a token response serialises")),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "use client_credentials, authorization_code or refresh_token",
            );
        }
    };
    match answer {
        Ok(body) => {
            let mut response = axum::Json(body).into_response();
            no_store(&mut response);
            response
        }
        Err(error) => {
            tracing::info!(reason = error.oauth_error_code(), "token refused");
            oauth_error(status_of(&error), error.oauth_error_code(), &error.to_string())
        }
    }
}

/// RFC 7009: a refresh token (and its grant) revoked; an unknown token is answered 200 as the RFC asks.
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, Form(request): Form<TokenRequest>) -> Response {
    let Some(client) = client_authentication(&headers, &request) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication is required");
    };
    match state.auth.smart.revoke(&client, request.token.as_deref().unwrap_or_default(), Instant::now()).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => oauth_error(status_of(&error), error.oauth_error_code(), &error.to_string()),
    }
}

fn status_of(error: &TokenEndpointError) -> StatusCode {
    match error {
        TokenEndpointError::InvalidClient => StatusCode::UNAUTHORIZED,
        TokenEndpointError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Ends the sign-in session of the bearer token: every access and refresh token of it is refused from now on.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = Instant::now();
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(verified) = token.and_then(|token| state.auth.issuer.verify(token, now).ok()) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", "a valid bearer token is required");
    };
    match verified.session_id {
        Some(session_id) => match state.auth.sessions.end(&session_id, SessionEnd::SignedOut, now).await {
            Ok(()) => {
                tracing::info!("session ended by sign-out");
                StatusCode::NO_CONTENT.into_response()
            }
            Err(error) => {
                tracing::error!(%error, "sign-out could not be recorded");
                oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "try again shortly")
            }
        },
        None => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "a system token has no session to end"),
    }
}
