//! Decisions that do not depend on a person: may this caller do this interaction on this type at all (SMART scopes,
//! the role, the organisation's place in the agreement), may it write over this item, and which rows of the whole
//! population may a search without a person reach.

use kmcr_fhir::{OdsCode, ResourceType};

use crate::decide::{ClinicalAccess, RecordView, Rules, SensitiveAccess, WithholdReason, Withholding};
use crate::principal::Principal;
use crate::purpose::Purpose;
use crate::scope::{Interaction, ScopeContext};

/// A yes or no, with the reason (a sentence of identifiers and codes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub permitted: bool,
    pub reason: String,
}

impl Verdict {
    fn yes(reason: String) -> Verdict {
        Verdict { permitted: true, reason }
    }

    fn no(reason: String) -> Verdict {
        Verdict { permitted: false, reason }
    }
}

/// Types that information governance writes (objections) and that a user may therefore write.
const IG_WRITABLE_TYPES: &[&str] = &["Consent"];

/// Whether `principal` may do `interaction` on resources of `resource_type` at all.
pub fn decide_interaction(
    rules: Rules<'_>,
    principal: &Principal,
    interaction: Interaction,
    resource_type: ResourceType,
) -> Verdict {
    let context = match principal {
        Principal::User(_) => ScopeContext::User,
        Principal::System(_) => ScopeContext::System,
        Principal::Patient(_) => ScopeContext::Patient,
    };
    if let Some(organisation) = principal.ods_code()
        && !rules.registry.is_party(organisation)
    {
        return Verdict::no(format!("{organisation} is not party to the sharing agreement"));
    }
    let Some(scope) =
        principal.scopes().iter().find(|scope| scope.context == context && scope.grants(interaction, resource_type))
    else {
        return Verdict::no(format!("no scope grants {} of {resource_type}", interaction.as_str()));
    };
    if interaction.is_write() {
        match principal {
            Principal::System(_) => {}
            Principal::User(user) => {
                let information_governance = user.role_profile.job_role.is_information_governance();
                if !(information_governance && IG_WRITABLE_TYPES.contains(&resource_type.as_str())) {
                    return Verdict::no(format!(
                        "the shared record is read-only to users: role {} may not {} {resource_type}",
                        user.role_profile.job_role.code,
                        interaction.as_str()
                    ));
                }
            }
            Principal::Patient(_) => {
                return Verdict::no("the shared record is read-only in My Care Record".into());
            }
        }
    }
    Verdict::yes(format!("scope {scope} grants {} of {resource_type}", interaction.as_str()))
}

/// Whether `principal` may change or delete an item that `existing_source` sent (`None`: a new item).
pub fn decide_write_over(
    principal: &Principal,
    resource_type: ResourceType,
    existing_source: Option<&OdsCode>,
) -> Verdict {
    let Some(organisation) = principal.ods_code() else {
        return Verdict::no("a member of the public writes nothing here".into());
    };
    // The rule itself is `decide_write_by`, which the store applies in the write's transaction.
    crate::ownership::decide_write_by(organisation, resource_type, existing_source.map(OdsCode::as_str))
}

/// Which rows of any person a search that names no person may return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PopulationDecision {
    pub view: RecordView,
    pub purpose: Purpose,
    /// A region-wide reader: objections in force must be applied person by person (the service lists them).
    pub region_wide: bool,
    pub reasons: Vec<String>,
}

/// The view over the whole population for a search that names no person: a user finds people (demographics only);
/// a system reads what it sent; a region-wide reader reads every person's record, objections applied person by
/// person.
pub fn decide_population(rules: Rules<'_>, principal: &Principal) -> PopulationDecision {
    let mut view = RecordView::nothing();
    view.own_organisation = principal.ods_code().cloned();
    let common_withheld = |sealed_shown: bool| {
        let mut withheld: Vec<Withholding> = rules
            .registry
            .non_party_codes()
            .map(|code| Withholding {
                source: Some(code.clone()),
                resource_types: Vec::new(),
                reason: WithholdReason::NotParty,
            })
            .collect();
        if !sealed_shown {
            withheld.extend(rules.registry.sensitive_source_codes().map(|code| Withholding {
                source: Some(code.clone()),
                resource_types: Vec::new(),
                reason: WithholdReason::SealedSource,
            }));
        }
        withheld
    };
    match principal {
        Principal::User(_) => {
            view.demographics = true;
            view.sensitive = SensitiveAccess::OwnOrganisation(principal.ods_code().expect("users act for one").clone());
            view.withheld = common_withheld(false);
            PopulationDecision {
                view,
                purpose: Purpose::DirectCare,
                region_wide: false,
                reasons: vec!["a search naming no person finds people: demographics only".into()],
            }
        }
        Principal::System(system) => {
            view.demographics = true;
            view.clinical = ClinicalAccess::Detailed;
            view.sensitive = SensitiveAccess::OwnOrganisation(system.ods_code.clone());
            view.withheld = common_withheld(false);
            match &system.region_wide {
                Some(region_wide) => PopulationDecision {
                    view,
                    purpose: if region_wide.secondary_use { Purpose::SecondaryUse } else { Purpose::DirectCare },
                    region_wide: true,
                    reasons: vec![format!("region-wide reading configured for {}", system.client_id)],
                },
                None => {
                    view.only_sources = Some(vec![system.ods_code.clone()]);
                    PopulationDecision {
                        view,
                        purpose: Purpose::DirectCare,
                        region_wide: false,
                        reasons: vec![format!("a search naming no person reads what {} sent", system.ods_code)],
                    }
                }
            }
        }
        Principal::Patient(_) => PopulationDecision {
            view,
            purpose: Purpose::PatientSelf,
            region_wide: false,
            reasons: vec!["My Care Record reads one person's record at a time".into()],
        },
    }
}
