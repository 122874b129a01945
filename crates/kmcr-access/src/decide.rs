//! The decision: who, in which role profile, for which purpose, on which person -> which of the person's items may be
//! returned, and why. Pure: everything it reads is passed in, including the time.

use kmcr_fhir::{OdsCode, ResourceType};

use crate::activities::Activity;
use crate::facts::{ContactKind, GrantKind, PersonFacts};
use crate::labels::Sensitivity;
use crate::objections::{ObjectionKind, Policy};
use crate::organisations::OrganisationRegistry;
use crate::principal::{AssuranceLevel, Principal, UserPrincipal};
use crate::purpose::Purpose;

const MS_PER_DAY: i64 = 24 * 60 * 60 * 1000;

/// Settings of the rules that a region chooses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessSettings {
    /// A contact (encounter, episode, referral, care team) ended this long ago still makes a relationship.
    pub recent_contact_days: i64,
    /// The least sign-in assurance for sealed items (B1611).
    pub min_assurance_sensitive: AssuranceLevel,
    /// The least sign-in assurance for break-glass (B0168).
    pub min_assurance_break_glass: AssuranceLevel,
    /// Organisations whose IG officers act for the whole region (see `information_governance`); others' act for
    /// their own organisation only.
    pub regional_information_governance: std::collections::BTreeSet<kmcr_fhir::OdsCode>,
}

impl Default for AccessSettings {
    fn default() -> Self {
        AccessSettings {
            recent_contact_days: 90,
            min_assurance_sensitive: AssuranceLevel::Aal3,
            min_assurance_break_glass: AssuranceLevel::Aal3,
            regional_information_governance: std::collections::BTreeSet::new(),
        }
    }
}

/// The rules in force at one instant.
#[derive(Clone, Copy, Debug)]
pub struct Rules<'a> {
    pub registry: &'a OrganisationRegistry,
    pub policies: &'a [Policy],
    pub settings: &'a AccessSettings,
    pub now_ms: i64,
}

/// How much of the clinical record may be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClinicalAccess {
    None,
    /// B0401: medicines only.
    Medication,
    /// B0370: the summary (allergies, problems, medicines, flags, plans).
    Summary,
    /// B0360: everything.
    Detailed,
}

/// Which sealed items may be shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SensitiveAccess {
    Withheld,
    /// Only those the caller's own organisation sent (its own records).
    OwnOrganisation(OdsCode),
    All,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WithholdReason {
    Objection {
        consent_id: String,
        kind: ObjectionKind,
    },
    /// The source is a service whose presence in a record is itself sensitive.
    SealedSource,
    /// The source has left the sharing agreement (or was never party).
    NotParty,
}

impl WithholdReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            WithholdReason::Objection { kind: ObjectionKind::GpType1, .. } => "objection-gp-type-1",
            WithholdReason::Objection { kind: ObjectionKind::SharedRecord, .. } => "objection-shared-record",
            WithholdReason::Objection { kind: ObjectionKind::NationalDataOptOut, .. } => "national-data-opt-out",
            // Announced as any sealed item is: naming the kind of source would tell what the person keeps private.
            WithholdReason::SealedSource => "sensitive",
            WithholdReason::NotParty => "source-not-party",
        }
    }
}

/// Items of one source (or of every source), of some types (or all), that are withheld.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withholding {
    /// `None`: every source but the caller's own.
    pub source: Option<OdsCode>,
    /// Empty: every type.
    pub resource_types: Vec<ResourceType>,
    pub reason: WithholdReason,
}

impl Withholding {
    /// Whether the person's Patient records stay visible under this withholding (see `RecordView::item_verdict`).
    pub fn spares_patient_records(&self) -> bool {
        self.source.is_none()
            && matches!(self.reason, WithholdReason::Objection { kind, .. } if kind != ObjectionKind::NationalDataOptOut)
    }
}

/// Which of a person's items may be returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordView {
    /// The Patient resources (the banner).
    pub demographics: bool,
    pub clinical: ClinicalAccess,
    /// When set, only items these organisations sent (a system without a relationship reads what it sent).
    pub only_sources: Option<Vec<OdsCode>>,
    pub withheld: Vec<Withholding>,
    pub sensitive: SensitiveAccess,
    /// The caller's organisation: no withholding applies to what it sent itself.
    pub own_organisation: Option<OdsCode>,
}

/// What is known of one item when it is checked against a view.
#[derive(Clone, Copy, Debug)]
pub struct ItemFacts<'a> {
    pub resource_type: ResourceType,
    pub source: &'a OdsCode,
    pub sensitivity: Sensitivity,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemVerdict {
    Visible,
    /// Outside what the caller may see of the person at all (no relationship, not its type): not announced.
    OutOfView,
    /// Within the caller's view but withheld by policy: announced as withheld, never what it is.
    Withheld(&'static str),
}

/// Types shown to B0401.
pub const MEDICATION_TYPES: &[&str] =
    &["Medication", "MedicationAdministration", "MedicationDispense", "MedicationRequest", "MedicationStatement"];
/// Types shown to B0370, beside the medication types.
pub const SUMMARY_TYPES: &[&str] = &["AllergyIntolerance", "Condition", "Flag", "Immunization", "CarePlan", "CareTeam"];

impl RecordView {
    /// Nothing of the person.
    pub fn nothing() -> RecordView {
        RecordView {
            demographics: false,
            clinical: ClinicalAccess::None,
            only_sources: None,
            withheld: Vec::new(),
            sensitive: SensitiveAccess::Withheld,
            own_organisation: None,
        }
    }

    /// Whether items of this type are in view at all.
    pub fn type_in_view(&self, resource_type: ResourceType) -> bool {
        if resource_type == ResourceType::PATIENT {
            return self.demographics;
        }
        let name = resource_type.as_str();
        match self.clinical {
            ClinicalAccess::None => false,
            ClinicalAccess::Medication => MEDICATION_TYPES.contains(&name),
            ClinicalAccess::Summary => MEDICATION_TYPES.contains(&name) || SUMMARY_TYPES.contains(&name),
            ClinicalAccess::Detailed => true,
        }
    }

    /// Whether one item of the person may be returned.
    pub fn item_verdict(&self, item: ItemFacts<'_>) -> ItemVerdict {
        if !self.type_in_view(item.resource_type) {
            return ItemVerdict::OutOfView;
        }
        let own = self.own_organisation.as_ref() == Some(item.source);
        if let Some(only) = &self.only_sources
            && !only.contains(item.source)
        {
            return ItemVerdict::OutOfView;
        }
        if !own {
            for withholding in &self.withheld {
                // An objection to sharing the whole record withholds the record, not the person: their
                // demographics stay findable, so that the banner can say the record is withheld. One that names
                // sources withholds those sources' Patient records too (a mental health trust's record of a person
                // says by existing that they were its patient); the banner is built from the other sources. Not the
                // national data opt-out: it applies only to secondary use, where there is no banner, and takes the
                // whole person out of it, demographics included.
                let banner_kept = withholding.spares_patient_records();
                if banner_kept && item.resource_type == ResourceType::PATIENT {
                    continue;
                }
                let source_matches = withholding.source.as_ref().is_none_or(|source| source == item.source);
                let type_matches =
                    withholding.resource_types.is_empty() || withholding.resource_types.contains(&item.resource_type);
                if source_matches && type_matches {
                    return ItemVerdict::Withheld(withholding.reason.as_str());
                }
            }
        }
        if item.sensitivity.is_sensitive() {
            let shown = match &self.sensitive {
                SensitiveAccess::All => true,
                SensitiveAccess::OwnOrganisation(organisation) => organisation == item.source,
                SensitiveAccess::Withheld => false,
            };
            if !shown {
                return ItemVerdict::Withheld("sensitive");
            }
        }
        ItemVerdict::Visible
    }
}

/// What the caller may do with one person's record, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonDecision {
    /// False when nothing of the person may be returned.
    pub permitted: bool,
    /// The basis of access, a stable code: `registered-practice`, `encounter`, `declared-relationship`,
    /// `break-glass`, `own-organisation-data`, `region-wide`, `patient-self`, `proxy`; or why there is none:
    /// `no-relationship`, `organisation-not-party`, `not-this-patient`.
    pub basis: &'static str,
    /// The purpose the read is recorded under (break-glass when that is the basis).
    pub purpose: Purpose,
    pub view: RecordView,
    /// The grants the decision relied on (a break-glass use goes to the IG review queue).
    pub grants_used: Vec<i64>,
    /// Sentences for the audit and for an OperationOutcome: identifiers and codes only.
    pub reasons: Vec<String>,
}

impl PersonDecision {
    /// Whether the clinical record (not only the banner) may be shown.
    pub fn clinical_permitted(&self) -> bool {
        self.view.clinical != ClinicalAccess::None
    }
}

/// Decides what `principal`, reading for `purpose`, may see of `person` under `rules`.
pub fn decide_person(
    rules: Rules<'_>,
    principal: &Principal,
    purpose: Purpose,
    person: &PersonFacts,
) -> PersonDecision {
    match principal {
        Principal::User(user) => decide_for_user(rules, user, person),
        Principal::System(system) => {
            // A system reads for care, or for secondary use when it says so. Being the person, their proxy, or a
            // clinician breaking glass are not a system's purposes: taken at its word, a system asking as the patient
            // would have every objection set aside.
            let asked = purpose;
            let purpose = if asked == Purpose::SecondaryUse { Purpose::SecondaryUse } else { Purpose::DirectCare };
            let organisation = &system.ods_code;
            if !rules.registry.is_party(organisation) {
                return refused(
                    "organisation-not-party",
                    purpose,
                    format!("{organisation} is not party to the sharing agreement"),
                );
            }
            if let Some(region_wide) = &system.region_wide {
                let purpose = if region_wide.secondary_use { Purpose::SecondaryUse } else { purpose };
                let mut decision = permitted("region-wide", purpose, organisation, ClinicalAccess::Detailed);
                decision.reasons.push(format!("region-wide reading configured for {}", system.client_id));
                decision.view.withheld =
                    withholdings(rules, person, purpose, Some(organisation), false, &mut decision.reasons);
                return decision;
            }
            match relationship_contact(rules, organisation, person) {
                Some((kind, _)) => {
                    let mut decision = permitted(kind.as_str(), purpose, organisation, ClinicalAccess::Detailed);
                    if asked != purpose {
                        decision.reasons.push(format!(
                            "a system reads for {}, not {}",
                            purpose.as_str(),
                            asked.as_str()
                        ));
                    }
                    decision
                        .reasons
                        .push(format!("{organisation} has a relationship with the person: {}", kind.as_str()));
                    decision.view.withheld =
                        withholdings(rules, person, purpose, Some(organisation), false, &mut decision.reasons);
                    decision
                }
                None => {
                    let mut decision =
                        permitted("own-organisation-data", purpose, organisation, ClinicalAccess::Detailed);
                    decision.view.only_sources = Some(vec![organisation.clone()]);
                    decision
                        .reasons
                        .push(format!("{organisation} has no relationship with the person: only what it sent itself"));
                    decision
                }
            }
        }
        Principal::Patient(patient) => {
            let own_record = person.records.iter().any(|record| patient.own_patient_ids.contains(&record.patient_id));
            let proxy_grant = person.grants.iter().find(|grant| {
                grant.kind == GrantKind::Proxy && grant.user_id == patient.user_id && grant.in_force_at(rules.now_ms)
            });
            let (basis, purpose, grants_used) = match (own_record, proxy_grant) {
                (true, _) => ("patient-self", Purpose::PatientSelf, Vec::new()),
                (false, Some(grant)) => ("proxy", Purpose::Proxy, vec![grant.grant_id]),
                (false, None) => {
                    return refused(
                        "not-this-patient",
                        Purpose::PatientSelf,
                        "not the person's own record, and no proxy authority".into(),
                    );
                }
            };
            let mut view = RecordView::nothing();
            view.demographics = true;
            view.clinical = ClinicalAccess::Detailed;
            // The person sees their own sealed items; a proxy does not (they may be about what the person keeps
            // from others).
            view.sensitive = if own_record { SensitiveAccess::All } else { SensitiveAccess::Withheld };
            let mut reasons = vec![basis.to_string()];
            view.withheld = withholdings(rules, person, purpose, None, own_record, &mut reasons);
            PersonDecision { permitted: true, basis, purpose, view, grants_used, reasons }
        }
    }
}

fn decide_for_user(rules: Rules<'_>, user: &UserPrincipal, person: &PersonFacts) -> PersonDecision {
    let role = &user.role_profile;
    let organisation = &role.ods_code;
    if !rules.registry.is_party(organisation) {
        return refused(
            "organisation-not-party",
            Purpose::DirectCare,
            format!("{organisation} is not party to the sharing agreement"),
        );
    }
    let grant_in_force = |kind: GrantKind| {
        person.grants.iter().find(|grant| {
            grant.kind == kind
                && grant.user_id == user.user_id
                && grant.role_profile_id == role.id
                && grant.in_force_at(rules.now_ms)
        })
    };
    let level = if role.activities.has(Activity::VIEW_DETAILED_HEALTH_RECORDS) {
        ClinicalAccess::Detailed
    } else if role.activities.has(Activity::VIEW_SUMMARY_RECORDS) {
        ClinicalAccess::Summary
    } else if role.activities.has(Activity::VIEW_PATIENT_MEDICATION) {
        ClinicalAccess::Medication
    } else {
        ClinicalAccess::None
    };
    let mut reasons = Vec::new();
    let mut grants_used = Vec::new();
    let (basis, purpose) = if let Some((kind, contact_organisation)) = relationship_contact(rules, organisation, person)
    {
        reasons.push(format!("legitimate relationship: {} at {contact_organisation}", kind.as_str()));
        (kind.as_str(), Purpose::DirectCare)
    } else if let Some(grant) = grant_in_force(GrantKind::DeclaredRelationship) {
        grants_used.push(grant.grant_id);
        reasons.push(format!("legitimate relationship declared (grant {})", grant.grant_id));
        ("declared-relationship", Purpose::DirectCare)
    } else if let Some(grant) = grant_in_force(GrantKind::BreakGlass) {
        if !role.activities.has(Activity::EMERGENCY_ACCESS) {
            reasons.push("break-glass declared but the role profile lacks B0168".into());
            ("no-relationship", Purpose::DirectCare)
        } else if user.assurance < rules.settings.min_assurance_break_glass {
            reasons.push(format!(
                "break-glass needs sign-in assurance {}, this session has {}",
                rules.settings.min_assurance_break_glass.as_str(),
                user.assurance.as_str()
            ));
            ("no-relationship", Purpose::DirectCare)
        } else {
            grants_used.push(grant.grant_id);
            reasons.push(format!("break-glass (B0168, grant {})", grant.grant_id));
            ("break-glass", Purpose::BreakGlass)
        }
    } else {
        ("no-relationship", Purpose::DirectCare)
    };
    let mut view = RecordView::nothing();
    view.own_organisation = Some(organisation.clone());
    view.demographics = true;
    if basis == "no-relationship" {
        reasons.push("no legitimate relationship: the banner only".into());
    } else {
        view.clinical = level;
        if level == ClinicalAccess::None {
            reasons.push(format!("role {} holds no activity to view clinical records", role.job_role.code));
        }
    }
    view.sensitive = SensitiveAccess::OwnOrganisation(organisation.clone());
    if view.clinical != ClinicalAccess::None
        && let Some(grant) = grant_in_force(GrantKind::SensitiveAccess)
    {
        if !role.activities.has(Activity::ACCESS_SENSITIVE_FLAGGED_RECORDS) {
            reasons.push("sealed items: the role profile lacks B1611".into());
        } else if user.assurance < rules.settings.min_assurance_sensitive {
            reasons.push(format!(
                "sealed items need sign-in assurance {}, this session has {}",
                rules.settings.min_assurance_sensitive.as_str(),
                user.assurance.as_str()
            ));
        } else {
            grants_used.push(grant.grant_id);
            reasons.push(format!("sealed items shown (B1611, reason stated, grant {})", grant.grant_id));
            view.sensitive = SensitiveAccess::All;
        }
    }
    let sealed_sources_shown = view.sensitive == SensitiveAccess::All;
    view.withheld = withholdings(rules, person, purpose, Some(organisation), sealed_sources_shown, &mut reasons);
    PersonDecision { permitted: true, basis, purpose, view, grants_used, reasons }
}

/// The first contact that makes a legitimate relationship between `organisation` and the person now.
fn relationship_contact<'a>(
    rules: Rules<'_>,
    organisation: &OdsCode,
    person: &'a PersonFacts,
) -> Option<(ContactKind, &'a OdsCode)> {
    let recent_from_ms = rules.now_ms - rules.settings.recent_contact_days * MS_PER_DAY;
    person
        .contacts
        .iter()
        .filter(|contact| &contact.organisation == organisation)
        // A registration that has ended (the person registered elsewhere) is a past contact like any other: the
        // former practice keeps a relationship only while it is recent.
        .filter(|contact| contact.end_ms.is_none_or(|end| end >= recent_from_ms))
        .min_by_key(|contact| contact.kind)
        .map(|contact| (contact.kind, &contact.organisation))
}

/// What is withheld from a caller of `organisation` (none for a member of the public) reading for `purpose`. Each
/// objection a policy sets aside is named in `reasons`, for the audit.
fn withholdings(
    rules: Rules<'_>,
    person: &PersonFacts,
    purpose: Purpose,
    organisation: Option<&OdsCode>,
    sealed_sources_shown: bool,
    reasons: &mut Vec<String>,
) -> Vec<Withholding> {
    let mut withheld = Vec::new();
    for code in rules.registry.non_party_codes() {
        withheld.push(Withholding {
            source: Some(code.clone()),
            resource_types: Vec::new(),
            reason: WithholdReason::NotParty,
        });
    }
    if !sealed_sources_shown {
        for code in rules.registry.sensitive_source_codes() {
            withheld.push(Withholding {
                source: Some(code.clone()),
                resource_types: Vec::new(),
                reason: WithholdReason::SealedSource,
            });
        }
    }
    for objection in &person.objections {
        if !objection.in_force_at(rules.now_ms) || !objection.kind.applies_to(purpose) {
            continue;
        }
        let recipient = objection.recipients.is_empty()
            || organisation.is_some_and(|organisation| objection.recipients.contains(organisation));
        if !recipient {
            continue;
        }
        if let Some(policy) = Policy::overriding(rules.policies, objection.kind, purpose, rules.now_ms) {
            reasons.push(format!(
                "objection {} ({}) set aside by policy {}",
                objection.consent_id,
                objection.kind.as_str(),
                policy.name
            ));
            continue;
        }
        let reason = WithholdReason::Objection { consent_id: objection.consent_id.clone(), kind: objection.kind };
        if objection.sources.is_empty() {
            withheld.push(Withholding { source: None, resource_types: objection.resource_types.clone(), reason });
        } else {
            for source in &objection.sources {
                withheld.push(Withholding {
                    source: Some(source.clone()),
                    resource_types: objection.resource_types.clone(),
                    reason: reason.clone(),
                });
            }
        }
    }
    withheld
}

fn permitted(
    basis: &'static str,
    purpose: Purpose,
    organisation: &OdsCode,
    clinical: ClinicalAccess,
) -> PersonDecision {
    let mut view = RecordView::nothing();
    view.demographics = true;
    view.clinical = clinical;
    view.own_organisation = Some(organisation.clone());
    view.sensitive = SensitiveAccess::OwnOrganisation(organisation.clone());
    PersonDecision { permitted: true, basis, purpose, view, grants_used: Vec::new(), reasons: Vec::new() }
}

fn refused(basis: &'static str, purpose: Purpose, reason: String) -> PersonDecision {
    PersonDecision {
        permitted: false,
        basis,
        purpose,
        view: RecordView::nothing(),
        grants_used: Vec::new(),
        reasons: vec![reason],
    }
}
