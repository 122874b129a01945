//! Every reference inside a Bundle resolves within it, or is a conditional reference to a known organisation.

use std::collections::HashSet;

use kmcr_synth::{SourceBundle, organisation, organisation_bundles};

use crate::common::{SEED, entries, people, walk};

const ORGANISATION_BY_ODS_CODE: &str = "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|";

fn check_references(source: &SourceBundle, context: &str) -> usize {
    let full_urls: HashSet<&str> =
        entries(&source.bundle).iter().map(|entry| entry["fullUrl"].as_str().expect("fullUrl")).collect();
    let mut n_references = 0;
    walk(&source.bundle, &mut |key, value| {
        if key != "reference" {
            return;
        }
        let reference = value.as_str().expect("references are strings");
        n_references += 1;
        if reference.starts_with("urn:uuid:") {
            assert!(full_urls.contains(reference), "{context}: {reference} is not an entry of the Bundle");
        } else {
            let ods_code = reference
                .strip_prefix(ORGANISATION_BY_ODS_CODE)
                .unwrap_or_else(|| panic!("{context}: {reference} is neither urn:uuid nor an organisation"));
            assert!(organisation(ods_code).is_some(), "{context}: {ods_code} is not a known organisation");
        }
    });
    n_references
}

#[test]
fn every_reference_resolves_within_its_bundle() {
    let mut n_references = 0;
    for (person_idx, bundles) in people(400) {
        for source in &bundles {
            n_references +=
                check_references(source, &format!("seed {SEED} person {person_idx} {}", source.source_ods_code));
        }
    }
    for source in &organisation_bundles() {
        n_references += check_references(source, &format!("organisation {}", source.source_ods_code));
    }
    println!("{n_references} references resolved");
}

#[test]
fn every_clinical_record_points_at_its_patient_and_source() {
    for (person_idx, bundles) in people(200) {
        for source in &bundles {
            let entries = entries(&source.bundle);
            let patient_url = entries[0]["fullUrl"].as_str().expect("fullUrl");
            let own_organisation = format!("{ORGANISATION_BY_ODS_CODE}{}", source.source_ods_code);
            for entry in &entries[1..] {
                let resource = &entry["resource"];
                let mut refers_to_patient = false;
                let mut refers_to_source = false;
                walk(resource, &mut |key, value| {
                    if key == "reference" {
                        refers_to_patient |= value == patient_url;
                        refers_to_source |= value.as_str() == Some(own_organisation.as_str());
                    }
                });
                let context = format!("person {person_idx} {} {}", source.source_ods_code, resource["resourceType"]);
                assert!(refers_to_patient, "{context} does not refer to the source's Patient");
                let has_organisation_place = !matches!(
                    resource["resourceType"].as_str(),
                    Some("Condition" | "AllergyIntolerance" | "RelatedPerson")
                );
                if has_organisation_place {
                    assert!(refers_to_source, "{context} does not refer to its source organisation");
                }
            }
        }
    }
}

#[test]
fn full_urls_are_unique_across_all_bundles() {
    let mut seen = HashSet::new();
    for (person_idx, bundles) in people(300) {
        for source in &bundles {
            for entry in entries(&source.bundle) {
                let full_url = entry["fullUrl"].as_str().expect("fullUrl").to_string();
                assert!(seen.insert(full_url), "person {person_idx}: a fullUrl is reused");
            }
        }
    }
}
