//! The person index seen from outside: searches by patient reach every linked source record, `Patient/$match`, the
//! review queue and a record's link history. Each read passes the access decision and leaves an audit entry.

use kmcr_access::{Interaction, ItemFacts, ItemVerdict, Principal, Sensitivity};
use kmcr_fhir::{ResourceId, ResourceType, validate_resource};
use kmcr_mpi::{ManualDecision, MatchGrade};
use kmcr_store::{LinkHistoryEntry, Review, ReviewStatus, StoredResource};
use serde_json::Value;

use crate::{RequestContext, Service, ServiceError, audit};

/// The Patient ids that `patient=` and `subject=` (and their `:Patient` forms) name, as asked.
pub fn named_patient_ids(params: &[(String, String)]) -> Vec<String> {
    let mut ids = Vec::new();
    for (name, value) in params {
        let (base, modifier) = name.split_once(':').map_or((name.as_str(), None), |(b, m)| (b, Some(m)));
        let patient_reference = matches!(modifier, None | Some("Patient"))
            && !base.contains('.')
            && (base == "patient" || base == "subject");
        if !patient_reference {
            continue;
        }
        for element in value.split(',') {
            if let Some(id) = patient_id_of(element, base == "patient" || modifier == Some("Patient"))
                && !ids.iter().any(|known| known == id)
            {
                ids.push(id.to_string());
            }
        }
    }
    ids
}

/// `patient=`, `subject=` (and their `:Patient` forms) naming a Patient name every Patient linked to it.
pub fn expand_patient_references(
    params: &[(String, String)],
    linked: impl Fn(&str) -> Vec<String>,
) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(name, value)| {
            let (base, modifier) = name.split_once(':').map_or((name.as_str(), None), |(b, m)| (b, Some(m)));
            let patient_reference = matches!(modifier, None | Some("Patient"))
                && !base.contains('.')
                && (base == "patient" || base == "subject");
            if !patient_reference {
                return (name.clone(), value.clone());
            }
            let mut expanded: Vec<String> = Vec::new();
            for element in value.split(',') {
                let id = patient_id_of(element, base == "patient" || modifier == Some("Patient"));
                match id {
                    Some(id) => {
                        for linked_id in linked(id) {
                            let reference = format!("Patient/{linked_id}");
                            if !expanded.contains(&reference) {
                                expanded.push(reference);
                            }
                        }
                    }
                    None => expanded.push(element.to_string()),
                }
            }
            (name.clone(), expanded.join(","))
        })
        .collect()
}

/// The id in `Patient/id`, `https://.../Patient/id`, or a bare `id` where the parameter can only mean a Patient.
fn patient_id_of(reference: &str, bare_id_is_patient: bool) -> Option<&str> {
    if let Some(position) = reference.rfind("Patient/") {
        let id = &reference[position + "Patient/".len()..];
        return (!id.is_empty() && !id.contains('/')).then_some(id);
    }
    (bare_id_is_patient && ResourceId::parse(reference).is_ok()).then_some(reference)
}

/// One answer of `$match`: the best-matching record of a person, how well it matched, and why.
pub struct PatientMatch {
    pub patient: StoredResource,
    pub person_id: String,
    pub match_probability: f64,
    pub grade: MatchGrade,
    pub evidence: Value,
}

/// A Patient's person (if the index knows the Patient) and every change of it.
pub struct LinkHistory {
    pub person_id: Option<String>,
    pub entries: Vec<LinkHistoryEntry>,
}

/// A review pair with both records, side by side.
pub struct ReviewView {
    pub review: Review,
    pub first: Option<StoredResource>,
    pub second: Option<StoredResource>,
}

impl Service {
    /// `Patient/$match`: persons who may be the one `patient` describes, best first.
    pub async fn match_patients(
        &self,
        context: &RequestContext,
        patient: &Value,
        count: usize,
        only_certain_matches: bool,
    ) -> Result<Vec<PatientMatch>, ServiceError> {
        let declared = validate_resource(patient).map_err(ServiceError::from)?;
        if declared != ResourceType::PATIENT {
            return Err(ServiceError::Invalid(format!("$match takes a Patient, not a {declared}")));
        }
        let mut record = audit::record(context, "match");
        record.resources = vec!["Patient/$match".into()];
        self.check_interaction(context, Interaction::Search, &[ResourceType::PATIENT], &mut record).await?;
        let count = count.clamp(1, self.limits.max_page_size);
        let mut answers = Vec::new();
        for candidate in self.identity.search(patient, count) {
            if only_certain_matches && candidate.grade != MatchGrade::Certain {
                continue;
            }
            let Ok(id) = ResourceId::parse(&candidate.record_id) else { continue };
            let Some(stored) = self.store.read(ResourceType::PATIENT, &id).await? else { continue };
            if stored.deleted {
                continue;
            }
            // Only records the caller may see are answered: a record from a sealed source, or one the caller has no
            // view of, is left out as if it did not match.
            let access = self.person_access(context, id.as_str()).await?;
            let item = ItemFacts {
                resource_type: ResourceType::PATIENT,
                source: &stored.source_ods_code,
                sensitivity: Sensitivity::from_bits(stored.sensitivity),
            };
            if !access.decision.permitted || access.decision.view.item_verdict(item) != ItemVerdict::Visible {
                continue;
            }
            if let Some(person_id) = &access.person_id {
                record.persons.push(format!("Person/{person_id}"));
            }
            answers.push(PatientMatch {
                patient: stored,
                person_id: candidate.person_id,
                match_probability: candidate.score.match_probability,
                grade: candidate.grade,
                evidence: crate::identity::evidence_json(&candidate.score),
            });
        }
        record.patients = audit::patients(answers.iter().map(|answer| answer.patient.id.as_str()));
        record.resources.extend(record.patients.clone());
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(answers)
    }

    /// Takes in the links and decisions that other nodes serving the same database have stored, as a node on
    /// PostgreSQL does by itself every `IdentitySettings::follow_interval`; returns how many records this node's person
    /// index moved, added or took out. Reads no patient data for a caller, so asks no access decision.
    pub async fn follow_other_nodes(&self) -> Result<usize, ServiceError> {
        Ok(self.identity.catch_up(&self.store).await?)
    }

    /// Review pairs after `after_review_id`, with both records.
    pub async fn reviews(
        &self,
        context: &RequestContext,
        status: Option<ReviewStatus>,
        after_review_id: i64,
        limit: usize,
    ) -> Result<Vec<ReviewView>, ServiceError> {
        let mut record = audit::record(context, "review-list");
        self.require_data_quality(context, Interaction::Read, &mut record).await?;
        let reviews = self.store.reviews(status, after_review_id, limit.clamp(1, self.limits.max_page_size)).await?;
        let mut views = Vec::with_capacity(reviews.len());
        let mut patients = Vec::new();
        for review in reviews {
            let first = self.visible_patient(context, &review.first_patient_id).await?;
            let second = self.visible_patient(context, &review.second_patient_id).await?;
            patients.extend([
                format!("Patient/{}", review.first_patient_id),
                format!("Patient/{}", review.second_patient_id),
            ]);
            views.push(ReviewView { review, first, second });
        }
        record.patients = audit::patients(patients.iter().map(|patient| patient.trim_start_matches("Patient/")));
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(views)
    }

    /// A data-quality officer's decision on a review pair: it takes effect at once and sticks.
    pub async fn decide_review(
        &self,
        context: &RequestContext,
        review_id: i64,
        decision: ManualDecision,
    ) -> Result<Review, ServiceError> {
        let mut record = audit::record(context, "review-decide");
        record.resources = vec![format!("review/{review_id}")];
        self.require_data_quality(context, Interaction::Update, &mut record).await?;
        let review = self.store.review(review_id).await?.ok_or(ServiceError::NotFound)?;
        let actor = format!("{}@{}", context.principal.id(), context.principal.ods_code_text());
        self.identity
            .decide(&self.store, &review.first_patient_id, &review.second_patient_id, decision, &actor)
            .await?;
        record.patients = audit::patients([review.first_patient_id.as_str(), review.second_patient_id.as_str()]);
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        self.store.review(review_id).await?.ok_or(ServiceError::NotFound)
    }

    /// The Patient's person now, and every change of it, oldest first.
    pub async fn link_history(
        &self,
        context: &RequestContext,
        patient_id: &ResourceId,
    ) -> Result<LinkHistory, ServiceError> {
        let mut record = audit::record(context, "link-history");
        record.resources = vec![format!("Patient/{patient_id}")];
        self.require_data_quality(context, Interaction::Read, &mut record).await?;
        let history = self.store.link_history(patient_id.as_str()).await?;
        record.patients = audit::patients([patient_id.as_str()]);
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(LinkHistory { person_id: self.identity.person_of(patient_id.as_str()), entries: history })
    }

    /// The person index's review queue and link history are data-quality work: a system with scopes on Person, or a
    /// user whose role is a health records manager or information governance.
    async fn require_data_quality(
        &self,
        context: &RequestContext,
        interaction: Interaction,
        record: &mut kmcr_audit::AuditRecord,
    ) -> Result<(), ServiceError> {
        self.check_interaction(context, interaction, &[ResourceType::PERSON], record).await?;
        let role_allowed = match &context.principal {
            Principal::User(user) => {
                let role = &user.role_profile.job_role;
                role.code == kmcr_access::JobRole::HEALTH_RECORDS_MANAGER || role.is_information_governance()
            }
            // A system only as a configured region-wide exception (a data-quality tool), never a feed.
            Principal::System(system) => system.region_wide.is_some(),
            Principal::Patient(_) => false,
        };
        if role_allowed {
            return Ok(());
        }
        let reason = "person index reviews need a health records manager or information governance role".to_string();
        Err(self.refuse(record, reason.clone(), ServiceError::Forbidden(reason)).await)
    }

    /// A review pair's record as the caller may see it: `None` when it may not (a sealed source's, a record of an
    /// organisation that left), as if it were not there.
    async fn visible_patient(
        &self,
        context: &RequestContext,
        id: &str,
    ) -> Result<Option<StoredResource>, ServiceError> {
        let Some(stored) = self.current_patient(id).await? else { return Ok(None) };
        let access = self.person_access(context, id).await?;
        let item = ItemFacts {
            resource_type: ResourceType::PATIENT,
            source: &stored.source_ods_code,
            sensitivity: Sensitivity::from_bits(stored.sensitivity),
        };
        let visible = access.decision.permitted && access.decision.view.item_verdict(item) == ItemVerdict::Visible;
        Ok(visible.then_some(stored))
    }

    async fn current_patient(&self, id: &str) -> Result<Option<StoredResource>, ServiceError> {
        let Ok(id) = ResourceId::parse(id) else { return Ok(None) };
        Ok(self.store.read(ResourceType::PATIENT, &id).await?.filter(|stored| !stored.deleted && stored.version_id > 0))
    }
}
