//! Where the service meets the access decision: the rules in force, the facts about a person gathered from the store,
//! the decision turned into the row filter the store applies, and paging cursors bound to the caller who asked.

use std::collections::BTreeSet;

use hmac::{Hmac, Mac};
use kmcr_access::{
    AccessGrant, AccessSettings, CareContact, ClinicalAccess, CodeRules, ContactKind, GrantKind, ItemFacts,
    ItemVerdict, OrganisationKind, OrganisationRegistry, PersonDecision, PersonFacts, Policy, RecordView, Rules,
    SensitiveAccess, Sensitivity, SourceRecord, decide_person, objection_from_consent,
};
use kmcr_fhir::{OdsCode, ResourceType};
use kmcr_store::{PersonRecordFacts, PersonRows, RowSensitive, RowTypes, RowView, RowWithholding};
use sha2::Sha256;

use crate::{RequestContext, Service, ServiceError};

/// Everything about access that a region configures.
#[derive(Clone, Debug)]
pub struct AccessPolicy {
    pub registry: OrganisationRegistry,
    pub policies: Vec<Policy>,
    pub settings: AccessSettings,
    pub code_rules: CodeRules,
    /// Binds paging links to the caller they were made for; nodes sharing a database share it.
    pub paging_key: Vec<u8>,
}

impl AccessPolicy {
    pub fn rules(&self, now_ms: i64) -> Rules<'_> {
        Rules { registry: &self.registry, policies: &self.policies, settings: &self.settings, now_ms }
    }
}

/// One person as the access decision saw them for one request.
#[derive(Clone, Debug)]
pub struct PersonAccess {
    pub person_id: Option<String>,
    /// Every source Patient of the person (the one asked for first).
    pub patient_ids: Vec<String>,
    pub decision: PersonDecision,
    /// Items of the person's record within the caller's view but withheld, and why (reason codes).
    pub n_withheld: u32,
    pub withheld_reasons: BTreeSet<&'static str>,
    /// The reasons users stated in the grants the decision relied on.
    pub stated_reasons: Vec<String>,
    /// The person's source Patients whose demographics the caller may see (what `Person.link` may show).
    pub visible_patient_ids: Vec<String>,
}

impl PersonAccess {
    /// The rows of this person the store may return.
    pub fn rows(&self) -> PersonRows {
        PersonRows { patient_ids: self.patient_ids.clone(), view: row_view(&self.decision.view) }
    }

    /// A sentence for a `suppressed` issue: what kinds of withholding apply, never what was withheld.
    pub fn withheld_notice(&self) -> Option<String> {
        if self.n_withheld == 0 {
            return None;
        }
        let reasons: Vec<&str> = self.withheld_reasons.iter().copied().collect();
        Some(format!(
            "Some of this person's record is withheld from you ({}). Items withheld are not listed.",
            reasons.join(", ")
        ))
    }
}

impl Service {
    /// The person that `patient_id` belongs to, decided for the caller at this instant.
    pub(crate) async fn person_access(
        &self,
        context: &RequestContext,
        patient_id: &str,
    ) -> Result<PersonAccess, ServiceError> {
        let mut patient_ids = vec![patient_id.to_string()];
        patient_ids.extend(self.identity.linked_patients(patient_id).into_iter().filter(|id| id != patient_id));
        let person_id = self.identity.person_of(patient_id);
        self.person_access_of(context, person_id, patient_ids).await
    }

    /// The person made of exactly these source Patients (a `Person` resource's links, as stored), decided for the
    /// caller at this instant.
    pub(crate) async fn person_access_of(
        &self,
        context: &RequestContext,
        person_id: Option<String>,
        patient_ids: Vec<String>,
    ) -> Result<PersonAccess, ServiceError> {
        Ok(self.person_access_with_facts(context, person_id, patient_ids).await?.0)
    }

    /// [`Service::person_access_of`], with the facts the decision was taken on (a notification's route reads them).
    pub(crate) async fn person_access_with_facts(
        &self,
        context: &RequestContext,
        person_id: Option<String>,
        patient_ids: Vec<String>,
    ) -> Result<(PersonAccess, PersonFacts), ServiceError> {
        let now_ms = kmcr_fhir::Instant::now().unix_ms;
        let stored = self.store.person_record_facts(&patient_ids, now_ms).await?;
        let facts = person_facts(person_id.clone().unwrap_or_default(), &stored, &self.access().registry);
        let access = self.access();
        let rules = access.rules(now_ms);
        let decision = decide_person(rules, &context.principal, kmcr_access::Purpose::DirectCare, &facts);
        let (n_withheld, withheld_reasons) = count_withheld(&decision.view, &stored);
        let stated_reasons = stored
            .grants
            .iter()
            .filter(|grant| decision.grants_used.contains(&grant.grant_id))
            .map(|grant| format!("{}: {}", grant.kind, grant.reason))
            .collect();
        let visible_patient_ids = stored
            .records
            .iter()
            .filter(|(_, source, sensitivity)| {
                let Ok(source) = OdsCode::parse(source) else { return false };
                let item = ItemFacts {
                    resource_type: ResourceType::PATIENT,
                    source: &source,
                    sensitivity: Sensitivity::from_bits(*sensitivity),
                };
                decision.permitted && decision.view.item_verdict(item) == ItemVerdict::Visible
            })
            .map(|(patient_id, _, _)| patient_id.clone())
            .collect();
        let access = PersonAccess {
            person_id,
            patient_ids,
            decision,
            n_withheld,
            withheld_reasons,
            stated_reasons,
            visible_patient_ids,
        };
        Ok((access, facts))
    }

    /// The caller-bound form of a paging cursor: the cursor, then a MAC over it and the caller.
    pub(crate) fn bind_cursor(&self, context: &RequestContext, cursor: &kmcr_store::Cursor) -> String {
        let token = cursor.encode();
        format!("{token}.{}", self.cursor_mac(context, &token))
    }

    /// The cursor of a paging link, if it was made for this caller; another caller's link is refused.
    pub(crate) fn unbind_cursor(
        &self,
        context: &RequestContext,
        bound: &str,
    ) -> Result<kmcr_store::Cursor, ServiceError> {
        let (token, mac) = bound.rsplit_once('.').ok_or(ServiceError::ForeignCursor)?;
        let expected = self.cursor_mac(context, token);
        let equal = expected.len() == mac.len()
            && expected.bytes().zip(mac.bytes()).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0;
        if !equal {
            return Err(ServiceError::ForeignCursor);
        }
        Ok(kmcr_store::Cursor::decode(token)?)
    }

    fn cursor_mac(&self, context: &RequestContext, token: &str) -> String {
        use base64::Engine;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.access().paging_key).expect("HMAC takes keys of any length");
        let principal = &context.principal;
        for part in [principal.kind(), principal.id(), principal.session_id().unwrap_or(""), token] {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        if let Some(role) = principal.role_profile() {
            mac.update(role.id.as_bytes());
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16])
    }
}

/// The decision's view in the form the store turns into SQL.
pub fn row_view(view: &RecordView) -> RowView {
    let other_types = match view.clinical {
        ClinicalAccess::None => RowTypes::None,
        ClinicalAccess::Detailed => RowTypes::All,
        ClinicalAccess::Medication | ClinicalAccess::Summary => {
            let mut names: Vec<&str> = kmcr_access::decide::MEDICATION_TYPES.to_vec();
            if view.clinical == ClinicalAccess::Summary {
                names.extend(kmcr_access::decide::SUMMARY_TYPES);
            }
            RowTypes::Only(names.iter().filter_map(|name| ResourceType::parse(name).ok()).collect())
        }
    };
    RowView {
        patient_type: view.demographics,
        other_types,
        only_sources: view.only_sources.as_ref().map(|sources| sources.iter().map(|code| code.to_string()).collect()),
        own_source: view.own_organisation.as_ref().map(OdsCode::to_string),
        withheld: view
            .withheld
            .iter()
            .map(|withholding| RowWithholding {
                source: withholding.source.as_ref().map(OdsCode::to_string),
                resource_types: withholding.resource_types.clone(),
                spares_patient_type: withholding.spares_patient_records(),
            })
            .collect(),
        sensitive: match &view.sensitive {
            SensitiveAccess::All => RowSensitive::All,
            SensitiveAccess::OwnOrganisation(_) => RowSensitive::OwnSourceOnly,
            SensitiveAccess::Withheld => RowSensitive::Withheld,
        },
    }
}

/// What the decision needs, from what the store gathered.
pub fn person_facts(person_id: String, stored: &PersonRecordFacts, registry: &OrganisationRegistry) -> PersonFacts {
    let mut facts = PersonFacts { person_id, ..Default::default() };
    for (patient_id, source, _) in &stored.records {
        let Ok(source) = OdsCode::parse(source) else { continue };
        // A GP practice keeps records only of the people registered with it.
        if registry.get(&source).is_some_and(|organisation| organisation.kind == OrganisationKind::GpPractice) {
            facts.contacts.push(CareContact {
                organisation: source.clone(),
                kind: ContactKind::Registration,
                start_ms: None,
                end_ms: None,
            });
        }
        facts.records.push(SourceRecord { patient_id: patient_id.clone(), source });
    }
    for practice in &stored.registered_practices {
        let Ok(organisation) = OdsCode::parse(practice) else { continue };
        facts.contacts.push(CareContact {
            organisation,
            kind: ContactKind::Registration,
            start_ms: None,
            end_ms: None,
        });
    }
    for (resource_type, organisation, start_ms, end_ms) in &stored.contacts {
        let Ok(organisation) = OdsCode::parse(organisation) else { continue };
        let kind = match resource_type.as_str() {
            "Encounter" => ContactKind::Encounter,
            "EpisodeOfCare" => ContactKind::EpisodeOfCare,
            "CareTeam" => ContactKind::CareTeam,
            _ => ContactKind::Referral,
        };
        let end_ms = end_ms.filter(|end| *end != i64::MAX);
        facts.contacts.push(CareContact { organisation, kind, start_ms: *start_ms, end_ms });
    }
    for (json, source) in &stored.consents {
        let (Ok(consent), Ok(source)) = (serde_json::from_str(json), OdsCode::parse(source)) else { continue };
        facts.objections.extend(objection_from_consent(&consent, &source));
    }
    for grant in &stored.grants {
        let Some(kind) = GrantKind::parse(&grant.kind) else { continue };
        facts.grants.push(AccessGrant {
            grant_id: grant.grant_id,
            kind,
            user_id: grant.user_id.clone(),
            role_profile_id: grant.role_profile_id.clone(),
            from_ms: grant.from_ms,
            to_ms: grant.to_ms,
        });
    }
    facts
}

/// How many of the person's items are within the view but withheld, and the kinds of reason (the whole record, not a
/// query's matches: a notice that depended on the query would tell what the query found).
fn count_withheld(view: &RecordView, stored: &PersonRecordFacts) -> (u32, BTreeSet<&'static str>) {
    let mut n_withheld = 0u32;
    let mut reasons = BTreeSet::new();
    for (resource_type, source, sensitivity, count) in &stored.item_groups {
        let Ok(source) = OdsCode::parse(source) else { continue };
        let item = ItemFacts {
            resource_type: *resource_type,
            source: &source,
            sensitivity: Sensitivity::from_bits(*sensitivity),
        };
        if let ItemVerdict::Withheld(reason) = view.item_verdict(item) {
            n_withheld = n_withheld.saturating_add(u32::try_from(*count).unwrap_or(u32::MAX));
            reasons.insert(reason);
        }
    }
    (n_withheld, reasons)
}

/// Whether resources of this type are data about a patient (in the patient compartment, or a Patient).
pub fn is_patient_data(resource_type: ResourceType) -> bool {
    resource_type == ResourceType::PATIENT || !kmcr_fhir_search::patient_compartment_params(resource_type).is_empty()
}
