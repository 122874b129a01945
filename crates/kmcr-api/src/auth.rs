//! Who is calling: OAuth2 client credentials at `/oauth/token`, and bearer tokens (HS256 JWTs) on every FHIR request.

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use kmcr_access::{Principal, RegionWideReading, Scope, SystemPrincipal};
use kmcr_fhir::{Instant, OdsCode};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use crate::AppState;
use crate::responses::outcome_response;

/// An API client allowed to obtain tokens: a source system or an application.
#[derive(Clone)]
pub struct ApiClient {
    pub id: String,
    pub secret: String,
    pub ods_code: OdsCode,
    pub scopes: Vec<Scope>,
    /// A named, audited exception: may read every person's record.
    pub region_wide: Option<RegionWideReading>,
    pub trusted_to_verify_nhs_numbers: bool,
}

impl ApiClient {
    /// The principal this client acts as.
    pub fn principal(&self, scopes: Vec<Scope>) -> Principal {
        Principal::System(SystemPrincipal {
            client_id: self.id.clone(),
            ods_code: self.ods_code.clone(),
            scopes,
            region_wide: self.region_wide.clone(),
            trusted_to_verify_nhs_numbers: self.trusted_to_verify_nhs_numbers,
        })
    }
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient").field("id", &self.id).field("ods_code", &self.ods_code).finish_non_exhaustive()
    }
}

/// Signs and checks access tokens. Nodes sharing one database must share the key.
pub struct TokenSigner {
    key: Vec<u8>,
    pub token_lifetime_s: i64,
}

impl TokenSigner {
    pub fn new(key: Vec<u8>, token_lifetime_s: i64) -> TokenSigner {
        assert!(key.len() >= 32, "token signing keys are at least 256 bits");
        TokenSigner { key, token_lifetime_s }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }

    pub fn issue(&self, client: &ApiClient, scopes: &[Scope], now: Instant) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let scope_text: Vec<String> = scopes.iter().map(Scope::to_string).collect();
        let claims = json!({
            "iss": "kmcr",
            "sub": client.id,
            "org": client.ods_code.as_str(),
            "scope": scope_text.join(" "),
            "iat": now.unix_ms / 1000,
            "exp": now.unix_ms / 1000 + self.token_lifetime_s,
        });
        let claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"));
        let signing_input = format!("{header}.{claims}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The principal of a valid, unexpired token of a client still configured.
    pub fn verify(&self, token: &str, now: Instant, clients: &[ApiClient]) -> Option<Principal> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&signature).ok()?;
        let (header, claims) = signing_input.split_once('.')?;
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.get("alg")?.as_str()? != "HS256" {
            return None;
        }
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
        if claims.get("exp")?.as_i64()? <= now.unix_ms / 1000 {
            return None;
        }
        let scopes =
            claims.get("scope")?.as_str()?.split_whitespace().map(Scope::parse).collect::<Result<_, _>>().ok()?;
        let client_id = claims.get("sub")?.as_str()?;
        let client = clients.iter().find(|client| client.id == client_id)?;
        if client.ods_code.as_str() != claims.get("org")?.as_str()? {
            return None;
        }
        Some(client.principal(scopes))
    }
}

#[derive(Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, axum::Json(json!({ "error": error, "error_description": description }))).into_response()
}

/// `POST /oauth/token` with `grant_type=client_credentials`, credentials in the form or in HTTP Basic.
pub async fn token(State(state): State<AppState>, headers: HeaderMap, Form(request): Form<TokenRequest>) -> Response {
    if request.grant_type.as_deref() != Some("client_credentials") {
        return token_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "use grant_type=client_credentials");
    }
    let (client_id, client_secret) = match basic_credentials(&headers) {
        Some(credentials) => credentials,
        None => (request.client_id.unwrap_or_default(), request.client_secret.unwrap_or_default()),
    };
    let client = state.clients.iter().find(|client| client.id == client_id);
    let Some(client) = client.filter(|client| constant_time_equal(client.secret.as_bytes(), client_secret.as_bytes()))
    else {
        tracing::info!("token refused: unknown client or wrong secret");
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret");
    };
    // A client may ask for fewer scopes than it holds, never more.
    let scopes = match request.scope.as_deref().map(str::trim).filter(|scope| !scope.is_empty()) {
        None => client.scopes.clone(),
        Some(asked) => {
            let mut granted = Vec::new();
            for text in asked.split_whitespace() {
                match Scope::parse(text) {
                    Ok(scope) if client.scopes.contains(&scope) || client_holds_wider(client, &scope) => {
                        granted.push(scope)
                    }
                    _ => {
                        return token_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_scope",
                            "a requested scope is not granted to this client",
                        );
                    }
                }
            }
            granted
        }
    };
    let token = state.signer.issue(client, &scopes, Instant::now());
    let scope_text: Vec<String> = scopes.iter().map(Scope::to_string).collect();
    axum::Json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": state.signer.token_lifetime_s,
        "scope": scope_text.join(" "),
    }))
    .into_response()
}

fn client_holds_wider(client: &ApiClient, asked: &Scope) -> bool {
    client.scopes.iter().any(|held| held.includes(asked))
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

/// The caller of a FHIR request, from its bearer token; a request without a valid one is answered 401.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        match token.and_then(|token| state.signer.verify(token.trim(), Instant::now(), &state.clients)) {
            Some(principal) => Ok(Caller(principal)),
            None => {
                let mut response = outcome_response(
                    StatusCode::UNAUTHORIZED,
                    "login",
                    "KMCR-UNAUTHENTICATED",
                    "a valid bearer token is required: obtain one at /oauth/token",
                );
                response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"kmcr\""));
                Err(response)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_unaltered_and_unexpired() {
        let signer = TokenSigner::new(vec![7; 32], 60);
        let client = ApiClient {
            id: "gp-system".into(),
            secret: "s".into(),
            ods_code: OdsCode::parse("G82001").unwrap(),
            scopes: vec![Scope::parse("system/*.read").unwrap()],
            region_wide: None,
            trusted_to_verify_nhs_numbers: false,
        };
        let now = Instant::from_unix_ms(1_000_000_000);
        let token = signer.issue(&client, &client.scopes, now);
        let clients = [client.clone()];
        let principal = signer.verify(&token, now, &clients).expect("fresh token verifies");
        assert_eq!(principal.ods_code().unwrap().as_str(), "G82001");
        assert!(signer.verify(&token, Instant::from_unix_ms(now.unix_ms + 61_000), &clients).is_none());
        let mut altered = token.clone();
        altered.insert(10, 'x');
        assert!(signer.verify(&altered, now, &clients).is_none());
        assert!(TokenSigner::new(vec![8; 32], 60).verify(&token, now, &clients).is_none());
        assert!(signer.verify(&token, now, &[]).is_none(), "a removed client's tokens are refused");
    }
}
