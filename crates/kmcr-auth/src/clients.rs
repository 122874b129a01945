//! API clients (source systems and applications) and the OAuth2 client credentials grant: a client proves itself with
//! its secret and receives the `system/` scopes it asks for, which may be narrower than those it holds, never wider.

use std::collections::BTreeMap;

use kmcr_access::{RegionWideReading, Scope, ScopeContext, SystemPrincipal};
use kmcr_fhir::OdsCode;

use crate::password::{SecretHash, spend_time_as_if_checking};
use crate::secret::Secret;

/// An API client as configured. Only the argon2id hash of its secret is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiClient {
    pub id: String,
    pub ods_code: OdsCode,
    pub secret_hash: SecretHash,
    /// The `system/` scopes it may be granted.
    pub scopes: Vec<Scope>,
    /// A named exception: may read every person's record, for the reason given.
    pub region_wide: Option<RegionWideReading>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientRegistryError {
    #[error("the client id {0:?} is configured twice")]
    DuplicateClient(String),
    #[error("client {client_id:?} holds {scope}, but API clients hold only system/ scopes")]
    NotASystemScope { client_id: String, scope: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientCredentialsError {
    /// Unknown client or wrong secret: the same answer for both.
    #[error("client authentication failed")]
    InvalidClient,
    #[error("scope {0:?} is not one this client may be granted")]
    InvalidScope(String),
    /// The right secret, but the client is switched off in the configuration: told once its secret is proven.
    #[error("client {0:?} is switched off")]
    SwitchedOff(String),
}

impl ClientCredentialsError {
    /// The RFC 6749 section 5.2 error code for the token endpoint's answer (401 for `invalid_client`, else 400).
    pub fn oauth_error_code(&self) -> &'static str {
        match self {
            ClientCredentialsError::InvalidClient | ClientCredentialsError::SwitchedOff(_) => "invalid_client",
            ClientCredentialsError::InvalidScope(_) => "invalid_scope",
        }
    }
}

/// The API clients of a deployment, by id.
#[derive(Clone, Debug, Default)]
pub struct ClientRegistry {
    clients: BTreeMap<String, ApiClient>,
    /// Clients configured but switched off: refused a token (with the reason, once their secret is proven), and the
    /// tokens they hold are refused.
    switched_off: BTreeMap<String, ApiClient>,
}

impl ClientRegistry {
    pub fn new(clients: Vec<ApiClient>) -> Result<ClientRegistry, ClientRegistryError> {
        let mut by_id = BTreeMap::new();
        for client in clients {
            if let Some(scope) = client.scopes.iter().find(|scope| scope.context != ScopeContext::System) {
                return Err(ClientRegistryError::NotASystemScope {
                    client_id: client.id.clone(),
                    scope: scope.to_string(),
                });
            }
            if by_id.contains_key(&client.id) {
                return Err(ClientRegistryError::DuplicateClient(client.id));
            }
            by_id.insert(client.id.clone(), client);
        }
        Ok(ClientRegistry { clients: by_id, switched_off: BTreeMap::new() })
    }

    /// The registry with these clients switched off.
    pub fn with_switched_off(mut self, client_ids: &[String]) -> ClientRegistry {
        for client_id in client_ids {
            if let Some(client) = self.clients.remove(client_id) {
                self.switched_off.insert(client_id.clone(), client);
            }
        }
        self
    }

    /// A client that may act now (not one switched off).
    pub fn get(&self, client_id: &str) -> Option<&ApiClient> {
        self.clients.get(client_id)
    }

    /// The client credentials grant: the client's secret checked in constant time (an unknown client costs the same
    /// time), then the scopes asked (space-separated; none asked means all held) each within one held.
    pub fn client_credentials(
        &self,
        client_id: &str,
        client_secret: &Secret,
        requested_scope: Option<&str>,
    ) -> Result<SystemPrincipal, ClientCredentialsError> {
        if let Some(client) = self.switched_off.get(client_id) {
            if !client.secret_hash.verify(client_secret) {
                return Err(ClientCredentialsError::InvalidClient);
            }
            return Err(ClientCredentialsError::SwitchedOff(client_id.to_string()));
        }
        let Some(client) = self.clients.get(client_id) else {
            spend_time_as_if_checking(client_secret);
            return Err(ClientCredentialsError::InvalidClient);
        };
        if !client.secret_hash.verify(client_secret) {
            return Err(ClientCredentialsError::InvalidClient);
        }
        let scopes = grant_scopes(&client.scopes, requested_scope)?;
        Ok(SystemPrincipal {
            client_id: client.id.clone(),
            ods_code: client.ods_code.clone(),
            scopes,
            region_wide: client.region_wide.clone(),
        })
    }
}

fn grant_scopes(held: &[Scope], requested_scope: Option<&str>) -> Result<Vec<Scope>, ClientCredentialsError> {
    let requested: Vec<&str> = requested_scope.unwrap_or_default().split_whitespace().collect();
    if requested.is_empty() {
        return Ok(held.to_vec());
    }
    requested
        .into_iter()
        .map(|text| {
            let scope = Scope::parse(text).map_err(|_| ClientCredentialsError::InvalidScope(text.to_string()))?;
            if held.iter().any(|held_scope| held_scope.includes(&scope)) {
                Ok(scope)
            } else {
                Err(ClientCredentialsError::InvalidScope(text.to_string()))
            }
        })
        .collect()
}
