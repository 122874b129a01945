//! The organisations of the synthetic region, each sending its own Organization (with a few staff) as a transaction
//! Bundle that can be loaded again without harm.
//!
//! The NHS trust codes are the real ODS codes of the real trusts. The GP practice codes have the real format (G82 is
//! the Kent prefix) but the practices are invented, as are the council, hospice and local identifier systems.

use crate::SourceBundle;
use crate::codes::{ORGANIZATION_TYPE, SDS_JOB_ROLE_SYSTEM, SDS_ROLE_PROFILE_ID_SYSTEM, SDS_USER_ID_SYSTEM};
use crate::fhir::{conditional_url, organisation_reference, urn_uuid};
use crate::json::Json;
use crate::rng::{Rng, hash_words, stream};

/// What kind of service an organisation runs; it decides which records it keeps.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum OrganisationKind {
    GpPractice,
    AcuteTrust,
    MentalHealthTrust,
    CommunityTrust,
    AmbulanceTrust,
    LocalAuthority,
    Hospice,
}

/// One organisation of the region.
#[derive(Debug)]
pub struct Organisation {
    pub ods_code: &'static str,
    pub name: &'static str,
    pub kind: OrganisationKind,
    pub address_line: &'static str,
    pub town: &'static str,
    pub postcode: &'static str,
    /// The system of this organisation's own patient identifiers (GP patient number, hospital MRN, case number).
    pub patient_id_system: &'static str,
    /// Letters before the digits of a local patient identifier.
    pub patient_id_prefix: &'static str,
}

/// Every organisation of the region.
pub fn organisations() -> &'static [Organisation] {
    ORGANISATIONS
}

/// The organisation with an ODS code, if it is one of the region's.
pub fn organisation(ods_code: &str) -> Option<&'static Organisation> {
    ORGANISATIONS.iter().find(|organisation| organisation.ods_code == ods_code)
}

pub(crate) fn organisation_index(ods_code: &str) -> usize {
    ORGANISATIONS
        .iter()
        .position(|organisation| organisation.ods_code == ods_code)
        .unwrap_or_else(|| panic!("{ods_code} is not one of the region's organisations"))
}

const fn gp(
    ods_code: &'static str,
    name: &'static str,
    address_line: &'static str,
    town: &'static str,
    postcode: &'static str,
    patient_id_system: &'static str,
) -> Organisation {
    Organisation {
        ods_code,
        name,
        kind: OrganisationKind::GpPractice,
        address_line,
        town,
        postcode,
        patient_id_system,
        patient_id_prefix: "",
    }
}

#[allow(clippy::too_many_arguments)]
const fn provider(
    ods_code: &'static str,
    name: &'static str,
    kind: OrganisationKind,
    address_line: &'static str,
    town: &'static str,
    postcode: &'static str,
    patient_id_system: &'static str,
    patient_id_prefix: &'static str,
) -> Organisation {
    Organisation { ods_code, name, kind, address_line, town, postcode, patient_id_system, patient_id_prefix }
}

use OrganisationKind::{AcuteTrust, AmbulanceTrust, CommunityTrust, Hospice, LocalAuthority, MentalHealthTrust};

static ORGANISATIONS: &[Organisation] = &[
    gp(
        "G82001",
        "Bower Mount Medical Practice",
        "12 Bower Mount Road",
        "Maidstone",
        "ME16 8AU",
        "https://fhir.g82001.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82002",
        "Dock Road Surgery",
        "40 Dock Road",
        "Chatham",
        "ME4 4JR",
        "https://fhir.g82002.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82003",
        "Canterbury Street Medical Centre",
        "205 Canterbury Street",
        "Gillingham",
        "ME7 5TS",
        "https://fhir.g82003.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82004",
        "Westgate Grove Surgery",
        "3 Westgate Grove",
        "Canterbury",
        "CT2 8AA",
        "https://fhir.g82004.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82005",
        "Northdown Road Practice",
        "118 Northdown Road",
        "Margate",
        "CT9 2RE",
        "https://fhir.g82005.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82006",
        "Stour Valley Medical Practice",
        "Elwick Road",
        "Ashford",
        "TN23 1PE",
        "https://fhir.g82006.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82007",
        "Calverley Park Surgery",
        "5 Calverley Road",
        "Tunbridge Wells",
        "TN1 2TE",
        "https://fhir.g82007.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82008",
        "Darenth Road Practice",
        "64 Darenth Road",
        "Dartford",
        "DA1 1LU",
        "https://fhir.g82008.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82009",
        "Windmill Street Surgery",
        "20 Windmill Street",
        "Gravesend",
        "DA12 1BA",
        "https://fhir.g82009.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82010",
        "Harbour Medical Practice",
        "Tontine Street",
        "Folkestone",
        "CT20 1JR",
        "https://fhir.g82010.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82011",
        "Vine Court Medical Centre",
        "Vine Court Road",
        "Sevenoaks",
        "TN13 3UY",
        "https://fhir.g82011.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82012",
        "Bevan Place Health Centre",
        "Bevan Place",
        "Swanley",
        "BR8 8BH",
        "https://fhir.g82012.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82013",
        "Medway Valley Practice",
        "Hall Road",
        "Aylesford",
        "ME20 7QZ",
        "https://fhir.g82013.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82014",
        "Esplanade Surgery",
        "The Esplanade",
        "Rochester",
        "ME1 1QE",
        "https://fhir.g82014.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82015",
        "Milton Regis Surgery",
        "High Street",
        "Sittingbourne",
        "ME10 2AR",
        "https://fhir.g82015.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82016",
        "Sheppey Broadway Practice",
        "Broadway",
        "Sheerness",
        "ME12 1HH",
        "https://fhir.g82016.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82017",
        "Central Parade Surgery",
        "Central Parade",
        "Herne Bay",
        "CT6 5JN",
        "https://fhir.g82017.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82018",
        "Royal Parade Practice",
        "Royal Parade",
        "Ramsgate",
        "CT11 8LP",
        "https://fhir.g82018.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82019",
        "Maison Dieu Medical Centre",
        "Maison Dieu Road",
        "Dover",
        "CT16 1RH",
        "https://fhir.g82019.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82020",
        "Beach Street Surgery",
        "Beach Street",
        "Deal",
        "CT14 6HY",
        "https://fhir.g82020.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82021",
        "Abbey Street Practice",
        "Abbey Street",
        "Faversham",
        "ME13 7BE",
        "https://fhir.g82021.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82022",
        "Medway Wharf Surgery",
        "Medway Wharf Road",
        "Tonbridge",
        "TN9 1RE",
        "https://fhir.g82022.nhs.uk/Id/patient-number",
    ),
    gp(
        "G82023",
        "Harbour Street Surgery",
        "Harbour Street",
        "Whitstable",
        "CT5 1AQ",
        "https://fhir.g82023.nhs.uk/Id/patient-number",
    ),
    provider(
        "RWF",
        "Maidstone and Tunbridge Wells NHS Trust",
        AcuteTrust,
        "Hermitage Lane",
        "Maidstone",
        "ME16 9QQ",
        "https://fhir.mtw.nhs.uk/Id/mrn",
        "MTW",
    ),
    provider(
        "RVV",
        "East Kent Hospitals University NHS Foundation Trust",
        AcuteTrust,
        "Ethelbert Road",
        "Canterbury",
        "CT1 3NG",
        "https://fhir.ekhuft.nhs.uk/Id/mrn",
        "EK",
    ),
    provider(
        "RPA",
        "Medway NHS Foundation Trust",
        AcuteTrust,
        "Windmill Road",
        "Gillingham",
        "ME7 5NY",
        "https://fhir.medway.nhs.uk/Id/mrn",
        "MM",
    ),
    provider(
        "RN7",
        "Dartford and Gravesham NHS Trust",
        AcuteTrust,
        "Darenth Wood Road",
        "Dartford",
        "DA2 8DA",
        "https://fhir.dgt.nhs.uk/Id/mrn",
        "DV",
    ),
    provider(
        "RXY",
        "Kent and Medway NHS and Social Care Partnership Trust",
        MentalHealthTrust,
        "Hermitage Lane",
        "Maidstone",
        "ME16 9PH",
        "https://fhir.kmpt.nhs.uk/Id/rio-client-id",
        "",
    ),
    provider(
        "RYY",
        "Kent Community Health NHS Foundation Trust",
        CommunityTrust,
        "Upper Pemberton",
        "Ashford",
        "TN25 4AZ",
        "https://fhir.kentcht.nhs.uk/Id/patient-id",
        "KC",
    ),
    provider(
        "RYD",
        "South East Coast Ambulance Service NHS Foundation Trust",
        AmbulanceTrust,
        "4 Gatwick Road",
        "Crawley",
        "RH10 9BG",
        "https://fhir.secamb.nhs.uk/Id/epr-patient-id",
        "EPR",
    ),
    provider(
        "886",
        "Kent County Council",
        LocalAuthority,
        "County Road",
        "Maidstone",
        "ME14 1XQ",
        "https://fhir.kent.gov.uk/Id/social-care-person-id",
        "",
    ),
    provider(
        "887",
        "Medway Council",
        LocalAuthority,
        "Dock Road",
        "Chatham",
        "ME4 4TR",
        "https://fhir.medway.gov.uk/Id/social-care-person-id",
        "MC",
    ),
    provider(
        "8PH10",
        "Pilgrims Hospices in East Kent",
        Hospice,
        "Ethelbert Road",
        "Canterbury",
        "CT1 3NF",
        "https://fhir.pilgrimshospices.org/Id/patient-id",
        "PH",
    ),
    provider(
        "8HK20",
        "Heart of Kent Hospice",
        Hospice,
        "Preston Hall",
        "Aylesford",
        "ME20 7PU",
        "https://fhir.hokh.org/Id/patient-id",
        "HK",
    ),
];

/// One transaction Bundle per organisation: its Organization and two members of staff with their role profiles,
/// each a conditional update by identifier so that loading the Bundle twice changes nothing.
pub(crate) fn organisation_bundles() -> Vec<SourceBundle> {
    ORGANISATIONS
        .iter()
        .enumerate()
        .map(|(organisation_idx, organisation)| SourceBundle {
            source_ods_code: organisation.ods_code.to_string(),
            bundle: organisation_bundle(organisation_idx, organisation).into_value(),
        })
        .collect()
}

fn organisation_bundle(organisation_idx: usize, organisation: &Organisation) -> Json {
    let mut rng = Rng::from_words(&[stream::ORGANISATIONS, organisation_idx as u64]);
    let mut entries = Vec::with_capacity(5);
    entries.push(object! {
        "fullUrl": urn_uuid(&mut rng),
        "resource": organization_resource(organisation),
        "request": object! {
            "method": "PUT",
            "url": conditional_url("Organization", kmcr_fhir::ODS_CODE_SYSTEM, organisation.ods_code),
        },
    });
    for (staff_idx, (job_role_code, job_role)) in staff_roles(organisation.kind).iter().enumerate() {
        let seed = hash_words(&[stream::ORGANISATIONS, organisation_idx as u64, staff_idx as u64]);
        let user_id = twelve_digits(seed);
        let role_profile_id = twelve_digits(seed.rotate_left(32));
        let practitioner_url = urn_uuid(&mut rng);
        let (given, family) = STAFF_NAMES[(organisation_idx * 2 + staff_idx) % STAFF_NAMES.len()];
        entries.push(object! {
            "fullUrl": practitioner_url.clone(),
            "resource": object! {
                "resourceType": "Practitioner",
                "identifier": array![object! { "system": SDS_USER_ID_SYSTEM, "value": user_id.clone() }],
                "active": true,
                "name": array![object! { "use": "official", "family": family, "given": array![given] }],
            },
            "request": object! {
                "method": "PUT",
                "url": conditional_url("Practitioner", SDS_USER_ID_SYSTEM, &user_id),
            },
        });
        entries.push(object! {
            "fullUrl": urn_uuid(&mut rng),
            "resource": object! {
                "resourceType": "PractitionerRole",
                "identifier": array![object! {
                    "system": SDS_ROLE_PROFILE_ID_SYSTEM,
                    "value": role_profile_id.clone(),
                }],
                "active": true,
                "practitioner": object! { "reference": practitioner_url },
                "organization": organisation_reference(organisation),
                "code": array![object! {
                    "coding": array![object! {
                        "system": SDS_JOB_ROLE_SYSTEM,
                        "code": *job_role_code,
                        "display": *job_role,
                    }],
                }],
            },
            "request": object! {
                "method": "PUT",
                "url": conditional_url("PractitionerRole", SDS_ROLE_PROFILE_ID_SYSTEM, &role_profile_id),
            },
        });
    }
    object! { "resourceType": "Bundle", "type": "transaction", "entry": entries }
}

fn organization_resource(organisation: &Organisation) -> Json {
    let (type_code, type_display) = match organisation.kind {
        OrganisationKind::LocalAuthority => ("govt", "Government"),
        _ => ("prov", "Healthcare Provider"),
    };
    object! {
        "resourceType": "Organization",
        "identifier": array![object! { "system": kmcr_fhir::ODS_CODE_SYSTEM, "value": organisation.ods_code }],
        "active": true,
        "type": array![object! {
            "coding": array![object! { "system": ORGANIZATION_TYPE, "code": type_code, "display": type_display }],
        }],
        "name": organisation.name,
        "telecom": array![object! { "system": "phone", "value": organisation_phone(organisation), "use": "work" }],
        "address": array![object! {
            "use": "work",
            "line": array![organisation.address_line],
            "city": organisation.town,
            "postalCode": organisation.postcode,
            "country": "GB",
        }],
    }
}

/// A number in the Ofcom drama range 01632 960000-960999, the same for an organisation every time.
fn organisation_phone(organisation: &Organisation) -> String {
    let digits: u64 = organisation.ods_code.bytes().fold(0, |hash, byte| hash * 31 + u64::from(byte)) % 1000;
    format!("01632 960{digits:03}")
}

fn twelve_digits(seed: u64) -> String {
    format!("{:012}", 100_000_000_000 + seed % 900_000_000_000)
}

/// The National RBAC job roles (R8000 clinical practitioner, R8001 nurse, R8014 social worker) of the staff sent.
fn staff_roles(kind: OrganisationKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        OrganisationKind::LocalAuthority => {
            &[("R8014", "Social Worker"), ("R8008", "Admin/Clinical Support Access Role")]
        }
        OrganisationKind::CommunityTrust | OrganisationKind::Hospice => {
            &[("R8001", "Nurse Access Role"), ("R8000", "Clinical Practitioner Access Role")]
        }
        _ => &[("R8000", "Clinical Practitioner Access Role"), ("R8001", "Nurse Access Role")],
    }
}

const STAFF_NAMES: &[(&str, &str)] = &[
    ("Helen", "Ashdown"),
    ("Rajesh", "Mistry"),
    ("Claire", "Penfold"),
    ("Tom", "Hollands"),
    ("Amara", "Okoye"),
    ("Gareth", "Pryce"),
    ("Sunita", "Rai"),
    ("Mark", "Wenham"),
    ("Joanna", "Kowalczyk"),
    ("David", "Finn"),
    ("Priya", "Shah"),
    ("Sarah", "Coveney"),
    ("Michael", "Drury"),
];
