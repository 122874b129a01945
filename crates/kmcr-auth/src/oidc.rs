//! Signing in through an external OpenID Connect provider (NHS CIS2 in production), as its relying party: the
//! provider found by discovery from its issuer URL, the authorisation code flow with PKCE (S256), `state` and
//! `nonce`, the code exchanged at the provider's token endpoint, the ID token checked (signature against the
//! provider's JWKS, issuer, audience, nonce, expiry), userinfo fetched, and the CIS2 claims read into role profiles.
//!
//! The protocol is the `openidconnect` crate's; HTTP goes through its `reqwest` client with rustls, redirects off
//! (the crate's advice: a redirected token request could leak the code). The minimum assurance for sealed items and
//! break-glass is decided in kmcr-access; this module reports the assurance only.

use kmcr_fhir::Instant;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessToken, AdditionalClaims, AuthenticationFlow, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenFields, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardErrorResponse,
    StandardTokenResponse, UserInfoClaims, reqwest,
};

use crate::cis2::{Cis2Claims, Cis2Error, Cis2Identity};
use crate::secret::{Secret, constant_time_eq};

impl AdditionalClaims for Cis2Claims {}

type Cis2IdTokenFields = IdTokenFields<
    Cis2Claims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Cis2TokenResponse = StandardTokenResponse<Cis2IdTokenFields, CoreTokenType>;
type Cis2IdToken = IdToken<Cis2Claims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
type Cis2Client = Client<
    Cis2Claims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Cis2TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// How KMCR is registered with the provider.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    /// The provider's issuer (`https://am.nhsidentity.spineservices.nhs.uk/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare`).
    pub issuer_url: String,
    pub client_id: String,
    /// CIS2 registers confidential clients; `None` for a public client.
    pub client_secret: Option<Secret>,
    /// KMCR's callback, exactly as registered with the provider.
    pub redirect_uri: String,
    /// Scopes beyond `openid`: CIS2 needs `profile nationalrbacaccess` (and `selectedrole`, `associatedorgs`).
    pub scopes: Vec<String>,
}

impl OidcSettings {
    pub fn cis2_scopes() -> Vec<String> {
        ["profile", "nationalrbacaccess", "selectedrole", "associatedorgs"].map(str::to_string).to_vec()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the relying party is misconfigured: {0}")]
    Configuration(String),
    #[error("could not discover the OpenID provider: {0}")]
    Discovery(String),
    #[error("the callback's state is not the one this sign-in sent")]
    StateMismatch,
    #[error("the provider answered with error {error:?}: {description}")]
    ProviderRefused { error: String, description: String },
    #[error("the callback carries no code")]
    MissingCode,
    #[error("the code exchange failed: {0}")]
    CodeExchange(String),
    #[error("the provider's token response has no ID token")]
    MissingIdToken,
    #[error("the ID token is refused: {0}")]
    IdTokenRefused(String),
    #[error("userinfo failed: {0}")]
    UserInfo(String),
    #[error(transparent)]
    Cis2(#[from] Cis2Error),
}

/// What must be kept (server-side, keyed by `state`, for a few minutes) between sending the browser to the
/// provider and its return.
#[derive(Clone, Debug)]
pub struct PendingSignIn {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: Secret,
    pub started_at: Instant,
}

#[derive(Clone, Debug)]
pub struct SignInStart {
    /// Where to send the browser.
    pub authorization_url: String,
    pub pending: PendingSignIn,
}

/// The tokens the provider gave for a code, before the ID token is checked.
#[derive(Clone, Debug)]
pub struct ProviderTokens {
    pub id_token: String,
    pub access_token: Secret,
}

/// What a checked ID token says.
#[derive(Clone, Debug)]
pub struct VerifiedIdToken {
    pub subject: String,
    pub acr: Option<String>,
    pub cis2_claims: Cis2Claims,
}

/// KMCR as the relying party of one OpenID provider.
pub struct OidcRelyingParty {
    client: Cis2Client,
    http: reqwest::Client,
    settings: OidcSettings,
}

impl std::fmt::Debug for OidcRelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcRelyingParty").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl OidcRelyingParty {
    /// Fetches the provider's discovery document and JWKS. Call at start-up (and again to pick up rotated keys).
    pub async fn discover(settings: OidcSettings) -> Result<OidcRelyingParty, OidcError> {
        let http = reqwest::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|error| OidcError::Configuration(error.to_string()))?;
        let issuer_url =
            IssuerUrl::new(settings.issuer_url.clone()).map_err(|error| OidcError::Configuration(error.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &http)
            .await
            .map_err(|error| OidcError::Discovery(error_chain(&error)))?;
        let redirect_url = RedirectUrl::new(settings.redirect_uri.clone())
            .map_err(|error| OidcError::Configuration(error.to_string()))?;
        let client = Cis2Client::from_provider_metadata(
            metadata,
            ClientId::new(settings.client_id.clone()),
            settings.client_secret.as_ref().map(|secret| ClientSecret::new(secret.expose().to_string())),
        )
        .set_redirect_uri(redirect_url);
        Ok(OidcRelyingParty { client, http, settings })
    }

    /// The URL to send the browser to, with fresh `state`, `nonce` and PKCE challenge, and what to keep meanwhile.
    /// `login_hint` is passed on when given.
    pub fn begin_sign_in(&self, login_hint: Option<&str>, now: Instant) -> SignInStart {
        let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(pkce_challenge);
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint.to_string());
        }
        let (url, state, nonce) = request.url();
        SignInStart {
            authorization_url: url.to_string(),
            pending: PendingSignIn {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: Secret::new(pkce_verifier.secret().clone()),
                started_at: now,
            },
        }
    }

    /// The whole return leg: the callback's query checked against the pending sign-in, the code exchanged, the ID
    /// token checked, userinfo read, and the CIS2 identity built.
    pub async fn finish_sign_in(
        &self,
        pending: &PendingSignIn,
        callback_query: &[(String, String)],
    ) -> Result<Cis2Identity, OidcError> {
        let code = check_callback(pending, callback_query)?;
        let tokens = self.exchange_code(code, &pending.pkce_verifier).await?;
        let verified = self.verify_id_token(&tokens.id_token, &pending.nonce)?;
        let claims = match self.client.user_info(AccessToken::new(tokens.access_token.expose().to_string()), None) {
            // A provider without userinfo: the ID token must carry the claims.
            Err(_) => verified.cis2_claims,
            Ok(request) => {
                let userinfo: UserInfoClaims<Cis2Claims, CoreGenderClaim> = request
                    .require_signed_response(false)
                    .request_async(&self.http)
                    .await
                    .map_err(|error| OidcError::UserInfo(error_chain(&error)))?;
                if userinfo.subject().as_str() != verified.subject {
                    return Err(OidcError::UserInfo("userinfo is about another subject".to_string()));
                }
                verified.cis2_claims.merged_with(userinfo.additional_claims().clone())
            }
        };
        Ok(Cis2Identity::from_claims(claims, verified.acr.as_deref())?)
    }

    /// Exchanges a code at the provider's token endpoint with the PKCE verifier.
    pub async fn exchange_code(&self, code: &str, pkce_verifier: &Secret) -> Result<ProviderTokens, OidcError> {
        let response = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|error| OidcError::Configuration(error.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.expose().to_string()))
            .request_async(&self.http)
            .await
            .map_err(|error| OidcError::CodeExchange(error_chain(&error)))?;
        let id_token = response.extra_fields().id_token().ok_or(OidcError::MissingIdToken)?;
        Ok(ProviderTokens {
            id_token: id_token.to_string(),
            access_token: Secret::new(response.access_token().secret().clone()),
        })
    }

    /// Checks an ID token: signed by a key in the provider's JWKS with an asymmetric algorithm, issued by the
    /// provider, for this client, with this sign-in's nonce, and not expired.
    pub fn verify_id_token(&self, id_token: &str, nonce: &str) -> Result<VerifiedIdToken, OidcError> {
        let id_token: Cis2IdToken =
            id_token.parse().map_err(|error: serde_json::Error| OidcError::IdTokenRefused(error.to_string()))?;
        let verifier = self.client.id_token_verifier().set_allowed_algs([
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
            CoreJwsSigningAlgorithm::RsaSsaPssSha256,
            CoreJwsSigningAlgorithm::RsaSsaPssSha512,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        ]);
        let claims = id_token
            .claims(&verifier, &Nonce::new(nonce.to_string()))
            .map_err(|error| OidcError::IdTokenRefused(error_chain(&error)))?;
        Ok(VerifiedIdToken {
            subject: claims.subject().to_string(),
            acr: claims.auth_context_ref().map(|acr| acr.as_str().to_string()),
            cis2_claims: claims.additional_claims().clone(),
        })
    }
}

/// The code of a callback whose `state` is this sign-in's (compared in constant time) and which carries no error.
pub fn check_callback<'a>(
    pending: &PendingSignIn,
    callback_query: &'a [(String, String)],
) -> Result<&'a str, OidcError> {
    let parameter = |name: &str| callback_query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let state_matches =
        parameter("state").is_some_and(|state| constant_time_eq(state.as_bytes(), pending.state.as_bytes()));
    if !state_matches {
        return Err(OidcError::StateMismatch);
    }
    if let Some(error) = parameter("error") {
        return Err(OidcError::ProviderRefused {
            error: error.to_string(),
            description: parameter("error_description").unwrap_or_default().to_string(),
        });
    }
    parameter("code").filter(|code| !code.is_empty()).ok_or(OidcError::MissingCode)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
