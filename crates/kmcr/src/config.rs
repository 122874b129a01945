//! Configuration in two layers: raw settings (file, then `KMCR_*` variables, then flags) converted once into a
//! validated [`Config`]. Secrets are wrapped so that they never print.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use base64::Engine;
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
    /// The ES256 key (PKCS#8 PEM, P-256) that signs access tokens; made there when absent. Nodes sharing a database
    /// must share it. Default: beside an embedded store, or `./kmcr-token-signing-key.pem` for PostgreSQL.
    pub token_signing_key_file: Option<PathBuf>,
    /// How long an access token lasts (default 300 s; SMART apps refresh, and a session's end refuses its tokens).
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
    #[serde(default)]
    pub smart_apps: Vec<crate::auth_config::RawSmartApp>,
    #[serde(default)]
    pub accounts: Vec<crate::auth_config::RawAccount>,
    pub oidc: Option<crate::auth_config::RawOidc>,
    /// The organisations party to the sharing agreement. No organisation, no access.
    #[serde(default)]
    pub organisations: Vec<RawOrganisation>,
    #[serde(default)]
    pub access: RawAccess,
    #[serde(default)]
    pub mllp: RawMllp,
    /// The secret Ed25519 key that signs audit checkpoints (`kmcr audit keygen`); keep it apart from the database.
    pub audit_checkpoint_key_file: Option<PathBuf>,
    /// The append-only file of signed checkpoints; keep it apart from the database.
    pub audit_checkpoint_file: Option<PathBuf>,
    pub audit_checkpoint_every_entries: Option<u64>,
    pub audit_checkpoint_every_ms: Option<u64>,
    /// When failed notifications are tried again: `[notification_retry]`.
    pub notification_retry: Option<crate::notifications_config::RawRetry>,
}

pub use crate::auth_config::RawClient;

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
    /// Its HL7 v2 senders over MLLP: `[[organisations.mllp_feeds]]` with `sending_application` (MSH-3) and,
    /// optionally, `sending_facility` (MSH-4).
    #[serde(default)]
    pub mllp_feeds: Vec<RawMllpFeed>,
    /// Regional events it receives: `[[organisations.notifications]]` (`notifications_config.rs`).
    #[serde(default)]
    pub notifications: Vec<crate::notifications_config::RawNotification>,
    /// Where its systems' subscriptions may send notifications: URL prefixes registered when it joined
    /// (`https://gp-system.example/kmcr/`). None registered: its systems cannot subscribe. KMCR sends nowhere a
    /// subscriber merely names, so that a subscription cannot aim it at internal services.
    #[serde(default)]
    pub notification_endpoints: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMllpFeed {
    pub sending_application: String,
    pub sending_facility: Option<String>,
    /// The addresses it may send from (any when absent); MSH-3 and MSH-4 alone prove nothing.
    #[serde(default)]
    pub allowed_addresses: Vec<String>,
    /// Binds the feed to a client certificate (signed by `[mllp] tls_client_ca_file`): its SHA-256 fingerprint (hex,
    /// colons allowed, as `openssl x509 -noout -fingerprint -sha256` prints it) and/or its subject's common name.
    /// A bound feed's messages are accepted only over TLS from a connection presenting that certificate.
    pub client_certificate_sha256: Option<String>,
    pub client_certificate_subject_cn: Option<String>,
    /// False to switch the feed off: its messages are then refused AR with that reason and kept as dead letters.
    pub enabled: Option<bool>,
    /// Sensitivity labels (v3 ActCode: PSY, SEX, HIV, ...) for everything its messages become but the Patient, which
    /// HL7 v2 cannot carry: e.g. `["PSY"]` for a mental health trust's PAS.
    #[serde(default)]
    pub security_labels: Vec<String>,
}

/// The MLLP listener: off unless `[mllp] listen` (plain TCP) or `tls_listen` (TLS), or both, are given.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMllp {
    pub listen: Option<String>,
    /// A second address that speaks MLLP over TLS only.
    pub tls_listen: Option<String>,
    /// For `tls_listen`: the server's certificate chain (PEM, its own certificate first) and its private key (PEM).
    pub tls_certificate_file: Option<PathBuf>,
    pub tls_private_key_file: Option<PathBuf>,
    /// CA certificates (PEM): when given, every TLS client must present a certificate one of them signed.
    pub tls_client_ca_file: Option<PathBuf>,
    /// The largest message accepted (default 10 MiB).
    pub max_frame_bytes: Option<usize>,
    /// A connection silent this long is closed (default 600 s).
    pub idle_timeout_s: Option<u64>,
    /// Connections served at once at most (default 256); more wait to be accepted.
    pub max_connections: Option<usize>,
}

pub(crate) fn default_true() -> bool {
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
    /// ODS codes of the organisations whose IG officers act for the whole region (an integrated care board, say);
    /// others' act for their own organisation only.
    #[serde(default)]
    pub regional_information_governance: Vec<String>,
    /// Replaces the default code rules when given.
    pub code_rules: Option<Vec<RawCodeRule>>,
    #[serde(default)]
    pub policies: Vec<RawPolicy>,
    /// Base64, at least 32 bytes; binds paging links to their caller. Random per start when absent (one node).
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
    pub max_body_bytes: usize,
    pub max_page_size: usize,
    pub identity: kmcr_service::identity::IdentitySettings,
    pub auth: crate::auth_config::AuthConfig,
    pub access: kmcr_service::AccessPolicy,
    pub audit_checkpoint_key_file: Option<PathBuf>,
    pub audit_checkpoint_file: Option<PathBuf>,
    pub audit_checkpoint_policy: kmcr_audit::CheckpointPolicy,
    pub mllp: Option<kmcr_mllp::MllpSettings>,
    /// Regional events and retries (the FHIR base URL is added once the listener is bound).
    pub subscriptions: kmcr_service::subscriptions::SubscriptionSettings,
}

impl RawSettings {
    pub fn from_file(path: &PathBuf) -> anyhow::Result<RawSettings> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is not valid configuration", path.display()))
    }

    /// Overlays `KMCR_LISTEN`, `KMCR_DATABASE`, `KMCR_PUBLIC_BASE_URL`, `KMCR_TOKEN_SIGNING_KEY_FILE`.
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
        if let Some(key_file) = variable("KMCR_TOKEN_SIGNING_KEY_FILE") {
            self.token_signing_key_file = Some(PathBuf::from(key_file));
        }
    }

    pub fn validate(self) -> anyhow::Result<Config> {
        let listen: SocketAddr = self
            .listen
            .as_deref()
            .unwrap_or("127.0.0.1:8080")
            .parse()
            .context("listen must be an address such as 127.0.0.1:8080")?;
        let database = self.database.unwrap_or_else(|| "kmcr-data".to_string());
        let auth = crate::auth_config::AuthConfig {
            clients_switched_off: self
                .clients
                .iter()
                .filter(|client| !client.enabled)
                .map(|client| client.id.clone())
                .collect(),
            clients: crate::auth_config::clients(self.clients)?,
            smart_apps: crate::auth_config::smart_apps(self.smart_apps)?,
            accounts: crate::auth_config::accounts(self.accounts)?,
            oidc: self.oidc,
            signing_key_file: self
                .token_signing_key_file
                .unwrap_or_else(|| crate::auth_config::default_signing_key_file(&database)),
            access_token_lifetime_s: self.token_lifetime_s.unwrap_or(300),
        };
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
        let mut feeds = Vec::new();
        let mut regional = Vec::new();
        let mut endpoint_prefixes = std::collections::BTreeMap::new();
        for organisation in &self.organisations {
            let ods_code = OdsCode::parse(&organisation.ods_code)
                .with_context(|| format!("organisation '{}' is not an ODS code", organisation.ods_code))?;
            for feed in &organisation.mllp_feeds {
                feeds.push(mllp_feed(&ods_code, feed)?);
            }
            for notification in &organisation.notifications {
                regional.push(crate::notifications_config::regional_subscription(&ods_code, notification)?);
            }
            for prefix in &organisation.notification_endpoints {
                if !(prefix.starts_with("https://") || prefix.starts_with("http://")) || prefix.ends_with("://") {
                    bail!("organisation {ods_code}: notification endpoint '{prefix}' is not an http(s) URL prefix");
                }
            }
            endpoint_prefixes.insert(ods_code.to_string(), organisation.notification_endpoints.clone());
        }
        let subscriptions = kmcr_service::subscriptions::SubscriptionSettings {
            fhir_base_url: String::new(),
            retry: crate::notifications_config::retry_policy(self.notification_retry.as_ref()),
            regional,
            endpoint_prefixes: Some(endpoint_prefixes),
        };
        let mllp = mllp_settings(&self.mllp, feeds)?;
        let access = access_policy(self.organisations, self.access)?;
        let defaults = kmcr_audit::CheckpointPolicy::default();
        let checkpoint_policy = kmcr_audit::CheckpointPolicy {
            every_n_entries: self.audit_checkpoint_every_entries.unwrap_or(defaults.every_n_entries),
            every_interval: self
                .audit_checkpoint_every_ms
                .map_or(defaults.every_interval, std::time::Duration::from_millis),
        };
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
            database,
            public_base_url: self.public_base_url,
            max_body_bytes: self.max_body_bytes.unwrap_or(64 * 1024 * 1024),
            max_page_size: self.max_page_size.unwrap_or(1000),
            identity,
            auth,
            access,
            audit_checkpoint_key_file: self.audit_checkpoint_key_file,
            audit_checkpoint_file: self.audit_checkpoint_file,
            audit_checkpoint_policy: checkpoint_policy,
            mllp,
            subscriptions,
        })
    }
}

fn mllp_feed(ods_code: &OdsCode, raw: &RawMllpFeed) -> anyhow::Result<kmcr_service::feeds::MllpFeed> {
    use kmcr_service::feeds::{CertificateBinding, CertificateFingerprint};
    let name = format!("organisation {ods_code}: MLLP feed '{}'", raw.sending_application);
    let fingerprint = raw.client_certificate_sha256.as_deref().map(CertificateFingerprint::parse).transpose();
    Ok(kmcr_service::feeds::MllpFeed {
        ods_code: ods_code.clone(),
        sending_application: raw.sending_application.clone(),
        sending_facility: raw.sending_facility.clone(),
        allowed_addresses: raw
            .allowed_addresses
            .iter()
            .map(|address| address.parse().with_context(|| format!("{name}: '{address}' is not an IP address")))
            .collect::<anyhow::Result<_>>()?,
        client_certificate: CertificateBinding::new(
            fingerprint.with_context(|| format!("{name}: client_certificate_sha256"))?,
            raw.client_certificate_subject_cn.clone(),
        ),
        switched_off: raw.enabled == Some(false),
        security_labels: security_labels(&name, &raw.security_labels)?,
    })
}

/// A feed's labels, each a v3 ActCode sensitivity code KMCR seals by (a typo would leave the data unsealed).
fn security_labels(feed: &str, labels: &[String]) -> anyhow::Result<Vec<String>> {
    const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    for label in labels {
        if kmcr_access::SensitiveCategory::from_security_label(ACT_CODE, label).is_none() {
            bail!("{feed}: security label '{label}' is not one KMCR seals by (HIV, PSY, SDV, SEX, STD, ETH, GDIS)");
        }
    }
    Ok(labels.to_vec())
}

/// The listener's settings, `None` when it listens nowhere. The TLS files are read here, so that a fault in them
/// stops `kmcr serve` before it starts, naming the file.
fn mllp_settings(
    raw: &RawMllp,
    feeds: Vec<kmcr_service::feeds::MllpFeed>,
) -> anyhow::Result<Option<kmcr_mllp::MllpSettings>> {
    let listen = match raw.listen.as_deref() {
        None => None,
        Some(listen) => Some(listen.parse().context("[mllp] listen must be an address such as 127.0.0.1:2575")?),
    };
    let tls = match (raw.tls_listen.as_deref(), &raw.tls_certificate_file, &raw.tls_private_key_file) {
        (None, None, None) if raw.tls_client_ca_file.is_none() => None,
        (Some(tls_listen), Some(certificate_file), Some(private_key_file)) => {
            let tls_listen = tls_listen.parse().context("[mllp] tls_listen must be an address such as 0.0.0.0:2576")?;
            let files = kmcr_mllp::TlsFiles {
                certificate_file: certificate_file.clone(),
                private_key_file: private_key_file.clone(),
                client_ca_file: raw.tls_client_ca_file.clone(),
            };
            Some(files.load(tls_listen).context("[mllp] TLS cannot be set up")?)
        }
        _ => bail!(
            "[mllp] tls_listen, tls_certificate_file and tls_private_key_file are given together \
             (tls_client_ca_file only with them)"
        ),
    };
    let client_certificates_required = tls.as_ref().is_some_and(|tls| tls.client_certificates_required);
    if let Some(bound) = feeds.iter().find(|feed| feed.client_certificate.is_some())
        && !client_certificates_required
    {
        bail!(
            "organisation {}: MLLP feed '{}' is bound to a client certificate, which needs [mllp] tls_listen and \
             tls_client_ca_file",
            bound.ods_code,
            bound.sending_application
        );
    }
    if listen.is_none() && tls.is_none() {
        return Ok(None);
    }
    Ok(Some(kmcr_mllp::MllpSettings {
        listen,
        tls,
        feeds,
        max_frame_bytes: raw.max_frame_bytes.unwrap_or(10 * 1024 * 1024),
        idle_timeout: std::time::Duration::from_secs(raw.idle_timeout_s.unwrap_or(600)),
        max_connections: raw.max_connections.unwrap_or(256),
    }))
}

fn access_policy(organisations: Vec<RawOrganisation>, raw: RawAccess) -> anyhow::Result<kmcr_service::AccessPolicy> {
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
        regional_information_governance: raw
            .regional_information_governance
            .iter()
            .map(|code| {
                OdsCode::parse(code)
                    .with_context(|| format!("regional_information_governance: '{code}' is not an ODS code"))
            })
            .collect::<anyhow::Result<_>>()?,
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
        // One node: a key of its own. Nodes sharing a database configure one key, or a paging link made on one node
        // is refused by the next.
        None => {
            let mut key = vec![0u8; 32];
            getrandom::fill(&mut key).map_err(|error| anyhow::anyhow!("no randomness for a paging key: {error}"))?;
            key
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

#[cfg(test)]
mod tests {
    use super::security_labels;

    #[test]
    fn a_feeds_security_labels_are_codes_kmcr_seals_by() {
        assert_eq!(security_labels("feed", &["PSY".into(), "SEX".into()]).unwrap(), ["PSY", "SEX"]);
        let typo = security_labels("feed", &["psy".into()]).unwrap_err().to_string();
        assert!(typo.contains("'psy' is not one KMCR seals by"), "{typo}");
    }
}
