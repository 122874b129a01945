//! Searches as clients send them, parsed by kmcr-fhir-search and run by each backend.

use kmcr_fhir_search::parse_search;
use kmcr_store::{Cursor, EverythingOutcome, EverythingRequest, Page, PageRequest, SearchOutcome};
use serde_json::json;

use crate::backends::*;

fn observation(id: &str, patient: &str, code: &str, date: &str, value: f64) -> Value {
    json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": { "coding": [{ "system": "http://loinc.org", "code": code }] },
        "subject": { "reference": format!("Patient/{patient}") },
        "performer": [{ "reference": "Organization/org1" }],
        "effectiveDateTime": date,
        "valueQuantity": { "value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]" },
    })
}

fn patient(id: &str, family: &str, nhs_number: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "id": id,
        "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number }],
        "name": [{ "family": family, "given": ["Zoë"] }],
        "managingOrganization": { "reference": "Organization/org1" },
    })
}

async fn load(store: &Store) {
    let mut ops = vec![
        put(
            json!({ "resourceType": "Organization", "id": "org1", "name": "Maidstone Hospital" }),
            "RWF",
            Precondition::None,
        ),
        put(patient("alice", "Smith", "9990000018"), "RWF", Precondition::None),
        put(
            json!({ "resourceType": "ValueSet", "id": "vs1", "status": "active", "url": "http://example.org/fhir/ValueSet/bp" }),
            "RWF",
            Precondition::None,
        ),
        put(patient("bob", "Smithson", "9990000026"), "RWF", Precondition::None),
    ];
    for n in 0..12 {
        let date = format!("2020-{:02}-15T10:00:00Z", n + 1);
        ops.push(put(
            observation(&format!("a{n}"), "alice", "8480-6", &date, 120.0 + n as f64),
            "RWF",
            Precondition::None,
        ));
        ops.push(put(observation(&format!("b{n}"), "bob", "8480-6", &date, 130.0), "RWF", Precondition::None));
    }
    ops.push(put(observation("a-hr", "alice", "8867-4", "2021-01-01", 70.0), "RWF", Precondition::None));
    store.write(ops, None).await.unwrap();
}

async fn search(
    store: &Store,
    resource_type_name: &str,
    query: &str,
    count: usize,
    cursor: Option<Cursor>,
) -> SearchOutcome {
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_string(), value.to_string())
        })
        .collect();
    let request =
        parse_search(SearchParamRegistry::official_r4(), resource_type(resource_type_name), &params, false, 1000)
            .unwrap_or_else(|error| panic!("{query}: {error}"));
    store
        .search(&request, &PageRequest { count, cursor, want_total: true }, &kmcr_store::RowFilter::Unrestricted)
        .await
        .unwrap_or_else(|error| panic!("{query}: {error}"))
}

fn ids(outcome: &SearchOutcome) -> Vec<String> {
    let mut ids: Vec<String> = outcome.matches.iter().map(|resource| resource.id.to_string()).collect();
    ids.sort();
    ids
}

/// Each query and the ids it must find, whatever the backend.
const CASES: &[(&str, &str, &[&str])] = &[
    ("Patient", "name=smi", &["alice", "bob"]),
    ("Patient", "name=smith", &["alice", "bob"]),
    ("Patient", "name:exact=Smith", &["alice"]),
    ("Patient", "family:contains=thso", &["bob"]),
    ("Patient", "given=zoe", &["alice", "bob"]),
    ("Patient", "identifier=https://fhir.nhs.uk/Id/nhs-number|9990000026", &["bob"]),
    ("Patient", "identifier=9990000018", &["alice"]),
    ("Patient", "_id=bob", &["bob"]),
    ("Observation", "patient=Patient/alice&code=http://loinc.org|8867-4", &["a-hr"]),
    ("Observation", "subject=alice&code=8480-6&date=ge2020-11", &["a10", "a11"]),
    ("Observation", "patient=bob&date=2020-03", &["b2"]),
    // One person's linked Patients, as the service expands a search by patient: one IN list drives the query.
    ("Observation", "patient=Patient/alice,Patient/bob&date=2020-03", &["a2", "b2"]),
    ("Observation", "subject:Patient=alice,bob&date=2020-03", &["a2", "b2"]),
    ("Observation", "patient=alice&date=lt2020-02-15", &["a0"]),
    ("Observation", "patient=alice&value-quantity=gt130", &["a11"]),
    ("Observation", "patient=alice&value-quantity=121||mm[Hg]", &["a1"]),
    ("Observation", "subject:Patient.name=smithson&date=2020-12", &["b11"]),
    ("Observation", "subject:Patient.identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018&code=8867-4", &["a-hr"]),
    ("Observation", "code:not=8480-6", &["a-hr"]),
    ("Observation", "code=8867-4,unknown", &["a-hr"]),
    ("ValueSet", "url=http://example.org/fhir/ValueSet/bp", &["vs1"]),
    ("ValueSet", "url:below=http://example.org/fhir", &["vs1"]),
    ("ValueSet", "url:below=http://example.org/other", &[]),
    ("ValueSet", "url:above=http://example.org/fhir/ValueSet/bp/version/2", &["vs1"]),
    ("ValueSet", "url:above=http://example.org/fhir/ValueSet", &[]),
];

#[tokio::test]
async fn searches_find_exactly_what_they_ask_for() {
    for test in stores().await {
        load(&test.store).await;
        for (resource_type_name, query, expected) in CASES {
            let outcome = search(&test.store, resource_type_name, query, 100, None).await;
            assert_eq!(ids(&outcome), *expected, "{}: {resource_type_name}?{query}", test.name);
        }
    }
}

fn blood_pressure(id: &str, patient: &str, systolic: f64, diastolic: f64) -> Value {
    let component = |code: &str, value: f64| {
        json!({
            "code": { "coding": [{ "system": "http://loinc.org", "code": code }] },
            "valueQuantity": { "value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]" },
        })
    };
    json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": { "coding": [{ "system": "http://loinc.org", "code": "85354-9" }] },
        "subject": { "reference": format!("Patient/{patient}") },
        "effectiveDateTime": "2024-05-01T09:00:00Z",
        "component": [component("8480-6", systolic), component("8462-4", diastolic)],
    })
}

/// Composite searches as clients send them: each value matches only what one item holds together.
const COMPOSITE_CASES: &[(&str, &str, &[&str])] = &[
    // bp1 is 120/80: its systolic is not under 90 though its diastolic is.
    ("Observation", "component-code-value-quantity=http://loinc.org|8480-6$lt90", &["bp2"]),
    ("Observation", "component-code-value-quantity=http://loinc.org|8480-6$gt100", &["bp1"]),
    ("Observation", "component-code-value-quantity=8462-4$lt90", &["bp1", "bp2"]),
    ("Observation", "component-code-value-quantity=8462-4$80", &["bp1"]),
    ("Observation", "component-code-value-quantity=8480-6$80", &[]),
    ("Observation", "component-code-value-quantity=8480-6$120|http://unitsofmeasure.org|mm[Hg]", &["bp1"]),
    ("Observation", "component-code-value-quantity=8480-6$120|http://unitsofmeasure.org|kPa", &[]),
    // OR between values; AND with other criteria, driven by the patient.
    ("Observation", "component-code-value-quantity=8480-6$85,8462-4$80", &["bp1", "bp2"]),
    ("Observation", "patient=carol&component-code-value-quantity=8462-4$lt90", &["bp2"]),
    // AND of two composites: both must hold, each in its own component.
    ("Observation", "component-code-value-quantity=8480-6$gt100&component-code-value-quantity=8462-4$lt70", &[]),
    ("Observation", "component-code-value-quantity=8480-6$gt100&component-code-value-quantity=8462-4$lt90", &["bp1"]),
    // combo- looks in the Observation and its components; code- in the Observation only.
    ("Observation", "combo-code-value-quantity=8480-6$85", &["bp2"]),
    ("Observation", "code-value-quantity=8480-6$85", &[]),
    // combo- parameters are not indexed twice: they are looked up in the rows of the two they unite.
    ("Observation", "combo-code=8480-6", &["bp1", "bp2"]),
    ("Observation", "combo-code=85354-9&combo-value-quantity=60", &["bp2"]),
    ("Observation", "combo-code-value-quantity=8480-6$85,8867-4$1", &["bp2"]),
    ("Observation", "combo-code-value-quantity:missing=true", &["rhythm"]),
    ("Observation", "code-value-string=http://loinc.org|8867-4$reg", &["rhythm"]),
    ("Observation", "code-value-string=http://loinc.org|8867-4$irregular", &[]),
    ("Observation", "code-value-quantity:missing=true", &["bp1", "bp2", "rhythm"]),
    ("Observation", "component-code-value-quantity:missing=false", &["bp1", "bp2"]),
    // Through a chain: reports whose result is a low systolic.
    ("DiagnosticReport", "result:Observation.component-code-value-quantity=8480-6$lt90", &["report2"]),
];

#[tokio::test]
async fn composites_match_values_found_together() {
    for test in stores().await {
        let report = |id: &str, result: &str| {
            json!({
                "resourceType": "DiagnosticReport",
                "id": id,
                "status": "final",
                "code": { "text": "Observations" },
                "result": [{ "reference": format!("Observation/{result}") }],
            })
        };
        let ops = vec![
            put(patient("alice", "Smith", "9990000018"), "RWF", Precondition::None),
            put(patient("carol", "Jones", "9990000034"), "RWF", Precondition::None),
            put(blood_pressure("bp1", "alice", 120.0, 80.0), "RWF", Precondition::None),
            put(blood_pressure("bp2", "carol", 85.0, 60.0), "RWF", Precondition::None),
            put(
                json!({
                    "resourceType": "Observation",
                    "id": "rhythm",
                    "status": "final",
                    "code": { "coding": [{ "system": "http://loinc.org", "code": "8867-4" }] },
                    "subject": { "reference": "Patient/alice" },
                    "valueString": "Regular",
                }),
                "RWF",
                Precondition::None,
            ),
            put(report("report1", "bp1"), "RWF", Precondition::None),
            put(report("report2", "bp2"), "RWF", Precondition::None),
        ];
        test.store.write(ops, None).await.unwrap();
        for (resource_type_name, query, expected) in COMPOSITE_CASES {
            let outcome = search(&test.store, resource_type_name, query, 100, None).await;
            assert_eq!(ids(&outcome), *expected, "{}: {resource_type_name}?{query}", test.name);
        }
        // An update replaces the values: bp1 becomes 80/50.
        test.store
            .write(vec![put(blood_pressure("bp1", "alice", 80.0, 50.0), "RWF", Precondition::None)], None)
            .await
            .unwrap();
        let outcome = search(&test.store, "Observation", "component-code-value-quantity=8480-6$lt90", 100, None).await;
        assert_eq!(ids(&outcome), ["bp1", "bp2"], "{}: after the update", test.name);
    }
}

/// A store written before composites were indexed has its Observations' rows written again when it is opened, and then
/// answers composite searches as a new store does.
#[tokio::test]
async fn a_store_indexed_by_an_older_build_is_indexed_again_at_open() {
    for test in stores().await {
        let mut old_write = put(blood_pressure("bp1", "alice", 120.0, 80.0), "RWF", Precondition::None);
        if let WriteAction::Put { index_entries, .. } = &mut old_write.action {
            index_entries.retain(|entry| !matches!(entry.value, kmcr_fhir_search::IndexValue::Composite(_)));
        }
        let writes = vec![put(patient("alice", "Smith", "9990000018"), "RWF", Precondition::None), old_write];
        test.store.write(writes, None).await.unwrap();
        let query = "component-code-value-quantity=8480-6$gt100";
        assert!(ids(&search(&test.store, "Observation", query, 10, None).await).is_empty(), "{}", test.name);
        set_index_version(&test.location, 0).await;
        drop(test.store);

        let reopened = Store::open(&test.location, &StoreOptions::default()).await.unwrap();
        assert_eq!(ids(&search(&reopened, "Observation", query, 10, None).await), ["bp1"], "{}", test.name);
        assert_eq!(ids(&search(&reopened, "Observation", "code=85354-9", 10, None).await), ["bp1"], "{}", test.name);
        assert_eq!(ids(&search(&reopened, "Patient", "family=smith", 10, None).await), ["alice"], "{}", test.name);
    }
}

/// Marks a store's index rows as written at `version`, as an older build left them.
async fn set_index_version(location: &str, version: i64) {
    if location.starts_with("postgres") {
        let (client, connection) = tokio_postgres::connect(location, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.execute("UPDATE index_state SET index_version = $1", &[&version]).await.unwrap();
    } else {
        let connection = rusqlite::Connection::open(std::path::Path::new(location).join("kmcr.db")).unwrap();
        connection.execute("UPDATE index_state SET index_version = ?1", [version]).unwrap();
    }
}

#[tokio::test]
async fn pages_neither_repeat_nor_skip_while_data_changes() {
    for test in stores().await {
        load(&test.store).await;
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut n_pages = 0;
        loop {
            let page = search(&test.store, "Observation", "patient=alice&_sort=-date", 5, cursor).await;
            seen.extend(page.matches.iter().map(|resource| resource.id.to_string()));
            n_pages += 1;
            if n_pages == 1 {
                // A write between pages, as happens on a live record.
                let late = observation("a-late", "alice", "8480-6", "2019-01-01", 100.0);
                test.store.write(vec![put(late, "RWF", Precondition::None)], None).await.unwrap();
                test.store.write(vec![delete("Observation", "a0", "RWF")], None).await.unwrap();
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{}: a page repeated a resource: {seen:?}", test.name);
        for expected in ["a-hr", "a11", "a1", "a-late"] {
            assert!(seen.contains(&expected.to_string()), "{}: {expected} missing from {seen:?}", test.name);
        }
        assert_eq!(seen[..2], ["a-hr".to_string(), "a11".to_string()], "{}: sorted by date descending", test.name);
    }
}

#[tokio::test]
async fn includes_and_totals() {
    for test in stores().await {
        load(&test.store).await;
        let outcome = search(
            &test.store,
            "Observation",
            "code=8867-4&_include=Observation:subject&_include=Observation:performer",
            10,
            None,
        )
        .await;
        let mut included: Vec<String> =
            outcome.included.iter().map(|resource| format!("{}/{}", resource.resource_type, resource.id)).collect();
        included.sort();
        assert_eq!(included, vec!["Organization/org1", "Patient/alice"], "{}", test.name);

        let outcome = search(&test.store, "Patient", "_id=bob&_revinclude=Observation:subject", 10, None).await;
        assert_eq!(outcome.included.len(), 12, "{}", test.name);

        let outcome = search(&test.store, "Observation", "patient=alice", 3, None).await;
        assert_eq!(outcome.total, Some(13), "{}", test.name);
        assert_eq!(outcome.matches.len(), 3, "{}", test.name);
    }
}

async fn everything_page(store: &Store, request: &EverythingRequest) -> Page {
    match store.everything(request, &kmcr_store::RowFilter::Unrestricted).await.unwrap() {
        EverythingOutcome::Page(page) => page,
        other => panic!("expected a page, got {other:?}"),
    }
}

#[tokio::test]
async fn everything_holds_the_compartment_and_what_it_refers_to() {
    for test in stores().await {
        load(&test.store).await;
        let request =
            EverythingRequest { patient_ids: vec![id("alice")], since: None, types: vec![], count: 100, cursor: None };
        let page = everything_page(&test.store, &request).await;
        let mut found: Vec<String> =
            page.resources.iter().map(|resource| format!("{}/{}", resource.resource_type, resource.id)).collect();
        found.sort();
        assert_eq!(found.len(), 15, "{}: patient, 13 observations, organisation: {found:?}", test.name);
        assert!(found.contains(&"Organization/org1".to_string()), "{}", test.name);
        assert!(
            !found.iter().any(|reference| reference.starts_with("Observation/b")),
            "{}: no other patient's data",
            test.name
        );

        let mut cursor = None;
        let mut paged = Vec::new();
        loop {
            let request = EverythingRequest {
                patient_ids: vec![id("alice")],
                since: None,
                types: vec![resource_type("Observation")],
                count: 4,
                cursor,
            };
            let page = everything_page(&test.store, &request).await;
            paged.extend(page.resources.iter().map(|resource| resource.id.to_string()));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(paged.len(), 13, "{}: _type and paging: {paged:?}", test.name);
    }
}
