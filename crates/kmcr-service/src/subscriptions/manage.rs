//! Subscriptions through the API: made by an organisation's system (decided: its scopes, the organisation's place in
//! the agreement, and, for one naming a patient, a read of that person), seen and changed by that system alone,
//! `$status`, and `$events` (a read of patient data, decided and audited again). Each call is audited. Regional
//! subscriptions come from the configuration.

use kmcr_access::{Interaction, Principal};
use kmcr_audit::AuditRecord;
use kmcr_events::subscription::parse_subscription;
use kmcr_events::{Notification, NotificationKind, Payload, SubscriptionStatus};
use kmcr_fhir::{Instant, ResourceType};
use kmcr_store::{EventRange, StoredSubscription, SubscriptionChange};
use serde_json::{Value, json};

use super::{CLASSIC_TYPES, CONFIGURED_OWNER, RegionalSubscription};
use crate::{RequestContext, Service, ServiceError, audit};

/// The extension KMCR adds to a Subscription it returns: how delivery stands.
pub const DELIVERY_EXTENSION: &str = "https://fhir.kmcr.uk/StructureDefinition/subscription-delivery";

/// `$events`' parameters.
#[derive(Clone, Copy, Debug)]
pub struct EventsQuery {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub content: Option<Payload>,
}

/// Most events `$events` returns at once.
const MAX_EVENTS_PER_QUERY: usize = 1000;

impl Service {
    /// Reads every stored subscription into the registry, after making the configured ones.
    pub async fn start_subscriptions(&self, settings: super::SubscriptionSettings) -> Result<(), ServiceError> {
        *self.subscriptions.settings.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = settings.clone();
        let stored = self.store.subscriptions(None).await?;
        let now_ms = Instant::now().unix_ms;
        for regional in &settings.regional {
            let body = regional_subscription(regional, &settings.fhir_base_url);
            let id = regional_id(regional);
            let existing = stored.iter().find(|subscription| subscription.subscription_id == id);
            let unchanged = existing.is_some_and(|existing| {
                serde_json::from_str::<Value>(&existing.body).ok().map(|mut stored| {
                    stored["status"] = body["status"].clone();
                    stored
                }) == Some(body.clone())
            });
            if unchanged {
                continue;
            }
            let ods_code = regional.ods_code.as_str();
            let subscription =
                StoredSubscription::requested(&id, CONFIGURED_OWNER, ods_code, true, body.to_string(), now_ms);
            self.store.change_subscriptions(SubscriptionChange::Put(subscription)).await?;
        }
        for gone in stored.iter().filter(|subscription| {
            subscription.configured
                && !settings.regional.iter().any(|regional| regional_id(regional) == subscription.subscription_id)
        }) {
            let subscription_id = gone.subscription_id.clone();
            self.store.change_subscriptions(SubscriptionChange::Remove { subscription_id }).await?;
        }
        self.reload_subscriptions().await
    }

    /// Reads every stored subscription into the registry again when any was made, changed or removed since the last
    /// time (by another node, say): a cheap look first, a whole read only then. The changed ones are noted for the
    /// sender.
    pub async fn reload_subscriptions(&self) -> Result<(), ServiceError> {
        let fingerprint = self.store.subscriptions_fingerprint().await?;
        let mut last = self.subscriptions.fingerprint.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if last == Some(fingerprint) {
            *self.subscriptions.fingerprint.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = last.take();
            return Ok(());
        }
        let stored = self.store.subscriptions(None).await?;
        let changed: Vec<String> = {
            let mut registry = self.subscriptions.registry_mut();
            let fresh = super::Registry::from_stored(stored);
            let mut changed: Vec<String> = fresh
                .by_id
                .iter()
                .filter(|(id, live)| {
                    registry.get(id).is_none_or(|old| {
                        old.stored.updated_ms != live.stored.updated_ms || old.stored.status != live.stored.status
                    })
                })
                .map(|(id, _)| id.clone())
                .collect();
            changed.extend(registry.by_id.keys().filter(|id| fresh.get(id).is_none()).cloned());
            *registry = fresh;
            changed
        };
        self.subscriptions.refresh_classic_types();
        *self.subscriptions.fingerprint.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(fingerprint);
        self.subscriptions.note_changed(changed);
        Ok(())
    }

    /// Subscriptions made, changed or removed since the last call (for the sender to wake their workers).
    pub fn take_changed_subscriptions(&self) -> Vec<String> {
        let mut changed =
            std::mem::take(&mut *self.subscriptions.changed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        changed.sort();
        changed.dedup();
        changed
    }

    /// How the principal of an API client is found as configured now (given by the binary).
    pub fn set_subscriber_principals(&self, resolver: super::PrincipalResolver) {
        *self.subscriptions.resolver.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(resolver);
    }

    /// Takes the right to send notifications when no other node holds it (`None`: another node sends them).
    pub async fn lead_notifications(&self) -> Result<Option<kmcr_store::Leadership>, ServiceError> {
        Ok(self.store.try_lead_notifications().await?)
    }

    /// When a failed delivery is tried again.
    pub fn subscription_retry_policy(&self) -> kmcr_events::RetryPolicy {
        self.subscriptions.settings().retry
    }

    /// Every subscription in force (for the sender's workers).
    pub fn subscription_ids(&self) -> Vec<String> {
        self.subscriptions.registry().ids()
    }

    /// Subscriptions with events not yet delivered (after a restart, the sender starts with these).
    pub async fn subscriptions_with_undelivered(&self) -> Result<Vec<String>, ServiceError> {
        Ok(self.store.subscriptions_with_undelivered().await?)
    }

    pub async fn create_subscription(&self, context: &RequestContext, resource: Value) -> Result<Value, ServiceError> {
        let mut record = audit::record(context, "subscription-create");
        record.resources = vec!["Subscription".into()];
        if let Err(error) = self.checked_subscription(context, &resource).await {
            return Err(self.refuse(&mut record, error.to_string(), error).await);
        }
        let id = crate::new_resource_id();
        let now_ms = Instant::now().unix_ms;
        let mut body = resource;
        body["id"] = json!(id.as_str());
        body["status"] = json!("requested");
        if let Some(object) = body.as_object_mut() {
            object.remove("error");
        }
        let ods_code = context.principal.ods_code_text().to_string();
        let stored = StoredSubscription::requested(
            id.as_str(),
            context.principal.id(),
            &ods_code,
            false,
            body.to_string(),
            now_ms,
        );
        self.store.change_subscriptions(SubscriptionChange::Put(stored.clone())).await?;
        self.reload_subscription(id.as_str()).await?;
        record.resources = vec![format!("Subscription/{id}")];
        // A standing subscription to a person's events is part of who looks at their record.
        if let Some(patient_id) =
            parse_subscription(&body, &CLASSIC_TYPES).ok().as_ref().and_then(|spec| spec.patient_id())
        {
            record.patients = vec![format!("Patient/{patient_id}")];
            record.persons =
                self.identity.person_of(patient_id).map(|person| format!("Person/{person}")).into_iter().collect();
        }
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(with_delivery(&stored))
    }

    /// Subscriptions are an organisation's system's: a person is refused, and a system needs the scope for the
    /// interaction on Subscription and an organisation party to the agreement.
    fn check_subscription_caller(
        &self,
        context: &RequestContext,
        interaction: Interaction,
    ) -> Result<(), ServiceError> {
        if !matches!(context.principal, Principal::System(_)) {
            return Err(ServiceError::Forbidden(
                "subscriptions are made by an organisation's system (client credentials), not by a person".into(),
            ));
        }
        let access = self.access();
        let rules = access.rules(Instant::now().unix_ms);
        let subscription_type = ResourceType::parse("Subscription").expect("an R4 type");
        let verdict = kmcr_access::decide_interaction(rules, &context.principal, interaction, subscription_type);
        if verdict.permitted { Ok(()) } else { Err(ServiceError::Forbidden(verdict.reason)) }
    }

    /// A subscription's asking checked for the caller: a system of an organisation party to the agreement, with the
    /// scopes to make it and to read what its notifications name, and leave to read the person it names.
    async fn checked_subscription(&self, context: &RequestContext, resource: &Value) -> Result<(), ServiceError> {
        self.check_subscription_caller(context, Interaction::Create)?;
        let access = self.access();
        let rules = access.rules(Instant::now().unix_ms);
        let spec = parse_subscription(resource, &CLASSIC_TYPES)
            .map_err(|error| ServiceError::Unprocessable(error.to_string()))?;
        if let Some(prefixes) = &self.subscriptions.settings().endpoint_prefixes {
            let ods_code = context.principal.ods_code_text();
            let registered = prefixes.get(ods_code).map(Vec::as_slice).unwrap_or_default();
            if !registered.iter().any(|prefix| spec.endpoint.starts_with(prefix.as_str())) {
                return Err(ServiceError::Forbidden(format!(
                    "Subscription.channel.endpoint: not one of the notification endpoints registered for {ods_code} \
                     (the region registers them: notification_endpoints)"
                )));
            }
        }
        if let Some(end) = &spec.end
            && super::deliver::end_passed(end, Instant::now().unix_ms)
        {
            return Err(ServiceError::Unprocessable(format!("Subscription.end: {end} has passed")));
        }
        let focus_type = match &spec.what {
            kmcr_events::What::Topic { topic, .. } => topic.resource_type(),
            kmcr_events::What::Criteria(search) => ResourceType::parse(&search.resource_type).map_err(|_| {
                ServiceError::Unprocessable(format!("{} is not an R4 resource type", search.resource_type))
            })?,
        };
        let readable = kmcr_access::decide_interaction(rules, &context.principal, Interaction::Read, focus_type);
        if !readable.permitted {
            return Err(ServiceError::Forbidden(format!(
                "a subscription's notifications name {focus_type} resources, which this client may not read: {}",
                readable.reason
            )));
        }
        if let Some(patient_id) = spec.patient_id() {
            let patient = kmcr_fhir::ResourceId::parse(patient_id)
                .map_err(|_| ServiceError::Unprocessable(format!("Patient/{patient_id} is not a resource id")))?;
            let exists = self.store.read(ResourceType::PATIENT, &patient).await?.is_some_and(|stored| !stored.deleted);
            let person = self.person_access(context, patient_id).await?;
            // The record named must be one the client may read (not only the person: a system with no relationship
            // is permitted its own organisation's records alone).
            if !exists || !person.decision.permitted || !person.visible_patient_ids.iter().any(|id| id == patient_id) {
                return Err(ServiceError::Unprocessable(format!(
                    "Patient/{patient_id} is not a patient this client may read"
                )));
            }
        }
        Ok(())
    }

    /// The caller's own subscription (another's is not found); a refusal is recorded in `record` and audited.
    async fn own_subscription(
        &self,
        context: &RequestContext,
        subscription_id: &str,
        interaction: Interaction,
        record: &mut AuditRecord,
    ) -> Result<StoredSubscription, ServiceError> {
        let found = async {
            self.check_subscription_caller(context, interaction)?;
            let stored = self.store.subscriptions(Some(subscription_id)).await?.into_iter().next();
            stored.filter(|stored| owned_by(stored, context)).ok_or(ServiceError::NotFound)
        };
        match found.await {
            Ok(stored) => Ok(stored),
            Err(error) => Err(self.refuse(record, error.to_string(), error).await),
        }
    }

    pub async fn read_subscription(
        &self,
        context: &RequestContext,
        subscription_id: &str,
    ) -> Result<Value, ServiceError> {
        let mut record = audit::record(context, "subscription-read");
        record.resources = vec![format!("Subscription/{subscription_id}")];
        let stored = self.own_subscription(context, subscription_id, Interaction::Read, &mut record).await?;
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(with_delivery(&stored))
    }

    /// The caller's subscriptions.
    pub async fn list_subscriptions(&self, context: &RequestContext) -> Result<Vec<Value>, ServiceError> {
        let mut record = audit::record(context, "subscription-search");
        record.resources = vec!["Subscription".into()];
        if let Err(error) = self.check_subscription_caller(context, Interaction::Search) {
            return Err(self.refuse(&mut record, error.to_string(), error).await);
        }
        let own: Vec<Value> = self
            .store
            .subscriptions(None)
            .await?
            .iter()
            .filter(|stored| owned_by(stored, context))
            .map(with_delivery)
            .collect();
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(own)
    }

    /// `PUT Subscription/{id}`: what it asks for, and its status: `off` stops it, `requested` (or any change of what
    /// it asks for) starts it again with a handshake.
    pub async fn update_subscription(
        &self,
        context: &RequestContext,
        subscription_id: &str,
        resource: Value,
    ) -> Result<Value, ServiceError> {
        let mut record = audit::record(context, "subscription-update");
        record.resources = vec![format!("Subscription/{subscription_id}")];
        let existing = self.own_subscription(context, subscription_id, Interaction::Update, &mut record).await?;
        if let Err(error) = self.checked_subscription(context, &resource).await {
            return Err(self.refuse(&mut record, error.to_string(), error).await);
        }
        let asked = resource["status"].as_str().and_then(SubscriptionStatus::parse);
        let status = match asked {
            Some(SubscriptionStatus::Off) => "off",
            _ => "requested",
        };
        let mut body = resource;
        body["id"] = json!(subscription_id);
        body["status"] = json!(status);
        if let Some(object) = body.as_object_mut() {
            object.remove("error");
        }
        let now_ms = Instant::now().unix_ms;
        let stored = StoredSubscription {
            body: body.to_string(),
            status: status.into(),
            error: None,
            updated_ms: now_ms,
            ..existing
        };
        self.store.change_subscriptions(SubscriptionChange::Put(stored.clone())).await?;
        self.reload_subscription(subscription_id).await?;
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(with_delivery(&stored))
    }

    pub async fn delete_subscription(
        &self,
        context: &RequestContext,
        subscription_id: &str,
    ) -> Result<(), ServiceError> {
        let mut record = audit::record(context, "subscription-delete");
        record.resources = vec![format!("Subscription/{subscription_id}")];
        self.own_subscription(context, subscription_id, Interaction::Delete, &mut record).await?;
        let change = SubscriptionChange::Remove { subscription_id: subscription_id.to_string() };
        self.store.change_subscriptions(change).await?;
        self.reload_subscription(subscription_id).await?;
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(())
    }

    /// An operation on a subscription that KMCR does not offer: refused, and audited like any other call.
    pub async fn unknown_subscription_operation(
        &self,
        context: &RequestContext,
        subscription_id: &str,
        operation: &str,
    ) -> ServiceError {
        let mut record = audit::record(context, "subscription-operation");
        record.resources = vec![format!("Subscription/{subscription_id}")];
        let error = match self.check_subscription_caller(context, Interaction::Read) {
            Err(error) => error,
            Ok(()) => ServiceError::Unprocessable(format!(
                "{operation} is not an operation on Subscription ($status and $events are)"
            )),
        };
        self.refuse(&mut record, error.to_string(), error).await
    }

    /// `$status`: the status Parameters of each of the caller's subscriptions named.
    pub async fn subscription_status(
        &self,
        context: &RequestContext,
        subscription_ids: &[String],
    ) -> Result<Vec<Notification>, ServiceError> {
        let mut record = audit::record(context, "subscription-status");
        record.resources = subscription_ids.iter().map(|id| format!("Subscription/{id}")).collect();
        if let Err(error) = self.check_subscription_caller(context, Interaction::Read) {
            return Err(self.refuse(&mut record, error.to_string(), error).await);
        }
        if subscription_ids.is_empty() {
            let error = ServiceError::Invalid("$status at the type level names the subscriptions: id=".into());
            return Err(self.refuse(&mut record, error.to_string(), error).await);
        }
        let mut statuses = Vec::new();
        for id in subscription_ids {
            let stored = self.own_subscription(context, id, Interaction::Read, &mut record).await?;
            let Some(live) = super::Registry::live(stored.clone()) else { continue };
            statuses.push(Notification {
                kind: NotificationKind::QueryStatus,
                status: self.status_snapshot(&live, &stored),
                events: Vec::new(),
            });
        }
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(statuses)
    }

    /// `$events`: the subscription's events in a range of numbers, as the subscriber may have them now (decided and
    /// audited as the notifications were).
    pub async fn subscription_events(
        &self,
        context: &RequestContext,
        subscription_id: &str,
        query: EventsQuery,
    ) -> Result<Notification, ServiceError> {
        let mut record = audit::record(context, "subscription-events");
        record.resources = vec![format!("Subscription/{subscription_id}")];
        let stored = self.own_subscription(context, subscription_id, Interaction::Read, &mut record).await?;
        let Some(live) = super::Registry::live(stored.clone()) else {
            return Err(self
                .refuse(&mut record, "the subscription no longer reads".into(), ServiceError::NotFound)
                .await);
        };
        let from_number = query.since.unwrap_or(1).max(1);
        let to_number = query.until.unwrap_or(i64::MAX);
        let range = EventRange { from_number, to_number, only_undelivered: false, limit: MAX_EVENTS_PER_QUERY };
        let mut events = self.store.subscription_events(subscription_id, range).await?;
        if let Some(content) = query.content {
            for event in &mut events {
                let given = Payload::parse(&event.payload).unwrap_or(Payload::Empty);
                event.payload = given.min(content).as_str().to_string();
            }
        }
        let decided = self.decided_events(subscription_id, &live, &stored, events, "subscription-events").await?;
        Ok(Notification {
            kind: NotificationKind::QueryEvent,
            status: self.status_snapshot(&live, &stored),
            events: decided,
        })
    }
}

/// Whether the caller is the API client, of the same organisation, that made the subscription (one made from the
/// configuration is no client's).
fn owned_by(stored: &StoredSubscription, context: &RequestContext) -> bool {
    !stored.configured
        && stored.owner_client_id == context.principal.id()
        && context.principal.ods_code().is_some_and(|code| code.as_str() == stored.owner_ods_code)
}

/// The Subscription as stored, with its status and error as they stand and KMCR's delivery extension.
fn with_delivery(stored: &StoredSubscription) -> Value {
    let mut body: Value =
        serde_json::from_str(&stored.body).unwrap_or_else(|_| json!({"resourceType": "Subscription"}));
    body["status"] = json!(stored.status);
    match &stored.error {
        Some(error) => body["error"] = json!(error),
        None => {
            if let Some(object) = body.as_object_mut() {
                object.remove("error");
            }
        }
    }
    let mut parts = vec![
        json!({"url": "events-since-subscription-start", "valueString": stored.events_since_start.to_string()}),
        json!({"url": "sent", "valueString": stored.n_sent.to_string()}),
        json!({"url": "failed", "valueString": stored.n_failed.to_string()}),
    ];
    if let Some(last) = stored.last_delivered_ms {
        parts.push(json!({"url": "last-delivered", "valueInstant": Instant::from_unix_ms(last).to_string()}));
    }
    let extensions = body
        .as_object_mut()
        .map(|object| object.entry("extension").or_insert_with(|| json!([])))
        .and_then(Value::as_array_mut);
    if let Some(extensions) = extensions {
        extensions.retain(|extension| extension["url"] != DELIVERY_EXTENSION);
        extensions.push(json!({"url": DELIVERY_EXTENSION, "extension": parts}));
    }
    body
}

fn regional_id(regional: &RegionalSubscription) -> String {
    format!("regional-{}-{}", regional.ods_code.as_str().to_ascii_lowercase(), regional.name)
}

/// The Backport IG Subscription a configured regional event stands for.
fn regional_subscription(regional: &RegionalSubscription, _base: &str) -> Value {
    let backport = kmcr_events::subscription::BACKPORT;
    let mut filter = format!("{}?route={}", regional.topic.resource_type(), regional.route.as_str());
    if !regional.classes.is_empty() && regional.topic.filters().iter().any(|(name, _)| *name == "class") {
        filter.push_str(&format!("&class={}", regional.classes.join(",")));
    }
    let mut channel_extensions = vec![];
    if let Some(period) = regional.heartbeat_period_s {
        channel_extensions
            .push(json!({"url": format!("{backport}backport-heartbeat-period"), "valueUnsignedInt": period}));
    }
    let headers: Vec<String> = regional.headers.iter().map(|(name, value)| format!("{name}: {value}")).collect();
    json!({
        "resourceType": "Subscription",
        "id": regional_id(regional),
        "meta": {"profile": [kmcr_events::subscription::BACKPORT_SUBSCRIPTION_PROFILE]},
        "status": "requested",
        "reason": format!("Regional event '{}' for {} (configuration)", regional.name, regional.ods_code),
        "criteria": regional.topic.canonical(),
        "_criteria": {"extension": [{"url": format!("{backport}backport-filter-criteria"), "valueString": filter}]},
        "channel": {
            "extension": channel_extensions,
            "type": "rest-hook",
            "endpoint": regional.endpoint,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": format!("{backport}backport-payload-content"), "valueCode": regional.payload.as_str()}]},
            "header": headers,
        },
    })
}
