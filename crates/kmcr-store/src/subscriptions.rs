//! Events and subscriptions: the outbox the write path fills (topics fired, in the transaction of the data), the
//! subscriptions with how their delivery stands, and each subscription's numbered events. The store keeps them as
//! given; `kmcr-service` decides who gets what.

use kmcr_events::{Condition, EventState, Topic};

/// The event state of a row stored before migration 15 (the column's default).
pub(crate) const UNKNOWN_EVENT_STATE: &str = "?";

/// The stored event state after a new version's conditions, and the topics fired.
pub(crate) fn fire(previous: Option<&str>, conditions: &[(Topic, Condition)]) -> (Option<String>, Vec<Topic>) {
    if conditions.is_empty() {
        // A type no topic looks at keeps whatever it had (nothing).
        return (previous.map(str::to_string), Vec::new());
    }
    if previous == Some(UNKNOWN_EVENT_STATE) {
        // Stored before events were kept: this version's tokens are taken on, and nothing fires.
        let (state, _) = kmcr_events::fire(&EventState::default(), conditions);
        return (state.to_text(), Vec::new());
    }
    let (state, fired) = kmcr_events::fire(&EventState::parse(previous), conditions);
    (state.to_text(), fired)
}

/// The advisory lock key of the right to send notifications (`kmcr_not` in ASCII).
pub(crate) const NOTIFICATION_LEADERSHIP_KEY: i64 = 0x6b6d_6372_5f6e_6f74;

/// The right to send notifications, held by one node of a deployment at a time, so that several nodes on one
/// PostgreSQL do not each send every notification: a session-level advisory lock on a connection of its own, released
/// when this is dropped (its connection closes) or the connection is lost. On the embedded store there is one node.
pub struct Leadership {
    hold: LeadershipHold,
}

enum LeadershipHold {
    Embedded,
    Postgres(deadpool_postgres::ClientWrapper),
}

impl Leadership {
    pub(crate) fn embedded() -> Leadership {
        Leadership { hold: LeadershipHold::Embedded }
    }

    pub(crate) fn postgres(client: deadpool_postgres::ClientWrapper) -> Leadership {
        Leadership { hold: LeadershipHold::Postgres(client) }
    }

    /// Whether the hold is still good (its connection answers).
    pub async fn still_held(&self) -> bool {
        match &self.hold {
            LeadershipHold::Embedded => true,
            // A connection that does not answer in time counts as lost: the server may have freed the lock.
            LeadershipHold::Postgres(client) => {
                let answered = tokio::time::timeout(std::time::Duration::from_secs(2), client.simple_query("SELECT 1"));
                matches!(answered.await, Ok(Ok(_)))
            }
        }
    }
}

/// A subscription as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSubscription {
    pub subscription_id: String,
    /// The API client (or, for one made from the configuration, `configuration`) that made it.
    pub owner_client_id: String,
    pub owner_ods_code: String,
    /// Made from the configuration's regional events, not through the API.
    pub configured: bool,
    /// The FHIR Subscription as last written (status and error as KMCR set them).
    pub body: String,
    pub status: String,
    pub error: Option<String>,
    pub events_since_start: i64,
    pub n_sent: i64,
    pub n_failed: i64,
    pub failures_in_row: i64,
    pub failing_since_ms: Option<i64>,
    pub last_delivered_ms: Option<i64>,
    /// The last notification of any kind sent (a heartbeat is due a period after it).
    pub last_sent_ms: Option<i64>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl StoredSubscription {
    /// A subscription just made: `requested`, nothing sent yet.
    pub fn requested(
        subscription_id: &str,
        owner_client_id: &str,
        owner_ods_code: &str,
        configured: bool,
        body: String,
        now_ms: i64,
    ) -> StoredSubscription {
        StoredSubscription {
            subscription_id: subscription_id.to_string(),
            owner_client_id: owner_client_id.to_string(),
            owner_ods_code: owner_ods_code.to_string(),
            configured,
            body,
            status: "requested".into(),
            error: None,
            events_since_start: 0,
            n_sent: 0,
            n_failed: 0,
            failures_in_row: 0,
            failing_since_ms: None,
            last_delivered_ms: None,
            last_sent_ms: None,
            created_ms: now_ms,
            updated_ms: now_ms,
        }
    }
}

/// An event fired and not yet handed to the subscriptions it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEvent {
    pub seq: i64,
    pub topic: String,
    pub resource_type: String,
    pub resource_id: String,
    pub version_id: i64,
    /// The Patient the focus belongs to (its own id for a Patient).
    pub patient_id: Option<String>,
    pub source_ods_code: Option<String>,
    pub recorded_ms: i64,
}

/// One event of one subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionEvent {
    pub subscription_id: String,
    pub event_number: i64,
    pub topic: String,
    pub resource_type: String,
    pub resource_id: String,
    pub version_id: i64,
    pub patient_id: Option<String>,
    pub recorded_ms: i64,
    /// The most this subscriber may be sent of the focus (`empty`, `id-only`, `full-resource`), decided when the
    /// event was handed to it.
    pub payload: String,
    pub delivered_ms: Option<i64>,
}

/// An event to hand to a subscription; its number is given in the transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSubscriptionEvent {
    pub subscription_id: String,
    pub outbox_seq: i64,
    pub topic: String,
    pub resource_type: String,
    pub resource_id: String,
    pub version_id: i64,
    pub patient_id: Option<String>,
    pub recorded_ms: i64,
    pub payload: String,
}

impl NewSubscriptionEvent {
    /// `event` handed to `subscription_id`, which may be sent `payload` of its focus.
    pub fn of(subscription_id: &str, event: &OutboxEvent, payload: &str) -> NewSubscriptionEvent {
        NewSubscriptionEvent {
            subscription_id: subscription_id.to_string(),
            outbox_seq: event.seq,
            topic: event.topic.clone(),
            resource_type: event.resource_type.clone(),
            resource_id: event.resource_id.clone(),
            version_id: event.version_id,
            patient_id: event.patient_id.clone(),
            recorded_ms: event.recorded_ms,
            payload: payload.to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscriptionChange {
    /// Creates a subscription, or replaces what it asks for and its status (its counts and events stay).
    Put(StoredSubscription),
    /// Removes a subscription and its events.
    Remove { subscription_id: String },
    /// Takes `outbox_seqs` out of the outbox and hands `events` (of those seqs) to their subscriptions, numbering
    /// each subscription's from its count. Seqs already taken (by another node) are skipped with their events.
    Dispatch { outbox_seqs: Vec<i64>, events: Vec<NewSubscriptionEvent> },
    /// The events up to `through_event_number` were delivered (none for a handshake or heartbeat).
    Delivered { subscription_id: String, through_event_number: Option<i64>, at_ms: i64 },
    /// A delivery failed; `status` (with `error`) when the subscription is now in error.
    Failed { subscription_id: String, at_ms: i64, status: Option<String>, error: Option<String> },
    /// Sets the status, when it is `only_from` (if given): a handshake answered while its owner turned the
    /// subscription off leaves it off.
    SetStatus { subscription_id: String, status: String, error: Option<String>, at_ms: i64, only_from: Option<String> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscriptionOutcome {
    Done,
    /// The events handed out: subscription id and number.
    Numbered(Vec<(String, i64)>),
}

/// Which of a subscription's events to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventRange {
    pub from_number: i64,
    pub to_number: i64,
    pub only_undelivered: bool,
    pub limit: usize,
}

pub(crate) const FINGERPRINT_SQL: &str =
    "SELECT COUNT(*), COALESCE(SUM(updated_ms), 0), COALESCE(MAX(updated_ms), 0) FROM subscription";

pub(crate) const SUBSCRIPTION_COLUMNS: &str = "subscription_id, owner_client_id, owner_ods_code, configured, body, \
     status, error, events_since_start, n_sent, n_failed, failures_in_row, failing_since_ms, last_delivered_ms, \
     last_sent_ms, created_ms, updated_ms";

pub(crate) const EVENT_COLUMNS: &str = "subscription_id, event_number, topic, resource_type, resource_id, version_id, \
     patient_id, recorded_ms, payload, delivered_ms";

/// The outbox, oldest first, with each focus's type, id, patient and source.
pub(crate) const OUTBOX_SQL: &str = "SELECT o.seq, o.topic, r.resource_type, r.resource_id, o.version_id, \
     p.resource_id, r.source_ods_code, o.recorded_ms FROM event_outbox o JOIN resource r ON r.resource_key = \
     o.resource_key LEFT JOIN resource p ON p.resource_key = r.patient_key ORDER BY o.seq LIMIT {limit}";
