//! What users declare about a person: a legitimate relationship, break-glass, a reason to see sealed items, each with
//! a stated reason and for a limited time, bound to the role profile they were made in; and the IG officer's review
//! of every break-glass use.

use kmcr_access::{Activity, GrantKind, InformationGovernanceScope, Principal, information_governance_scope};
use kmcr_fhir::{Instant, ResourceId};
use kmcr_store::{GrantChange, GrantFilter, GrantReview, StoredGrant};

use crate::{RequestContext, Service, ServiceError, audit};

/// The longest any grant lasts, whatever is asked.
const MAX_GRANT_MINUTES: i64 = 24 * 60;
/// Break-glass lasts at most this long.
const MAX_BREAK_GLASS_MINUTES: i64 = 8 * 60;

/// A user's declaration about the person a Patient belongs to.
#[derive(Clone, Debug)]
pub struct GrantRequest {
    pub kind: GrantKind,
    pub patient_id: ResourceId,
    /// Why, in the user's words (kept in the audit and shown to IG).
    pub reason: String,
    pub minutes: i64,
}

/// A grant as made.
pub type DeclaredGrant = StoredGrant;

impl Service {
    /// Declares a relationship, break-glass or a reason for sealed items; refused (and audited) when the role profile
    /// may not.
    pub async fn declare(
        &self,
        context: &RequestContext,
        request: GrantRequest,
    ) -> Result<DeclaredGrant, ServiceError> {
        let mut record = audit::record(context, &format!("declare-{}", request.kind.as_str()));
        record.patients = audit::patients([request.patient_id.as_str()]);
        record.stated_reason = Some(request.reason.clone());
        let Principal::User(user) = &context.principal else {
            let reason = "only a signed-in user in a role profile declares access".to_string();
            return Err(self.refuse(&mut record, reason.clone(), ServiceError::Forbidden(reason)).await);
        };
        let role = &user.role_profile;
        if !self.access().registry.is_party(&role.ods_code) {
            let reason = format!("{} is not party to the sharing agreement", role.ods_code);
            return Err(self.refuse(&mut record, reason.clone(), ServiceError::Forbidden(reason)).await);
        }
        let reason_text = request.reason.trim();
        if reason_text.chars().count() < 10 {
            let error = ServiceError::Invalid("state the reason in a sentence (at least 10 characters)".into());
            return Err(self.refuse(&mut record, "no reason stated".into(), error).await);
        }
        let views_records =
            [Activity::VIEW_DETAILED_HEALTH_RECORDS, Activity::VIEW_SUMMARY_RECORDS, Activity::VIEW_PATIENT_MEDICATION]
                .into_iter()
                .any(|activity| role.activities.has(activity));
        let required = match request.kind {
            GrantKind::BreakGlass => Some(Activity::EMERGENCY_ACCESS),
            GrantKind::SensitiveAccess => Some(Activity::ACCESS_SENSITIVE_FLAGGED_RECORDS),
            // A relationship opens only what the role may view: a role that views no records has none to declare.
            GrantKind::DeclaredRelationship if !views_records => {
                let reason =
                    "the role profile views no clinical records, so has no relationship to declare".to_string();
                return Err(self.refuse(&mut record, reason.clone(), ServiceError::Forbidden(reason)).await);
            }
            GrantKind::DeclaredRelationship => None,
            GrantKind::Proxy => {
                let reason = "proxy authority is recorded by My Care Record, not declared by staff".to_string();
                return Err(self.refuse(&mut record, reason.clone(), ServiceError::Forbidden(reason)).await);
            }
        };
        if let Some(activity) = required
            && !role.activities.has(activity)
        {
            let reason = format!("the role profile lacks {}", activity.code());
            return Err(self.refuse(&mut record, reason.clone(), ServiceError::Forbidden(reason)).await);
        }
        let max_minutes =
            if request.kind == GrantKind::BreakGlass { MAX_BREAK_GLASS_MINUTES } else { MAX_GRANT_MINUTES };
        let now_ms = Instant::now().unix_ms;
        let grant = StoredGrant {
            grant_id: 0,
            kind: request.kind.as_str().to_string(),
            user_id: user.user_id.clone(),
            role_profile_id: role.id.clone(),
            ods_code: role.ods_code.to_string(),
            patient_id: request.patient_id.to_string(),
            reason: reason_text.to_string(),
            from_ms: now_ms,
            to_ms: now_ms + request.minutes.clamp(1, max_minutes) * 60_000,
            // Break-glass and declared relationships both go to information governance for review.
            review_status: matches!(request.kind, GrantKind::BreakGlass | GrantKind::DeclaredRelationship)
                .then(|| "open".to_string()),
            reviewed_by: None,
            review_outcome: None,
            review_note: None,
            reviewed_ms: None,
        };
        if let Some(person_id) = self.identity.person_of(request.patient_id.as_str()) {
            record.persons = vec![format!("Person/{person_id}")];
        }
        if request.kind == GrantKind::BreakGlass {
            record.purpose_of_use = Some("BTG".into());
        }
        record.outcome = "permitted".into();
        record.reasons.push(format!("{} declared until {}", request.kind.as_str(), Instant::from_unix_ms(grant.to_ms)));
        Ok(self.store.write_grant(GrantChange::Create(grant), record).await?)
    }

    /// Break-glass uses, oldest first: those awaiting review (`open`), those reviewed, or both.
    pub async fn break_glass_uses(
        &self,
        context: &RequestContext,
        review_status: Option<&str>,
        after_grant_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredGrant>, ServiceError> {
        let mut record = audit::record(context, "break-glass-review-list");
        let scope = self.require_information_governance(context, &mut record).await?;
        let filter =
            GrantFilter { review_status: review_status.map(str::to_string), ods_code: own_organisation(&scope) };
        let grants = self.store.grants(filter, after_grant_id, limit.clamp(1, self.limits.max_page_size)).await?;
        record.patients = audit::patients(grants.iter().map(|grant| grant.patient_id.as_str()));
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(grants)
    }

    /// IG's review of one break-glass use: `appropriate`, `inappropriate` or `referred`, with a note.
    pub async fn review_break_glass(
        &self,
        context: &RequestContext,
        grant_id: i64,
        outcome: &str,
        note: &str,
    ) -> Result<StoredGrant, ServiceError> {
        let mut record = audit::record(context, "break-glass-review");
        record.resources = vec![format!("grant/{grant_id}")];
        let scope = self.require_information_governance(context, &mut record).await?;
        if !matches!(outcome, "appropriate" | "inappropriate" | "referred") {
            let error = ServiceError::Invalid("outcome: appropriate, inappropriate or referred".into());
            return Err(self.refuse(&mut record, "bad outcome".into(), error).await);
        }
        record.outcome = "permitted".into();
        record.reasons.push(format!("break-glass use reviewed: {outcome}"));
        let review = GrantReview {
            grant_id,
            reviewed_by: context.principal.id().to_string(),
            outcome: outcome.to_string(),
            note: note.to_string(),
            within_ods_code: own_organisation(&scope),
        };
        Ok(self.store.write_grant(GrantChange::Review(review), record).await?)
    }

    /// The scope of the caller's IG work (`kmcr_access::information_governance`); refused and audited without one.
    async fn require_information_governance(
        &self,
        context: &RequestContext,
        record: &mut kmcr_audit::AuditRecord,
    ) -> Result<InformationGovernanceScope, ServiceError> {
        let access = self.access();
        let rules = access.rules(record.recorded_unix_ms);
        if let Some(scope) = information_governance_scope(rules, &context.principal) {
            if scope == InformationGovernanceScope::Region {
                record.reasons.push("regional information governance".into());
            }
            return Ok(scope);
        }
        let reason =
            "information governance work needs a Privacy Officer or Caldicott Guardian role profile".to_string();
        Err(self.refuse(record, reason.clone(), ServiceError::Forbidden(reason)).await)
    }
}

impl Service {
    /// Information governance's questions of the audit: who accessed a person (`Person/id` or `Patient/id`), what a
    /// user accessed, break-glass uses, sealed-item uses. Reading the audit is itself audited.
    ///
    /// An IG officer of one organisation sees what that organisation's people and systems did; the page may then hold
    /// fewer entries than asked, and `scanned_through` says where the next page starts.
    pub async fn audit_trail(
        &self,
        context: &RequestContext,
        query: kmcr_store::AuditQuery,
        after_sequence: i64,
        limit: usize,
    ) -> Result<AuditPage, ServiceError> {
        let mut record = audit::record(context, "audit-query");
        record.query = Some(format!("{query:?}"));
        let scope = self.require_information_governance(context, &mut record).await?;
        if let kmcr_store::AuditQuery::Subject(subject) = &query {
            if subject.starts_with("Patient/") {
                record.patients = vec![subject.clone()];
            } else {
                record.persons = vec![subject.clone()];
            }
        }
        let limit = limit.clamp(1, self.limits.max_page_size);
        let mut entries = self.store.audit_search(&query, after_sequence, limit).await?;
        let scanned_through = (entries.len() == limit).then(|| entries.last().map(|entry| entry.sequence)).flatten();
        entries.retain(|entry| scope.covers(&entry.record.actor_ods_code));
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(AuditPage { entries, scanned_through })
    }
}

/// A page of the audit as IG may see it.
#[derive(Clone, Debug)]
pub struct AuditPage {
    pub entries: Vec<kmcr_audit::ChainedAuditEntry>,
    /// The last entry read for this page, seen or not, when more may follow: the next page starts after it.
    pub scanned_through: Option<i64>,
}

/// The organisation an IG officer's work is confined to, for the store's filters; `None` for the region.
fn own_organisation(scope: &InformationGovernanceScope) -> Option<String> {
    match scope {
        InformationGovernanceScope::Region => None,
        InformationGovernanceScope::Organisation(ods_code) => Some(ods_code.as_str().to_string()),
    }
}

impl Service {
    /// The Consent records (objections and their withdrawals) of the person `patient_id` belongs to, from every
    /// source, for information governance: each `(JSON, source ODS code)`. Only a Privacy Officer or Caldicott
    /// Guardian may ask; the question is audited like any read of the person.
    pub async fn objections_of(
        &self,
        context: &RequestContext,
        patient_id: &ResourceId,
    ) -> Result<Vec<(String, String)>, ServiceError> {
        let mut record = audit::record(context, "objections-list");
        record.patients = audit::patients([patient_id.as_str()]);
        record.resources = vec!["Consent".into()];
        self.require_information_governance(context, &mut record).await?;
        let mut patient_ids = vec![patient_id.as_str().to_string()];
        patient_ids.extend(
            self.identity.linked_patients(patient_id.as_str()).into_iter().filter(|id| id != patient_id.as_str()),
        );
        if let Some(person_id) = self.identity.person_of(patient_id.as_str()) {
            record.persons = vec![format!("Person/{person_id}")];
        }
        let stored = self.store.person_record_facts(&patient_ids, Instant::now().unix_ms).await?;
        record.outcome = "permitted".into();
        self.store.append_audit(record).await?;
        Ok(stored.consents)
    }

    /// The person `patient_id` belongs to, as `Person/id`, for IG's questions of the audit.
    pub fn person_reference_of(&self, patient_id: &str) -> Option<String> {
        self.identity.person_of(patient_id).map(|person_id| format!("Person/{person_id}"))
    }
}
