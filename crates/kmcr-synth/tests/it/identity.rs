//! NHS numbers are valid, in the 999 test range and unique; each source's Patient says what the truth says that source
//! recorded.

use std::collections::{HashMap, HashSet};

use kmcr_fhir::{NHS_NUMBER_SYSTEM, NhsNumber};
use kmcr_synth::{NhsNumberStatus, RecordedDemographics, person_bundles, person_truth};

use crate::common::{SEED, config, patient, people};

const VERIFICATION_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";

#[test]
fn nhs_numbers_are_valid_test_numbers_unique_to_each_person() {
    let mut owner_by_number: HashMap<String, usize> = HashMap::new();
    let (mut n_verified, mut n_unverified, mut n_missing) = (0, 0, 0);
    for (person_idx, bundles) in people(3_000) {
        for source in &bundles {
            let patient = patient(&source.bundle);
            let nhs_identifier = patient["identifier"]
                .as_array()
                .expect("identifiers")
                .iter()
                .find(|identifier| identifier["system"] == NHS_NUMBER_SYSTEM);
            let Some(identifier) = nhs_identifier else {
                n_missing += 1;
                continue;
            };
            let digits = identifier["value"].as_str().expect("an NHS number is a string");
            let number =
                NhsNumber::parse(digits).unwrap_or_else(|error| panic!("seed {SEED} person {person_idx}: {error}"));
            assert!(number.is_test_range(), "person {person_idx}: {digits} is outside the 999 range");
            let owner = *owner_by_number.entry(digits.to_string()).or_insert(person_idx);
            assert_eq!(owner, person_idx, "{digits} belongs to two people");
            let verified = identifier["extension"].as_array().is_some_and(|extensions| {
                extensions.iter().any(|extension| {
                    extension["url"] == VERIFICATION_EXTENSION
                        && extension["valueCodeableConcept"]["coding"][0]["code"] == "01"
                })
            });
            if verified { n_verified += 1 } else { n_unverified += 1 }
        }
    }
    println!("NHS numbers: {n_verified} verified, {n_unverified} unverified, {n_missing} missing");
    assert!(owner_by_number.len() >= 3_000);
    assert!(n_unverified > 0 && n_missing > 0, "some ambulance and social care records lack a verified number");
    assert!(n_verified > 20 * (n_unverified + n_missing), "most records carry a verified number");
}

#[test]
fn the_truth_names_each_source_patient_record_and_what_it_recorded() {
    let config = config(500);
    for person_idx in 0..500 {
        let truth = person_truth(&config, person_idx);
        let bundles = person_bundles(&config, person_idx);
        assert_eq!(truth.person_idx, person_idx);
        assert_eq!(truth.source_records.len(), bundles.len(), "person {person_idx}");
        for (record, source) in truth.source_records.iter().zip(&bundles) {
            assert_eq!(record.ods_code, source.source_ods_code);
            let patient = patient(&source.bundle);
            let identifiers = patient["identifier"].as_array().expect("identifiers");
            assert!(identifiers.iter().any(|identifier| identifier["system"] == record.identifier_system.as_str()
                && identifier["value"] == record.identifier_value.as_str()));
            let nhs_number = identifiers
                .iter()
                .find(|identifier| identifier["system"] == NHS_NUMBER_SYSTEM)
                .map(|identifier| identifier["value"].as_str().expect("string").to_string());
            assert_eq!(nhs_number, record.nhs_number.map(|number| number.as_digits()));
            assert_eq!(
                identifiers[0].get("extension").is_some(),
                record.nhs_number_status == NhsNumberStatus::Verified && record.nhs_number.is_some()
            );
            let demographics = &record.demographics;
            assert_eq!(patient["name"][0]["family"], demographics.family_name.as_str());
            assert_eq!(patient["name"][0]["given"][0], demographics.given_names[0].as_str());
            assert_eq!(patient["birthDate"].as_str(), demographics.birth_date.map(|date| date.to_fhir()).as_deref());
            assert_eq!(patient["gender"], demographics.gender.as_fhir());
            assert_eq!(patient["address"][0]["postalCode"].as_str(), demographics.address.postal_code.as_deref());
            assert_eq!(patient["address"][0]["line"][0], demographics.address.lines[0].as_str());
            let phones: Vec<&str> = patient["telecom"]
                .as_array()
                .map_or(Vec::new(), |telecom| telecom.iter().map(|phone| phone["value"].as_str().unwrap()).collect());
            let recorded_phones: Vec<&str> =
                demographics.mobile_phone.iter().chain(&demographics.home_phone).map(String::as_str).collect();
            assert_eq!(phones, recorded_phones);
            if record.identity_errors.is_empty() {
                assert_eq!(demographics, &RecordedDemographics::from(&truth.demographics), "person {person_idx}");
            }
            assert!(record.nhs_number.is_none_or(|number| Some(number) == truth.nhs_number));
        }
    }
}

#[test]
fn local_identifiers_are_unique_within_each_organisation() {
    let config = config(5_000);
    let mut seen = HashSet::new();
    for person_idx in 0..5_000 {
        for record in person_truth(&config, person_idx).source_records {
            assert!(seen.insert((record.ods_code.clone(), record.identifier_value.clone())), "person {person_idx}");
        }
    }
}

#[test]
fn postcodes_and_phone_numbers_have_the_real_formats() {
    let config = config(2_000);
    for person_idx in 0..2_000 {
        let demographics = person_truth(&config, person_idx).demographics;
        let postcode = &demographics.address.postal_code;
        let (district, inward) = postcode.split_once(' ').expect("outward and inward codes");
        assert!(["ME", "CT", "TN", "DA", "BR"].iter().any(|area| district.starts_with(area)), "{postcode}");
        assert!(inward.len() == 3 && inward.as_bytes()[0].is_ascii_digit(), "{postcode}");
        assert!(inward[1..].bytes().all(|byte| b"ABDEFGHJLNPQRSTUWXYZ".contains(&byte)), "{postcode}");
        for phone in demographics.mobile_phone.iter().chain(&demographics.home_phone) {
            assert!(phone.starts_with("07700 900") || phone.starts_with("01632 960"), "{phone}");
            assert_eq!(phone.len(), 12, "{phone}");
        }
    }
}
