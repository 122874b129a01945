//! Subscriptions: who is told of which events, decided and audited as reads. `manage.rs` is the API's (create, read,
//! update, delete, `$status`, `$events`), `dispatch.rs` hands the events the write path fired to the subscriptions
//! they concern, each decided for the subscriber, and `deliver.rs` makes the notification to send next (audited) and
//! records how it went. Sending itself is `kmcr-notify`'s: nothing here knows HTTP.

mod deliver;
mod dispatch;
mod manage;
mod registry;

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use kmcr_access::{Principal, Scope, SystemPrincipal};
use kmcr_events::{Payload, RetryPolicy, Route, Topic};
use kmcr_fhir::{OdsCode, ResourceType};

pub use deliver::{Delivery, DeliveryKind, DeliveryResult, NextDelivery};
pub use manage::EventsQuery;
pub(crate) use registry::Registry;

/// The resource types a classic criteria subscription may watch.
pub const CLASSIC_TYPES: [&str; 5] = ["Encounter", "DiagnosticReport", "DocumentReference", "Flag", "Patient"];

/// The owner id of a subscription made from the configuration.
pub const CONFIGURED_OWNER: &str = "configuration";

/// Finds the principal of an API client as the configuration has it now (`None`: no longer configured).
pub type PrincipalResolver = Arc<dyn Fn(&str) -> Option<Principal> + Send + Sync>;

/// A regional event an organisation receives by configuration: a topic, the people it concerns (a route), and where
/// to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct RegionalSubscription {
    /// Unique within the configuration (`ed-attendance-to-gp`); the subscription's id is made from it and the ODS code.
    pub name: String,
    pub ods_code: OdsCode,
    pub topic: Topic,
    pub route: Route,
    /// Encounter classes (v3-ActCode), for the encounter topics; empty: any.
    pub classes: Vec<String>,
    pub endpoint: String,
    pub headers: Vec<(String, String)>,
    pub payload: Payload,
    pub heartbeat_period_s: Option<u32>,
}

impl std::fmt::Debug for RegionalSubscription {
    /// The headers are secrets: their names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("RegionalSubscription")
            .field("name", &self.name)
            .field("ods_code", &self.ods_code)
            .field("topic", &self.topic)
            .field("route", &self.route)
            .field("classes", &self.classes)
            .field("endpoint", &self.endpoint)
            .field("header_names", &header_names)
            .field("payload", &self.payload)
            .field("heartbeat_period_s", &self.heartbeat_period_s)
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct SubscriptionSettings {
    /// The FHIR API's public base URL (`https://host/fhir`): notifications name resources by it.
    pub fhir_base_url: String,
    pub retry: RetryPolicy,
    pub regional: Vec<RegionalSubscription>,
    /// Per organisation (ODS code), the URL prefixes its systems' subscriptions may send to; `None`: anywhere (tests
    /// and benchmarks only: `kmcr serve` always registers them, so that a subscriber cannot aim KMCR at internal
    /// services).
    pub endpoint_prefixes: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

impl Default for SubscriptionSettings {
    fn default() -> Self {
        SubscriptionSettings {
            fhir_base_url: "http://localhost/fhir".into(),
            retry: RetryPolicy::default(),
            regional: Vec::new(),
            endpoint_prefixes: None,
        }
    }
}

/// The service's part of subscriptions: settings, the subscriptions in force (in memory, from the store), and the
/// principal of each owner.
pub(crate) struct SubscriptionState {
    pub(crate) settings: RwLock<SubscriptionSettings>,
    pub(crate) registry: RwLock<Registry>,
    pub(crate) resolver: RwLock<Option<PrincipalResolver>>,
    /// Types some classic subscription watches: every write of one fires `resource-changed`.
    pub(crate) classic_types: RwLock<HashSet<ResourceType>>,
    /// Told when a write may have fired events, or a subscription changed, so that the sender looks at once.
    pub(crate) events_written: tokio::sync::Notify,
    /// Subscriptions made, changed or removed since the sender last asked (their workers are woken).
    pub(crate) changed: std::sync::Mutex<Vec<String>>,
    /// The store's subscriptions as last read whole ([`kmcr_store::Store::subscriptions_fingerprint`]).
    pub(crate) fingerprint: std::sync::Mutex<Option<(i64, i64, i64)>>,
    /// When the fingerprint was last looked at (it sums every subscription's row: not for every dispatch round).
    pub(crate) fingerprint_checked: std::sync::Mutex<Option<std::time::Instant>>,
}

impl SubscriptionState {
    pub(crate) fn new() -> SubscriptionState {
        SubscriptionState {
            settings: RwLock::new(SubscriptionSettings::default()),
            registry: RwLock::new(Registry::default()),
            resolver: RwLock::new(None),
            classic_types: RwLock::new(HashSet::new()),
            events_written: tokio::sync::Notify::new(),
            changed: std::sync::Mutex::new(Vec::new()),
            fingerprint: std::sync::Mutex::new(None),
            fingerprint_checked: std::sync::Mutex::new(None),
        }
    }

    pub(crate) fn settings(&self) -> SubscriptionSettings {
        self.settings.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Notes that subscriptions changed, and wakes the sender.
    pub(crate) fn note_changed(&self, ids: impl IntoIterator<Item = String>) {
        self.changed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).extend(ids);
        self.events_written.notify_one();
    }

    pub(crate) fn registry(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn registry_mut(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.registry.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn resolver(&self) -> Option<PrincipalResolver> {
        self.resolver.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Keeps the types classic subscriptions watch in step with the registry.
    pub(crate) fn refresh_classic_types(&self) {
        let types = self.registry().classic_types();
        *self.classic_types.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = types;
    }

    pub(crate) fn watches_every_change(&self, resource_type: ResourceType) -> bool {
        self.classic_types.read().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&resource_type)
    }
}

/// The scopes of an organisation's system receiving regional events: read what the topics' notifications name.
fn regional_scopes() -> Vec<Scope> {
    ["Encounter", "DiagnosticReport", "DocumentReference", "Flag", "Patient"]
        .iter()
        .map(|resource_type| Scope::parse(&format!("system/{resource_type}.rs")).expect("a valid scope"))
        .collect()
}

/// The principal a subscription is decided for: the owner API client as configured now, or, for a configured
/// regional subscription, a system of its organisation that reads what notifications name.
pub(crate) fn subscriber_principal(
    resolver: Option<&PrincipalResolver>,
    stored: &kmcr_store::StoredSubscription,
) -> Option<Principal> {
    let ods_code = OdsCode::parse(&stored.owner_ods_code).ok()?;
    if stored.configured {
        return Some(Principal::System(SystemPrincipal {
            client_id: format!("regional-events-{ods_code}"),
            ods_code,
            scopes: regional_scopes(),
            region_wide: None,
        }));
    }
    let principal = resolver?(&stored.owner_client_id)?;
    (principal.ods_code() == Some(&ods_code)).then_some(principal)
}
