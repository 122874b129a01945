//! SMART App Launch, standalone: `/oauth/authorize` checks the app's request, the user signs in (a local account on
//! the page, or NHS CIS2 through OpenID Connect), chooses the role profile to act in, and the browser goes back to the
//! app with a code. The flow is kept server-side under an unguessable, single-use id, held in an HttpOnly cookie as
//! well as in the forms, so that a form posted from elsewhere does not match.

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kmcr_access::{AssuranceLevel, RoleProfile};
use kmcr_auth::{AuthorizationRequest, PendingSignIn, Secret, SignedInUser};
use kmcr_fhir::Instant;
use serde::Deserialize;

use super::pages;
use super::{Authentication, SESSION_LIFETIME_S};
use crate::AppState;

const FLOW_COOKIE: &str = "kmcr_authorize";

/// A SMART authorisation waiting for its user.
pub(crate) struct PendingAuthorization {
    pub started_ms: i64,
    request: AuthorizationRequest,
    /// Set while the user is away at the identity provider.
    oidc: Option<PendingSignIn>,
    /// Set once the user has signed in, until they choose a role profile.
    signed_in: Option<SignedIn>,
}

struct SignedIn {
    user_id: String,
    session_id: String,
    role_profiles: Vec<(RoleProfile, String)>,
    assurance: AssuranceLevel,
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

fn flow_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == FLOW_COOKIE)
        .map(|(_, value)| value.to_string())
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// `GET /oauth/authorize`: the app's request checked; the sign-in page.
pub async fn authorize_page(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let auth = &state.auth;
    let request = match auth.smart.check_authorization_request(&query_pairs(query.as_deref())) {
        Ok(request) => request,
        Err(error) => {
            tracing::info!(reason = error.oauth_error_code(), "authorization request refused");
            return match error.redirect_url() {
                Some(url) => redirect(&url),
                None => pages::error_page(StatusCode::BAD_REQUEST, &error.to_string()),
            };
        }
    };
    let app_name = auth.smart.app(&request.client_id).map_or_else(|| request.client_id.clone(), |app| app.name.clone());
    let flow_id = kmcr_auth::secret::random_url_safe(24);
    let mut pending = auth.pending();
    if pending.len() >= super::MAX_PENDING_SIGN_INS {
        drop(pending);
        tracing::warn!("sign-in refused: too many sign-ins waiting");
        return pages::error_page(StatusCode::SERVICE_UNAVAILABLE, "Too many sign-ins are waiting: try again shortly.");
    }
    pending.insert(
        flow_id.clone(),
        PendingAuthorization { started_ms: Instant::now().unix_ms, request, oidc: None, signed_in: None },
    );
    drop(pending);
    let mut response = pages::sign_in_page(&flow_id, &app_name, auth.oidc.is_some(), None);
    set_flow_cookie(&mut response, &flow_id, auth.secure_cookies);
    response
}

fn set_flow_cookie(response: &mut Response, flow_id: &str, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{FLOW_COOKIE}={flow_id}; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=600{secure}");
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
}

#[derive(Deserialize)]
pub struct AuthorizeForm {
    flow: String,
    action: String,
    username: Option<String>,
    password: Option<String>,
    role_profile: Option<String>,
}

/// `POST /oauth/authorize`: a local sign-in, or the choice of role profile.
pub async fn authorize_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<AuthorizeForm>,
) -> Response {
    let auth = &state.auth;
    if flow_cookie(&headers).as_deref() != Some(form.flow.as_str()) {
        return pages::error_page(
            StatusCode::FORBIDDEN,
            "This sign-in form does not belong to this browser: start again.",
        );
    }
    if !auth.pending().contains_key(&form.flow) {
        return pages::error_page(StatusCode::BAD_REQUEST, "This sign-in has expired: start again from the app.");
    }
    match form.action.as_str() {
        "sign-in" => {
            let password = Secret::new(form.password.unwrap_or_default());
            let username = form.username.unwrap_or_default();
            let account = match auth.accounts.sign_in(&username, &password) {
                Ok(account) => account,
                Err(_) => {
                    tracing::info!("local sign-in refused");
                    let app_name = app_name_of(auth, &form.flow);
                    let mut page = pages::sign_in_page(
                        &form.flow,
                        &app_name,
                        auth.oidc.is_some(),
                        Some("The username or password is not right."),
                    );
                    *page.status_mut() = StatusCode::UNAUTHORIZED;
                    return page;
                }
            };
            let now = Instant::now();
            let session_id = auth.sessions.start(&account.user_id, now, SESSION_LIFETIME_S);
            let signed_in = SignedIn {
                user_id: account.user_id.clone(),
                session_id,
                role_profiles: account
                    .role_profiles
                    .iter()
                    .map(|role| (role.clone(), format!("{} at {}", role.job_role.code, role.ods_code)))
                    .collect(),
                assurance: account.assurance,
            };
            continue_signed_in(auth, &form.flow, signed_in, None)
        }
        "choose-role" => {
            let chosen = form.role_profile.unwrap_or_default();
            let flow = auth.pending().remove(&form.flow);
            let Some(PendingAuthorization { request, signed_in: Some(signed_in), .. }) = flow else {
                return pages::error_page(
                    StatusCode::BAD_REQUEST,
                    "This sign-in has expired: start again from the app.",
                );
            };
            let Some((role_profile, _)) = signed_in.role_profiles.iter().find(|(role, _)| role.id == chosen) else {
                return pages::error_page(StatusCode::BAD_REQUEST, "That role profile is not one of yours.");
            };
            issue(auth, request, &signed_in, role_profile.clone())
        }
        _ => pages::error_page(StatusCode::BAD_REQUEST, "Unknown action."),
    }
}

fn app_name_of(auth: &Authentication, flow_id: &str) -> String {
    let pending = auth.pending();
    let client_id = pending.get(flow_id).map(|flow| flow.request.client_id.clone()).unwrap_or_default();
    auth.smart.app(&client_id).map_or(client_id, |app| app.name.clone())
}

/// Once signed in: straight back to the app when the role profile is known (one, or chosen at the identity
/// provider), else the choice of role profile.
fn continue_signed_in(auth: &Authentication, flow_id: &str, signed_in: SignedIn, selected: Option<String>) -> Response {
    let only = (signed_in.role_profiles.len() == 1).then(|| signed_in.role_profiles[0].0.id.clone());
    let chosen = selected.or(only);
    let mut pending = auth.pending();
    if let Some(chosen) = chosen
        && let Some((role_profile, _)) = signed_in.role_profiles.iter().find(|(role, _)| role.id == chosen).cloned()
    {
        let Some(flow) = pending.remove(flow_id) else {
            return pages::error_page(StatusCode::BAD_REQUEST, "This sign-in has expired: start again from the app.");
        };
        drop(pending);
        return issue(auth, flow.request, &signed_in, role_profile);
    }
    if signed_in.role_profiles.is_empty() {
        return pages::error_page(StatusCode::FORBIDDEN, "You hold no role profile that KMCR can use.");
    }
    let choices: Vec<(String, String)> =
        signed_in.role_profiles.iter().map(|(role, label)| (role.id.clone(), label.clone())).collect();
    match pending.get_mut(flow_id) {
        Some(flow) => flow.signed_in = Some(signed_in),
        None => {
            return pages::error_page(StatusCode::BAD_REQUEST, "This sign-in has expired: start again from the app.");
        }
    }
    pages::choose_role_page(flow_id, &choices)
}

fn issue(
    auth: &Authentication,
    request: AuthorizationRequest,
    signed_in: &SignedIn,
    role_profile: RoleProfile,
) -> Response {
    let user = SignedInUser {
        user_id: signed_in.user_id.clone(),
        session_id: signed_in.session_id.clone(),
        role_profile,
        assurance: signed_in.assurance,
    };
    redirect(&auth.smart.issue_code(request, user, Instant::now()))
}

#[derive(Deserialize)]
pub struct OidcStart {
    flow: String,
}

/// `GET /oauth/oidc/start?flow=...`: off to the identity provider (NHS CIS2).
pub async fn oidc_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(start): axum::extract::Query<OidcStart>,
) -> Response {
    let auth = &state.auth;
    let Some(oidc) = &auth.oidc else {
        return pages::error_page(StatusCode::NOT_FOUND, "Sign-in with an identity provider is not configured.");
    };
    if flow_cookie(&headers).as_deref() != Some(start.flow.as_str()) {
        return pages::error_page(StatusCode::FORBIDDEN, "This sign-in does not belong to this browser: start again.");
    }
    let started = oidc.begin_sign_in(None, Instant::now());
    match auth.pending().get_mut(&start.flow) {
        Some(flow) => flow.oidc = Some(started.pending),
        None => {
            return pages::error_page(StatusCode::BAD_REQUEST, "This sign-in has expired: start again from the app.");
        }
    }
    redirect(&started.authorization_url)
}

/// `GET /oauth/oidc/callback`: back from the identity provider; the CIS2 claims become role profiles.
pub async fn oidc_callback(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let auth = &state.auth;
    let Some(oidc) = &auth.oidc else {
        return pages::error_page(StatusCode::NOT_FOUND, "Sign-in with an identity provider is not configured.");
    };
    let Some(flow_id) = flow_cookie(&headers) else {
        return pages::error_page(StatusCode::FORBIDDEN, "This sign-in does not belong to this browser: start again.");
    };
    let pending_sign_in = auth.pending().get_mut(&flow_id).and_then(|flow| flow.oidc.take());
    let Some(pending_sign_in) = pending_sign_in else {
        return pages::error_page(StatusCode::BAD_REQUEST, "This sign-in has expired: start again from the app.");
    };
    let identity = match oidc.finish_sign_in(&pending_sign_in, &query_pairs(query.as_deref())).await {
        Ok(identity) => identity,
        Err(error) => {
            tracing::info!(%error, "identity provider sign-in refused");
            return pages::error_page(StatusCode::FORBIDDEN, "Sign-in with the identity provider did not succeed.");
        }
    };
    let now = Instant::now();
    let session_id = auth.sessions.start(&identity.user_id, now, SESSION_LIFETIME_S);
    let signed_in = SignedIn {
        user_id: identity.user_id.clone(),
        session_id,
        role_profiles: identity
            .role_profiles
            .iter()
            .map(|role| {
                let name = role.role_name.clone().unwrap_or_else(|| role.role_profile.job_role.code.clone());
                (role.role_profile.clone(), format!("{name} at {}", role.role_profile.ods_code))
            })
            .collect(),
        assurance: identity.assurance,
    };
    continue_signed_in(auth, &flow_id, signed_in, identity.selected_role_profile_id.clone())
}
