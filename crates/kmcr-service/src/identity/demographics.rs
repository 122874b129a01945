//! What the matcher sees of a FHIR Patient (UK Core): NHS number and its verification status, official name, birth
//! date, gender, home address, phones, and a merge (`link` of type `replaced-by`).

use kmcr_fhir::NhsNumber;
use kmcr_mpi::{Demographics, Sex};
use serde_json::Value;

const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
const VERIFICATION_STATUS_URL: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
/// Number present and verified (UK Core NHSNumberVerificationStatusEngland).
const VERIFIED: &str = "01";

/// Which sources are trusted to say that an NHS number is verified (those that trace against the national spine). A
/// verification claimed by another source is kept in its record but not believed for linking: it would otherwise
/// attach its record to a person at the highest assurance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NhsNumberVerifiers {
    /// Every source is trusted.
    #[default]
    All,
    /// Only these ODS codes.
    Only(std::collections::BTreeSet<String>),
}

impl NhsNumberVerifiers {
    fn trusts(&self, patient: &Value) -> bool {
        match self {
            NhsNumberVerifiers::All => true,
            NhsNumberVerifiers::Only(codes) => source_of(patient).is_some_and(|source| codes.contains(source)),
        }
    }
}

/// The organisation that sent a stored Patient: the `meta.tag` the service sets on every write.
fn source_of(patient: &Value) -> Option<&str> {
    patient
        .pointer("/meta/tag")?
        .as_array()?
        .iter()
        .find(|tag| tag.get("system").and_then(Value::as_str) == Some(crate::SOURCE_ORGANISATION_TAG_SYSTEM))?
        .get("code")?
        .as_str()
}

/// What the matcher sees of a Patient; a claimed verification counts only from a trusted source.
pub fn demographics_of(patient: &Value, verifiers: &NhsNumberVerifiers) -> Demographics {
    let (nhs_number, claimed_verified) = nhs_number_of(patient);
    let nhs_number_verified = claimed_verified && verifiers.trusts(patient);
    let name = preferred(patient.get("name"), "official");
    let address = preferred(patient.get("address"), "home");
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_string);
    Demographics {
        nhs_number,
        nhs_number_verified,
        other_identifier: None,
        given_names: name
            .and_then(|name| name.get("given"))
            .and_then(Value::as_array)
            .map(|given| given.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        family_name: text(name.and_then(|name| name.get("family"))),
        birth_date: text(patient.get("birthDate")),
        sex: patient.get("gender").and_then(Value::as_str).and_then(Sex::parse),
        postcode: text(address.and_then(|address| address.get("postalCode"))),
        address_line: address
            .and_then(|address| address.get("line"))
            .and_then(Value::as_array)
            .and_then(|lines| lines.first())
            .and_then(Value::as_str)
            .map(str::to_string),
        locality: text(address.and_then(|address| address.get("city"))),
        phones: patient
            .get("telecom")
            .and_then(Value::as_array)
            .map(|telecom| {
                telecom
                    .iter()
                    .filter(|contact| contact.get("system").and_then(Value::as_str) == Some("phone"))
                    .filter_map(|contact| contact.get("value").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The Patient this one was merged into, if its source says so (`link.type` `replaced-by`).
pub fn replaced_by(patient: &Value) -> Option<String> {
    patient.get("link")?.as_array()?.iter().find_map(|link| {
        (link.get("type").and_then(Value::as_str) == Some("replaced-by"))
            .then(|| link.get("other")?.get("reference")?.as_str()?.strip_prefix("Patient/").map(str::to_string))
            .flatten()
    })
}

fn nhs_number_of(patient: &Value) -> (Option<NhsNumber>, bool) {
    let Some(identifiers) = patient.get("identifier").and_then(Value::as_array) else { return (None, false) };
    for identifier in identifiers {
        if identifier.get("system").and_then(Value::as_str) != Some(NHS_NUMBER_SYSTEM) {
            continue;
        }
        let Some(number) = identifier.get("value").and_then(Value::as_str).and_then(|v| NhsNumber::parse(v).ok())
        else {
            continue;
        };
        let verified = identifier.get("extension").and_then(Value::as_array).is_some_and(|extensions| {
            extensions.iter().any(|extension| {
                extension.get("url").and_then(Value::as_str) == Some(VERIFICATION_STATUS_URL)
                    && extension.pointer("/valueCodeableConcept/coding").and_then(Value::as_array).is_some_and(
                        |codings| {
                            codings.iter().any(|coding| coding.get("code").and_then(Value::as_str) == Some(VERIFIED))
                        },
                    )
            })
        });
        return (Some(number), verified);
    }
    (None, false)
}

/// The element of `use` wanted, else one without an end date, else the first.
fn preferred<'a>(elements: Option<&'a Value>, wanted_use: &str) -> Option<&'a Value> {
    let elements = elements?.as_array()?;
    elements
        .iter()
        .find(|element| element.get("use").and_then(Value::as_str) == Some(wanted_use))
        .or_else(|| elements.iter().find(|element| element.pointer("/period/end").is_none()))
        .or_else(|| elements.first())
}
