//! Who is asking: a person signed in, acting in one role profile, or a system acting for its organisation.

use kmcr_fhir::OdsCode;

use crate::activities::ActivitySet;
use crate::scope::Scope;

/// The SDS job role system; a role is written `S…:G…:R…` and the R code is what the rules read.
pub const SDS_JOB_ROLE_SYSTEM: &str = "https://fhir.nhs.uk/CodeSystem/NHSDigital-SDS-JobRoleCode";
pub const SDS_ROLE_PROFILE_ID_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-role-profile-id";
pub const SDS_USER_ID_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-user-id";

/// An SDS job role: the R code of `S…:G…:R…`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JobRole {
    /// `R8000`.
    pub code: String,
    /// As given (`S8000:G8000:R8000`), for the audit.
    pub full: String,
}

impl JobRole {
    pub const CLINICAL_PRACTITIONER: &str = "R8000";
    pub const NURSE: &str = "R8001";
    pub const HEALTH_PROFESSIONAL: &str = "R8003";
    pub const ADMIN_CLINICAL_SUPPORT: &str = "R8008";
    pub const RECEPTIONIST: &str = "R8009";
    pub const CLERICAL: &str = "R8010";
    pub const HEALTH_RECORDS_MANAGER: &str = "R8013";
    pub const SOCIAL_WORKER: &str = "R8014";
    pub const MIDWIFE: &str = "R8016";
    pub const PRIVACY_OFFICER: &str = "R0001";
    pub const CALDICOTT_GUARDIAN: &str = "R5105";

    /// Reads `S8000:G8000:R8000` or `R8000`; `None` when the last part is not an R code.
    pub fn parse(text: &str) -> Option<JobRole> {
        let code = text.rsplit(':').next()?.trim();
        let well_formed =
            code.len() == 5 && code.starts_with('R') && code[1..].bytes().all(|byte| byte.is_ascii_digit());
        well_formed.then(|| JobRole { code: code.to_string(), full: text.trim().to_string() })
    }

    /// Information governance: reviews break-glass, manages objections, answers who accessed a record.
    pub fn is_information_governance(&self) -> bool {
        matches!(self.code.as_str(), JobRole::PRIVACY_OFFICER | JobRole::CALDICOTT_GUARDIAN)
    }
}

/// A job role at one organisation, with its activities expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleProfile {
    /// The role profile id (`person_roleid` in CIS2).
    pub id: String,
    pub ods_code: OdsCode,
    pub job_role: JobRole,
    pub activities: ActivitySet,
}

/// How sure the identity provider is of who signed in (`acr`). Ordered: a higher level satisfies a lower minimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AssuranceLevel {
    /// No `acr`, or one KMCR does not read: never taken for more than the least.
    Unknown,
    Aal1,
    Aal2,
    Aal3,
}

impl AssuranceLevel {
    /// Reads CIS2's `acr`: `AAL3_ANY` is AAL3; `AAL2_OR_AAL3_ANY` promises only AAL2.
    pub fn from_acr(acr: Option<&str>) -> AssuranceLevel {
        let Some(acr) = acr.map(str::trim) else { return AssuranceLevel::Unknown };
        let levels: Vec<AssuranceLevel> = ["AAL1", "AAL2", "AAL3"]
            .iter()
            .zip([AssuranceLevel::Aal1, AssuranceLevel::Aal2, AssuranceLevel::Aal3])
            .filter(|(name, _)| acr.split(|c: char| !c.is_ascii_alphanumeric()).any(|part| part == **name))
            .map(|(_, level)| level)
            .collect();
        levels.into_iter().min().unwrap_or(AssuranceLevel::Unknown)
    }

    pub fn parse(text: &str) -> Option<AssuranceLevel> {
        match text.trim().to_ascii_uppercase().as_str() {
            "AAL1" => Some(AssuranceLevel::Aal1),
            "AAL2" => Some(AssuranceLevel::Aal2),
            "AAL3" => Some(AssuranceLevel::Aal3),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AssuranceLevel::Unknown => "unknown",
            AssuranceLevel::Aal1 => "AAL1",
            AssuranceLevel::Aal2 => "AAL2",
            AssuranceLevel::Aal3 => "AAL3",
        }
    }
}

/// A person signed in, acting in one role profile for this token or session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPrincipal {
    /// `nhsid_useruid`, or a local account's id.
    pub user_id: String,
    /// The sign-in session the token belongs to: signing out or revoking ends it.
    pub session_id: String,
    pub role_profile: RoleProfile,
    pub assurance: AssuranceLevel,
    /// The SMART `user/` scopes the application was granted (the viewer holds `user/*.rs`).
    pub scopes: Vec<Scope>,
}

/// A system acting for its organisation (OAuth2 client credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemPrincipal {
    pub client_id: String,
    pub ods_code: OdsCode,
    pub scopes: Vec<Scope>,
    /// A named exception in configuration: may read every person's record (an analytics extract), for this purpose.
    pub region_wide: Option<RegionWideReading>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionWideReading {
    /// Why, as configured (shown in the audit of every read).
    pub justification: String,
    /// Secondary use (analytics) applies the national data opt-out; direct care does not.
    pub secondary_use: bool,
}

/// A member of the public signed in to "My Care Record": the person themself, or someone acting for others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientPrincipal {
    pub user_id: String,
    pub session_id: String,
    /// Their own source Patient records, as verified at sign-in (none for someone who is only a proxy).
    pub own_patient_ids: Vec<String>,
    pub scopes: Vec<Scope>,
}

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    User(UserPrincipal),
    System(SystemPrincipal),
    Patient(PatientPrincipal),
}

/// The organisation a member of the public acts for: none, written as KMCR's own code in the audit.
pub const PUBLIC_ODS_PLACEHOLDER: &str = "PUBLIC";

impl Principal {
    /// The user id or client id.
    pub fn id(&self) -> &str {
        match self {
            Principal::User(user) => &user.user_id,
            Principal::System(system) => &system.client_id,
            Principal::Patient(patient) => &patient.user_id,
        }
    }

    /// The organisation acted for: the role profile's, or the system's; none for a member of the public.
    pub fn ods_code(&self) -> Option<&OdsCode> {
        match self {
            Principal::User(user) => Some(&user.role_profile.ods_code),
            Principal::System(system) => Some(&system.ods_code),
            Principal::Patient(_) => None,
        }
    }

    /// The organisation acted for as the audit writes it.
    pub fn ods_code_text(&self) -> &str {
        self.ods_code().map_or(PUBLIC_ODS_PLACEHOLDER, OdsCode::as_str)
    }

    pub fn scopes(&self) -> &[Scope] {
        match self {
            Principal::User(user) => &user.scopes,
            Principal::System(system) => &system.scopes,
            Principal::Patient(patient) => &patient.scopes,
        }
    }

    pub fn role_profile(&self) -> Option<&RoleProfile> {
        match self {
            Principal::User(user) => Some(&user.role_profile),
            _ => None,
        }
    }

    /// The sign-in session a user's or patient's token belongs to.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Principal::User(user) => Some(&user.session_id),
            Principal::Patient(patient) => Some(&patient.session_id),
            Principal::System(_) => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Principal::User(_) => "user",
            Principal::System(_) => "system",
            Principal::Patient(_) => "patient",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assurance_is_never_read_higher_than_promised() {
        assert_eq!(AssuranceLevel::from_acr(Some("AAL3_ANY")), AssuranceLevel::Aal3);
        assert_eq!(AssuranceLevel::from_acr(Some("AAL2_OR_AAL3_ANY")), AssuranceLevel::Aal2);
        assert_eq!(AssuranceLevel::from_acr(None), AssuranceLevel::Unknown);
        assert_eq!(AssuranceLevel::from_acr(Some("urn:something")), AssuranceLevel::Unknown);
    }

    #[test]
    fn job_roles_are_read_from_their_last_part() {
        assert_eq!(JobRole::parse("S8000:G8000:R8000").unwrap().code, "R8000");
        assert!(JobRole::parse("S8000:G8000:X8000").is_none());
    }
}
