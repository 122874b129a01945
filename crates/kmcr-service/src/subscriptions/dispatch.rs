//! Hands the events in the outbox to the subscriptions they concern. Each candidate is decided for its subscriber as a
//! read of the focus would be (scopes, the organisation's relationship with the person, objections, sealed items):
//! one that could not read the focus is not given the event at all; one from whom the focus is withheld gets its id
//! alone (as reading it by id would answer `suppressed`). Events are numbered per subscription in the transaction
//! that takes them out of the outbox, so a crash neither loses nor renumbers one.

use std::collections::HashMap;
use std::sync::Arc;

use kmcr_access::{Interaction, ItemFacts, ItemVerdict, PersonFacts, Principal, Sensitivity};
use kmcr_events::conditions::{encounter_class, is_safeguarding_flag};
use kmcr_events::{Payload, Route, Topic, What};
use kmcr_fhir::{OdsCode, ResourceId, ResourceType};
use kmcr_fhir_search::{SearchParamRegistry, parse_search};
use kmcr_store::{
    NewSubscriptionEvent, OutboxEvent, PageRequest, RowFilter, RowRestriction, StoredResource, SubscriptionChange,
    SubscriptionOutcome,
};
use serde_json::Value;

use super::registry::Live;
use crate::access::PersonAccess;
use crate::{RequestContext, Service, ServiceError};

/// Outbox rows read per round.
pub const DISPATCH_BATCH: usize = 500;

/// How long an event about a Patient this node's person index does not know yet waits in the outbox (written through
/// another node, whose link this node follows within a second, or linked just after its write): handed out without
/// its person, it would miss the organisations that know the person through other records.
const WAIT_FOR_PERSON_MS: i64 = 10_000;

impl Service {
    /// Waits until a write may have fired events, or `timeout` passes.
    pub async fn events_written(&self, timeout: std::time::Duration) {
        let _ = tokio::time::timeout(timeout, self.subscriptions.events_written.notified()).await;
    }

    /// Hands out up to [`DISPATCH_BATCH`] events from the outbox; returns the subscriptions given events (each once).
    pub async fn dispatch_events(&self) -> Result<Vec<String>, ServiceError> {
        let outbox = self.store.event_outbox(DISPATCH_BATCH).await?;
        if outbox.is_empty() {
            return Ok(Vec::new());
        }
        // A subscription made on another node a second ago hears of these events too.
        let due = {
            let mut checked =
                self.subscriptions.fingerprint_checked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let due = checked.is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(1));
            if due {
                *checked = Some(std::time::Instant::now());
            }
            due
        };
        if due {
            self.reload_subscriptions().await?;
        }
        let now_ms = kmcr_fhir::Instant::now().unix_ms;
        let mut decisions = DecisionCache::default();
        let mut events = Vec::new();
        let mut taken = Vec::with_capacity(outbox.len());
        for event in &outbox {
            if let Some(patient_id) = &event.patient_id
                && self.identity.person_of(patient_id).is_none()
                && now_ms - event.recorded_ms < WAIT_FOR_PERSON_MS
            {
                continue;
            }
            taken.push(event.seq);
            let Some(topic) = Topic::from_code(&event.topic) else { continue };
            let patient_ids = match &event.patient_id {
                Some(patient_id) => self.identity.linked_patients(patient_id),
                None => Vec::new(),
            };
            let candidates = self.subscriptions.registry().candidates(topic, &event.resource_type, &patient_ids);
            if candidates.is_empty() {
                continue;
            }
            let Some(focus) = self.focus_of(event).await? else { continue };
            for live in candidates {
                if let Some(payload) = self.event_payload(&live, event, &focus, &mut decisions).await? {
                    events.push(NewSubscriptionEvent::of(&live.stored.subscription_id, event, payload.as_str()));
                }
            }
        }
        if taken.is_empty() {
            return Ok(Vec::new());
        }
        let outcome =
            self.store.change_subscriptions(SubscriptionChange::Dispatch { outbox_seqs: taken, events }).await?;
        let SubscriptionOutcome::Numbered(numbered) = outcome else { return Ok(Vec::new()) };
        let mut given: Vec<String> = numbered.into_iter().map(|(subscription_id, _)| subscription_id).collect();
        given.sort();
        given.dedup();
        Ok(given)
    }

    /// The version that fired the event (gone when the resource was since purged).
    async fn focus_of(&self, event: &OutboxEvent) -> Result<Option<StoredResource>, ServiceError> {
        let (Ok(resource_type), Ok(id)) =
            (ResourceType::parse(&event.resource_type), ResourceId::parse(&event.resource_id))
        else {
            return Ok(None);
        };
        Ok(self.store.read_version(resource_type, &id, event.version_id).await?.filter(|focus| focus.json.is_some()))
    }

    /// What of the focus a subscription is given (`None`: the event is not for it).
    async fn event_payload(
        &self,
        live: &Arc<Live>,
        event: &OutboxEvent,
        focus: &StoredResource,
        decisions: &mut DecisionCache,
    ) -> Result<Option<Payload>, ServiceError> {
        // A subscription hears of what happens after it was made, not of what was waiting in the outbox.
        if event.recorded_ms < live.stored.created_ms {
            return Ok(None);
        }
        let json: Value = focus.json.as_deref().and_then(|json| serde_json::from_str(json).ok()).unwrap_or_default();
        if let Some(classes) = live.spec.classes()
            && !encounter_class(&json).is_some_and(|class| classes.iter().any(|wanted| wanted == class))
        {
            return Ok(None);
        }
        let resolver = self.subscriptions.resolver();
        let Some(principal) = super::subscriber_principal(resolver.as_ref(), &live.stored) else { return Ok(None) };
        let context = RequestContext {
            principal: principal.clone(),
            request_id: format!("subscription-{}", live.stored.subscription_id),
        };
        let verdict = self.verdict_for(&context, focus, decisions).await?;
        let Some((verdict, decided)) = verdict else { return Ok(None) };
        if let Some(route) = live.spec.route()
            && !self.on_route(&context, route, decided.as_ref(), &principal).await?
        {
            return Ok(None);
        }
        if let What::Criteria(search) = &live.spec.what
            && !self.criteria_match(&context, search, focus, decided.as_ref()).await?
        {
            return Ok(None);
        }
        let asked = live.spec.payload_asked();
        Ok(match verdict {
            ItemVerdict::Visible => Some(asked),
            ItemVerdict::Withheld(_) => Some(asked.min(Payload::IdOnly)),
            ItemVerdict::OutOfView => None,
        })
    }

    /// The subscriber's verdict on the focus, with the decision on its person (none for data about no patient).
    pub(crate) async fn verdict_for(
        &self,
        context: &RequestContext,
        focus: &StoredResource,
        decisions: &mut DecisionCache,
    ) -> Result<Option<(ItemVerdict, Option<Arc<(PersonAccess, PersonFacts)>>)>, ServiceError> {
        let access = self.access();
        let rules = access.rules(kmcr_fhir::Instant::now().unix_ms);
        if !kmcr_access::decide_interaction(rules, &context.principal, Interaction::Read, focus.resource_type).permitted
        {
            return Ok(None);
        }
        let Some(patient_id) = &focus.patient_id else {
            // As a read by id decides: patient data that names no known patient is its sender's alone.
            let orphan = crate::access::is_patient_data(focus.resource_type)
                && !crate::person_view::is_person(focus.resource_type);
            if orphan && context.principal.ods_code() != Some(&focus.source_ods_code) {
                return Ok(None);
            }
            return Ok(Some((ItemVerdict::Visible, None)));
        };
        let key = (context.principal.id().to_string(), patient_id.as_str().to_string());
        let decided = match decisions.0.get(&key) {
            Some(decided) => decided.clone(),
            None => {
                let patient_ids = self.identity.linked_patients(patient_id.as_str());
                let person_id = self.identity.person_of(patient_id.as_str());
                let decided = Arc::new(self.person_access_with_facts(context, person_id, patient_ids).await?);
                decisions.0.insert(key, decided.clone());
                decided
            }
        };
        if !decided.0.decision.permitted {
            return Ok(None);
        }
        let item = ItemFacts {
            resource_type: focus.resource_type,
            source: &focus.source_ods_code,
            sensitivity: Sensitivity::from_bits(focus.sensitivity),
        };
        Ok(Some((decided.0.decision.view.item_verdict(item), Some(decided))))
    }

    /// Whether the person is one the subscriber's organisation receives by `route`.
    async fn on_route(
        &self,
        context: &RequestContext,
        route: Route,
        decided: Option<&Arc<(PersonAccess, PersonFacts)>>,
        principal: &Principal,
    ) -> Result<bool, ServiceError> {
        let (Some(decided), Some(organisation)) = (decided, principal.ods_code()) else { return Ok(false) };
        let (access, facts) = (&decided.0, &decided.1);
        let now_ms = kmcr_fhir::Instant::now().unix_ms;
        let open = |end_ms: Option<i64>| end_ms.is_none_or(|end| end > now_ms);
        let has_contact = |kinds: &[kmcr_access::ContactKind]| {
            facts.contacts.iter().any(|contact| {
                contact.organisation == *organisation && kinds.contains(&contact.kind) && open(contact.end_ms)
            })
        };
        use kmcr_access::ContactKind;
        Ok(match route {
            Route::RegisteredPractice => has_contact(&[ContactKind::Registration]),
            Route::Caseload => has_contact(&[ContactKind::EpisodeOfCare, ContactKind::Referral, ContactKind::CareTeam]),
            Route::CareTeam => has_contact(&[ContactKind::CareTeam]),
            Route::ResponsibleLocalAuthority => self.raised_safeguarding_flag(context, access, organisation).await?,
        })
    }

    /// Whether `organisation` raised an active child protection or looked-after flag on the person (read as the
    /// subscriber may: its own flags).
    async fn raised_safeguarding_flag(
        &self,
        context: &RequestContext,
        access: &PersonAccess,
        organisation: &OdsCode,
    ) -> Result<bool, ServiceError> {
        let patients: Vec<String> = access.patient_ids.iter().map(|id| format!("Patient/{id}")).collect();
        // R4 has no search by a Flag's status: every flag of the person is read, and the active ones judged.
        let query = vec![("patient".to_string(), patients.join(","))];
        let flag_type = ResourceType::parse("Flag").expect("an R4 type");
        let request = parse_search(SearchParamRegistry::official_r4(), flag_type, &query, false, 100)?;
        let filter = RowFilter::Restricted(RowRestriction {
            persons: vec![access.rows()],
            own_source: context.principal.ods_code().map(|code| code.to_string()),
            ..Default::default()
        });
        let page = PageRequest { count: 100, cursor: None, want_total: false };
        let found = self.store.search(&request, &page, &filter).await?;
        Ok(found.matches.iter().any(|flag| {
            flag.source_ods_code == *organisation
                && flag
                    .json
                    .as_deref()
                    .and_then(|json| serde_json::from_str::<Value>(json).ok())
                    .is_some_and(|flag| flag["status"] == "active" && is_child_protection_flag(&flag))
        }))
    }

    /// Whether the focus answers the classic criteria search, searched as the subscriber may.
    async fn criteria_match(
        &self,
        context: &RequestContext,
        search: &kmcr_events::CriteriaSearch,
        focus: &StoredResource,
        decided: Option<&Arc<(PersonAccess, PersonFacts)>>,
    ) -> Result<bool, ServiceError> {
        if search.resource_type != focus.resource_type.as_str() {
            return Ok(false);
        }
        // The search judges the data as it is now, so only the version that is current is judged by it; a version
        // already replaced is left to the event of the version that replaced it (which every change fires).
        let current = self.store.read(focus.resource_type, &focus.id).await?;
        if current.is_none_or(|current| current.version_id != focus.version_id) {
            return Ok(false);
        }
        let Some(decided) = decided else { return Ok(false) };
        if !decided.0.patient_ids.contains(&search.patient_id) {
            return Ok(false);
        }
        let patients: Vec<String> = decided.0.patient_ids.iter().map(|id| format!("Patient/{id}")).collect();
        let mut query: Vec<(String, String)> = search
            .query
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "patient" | "subject" | "_id"))
            .cloned()
            .collect();
        let patient_param = if focus.resource_type == ResourceType::PATIENT { "_id" } else { "patient" };
        if focus.resource_type == ResourceType::PATIENT {
            query.push((patient_param.into(), focus.id.as_str().to_string()));
        } else {
            query.push((patient_param.into(), patients.join(",")));
            query.push(("_id".into(), focus.id.as_str().to_string()));
        }
        let Ok(request) = parse_search(SearchParamRegistry::official_r4(), focus.resource_type, &query, false, 1)
        else {
            return Ok(false);
        };
        let filter = RowFilter::Restricted(RowRestriction {
            persons: vec![decided.0.rows()],
            own_source: context.principal.ods_code().map(|code| code.to_string()),
            ..Default::default()
        });
        let page = PageRequest { count: 1, cursor: None, want_total: false };
        Ok(!self.store.search(&request, &page, &filter).await?.matches.is_empty())
    }
}

/// A child protection plan or looked-after child flag (SNOMED CT), or one NHS England's CP-IS sent.
fn is_child_protection_flag(flag: &Value) -> bool {
    let codes = |concept: &Value| -> Vec<String> {
        concept["coding"]
            .as_array()
            .map(|codings| codings.iter().filter_map(|coding| coding["code"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let by_code =
        codes(&flag["code"]).iter().any(|code| ["342191000000101", "764841000000100"].contains(&code.as_str()));
    let by_category = flag["category"]
        .as_array()
        .is_some_and(|categories| categories.iter().any(|category| codes(category).iter().any(|code| code == "CP-IS")));
    is_safeguarding_flag(flag) && (by_code || by_category)
}

/// Decisions taken during one round, by subscriber and patient: many subscriptions of one organisation share one.
#[derive(Default)]
pub(crate) struct DecisionCache(HashMap<(String, String), Arc<(PersonAccess, PersonFacts)>>);
