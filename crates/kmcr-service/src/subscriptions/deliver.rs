//! The next notification a subscription is due (a handshake, its undelivered events in order, or a heartbeat), each
//! event decided again for the subscriber as it is sent (an objection recorded since makes it `empty`) and the
//! notification audited before it leaves; and what its endpoint's answer does to the subscription.

use kmcr_access::ItemVerdict;
use kmcr_events::{
    ChannelPayload, Notification, NotificationEvent, NotificationKind, Payload, StatusSnapshot, SubscriptionStatus,
};
use kmcr_fhir::{Instant, ResourceId, ResourceType};
use kmcr_store::{EventRange, StoredSubscription, SubscriptionChange, SubscriptionEvent};
use serde_json::Value;

use super::dispatch::DecisionCache;
use super::registry::Live;
use crate::{RequestContext, Service, ServiceError, audit};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryKind {
    Handshake,
    Heartbeat,
    /// Events up to this number.
    Events {
        through_event_number: i64,
    },
}

/// One HTTP request to make.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub subscription_id: String,
    pub kind: DeliveryKind,
    pub method: &'static str,
    pub url: String,
    /// The subscription's own headers (secrets: never logged), and the content type when there is a body.
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: u64,
    /// When the newest event carried was committed (for measuring delivery latency).
    pub newest_event_ms: Option<i64>,
}

#[derive(Debug)]
pub enum NextDelivery {
    Send(Delivery),
    /// Nothing due now: look again after this long (a heartbeat's time), or when woken.
    WaitMs(u64),
    /// Nothing due until woken (an event, a change to the subscription).
    Idle,
    /// The subscription is gone or off.
    Gone,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The endpoint answered with this HTTP status.
    Answered(u16),
    /// No answer (refused, timed out): the reason, naming no patient.
    Failed(String),
}

const FHIR_JSON: &str = "application/fhir+json";

impl Service {
    /// What `subscription_id` is due now.
    pub async fn next_delivery(&self, subscription_id: &str) -> Result<NextDelivery, ServiceError> {
        let Some(stored) = self.store.subscriptions(Some(subscription_id)).await?.into_iter().next() else {
            self.subscriptions.registry_mut().remove(subscription_id);
            return Ok(NextDelivery::Gone);
        };
        let Some(live) = self.subscriptions.registry().get(subscription_id) else { return Ok(NextDelivery::Gone) };
        let now_ms = Instant::now().unix_ms;
        if live.spec.end.as_deref().is_some_and(|end| end_passed(end, now_ms)) && stored.status != "off" {
            // Past its end, a subscription is off (its events stay, for `$events`).
            let change = SubscriptionChange::SetStatus {
                subscription_id: subscription_id.to_string(),
                status: "off".into(),
                error: None,
                at_ms: now_ms,
                only_from: None,
            };
            self.store.change_subscriptions(change).await?;
            self.reload_subscription(subscription_id).await?;
            return Ok(NextDelivery::Gone);
        }
        let resolver = self.subscriptions.resolver();
        if super::subscriber_principal(resolver.as_ref(), &stored).is_none() {
            // Its client is no longer configured (switched off, or another organisation's now): nothing is sent, not
            // even a heartbeat, until it is again.
            return Ok(NextDelivery::Idle);
        }
        match SubscriptionStatus::parse(&stored.status) {
            Some(SubscriptionStatus::Requested) => Ok(NextDelivery::Send(self.handshake(&live, &stored))),
            Some(SubscriptionStatus::Active) => self.active_delivery(&live, &stored, now_ms).await,
            Some(SubscriptionStatus::Error) => Ok(NextDelivery::Idle),
            _ => Ok(NextDelivery::Gone),
        }
    }

    async fn active_delivery(
        &self,
        live: &Live,
        stored: &StoredSubscription,
        now_ms: i64,
    ) -> Result<NextDelivery, ServiceError> {
        let limit = match live.spec.payload {
            ChannelPayload::Backport(_) => live.spec.max_count as usize,
            _ => 1,
        };
        let range = EventRange { from_number: 1, to_number: i64::MAX, only_undelivered: true, limit };
        let pending = self.store.subscription_events(&stored.subscription_id, range).await?;
        if !pending.is_empty() {
            return Ok(NextDelivery::Send(self.event_delivery(live, stored, pending).await?));
        }
        let Some(period_s) = live.spec.heartbeat_period_s else { return Ok(NextDelivery::Idle) };
        let due_ms = stored.last_sent_ms.unwrap_or(stored.created_ms) + i64::from(period_s) * 1000;
        if due_ms > now_ms {
            return Ok(NextDelivery::WaitMs((due_ms - now_ms) as u64));
        }
        let notification = Notification {
            kind: NotificationKind::Heartbeat,
            status: self.status_snapshot(live, stored),
            events: Vec::new(),
        };
        Ok(NextDelivery::Send(self.bundle_delivery(live, DeliveryKind::Heartbeat, &notification, None)))
    }

    fn handshake(&self, live: &Live, stored: &StoredSubscription) -> Delivery {
        match live.spec.payload {
            ChannelPayload::Backport(_) => {
                let notification = Notification {
                    kind: NotificationKind::Handshake,
                    status: self.status_snapshot(live, stored),
                    events: Vec::new(),
                };
                self.bundle_delivery(live, DeliveryKind::Handshake, &notification, None)
            }
            // A classic rest-hook is told nothing but that it is there: an empty POST.
            _ => self.plain_delivery(live, DeliveryKind::Handshake, "POST", live.spec.endpoint.clone(), None, None),
        }
    }

    /// The notification of `pending` (in order), decided again and audited.
    async fn event_delivery(
        &self,
        live: &Live,
        stored: &StoredSubscription,
        pending: Vec<SubscriptionEvent>,
    ) -> Result<Delivery, ServiceError> {
        let through_event_number = pending.last().map_or(0, |event| event.event_number);
        let newest_event_ms = pending.iter().map(|event| event.recorded_ms).max();
        let kind = DeliveryKind::Events { through_event_number };
        let events = self.decided_events(&stored.subscription_id, live, stored, pending, "notify").await?;
        match live.spec.payload {
            ChannelPayload::Backport(_) => {
                let notification = Notification {
                    kind: NotificationKind::EventNotification,
                    status: self.status_snapshot(live, stored),
                    events,
                };
                Ok(self.bundle_delivery(live, kind, &notification, newest_event_ms))
            }
            _ => {
                let event = events.into_iter().next();
                match event {
                    Some(NotificationEvent {
                        payload: Payload::FullResource, resource: Some(resource), focus, ..
                    }) => {
                        let url = format!("{}/{focus}", live.spec.endpoint.trim_end_matches('/'));
                        let body = serde_json::to_vec(&resource).unwrap_or_default();
                        Ok(self.plain_delivery(live, kind, "PUT", url, Some(body), newest_event_ms))
                    }
                    _ => Ok(self.plain_delivery(live, kind, "POST", live.spec.endpoint.clone(), None, newest_event_ms)),
                }
            }
        }
    }

    /// Each event as the subscriber may have it now, with one audit entry for what is disclosed (`action`).
    pub(crate) async fn decided_events(
        &self,
        subscription_id: &str,
        live: &Live,
        stored: &StoredSubscription,
        events: Vec<SubscriptionEvent>,
        action: &str,
    ) -> Result<Vec<NotificationEvent>, ServiceError> {
        let resolver = self.subscriptions.resolver();
        let principal = super::subscriber_principal(resolver.as_ref(), stored);
        let mut decisions = DecisionCache::default();
        let mut decided = Vec::with_capacity(events.len());
        let mut record = principal.as_ref().map(|principal| {
            let context =
                RequestContext { principal: principal.clone(), request_id: format!("subscription-{subscription_id}") };
            audit::record(&context, action)
        });
        for event in events {
            let focus_ref = format!("{}/{}", event.resource_type, event.resource_id);
            let given = Payload::parse(&event.payload).unwrap_or(Payload::Empty);
            let mut payload = Payload::Empty;
            let mut resource = None;
            if let Some(principal) = &principal
                && let (Ok(resource_type), Ok(id)) =
                    (ResourceType::parse(&event.resource_type), ResourceId::parse(&event.resource_id))
                && let Some(focus) = self.store.read_version(resource_type, &id, event.version_id).await?
                && focus.json.is_some()
            {
                let context = RequestContext { principal: principal.clone(), request_id: String::new() };
                if let Some((verdict, access)) = self.verdict_for(&context, &focus, &mut decisions).await? {
                    payload = match verdict {
                        ItemVerdict::Visible => given,
                        ItemVerdict::Withheld(_) => given.min(Payload::IdOnly),
                        ItemVerdict::OutOfView => Payload::Empty,
                    };
                    if payload == Payload::FullResource {
                        resource = focus.json.as_deref().and_then(|json| serde_json::from_str::<Value>(json).ok());
                    }
                    if let (Some(record), Some(access), true) = (record.as_mut(), access, payload != Payload::Empty) {
                        audit::add_person(record, &access.0);
                        record.resources.push(focus_ref.clone());
                        record.patients.extend(event.patient_id.iter().map(|id| format!("Patient/{id}")));
                    }
                }
            }
            decided.push(NotificationEvent {
                event_number: event.event_number as u64,
                timestamp: Instant::from_unix_ms(event.recorded_ms).to_string(),
                payload,
                focus: focus_ref,
                resource,
            });
        }
        if let Some(mut record) = record {
            record.patients.sort();
            record.patients.dedup();
            record.outcome = "permitted".into();
            let numbers: Vec<String> = decided.iter().map(|event| event.event_number.to_string()).collect();
            record.query = Some(format!("Subscription/{subscription_id} events {}", numbers.join(",")));
            if live.spec.topic().is_some() {
                record.reasons.push(format!("topic {}", live.spec.topic().map(|topic| topic.code()).unwrap_or("")));
            }
            self.store.append_audit(record).await?;
        }
        Ok(decided)
    }

    pub(crate) fn status_snapshot(&self, live: &Live, stored: &StoredSubscription) -> StatusSnapshot {
        let base = self.subscriptions.settings().fhir_base_url;
        StatusSnapshot {
            subscription_url: format!("{base}/Subscription/{}", stored.subscription_id),
            // The IG: a notification with `empty` content SHOULD NOT name its topic.
            topic_canonical: live
                .spec
                .topic()
                .filter(|_| live.spec.payload_asked() != Payload::Empty)
                .map(|topic| topic.canonical()),
            status: SubscriptionStatus::parse(&stored.status).unwrap_or(SubscriptionStatus::Off),
            events_since_subscription_start: stored.events_since_start.max(0) as u64,
            error: stored.error.clone(),
        }
    }

    fn bundle_delivery(
        &self,
        live: &Live,
        kind: DeliveryKind,
        notification: &Notification,
        newest_event_ms: Option<i64>,
    ) -> Delivery {
        let base = self.subscriptions.settings().fhir_base_url;
        let bundle_id = crate::new_resource_id();
        let bundle = notification.to_bundle(&base, bundle_id.as_str(), &Instant::now().to_string());
        let body = serde_json::to_vec(&bundle).unwrap_or_default();
        self.plain_delivery(live, kind, "POST", live.spec.endpoint.clone(), Some(body), newest_event_ms)
    }

    fn plain_delivery(
        &self,
        live: &Live,
        kind: DeliveryKind,
        method: &'static str,
        url: String,
        body: Option<Vec<u8>>,
        newest_event_ms: Option<i64>,
    ) -> Delivery {
        let mut headers = live.spec.headers.clone();
        if body.is_some() {
            headers.push(("Content-Type".into(), format!("{FHIR_JSON}; charset=utf-8")));
        }
        Delivery {
            subscription_id: live.stored.subscription_id.clone(),
            kind,
            method,
            url,
            headers,
            body,
            timeout_ms: u64::from(live.spec.timeout_s) * 1000,
            newest_event_ms,
        }
    }

    /// Records how a delivery went; returns the failures in a row (0 after a success), from which the sender waits.
    pub async fn delivery_result(&self, delivery: &Delivery, result: DeliveryResult) -> Result<u32, ServiceError> {
        let now_ms = Instant::now().unix_ms;
        let id = delivery.subscription_id.clone();
        let change = match &result {
            DeliveryResult::Answered(status) if (200..300).contains(status) => match delivery.kind {
                DeliveryKind::Handshake => SubscriptionChange::SetStatus {
                    subscription_id: id.clone(),
                    status: "active".into(),
                    error: None,
                    at_ms: now_ms,
                    only_from: Some("requested".into()),
                },
                DeliveryKind::Heartbeat => SubscriptionChange::Delivered {
                    subscription_id: id.clone(),
                    through_event_number: None,
                    at_ms: now_ms,
                },
                DeliveryKind::Events { through_event_number } => SubscriptionChange::Delivered {
                    subscription_id: id.clone(),
                    through_event_number: Some(through_event_number),
                    at_ms: now_ms,
                },
            },
            failure => {
                let reason = match failure {
                    DeliveryResult::Answered(status) => format!("the endpoint answered HTTP {status}"),
                    DeliveryResult::Failed(reason) => reason.clone(),
                };
                let stored = self.store.subscriptions(Some(&id)).await?.into_iter().next();
                let Some(stored) = stored else { return Ok(0) };
                let failures = stored.failures_in_row as u32 + 1;
                let failing_for_ms = (now_ms - stored.failing_since_ms.unwrap_or(now_ms)).max(0) as u64;
                let retry = self.subscriptions.settings().retry;
                let in_error = retry.in_error(failures, failing_for_ms);
                let what = match delivery.kind {
                    DeliveryKind::Handshake => "handshake",
                    DeliveryKind::Heartbeat => "heartbeat",
                    DeliveryKind::Events { .. } => "notification",
                };
                self.store
                    .change_subscriptions(SubscriptionChange::Failed {
                        subscription_id: id.clone(),
                        at_ms: now_ms,
                        status: in_error.then(|| "error".to_string()),
                        error: in_error.then(|| {
                            format!(
                                "{failures} {what}s in a row failed since {}: {reason}",
                                Instant::from_unix_ms(stored.failing_since_ms.unwrap_or(now_ms))
                            )
                        }),
                    })
                    .await?;
                if in_error {
                    self.reload_subscription(&id).await?;
                }
                return Ok(failures);
            }
        };
        self.store.change_subscriptions(change).await?;
        if delivery.kind == DeliveryKind::Handshake {
            self.reload_subscription(&id).await?;
        }
        Ok(0)
    }

    /// Reads one subscription again into the registry (or takes it out).
    pub(crate) async fn reload_subscription(&self, subscription_id: &str) -> Result<(), ServiceError> {
        let stored = self.store.subscriptions(Some(subscription_id)).await?.into_iter().next();
        {
            let mut registry = self.subscriptions.registry_mut();
            match stored {
                Some(stored) => registry.put(stored),
                None => registry.remove(subscription_id),
            }
        }
        self.subscriptions.refresh_classic_types();
        self.subscriptions.note_changed([subscription_id.to_string()]);
        Ok(())
    }
}

/// Whether an instant in UTC (`Subscription.end`, `...Z` or `...+00:00`) is before `now_ms`; one in another zone is
/// compared by its first 19 characters, which may be out by the zone's offset.
pub(crate) fn end_passed(end: &str, now_ms: i64) -> bool {
    let now = Instant::from_unix_ms(now_ms).to_string();
    end.len() >= 19 && now.len() >= 19 && end[..19] < now[..19]
}
