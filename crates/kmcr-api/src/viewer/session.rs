//! The viewer's sign-in session, kept server-side (in the store, so that every node honours it) under an unguessable
//! id held in an HttpOnly, SameSite=Lax cookie (Lax, so
//! that the browser sends it on the way back from the identity provider; forms are guarded by their token). It holds the user, their role profiles, the active one, and the
//! token every form must carry (CSRF). The sign-in session it belongs to is checked on every request, so signing out
//! anywhere, or an administrator ending it, ends it here too.

use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use kmcr_access::{Principal, RoleProfile, Scope, UserPrincipal};
use kmcr_auth::StoredRoleProfile;
use kmcr_fhir::Instant;
use kmcr_service::RequestContext;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::SESSION_LIFETIME_S;

pub const SESSION_COOKIE: &str = "kmcr_viewer";
/// Ties the sign-in form to the browser that asked for it (the same value in the cookie and the form).
pub const SIGN_IN_FORM_COOKIE: &str = "kmcr_viewer_sign_in";

#[derive(Clone, Serialize, Deserialize)]
pub struct ViewerSession {
    pub user_id: String,
    /// The sign-in session (ended by signing out or by an administrator).
    pub session_id: String,
    pub role_profiles: Vec<(StoredRoleProfile, String)>,
    pub assurance: String,
    pub active_role_profile: Option<String>,
    pub csrf_token: String,
}

/// A request's signed-in viewer session, with the id it is kept under.
pub struct SignedIn {
    pub id: String,
    pub session: ViewerSession,
}

impl SignedIn {
    /// The principal the service layer decides for: the user in the active role profile, reading through the viewer.
    pub fn principal(&self) -> Option<Principal> {
        let role_profile = self.active_role_profile()?;
        let assurance = kmcr_auth::assurance_from_str(&self.session.assurance)?;
        Some(Principal::User(UserPrincipal {
            user_id: self.session.user_id.clone(),
            session_id: self.session.session_id.clone(),
            role_profile,
            assurance,
            scopes: vec![Scope::parse("user/*.rs").expect("a valid scope")],
        }))
    }

    pub fn context(&self) -> Option<RequestContext> {
        Some(RequestContext {
            principal: self.principal()?,
            request_id: format!("viewer-{}", kmcr_auth::secret::random_url_safe(9)),
        })
    }

    pub fn active_role_profile(&self) -> Option<RoleProfile> {
        let active = self.session.active_role_profile.as_deref()?;
        let (stored, _) = self.session.role_profiles.iter().find(|(role, _)| role.id == active)?;
        stored.to_role_profile().ok()
    }

    pub fn active_label(&self) -> Option<&str> {
        let active = self.session.active_role_profile.as_deref()?;
        self.session.role_profiles.iter().find(|(role, _)| role.id == active).map(|(_, label)| label.as_str())
    }
}

pub(crate) use crate::auth::cookie;

pub fn set_cookie(response: &mut Response, name: &str, value: &str, max_age_s: i64, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; Path=/viewer; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}");
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
}

/// The signed-in session of this request, if its cookie names one that is kept and its sign-in session is active.
pub async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Option<SignedIn>, kmcr_auth::StateUnavailable> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let now = Instant::now();
    let Some(content) = state.auth.smart.sign_in(&id, now).await? else { return Ok(None) };
    let Ok(session) = serde_json::from_str::<ViewerSession>(&content) else { return Ok(None) };
    if !state.auth.sessions.is_active(&session.session_id, now).await? {
        return Ok(None);
    }
    Ok(Some(SignedIn { id, session }))
}

/// Keeps a new session; its id, for the cookie.
pub async fn keep(state: &AppState, session: &ViewerSession) -> Result<String, kmcr_auth::StateUnavailable> {
    let content = serde_json::to_string(session).expect("a session serialises");
    state.auth.smart.keep_sign_in(content, Instant::now(), SESSION_LIFETIME_S).await
}

/// Saves a changed session (the active role profile); `false` if it ended meanwhile.
pub async fn save(state: &AppState, signed_in: &SignedIn) -> Result<bool, kmcr_auth::StateUnavailable> {
    let content = serde_json::to_string(&signed_in.session).expect("a session serialises");
    state.auth.smart.update_sign_in(&signed_in.id, content).await
}

/// Whether a posted form carries this session's token. Compared in constant time.
pub fn form_token_matches(expected: &str, posted: &str) -> bool {
    expected.len() == posted.len()
        && expected.bytes().zip(posted.bytes()).fold(0u8, |difference, (first, second)| difference | (first ^ second))
            == 0
}
