//! Who is calling, over HTTP: bearer tokens on every request (KMCR's own ES256 JWTs, checked by `kmcr-auth`), the
//! OAuth2 endpoints (`/oauth/token` for client credentials and SMART apps, `/oauth/authorize` for SMART App Launch
//! with a sign-in page, OpenID Connect sign-in, revocation and sign-out) and the discovery documents.

mod authorize;
mod discovery;
mod pages;
mod stored;
mod token_endpoint;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use kmcr_access::{Principal, SystemPrincipal};
use kmcr_auth::{
    ClientRegistry, LocalAccounts, OidcRelyingParty, SessionRegistry, SmartAuthorizationServer, TokenIssuer,
};
use kmcr_fhir::Instant;

use crate::AppState;
use crate::responses::outcome_response;

pub use authorize::{authorize_page, authorize_submit, oidc_callback, oidc_start, viewer_oidc_start};
pub use discovery::{jwks, smart_configuration};
pub use stored::{SESSION_RECHECK_MS, StoredAuthorizations, StoredSessions};
pub use token_endpoint::{revoke, sign_out, token};

/// How long a sign-in session lasts, whatever tokens are refreshed within it.
pub const SESSION_LIFETIME_S: i64 = 8 * 3600;
/// How long a sign-in page waits for the user.
const PENDING_LIFETIME_S: i64 = 10 * 60;
/// Sign-ins a node starts at most in each [`PENDING_LIFETIME_S`]: each is a row in the database until it expires, so
/// requests for the sign-in page cannot fill it without bound.
pub(crate) const MAX_SIGN_INS_STARTED: usize = 10_000;

/// Everything sign-in and tokens need.
pub struct Authentication {
    pub issuer: Arc<TokenIssuer>,
    pub clients: ClientRegistry,
    pub accounts: LocalAccounts,
    pub sessions: Arc<dyn SessionRegistry>,
    pub smart: SmartAuthorizationServer,
    pub oidc: Option<OidcRelyingParty>,
    /// Sign-ins started by this node in the current window: (window start in ms, count).
    sign_ins_started: Mutex<(i64, usize)>,
    /// Whether cookies are `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Tokens already verified, by their text, until they expire: checking an ES256 signature costs more CPU than
    /// the rest of a patient-scoped search (12% of a loaded server's samples before this cache), and a client sends
    /// the same token with every request. A token's text is its content, so a hit can only be the same token.
    verified: Mutex<HashMap<String, kmcr_auth::VerifiedToken>>,
}

/// Verified tokens kept at most; past this the cache starts again.
const MAX_VERIFIED_TOKENS: usize = 10_000;

impl Authentication {
    pub fn new(
        issuer: Arc<TokenIssuer>,
        clients: ClientRegistry,
        accounts: LocalAccounts,
        sessions: Arc<dyn SessionRegistry>,
        smart: SmartAuthorizationServer,
        oidc: Option<OidcRelyingParty>,
        secure_cookies: bool,
    ) -> Authentication {
        Authentication {
            issuer,
            clients,
            accounts,
            sessions,
            smart,
            oidc,
            sign_ins_started: Mutex::new((0, 0)),
            secure_cookies,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// Sign-in with sessions and codes in `store`, and no identity provider: for tests, benchmarks and tools. Nodes
    /// that share a store and a signing key honour each other's sign-ins.
    pub fn with_store(
        store: kmcr_store::Store,
        signing_key: kmcr_auth::SigningKey,
        public_base_url: &str,
        clients: Vec<kmcr_auth::ApiClient>,
        accounts: Vec<kmcr_auth::LocalAccount>,
        smart_apps: Vec<kmcr_auth::SmartApp>,
        access_token_lifetime_s: i64,
    ) -> Authentication {
        let fhir_base_url = format!("{public_base_url}/fhir");
        let mut token_settings = kmcr_auth::TokenSettings::new(public_base_url, fhir_base_url.clone());
        token_settings.access_token_lifetime_s = access_token_lifetime_s;
        let issuer = Arc::new(TokenIssuer::new(token_settings, signing_key, Vec::new()));
        let sessions: Arc<dyn SessionRegistry> = Arc::new(StoredSessions::new(store.clone()));
        let smart = SmartAuthorizationServer::new(
            kmcr_auth::SmartSettings::new(public_base_url, fhir_base_url),
            smart_apps,
            issuer.clone(),
            Arc::new(StoredAuthorizations::new(store)),
            sessions.clone(),
        )
        .expect("valid SMART apps");
        Authentication::new(
            issuer,
            ClientRegistry::new(clients).expect("distinct clients with system scopes"),
            LocalAccounts::new(accounts).expect("valid accounts"),
            sessions,
            smart,
            None,
            false,
        )
    }

    /// The token's content if its signature, issuer, audience and times hold, from the cache while it has not expired.
    fn verified_token(&self, token: &str, now: Instant) -> Option<kmcr_auth::VerifiedToken> {
        let mut verified = self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(known) = verified.get(token) {
            if now.unix_ms < known.expires_at.unix_ms {
                return Some(known.clone());
            }
            verified.remove(token);
        }
        drop(verified);
        let checked = self.issuer.verify(token, now).ok()?;
        let mut verified = self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if verified.len() >= MAX_VERIFIED_TOKENS {
            verified.clear();
        }
        verified.insert(token.to_string(), checked.clone());
        Some(checked)
    }

    /// Counts a sign-in started; `false` once this node has started [`MAX_SIGN_INS_STARTED`] in the current window.
    fn may_start_sign_in(&self, now: Instant) -> bool {
        let mut started = self.sign_ins_started.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if now.unix_ms - started.0 >= PENDING_LIFETIME_S * 1000 {
            *started = (now.unix_ms, 0);
        }
        started.1 += 1;
        started.1 <= MAX_SIGN_INS_STARTED
    }

    /// Drops expired codes, refresh tokens, waiting sign-ins and sessions from the store; `kmcr serve` calls it
    /// from time to time.
    pub async fn forget_expired(&self, now: Instant) -> Result<(), kmcr_auth::StateUnavailable> {
        self.smart.forget_expired(now).await
    }

    /// The principal of a bearer token: valid (signature, issuer, audience, time), of a session still active (users
    /// and patients) or of a client still configured (systems, whose principal is read from the configuration as it
    /// is now).
    pub async fn principal_of(
        &self,
        token: &str,
        now: Instant,
    ) -> Result<Option<Principal>, kmcr_auth::StateUnavailable> {
        let Some(verified) = self.verified_token(token, now) else { return Ok(None) };
        if let Some(session_id) = &verified.session_id
            && !self.sessions.is_active(session_id, now).await?
        {
            return Ok(None);
        }
        Ok(self.principal_of_verified(verified))
    }

    fn principal_of_verified(&self, verified: kmcr_auth::VerifiedToken) -> Option<Principal> {
        match verified.principal {
            Principal::System(system) => {
                let client = self.clients.get(&system.client_id)?;
                let scopes_still_held =
                    system.scopes.iter().all(|scope| client.scopes.iter().any(|held| held.includes(scope)));
                if client.ods_code != system.ods_code || !scopes_still_held {
                    return None;
                }
                Some(Principal::System(SystemPrincipal {
                    client_id: client.id.clone(),
                    ods_code: client.ods_code.clone(),
                    scopes: system.scopes,
                    region_wide: client.region_wide.clone(),
                }))
            }
            principal @ (Principal::User(_) | Principal::Patient(_)) => {
                verified.session_id.as_ref()?;
                Some(principal)
            }
        }
    }
}

/// The value of cookie `name` in a request's headers.
pub(crate) fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie_name, _)| *cookie_name == name)
        .map(|(_, value)| value.to_string())
}

/// What a user is told when a local sign-in is refused (never which of username or password was wrong).
pub(crate) fn local_sign_in_refusal_message(refusal: &kmcr_auth::LocalSignInRefusal) -> String {
    match refusal {
        kmcr_auth::LocalSignInRefusal::LockedOut => format!(
            "Too many sign-ins with this username were refused. Try again in {} minutes, or ask your administrator.",
            kmcr_auth::SIGN_IN_LOCKOUT_S / 60
        ),
        _ => "The username or password is not right".to_string(),
    }
}

/// The caller of a request, from its bearer token; a request without a valid one is answered 401.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let principal = match bearer_token(parts) {
            Some(token) => state.auth.principal_of(token, Instant::now()).await,
            None => Ok(None),
        };
        match principal {
            Ok(Some(principal)) => Ok(Caller(principal)),
            Err(error) => {
                tracing::error!(%error, "request refused: sessions cannot be checked");
                Err(outcome_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "transient",
                    "KMCR-UNAVAILABLE",
                    "sign-in sessions cannot be checked just now: try again shortly",
                ))
            }
            Ok(None) => {
                tracing::info!("request refused: no valid bearer token");
                let mut response = outcome_response(
                    StatusCode::UNAUTHORIZED,
                    "login",
                    "KMCR-UNAUTHENTICATED",
                    "a valid bearer token is required: obtain one at /oauth/token",
                );
                response.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"kmcr\", error=\"invalid_token\""),
                );
                Err(response)
            }
        }
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            // The scheme is case-insensitive (RFC 9110 section 11.1).
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .map(str::trim)
}
