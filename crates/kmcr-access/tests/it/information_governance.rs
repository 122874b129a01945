//! Who does IG work, and over what: an organisation's own, or the region's for the configured IG function.

use kmcr_access::{
    AccessSettings, ActivitySet, AssuranceLevel, InformationGovernanceScope, JobRole, Organisation, OrganisationKind,
    OrganisationRegistry, Principal, RoleProfile, Rules, UserPrincipal, information_governance_scope,
};
use kmcr_fhir::OdsCode;

fn ods(code: &str) -> OdsCode {
    OdsCode::parse(code).unwrap()
}

fn user_at(ods_code: &str, job_role: &str) -> Principal {
    Principal::User(UserPrincipal {
        user_id: "u".into(),
        session_id: "s".into(),
        role_profile: RoleProfile {
            id: "r".into(),
            ods_code: ods(ods_code),
            job_role: JobRole::parse(job_role).unwrap(),
            activities: ActivitySet::expand(["B0360"]),
        },
        assurance: AssuranceLevel::Aal3,
        scopes: Vec::new(),
    })
}

#[test]
fn privacy_officers_act_for_their_organisation_unless_it_is_the_regional_ig_function() {
    let organisation = |code: &str, kind, party| Organisation {
        ods_code: ods(code),
        name: code.into(),
        kind,
        party_to_agreement: party,
    };
    let registry = OrganisationRegistry::new([
        organisation("G82001", OrganisationKind::GpPractice, true),
        organisation("QKS", OrganisationKind::Community, true),
        organisation("LEFT1", OrganisationKind::Acute, false),
    ]);
    let settings = AccessSettings { regional_information_governance: [ods("QKS")].into(), ..AccessSettings::default() };
    let rules = Rules { registry: &registry, policies: &[], settings: &settings, now_ms: 0 };
    let scope = |ods_code: &str, role: &str| information_governance_scope(rules, &user_at(ods_code, role));
    let practice = InformationGovernanceScope::Organisation(ods("G82001"));
    assert_eq!(scope("G82001", "R0001"), Some(practice.clone()), "a privacy officer");
    assert_eq!(scope("G82001", "S0:G0:R5105"), Some(practice.clone()), "a Caldicott Guardian");
    assert_eq!(scope("QKS", "R0001"), Some(InformationGovernanceScope::Region), "the regional IG function");
    assert_eq!(scope("G82001", "R8000"), None, "a clinician does no IG work");
    assert_eq!(scope("LEFT1", "R0001"), None, "nor an organisation outside the agreement");
    assert!(practice.covers("G82001") && !practice.covers("RVV"));
    assert!(InformationGovernanceScope::Region.covers("RVV"));
}
