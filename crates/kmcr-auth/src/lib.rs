//! Who is signing in, and with what, for KMCR's HTTP layer to call: KMCR's own access tokens (ES256 JWTs and the JWKS
//! that lets others check them), API clients with the client credentials grant, local accounts, NHS CIS2 claims read
//! into role profiles, SMART App Launch as an authorisation server, and the OpenID Connect relying party.
//!
//! Everything here but [`oidc`] is pure apart from random numbers and the signing key file; [`oidc`] talks HTTP to
//! the identity provider. No HTTP server and no database: the stores of codes and sessions are traits (`kmcr-api`
//! implements them over the shared database) with in-memory implementations for tests and tools.

pub mod cis2;
pub mod clients;
pub mod keys;
pub mod local_accounts;
pub mod oidc;
pub mod password;
pub mod secret;
pub mod sessions;
pub mod smart;
pub mod smart_store;
pub mod state;
pub mod tokens;

pub use cis2::{Cis2Claims, Cis2Error, Cis2Identity, Cis2Organisation, Cis2RoleProfile, UnusableRole};
pub use clients::{ApiClient, ClientCredentialsError, ClientRegistry, ClientRegistryError};
pub use keys::{KeyError, PublicSigningKey, SigningKey};
pub use local_accounts::{LocalAccount, LocalAccountError, LocalAccounts};
pub use oidc::{
    OidcError, OidcRelyingParty, OidcSettings, PendingSignIn, ProviderTokens, SignInStart, VerifiedIdToken,
};
pub use password::{PasswordError, SecretHash, hash_secret};
pub use secret::Secret;
pub use sessions::{InMemorySessions, SessionEnd, SessionRegistry, SignInSession};
pub use smart::{
    AuthorizationError, AuthorizationErrorKind, AuthorizationRequest, ClientAuthentication, GrantedScopes,
    LocalSignInRefusal, MAX_FAILED_SIGN_INS, SIGN_IN_LOCKOUT_S, SignedInUser, SmartApp, SmartAppError,
    SmartAuthorizationServer, SmartClientKind, SmartSettings, SmartTokenResponse, TokenEndpointError,
};
pub use smart_store::{
    AuthorizationCodeGrant, AuthorizationStore, InMemoryAuthorizationStore, Redemption, RefreshGrant,
    StoredRoleProfile, assurance_from_str,
};
pub use state::{StateFuture, StateUnavailable};
pub use tokens::{IdTokenContent, IssuedToken, TokenError, TokenIssuer, TokenSettings, TokenVerifier, VerifiedToken};
