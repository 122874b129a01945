//! The Patient compartment and the owning patient of a resource.

use kmcr_fhir::ResourceType;
use kmcr_fhir_search::{
    SearchParamRegistry, SearchParamType, extract_index_entries, owning_patient_id, patient_compartment_params,
};
use serde_json::{Value, json};

#[test]
fn every_compartment_param_is_a_reference_param_of_its_type() {
    let registry = SearchParamRegistry::official_r4();
    let mut n_types = 0;
    for resource_type in ResourceType::all() {
        let params = patient_compartment_params(resource_type);
        n_types += usize::from(!params.is_empty());
        for param_code in params {
            let def = registry.get(resource_type, param_code).unwrap_or_else(|| panic!("{resource_type} {param_code}"));
            assert_eq!(def.param_type, SearchParamType::Reference, "{resource_type} {param_code}");
        }
    }
    assert_eq!(n_types, 66);
    assert_eq!(patient_compartment_params(ResourceType::parse("Observation").unwrap()), ["subject", "performer"]);
    assert_eq!(patient_compartment_params(ResourceType::PATIENT), ["link"]);
    assert!(patient_compartment_params(ResourceType::ORGANIZATION).is_empty());
}

fn owner(resource: Value) -> Option<String> {
    let resource_type = ResourceType::parse(resource["resourceType"].as_str().unwrap()).unwrap();
    let entries = extract_index_entries(SearchParamRegistry::official_r4(), &resource);
    owning_patient_id(resource_type, resource["id"].as_str(), &entries)
}

#[test]
fn owning_patient_prefers_the_primary_param() {
    assert_eq!(
        owner(json!({"resourceType": "Patient", "id": "p1", "link": [{"other": {"reference": "Patient/p2"}}]}))
            .as_deref(),
        Some("p1")
    );
    let observation = json!({
        "resourceType": "Observation",
        "performer": [{"reference": "Patient/performer"}],
        "subject": {"reference": "Patient/subject"},
    });
    assert_eq!(owner(observation).as_deref(), Some("subject"));
    let group_observation = json!({
        "resourceType": "Observation",
        "subject": {"reference": "Group/g1"},
        "performer": [{"reference": "Practitioner/x"}, {"reference": "Patient/self-reported"}],
    });
    assert_eq!(owner(group_observation).as_deref(), Some("self-reported"));
    let administration = json!({
        "resourceType": "MedicationAdministration",
        "performer": [{"actor": {"reference": "Patient/carer"}}],
        "subject": {"reference": "Patient/p1"},
    });
    assert_eq!(owner(administration).as_deref(), Some("p1"));
    let coverage = json!({
        "resourceType": "Coverage",
        "policyHolder": {"reference": "Patient/holder"},
        "beneficiary": {"reference": "Patient/beneficiary"},
    });
    assert_eq!(owner(coverage).as_deref(), Some("beneficiary"));
}

#[test]
fn no_owning_patient_without_a_local_patient_reference() {
    assert_eq!(owner(json!({"resourceType": "Patient"})), None);
    assert_eq!(
        owner(
            json!({"resourceType": "Observation", "subject": {"reference": "urn:uuid:5d3b0c3e-0000-4000-8000-000000000000"}})
        ),
        None
    );
    assert_eq!(
        owner(json!({"resourceType": "Observation", "subject": {"reference": "https://elsewhere.example/Patient/1"}})),
        None
    );
    assert_eq!(owner(json!({"resourceType": "Encounter", "subject": {"reference": "Group/1"}})), None);
    assert_eq!(owner(json!({"resourceType": "Organization", "id": "o1"})), None);
}
