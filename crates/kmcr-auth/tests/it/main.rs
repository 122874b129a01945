//! kmcr-auth's integration tests, one binary (STYLE.md): tokens and their JWKS, API clients and local accounts,
//! CIS2 claims, SMART App Launch, and the OpenID Connect relying party against a real provider.

mod accounts;
mod cis2;
mod oidc_relying_party;
mod smart;
mod support;
mod tokens;
