//! The summary read from a person's items: the rules a clinician relies on, each on its own.

use kmcr_viewer::record::{Item, PersonRecord, age_on, nhs_number_display};
use serde_json::{Value, json};

fn item(resource_type: &str, id: &str, source: &str, json: Value) -> Item {
    Item { resource_type: resource_type.into(), id: id.into(), json, source: source.into() }
}

fn medicine(id: &str, source: &str, dmd: &str, name: &str, started: &str) -> Item {
    item(
        "MedicationStatement",
        id,
        source,
        json!({ "resourceType": "MedicationStatement", "status": "active",
        "medicationCodeableConcept": { "coding": [{ "system": "https://dmd.nhs.uk", "code": dmd, "display": name }] },
        "effectivePeriod": { "start": started }, "dosage": [{ "text": "One daily" }] }),
    )
}

#[test]
fn the_same_medicine_from_two_sources_is_one_line_naming_both() {
    let items = [
        medicine("m1", "Harbour Medical Practice", "42063411000001106", "Amlodipine 5mg tablets", "2025-01-01"),
        medicine("m2", "Maidstone Hospital", "42063411000001106", "Amlodipine 5mg tablets", "2026-03-01"),
        medicine("m3", "Maidstone Hospital", "39720311000001101", "Paracetamol 500mg tablets", "2026-02-01"),
    ];
    let record = PersonRecord::of(&items, "p1");
    let lines: Vec<(&str, Vec<&str>, Option<&str>)> = record
        .medications
        .iter()
        .map(|line| (line.text.as_str(), line.sources.iter().map(String::as_str).collect(), line.date.as_deref()))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("Amlodipine 5mg tablets", vec!["Harbour Medical Practice", "Maidstone Hospital"], Some("2026-03-01")),
            ("Paracetamol 500mg tablets", vec!["Maidstone Hospital"], Some("2026-02-01")),
        ]
    );
}

#[test]
fn a_safeguarding_flag_names_the_responsible_team_and_its_telephone() {
    let items = [
        item(
            "Flag",
            "f1",
            "Kent County Council",
            json!({ "resourceType": "Flag", "status": "active",
            "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "342191000000101",
                "display": "Subject to child protection plan" }] },
            "period": { "start": "2026-01-10" }, "author": { "reference": "Organization/kcc" } }),
        ),
        item(
            "Flag",
            "f2",
            "Kent County Council",
            json!({ "resourceType": "Flag", "status": "inactive",
            "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "764841000000100" }] } }),
        ),
        item(
            "Flag",
            "f3",
            "Maidstone Hospital",
            json!({ "resourceType": "Flag", "status": "active",
            "code": { "text": "Difficult intravenous access" } }),
        ),
        item(
            "Organization",
            "kcc",
            "Kent County Council",
            json!({ "resourceType": "Organization",
            "name": "Kent County Council", "telecom": [{ "system": "phone", "value": "01632 960123" }] }),
        ),
    ];
    let record = PersonRecord::of(&items, "p1");
    assert_eq!(record.safeguarding.len(), 1, "an ended flag is not shown as current");
    assert_eq!(record.safeguarding[0].text, "Subject to child protection plan");
    assert_eq!(record.safeguarding[0].detail.as_deref(), Some("Kent County Council, telephone 01632 960123"));
    assert_eq!(
        record.alerts.iter().map(|line| line.text.as_str()).collect::<Vec<_>>(),
        ["Difficult intravenous access"]
    );
}

#[test]
fn the_banner_is_the_record_opened_with_gaps_filled_from_the_persons_other_records() {
    let items = [
        item(
            "Patient",
            "hospital",
            "Maidstone Hospital",
            json!({ "resourceType": "Patient",
            "name": [{ "family": "Taylor", "given": ["Sue"] }], "birthDate": "1967-01-02" }),
        ),
        item(
            "Patient",
            "gp",
            "Harbour Medical Practice",
            json!({ "resourceType": "Patient",
            "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9995325373" }],
            "name": [{ "use": "official", "family": "Taylor", "given": ["Susan"] }], "gender": "female",
            "address": [{ "use": "home", "line": ["124 Maidstone Road"], "city": "Folkestone", "postalCode": "CT18 9RX" }],
            "generalPractitioner": [{ "display": "Harbour Medical Practice" }] }),
        ),
    ];
    let banner = PersonRecord::of(&items, "hospital").banner;
    assert_eq!(banner.name, "Sue Taylor", "the record opened comes first");
    assert_eq!(banner.nhs_number.as_deref(), Some("9995325373"));
    assert_eq!(banner.address.as_deref(), Some("124 Maidstone Road, Folkestone, CT18 9RX"));
    assert_eq!(banner.registered_practice.as_deref(), Some("Harbour Medical Practice"));
    assert_eq!(banner.known_to, ["Maidstone Hospital", "Harbour Medical Practice"]);
    assert_eq!(nhs_number_display("9995325373"), "999 532 5373");
    assert_eq!((age_on("1967-01-02", "2027-01-01"), age_on("1967-01-02", "2027-01-02")), (Some(59), Some(60)));
}

#[test]
fn refuted_allergies_and_resolved_problems_are_not_current() {
    let items = [
        item(
            "AllergyIntolerance",
            "a1",
            "GP",
            json!({ "resourceType": "AllergyIntolerance",
            "verificationStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "refuted" }] },
            "code": { "text": "Penicillin" } }),
        ),
        item(
            "Condition",
            "c1",
            "GP",
            json!({ "resourceType": "Condition",
            "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved" }] },
            "code": { "text": "Fractured wrist" } }),
        ),
    ];
    let record = PersonRecord::of(&items, "p1");
    assert!(record.allergies.is_empty() && record.problems.is_empty());
}

#[test]
fn a_cp_is_flag_of_an_unborn_child_is_a_safeguarding_flag_whatever_its_code() {
    let items = [item(
        "Flag",
        "f1",
        "Kent County Council",
        json!({ "resourceType": "Flag", "status": "active",
        "category": [{ "coding": [{ "system": "https://fhir.nhs.uk/England/CodeSystem/PatientFlagCategory", "code": "CP-IS" }] }],
        "code": { "text": "Unborn child subject to a pre-birth child protection plan" },
        "author": { "display": "Medway Council children's services" } }),
    )];
    let record = PersonRecord::of(&items, "p1");
    assert_eq!(record.safeguarding.len(), 1);
    assert_eq!(record.safeguarding[0].text, "Unborn child subject to a pre-birth child protection plan");
    assert!(record.alerts.is_empty());
}
