//! SMART App Launch, standalone: `/oauth/authorize` checks the app's request, the user signs in (a local account on
//! the page, or NHS CIS2 through OpenID Connect), chooses the role profile to act in, and the browser goes back to the
//! app with a code. The flow is kept server-side under an unguessable, single-use id, held in an HttpOnly cookie as
//! well as in the forms, so that a form posted from elsewhere does not match.

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kmcr_access::RoleProfile;
use kmcr_auth::{AuthorizationRequest, LocalSignInRefusal, PendingSignIn, Secret, SignedInUser, StoredRoleProfile};
use kmcr_fhir::Instant;
use serde::{Deserialize, Serialize};

use super::pages;
use super::{Authentication, PENDING_LIFETIME_S, SESSION_LIFETIME_S};
use crate::AppState;

const FLOW_COOKIE: &str = "kmcr_authorize";

/// A SMART authorisation waiting for its user, as kept between requests.
#[derive(Serialize, Deserialize)]
struct PendingAuthorization {
    /// The SMART app's request; `None` for a sign-in to KMCR's own clinician viewer through the identity provider.
    #[serde(default)]
    request: Option<AuthorizationRequest>,
    /// Set while the user is away at the identity provider.
    oidc: Option<PendingOidc>,
    /// Set once the user has signed in, until they choose a role profile.
    signed_in: Option<SignedIn>,
}

/// What the relying party needs back when the user returns from the identity provider.
#[derive(Serialize, Deserialize)]
struct PendingOidc {
    state: String,
    nonce: String,
    pkce_verifier: String,
    started_ms: i64,
}

impl PendingOidc {
    fn of(pending: &PendingSignIn) -> PendingOidc {
        PendingOidc {
            state: pending.state.clone(),
            nonce: pending.nonce.clone(),
            pkce_verifier: pending.pkce_verifier.expose().to_string(),
            started_ms: pending.started_at.unix_ms,
        }
    }

    fn into_pending(self) -> PendingSignIn {
        PendingSignIn {
            state: self.state,
            nonce: self.nonce,
            pkce_verifier: Secret::new(self.pkce_verifier),
            started_at: Instant::from_unix_ms(self.started_ms),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct SignedIn {
    user_id: String,
    session_id: String,
    /// Each role profile, and how it is offered to the user.
    role_profiles: Vec<(StoredRoleProfile, String)>,
    assurance: String,
}

impl SignedIn {
    fn role_profile(&self, id: &str) -> Option<RoleProfile> {
        let (stored, _) = self.role_profiles.iter().find(|(role, _)| role.id == id)?;
        stored.to_role_profile().ok()
    }
}

const EXPIRED: &str = "This sign-in has expired: start again from the app.";

fn expired() -> Response {
    pages::error_page(StatusCode::BAD_REQUEST, EXPIRED)
}

fn unavailable(error: &kmcr_auth::StateUnavailable) -> Response {
    tracing::error!(%error, "sign-in state is unavailable");
    pages::error_page(StatusCode::SERVICE_UNAVAILABLE, "Sign-in is unavailable just now: try again shortly.")
}

/// The waiting sign-in, if it is still waiting.
async fn pending_flow(auth: &Authentication, flow_id: &str) -> Result<Option<PendingAuthorization>, Response> {
    match auth.smart.sign_in(flow_id, Instant::now()).await {
        Ok(content) => Ok(content.and_then(|content| serde_json::from_str(&content).ok())),
        Err(error) => Err(unavailable(&error)),
    }
}

/// Moves the waiting sign-in on a step; an error page if it finished or expired meanwhile.
async fn update_flow(auth: &Authentication, flow_id: &str, flow: &PendingAuthorization) -> Result<(), Response> {
    let content = serde_json::to_string(flow).expect("a sign-in serialises");
    match auth.smart.update_sign_in(flow_id, content).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(expired()),
        Err(error) => Err(unavailable(&error)),
    }
}

/// Finishes the waiting sign-in, once.
async fn finish_flow(auth: &Authentication, flow_id: &str) -> Result<PendingAuthorization, Response> {
    match auth.smart.finish_sign_in(flow_id, Instant::now()).await {
        Ok(Some(content)) => serde_json::from_str(&content).map_err(|_| expired()),
        Ok(None) => Err(expired()),
        Err(error) => Err(unavailable(&error)),
    }
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

fn flow_cookie(headers: &HeaderMap) -> Option<String> {
    super::cookie(headers, FLOW_COOKIE)
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
    let now = Instant::now();
    if !auth.may_start_sign_in(now) {
        tracing::warn!("sign-in refused: too many sign-ins started");
        return pages::error_page(StatusCode::SERVICE_UNAVAILABLE, "Too many sign-ins are waiting: try again shortly.");
    }
    let flow = PendingAuthorization { request: Some(request), oidc: None, signed_in: None };
    let content = serde_json::to_string(&flow).expect("a sign-in serialises");
    let flow_id = match auth.smart.keep_sign_in(content, now, PENDING_LIFETIME_S).await {
        Ok(flow_id) => flow_id,
        Err(error) => return unavailable(&error),
    };
    let mut response = pages::sign_in_page(&flow_id, &app_name, auth.oidc.is_some(), None);
    set_flow_cookie(&mut response, &flow_id, auth.secure_cookies);
    response
}

fn set_flow_cookie(response: &mut Response, flow_id: &str, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{FLOW_COOKIE}={flow_id}; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=600{secure}");
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, cookie);
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
    let flow = match pending_flow(auth, &form.flow).await {
        Ok(Some(flow)) => flow,
        Ok(None) => return expired(),
        Err(page) => return page,
    };
    match form.action.as_str() {
        "sign-in" => {
            let password = Secret::new(form.password.unwrap_or_default());
            let username = form.username.unwrap_or_default();
            let account = match auth.smart.local_sign_in(&auth.accounts, &username, &password, Instant::now()).await {
                Ok(account) => account,
                Err(LocalSignInRefusal::Unavailable(error)) => return unavailable(&error),
                Err(refusal) => {
                    tracing::info!(%refusal, "local sign-in refused");
                    let message = super::local_sign_in_refusal_message(&refusal);
                    let client_id = flow.request.as_ref().map_or("", |request| request.client_id.as_str());
                    let app_name = app_name_of(auth, client_id);
                    let mut page = pages::sign_in_page(&form.flow, &app_name, auth.oidc.is_some(), Some(&message));
                    *page.status_mut() = StatusCode::UNAUTHORIZED;
                    return page;
                }
            };
            let session_id = match auth.sessions.start(&account.user_id, Instant::now(), SESSION_LIFETIME_S).await {
                Ok(session_id) => session_id,
                Err(error) => return unavailable(&error),
            };
            let signed_in = SignedIn {
                user_id: account.user_id.clone(),
                session_id,
                role_profiles: account
                    .role_profiles
                    .iter()
                    .map(|role| (StoredRoleProfile::of(role), format!("{} at {}", role.job_role.code, role.ods_code)))
                    .collect(),
                assurance: account.assurance.as_str().to_string(),
            };
            continue_signed_in(auth, &form.flow, flow, signed_in, None).await
        }
        "choose-role" => {
            let chosen = form.role_profile.unwrap_or_default();
            let flow = match finish_flow(auth, &form.flow).await {
                Ok(flow) => flow,
                Err(page) => return page,
            };
            let Some(signed_in) = flow.signed_in else { return expired() };
            let Some(role_profile) = signed_in.role_profile(&chosen) else {
                return pages::error_page(StatusCode::BAD_REQUEST, "That role profile is not one of yours.");
            };
            let Some(request) = flow.request else { return expired() };
            issue(auth, request, &signed_in, role_profile).await
        }
        _ => pages::error_page(StatusCode::BAD_REQUEST, "Unknown action."),
    }
}

fn app_name_of(auth: &Authentication, client_id: &str) -> String {
    auth.smart.app(client_id).map_or_else(|| client_id.to_string(), |app| app.name.clone())
}

/// Once signed in: straight back to the app when the role profile is known (one, or chosen at the identity
/// provider), else the choice of role profile.
async fn continue_signed_in(
    auth: &Authentication,
    flow_id: &str,
    mut flow: PendingAuthorization,
    signed_in: SignedIn,
    selected: Option<String>,
) -> Response {
    let only = (signed_in.role_profiles.len() == 1).then(|| signed_in.role_profiles[0].0.id.clone());
    let chosen = selected.or(only);
    if let Some(role_profile) = chosen.and_then(|chosen| signed_in.role_profile(&chosen)) {
        let flow = match finish_flow(auth, flow_id).await {
            Ok(flow) => flow,
            Err(page) => return page,
        };
        let Some(request) = flow.request else { return expired() };
        return issue(auth, request, &signed_in, role_profile).await;
    }
    if signed_in.role_profiles.is_empty() {
        return pages::error_page(StatusCode::FORBIDDEN, "You hold no role profile that KMCR can use.");
    }
    let choices: Vec<(String, String)> =
        signed_in.role_profiles.iter().map(|(role, label)| (role.id.clone(), label.clone())).collect();
    flow.signed_in = Some(signed_in);
    if let Err(page) = update_flow(auth, flow_id, &flow).await {
        return page;
    }
    pages::choose_role_page(flow_id, &choices)
}

async fn issue(
    auth: &Authentication,
    request: AuthorizationRequest,
    signed_in: &SignedIn,
    role_profile: RoleProfile,
) -> Response {
    let Some(assurance) = kmcr_auth::assurance_from_str(&signed_in.assurance) else { return expired() };
    let user = SignedInUser {
        user_id: signed_in.user_id.clone(),
        session_id: signed_in.session_id.clone(),
        role_profile,
        assurance,
    };
    match auth.smart.issue_code(request, user, Instant::now()).await {
        Ok(location) => redirect(&location),
        Err(error) => unavailable(&error),
    }
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
    let mut flow = match pending_flow(auth, &start.flow).await {
        Ok(Some(flow)) => flow,
        Ok(None) => return expired(),
        Err(page) => return page,
    };
    let started = oidc.begin_sign_in(None, Instant::now());
    flow.oidc = Some(PendingOidc::of(&started.pending));
    if let Err(page) = update_flow(auth, &start.flow, &flow).await {
        return page;
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
    let mut flow = match pending_flow(auth, &flow_id).await {
        Ok(Some(flow)) => flow,
        Ok(None) => return expired(),
        Err(page) => return page,
    };
    // The provider's answer is used once: a second callback finds nothing to finish.
    let Some(pending_sign_in) = flow.oidc.take().map(PendingOidc::into_pending) else { return expired() };
    if let Err(page) = update_flow(auth, &flow_id, &flow).await {
        return page;
    }
    let identity = match oidc.finish_sign_in(&pending_sign_in, &query_pairs(query.as_deref())).await {
        Ok(identity) => identity,
        Err(error) => {
            tracing::info!(%error, "identity provider sign-in refused");
            return pages::error_page(StatusCode::FORBIDDEN, "Sign-in with the identity provider did not succeed.");
        }
    };
    let session_id = match auth.sessions.start(&identity.user_id, Instant::now(), SESSION_LIFETIME_S).await {
        Ok(session_id) => session_id,
        Err(error) => return unavailable(&error),
    };
    if flow.request.is_none() {
        // A sign-in to the clinician viewer: its own session, not a SMART code.
        if let Err(page) = finish_flow(auth, &flow_id).await {
            return page;
        }
        let role_profiles: Vec<RoleProfile> =
            identity.role_profiles.iter().map(|role| role.role_profile.clone()).collect();
        let viewer_sign_in = crate::viewer::IdentityProviderSignIn {
            user_id: identity.user_id.clone(),
            session_id,
            role_profiles,
            assurance: identity.assurance,
            selected_role_profile_id: identity.selected_role_profile_id.clone(),
        };
        return crate::viewer::signed_in_through_identity_provider(&state, viewer_sign_in).await;
    }
    let signed_in = SignedIn {
        user_id: identity.user_id.clone(),
        session_id,
        role_profiles: identity
            .role_profiles
            .iter()
            .map(|role| {
                let name = role.role_name.clone().unwrap_or_else(|| role.role_profile.job_role.code.clone());
                (StoredRoleProfile::of(&role.role_profile), format!("{name} at {}", role.role_profile.ods_code))
            })
            .collect(),
        assurance: identity.assurance.as_str().to_string(),
    };
    continue_signed_in(auth, &flow_id, flow, signed_in, identity.selected_role_profile_id.clone()).await
}

/// `GET /viewer/sign-in/cis2`: a sign-in to the clinician viewer through the identity provider (NHS CIS2). It comes
/// back through `/oauth/oidc/callback` like a SMART app's, and ends in a viewer session instead of a code.
pub async fn viewer_oidc_start(State(state): State<AppState>) -> Response {
    let auth = &state.auth;
    let Some(oidc) = &auth.oidc else {
        return pages::error_page(StatusCode::NOT_FOUND, "Sign-in with an identity provider is not configured.");
    };
    let now = Instant::now();
    if !auth.may_start_sign_in(now) {
        tracing::warn!("sign-in refused: too many sign-ins started");
        return pages::error_page(StatusCode::SERVICE_UNAVAILABLE, "Too many sign-ins are waiting: try again shortly.");
    }
    let started = oidc.begin_sign_in(None, now);
    let flow = PendingAuthorization { request: None, oidc: Some(PendingOidc::of(&started.pending)), signed_in: None };
    let content = serde_json::to_string(&flow).expect("a sign-in serialises");
    let flow_id = match auth.smart.keep_sign_in(content, now, PENDING_LIFETIME_S).await {
        Ok(flow_id) => flow_id,
        Err(error) => return unavailable(&error),
    };
    let mut response = redirect(&started.authorization_url);
    set_flow_cookie(&mut response, &flow_id, auth.secure_cookies);
    response
}
