//! A seeded, deterministic generator of synthetic people and their records, as FHIR R4 transaction Bundles.
//!
//! Person `person_idx` of a seed is made from the seed and the index alone, so people can be generated one at a
//! time, in any order or in parallel, and come out the same on every run. Each person is known to several
//! organisations of Kent and Medway (their GP practice always; hospitals, community, mental health, ambulance, social
//! care and hospice services as their age and health make likely), and each of those sends its own Bundle: its own
//! Patient record (its local identifier and the NHS number) and its records about them.
//!
//! Bundles use three conditional forms that the receiving server must support:
//! - `POST Patient` with `ifNoneExist: identifier=<local system>|<local id>` (create once);
//! - `PUT Organization?identifier=...`, `PUT Practitioner?identifier=...`, `PUT PractitionerRole?identifier=...`
//!   (conditional update by identifier, in [`organisation_bundles`]);
//! - conditional references `Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|<ODS code>`.
//!
//! Records are `PUT Type/<ods>-<local id>-<n>`, so sending a Bundle again changes nothing.
//!
//! [`person_hl7v2_messages`] gives what the person's acute and mental health trusts send of the same records as HL7 v2
//! messages (ADT, ORU, MDM), for replaying a region's feeds over MLLP.
//!
//! [`person_bundles`] gives `serde_json::Value`s; [`person_bundle_texts`] gives the same Bundles as JSON text, several
//! times faster, for loading large populations. [`person_truth`] tells which source patient records are one person,
//! for testing patient matching.
//!
//! Each source records the person with the errors real sources make (typing slips, nicknames, transposed birth dates,
//! old addresses, missing values; rates by kind of organisation in [`identity_error_rates`]), and about 3% of people
//! are twins (people `2k` and `2k + 1`), sharing family name, birth date, address and home phone: the hard cases for a
//! master patient index. The truth is never altered.

#[macro_use]
mod macros;

mod bundle;
mod clinical;
pub mod codes;
mod date;
mod fhir;
pub mod hl7v2;
mod identity;
mod identity_errors;
mod json;
mod names;
mod organisations;
mod person;
mod places;
mod records;
mod rng;
mod short_names;

use serde_json::Value;

pub use date::{Date, RECORDS_AS_AT};
pub use hl7v2::{Hl7v2Message, Hl7v2Sender, hl7v2_senders, person_hl7v2_messages, sends_hl7v2};
pub use identity::{
    NhsNumberStatus, PersonTruth, RecordedAddress, RecordedDemographics, SourcePatientRecord,
    max_people_with_nhs_numbers,
};
pub use identity_errors::{
    AMBULANCE_ERROR_RATES, COUNCIL_ERROR_RATES, GP_PRACTICE_ERROR_RATES, HOSPITAL_ERROR_RATES, IdentityError,
    IdentityErrorRates, day_and_month_transposed, identity_error_rates,
};
pub use organisations::{Organisation, OrganisationKind, organisation, organisations};
pub use person::{Address, Demographics, Gender, TWIN_PAIR_CHANCE};
pub use short_names::short_forms;

use bundle::SourceWriter;
use person::Person;

/// What to generate.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    pub seed: u64,
    pub n_people: usize,
}

/// One transaction Bundle as one source organisation would send it.
#[derive(Clone, Debug)]
pub struct SourceBundle {
    /// ODS code of the organisation that sends this Bundle.
    pub source_ods_code: String,
    pub bundle: Value,
}

/// The organisations of the synthetic region, as one Bundle per organisation (each sends its own Organization).
/// Load these before any person's Bundles: records refer to organisations by ODS code.
pub fn organisation_bundles() -> Vec<SourceBundle> {
    organisations::organisation_bundles()
}

/// The records of person `person_idx` (0-based) under `config`, one Bundle per source organisation that holds any.
pub fn person_bundles(config: &SynthConfig, person_idx: usize) -> Vec<SourceBundle> {
    build_person_bundles(config, person_idx, true)
        .into_iter()
        .map(|(ods_code, bundle)| SourceBundle { source_ods_code: ods_code.to_string(), bundle: bundle.into_value() })
        .collect()
}

/// One transaction Bundle as JSON text, as the source organisation would send it over HTTP.
#[derive(Clone, Debug)]
pub struct SourceBundleText {
    /// ODS code of the organisation that sends this Bundle.
    pub source_ods_code: String,
    pub json: String,
    /// Entries in the Bundle.
    pub n_entries: usize,
}

/// The same Bundles as [`person_bundles`] (parsing each text gives exactly that `Value`), written straight to JSON
/// text. Several times faster than building `serde_json::Value`s, for loading large populations.
pub fn person_bundle_texts(config: &SynthConfig, person_idx: usize) -> Vec<SourceBundleText> {
    bundle_texts(build_person_bundles(config, person_idx, true))
}

/// Only the source Patients of person `person_idx`: each Bundle of [`person_bundle_texts`] cut down to its Patient
/// entry (the same Patient, with the same errors). For loading a person index at the scale of a region without
/// generating everyone's clinical records.
pub fn person_patient_bundle_texts(config: &SynthConfig, person_idx: usize) -> Vec<SourceBundleText> {
    bundle_texts(build_person_bundles(config, person_idx, false))
}

fn bundle_texts(bundles: Vec<(&'static str, json::Json)>) -> Vec<SourceBundleText> {
    bundles
        .into_iter()
        .map(|(ods_code, bundle)| {
            // About a kilobyte a record: one allocation of the right size saves the copies of a growing buffer.
            let n_entries = match bundle.get("entry") {
                Some(json::Json::Array(entries)) => entries.len(),
                _ => 0,
            };
            let mut json = String::with_capacity(1_200 * n_entries + 256);
            bundle.write_text(&mut json);
            SourceBundleText { source_ods_code: ods_code.to_string(), json, n_entries }
        })
        .collect()
}

/// One Bundle per source of the person: the source's Patient, then (`with_records`) everything else it holds.
fn build_person_bundles(
    config: &SynthConfig,
    person_idx: usize,
    with_records: bool,
) -> Vec<(&'static str, json::Json)> {
    config.assert_person(person_idx);
    let person = Person::generate(config, person_idx);
    person
        .sources
        .iter()
        .map(|source| {
            let mut writer = SourceWriter::new(&person, *source);
            if with_records {
                records::write_records(&mut writer);
            }
            (source.organisation.ods_code, writer.finish())
        })
        .collect()
}

/// The truth about person `person_idx`: their real demographics and NHS number, their twin if any, and every source
/// patient record of theirs in [`person_bundles`] (organisation, local identifier, NHS number if held) with the
/// demographics as that source recorded them and the errors it made, so that linking can be evaluated without
/// parsing FHIR.
pub fn person_truth(config: &SynthConfig, person_idx: usize) -> PersonTruth {
    config.assert_person(person_idx);
    identity::person_truth(config, &Person::generate(config, person_idx))
}
