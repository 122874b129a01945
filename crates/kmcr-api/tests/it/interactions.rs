//! Each FHIR interaction, its headers and its errors.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

fn patient(nhs_number: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number }],
        "name": [{ "family": "Okafor", "given": ["Ada"] }],
        "birthDate": "1984-02-29",
    })
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let api = TestApi::new().await;
    let anonymous = api.send(Request::get("/fhir/Patient").body(Body::empty()).unwrap()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&anonymous), "KMCR-UNAUTHENTICATED");
    assert!(anonymous.headers.contains_key("www-authenticate"));

    let forged = api
        .send(Request::get("/fhir/Patient").header("authorization", "Bearer abc.def.ghi").body(Body::empty()).unwrap())
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let wrong_secret = Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=client_credentials&client_id=gp&client_secret=nope"))
        .unwrap();
    assert_eq!(api.send(wrong_secret).await.status, StatusCode::UNAUTHORIZED);

    let metadata = api.send(Request::get("/fhir/metadata").body(Body::empty()).unwrap()).await;
    assert_eq!(metadata.status, StatusCode::OK, "metadata is public");
    assert_eq!(metadata.body["fhirVersion"], "4.0.1");
    let resources = metadata.body["rest"][0]["resource"].as_array().unwrap();
    let observation = resources.iter().find(|resource| resource["type"] == "Observation").unwrap();
    let search_params = observation["searchParam"].as_array().unwrap();
    assert!(search_params.iter().any(|param| param["name"] == "code"));
    assert!(
        search_params
            .iter()
            .any(|param| param["name"] == "component-code-value-quantity" && param["type"] == "composite")
    );
}

#[tokio::test]
async fn create_read_update_delete_with_versions() {
    let api = TestApi::new().await;
    let created = api.fhir("gp", "POST", "Patient", Some(&patient("9990000018")), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.headers["etag"], "W/\"1\"");
    assert!(created.headers["location"].to_str().unwrap().ends_with(&format!("/Patient/{id}/_history/1")));

    let read = api.fhir("viewer", "GET", &format!("Patient/{id}"), None, &[]).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["name"][0]["family"], "Okafor");
    assert_eq!(read.body["meta"]["versionId"], "1");
    assert!(read.headers.contains_key("last-modified"));

    let mut changed = read.body.clone();
    changed["name"][0]["family"] = json!("Okafor-Smith");
    let updated = api.fhir("gp", "PUT", &format!("Patient/{id}"), Some(&changed), &[("if-match", "W/\"1\"")]).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.headers["etag"], "W/\"2\"");
    let stale = api.fhir("gp", "PUT", &format!("Patient/{id}"), Some(&changed), &[("if-match", "W/\"1\"")]).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{}", stale.body);

    let other_organisation = api.fhir("acute", "PUT", &format!("Patient/{id}"), Some(&changed), &[]).await;
    assert_eq!(other_organisation.status, StatusCode::FORBIDDEN, "an organisation changes only what it sent");
    let read_only = api.fhir("viewer", "POST", "Patient", Some(&patient("9990000026")), &[]).await;
    assert_eq!(read_only.status, StatusCode::FORBIDDEN, "a read scope does not write");

    let first = api.fhir("viewer", "GET", &format!("Patient/{id}/_history/1"), None, &[]).await;
    assert_eq!(first.body["name"][0]["family"], "Okafor");
    let history = api.fhir("viewer", "GET", &format!("Patient/{id}/_history"), None, &[]).await;
    assert_eq!(history.body["type"], "history");
    assert_eq!(history.body["entry"].as_array().unwrap().len(), 2);

    let deleted = api.fhir("gp", "DELETE", &format!("Patient/{id}"), None, &[]).await;
    assert_eq!(deleted.status, StatusCode::OK);
    let gone = api.fhir("viewer", "GET", &format!("Patient/{id}"), None, &[]).await;
    assert_eq!(gone.status, StatusCode::GONE);
    let missing = api.fhir("viewer", "GET", "Patient/no-such-patient", None, &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&missing), "KMCR-NOT-FOUND");
}

#[tokio::test]
async fn conditional_create_finds_the_existing_resource() {
    let api = TestApi::new().await;
    let condition = [("if-none-exist", "identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018")];
    let first = api.fhir("gp", "POST", "Patient", Some(&patient("9990000018")), &condition).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = api.fhir("gp", "POST", "Patient", Some(&patient("9990000018")), &condition).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body["id"], first.body["id"]);
}

#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let api = TestApi::new().await;
    let not_json = api.raw("gp", "POST", "Patient", b"{\"resourceType\": \"Patient\",".to_vec()).await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert!(not_json.body["issue"][0]["diagnostics"].as_str().unwrap().contains("line 1"), "{}", not_json.body);

    let bad_nhs_number = api.fhir("gp", "POST", "Patient", Some(&patient("9990000019")), &[]).await;
    assert_eq!(bad_nhs_number.status, StatusCode::BAD_REQUEST);
    let diagnostics = bad_nhs_number.body["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(diagnostics.starts_with("Patient.identifier[0].value"), "{diagnostics}");

    let wrong_shape =
        api.fhir("gp", "POST", "Patient", Some(&json!({ "resourceType": "Patient", "name": [] })), &[]).await;
    assert_eq!(wrong_shape.status, StatusCode::BAD_REQUEST);
    assert!(wrong_shape.body["issue"][0]["diagnostics"].as_str().unwrap().starts_with("Patient.name"));

    // JSON that is not FHIR R4: an element Patient does not have, a string where a boolean goes.
    for (resource, expected) in [
        (json!({ "resourceType": "Patient", "nmae": [{ "family": "Smith" }] }), "Patient.nmae: nmae is not an element"),
        (json!({ "resourceType": "Patient", "active": "yes" }), "Patient.active: a boolean is true or false"),
    ] {
        let reply = api.fhir("gp", "POST", "Patient", Some(&resource), &[]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert_eq!(reply.body["resourceType"], "OperationOutcome");
        let diagnostics = reply.body["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(diagnostics.starts_with(expected), "{diagnostics}");
    }

    let mismatched = api.fhir("gp", "POST", "Observation", Some(&patient("9990000018")), &[]).await;
    assert_eq!(mismatched.status, StatusCode::BAD_REQUEST);

    let unknown_type = api.fhir("viewer", "GET", "Wizard/1", None, &[]).await;
    assert_eq!(unknown_type.status, StatusCode::NOT_FOUND);

    let unknown_param = api.fhir("viewer", "GET", "Patient?shoe-size=9", None, &[]).await;
    assert_eq!(unknown_param.status, StatusCode::BAD_REQUEST);
    let lenient = api.fhir("viewer", "GET", "Patient?shoe-size=9", None, &[("prefer", "handling=lenient")]).await;
    assert_eq!(lenient.status, StatusCode::OK);
    let outcome_entry =
        lenient.body["entry"].as_array().unwrap().iter().find(|entry| entry["search"]["mode"] == "outcome");
    assert!(outcome_entry.is_some(), "lenient handling reports what it ignored: {}", lenient.body);

    // Well-formed but impossible to carry out: a conditional reference that matches nothing.
    let transaction = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": { "text": "Pulse" },
                "subject": { "reference": "Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990000026" },
            },
            "request": { "method": "POST", "url": "Observation" },
        }],
    });
    let unresolvable = api.fhir("gp", "POST", "", Some(&transaction), &[]).await;
    assert_eq!(unresolvable.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unresolvable.body);
    assert_eq!(error_code(&unresolvable), "KMCR-UNPROCESSABLE");
    let diagnostics = unresolvable.body["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(diagnostics.contains("matches nothing"), "{diagnostics}");
    assert!(!diagnostics.contains("9990000026"), "no NHS number is quoted back: {diagnostics}");

    let not_allowed = api.fhir("gp", "PATCH", "Patient/abc", None, &[]).await;
    assert_eq!(not_allowed.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(&not_allowed), "KMCR-METHOD-NOT-ALLOWED");

    let huge = vec![b' '; MAX_BODY_BYTES + 1];
    let too_large = api.raw("gp", "POST", "Patient", huge).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&too_large), "KMCR-TOO-LARGE");
}

#[tokio::test]
async fn a_transaction_is_all_or_nothing_and_rewrites_references() {
    let api = TestApi::new().await;
    let organisation = json!({
        "resourceType": "Bundle", "type": "transaction",
        "entry": [{
            "resource": { "resourceType": "Organization", "identifier": [{ "system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "G82001" }], "name": "Test Surgery" },
            "request": { "method": "PUT", "url": "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|G82001" },
        }, {
            "resource": { "resourceType": "PractitionerRole", "organization": { "reference": "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|G82001" } },
            "request": { "method": "POST", "url": "PractitionerRole" },
        }],
    });
    let reply = api.fhir("gp", "POST", "", Some(&organisation), &[]).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "a conditional reference to an entry of the same transaction resolves: {}",
        reply.body
    );
    let organisation_location = reply.body["entry"][0]["response"]["location"].as_str().unwrap();
    let role_location = reply.body["entry"][1]["response"]["location"].as_str().unwrap();
    let role = api.fhir("viewer", "GET", role_location.split("/_history").next().unwrap(), None, &[]).await;
    assert_eq!(
        role.body["organization"]["reference"].as_str().unwrap(),
        organisation_location.split("/_history").next().unwrap()
    );

    let bundle = json!({
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            { "fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111", "resource": patient("9990000018"), "request": { "method": "POST", "url": "Patient" } },
            { "fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222",
              "resource": { "resourceType": "Condition",
                "subject": { "reference": "urn:uuid:11111111-1111-4111-8111-111111111111" },
                "asserter": { "reference": "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|G82001" },
                "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "44054006" }] } },
              "request": { "method": "POST", "url": "Condition" } },
        ],
    });
    let reply = api.fhir("gp", "POST", "", Some(&bundle), &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["type"], "transaction-response");
    let condition_location = reply.body["entry"][1]["response"]["location"].as_str().unwrap().to_string();
    let patient_location = reply.body["entry"][0]["response"]["location"].as_str().unwrap().to_string();
    let patient_id = patient_location.split('/').nth(1).unwrap();
    let condition = api.fhir("viewer", "GET", condition_location.split("/_history").next().unwrap(), None, &[]).await;
    assert_eq!(condition.body["subject"]["reference"], format!("Patient/{patient_id}"));
    assert!(condition.body["asserter"]["reference"].as_str().unwrap().starts_with("Organization/"));

    let everything = api.fhir("viewer", "GET", &format!("Patient/{patient_id}/$everything"), None, &[]).await;
    assert_eq!(everything.status, StatusCode::OK);
    let n_everything = everything.body["entry"].as_array().unwrap().len();
    assert_eq!(n_everything, 3, "patient, condition, the organisation it refers to: {}", everything.body);

    let failing = json!({
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            { "resource": patient("9990000026"), "request": { "method": "POST", "url": "Patient" } },
            { "resource": { "resourceType": "Observation", "status": "final", "code": { "text": "pulse" }, "subject": { "reference": "Patient/x" } }, "request": { "method": "PUT", "url": "Observation/o1" }, "fullUrl": "x" },
            { "resource": { "resourceType": "Observation", "status": "", "code": { "text": "pulse" } }, "request": { "method": "POST", "url": "Observation" } },
        ],
    });
    let reply = api.fhir("gp", "POST", "", Some(&failing), &[]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body["issue"][0]["diagnostics"].as_str().unwrap().starts_with("Bundle.entry[2]"), "{}", reply.body);
    let none_written = api.fhir("viewer", "GET", "Patient?identifier=9990000026", None, &[]).await;
    assert_eq!(none_written.body["entry"], Value::Null, "nothing of a failed transaction is kept");
    let none_written = api.fhir("viewer", "GET", "Observation/o1", None, &[]).await;
    assert_eq!(none_written.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn search_pages_link_onwards() {
    let api = TestApi::new().await;
    for n in 0..7 {
        let mut resource = patient("9990000018");
        resource["name"][0]["given"] = json!([format!("Child{n}")]);
        assert_eq!(api.fhir("gp", "POST", "Patient", Some(&resource), &[]).await.status, StatusCode::CREATED);
    }
    let mut path = "Patient?family=okafor&_count=3".to_string();
    let mut seen = 0;
    let mut n_pages = 0;
    loop {
        let page = api.fhir("viewer", "GET", &path, None, &[]).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen += page.body["entry"].as_array().map_or(0, Vec::len);
        n_pages += 1;
        let next = page.body["link"].as_array().unwrap().iter().find(|link| link["relation"] == "next").cloned();
        match next {
            Some(link) => path = link["url"].as_str().unwrap().strip_prefix(&format!("{BASE}/")).unwrap().to_string(),
            None => break,
        }
    }
    assert_eq!((seen, n_pages), (7, 3));
    // Counted by the practice that sent them (a search naming no person counts only what the caller sent).
    let count = api.fhir("gp", "GET", "Patient?family=okafor&_count=3&_summary=count", None, &[]).await;
    assert_eq!(count.body["total"], 7);
    assert_eq!(count.body["entry"], Value::Null);
    let relations: Vec<&Value> = count.body["link"].as_array().unwrap().iter().map(|link| &link["relation"]).collect();
    assert_eq!(relations, ["self"], "a count has no page to go on to");
}

/// A blood pressure of 120/80 is not found as a systolic under 90, though it holds a value under 90.
#[tokio::test]
async fn composite_searches_match_values_found_together() {
    let api = TestApi::new().await;
    let created = api.fhir("gp", "POST", "Patient", Some(&patient("9990000018")), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let patient_id = created.body["id"].as_str().unwrap().to_string();
    let component = |code: &str, value: f64| {
        json!({
            "code": { "coding": [{ "system": "http://loinc.org", "code": code }] },
            "valueQuantity": { "value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]" },
        })
    };
    let blood_pressure = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": { "coding": [{ "system": "http://loinc.org", "code": "85354-9" }] },
        "subject": { "reference": format!("Patient/{patient_id}") },
        "component": [component("8480-6", 120.0), component("8462-4", 80.0)],
    });
    assert_eq!(api.fhir("gp", "POST", "Observation", Some(&blood_pressure), &[]).await.status, StatusCode::CREATED);
    let n_found = |reply: &Reply| reply.body["entry"].as_array().map_or(0, Vec::len);
    // As a client percent-encodes it: `|` is %7C and `$` is %24.
    for (query, expected) in [
        ("component-code-value-quantity=http%3A%2F%2Floinc.org%7C8480-6%24lt90", 0),
        ("component-code-value-quantity=http%3A%2F%2Floinc.org%7C8480-6%24gt100", 1),
        ("component-code-value-quantity=8462-4$lt90", 1),
        ("component-code-value-quantity=8480-6$lt90,8462-4$lt90", 1),
    ] {
        // The practice searches what it sent (a search naming no person reads only that).
        let reply = api.fhir("gp", "GET", &format!("Observation?{query}"), None, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
        assert_eq!(n_found(&reply), expected, "{query}");
    }
    let missing_component = api.fhir("gp", "GET", "Observation?component-code-value-quantity=8480-6", None, &[]).await;
    assert_eq!(missing_component.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing_component.body["resourceType"], "OperationOutcome");
    let diagnostics = missing_component.body["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(diagnostics.contains("one value per component"), "{diagnostics}");
}
