//! KMCR's access tokens: ES256 JWTs signed with the deployment's key, carrying what rebuilds the [`Principal`] (the
//! user and the one role profile they act in, the system and its organisation, or the patient), checked on every
//! request. Others check tokens that leave KMCR against the JWKS alone, as [`TokenVerifier::from_jwks`] does.
//!
//! A token is refused unless: its header names ES256 and a key KMCR publishes, its signature holds, `iss` is KMCR's
//! public base URL, `aud` is the FHIR base URL, and `now` lies between `nbf` and `exp` give or take the leeway.
//! Revocation is the caller's check: [`VerifiedToken`] gives the session id for [`crate::SessionRegistry::is_active`].

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use kmcr_access::{PatientPrincipal, Principal, RegionWideReading, Scope, SystemPrincipal, UserPrincipal};
use kmcr_fhir::{Instant, OdsCode};
use serde::{Deserialize, Serialize};

use crate::keys::{KeyError, PublicSigningKey, SigningKey};
use crate::secret::random_url_safe;
use crate::smart_store::{StoredRoleProfile, assurance_from_str};

/// Where tokens come from and are for, and how long they last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSettings {
    /// KMCR's public base URL (`https://kmcr.example.nhs.uk`): the `iss` of every token.
    pub issuer: String,
    /// The FHIR base URL (`https://kmcr.example.nhs.uk/fhir`): the `aud` of every access token.
    pub audience: String,
    pub access_token_lifetime_s: i64,
    /// Clock difference allowed between nodes, and between KMCR and those who check its tokens.
    pub leeway_s: i64,
}

impl TokenSettings {
    /// Five-minute tokens (SMART apps refresh them; a revoked session is also refused at once) and 30 s of leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> TokenSettings {
        TokenSettings { issuer: issuer.into(), audience: audience.into(), access_token_lifetime_s: 300, leeway_s: 30 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a JWT: {0}")]
    Malformed(String),
    #[error("the token's algorithm {0:?} is refused: KMCR signs with ES256 only")]
    AlgorithmRefused(String),
    #[error("the token names no key KMCR publishes")]
    UnknownKey,
    #[error("the token's signature does not hold")]
    BadSignature,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is for another audience")]
    WrongAudience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's claims do not describe a principal: {0}")]
    InvalidClaims(String),
}

impl TokenError {
    /// The RFC 6750 error code for a `WWW-Authenticate` header: every refusal is `invalid_token`.
    pub fn oauth_error_code(&self) -> &'static str {
        "invalid_token"
    }
}

/// A token just signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub jti: String,
    pub expires_at: Instant,
    pub lifetime_s: i64,
}

/// What a valid token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    pub principal: Principal,
    /// The token id, for a deny-list if one is ever needed.
    pub jti: String,
    /// The sign-in session of a user or patient: check it is still active before serving the request.
    pub session_id: Option<String>,
    /// The OAuth client the token was issued to (a SMART app, an API client, or KMCR's own web pages).
    pub client_id: String,
    pub issued_at: Instant,
    pub expires_at: Instant,
}

/// The claims on the wire. KMCR's own claims sit under `kmcr` so that they cannot collide with registered ones.
#[derive(Serialize, Deserialize)]
struct AccessTokenClaims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    iat: i64,
    nbf: i64,
    jti: String,
    scope: String,
    client_id: String,
    kmcr: PrincipalClaims,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum PrincipalClaims {
    User {
        user_id: String,
        session_id: String,
        role_profile_id: String,
        ods_code: String,
        /// As CIS2 wrote it (`S8000:G8000:R8000`).
        job_role: String,
        /// The activity codes granted, already expanded; unknown codes are kept for the audit.
        activities: Vec<String>,
        assurance: String,
    },
    System {
        client_id: String,
        ods_code: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region_wide: Option<RegionWideClaims>,
    },
    Patient {
        user_id: String,
        session_id: String,
        patient_ids: Vec<String>,
    },
}

#[derive(Serialize, Deserialize)]
struct RegionWideClaims {
    justification: String,
    secondary_use: bool,
}

impl PrincipalClaims {
    fn of(principal: &Principal) -> PrincipalClaims {
        match principal {
            Principal::User(user) => {
                let role = StoredRoleProfile::of(&user.role_profile);
                PrincipalClaims::User {
                    user_id: user.user_id.clone(),
                    session_id: user.session_id.clone(),
                    role_profile_id: role.id,
                    ods_code: role.ods_code,
                    job_role: role.job_role,
                    activities: role.activities,
                    assurance: user.assurance.as_str().to_string(),
                }
            }
            Principal::System(system) => PrincipalClaims::System {
                client_id: system.client_id.clone(),
                ods_code: system.ods_code.as_str().to_string(),
                region_wide: system.region_wide.as_ref().map(|reading| RegionWideClaims {
                    justification: reading.justification.clone(),
                    secondary_use: reading.secondary_use,
                }),
            },
            Principal::Patient(patient) => PrincipalClaims::Patient {
                user_id: patient.user_id.clone(),
                session_id: patient.session_id.clone(),
                patient_ids: patient.own_patient_ids.clone(),
            },
        }
    }

    fn into_principal(self, scopes: Vec<Scope>) -> Result<Principal, TokenError> {
        let invalid = |what: &str| TokenError::InvalidClaims(what.to_string());
        let ods = |text: &str| OdsCode::parse(text).map_err(|_| invalid("ods_code is not an ODS code"));
        Ok(match self {
            PrincipalClaims::User {
                user_id,
                session_id,
                role_profile_id,
                ods_code,
                job_role,
                activities,
                assurance,
            } => {
                let assurance = assurance_from_str(&assurance).ok_or_else(|| invalid("assurance is not a level"))?;
                let role = StoredRoleProfile { id: role_profile_id, ods_code, job_role, activities };
                let role_profile = role.to_role_profile().map_err(invalid)?;
                Principal::User(UserPrincipal { user_id, session_id, role_profile, assurance, scopes })
            }
            PrincipalClaims::System { client_id, ods_code, region_wide } => Principal::System(SystemPrincipal {
                client_id,
                ods_code: ods(&ods_code)?,
                scopes,
                region_wide: region_wide.map(|reading| RegionWideReading {
                    justification: reading.justification,
                    secondary_use: reading.secondary_use,
                }),
            }),
            PrincipalClaims::Patient { user_id, session_id, patient_ids } => {
                Principal::Patient(PatientPrincipal { user_id, session_id, own_patient_ids: patient_ids, scopes })
            }
        })
    }
}

/// Checks KMCR tokens with public keys only: built from the JWKS, as any other service would build it.
#[derive(Clone)]
pub struct TokenVerifier {
    issuer: String,
    audience: String,
    leeway_s: i64,
    keys_by_kid: BTreeMap<String, DecodingKey>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("kids", &self.keys_by_kid.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TokenVerifier {
    pub fn new(settings: &TokenSettings, keys: &[PublicSigningKey]) -> TokenVerifier {
        let keys_by_kid = keys
            .iter()
            .map(|key| {
                let decoding_key =
                    DecodingKey::from_ec_components(&key.x, &key.y).expect("coordinates checked to be on P-256");
                (key.kid.clone(), decoding_key)
            })
            .collect();
        TokenVerifier {
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway_s: settings.leeway_s,
            keys_by_kid,
        }
    }

    /// A verifier from a published JWKS (`{"keys": [...]}`); every key must be EC P-256 named by its thumbprint.
    pub fn from_jwks(jwks: &serde_json::Value, settings: &TokenSettings) -> Result<TokenVerifier, KeyError> {
        let entries = jwks
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| KeyError::NotP256Jwk("a JWKS is an object with a keys array".to_string()))?;
        let keys = entries.iter().map(PublicSigningKey::from_jwk).collect::<Result<Vec<_>, _>>()?;
        Ok(TokenVerifier::new(settings, &keys))
    }

    pub fn verify(&self, token: &str, now: Instant) -> Result<VerifiedToken, TokenError> {
        let kid = self.check_header(token)?;
        let key = self.keys_by_kid.get(&kid).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        // Time is checked below against the `now` the caller gives, so that tests and the audit agree on it.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let claims = jsonwebtoken::decode::<AccessTokenClaims>(token, key, &validation)
            .map_err(|error| match error.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                ErrorKind::InvalidAudience => TokenError::WrongAudience,
                ErrorKind::InvalidAlgorithm => TokenError::AlgorithmRefused("ES256 with another key type".into()),
                ErrorKind::MissingRequiredClaim(claim) => TokenError::InvalidClaims(format!("{claim} is missing")),
                ErrorKind::Json(_) => TokenError::InvalidClaims(error.to_string()),
                _ => TokenError::Malformed(error.to_string()),
            })?
            .claims;
        let now_s = now.unix_ms.div_euclid(1000);
        if now_s >= claims.exp + self.leeway_s {
            return Err(TokenError::Expired);
        }
        if now_s + self.leeway_s < claims.nbf {
            return Err(TokenError::NotYetValid);
        }
        let scopes = claims
            .scope
            .split_whitespace()
            .map(Scope::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| TokenError::InvalidClaims(error.to_string()))?;
        let principal = claims.kmcr.into_principal(scopes)?;
        if principal.id() != claims.sub {
            return Err(TokenError::InvalidClaims("sub is not the principal's id".to_string()));
        }
        Ok(VerifiedToken {
            session_id: principal.session_id().map(str::to_string),
            principal,
            jti: claims.jti,
            client_id: claims.client_id,
            issued_at: Instant::from_unix_ms(claims.iat * 1000),
            expires_at: Instant::from_unix_ms(claims.exp * 1000),
        })
    }

    /// Reads the header before anything else: the algorithm must be ES256 (never `none`, never HS256 keyed with
    /// the public key) and the key one KMCR publishes.
    fn check_header(&self, token: &str) -> Result<String, TokenError> {
        let encoded_header = token.split('.').next().unwrap_or_default();
        let header_bytes = URL_SAFE_NO_PAD
            .decode(encoded_header)
            .map_err(|_| TokenError::Malformed("the header is not base64url".to_string()))?;
        let header: serde_json::Value = serde_json::from_slice(&header_bytes)
            .map_err(|_| TokenError::Malformed("the header is not JSON".to_string()))?;
        match header.get("alg").and_then(serde_json::Value::as_str) {
            Some("ES256") => {}
            Some(other) => return Err(TokenError::AlgorithmRefused(other.to_string())),
            None => return Err(TokenError::AlgorithmRefused(String::new())),
        }
        let kid = header.get("kid").and_then(serde_json::Value::as_str).ok_or(TokenError::UnknownKey)?;
        Ok(kid.to_string())
    }
}

/// Signs KMCR's tokens with the current key and checks them against the current and previous keys.
pub struct TokenIssuer {
    settings: TokenSettings,
    signing_key: SigningKey,
    encoding_key: jsonwebtoken::EncodingKey,
    published_keys: Vec<PublicSigningKey>,
    verifier: TokenVerifier,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer").field("settings", &self.settings).field("key", &self.signing_key).finish()
    }
}

impl TokenIssuer {
    /// `previous_keys` are kept in the JWKS and accepted, after a rotation, until their tokens have expired.
    pub fn new(settings: TokenSettings, signing_key: SigningKey, previous_keys: Vec<PublicSigningKey>) -> TokenIssuer {
        let mut published_keys = vec![signing_key.public().clone()];
        published_keys.extend(previous_keys.into_iter().filter(|key| key.kid != signing_key.public().kid));
        let verifier = TokenVerifier::new(&settings, &published_keys);
        let encoding_key = signing_key.encoding_key();
        TokenIssuer { settings, signing_key, encoding_key, published_keys, verifier }
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// An access token for `principal`, issued to `client_id`, with the principal's scopes.
    pub fn issue(&self, principal: &Principal, client_id: &str, now: Instant) -> IssuedToken {
        let now_s = now.unix_ms.div_euclid(1000);
        let expires_s = now_s + self.settings.access_token_lifetime_s;
        let jti = random_url_safe(16);
        let scope: Vec<String> = principal.scopes().iter().map(Scope::to_string).collect();
        let claims = AccessTokenClaims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: principal.id().to_string(),
            exp: expires_s,
            iat: now_s,
            nbf: now_s,
            jti: jti.clone(),
            scope: scope.join(" "),
            client_id: client_id.to_string(),
            kmcr: PrincipalClaims::of(principal),
        };
        IssuedToken {
            token: self.sign(&claims),
            jti,
            expires_at: Instant::from_unix_ms(expires_s * 1000),
            lifetime_s: self.settings.access_token_lifetime_s,
        }
    }

    /// An OpenID Connect ID token for a SMART app that asked for `openid`: who signed in (`sub`), for the app
    /// (`aud`), with the app's `nonce` and `fhirUser` when given.
    pub fn issue_id_token(&self, id_token: &IdTokenContent<'_>, now: Instant) -> String {
        let now_s = now.unix_ms.div_euclid(1000);
        let mut claims = serde_json::json!({
            "iss": self.settings.issuer,
            "sub": id_token.user_id,
            "aud": id_token.client_id,
            "iat": now_s,
            "exp": now_s + self.settings.access_token_lifetime_s,
        });
        if let Some(nonce) = id_token.nonce {
            claims["nonce"] = nonce.into();
        }
        if let Some(fhir_user) = id_token.fhir_user {
            claims["fhirUser"] = fhir_user.into();
        }
        self.sign(&claims)
    }

    fn sign(&self, claims: &impl Serialize) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.signing_key.public().kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding_key).expect("claims serialise and ES256 signs")
    }

    pub fn verify(&self, token: &str, now: Instant) -> Result<VerifiedToken, TokenError> {
        self.verifier.verify(token, now)
    }

    /// The JWKS to publish (at `/.well-known/jwks.json`): the current key first, then previous ones.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": self.published_keys.iter().map(PublicSigningKey::to_jwk).collect::<Vec<_>>() })
    }
}

/// What goes into a SMART ID token.
#[derive(Clone, Copy, Debug)]
pub struct IdTokenContent<'a> {
    pub user_id: &'a str,
    pub client_id: &'a str,
    pub nonce: Option<&'a str>,
    pub fhir_user: Option<&'a str>,
}
