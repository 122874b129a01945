//! SMART App Launch, standalone, as an authorisation server without HTTP: the checks of `/oauth/authorize`, the
//! authorisation codes, the `authorization_code` and `refresh_token` grants of `/oauth/token`, revocation, and the
//! content of `/fhir/.well-known/smart-configuration`.
//!
//! An authorisation code is single-use, lives a minute, and is bound to the app, the redirect URI, the PKCE
//! challenge (S256 only), the user, the role profile they act in and their sign-in session. A code or refresh token
//! presented a second time is refused and the tokens of its grant are revoked (RFC 6749 section 4.1.2 and the OAuth
//! security BCP). Refresh tokens are rotated on every use. Codes and refresh tokens are kept by their SHA-256 only.
//!
//! Granted `user/` scopes are those the app asked for that its registration includes; what the user may see in each
//! resource is still decided by kmcr-access on every request. `launch/patient` is not granted: KMCR has no patient
//! picker, so there is no standalone patient context to give.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kmcr_access::{AssuranceLevel, Principal, RoleProfile, Scope, ScopeContext, UserPrincipal};
use kmcr_fhir::Instant;
use openidconnect::url::Url;
use sha2::{Digest, Sha256};

use crate::local_accounts::{LocalAccount, LocalAccounts};
use crate::password::{SecretHash, spend_time_as_if_checking};
use crate::secret::{Secret, constant_time_eq, random_url_safe};
use crate::sessions::{SessionEnd, SessionRegistry};
use crate::smart_store::{AuthorizationCodeGrant, AuthorizationStore, Redemption, RefreshGrant};
use crate::state::StateUnavailable;
use crate::tokens::{IdTokenContent, TokenIssuer};

/// How a SMART app authenticates at the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmartClientKind {
    /// A browser or native app that cannot keep a secret: PKCE alone binds the code to it.
    Public,
    /// A server-side app with a secret (client_secret_basic or client_secret_post).
    ConfidentialSymmetric { secret_hash: SecretHash },
}

/// A SMART app registered in configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmartApp {
    pub client_id: String,
    pub name: String,
    pub kind: SmartClientKind,
    /// Compared exactly, character for character.
    pub redirect_uris: Vec<String>,
    /// The `user/` scopes it may be granted.
    pub scopes: Vec<Scope>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmartSettings {
    /// KMCR's public base URL: the issuer, and the root of the OAuth endpoints.
    pub issuer: String,
    /// The FHIR base URL: an authorisation request's `aud` must be exactly this.
    pub fhir_base_url: String,
    pub authorization_code_lifetime_s: i64,
    /// A refresh token never outlives the sign-in session it belongs to either.
    pub refresh_token_lifetime_s: i64,
    /// Whether `{fhir_base_url}/Practitioner/{user id}` is served; only then is `fhirUser` granted.
    pub fhir_user_served: bool,
}

impl SmartSettings {
    pub fn new(issuer: impl Into<String>, fhir_base_url: impl Into<String>) -> SmartSettings {
        SmartSettings {
            issuer: issuer.into(),
            fhir_base_url: fhir_base_url.into(),
            authorization_code_lifetime_s: 60,
            refresh_token_lifetime_s: 8 * 3600,
            fhir_user_served: false,
        }
    }
}

/// The paths, under the issuer, at which the lead engineer's routes serve the OAuth endpoints.
pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
pub const TOKEN_PATH: &str = "/oauth/token";
pub const REVOKE_PATH: &str = "/oauth/revoke";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The scopes granted, resource scopes and the SMART and OpenID Connect ones apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantedScopes {
    pub resource_scopes: Vec<Scope>,
    pub openid: bool,
    pub fhir_user: bool,
    pub offline_access: bool,
}

impl std::fmt::Display for GrantedScopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        for (granted, name) in
            [(self.openid, "openid"), (self.fhir_user, "fhirUser"), (self.offline_access, "offline_access")]
        {
            if granted {
                parts.push(name.to_string());
            }
        }
        parts.extend(self.resource_scopes.iter().map(Scope::to_string));
        f.write_str(&parts.join(" "))
    }
}

/// Why `/oauth/authorize` refused a request. [`AuthorizationError::redirect_uri`] says whether the answer may go
/// back to the app: never when the client or the redirect URI is unknown (an open redirector otherwise).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationErrorKind {
    #[error("client_id is missing or not a registered SMART app")]
    UnknownClient,
    #[error("redirect_uri is missing or not registered for this app")]
    UnregisteredRedirectUri,
    #[error("only response_type=code is supported")]
    UnsupportedResponseType,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidScope(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct AuthorizationError {
    pub kind: AuthorizationErrorKind,
    /// Where to send the error (with `state`), when that is safe.
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
}

impl AuthorizationError {
    /// The RFC 6749 section 4.1.2.1 error code.
    pub fn oauth_error_code(&self) -> &'static str {
        match self.kind {
            AuthorizationErrorKind::UnknownClient | AuthorizationErrorKind::UnregisteredRedirectUri => {
                "invalid_request"
            }
            AuthorizationErrorKind::UnsupportedResponseType => "unsupported_response_type",
            AuthorizationErrorKind::InvalidRequest(_) => "invalid_request",
            AuthorizationErrorKind::InvalidScope(_) => "invalid_scope",
        }
    }

    /// The URL to redirect the browser to, when the error may go back to the app.
    pub fn redirect_url(&self) -> Option<String> {
        let mut url = Url::parse(self.redirect_uri.as_deref()?).ok()?;
        url.query_pairs_mut()
            .append_pair("error", self.oauth_error_code())
            .append_pair("error_description", &self.kind.to_string());
        if let Some(state) = &self.state {
            url.query_pairs_mut().append_pair("state", state);
        }
        Some(url.to_string())
    }
}

/// A checked `/oauth/authorize` request, to keep while the user signs in and chooses a role profile.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub scopes: GrantedScopes,
}

/// The user the code is for, once signed in and acting in one role profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedInUser {
    pub user_id: String,
    pub session_id: String,
    pub role_profile: RoleProfile,
    pub assurance: AssuranceLevel,
}

/// Refused passwords a username may have before its sign-ins are refused for [`SIGN_IN_LOCKOUT_S`].
pub const MAX_FAILED_SIGN_INS: usize = 5;
/// How long a refused password counts against its username.
pub const SIGN_IN_LOCKOUT_S: i64 = 15 * 60;

/// Why a local account's sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalSignInRefusal {
    /// Unknown username or wrong password: the same answer for both.
    #[error("the username or password is not right")]
    WrongUsernameOrPassword,
    #[error("too many refused sign-ins for this username: try again later")]
    LockedOut,
    #[error(transparent)]
    Unavailable(#[from] StateUnavailable),
}

/// Why `/oauth/token` refused a SMART grant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenEndpointError {
    #[error("client authentication failed")]
    InvalidClient,
    #[error("the code or refresh token is unknown, spent, expired, or not for this client and redirect URI")]
    InvalidGrant,
    #[error("the code_verifier does not match the code_challenge")]
    PkceMismatch,
    #[error("the sign-in session has ended")]
    SessionEnded,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("scope {0:?} is wider than the grant")]
    InvalidScope(String),
    #[error(transparent)]
    Unavailable(#[from] StateUnavailable),
}

impl TokenEndpointError {
    /// The RFC 6749 section 5.2 error code.
    pub fn oauth_error_code(&self) -> &'static str {
        match self {
            TokenEndpointError::InvalidClient => "invalid_client",
            TokenEndpointError::InvalidGrant | TokenEndpointError::PkceMismatch | TokenEndpointError::SessionEnded => {
                "invalid_grant"
            }
            TokenEndpointError::InvalidRequest(_) => "invalid_request",
            TokenEndpointError::InvalidScope(_) => "invalid_scope",
            TokenEndpointError::Unavailable(_) => "temporarily_unavailable",
        }
    }
}

/// The client's credentials as the token endpoint received them (Basic header or form).
#[derive(Clone, Debug)]
pub struct ClientAuthentication {
    pub client_id: String,
    pub client_secret: Option<Secret>,
}

/// The successful answer of `/oauth/token` (RFC 6749 section 5.1, SMART's additions).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SmartTokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// The SMART authorisation server: registered apps, the token issuer, and where codes and sessions are kept.
pub struct SmartAuthorizationServer {
    pub settings: SmartSettings,
    apps: BTreeMap<String, SmartApp>,
    issuer: Arc<TokenIssuer>,
    store: Arc<dyn AuthorizationStore>,
    sessions: Arc<dyn SessionRegistry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmartAppError {
    #[error("the SMART app {0:?} is configured twice")]
    DuplicateApp(String),
    #[error("the SMART app {client_id:?} holds {scope}, but SMART apps hold only user/ scopes")]
    NotAUserScope { client_id: String, scope: String },
    #[error("the SMART app {0:?} has no redirect URI")]
    NoRedirectUri(String),
    #[error("the SMART app {client_id:?} has a redirect URI that is not an absolute URL: {redirect_uri:?}")]
    RedirectUriNotUrl { client_id: String, redirect_uri: String },
}

impl SmartAuthorizationServer {
    pub fn new(
        settings: SmartSettings,
        apps: Vec<SmartApp>,
        issuer: Arc<TokenIssuer>,
        store: Arc<dyn AuthorizationStore>,
        sessions: Arc<dyn SessionRegistry>,
    ) -> Result<SmartAuthorizationServer, SmartAppError> {
        let mut by_id = BTreeMap::new();
        for app in apps {
            if let Some(scope) = app.scopes.iter().find(|scope| scope.context != ScopeContext::User) {
                return Err(SmartAppError::NotAUserScope { client_id: app.client_id, scope: scope.to_string() });
            }
            if app.redirect_uris.is_empty() {
                return Err(SmartAppError::NoRedirectUri(app.client_id));
            }
            if let Some(uri) = app.redirect_uris.iter().find(|uri| Url::parse(uri).is_err()) {
                return Err(SmartAppError::RedirectUriNotUrl {
                    client_id: app.client_id.clone(),
                    redirect_uri: uri.clone(),
                });
            }
            if by_id.contains_key(&app.client_id) {
                return Err(SmartAppError::DuplicateApp(app.client_id));
            }
            by_id.insert(app.client_id.clone(), app);
        }
        Ok(SmartAuthorizationServer { settings, apps: by_id, issuer, store, sessions })
    }

    pub fn app(&self, client_id: &str) -> Option<&SmartApp> {
        self.apps.get(client_id)
    }

    /// Checks the query of `/oauth/authorize`. On success, the caller signs the user in, has them choose a role
    /// profile, then calls [`SmartAuthorizationServer::issue_code`].
    pub fn check_authorization_request(
        &self,
        query: &[(String, String)],
    ) -> Result<AuthorizationRequest, AuthorizationError> {
        let parameter = |name: &str| query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
        let mut error =
            AuthorizationError { kind: AuthorizationErrorKind::UnknownClient, redirect_uri: None, state: None };
        let Some(app) = parameter("client_id").and_then(|client_id| self.apps.get(client_id)) else {
            return Err(error);
        };
        let Some(redirect_uri) =
            parameter("redirect_uri").filter(|uri| app.redirect_uris.iter().any(|known| known == uri))
        else {
            error.kind = AuthorizationErrorKind::UnregisteredRedirectUri;
            return Err(error);
        };
        // From here on the error may go back to the app.
        error.redirect_uri = Some(redirect_uri.to_string());
        error.state = parameter("state").map(str::to_string);
        let refuse = |kind| Err(AuthorizationError { kind, ..error.clone() });
        let invalid = |text: &str| refuse(AuthorizationErrorKind::InvalidRequest(text.to_string()));
        let repeated = ["client_id", "redirect_uri", "response_type", "scope", "state", "aud", "code_challenge"]
            .into_iter()
            .find(|name| query.iter().filter(|(key, _)| key == name).count() > 1);
        if let Some(name) = repeated {
            return invalid(&format!("{name} is given more than once"));
        }
        if parameter("response_type") != Some("code") {
            return refuse(AuthorizationErrorKind::UnsupportedResponseType);
        }
        let Some(state) = parameter("state").filter(|state| !state.is_empty()) else {
            return invalid("state is required");
        };
        if parameter("launch").is_some() {
            return invalid("EHR launch is not supported: use a standalone launch");
        }
        if parameter("aud") != Some(self.settings.fhir_base_url.as_str()) {
            return invalid("aud must be this server's FHIR base URL");
        }
        if parameter("code_challenge_method") != Some("S256") {
            return invalid("PKCE is required with code_challenge_method=S256");
        }
        let Some(code_challenge) = parameter("code_challenge").filter(|challenge| is_s256_challenge(challenge)) else {
            return invalid("code_challenge must be the base64url SHA-256 of the code verifier (43 characters)");
        };
        let scopes = match self.grant_scopes(app, parameter("scope").unwrap_or_default()) {
            Ok(scopes) => scopes,
            Err(text) => return refuse(AuthorizationErrorKind::InvalidScope(text)),
        };
        Ok(AuthorizationRequest {
            client_id: app.client_id.clone(),
            redirect_uri: redirect_uri.to_string(),
            state: state.to_string(),
            code_challenge: code_challenge.to_string(),
            nonce: parameter("nonce").map(str::to_string),
            scopes,
        })
    }

    /// The scopes to grant: resource scopes asked for that the app's registration includes; unknown scopes are
    /// ignored as SMART allows; a malformed resource scope, or none left to grant, is refused.
    fn grant_scopes(&self, app: &SmartApp, asked: &str) -> Result<GrantedScopes, String> {
        let mut granted =
            GrantedScopes { resource_scopes: Vec::new(), openid: false, fhir_user: false, offline_access: false };
        for text in asked.split_whitespace() {
            match text {
                "openid" => granted.openid = true,
                "fhirUser" => granted.fhir_user = self.settings.fhir_user_served,
                "offline_access" => granted.offline_access = true,
                // Not granted: see the module note. `online_access` is what every grant is anyway.
                "launch/patient" | "online_access" | "profile" => {}
                _ if text.starts_with("user/") => {
                    let scope = Scope::parse(text).map_err(|error| error.to_string())?;
                    if app.scopes.iter().any(|held| held.includes(&scope)) && !granted.resource_scopes.contains(&scope)
                    {
                        granted.resource_scopes.push(scope);
                    }
                }
                _ => {}
            }
        }
        if granted.resource_scopes.is_empty() {
            return Err("no user/ scope asked for is one this app is registered for".to_string());
        }
        Ok(granted)
    }

    /// A code for the request, once the user has signed in and chosen a role profile, and the URL to send the
    /// browser back to with it.
    pub async fn issue_code(
        &self,
        request: AuthorizationRequest,
        user: SignedInUser,
        now: Instant,
    ) -> Result<String, StateUnavailable> {
        let code = random_url_safe(32);
        let redirect = redirect_with(&request.redirect_uri, &[("code", &code), ("state", &request.state)]);
        let grant = AuthorizationCodeGrant {
            grant_id: random_url_safe(16),
            request,
            user,
            expires_at: Instant::from_unix_ms(now.unix_ms + self.settings.authorization_code_lifetime_s * 1000),
        };
        self.store.put_code(digest(&code), grant).await?;
        Ok(redirect)
    }

    /// `grant_type=authorization_code`.
    pub async fn exchange_code(
        &self,
        client: &ClientAuthentication,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
        now: Instant,
    ) -> Result<SmartTokenResponse, TokenEndpointError> {
        let app = self.authenticate(client)?;
        let grant = match self.store.redeem_code(&digest(code)).await? {
            Redemption::Fresh(grant) => grant,
            Redemption::Spent(grant) => {
                self.end_grant(&grant.grant_id, &grant.user.session_id, now).await?;
                return Err(TokenEndpointError::InvalidGrant);
            }
            Redemption::Unknown => return Err(TokenEndpointError::InvalidGrant),
        };
        let bound_elsewhere = grant.request.client_id != app.client_id || grant.request.redirect_uri != redirect_uri;
        if bound_elsewhere || now.unix_ms >= grant.expires_at.unix_ms {
            return Err(TokenEndpointError::InvalidGrant);
        }
        let expected_challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(code_verifier.as_bytes()));
        let verifier_well_formed = (43..=128).contains(&code_verifier.len())
            && code_verifier.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte));
        if !verifier_well_formed
            || !constant_time_eq(expected_challenge.as_bytes(), grant.request.code_challenge.as_bytes())
        {
            return Err(TokenEndpointError::PkceMismatch);
        }
        if !self.sessions.is_active(&grant.user.session_id, now).await? {
            return Err(TokenEndpointError::SessionEnded);
        }
        let (user, scopes) = (grant.user, grant.request.scopes);
        Ok(self.respond(&app.client_id, &grant.grant_id, user, scopes, grant.request.nonce.as_deref(), now).await?)
    }

    /// `grant_type=refresh_token`: the token is spent and a new one given (rotation); `scope` may narrow the grant.
    pub async fn refresh(
        &self,
        client: &ClientAuthentication,
        refresh_token: &str,
        scope: Option<&str>,
        now: Instant,
    ) -> Result<SmartTokenResponse, TokenEndpointError> {
        let app = self.authenticate(client)?;
        let grant = match self.store.redeem_refresh_token(&digest(refresh_token)).await? {
            Redemption::Fresh(grant) => grant,
            Redemption::Spent(grant) => {
                self.end_grant(&grant.grant_id, &grant.user.session_id, now).await?;
                return Err(TokenEndpointError::InvalidGrant);
            }
            Redemption::Unknown => return Err(TokenEndpointError::InvalidGrant),
        };
        if grant.client_id != app.client_id || now.unix_ms >= grant.expires_at.unix_ms {
            return Err(TokenEndpointError::InvalidGrant);
        }
        if !self.sessions.is_active(&grant.user.session_id, now).await? {
            return Err(TokenEndpointError::SessionEnded);
        }
        let scopes = match scope {
            None => grant.scopes.clone(),
            Some(asked) => narrow(&grant.scopes, asked)?,
        };
        Ok(self.respond(&app.client_id, &grant.grant_id, grant.user, scopes, None, now).await?)
    }

    /// RFC 7009 revocation of a refresh token: its grant ends, and with it the access tokens issued under it (see
    /// [`SmartAuthorizationServer::end_grant`]). Unknown tokens are answered as success, as the RFC asks.
    pub async fn revoke(
        &self,
        client: &ClientAuthentication,
        token: &str,
        now: Instant,
    ) -> Result<(), TokenEndpointError> {
        let app = self.authenticate(client)?;
        if let Redemption::Fresh(grant) = self.store.redeem_refresh_token(&digest(token)).await?
            && grant.client_id == app.client_id
        {
            self.end_grant(&grant.grant_id, &grant.user.session_id, now).await?;
        }
        Ok(())
    }

    /// Ends a grant: its refresh tokens are spent and its sign-in session ended, so that its access tokens are
    /// refused before they expire. Each authorisation signs the user in afresh (KMCR keeps no single sign-on cookie),
    /// so the session is this grant's alone and ending it ends no other app's access.
    async fn end_grant(&self, grant_id: &str, session_id: &str, now: Instant) -> Result<(), StateUnavailable> {
        self.store.revoke_grant(grant_id).await?;
        self.sessions.end(session_id, SessionEnd::Revoked, now).await
    }

    /// Keeps a sign-in waiting for its user (the `/oauth/authorize` page's state, opaque here) and returns its
    /// unguessable id; it is kept by the id's SHA-256 and lasts `lifetime_s`.
    pub async fn keep_sign_in(
        &self,
        content: String,
        now: Instant,
        lifetime_s: i64,
    ) -> Result<String, StateUnavailable> {
        let flow_id = random_url_safe(24);
        let expires_at = Instant::from_unix_ms(now.unix_ms + lifetime_s * 1000);
        self.store.put_flow(digest(&flow_id), content, expires_at).await?;
        Ok(flow_id)
    }

    /// A waiting sign-in's content, unless it has expired or finished.
    pub async fn sign_in(&self, flow_id: &str, now: Instant) -> Result<Option<String>, StateUnavailable> {
        self.store.flow(&digest(flow_id), now).await
    }

    /// Moves a waiting sign-in on a step; `false` if it has finished or expired meanwhile.
    pub async fn update_sign_in(&self, flow_id: &str, content: String) -> Result<bool, StateUnavailable> {
        self.store.replace_flow(&digest(flow_id), content).await
    }

    /// Finishes a waiting sign-in: its content, once only.
    pub async fn finish_sign_in(&self, flow_id: &str, now: Instant) -> Result<Option<String>, StateUnavailable> {
        self.store.take_flow(&digest(flow_id), now).await
    }

    /// A local account's sign-in, refused without looking at the password once the username has had
    /// [`MAX_FAILED_SIGN_INS`] refusals in [`SIGN_IN_LOCKOUT_S`]: a password cannot be guessed faster than that, on
    /// any node. The count is kept per username as typed, known or not, so a lockout says nothing about who has an
    /// account.
    pub async fn local_sign_in<'a>(
        &self,
        accounts: &'a LocalAccounts,
        username: &str,
        password: &Secret,
        now: Instant,
    ) -> Result<&'a LocalAccount, LocalSignInRefusal> {
        let username_digest = digest(&format!("username:{username}"));
        if self.store.failed_sign_ins(&username_digest, now).await? >= MAX_FAILED_SIGN_INS {
            return Err(LocalSignInRefusal::LockedOut);
        }
        match accounts.sign_in(username, password) {
            Ok(account) => {
                self.store.clear_failed_sign_ins(&username_digest).await?;
                Ok(account)
            }
            Err(_) => {
                let expires_at = Instant::from_unix_ms(now.unix_ms + SIGN_IN_LOCKOUT_S * 1000);
                self.store.put_failed_sign_in(username_digest, expires_at).await?;
                Err(LocalSignInRefusal::WrongUsernameOrPassword)
            }
        }
    }

    /// Drops codes, refresh tokens and waiting sign-ins past their expiry.
    pub async fn forget_expired(&self, now: Instant) -> Result<(), StateUnavailable> {
        self.store.forget_expired(now).await
    }

    fn authenticate(&self, client: &ClientAuthentication) -> Result<&SmartApp, TokenEndpointError> {
        let Some(app) = self.apps.get(&client.client_id) else {
            if let Some(secret) = &client.client_secret {
                spend_time_as_if_checking(secret);
            }
            return Err(TokenEndpointError::InvalidClient);
        };
        match (&app.kind, &client.client_secret) {
            (SmartClientKind::Public, None) => Ok(app),
            (SmartClientKind::ConfidentialSymmetric { secret_hash }, Some(secret)) if secret_hash.verify(secret) => {
                Ok(app)
            }
            _ => Err(TokenEndpointError::InvalidClient),
        }
    }

    async fn respond(
        &self,
        client_id: &str,
        grant_id: &str,
        user: SignedInUser,
        scopes: GrantedScopes,
        nonce: Option<&str>,
        now: Instant,
    ) -> Result<SmartTokenResponse, StateUnavailable> {
        let principal = Principal::User(UserPrincipal {
            user_id: user.user_id.clone(),
            session_id: user.session_id.clone(),
            role_profile: user.role_profile.clone(),
            assurance: user.assurance,
            scopes: scopes.resource_scopes.clone(),
        });
        let access = self.issuer.issue(&principal, client_id, now);
        let fhir_user = format!("{}/Practitioner/{}", self.settings.fhir_base_url.trim_end_matches('/'), user.user_id);
        let id_token = scopes.openid.then(|| {
            let content = IdTokenContent {
                user_id: &user.user_id,
                client_id,
                nonce,
                fhir_user: scopes.fhir_user.then_some(fhir_user.as_str()),
            };
            self.issuer.issue_id_token(&content, now)
        });
        let mut refresh_token = None;
        if scopes.offline_access {
            let token = random_url_safe(32);
            let expires_at = Instant::from_unix_ms(now.unix_ms + self.settings.refresh_token_lifetime_s * 1000);
            let grant = RefreshGrant {
                grant_id: grant_id.to_string(),
                client_id: client_id.to_string(),
                user,
                scopes: scopes.clone(),
                expires_at,
            };
            self.store.put_refresh_token(digest(&token), grant).await?;
            refresh_token = Some(token);
        }
        Ok(SmartTokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.lifetime_s,
            scope: scopes.to_string(),
            refresh_token,
            id_token,
        })
    }

    /// The content of `/fhir/.well-known/smart-configuration`: only what this server does.
    pub fn smart_configuration(&self) -> serde_json::Value {
        let base = self.settings.issuer.trim_end_matches('/');
        let mut capabilities =
            vec!["launch-standalone", "client-public", "client-confidential-symmetric", "permission-user"];
        capabilities.extend(["permission-v1", "permission-v2", "permission-offline", "sso-openid-connect"]);
        serde_json::json!({
            "issuer": self.settings.issuer,
            "jwks_uri": format!("{base}{JWKS_PATH}"),
            "authorization_endpoint": format!("{base}{AUTHORIZE_PATH}"),
            "token_endpoint": format!("{base}{TOKEN_PATH}"),
            "revocation_endpoint": format!("{base}{REVOKE_PATH}"),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": self.scopes_supported(),
            "capabilities": capabilities,
        })
    }

    fn scopes_supported(&self) -> Vec<String> {
        let mut scopes: Vec<String> = ["openid", "offline_access"].map(str::to_string).to_vec();
        if self.settings.fhir_user_served {
            scopes.push("fhirUser".to_string());
        }
        let mut resource: Vec<String> =
            self.apps.values().flat_map(|app| app.scopes.iter().map(Scope::to_string)).collect();
        resource.sort();
        resource.dedup();
        scopes.extend(resource);
        scopes.extend(["system/*.rs".to_string()]);
        scopes
    }
}

/// Kept as the text of a `scope` parameter.
impl serde::Serialize for GrantedScopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for GrantedScopes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<GrantedScopes, D::Error> {
        let text = String::deserialize(deserializer)?;
        GrantedScopes::parse(&text).map_err(|scope| serde::de::Error::custom(format!("{scope:?} is not a scope")))
    }
}

impl GrantedScopes {
    /// Reads scopes as [`GrantedScopes`]'s `Display` writes them; the text of the first that is not a scope is the error.
    pub fn parse(text: &str) -> Result<GrantedScopes, String> {
        let mut scopes =
            GrantedScopes { resource_scopes: Vec::new(), openid: false, fhir_user: false, offline_access: false };
        for part in text.split_whitespace() {
            match part {
                "openid" => scopes.openid = true,
                "fhirUser" => scopes.fhir_user = true,
                "offline_access" => scopes.offline_access = true,
                _ => scopes.resource_scopes.push(Scope::parse(part).map_err(|_| part.to_string())?),
            }
        }
        Ok(scopes)
    }
}

/// A refresh may ask for fewer scopes than the grant holds, never more.
fn narrow(held: &GrantedScopes, asked: &str) -> Result<GrantedScopes, TokenEndpointError> {
    let narrowed = GrantedScopes::parse(asked).map_err(TokenEndpointError::InvalidScope)?;
    let wider = [("openid", narrowed.openid, held.openid), ("fhirUser", narrowed.fhir_user, held.fhir_user)]
        .into_iter()
        .chain([("offline_access", narrowed.offline_access, held.offline_access)])
        .find(|(_, asked, held)| *asked && !*held);
    if let Some((name, _, _)) = wider {
        return Err(TokenEndpointError::InvalidScope(name.to_string()));
    }
    let outside = narrowed
        .resource_scopes
        .iter()
        .find(|scope| !held.resource_scopes.iter().any(|held_scope| held_scope.includes(scope)));
    if let Some(scope) = outside {
        return Err(TokenEndpointError::InvalidScope(scope.to_string()));
    }
    Ok(narrowed)
}

fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && URL_SAFE_NO_PAD.decode(challenge).is_ok_and(|bytes| bytes.len() == 32)
}

pub(crate) fn digest(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse(redirect_uri).expect("registered redirect URIs are absolute URLs");
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}
