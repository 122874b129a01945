//! NHS Care Identity Service 2 claims, as its ID tokens and userinfo carry them, read into the user's role profiles:
//! `nhsid_useruid` (the SDS user id), `nhsid_nrbac_roles[]` (one entry per role profile: `person_roleid`, `org_code`,
//! `role_code` such as `S8000:G8000:R8000`, `role_name`, `activity_codes[]` such as `B0360` or `D8007:C8008:B0360`,
//! `activities[]` (names)), `selected_roleid` (the role profile chosen at sign-in), `nhsid_user_orgs[]` and `acr`.
//!
//! Activities are read from their codes only (names are for people); each role profile's activities are expanded
//! once here. A role profile KMCR cannot read (an ODS code or job role of the wrong shape) is set aside with the
//! reason, so the user may still act in the others, unless it is the one selected. A missing `acr` is
//! [`AssuranceLevel::Unknown`], never the highest.

use kmcr_access::{ActivitySet, AssuranceLevel, JobRole, RoleProfile};
use kmcr_fhir::OdsCode;
use serde::{Deserialize, Serialize};

/// The CIS2 claims as they arrive (wire type). Role entries stay JSON until each is read, so that one odd entry
/// does not make the whole sign-in fail.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cis2Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhsid_useruid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhsid_nrbac_roles: Option<Vec<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_roleid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhsid_user_orgs: Option<Vec<serde_json::Value>>,
}

impl Cis2Claims {
    /// The claims of the ID token completed by those of userinfo, which win where both have one (CIS2 returns the
    /// national RBAC claims from userinfo).
    pub fn merged_with(self, userinfo: Cis2Claims) -> Cis2Claims {
        Cis2Claims {
            nhsid_useruid: userinfo.nhsid_useruid.or(self.nhsid_useruid),
            nhsid_nrbac_roles: userinfo.nhsid_nrbac_roles.or(self.nhsid_nrbac_roles),
            selected_roleid: userinfo.selected_roleid.or(self.selected_roleid),
            nhsid_user_orgs: userinfo.nhsid_user_orgs.or(self.nhsid_user_orgs),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Cis2Error {
    #[error("the claims are not a JSON object of CIS2 claims: {0}")]
    NotCis2Claims(String),
    #[error("the claims carry no nhsid_useruid")]
    MissingUserId,
    #[error("the user holds no role profile KMCR can act on")]
    NoUsableRoleProfile,
    #[error("selected_roleid {0:?} matches none of the user's role profiles")]
    SelectedRoleUnknown(String),
    #[error("the selected role profile {person_roleid:?} cannot be used: {reason}")]
    SelectedRoleUnusable { person_roleid: String, reason: String },
}

/// One role profile as CIS2 describes it, with the name to show in a role chooser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cis2RoleProfile {
    pub role_profile: RoleProfile,
    pub role_name: Option<String>,
    /// The activity names as given (shown, never used for decisions).
    pub activity_names: Vec<String>,
}

/// A role entry KMCR could not read, and why (for the log and the role chooser).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnusableRole {
    pub person_roleid: Option<String>,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cis2Organisation {
    pub org_code: String,
    pub org_name: Option<String>,
}

/// Who signed in through CIS2, and in which role profiles they may act.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cis2Identity {
    /// `nhsid_useruid`: the SDS user id.
    pub user_id: String,
    pub role_profiles: Vec<Cis2RoleProfile>,
    /// The `person_roleid` chosen at sign-in, when CIS2 says; otherwise KMCR asks the user to choose.
    pub selected_role_profile_id: Option<String>,
    pub organisations: Vec<Cis2Organisation>,
    pub assurance: AssuranceLevel,
    /// `acr` as given, for the audit.
    pub acr: Option<String>,
    pub unusable_roles: Vec<UnusableRole>,
}

impl Cis2Identity {
    /// Reads a whole claims object (an ID token's payload, or ID token and userinfo merged), `acr` included.
    pub fn from_json(claims: &serde_json::Value) -> Result<Cis2Identity, Cis2Error> {
        let cis2_claims: Cis2Claims =
            serde_json::from_value(claims.clone()).map_err(|error| Cis2Error::NotCis2Claims(error.to_string()))?;
        Cis2Identity::from_claims(cis2_claims, claims.get("acr").and_then(serde_json::Value::as_str))
    }

    pub fn from_claims(claims: Cis2Claims, acr: Option<&str>) -> Result<Cis2Identity, Cis2Error> {
        let user_id = claims.nhsid_useruid.filter(|id| !id.trim().is_empty()).ok_or(Cis2Error::MissingUserId)?;
        let mut role_profiles = Vec::new();
        let mut unusable_roles = Vec::new();
        for entry in claims.nhsid_nrbac_roles.unwrap_or_default() {
            match read_role(&entry) {
                Ok(role_profile) => role_profiles.push(role_profile),
                Err(unusable) => unusable_roles.push(unusable),
            }
        }
        if let Some(selected) = &claims.selected_roleid {
            let known = role_profiles.iter().any(|profile| profile.role_profile.id == *selected);
            if !known {
                return Err(match unusable_roles.iter().find(|role| role.person_roleid.as_ref() == Some(selected)) {
                    Some(unusable) => Cis2Error::SelectedRoleUnusable {
                        person_roleid: selected.clone(),
                        reason: unusable.reason.clone(),
                    },
                    None => Cis2Error::SelectedRoleUnknown(selected.clone()),
                });
            }
        }
        if role_profiles.is_empty() {
            return Err(Cis2Error::NoUsableRoleProfile);
        }
        let organisations = (claims.nhsid_user_orgs.unwrap_or_default().iter())
            .filter_map(|entry| {
                Some(Cis2Organisation {
                    org_code: entry.get("org_code")?.as_str()?.to_string(),
                    org_name: entry.get("org_name").and_then(serde_json::Value::as_str).map(str::to_string),
                })
            })
            .collect();
        Ok(Cis2Identity {
            user_id,
            role_profiles,
            selected_role_profile_id: claims.selected_roleid,
            organisations,
            assurance: AssuranceLevel::from_acr(acr),
            acr: acr.map(str::to_string),
            unusable_roles,
        })
    }

    /// The role profile chosen at sign-in, if CIS2 said which.
    pub fn selected_role_profile(&self) -> Option<&RoleProfile> {
        let selected = self.selected_role_profile_id.as_ref()?;
        self.role_profile(selected)
    }

    pub fn role_profile(&self, person_roleid: &str) -> Option<&RoleProfile> {
        (self.role_profiles.iter()).map(|profile| &profile.role_profile).find(|profile| profile.id == person_roleid)
    }
}

fn read_role(entry: &serde_json::Value) -> Result<Cis2RoleProfile, UnusableRole> {
    let text = |name: &str| entry.get(name).and_then(serde_json::Value::as_str).map(str::trim);
    let texts = |name: &str| -> Vec<String> {
        (entry.get(name).and_then(serde_json::Value::as_array).into_iter().flatten())
            .filter_map(serde_json::Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let person_roleid = text("person_roleid").filter(|id| !id.is_empty()).map(str::to_string);
    let unusable = |reason: &str| UnusableRole { person_roleid: person_roleid.clone(), reason: reason.to_string() };
    let id = person_roleid.clone().ok_or_else(|| unusable("person_roleid is missing"))?;
    let ods_code = text("org_code")
        .and_then(|code| OdsCode::parse(code).ok())
        .ok_or_else(|| unusable("org_code is missing or not an ODS code"))?;
    let job_role = text("role_code")
        .and_then(JobRole::parse)
        .ok_or_else(|| unusable("role_code is missing or does not end in an R code"))?;
    let activity_codes = texts("activity_codes");
    Ok(Cis2RoleProfile {
        role_profile: RoleProfile {
            id,
            ods_code,
            job_role,
            activities: ActivitySet::expand(activity_codes.iter().map(String::as_str)),
        },
        role_name: text("role_name").map(str::to_string),
        activity_names: texts("activities"),
    })
}
