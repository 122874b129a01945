//! The service layer: the one path by which any caller (the FHIR API now; the viewer, portal and feeds later) reads or
//! writes records. Each operation asks the access decision (`kmcr-access`) on the data it touches, records an audit
//! entry (durable before data is returned, in the same transaction as a write), then calls the store with the
//! decision's row filter. Nothing here knows HTTP.

pub mod access;
mod audit;
mod bundle;
pub mod dead_letters;
mod error;
pub mod feeds;
mod grants;
pub mod identity;
pub mod loads;
mod matching;
pub mod organisations;
mod person_view;
mod reads;
pub mod references;
pub mod subscriptions;
mod writes;

use kmcr_access::Principal;
use kmcr_store::Store;

pub use access::{AccessPolicy, PersonAccess};
pub use error::{ServiceError, error_status_line, operation_outcome, outcome_with};
pub use grants::{AuditPage, DeclaredGrant, GrantRequest};
pub use matching::{LinkHistory, PatientMatch, ReviewView};
pub use reads::{ReadPage, SearchResult};
pub use writes::{CreateResult, SOURCE_ORGANISATION_TAG_SYSTEM, new_resource_id};

/// Bounds on what one request may ask for.
#[derive(Clone, Debug)]
pub struct Limits {
    pub default_page_size: usize,
    pub max_page_size: usize,
    pub max_bundle_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { default_page_size: 50, max_page_size: 1000, max_bundle_entries: 20_000 }
    }
}

/// Who asks, and the id of the request (for traces and the audit).
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub principal: Principal,
    pub request_id: String,
}

#[derive(Clone)]
pub struct Service {
    store: Store,
    limits: Limits,
    identity: std::sync::Arc<identity::Identity>,
    /// The access policy in force: the configuration's, with the organisations recorded as having left the agreement
    /// since (`organisations.rs`) no longer party to it. Replaced whole when that changes; each request reads it once.
    access: std::sync::Arc<std::sync::RwLock<std::sync::Arc<AccessPolicy>>>,
    configured_access: std::sync::Arc<AccessPolicy>,
    /// The MLLP feeds configured, with which a dead letter is sent through again ([`Service::with_mllp_feeds`]).
    mllp_feeds: std::sync::Arc<Vec<feeds::MllpFeed>>,
    /// Subscriptions in force and how their notifications are decided (`subscriptions/`).
    subscriptions: std::sync::Arc<subscriptions::SubscriptionState>,
}

impl Service {
    /// Starts the service: rebuilds the person index from the store (matching any Patient not yet linked).
    pub async fn start(
        store: Store,
        limits: Limits,
        identity_settings: identity::IdentitySettings,
        access: AccessPolicy,
    ) -> Result<Service, ServiceError> {
        let identity = identity::Identity::start(store.clone(), identity_settings).await?;
        let configured_access = std::sync::Arc::new(access);
        let access = std::sync::Arc::new(std::sync::RwLock::new(configured_access.clone()));
        let mllp_feeds = std::sync::Arc::new(Vec::new());
        let subscriptions = std::sync::Arc::new(subscriptions::SubscriptionState::new());
        let service = Service { store, limits, identity, access, configured_access, mllp_feeds, subscriptions };
        service.follow_departures().await?;
        Ok(service)
    }

    /// The access policy in force now.
    pub(crate) fn access(&self) -> std::sync::Arc<AccessPolicy> {
        self.access.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The service with the MLLP feeds the configuration names (none until given), with which the API replays a
    /// dead letter.
    pub fn with_mllp_feeds(self, feeds: Vec<feeds::MllpFeed>) -> Service {
        Service { mllp_feeds: std::sync::Arc::new(feeds), ..self }
    }

    pub fn mllp_feeds(&self) -> &[feeds::MllpFeed] {
        &self.mllp_feeds
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn store_backend(&self) -> &'static str {
        self.store.backend_name()
    }
}
