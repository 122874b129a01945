//! Every resource passes `kmcr_fhir::validate_resource`, every Bundle is a well-formed transaction, dates are FHIR
//! dates, and every SNOMED CT or dm+d code the generator writes carries a valid check digit.

use std::collections::HashSet;

use kmcr_fhir::{OdsCode, ResourceId, validate_resource};
use kmcr_synth::{SourceBundle, organisation, organisation_bundles};
use serde_json::Value;

use crate::common::{SEED, entries, people, resource_type, walk};

fn check_transaction(source: &SourceBundle, context: &str) {
    let bundle = &source.bundle;
    assert_eq!(bundle["resourceType"], "Bundle", "{context}");
    assert_eq!(bundle["type"], "transaction", "{context}");
    assert!(OdsCode::parse(&source.source_ods_code).is_ok(), "{context}: ODS code {}", source.source_ods_code);
    assert!(organisation(&source.source_ods_code).is_some(), "{context}");
    let mut full_urls = HashSet::new();
    for entry in entries(bundle) {
        let resource = &entry["resource"];
        if let Err(error) = validate_resource(resource) {
            panic!("{context}: {error}\n{resource:#}");
        }
        let full_url = entry["fullUrl"].as_str().expect("every entry has a fullUrl");
        assert!(full_url.starts_with("urn:uuid:") && full_url.len() == 45, "{context}: {full_url}");
        assert!(full_urls.insert(full_url), "{context}: {full_url} is used twice");
        let method = entry["request"]["method"].as_str().expect("every entry has a request method");
        let url = entry["request"]["url"].as_str().expect("every entry has a request url");
        let resource_type = resource_type(entry);
        match method {
            "POST" => {
                assert_eq!(resource_type, "Patient", "{context}: only the Patient is created conditionally");
                assert_eq!(url, "Patient");
                let condition = entry["request"]["ifNoneExist"].as_str().expect("the Patient is created once");
                let (system, value) =
                    condition.strip_prefix("identifier=").and_then(|rest| rest.split_once('|')).expect("by identifier");
                let identifiers = resource["identifier"].as_array().expect("the Patient has identifiers");
                assert!(
                    identifiers.iter().any(|identifier| identifier["system"] == system && identifier["value"] == value),
                    "{context}: ifNoneExist names an identifier of the Patient"
                );
            }
            "PUT" if url.contains('?') => {
                let (type_in_url, query) = url.split_once('?').expect("a conditional update");
                assert_eq!(type_in_url, resource_type, "{context}");
                let (system, value) = query.strip_prefix("identifier=").and_then(|q| q.split_once('|')).expect("by id");
                let identifiers = resource["identifier"].as_array().expect("conditional updates carry identifiers");
                assert!(
                    identifiers.iter().any(|identifier| identifier["system"] == system && identifier["value"] == value)
                );
            }
            "PUT" => {
                let id = resource["id"].as_str().expect("a PUT resource carries its id");
                assert_eq!(url, format!("{resource_type}/{id}"), "{context}");
                assert!(ResourceId::parse(id).is_ok() && id.len() <= 64, "{context}: id {id}");
                assert!(
                    id.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-'),
                    "{context}: id {id} is lower-case letters, digits and dashes"
                );
            }
            other => panic!("{context}: unexpected method {other}"),
        }
        check_dates(resource, context);
    }
}

/// Dates are `YYYY-MM-DD`; dateTimes and instants carry seconds and a zone.
fn check_dates(resource: &Value, context: &str) {
    const DATE_KEYS: &[&str] = &["birthDate", "onsetDateTime", "abatementDateTime", "recordedDate", "start", "end"];
    const DATE_TIME_KEYS: &[&str] = &[
        "effectiveDateTime",
        "authoredOn",
        "occurrenceDateTime",
        "recorded",
        "issued",
        "date",
        "created",
        "dateAsserted",
        "performedDateTime",
        "creation",
    ];
    walk(resource, &mut |key, value| {
        let Some(text) = value.as_str() else { return };
        if DATE_KEYS.contains(&key) {
            assert!(is_date(text) || is_date_time(text), "{context}: {key} = {text}");
        }
        if DATE_TIME_KEYS.contains(&key) {
            assert!(is_date_time(text) || (key == "recordedDate" && is_date(text)), "{context}: {key} = {text}");
        }
    });
}

fn is_date(text: &str) -> bool {
    kmcr_fhir::validate::is_fhir_date(text) && text.len() == 10
}

fn is_date_time(text: &str) -> bool {
    let Some((date, time)) = text.split_once('T') else { return false };
    let zone_ok = time.ends_with('Z') || time.ends_with("+00:00") || time.ends_with("+01:00");
    let clock = time.trim_end_matches('Z').trim_end_matches("+00:00").trim_end_matches("+01:00");
    let parts: Vec<&str> = clock.split(':').collect();
    is_date(date)
        && zone_ok
        && parts.len() == 3
        && parts.iter().all(|part| part.len() == 2 && part.bytes().all(|byte| byte.is_ascii_digit()))
        && parts[0] < "24"
        && parts[1] < "60"
        && parts[2] < "60"
}

#[test]
fn every_resource_of_the_first_500_people_is_valid() {
    let mut n_resources = 0;
    for (person_idx, bundles) in people(500) {
        assert!(!bundles.is_empty(), "person {person_idx} has at least a GP record");
        for source in &bundles {
            check_transaction(source, &format!("seed {SEED} person {person_idx} source {}", source.source_ods_code));
            n_resources += entries(&source.bundle).len();
        }
    }
    println!("validated {n_resources} resources of 500 people");
}

#[test]
fn organisation_bundles_are_valid() {
    let bundles = organisation_bundles();
    assert!(bundles.len() >= 30);
    for source in &bundles {
        check_transaction(source, &format!("organisation {}", source.source_ods_code));
        let organization = &entries(&source.bundle)[0]["resource"];
        assert_eq!(organization["resourceType"], "Organization");
        assert_eq!(organization["identifier"][0]["system"], kmcr_fhir::ODS_CODE_SYSTEM);
        assert_eq!(organization["identifier"][0]["value"], source.source_ods_code.as_str());
    }
}

/// The Verhoeff check digit that ends every SNOMED CT identifier (and so every dm+d code).
fn verhoeff_valid(code: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    code.len() >= 6
        && code.bytes().all(|byte| byte.is_ascii_digit())
        && code.bytes().rev().enumerate().fold(0u8, |check, (position, byte)| {
            D[usize::from(check)][usize::from(P[position % 8][usize::from(byte - b'0')])]
        }) == 0
}

#[test]
fn every_snomed_and_dmd_code_has_a_valid_check_digit() {
    assert!(verhoeff_valid("38341003") && !verhoeff_valid("38341004"));
    let mut codes = HashSet::new();
    for (_, bundles) in people(300) {
        for source in &bundles {
            collect_codes(&source.bundle, &mut codes);
        }
    }
    let invalid: Vec<&String> = codes.iter().filter(|code| !verhoeff_valid(code)).collect();
    assert!(invalid.is_empty(), "codes with a wrong check digit: {invalid:?}");
    println!("{} distinct SNOMED CT and dm+d codes checked", codes.len());
}

fn collect_codes(value: &Value, codes: &mut HashSet<String>) {
    match value {
        Value::Object(object) => {
            let system = object.get("system").and_then(Value::as_str);
            if matches!(system, Some("http://snomed.info/sct" | "https://dmd.nhs.uk")) {
                codes.insert(object["code"].as_str().expect("codings have codes").to_string());
            }
            object.values().for_each(|member| collect_codes(member, codes));
        }
        Value::Array(items) => items.iter().for_each(|item| collect_codes(item, codes)),
        _ => {}
    }
}
