//! The subscriptions in force, in memory, indexed so that an event finds the few it concerns among many: by the
//! Patient a subscription names, by route, or by topic alone.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kmcr_events::subscription::parse_subscription;
use kmcr_events::{SubscriptionSpec, SubscriptionStatus, Topic, What};
use kmcr_fhir::ResourceType;
use kmcr_store::StoredSubscription;

use super::CLASSIC_TYPES;

/// One subscription in force.
#[derive(Clone, Debug)]
pub(crate) struct Live {
    pub(crate) stored: StoredSubscription,
    pub(crate) spec: SubscriptionSpec,
    pub(crate) status: SubscriptionStatus,
}

#[derive(Default)]
pub(crate) struct Registry {
    pub(crate) by_id: HashMap<String, Arc<Live>>,
    /// Subscriptions naming a Patient, by that Patient's id (an event matches through any record of its person).
    by_patient: HashMap<String, Vec<String>>,
    /// Topic subscriptions naming no Patient (by route, or every event the subscriber may see), by topic.
    by_topic: HashMap<Topic, Vec<String>>,
}

impl Registry {
    /// Built from every stored subscription; one that no longer reads (a build that offers less) is left out.
    pub(crate) fn from_stored(stored: Vec<StoredSubscription>) -> Registry {
        let mut registry = Registry::default();
        for subscription in stored {
            registry.put(subscription);
        }
        registry
    }

    /// A stored subscription read into what it asks for (`None`: it no longer reads, under a build that offers less).
    pub(crate) fn live(stored: StoredSubscription) -> Option<Live> {
        let resource = serde_json::from_str(&stored.body).ok()?;
        let spec = parse_subscription(&resource, &CLASSIC_TYPES).ok()?;
        let status = SubscriptionStatus::parse(&stored.status).unwrap_or(SubscriptionStatus::Off);
        Some(Live { stored, spec, status })
    }

    pub(crate) fn put(&mut self, stored: StoredSubscription) {
        self.remove(&stored.subscription_id);
        let Some(Live { stored, spec, status }) = Registry::live(stored) else { return };
        let id = stored.subscription_id.clone();
        match (spec.patient_id(), spec.topic()) {
            (Some(patient_id), _) => self.by_patient.entry(patient_id.to_string()).or_default().push(id.clone()),
            (None, Some(topic)) => self.by_topic.entry(topic).or_default().push(id.clone()),
            (None, None) => {}
        }
        self.by_id.insert(id, Arc::new(Live { stored, spec, status }));
    }

    pub(crate) fn remove(&mut self, subscription_id: &str) {
        let Some(live) = self.by_id.remove(subscription_id) else { return };
        let drop_from = |ids: &mut Vec<String>| ids.retain(|id| id != subscription_id);
        if let Some(patient_id) = live.spec.patient_id()
            && let Some(ids) = self.by_patient.get_mut(patient_id)
        {
            drop_from(ids);
        }
        if let Some(topic) = live.spec.topic()
            && let Some(ids) = self.by_topic.get_mut(&topic)
        {
            drop_from(ids);
        }
    }

    pub(crate) fn get(&self, subscription_id: &str) -> Option<Arc<Live>> {
        self.by_id.get(subscription_id).cloned()
    }

    /// The subscriptions an event of `topic` about a resource of `resource_type`, belonging to one of
    /// `patient_ids` (every record of its person), may concern; the caller checks filters and access.
    pub(crate) fn candidates(&self, topic: Topic, resource_type: &str, patient_ids: &[String]) -> Vec<Arc<Live>> {
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        let mut consider = |id: &String| {
            if !seen.insert(id.clone()) {
                return;
            }
            let Some(live) = self.by_id.get(id) else { return };
            let concerned = match &live.spec.what {
                What::Topic { topic: wanted, .. } => *wanted == topic,
                What::Criteria(search) => topic == Topic::ResourceChanged && search.resource_type == resource_type,
            };
            if concerned
                && matches!(
                    live.status,
                    SubscriptionStatus::Requested | SubscriptionStatus::Active | SubscriptionStatus::Error
                )
            {
                found.push(live.clone());
            }
        };
        for patient_id in patient_ids {
            for id in self.by_patient.get(patient_id).into_iter().flatten() {
                consider(id);
            }
        }
        for id in self.by_topic.get(&topic).into_iter().flatten() {
            consider(id);
        }
        found
    }

    /// The types classic subscriptions watch.
    pub(crate) fn classic_types(&self) -> HashSet<ResourceType> {
        self.by_id
            .values()
            .filter_map(|live| match &live.spec.what {
                What::Criteria(search) if live.status != SubscriptionStatus::Off => {
                    ResourceType::parse(&search.resource_type).ok()
                }
                _ => None,
            })
            .collect()
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.by_id.keys().cloned().collect()
    }
}
