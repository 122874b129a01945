//! The Synthea bundles: every resource extracts, at what rate, and every clinical item finds its patient.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kmcr_fhir::ResourceType;
use kmcr_fhir_search::{IndexValue, SearchParamRegistry, extract_index_entries, owning_patient_id};
use serde_json::Value;

use crate::{read_json, shared_data};

const CLINICAL_TYPES: &[&str] = &["Observation", "Encounter", "Condition"];

#[test]
fn synthea_resources_extract_and_find_their_patient() {
    let registry = SearchParamRegistry::official_r4();
    let mut paths: Vec<_> =
        std::fs::read_dir(shared_data("synthea-r4")).unwrap().map(|entry| entry.unwrap().path()).collect();
    paths.sort();
    let (mut n_resources, mut n_entries, mut n_clinical, mut extraction_time) = (0, 0, 0, Duration::ZERO);
    for path in &paths {
        let mut bundle = read_json(path);
        let started = Instant::now();
        for resource in bundle_resources(&bundle) {
            n_entries += extract_index_entries(registry, resource).len();
            n_resources += 1;
        }
        extraction_time += started.elapsed();
        check_urn_references_are_urls(registry, &bundle, path);
        rewrite_urn_references(&mut bundle);
        n_clinical += check_owning_patient(registry, &bundle, path);
    }
    let rate = n_resources as f64 / extraction_time.as_secs_f64();
    println!(
        "extraction rate: {n_resources} Synthea resources ({n_entries} entries) in {} ms: {rate:.0} resources/s",
        extraction_time.as_millis()
    );
    assert_eq!(paths.len(), 103);
    assert!(n_clinical > 10_000, "{n_clinical}");
}

fn bundle_resources(bundle: &Value) -> impl Iterator<Item = &Value> {
    bundle["entry"].as_array().unwrap().iter().map(|entry| &entry["resource"])
}

/// As sent, references are `urn:uuid:...`: kept whole as URLs under `subject` (which takes any type), while `patient`
/// (`subject.where(resolve() is Patient)`) cannot tell their type and yields nothing.
fn check_urn_references_are_urls(registry: &SearchParamRegistry, bundle: &Value, path: &std::path::Path) {
    for resource in bundle_resources(bundle).filter(|resource| resource["resourceType"] == "Observation") {
        let entries = extract_index_entries(registry, resource);
        let subject = entries.iter().find(|entry| entry.param_code == "subject").map(|entry| &entry.value);
        let Some(IndexValue::Reference { url: Some(url), target_type: None, target_id: None }) = subject else {
            panic!("{}: Observation/{} subject entry {subject:?}", path.display(), resource["id"]);
        };
        assert!(url.starts_with("urn:uuid:"), "{url}");
        assert!(!entries.iter().any(|entry| entry.param_code == "patient"));
    }
}

/// What a server does with a transaction: `urn:uuid:` references become `Type/id` of the entries they name.
fn rewrite_urn_references(bundle: &mut Value) {
    let mut local_references = HashMap::new();
    for entry in bundle["entry"].as_array().unwrap() {
        let resource = &entry["resource"];
        let local_reference =
            format!("{}/{}", resource["resourceType"].as_str().unwrap(), resource["id"].as_str().unwrap());
        local_references.insert(entry["fullUrl"].as_str().unwrap().to_string(), local_reference);
    }
    rewrite_references_in(bundle, &local_references);
}

fn rewrite_references_in(value: &mut Value, local_references: &HashMap<String, String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                match child {
                    Value::String(text) if key == "reference" => {
                        if let Some(local_reference) = local_references.get(text.as_str()) {
                            *text = local_reference.clone();
                        }
                    }
                    child => rewrite_references_in(child, local_references),
                }
            }
        }
        Value::Array(values) => values.iter_mut().for_each(|child| rewrite_references_in(child, local_references)),
        _ => {}
    }
}

/// Every Observation, Encounter and Condition belongs to the bundle's one patient. Returns how many were checked.
fn check_owning_patient(registry: &SearchParamRegistry, bundle: &Value, path: &std::path::Path) -> usize {
    let patients: Vec<&str> = bundle_resources(bundle)
        .filter(|resource| resource["resourceType"] == "Patient")
        .map(|resource| resource["id"].as_str().unwrap())
        .collect();
    let [patient_id] = patients[..] else { panic!("{}: {} patients", path.display(), patients.len()) };
    let mut n_checked = 0;
    for resource in bundle_resources(bundle) {
        let resource_type = ResourceType::parse(resource["resourceType"].as_str().unwrap()).unwrap();
        let resource_id = resource["id"].as_str();
        let entries = extract_index_entries(registry, resource);
        let owner = owning_patient_id(resource_type, resource_id, &entries);
        if CLINICAL_TYPES.contains(&resource_type.as_str()) || resource_type == ResourceType::PATIENT {
            assert_eq!(owner.as_deref(), Some(patient_id), "{}: {resource_type}/{resource_id:?}", path.display());
            n_checked += 1;
        }
    }
    n_checked
}
