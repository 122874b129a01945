//! The organisations party to the sharing agreement: who may send data and who may read it.

use std::collections::BTreeMap;

use kmcr_fhir::OdsCode;

/// What kind of service an organisation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrganisationKind {
    GpPractice,
    Acute,
    Community,
    MentalHealth,
    Ambulance,
    AdultSocialCare,
    ChildrensSocialCare,
    Hospice,
    /// A service whose very existence in a record says something sensitive (a sexual health clinic, a gender
    /// identity clinic, a fertility unit): its data is sealed, as sensitive items are.
    SensitiveService,
}

impl OrganisationKind {
    pub const ALL: [OrganisationKind; 9] = [
        OrganisationKind::GpPractice,
        OrganisationKind::Acute,
        OrganisationKind::Community,
        OrganisationKind::MentalHealth,
        OrganisationKind::Ambulance,
        OrganisationKind::AdultSocialCare,
        OrganisationKind::ChildrensSocialCare,
        OrganisationKind::Hospice,
        OrganisationKind::SensitiveService,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrganisationKind::GpPractice => "gp-practice",
            OrganisationKind::Acute => "acute",
            OrganisationKind::Community => "community",
            OrganisationKind::MentalHealth => "mental-health",
            OrganisationKind::Ambulance => "ambulance",
            OrganisationKind::AdultSocialCare => "adult-social-care",
            OrganisationKind::ChildrensSocialCare => "childrens-social-care",
            OrganisationKind::Hospice => "hospice",
            OrganisationKind::SensitiveService => "sensitive-service",
        }
    }

    pub fn parse(text: &str) -> Option<OrganisationKind> {
        OrganisationKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// One organisation of the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organisation {
    pub ods_code: OdsCode,
    pub name: String,
    pub kind: OrganisationKind,
    /// False once it has left the agreement: its data leaves every view, its users and systems read nothing.
    pub party_to_agreement: bool,
}

impl Organisation {
    /// Whether data it sent is sealed by where it came from.
    pub fn is_sensitive_source(&self) -> bool {
        self.kind == OrganisationKind::SensitiveService
    }
}

/// Every organisation KMCR knows, by ODS code.
#[derive(Clone, Debug, Default)]
pub struct OrganisationRegistry {
    by_code: BTreeMap<OdsCode, Organisation>,
}

impl OrganisationRegistry {
    pub fn new(organisations: impl IntoIterator<Item = Organisation>) -> OrganisationRegistry {
        OrganisationRegistry {
            by_code: organisations
                .into_iter()
                .map(|organisation| (organisation.ods_code.clone(), organisation))
                .collect(),
        }
    }

    pub fn get(&self, ods_code: &OdsCode) -> Option<&Organisation> {
        self.by_code.get(ods_code)
    }

    pub fn get_str(&self, ods_code: &str) -> Option<&Organisation> {
        OdsCode::parse(ods_code).ok().and_then(|code| self.by_code.get(&code))
    }

    pub fn is_party(&self, ods_code: &OdsCode) -> bool {
        self.get(ods_code).is_some_and(|organisation| organisation.party_to_agreement)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Organisation> {
        self.by_code.values()
    }

    /// Sources whose data no one sees, whatever else is decided: organisations that are not party (any more).
    pub fn non_party_codes(&self) -> impl Iterator<Item = &OdsCode> {
        self.by_code
            .values()
            .filter(|organisation| !organisation.party_to_agreement)
            .map(|organisation| &organisation.ods_code)
    }

    /// Sources whose data is sealed by what they are.
    pub fn sensitive_source_codes(&self) -> impl Iterator<Item = &OdsCode> {
        self.by_code
            .values()
            .filter(|organisation| organisation.is_sensitive_source())
            .map(|organisation| &organisation.ods_code)
    }
}
