//! The access decision, pure: who (a user in one role profile, a system for its organisation, a member of the public),
//! for which purpose, on which person, which items with which sources and labels, under which objections and
//! policies in force at that moment -> what may be returned, what is withheld, and why. Every read and write of
//! patient data asks it, through the service layer; the audit entry records its answer. Nothing here performs I/O.

pub mod activities;
pub mod decide;
pub mod facts;
pub mod information_governance;
pub mod interactions;
pub mod labels;
pub mod objections;
pub mod organisations;
pub mod ownership;
pub mod principal;
pub mod purpose;
pub mod scope;

pub use activities::{Activity, ActivitySet};
pub use decide::{
    AccessSettings, ClinicalAccess, ItemFacts, ItemVerdict, PersonDecision, RecordView, Rules, SensitiveAccess,
    WithholdReason, Withholding, decide_person,
};
pub use facts::{AccessGrant, CareContact, ContactKind, GrantKind, PersonFacts, SourceRecord};
pub use information_governance::{InformationGovernanceScope, information_governance_scope};
pub use interactions::{PopulationDecision, Verdict, decide_interaction, decide_population, decide_write_over};
pub use labels::{CodeRule, CodeRules, SensitiveCategory, Sensitivity, sensitivity_of};
pub use objections::{Objection, ObjectionKind, Policy, objection_from_consent};
pub use organisations::{Organisation, OrganisationKind, OrganisationRegistry};
pub use ownership::decide_write_by;
pub use principal::{
    AssuranceLevel, JobRole, PatientPrincipal, Principal, RegionWideReading, RoleProfile, SystemPrincipal,
    UserPrincipal,
};
pub use purpose::Purpose;
pub use scope::{Interaction, Scope, ScopeContext, ScopeError};
