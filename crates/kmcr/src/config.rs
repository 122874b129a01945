//! Configuration in two layers: raw settings (file, then `KMCR_*` variables, then flags) converted once into a
//! validated [`Config`]. Secrets are wrapped so that they never print.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use base64::Engine;
use kmcr_access::Scope;
use kmcr_api::ApiClient;
use kmcr_fhir::OdsCode;
use serde::Deserialize;

/// A value that must never reach a log.
#[derive(Clone, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Settings as given, every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub listen: Option<String>,
    /// A directory (embedded SQLite) or a `postgres://` URL.
    pub database: Option<String>,
    pub public_base_url: Option<String>,
    /// Base64, at least 32 bytes; nodes sharing a database must share it. Random per start when absent.
    pub token_signing_key: Option<Secret>,
    pub token_lifetime_s: Option<i64>,
    pub max_body_bytes: Option<usize>,
    pub max_page_size: Option<usize>,
    /// The person index: match probabilities at or above which records link, or go to review.
    pub link_probability: Option<f64>,
    pub review_probability: Option<f64>,
    /// People the region expects to hold (the matcher's prior before it has data to train on).
    pub expected_population: Option<usize>,
    #[serde(default)]
    pub clients: Vec<RawClient>,
    /// The organisations party to the sharing agreement. No organisation, no access.
    #[serde(default)]
    pub organisations: Vec<RawOrganisation>,
    #[serde(default)]
    pub access: RawAccess,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    pub id: String,
    pub secret: Secret,
    pub ods_code: String,
    pub scopes: Vec<String>,
    /// A named exception: this client reads every person's record, and every read says why.
    #[serde(default)]
    pub region_wide_justification: Option<String>,
    /// With region-wide reading: for secondary uses (the national data opt-out applies).
    #[serde(default)]
    pub region_wide_secondary_use: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrganisation {
    pub ods_code: String,
    pub name: String,
    /// gp-practice, acute, community, mental-health, ambulance, adult-social-care, childrens-social-care, hospice,
    /// sensitive-service.
    pub kind: String,
    /// False once it has left the agreement: its data leaves every view at once.
    #[serde(default = "default_true")]
    pub party: bool,
    /// Whether its "verified" NHS numbers are believed for linking (it traces against the national spine). By
    /// default NHS providers and GP practices are; councils, hospices and others are not.
    #[serde(default)]
    pub trusted_to_verify_nhs_numbers: Option<bool>,
}

fn default_true() -> bool {
    true
}

/// The access rules a region sets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccess {
    pub recent_contact_days: Option<i64>,
    /// AAL1, AAL2 or AAL3.
    pub min_assurance_sensitive: Option<String>,
    pub min_assurance_break_glass: Option<String>,
    /// Replaces the default code rules when given.
    pub code_rules: Option<Vec<RawCodeRule>>,
    #[serde(default)]
    pub policies: Vec<RawPolicy>,
    /// Base64, at least 32 bytes; binds paging links to their caller. Derived from the token signing key when absent.
    pub paging_key: Option<Secret>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCodeRule {
    pub system: String,
    pub code: String,
    /// A sensitive category, e.g. hiv, sexually-transmitted-disease, gender-identity, fertility, mental-health.
    pub category: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub name: String,
    /// A date or instant, e.g. 2020-03-20.
    pub from: String,
    /// Exclusive end, e.g. 2021-10-01; none: until withdrawn.
    pub until: Option<String>,
    /// Objection kinds it sets aside: gp-type-1, shared-record, national-data-opt-out.
    pub overrides: Vec<String>,
    /// Purposes it applies to: direct-care, break-glass, secondary-use.
    pub purposes: Vec<String>,
}

/// Validated configuration.
#[derive(Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: String,
    /// `None`: derived from the address actually bound.
    pub public_base_url: Option<String>,
    pub token_signing_key: Secret,
    pub token_lifetime_s: i64,
    pub max_body_bytes: usize,
    pub max_page_size: usize,
    pub identity: kmcr_service::identity::IdentitySettings,
    pub clients: Vec<ApiClient>,
    pub access: kmcr_service::AccessPolicy,
}

impl RawSettings {
    pub fn from_file(path: &PathBuf) -> anyhow::Result<RawSettings> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is not valid configuration", path.display()))
    }

    /// Overlays `KMCR_LISTEN`, `KMCR_DATABASE`, `KMCR_PUBLIC_BASE_URL`, `KMCR_TOKEN_SIGNING_KEY`.
    pub fn overlay_environment(&mut self) {
        let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        if let Some(listen) = variable("KMCR_LISTEN") {
            self.listen = Some(listen);
        }
        if let Some(database) = variable("KMCR_DATABASE") {
            self.database = Some(database);
        }
        if let Some(url) = variable("KMCR_PUBLIC_BASE_URL") {
            self.public_base_url = Some(url);
        }
        if let Some(key) = variable("KMCR_TOKEN_SIGNING_KEY") {
            self.token_signing_key = Some(Secret(key));
        }
    }

    pub fn validate(self) -> anyhow::Result<Config> {
        let listen: SocketAddr = self
            .listen
            .as_deref()
            .unwrap_or("127.0.0.1:8080")
            .parse()
            .context("listen must be an address such as 127.0.0.1:8080")?;
        let token_signing_key = match self.token_signing_key {
            Some(Secret(encoded)) => {
                let key = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .context("token_signing_key must be base64")?;
                if key.len() < 32 {
                    bail!("token_signing_key must hold at least 32 bytes");
                }
                Secret(encoded)
            }
            None => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key)
                    .map_err(|error| anyhow::anyhow!("no randomness for a signing key: {error}"))?;
                Secret(base64::engine::general_purpose::STANDARD.encode(key))
            }
        };
        let mut clients = Vec::with_capacity(self.clients.len());
        for raw in self.clients {
            let ods_code = OdsCode::parse(&raw.ods_code)
                .with_context(|| format!("client {}: '{}' is not an ODS code", raw.id, raw.ods_code))?;
            let scopes = raw
                .scopes
                .iter()
                .map(|scope| Scope::parse(scope))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("client {}", raw.id))?;
            if raw.secret.0.len() < 16 {
                bail!("client {}: secrets are at least 16 characters", raw.id);
            }
            let region_wide = raw.region_wide_justification.map(|justification| kmcr_access::RegionWideReading {
                justification,
                secondary_use: raw.region_wide_secondary_use,
            });
            clients.push(ApiClient {
                id: raw.id,
                secret: raw.secret.0,
                ods_code,
                scopes,
                region_wide,
                trusted_to_verify_nhs_numbers: false,
            });
        }
        let verifiers: std::collections::BTreeSet<String> = self
            .organisations
            .iter()
            .filter(|organisation| {
                organisation.trusted_to_verify_nhs_numbers.unwrap_or(matches!(
                    organisation.kind.as_str(),
                    "gp-practice" | "acute" | "community" | "mental-health" | "ambulance"
                ))
            })
            .map(|organisation| organisation.ods_code.clone())
            .collect();
        let access = access_policy(self.organisations, self.access, &token_signing_key)?;
        let mut identity = kmcr_service::identity::IdentitySettings::default();
        identity.thresholds.link = self.link_probability.unwrap_or(identity.thresholds.link);
        identity.thresholds.review = self.review_probability.unwrap_or(identity.thresholds.review);
        identity.expected_population = self.expected_population.unwrap_or(identity.expected_population);
        identity.nhs_number_verifiers = kmcr_service::identity::NhsNumberVerifiers::Only(verifiers);
        let thresholds = identity.thresholds;
        if !(0.0..=1.0).contains(&thresholds.review) || !(0.0..=1.0).contains(&thresholds.link) {
            bail!("link_probability and review_probability are probabilities between 0 and 1");
        }
        if thresholds.review > thresholds.link {
            bail!("review_probability must not be above link_probability");
        }
        Ok(Config {
            listen,
            database: self.database.unwrap_or_else(|| "kmcr-data".to_string()),
            public_base_url: self.public_base_url,
            token_signing_key,
            token_lifetime_s: self.token_lifetime_s.unwrap_or(3600),
            max_body_bytes: self.max_body_bytes.unwrap_or(64 * 1024 * 1024),
            max_page_size: self.max_page_size.unwrap_or(1000),
            identity,
            clients,
            access,
        })
    }
}

fn access_policy(
    organisations: Vec<RawOrganisation>,
    raw: RawAccess,
    token_signing_key: &Secret,
) -> anyhow::Result<kmcr_service::AccessPolicy> {
    use kmcr_access::{
        AccessSettings, AssuranceLevel, CodeRule, CodeRules, ObjectionKind, OrganisationKind, Policy, Purpose,
    };
    let mut registry = Vec::with_capacity(organisations.len());
    for organisation in organisations {
        let ods_code = OdsCode::parse(&organisation.ods_code)
            .with_context(|| format!("organisation '{}' is not an ODS code", organisation.ods_code))?;
        let kind = OrganisationKind::parse(&organisation.kind).with_context(|| {
            format!("organisation {}: '{}' is not a kind", organisation.ods_code, organisation.kind)
        })?;
        registry.push(kmcr_access::Organisation {
            ods_code,
            name: organisation.name,
            kind,
            party_to_agreement: organisation.party,
        });
    }
    let assurance = |text: Option<String>, name: &str| -> anyhow::Result<AssuranceLevel> {
        match text {
            None => Ok(AssuranceLevel::Aal3),
            Some(text) => AssuranceLevel::parse(&text).with_context(|| format!("{name}: AAL1, AAL2 or AAL3")),
        }
    };
    let settings = AccessSettings {
        recent_contact_days: raw.recent_contact_days.unwrap_or(90),
        min_assurance_sensitive: assurance(raw.min_assurance_sensitive, "min_assurance_sensitive")?,
        min_assurance_break_glass: assurance(raw.min_assurance_break_glass, "min_assurance_break_glass")?,
    };
    let code_rules = match raw.code_rules {
        None => CodeRules::defaults(),
        Some(rules) => CodeRules {
            rules: rules
                .into_iter()
                .map(|rule| {
                    let category = kmcr_access::SensitiveCategory::parse(&rule.category)
                        .with_context(|| format!("code rule {}: '{}' is not a category", rule.code, rule.category))?;
                    Ok(CodeRule { system: rule.system, code: rule.code, category })
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
        },
    };
    let instant = |text: &str| -> anyhow::Result<i64> {
        kmcr_fhir_search::date::parse_date_range(text)
            .map(|range| range.low_ms)
            .map_err(|_| anyhow::anyhow!("'{text}' is not a date"))
    };
    let mut policies = Vec::with_capacity(raw.policies.len());
    for policy in raw.policies {
        let overrides = policy
            .overrides
            .iter()
            .map(|kind| ObjectionKind::parse(kind).with_context(|| format!("policy {}: '{kind}'", policy.name)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let purposes = policy
            .purposes
            .iter()
            .map(|purpose| Purpose::parse(purpose).with_context(|| format!("policy {}: '{purpose}'", policy.name)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        policies.push(Policy {
            from_ms: instant(&policy.from)?,
            to_ms: policy.until.as_deref().map(instant).transpose()?,
            name: policy.name,
            overrides,
            purposes,
        });
    }
    let paging_key = match raw.paging_key {
        Some(Secret(encoded)) => {
            let key = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).context("paging_key: base64")?;
            if key.len() < 32 {
                bail!("paging_key must hold at least 32 bytes");
            }
            key
        }
        None => {
            use hmac::Mac;
            let signing_key =
                base64::engine::general_purpose::STANDARD.decode(token_signing_key.0.trim()).context("signing key")?;
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&signing_key).expect("any key length");
            mac.update(b"kmcr paging links");
            mac.finalize().into_bytes().to_vec()
        }
    };
    Ok(kmcr_service::AccessPolicy {
        registry: kmcr_access::OrganisationRegistry::new(registry),
        policies,
        settings,
        code_rules,
        paging_key,
    })
}

impl Config {
    pub fn signing_key_bytes(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(self.token_signing_key.0.trim()).expect("validated as base64")
    }
}
