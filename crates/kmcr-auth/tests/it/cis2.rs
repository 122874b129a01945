//! CIS2 claims, shaped as CIS2 sends them, read into role profiles.

use kmcr_access::{Activity, AssuranceLevel};
use kmcr_auth::{Cis2Claims, Cis2Error, Cis2Identity};
use serde_json::json;

/// A clinician with two role profiles, as CIS2's userinfo and ID token carry them.
fn claims() -> serde_json::Value {
    json!({
        "sub": "910000000001",
        "iss": "https://am.nhsidentity.spineservices.nhs.uk:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare",
        "acr": "AAL3_ANY",
        "nhsid_useruid": "910000000001",
        "name": "Dr Test Clinician",
        "nhsid_nrbac_roles": [
            {
                "person_orgid": "910000000101",
                "person_roleid": "910000000201",
                "org_code": "RVV",
                "role_name": "\"Clinical\":\"Clinical Provision\":\"Clinical Practitioner Access Role\"",
                "role_code": "S8000:G8000:R8000",
                "activities": ["View Detailed Health Records", "Access Sensitive Flagged Records"],
                "activity_codes": ["B0360", "D8007:C8008:B1611"]
            },
            {
                "person_orgid": "910000000102",
                "person_roleid": "910000000202",
                "org_code": "G82001",
                "role_name": "\"Admin & Clerical\":\"Admin and Clerical\":\"Receptionist Access Role\"",
                "role_code": "S8002:G8003:R8009",
                "activity_codes": ["B0401"]
            }
        ],
        "selected_roleid": "910000000202",
        "nhsid_user_orgs": [
            { "org_code": "RVV", "org_name": "EAST KENT HOSPITALS UNIVERSITY NHS FOUNDATION TRUST" },
            { "org_code": "G82001", "org_name": "TEST SURGERY" }
        ]
    })
}

#[test]
fn role_profiles_are_read_with_their_activities_expanded_and_the_selected_one_found() {
    let identity = Cis2Identity::from_json(&claims()).unwrap();
    assert_eq!(identity.user_id, "910000000001");
    assert_eq!(identity.assurance, AssuranceLevel::Aal3);
    assert_eq!(identity.acr.as_deref(), Some("AAL3_ANY"));
    assert_eq!(identity.role_profiles.len(), 2);
    let clinical = identity.role_profile("910000000201").unwrap();
    assert_eq!(clinical.ods_code.as_str(), "RVV");
    assert_eq!(clinical.job_role.code, "R8000");
    assert_eq!(clinical.job_role.full, "S8000:G8000:R8000");
    assert_eq!(clinical.activities.codes().collect::<Vec<_>>(), ["B0360", "B0370", "B0401", "B1611"]);
    assert!(clinical.activities.has(Activity::ACCESS_SENSITIVE_FLAGGED_RECORDS));
    let selected = identity.selected_role_profile().unwrap();
    assert_eq!(selected.id, "910000000202");
    assert_eq!(selected.job_role.code, "R8009");
    assert!(!selected.activities.has(Activity::VIEW_SUMMARY_RECORDS));
    assert_eq!(identity.role_profiles[0].activity_names.len(), 2);
    assert!(identity.role_profiles[1].role_name.as_deref().unwrap().contains("Receptionist"));
    assert_eq!(identity.organisations[1].org_code, "G82001");
}

#[test]
fn a_selected_role_that_matches_no_role_profile_is_an_error() {
    let mut claims = claims();
    claims["selected_roleid"] = json!("999999999999");
    assert_eq!(Cis2Identity::from_json(&claims), Err(Cis2Error::SelectedRoleUnknown("999999999999".to_string())));
}

#[test]
fn assurance_is_never_read_higher_than_the_acr_promises() {
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove("acr");
    let identity = Cis2Identity::from_json(&claims).unwrap();
    assert_eq!((identity.assurance, identity.acr), (AssuranceLevel::Unknown, None));
    claims["acr"] = json!("AAL2_OR_AAL3_ANY");
    assert_eq!(Cis2Identity::from_json(&claims).unwrap().assurance, AssuranceLevel::Aal2);
}

#[test]
fn an_unreadable_role_is_set_aside_unless_it_is_the_selected_one() {
    let mut claims = claims();
    claims["nhsid_nrbac_roles"][1]["role_code"] = json!("S8002:G8003:X8009");
    claims.as_object_mut().unwrap().remove("selected_roleid");
    let identity = Cis2Identity::from_json(&claims).unwrap();
    assert_eq!(identity.role_profiles.len(), 1);
    assert_eq!(identity.unusable_roles[0].person_roleid.as_deref(), Some("910000000202"));
    assert!(identity.selected_role_profile().is_none());

    claims["selected_roleid"] = json!("910000000202");
    assert!(matches!(Cis2Identity::from_json(&claims), Err(Cis2Error::SelectedRoleUnusable { .. })));
    claims["nhsid_nrbac_roles"][0]["org_code"] = json!("not an ods code");
    claims.as_object_mut().unwrap().remove("selected_roleid");
    assert_eq!(Cis2Identity::from_json(&claims), Err(Cis2Error::NoUsableRoleProfile));
}

#[test]
fn the_user_id_is_required() {
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove("nhsid_useruid");
    assert_eq!(Cis2Identity::from_json(&claims), Err(Cis2Error::MissingUserId));
}

#[test]
fn userinfo_completes_the_id_token() {
    let full: Cis2Claims = serde_json::from_value(claims()).unwrap();
    let id_token_only = Cis2Claims { nhsid_useruid: full.nhsid_useruid.clone(), ..Cis2Claims::default() };
    let merged = id_token_only.merged_with(full.clone());
    assert_eq!(merged, full);
}
