//! What the decision needs to know about one person, gathered by the service from the store: their source records,
//! their contacts with organisations (from which legitimate relationships are derived), their objections, and the
//! grants users have declared about them.

use kmcr_fhir::OdsCode;

use crate::objections::Objection;

/// One source Patient record of the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRecord {
    pub patient_id: String,
    pub source: OdsCode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContactKind {
    /// Registered with a GP practice: the practice's own record of the person, or `Patient.generalPractitioner`.
    Registration,
    Encounter,
    EpisodeOfCare,
    /// A referral (ServiceRequest) to or from the organisation.
    Referral,
    CareTeam,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Registration => "registered-practice",
            ContactKind::Encounter => "encounter",
            ContactKind::EpisodeOfCare => "episode-of-care",
            ContactKind::Referral => "referral",
            ContactKind::CareTeam => "care-team",
        }
    }
}

/// A contact between the person and an organisation, from the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CareContact {
    pub organisation: OdsCode,
    pub kind: ContactKind,
    pub start_ms: Option<i64>,
    /// `None`: still open.
    pub end_ms: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantKind {
    /// A legitimate relationship the user declared, with a reason.
    DeclaredRelationship,
    /// Emergency access (B0168), with a reason; reviewed by IG afterwards.
    BreakGlass,
    /// Why the user must see sealed items (B1611).
    SensitiveAccess,
    /// Authority to act for the person (a parent for a child, a carer with the person's agreement).
    Proxy,
}

impl GrantKind {
    pub const ALL: [GrantKind; 4] =
        [GrantKind::DeclaredRelationship, GrantKind::BreakGlass, GrantKind::SensitiveAccess, GrantKind::Proxy];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::DeclaredRelationship => "declared-relationship",
            GrantKind::BreakGlass => "break-glass",
            GrantKind::SensitiveAccess => "sensitive-access",
            GrantKind::Proxy => "proxy",
        }
    }

    pub fn parse(text: &str) -> Option<GrantKind> {
        GrantKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// A grant a user made (or was given) about this person, bound to their role profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessGrant {
    pub grant_id: i64,
    pub kind: GrantKind,
    pub user_id: String,
    /// The role profile it was made in: it holds only in that one.
    pub role_profile_id: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

impl AccessGrant {
    pub fn in_force_at(&self, at_ms: i64) -> bool {
        self.from_ms <= at_ms && at_ms < self.to_ms
    }
}

/// Everything about one person that the decision reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonFacts {
    pub person_id: String,
    pub records: Vec<SourceRecord>,
    pub contacts: Vec<CareContact>,
    pub objections: Vec<Objection>,
    pub grants: Vec<AccessGrant>,
}
