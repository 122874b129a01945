//! Index extraction: the entries of known official examples, and one case per datatype conversion.

use expect_test::{Expect, expect};
use kmcr_fhir_search::{SearchParamRegistry, extract_index_entries};
use serde_json::{Value, json};

use crate::{read_json, render, shared_data};

/// The entries of `resource` for the listed parameters (all when `params` is empty).
fn check(resource: &Value, params: &[&str], expected: Expect) {
    let entries = extract_index_entries(SearchParamRegistry::official_r4(), resource);
    let selected: Vec<_> =
        entries.into_iter().filter(|entry| params.is_empty() || params.contains(&entry.param_code)).collect();
    expected.assert_eq(&render::entries(&selected));
}

fn example(file_name: &str) -> Value {
    read_json(&shared_data(&format!("fhir-r4-examples/{file_name}")))
}

#[test]
fn patient_example() {
    check(
        &example("Patient-example.json"),
        &[],
        expect![[r#"
        "#]],
    );
}

#[test]
fn observation_example() {
    check(
        &example("Observation-example.json"),
        &[],
        expect![[r#"
        "#]],
    );
}

#[test]
fn condition_and_medication_request_examples() {
    check(
        &example("Condition-example.json"),
        &["code", "patient", "subject", "onset-date", "clinical-status", "body-site"],
        expect![[r#"
        "#]],
    );
    check(
        &example("MedicationRequest-medrx0302.json"),
        &["code", "medication", "subject", "authoredon", "intent"],
        expect![[r#"
        "#]],
    );
}

#[test]
fn tokens_from_each_datatype() {
    let patient = json!({
        "resourceType": "Patient",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009", "type": {"text": "NHS"}}],
        "telecom": [{"system": "email", "value": "a@example.org"}, {"system": "phone", "value": "0113"}],
        "gender": "female",
        "active": false,
        "meta": {"tag": [{"system": "http://x/tags", "code": "t1", "display": "Tag one"}], "security": [{"code": "R"}]},
        "language": "en",
        "maritalStatus": {"text": "married, text only"},
    });
    check(
        &patient,
        &["identifier", "email", "phone", "gender", "active", "_tag", "_security", "deceased", "language"],
        expect![[r#"
        "#]],
    );
    let observation = json!({
        "resourceType": "Observation",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1"}, {"display": "no code"}], "text": "Concept"},
        "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "2"}]},
        "component": [{"code": {"coding": [{"code": "3"}]}, "valueBoolean": true}],
    });
    check(
        &observation,
        &["code", "value-concept", "combo-value-concept", "component-code"],
        expect![[r#"
    "#]],
    );
}

#[test]
fn strings_from_names_addresses_and_text() {
    let practitioner = json!({
        "resourceType": "Practitioner",
        "name": [{"text": "Dr  Zoë  O'Brien", "family": "O'Brien", "given": ["Zoë", "Anne"], "prefix": ["Dr"]}],
        "address": [{"line": ["1 Rue Ça"], "city": "Łódź", "postalCode": "LS1 4AP", "country": "PL"}],
    });
    check(
        &practitioner,
        &["name", "family", "given", "address", "address-city", "address-postalcode"],
        expect![[r#"
    "#]],
    );
}

#[test]
fn dates_from_each_datatype() {
    let encounter = json!({"resourceType": "Encounter", "period": {"start": "2020-03-04T10:00:00+01:00"}});
    check(
        &encounter,
        &["date"],
        expect![[r#"
    "#]],
    );
    let procedure = json!({"resourceType": "Procedure", "performedPeriod": {"end": "2021"}});
    check(
        &procedure,
        &["date"],
        expect![[r#"
    "#]],
    );
    let medication_request = json!({
        "resourceType": "MedicationRequest",
        "authoredOn": "2019-02",
        "dosageInstruction": [{"timing": {"event": ["2019-02-03T08:00:00Z", "not a date"]}}],
    });
    check(
        &medication_request,
        &["authoredon"],
        expect![[r#"
    "#]],
    );
    let condition = json!({"resourceType": "Condition", "onsetAge": {"value": 3}, "abatementDateTime": "2001-01-01"});
    check(
        &condition,
        &["onset-date", "abatement-date", "onset-age"],
        expect![[r#"
    "#]],
    );
    let observation = json!({"resourceType": "Observation", "effectiveInstant": "2020-01-01T00:00:00.123Z"});
    check(
        &observation,
        &["date"],
        expect![[r#"
    "#]],
    );
}

#[test]
fn references_relative_absolute_contained_and_logical() {
    let observation = json!({
        "resourceType": "Observation",
        "subject": {"reference": "Patient/p1/_history/3"},
        "performer": [
            {"reference": "#org1"},
            {"reference": "urn:uuid:7b4b1c1e-4c1f-4c1f-8c1f-1c1f4c1f4c1f"},
            {"reference": "https://other.example/fhir/Practitioner/x"},
            {"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RR8"}},
            {"reference": "Practitioner/not an id"},
        ],
        "hasMember": [{"reference": "Observation/o2"}],
    });
    check(
        &observation,
        &["subject", "patient", "performer", "has-member"],
        expect![[r#"
    "#]],
    );
    let plan_definition = json!({"resourceType": "PlanDefinition", "library": ["http://example.org/Library/l1|1.0"]});
    check(
        &plan_definition,
        &["depends-on"],
        expect![[r#"
    "#]],
    );
    let bundle = json!({"resourceType": "Bundle", "type": "document", "entry": [{"resource": {"resourceType": "Composition", "id": "c1"}}]});
    check(
        &bundle,
        &["composition", "type"],
        expect![[r#"
    "#]],
    );
}

#[test]
fn quantities_numbers_and_uris() {
    let observation = json!({
        "resourceType": "Observation",
        "valueQuantity": {"value": 5.4, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
        "component": [{"valueRange": {"low": {"value": 1}}}],
        "meta": {"profile": ["http://example.org/StructureDefinition/p"], "source": "urn:source"},
    });
    check(
        &observation,
        &["value-quantity", "combo-value-quantity", "_profile", "_source"],
        expect![[r#"
    "#]],
    );
    let claim =
        json!({"resourceType": "ExplanationOfBenefit", "total": [{"amount": {"value": 10.5, "currency": "GBP"}}]});
    check(
        &claim,
        &[],
        expect![[r#"
    "#]],
    );
    let risk = json!({"resourceType": "RiskAssessment", "prediction": [{"probabilityDecimal": 0.25}]});
    check(
        &risk,
        &["probability"],
        expect![[r#"
    "#]],
    );
}

#[test]
fn duplicates_within_a_parameter_are_dropped() {
    let patient = json!({
        "resourceType": "Patient",
        "name": [{"family": "Smith", "given": ["Ann"]}, {"family": "Smith", "given": ["Ann", "Smith"]}],
    });
    check(
        &patient,
        &["family", "name"],
        expect![[r#"
    "#]],
    );
}

#[test]
fn unknown_or_missing_resource_type_yields_nothing() {
    let registry = SearchParamRegistry::official_r4();
    assert!(extract_index_entries(registry, &json!({"resourceType": "Nonsense", "id": "1"})).is_empty());
    assert!(extract_index_entries(registry, &json!({"id": "1"})).is_empty());
    assert!(extract_index_entries(registry, &json!([1, 2])).is_empty());
}

#[test]
fn id_and_last_updated_are_not_indexed() {
    let patient = json!({"resourceType": "Patient", "id": "p1", "meta": {"lastUpdated": "2020-01-01T00:00:00Z"}});
    check(&patient, &["_id", "_lastUpdated"], expect![[""]]);
}
