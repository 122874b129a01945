//! Notifications as the Subscriptions R5 Backport IG writes them for R4: a `history` Bundle whose first entry is the
//! subscription status (`Parameters`, profile `backport-subscription-status-r4`), then an entry per focus (its URL
//! alone for `id-only`, the resource too for `full-resource`, nothing for `empty`).

use serde_json::{Value, json};

pub use crate::subscription::Payload;
use crate::subscription::{BACKPORT, SubscriptionStatus};

pub const STATUS_PROFILE: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4";
pub const NOTIFICATION_PROFILE: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotificationKind {
    Handshake,
    Heartbeat,
    EventNotification,
    QueryStatus,
    QueryEvent,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Handshake => "handshake",
            NotificationKind::Heartbeat => "heartbeat",
            NotificationKind::EventNotification => "event-notification",
            NotificationKind::QueryStatus => "query-status",
            NotificationKind::QueryEvent => "query-event",
        }
    }
}

/// A subscription's status as a notification states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSnapshot {
    /// The subscription's absolute URL (`[base]/Subscription/[id]`).
    pub subscription_url: String,
    pub topic_canonical: Option<String>,
    pub status: SubscriptionStatus,
    pub events_since_subscription_start: u64,
    /// What went wrong, when the subscription is in error (a sentence naming no patient).
    pub error: Option<String>,
}

/// One event as a notification carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct NotificationEvent {
    pub event_number: u64,
    /// When the data that fired it was committed (an instant).
    pub timestamp: String,
    /// How much of the focus this subscriber is given for this event (never more than it asked for or may read).
    pub payload: Payload,
    /// `Type/id` of the focus.
    pub focus: String,
    /// The focus as stored (for `full-resource` only).
    pub resource: Option<Value>,
}

/// A notification to send (or to answer `$status` / `$events` with).
#[derive(Clone, Debug)]
pub struct Notification {
    pub kind: NotificationKind,
    pub status: StatusSnapshot,
    pub events: Vec<NotificationEvent>,
}

impl Notification {
    /// The notification Bundle. `base` is the FHIR base URL (`https://host/fhir`), `bundle_id` fresh, `now` an
    /// instant.
    pub fn to_bundle(&self, base: &str, bundle_id: &str, now: &str) -> Value {
        let mut entries = vec![json!({
            "fullUrl": format!("urn:uuid:{bundle_id}"),
            "resource": self.status_parameters_with_id(base, bundle_id),
            "request": {"method": "GET", "url": format!("{}/$status", self.status.subscription_url)},
            "response": {"status": "200"},
        })];
        for event in &self.events {
            if event.payload == Payload::Empty {
                continue;
            }
            let mut entry = json!({
                "fullUrl": format!("{base}/{}", event.focus),
                "request": {"method": "PUT", "url": event.focus},
                "response": {"status": "200"},
            });
            if event.payload == Payload::FullResource
                && let Some(resource) = &event.resource
            {
                entry["resource"] = resource.clone();
            }
            entries.push(entry);
        }
        json!({
            "resourceType": "Bundle",
            "id": bundle_id,
            "meta": {"profile": [NOTIFICATION_PROFILE]},
            "type": "history",
            "timestamp": now,
            "entry": entries,
        })
    }

    /// [`Notification::status_parameters`] with an id (a notification's first entry is `urn:uuid:` that id).
    fn status_parameters_with_id(&self, base: &str, id: &str) -> Value {
        let mut parameters = self.status_parameters(base);
        if let Some(object) = parameters.as_object_mut() {
            let mut with_id = serde_json::Map::new();
            with_id.insert("resourceType".into(), json!("Parameters"));
            with_id.insert("id".into(), json!(id));
            with_id.extend(object.clone().into_iter().filter(|(key, _)| key != "resourceType"));
            *object = with_id;
        }
        parameters
    }

    /// The status `Parameters` (the first entry of a notification, and what `$status` returns).
    pub fn status_parameters(&self, base: &str) -> Value {
        let mut parameters = vec![json!({"name": "subscription", "valueReference": {
            "reference": self.status.subscription_url}})];
        if let Some(topic) = &self.status.topic_canonical {
            parameters.push(json!({"name": "topic", "valueCanonical": topic}));
        }
        parameters.push(json!({"name": "status", "valueCode": self.status.status.as_str()}));
        parameters.push(json!({"name": "type", "valueCode": self.kind.as_str()}));
        parameters.push(json!({"name": "events-since-subscription-start",
            "valueString": self.status.events_since_subscription_start.to_string()}));
        for event in &self.events {
            let mut parts = vec![
                json!({"name": "event-number", "valueString": event.event_number.to_string()}),
                json!({"name": "timestamp", "valueInstant": event.timestamp}),
            ];
            if event.payload != Payload::Empty {
                parts
                    .push(json!({"name": "focus", "valueReference": {"reference": format!("{base}/{}", event.focus)}}));
            }
            parameters.push(json!({"name": "notification-event", "part": parts}));
        }
        if let Some(error) = &self.status.error {
            parameters.push(json!({"name": "error", "valueCodeableConcept": {"text": error}}));
        }
        json!({
            "resourceType": "Parameters",
            "meta": {"profile": [STATUS_PROFILE]},
            "parameter": parameters,
        })
    }
}

/// `$status`'s answer: a searchset Bundle of status Parameters, one per subscription asked about.
pub fn status_bundle(statuses: &[Notification], base: &str, bundle_id: &str, now: &str) -> Value {
    let entries: Vec<Value> = statuses
        .iter()
        .map(|status| json!({"resource": status.status_parameters(base), "search": {"mode": "match"}}))
        .collect();
    json!({
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "searchset",
        "timestamp": now,
        "total": entries.len(),
        "entry": entries,
    })
}

/// The extension a CapabilityStatement's Subscription resource carries for each topic offered.
pub fn capability_topic_extension(canonical: &str) -> Value {
    json!({"url": format!("{BACKPORT}capabilitystatement-subscriptiontopic-canonical"), "valueCanonical": canonical})
}
