//! Sign-in configuration: API clients, SMART apps, local accounts, the OpenID Connect provider and the token signing
//! key, read raw from the settings file and checked once into what `kmcr-auth` takes. Secrets appear only as argon2id
//! hashes (`kmcr hash-secret` makes one).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use kmcr_access::{ActivitySet, AssuranceLevel, JobRole, RegionWideReading, RoleProfile, Scope};
use kmcr_api::{StoredAuthorizations, StoredSessions};
use kmcr_auth::{
    ApiClient, ClientRegistry, LocalAccount, LocalAccounts, OidcRelyingParty, OidcSettings, Secret, SecretHash,
    SigningKey, SmartApp, SmartAuthorizationServer, SmartClientKind, SmartSettings, TokenIssuer, TokenSettings,
};
use kmcr_fhir::OdsCode;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    pub id: String,
    /// The argon2id hash (PHC string) of the client's secret.
    pub secret_hash: String,
    pub ods_code: String,
    pub scopes: Vec<String>,
    /// A named exception: this client reads every person's record, and every read says why.
    #[serde(default)]
    pub region_wide_justification: Option<String>,
    /// With region-wide reading: for secondary uses (the national data opt-out applies).
    #[serde(default)]
    pub region_wide_secondary_use: bool,
    /// False to switch the client off: it is refused a token ("switched off", once its secret is proven), and the
    /// tokens it holds are refused.
    #[serde(default = "crate::config::default_true")]
    pub enabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmartApp {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// `user/` scopes the app may be granted.
    pub scopes: Vec<String>,
    /// A confidential app's secret hash; none for a public app (PKCE alone).
    #[serde(default)]
    pub secret_hash: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    pub username: String,
    pub password_hash: String,
    pub user_id: String,
    /// AAL1 unless a second factor is enforced in front of KMCR.
    #[serde(default)]
    pub assurance: Option<String>,
    pub role_profiles: Vec<RawRoleProfile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoleProfile {
    pub id: String,
    pub ods_code: String,
    /// `S8000:G8000:R8000` or `R8000`.
    pub job_role: String,
    #[serde(default)]
    pub activities: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOidc {
    pub issuer_url: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<crate::config::Secret>,
    /// Default: `<public base URL>/oauth/oidc/callback`.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// Default: CIS2's `openid profile nationalrbacaccess selectedrole associatedorgs`.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// Sign-in settings as checked; the issuer and URLs are filled in once the server knows its address.
#[derive(Debug)]
pub struct AuthConfig {
    pub clients: Vec<ApiClient>,
    /// Ids of the clients switched off.
    pub clients_switched_off: Vec<String>,
    pub smart_apps: Vec<SmartApp>,
    pub accounts: Vec<LocalAccount>,
    pub oidc: Option<RawOidc>,
    pub signing_key_file: PathBuf,
    pub access_token_lifetime_s: i64,
}

fn parse_scopes(owner: &str, scopes: &[String]) -> anyhow::Result<Vec<Scope>> {
    scopes.iter().map(|scope| Scope::parse(scope).with_context(|| owner.to_string())).collect()
}

pub fn clients(raw: Vec<RawClient>) -> anyhow::Result<Vec<ApiClient>> {
    raw.into_iter()
        .map(|raw| {
            let ods_code = OdsCode::parse(&raw.ods_code)
                .with_context(|| format!("client {}: '{}' is not an ODS code", raw.id, raw.ods_code))?;
            let secret_hash = SecretHash::parse(&raw.secret_hash).with_context(|| {
                format!("client {}: secret_hash is not an argon2id hash (make one with `kmcr hash-secret`)", raw.id)
            })?;
            Ok(ApiClient {
                scopes: parse_scopes(&format!("client {}", raw.id), &raw.scopes)?,
                ods_code,
                secret_hash,
                region_wide: raw.region_wide_justification.map(|justification| RegionWideReading {
                    justification,
                    secondary_use: raw.region_wide_secondary_use,
                }),
                id: raw.id,
            })
        })
        .collect()
}

pub fn smart_apps(raw: Vec<RawSmartApp>) -> anyhow::Result<Vec<SmartApp>> {
    raw.into_iter()
        .map(|raw| {
            let kind = match &raw.secret_hash {
                None => SmartClientKind::Public,
                Some(hash) => SmartClientKind::ConfidentialSymmetric {
                    secret_hash: SecretHash::parse(hash)
                        .with_context(|| format!("SMART app {}: secret_hash", raw.client_id))?,
                },
            };
            Ok(SmartApp {
                scopes: parse_scopes(&format!("SMART app {}", raw.client_id), &raw.scopes)?,
                client_id: raw.client_id,
                name: raw.name,
                kind,
                redirect_uris: raw.redirect_uris,
            })
        })
        .collect()
}

pub fn role_profile(raw: &RawRoleProfile) -> anyhow::Result<RoleProfile> {
    Ok(RoleProfile {
        id: raw.id.clone(),
        ods_code: OdsCode::parse(&raw.ods_code)
            .with_context(|| format!("role profile {}: '{}' is not an ODS code", raw.id, raw.ods_code))?,
        job_role: JobRole::parse(&raw.job_role)
            .with_context(|| format!("role profile {}: '{}' is not a job role", raw.id, raw.job_role))?,
        activities: ActivitySet::expand(raw.activities.iter().map(String::as_str)),
    })
}

pub fn accounts(raw: Vec<RawAccount>) -> anyhow::Result<Vec<LocalAccount>> {
    raw.into_iter()
        .map(|raw| {
            let assurance = match &raw.assurance {
                None => LocalAccount::DEFAULT_ASSURANCE,
                Some(text) => AssuranceLevel::parse(text)
                    .with_context(|| format!("account {}: assurance is AAL1, AAL2 or AAL3", raw.username))?,
            };
            Ok(LocalAccount {
                password_hash: SecretHash::parse(&raw.password_hash)
                    .with_context(|| format!("account {}: password_hash", raw.username))?,
                role_profiles: raw.role_profiles.iter().map(role_profile).collect::<anyhow::Result<_>>()?,
                username: raw.username,
                user_id: raw.user_id,
                assurance,
            })
        })
        .collect()
}

/// Where the token signing key lives by default: beside an embedded store; for PostgreSQL in the working directory
/// (nodes sharing one database must share the key file, or configure one).
pub fn default_signing_key_file(database: &str) -> PathBuf {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        PathBuf::from("kmcr-token-signing-key.pem")
    } else {
        Path::new(database).join("token-signing-key.pem")
    }
}

impl AuthConfig {
    /// Builds what the HTTP layer needs, now that the public base URL is known.
    pub async fn build(
        self,
        public_base_url: &str,
        store: kmcr_store::Store,
    ) -> anyhow::Result<kmcr_api::Authentication> {
        let fhir_base_url = format!("{public_base_url}/fhir");
        if let Some(parent) = self.signing_key_file.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let key = SigningKey::load_or_generate(&self.signing_key_file)
            .with_context(|| format!("token signing key {}", self.signing_key_file.display()))?;
        let mut token_settings = TokenSettings::new(public_base_url, fhir_base_url.clone());
        token_settings.access_token_lifetime_s = self.access_token_lifetime_s;
        let issuer = Arc::new(TokenIssuer::new(token_settings, key, Vec::new()));
        // In the database: every node honours the same sessions, codes and refresh tokens.
        let sessions: Arc<dyn kmcr_auth::SessionRegistry> = Arc::new(StoredSessions::new(store.clone()));
        let smart = SmartAuthorizationServer::new(
            SmartSettings::new(public_base_url, fhir_base_url),
            self.smart_apps,
            issuer.clone(),
            Arc::new(StoredAuthorizations::new(store)),
            sessions.clone(),
        )?;
        let oidc = match self.oidc {
            None => None,
            Some(raw) => {
                let settings = OidcSettings {
                    issuer_url: raw.issuer_url,
                    client_id: raw.client_id,
                    client_secret: raw.client_secret.map(|secret| Secret::new(secret.0)),
                    redirect_uri: raw.redirect_uri.unwrap_or_else(|| format!("{public_base_url}/oauth/oidc/callback")),
                    scopes: raw.scopes.unwrap_or_else(OidcSettings::cis2_scopes),
                };
                Some(
                    OidcRelyingParty::discover(settings)
                        .await
                        .context("cannot discover the OpenID Connect provider")?,
                )
            }
        };
        let secure_cookies = public_base_url.starts_with("https://");
        if self.clients.is_empty() && self.accounts.is_empty() && oidc.is_none() {
            bail!("no API client, local account or OpenID Connect provider is configured: no one could sign in");
        }
        Ok(kmcr_api::Authentication::new(
            issuer,
            ClientRegistry::new(self.clients)?.with_switched_off(&self.clients_switched_off),
            LocalAccounts::new(self.accounts)?,
            sessions,
            smart,
            oidc,
            secure_cookies,
        ))
    }
}
