//! Signing in to the viewer with a local account, choosing (and switching, in one click from any page) the role
//! profile to act in, and signing out.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kmcr_access::{AssuranceLevel, RoleProfile};
use kmcr_auth::{LocalSignInRefusal, Secret, SessionEnd, StoredRoleProfile};
use kmcr_fhir::Instant;
use kmcr_viewer::layout::SignedInBar;
use kmcr_viewer::sign_in_pages::{self, RoleChoice};

use super::session::{self, SESSION_COOKIE, SIGN_IN_FORM_COOKIE, SignedIn, ViewerSession};
use super::{Fields, html, redirect};
use crate::AppState;
use crate::auth::SESSION_LIFETIME_S;

/// The header's view of who is signed in: the active role profile's label reads "R8000 Clinical Practitioner at
/// Name (ODS)", made at sign-in.
pub(super) fn bar(signed_in: &SignedIn) -> SignedInBar<'_> {
    let label = signed_in.active_label();
    let information_governance =
        signed_in.active_role_profile().is_some_and(|role| role.job_role.is_information_governance());
    SignedInBar {
        user: &signed_in.session.user_id,
        role: label.map(|label| label.split_once(" at ").map_or(label, |(role, _)| role)),
        organisation: label.and_then(|label| label.split_once(" at ")).map(|(_, organisation)| organisation),
        other_roles: signed_in
            .session
            .role_profiles
            .iter()
            // Before one is chosen, the page asking is the choice.
            .filter(|_| signed_in.session.active_role_profile.is_some())
            .filter(|(role, _)| signed_in.session.active_role_profile.as_deref() != Some(role.id.as_str()))
            .map(|(role, label)| (role.id.as_str(), label.as_str()))
            .collect(),
        csrf_token: &signed_in.session.csrf_token,
        information_governance,
    }
}

pub(super) fn unavailable(error: &kmcr_auth::StateUnavailable) -> Response {
    tracing::error!(%error, "viewer sign-in state is unavailable");
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        sign_in_pages::message_page(
            None,
            "Sorry, there is a problem",
            "Sign-in is unavailable just now: try again shortly.",
        ),
    )
}

/// The signed-in session, or the response that sends the browser to sign in (or to choose a role profile).
pub(super) async fn require(state: &AppState, headers: &HeaderMap, needs_role: bool) -> Result<SignedIn, Response> {
    match session::signed_in(state, headers).await {
        Ok(Some(signed_in)) if needs_role && signed_in.active_role_profile().is_none() => Err(redirect("/viewer/role")),
        Ok(Some(signed_in)) => Ok(signed_in),
        Ok(None) => Err(redirect("/viewer/sign-in")),
        Err(error) => Err(unavailable(&error)),
    }
}

/// `None` when a posted form is this session's (its CSRF token); else the page saying it is not.
pub(super) fn form_refusal(signed_in: &SignedIn, posted: &str) -> Option<Response> {
    if session::form_token_matches(&signed_in.session.csrf_token, posted) {
        return None;
    }
    tracing::warn!("viewer form refused: its token is not this session's");
    Some(html(
        StatusCode::FORBIDDEN,
        sign_in_pages::message_page(None, "This form has expired", "Go back, reload the page and try again."),
    ))
}

/// `GET /viewer/sign-in`.
pub async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Ok(Some(_)) = session::signed_in(&state, &headers).await {
        return redirect("/viewer");
    }
    sign_in_form(&state, None, StatusCode::OK)
}

fn sign_in_form(state: &AppState, error: Option<&str>, status: StatusCode) -> Response {
    let form_token = kmcr_auth::secret::random_url_safe(24);
    let mut response = html(status, sign_in_pages::sign_in_page(&form_token, error, state.auth.oidc.is_some()));
    session::set_cookie(&mut response, SIGN_IN_FORM_COOKIE, &form_token, 600, state.auth.secure_cookies);
    response
}

/// `POST /viewer/sign-in`: a local account's username and password.
pub async fn sign_in(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    let expected = session::cookie(&headers, SIGN_IN_FORM_COOKIE).unwrap_or_default();
    if expected.is_empty() || !session::form_token_matches(&expected, form.get("csrf")) {
        return sign_in_form(&state, Some("This sign-in form has expired: try again."), StatusCode::FORBIDDEN);
    }
    if form.get("username").trim().is_empty() || form.get("password").is_empty() {
        return sign_in_form(&state, Some("Enter your username and password"), StatusCode::BAD_REQUEST);
    }
    let auth = &state.auth;
    let password = Secret::new(form.get("password").to_string());
    let account =
        match auth.smart.local_sign_in(&auth.accounts, form.get("username").trim(), &password, Instant::now()).await {
            Ok(account) => account,
            Err(LocalSignInRefusal::Unavailable(error)) => return unavailable(&error),
            Err(refusal) => {
                tracing::info!(%refusal, "viewer sign-in refused");
                let message = crate::auth::local_sign_in_refusal_message(&refusal);
                return sign_in_form(&state, Some(&message), StatusCode::UNAUTHORIZED);
            }
        };
    let session_id = match auth.sessions.start(&account.user_id, Instant::now(), SESSION_LIFETIME_S).await {
        Ok(session_id) => session_id,
        Err(error) => return unavailable(&error),
    };
    let signed_in = IdentityProviderSignIn {
        user_id: account.user_id.clone(),
        session_id,
        role_profiles: account.role_profiles.clone(),
        assurance: account.assurance,
        selected_role_profile_id: None,
    };
    let mut response = start_session(&state, signed_in).await;
    session::set_cookie(&mut response, SIGN_IN_FORM_COOKIE, "", 0, auth.secure_cookies);
    response
}

/// Who signed in, and as what, however they signed in.
pub struct IdentityProviderSignIn {
    pub user_id: String,
    /// The sign-in session, already started.
    pub session_id: String,
    pub role_profiles: Vec<RoleProfile>,
    pub assurance: AssuranceLevel,
    /// The role profile chosen at the identity provider, when it says.
    pub selected_role_profile_id: Option<String>,
}

/// Back from the identity provider (`/oauth/oidc/callback`): the viewer session starts.
pub async fn signed_in_through_identity_provider(state: &AppState, signed_in: IdentityProviderSignIn) -> Response {
    start_session(state, signed_in).await
}

/// Keeps the viewer session and sets its cookie; on to the search, or to choose a role profile when there is a
/// choice to make.
async fn start_session(state: &AppState, signed_in: IdentityProviderSignIn) -> Response {
    if signed_in.role_profiles.is_empty() {
        return html(
            StatusCode::FORBIDDEN,
            sign_in_pages::message_page(
                None,
                "You cannot use the shared care record",
                "You hold no role profile that KMCR can use.",
            ),
        );
    }
    let role_profiles: Vec<(StoredRoleProfile, String)> = signed_in
        .role_profiles
        .iter()
        .map(|role| {
            let ods_code = role.ods_code.as_str();
            let organisation = match state.service.organisation_name(ods_code) {
                Some(name) => format!("{name} ({ods_code})"),
                None => ods_code.to_string(),
            };
            let label = match sign_in_pages::job_role_name(&role.job_role.code) {
                Some(name) => format!("{} {name} at {organisation}", role.job_role.code),
                None => format!("{} at {organisation}", role.job_role.code),
            };
            (StoredRoleProfile::of(role), label)
        })
        .collect();
    let only = (role_profiles.len() == 1).then(|| role_profiles[0].0.id.clone());
    let selected = signed_in
        .selected_role_profile_id
        .filter(|selected| role_profiles.iter().any(|(role, _)| role.id == *selected));
    let active = selected.or(only);
    let viewer_session = ViewerSession {
        user_id: signed_in.user_id,
        session_id: signed_in.session_id,
        role_profiles,
        assurance: signed_in.assurance.as_str().to_string(),
        active_role_profile: active.clone(),
        csrf_token: kmcr_auth::secret::random_url_safe(24),
    };
    let id = match session::keep(state, &viewer_session).await {
        Ok(id) => id,
        Err(error) => return unavailable(&error),
    };
    tracing::info!(user = %viewer_session.user_id, "viewer signed in");
    let mut response = redirect(if active.is_some() { "/viewer" } else { "/viewer/role" });
    session::set_cookie(&mut response, SESSION_COOKIE, &id, SESSION_LIFETIME_S, state.auth.secure_cookies);
    response
}

/// `GET /viewer/role`: the role profiles the user holds, the active one chosen.
pub async fn role_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let signed_in = match require(&state, &headers, false).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let choices: Vec<RoleChoice> = signed_in
        .session
        .role_profiles
        .iter()
        .map(|(role, label)| RoleChoice { id: role.id.clone(), label: label.clone() })
        .collect();
    let active = signed_in.session.active_role_profile.clone();
    let page = sign_in_pages::choose_role_page(bar(&signed_in), &choices, active.as_deref());
    html(StatusCode::OK, page)
}

/// `POST /viewer/role`: act in another of the user's role profiles from now on.
pub async fn choose_role(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let mut signed_in = match require(&state, &headers, false).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let form = Fields::parse(&body);
    if let Some(response) = form_refusal(&signed_in, form.get("csrf")) {
        return response;
    }
    let chosen = form.get("role_profile").to_string();
    if !signed_in.session.role_profiles.iter().any(|(role, _)| role.id == chosen) {
        return html(
            StatusCode::BAD_REQUEST,
            sign_in_pages::message_page(None, "That role profile is not yours", "Choose one of your role profiles."),
        );
    }
    signed_in.session.active_role_profile = Some(chosen);
    match session::save(&state, &signed_in).await {
        Ok(true) => redirect("/viewer"),
        Ok(false) => redirect("/viewer/sign-in"),
        Err(error) => unavailable(&error),
    }
}

/// `POST /viewer/sign-out`: ends the viewer session and the sign-in session it belongs to.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signed_in = match require(&state, &headers, false).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    if let Some(response) = form_refusal(&signed_in, Fields::parse(&body).get("csrf")) {
        return response;
    }
    let now = Instant::now();
    if let Err(error) = state.auth.smart.finish_sign_in(&signed_in.id, now).await {
        return unavailable(&error);
    }
    if let Err(error) = state.auth.sessions.end(&signed_in.session.session_id, SessionEnd::SignedOut, now).await {
        return unavailable(&error);
    }
    let mut response = redirect("/viewer/sign-in");
    session::set_cookie(&mut response, SESSION_COOKIE, "", 0, state.auth.secure_cookies);
    response
}
