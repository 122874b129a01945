//! Shared test material: role profiles, principals and instants.

use kmcr_access::{ActivitySet, AssuranceLevel, JobRole, Principal, RoleProfile, Scope, UserPrincipal};
use kmcr_fhir::{Instant, OdsCode};

/// 2026-01-05T09:00:00Z, a Monday morning.
pub const NOW: Instant = Instant { unix_ms: 1_767_603_600_000 };

pub fn seconds_after(instant: Instant, seconds: i64) -> Instant {
    Instant::from_unix_ms(instant.unix_ms + seconds * 1000)
}

pub fn clinician_role_profile() -> RoleProfile {
    RoleProfile {
        id: "555021935107".to_string(),
        ods_code: OdsCode::parse("RVV").unwrap(),
        job_role: JobRole::parse("S8000:G8000:R8000").unwrap(),
        activities: ActivitySet::expand(["B0360", "D8007:C8008:B1611", "B9999"]),
    }
}

pub fn clinician(session_id: &str) -> Principal {
    Principal::User(UserPrincipal {
        user_id: "555021934106".to_string(),
        session_id: session_id.to_string(),
        role_profile: clinician_role_profile(),
        assurance: AssuranceLevel::Aal3,
        scopes: vec![Scope::parse("user/*.rs").unwrap()],
    })
}
