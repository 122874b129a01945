//! One person across sources, as a client sees it, on both backends: linking on a verified NHS number, the Person
//! resource, `$everything` and searches reaching every linked record, `$match`, the review queue with decisions that
//! stick, merges and unmerges kept as history, and re-evaluation when demographics change.

use axum::http::StatusCode;
use kmcr_access::{Principal, RegionWideReading, Scope, SystemPrincipal};
use kmcr_fhir::{NhsNumber, OdsCode, ResourceId, ResourceType};
use kmcr_mpi::ManualDecision;
use kmcr_service::identity::IdentitySettings;
use kmcr_service::{CreateResult, Limits, RequestContext, Service};
use kmcr_store::{EverythingRequest, ReviewStatus};
use serde_json::{Value, json};

use crate::harness::{FreshStore, TestApi, test_access_policy};

const VERIFICATION_STATUS: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";

/// A valid NHS number in the test range from six digits.
fn nhs_number(middle: u32) -> String {
    (0..)
        .map(|step| {
            let digits: Vec<u8> = format!("999{:06}", middle + step).bytes().map(|byte| byte - b'0').collect();
            NhsNumber::from_first_nine_digits(digits.try_into().unwrap())
        })
        .find_map(|number| number)
        .unwrap()
        .as_digits()
}

fn patient(nhs: Option<(&str, bool)>, given: &str, family: &str, birth_date: &str, postcode: &str) -> Value {
    let mut patient = json!({
        "resourceType": "Patient",
        "name": [{ "use": "official", "family": family, "given": [given] }],
        "gender": "female",
        "birthDate": birth_date,
        "address": [{ "use": "home", "line": ["12 Tonbridge Road"], "city": "Maidstone", "postalCode": postcode }],
    });
    if let Some((number, verified)) = nhs {
        let mut identifier = json!({ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": number });
        if verified {
            identifier["extension"] = json!([{ "url": VERIFICATION_STATUS, "valueCodeableConcept": { "coding": [{
                "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland", "code": "01" }] } }]);
        }
        patient["identifier"] = json!([identifier]);
    }
    patient
}

async fn create(api: &TestApi, client: &str, resource: &Value) -> String {
    let reply = api.fhir(client, "POST", resource["resourceType"].as_str().unwrap(), Some(resource), &[]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}: {}", api.backend, reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

async fn person_of(api: &TestApi, patient_id: &str) -> (String, Value) {
    let history = api.call("viewer", "GET", &format!("/mpi/patients/{patient_id}/history"), None).await;
    assert_eq!(history.status, StatusCode::OK, "{}: {}", api.backend, history.body);
    let person_id = history.body["person"].as_str().expect("every Patient has a person").to_string();
    let person = api.fhir("viewer", "GET", &format!("Person/{person_id}"), None, &[]).await;
    assert_eq!(person.status, StatusCode::OK, "{}: {}", api.backend, person.body);
    (person_id, person.body)
}

fn linked_patients(person: &Value) -> Vec<String> {
    let mut patients: Vec<String> = person["link"]
        .as_array()
        .unwrap()
        .iter()
        .map(|link| link["target"]["reference"].as_str().unwrap().trim_start_matches("Patient/").to_string())
        .collect();
    patients.sort();
    patients
}

/// A systolic blood pressure (SNOMED CT 271649006) recorded for `patient_id`.
fn blood_pressure_of(patient_id: &str) -> Value {
    json!({
        "resourceType": "Observation", "status": "final",
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "271649006" }] },
        "subject": { "reference": format!("Patient/{patient_id}") }, "effectiveDateTime": "2026-01-05",
    })
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn sources_sharing_a_verified_nhs_number_are_one_person_whose_record_reaches_every_source() {
    for api in TestApi::on_every_backend().await {
        let number = nhs_number(100_001);
        let gp_patient =
            create(&api, "gp", &patient(Some((&number, true)), "Margaret", "Ashdown", "1948-03-02", "ME15 6AA")).await;
        let acute_patient =
            create(&api, "acute", &patient(Some((&number, true)), "Peggy", "Ashdown", "1948-03-02", "ME16 9QQ")).await;
        let gp_observation = create(&api, "gp", &blood_pressure_of(&gp_patient)).await;
        let acute_condition = create(
            &api,
            "acute",
            &json!({
                "resourceType": "Condition",
                "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "38341003" }] },
                "subject": { "reference": format!("Patient/{acute_patient}") },
            }),
        )
        .await;

        let (_, person) = person_of(&api, &acute_patient).await;
        assert_eq!(
            linked_patients(&person),
            sorted(vec![gp_patient.clone(), acute_patient.clone()]),
            "{}",
            api.backend
        );
        assert!(person["link"].as_array().unwrap().iter().all(|link| link["assurance"] == "level4"), "{}", api.backend);

        let everything = api.fhir("viewer", "GET", &format!("Patient/{acute_patient}/$everything"), None, &[]).await;
        let sources: Vec<(String, String)> = everything.body["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                let resource = &entry["resource"];
                let source = resource["meta"]["tag"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|tag| tag["system"] == "https://fhir.nhs.uk/Id/ods-organization-code")
                    .unwrap()["code"]
                    .as_str()
                    .unwrap()
                    .to_string();
                (format!("{}/{}", resource["resourceType"].as_str().unwrap(), resource["id"].as_str().unwrap()), source)
            })
            .collect();
        for (item, source) in [
            (format!("Observation/{gp_observation}"), "G82001"),
            (format!("Condition/{acute_condition}"), "RWF"),
            (format!("Patient/{gp_patient}"), "G82001"),
            (format!("Patient/{acute_patient}"), "RWF"),
        ] {
            assert!(
                sources.contains(&(item.clone(), source.to_string())),
                "{}: {item} from {source} in {sources:?}",
                api.backend
            );
        }

        let search = api.fhir("viewer", "GET", &format!("Observation?patient={acute_patient}"), None, &[]).await;
        let found: Vec<&str> = search.body["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["resource"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            found,
            vec![gp_observation.as_str()],
            "{}: a search by the hospital's patient finds the GP's item",
            api.backend
        );
    }
}

#[tokio::test]
async fn different_valid_nhs_numbers_are_never_one_person_and_match_grades_say_how_sure() {
    for api in TestApi::on_every_backend().await {
        let first = create(
            &api,
            "gp",
            &patient(Some((&nhs_number(200_001), true)), "Ann", "Brookfield", "1990-07-01", "ME14 1AB"),
        )
        .await;
        let second = create(
            &api,
            "acute",
            &patient(Some((&nhs_number(200_101), true)), "Ann", "Brookfield", "1990-07-01", "ME14 1AB"),
        )
        .await;
        assert_ne!(person_of(&api, &first).await.0, person_of(&api, &second).await.0, "{}", api.backend);

        let parameters = |only_certain: bool| {
            json!({ "resourceType": "Parameters", "parameter": [
                { "name": "resource", "resource": patient(Some((&nhs_number(200_001), true)), "Ann", "Brookfield", "1990-07-01", "ME14 1AB") },
                { "name": "onlyCertainMatches", "valueBoolean": only_certain },
                { "name": "count", "valueInteger": 5 },
            ]})
        };
        let reply = api.fhir("viewer", "POST", "Patient/$match", Some(&parameters(false)), &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}: {}", api.backend, reply.body);
        let grades: Vec<(String, String)> = reply.body["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                (
                    entry["resource"]["id"].as_str().unwrap().to_string(),
                    entry["search"]["extension"][0]["valueCode"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            grades,
            vec![(first.clone(), "certain".to_string())],
            "{}: the other NHS number is certainly not",
            api.backend
        );

        let unverified = json!({ "resourceType": "Parameters", "parameter": [
            { "name": "resource", "resource": patient(None, "Ann", "Brookfield", "1990-07-01", "ME14 1AB") },
            { "name": "onlyCertainMatches", "valueBoolean": true },
        ]});
        let reply = api.fhir("viewer", "POST", "Patient/$match", Some(&unverified), &[]).await;
        assert_eq!(reply.body["total"], 0, "{}: demographics alone are never certain", api.backend);
    }
}

#[tokio::test]
async fn a_review_decision_links_and_sticks_when_the_record_is_matched_again() {
    for api in TestApi::on_every_backend().await {
        let gp_patient = create(
            &api,
            "gp",
            &patient(Some((&nhs_number(300_001), true)), "Imogen", "Hartwell", "1975-11-23", "ME15 6AA"),
        )
        .await;
        // The ambulance crew recorded no NHS number and an address in another area: a possible match only.
        let mut roadside = patient(None, "Imogen", "Hartwell", "1975-11-23", "CT20 1AA");
        roadside["address"][0]["line"] = json!(["1 Harbour View"]);
        roadside["address"][0]["city"] = json!("Folkestone");
        let ambulance_patient = create(&api, "ambulance", &roadside).await;
        assert_ne!(
            person_of(&api, &ambulance_patient).await.0,
            person_of(&api, &gp_patient).await.0,
            "{}",
            api.backend
        );

        let queue = api.call("dq-officer", "GET", "/mpi/reviews?status=open", None).await;
        assert_eq!(queue.status, StatusCode::OK, "{}: {}", api.backend, queue.body);
        let reviews = queue.body["reviews"].as_array().unwrap();
        assert_eq!(reviews.len(), 1, "{}: {}", api.backend, queue.body);
        let review = &reviews[0];
        let side_by_side = sorted(vec![
            review["first"]["id"].as_str().unwrap().into(),
            review["second"]["id"].as_str().unwrap().into(),
        ]);
        assert_eq!(side_by_side, sorted(vec![gp_patient.clone(), ambulance_patient.clone()]), "{}", api.backend);
        assert!(
            review["evidence"]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|field| field["field"] == "birth date" && field["level"] == "exact"),
            "{}",
            api.backend
        );

        let viewer_decides = api
            .call("viewer", "POST", &format!("/mpi/reviews/{}", review["id"]), Some(&json!({ "decision": "link" })))
            .await;
        assert_eq!(viewer_decides.status, StatusCode::FORBIDDEN, "{}: deciding needs Person write", api.backend);
        let decided = api
            .call("dq-officer", "POST", &format!("/mpi/reviews/{}", review["id"]), Some(&json!({ "decision": "link" })))
            .await;
        assert_eq!(
            (decided.status, decided.body["status"].as_str()),
            (StatusCode::OK, Some("linked")),
            "{}: {}",
            api.backend,
            decided.body
        );
        let (person_id, person) = person_of(&api, &ambulance_patient).await;
        assert_eq!(
            linked_patients(&person),
            sorted(vec![gp_patient.clone(), ambulance_patient.clone()]),
            "{}",
            api.backend
        );

        // The crew's record is updated (a phone added): matched again, the decision holds.
        let mut updated = roadside.clone();
        updated["id"] = json!(ambulance_patient);
        updated["telecom"] = json!([{ "system": "phone", "value": "07700 900123" }]);
        let reply = api.fhir("ambulance", "PUT", &format!("Patient/{ambulance_patient}"), Some(&updated), &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", api.backend);
        assert_eq!(person_of(&api, &ambulance_patient).await.0, person_id, "{}", api.backend);
        assert!(
            api.call("dq-officer", "GET", "/mpi/reviews?status=open", None).await.body["reviews"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{}",
            api.backend
        );
    }
}

#[tokio::test]
async fn a_merge_and_an_unmerge_are_kept_as_history_and_an_update_re_evaluates_links() {
    for api in TestApi::on_every_backend().await {
        // A duplicate registration at one practice: different enough not to link on its own.
        let kept = create(&api, "gp", &patient(None, "Rosalind", "Thornwick", "1961-02-14", "ME15 6AA")).await;
        let mut duplicate_body = patient(None, "Ros", "Thornwyck", "1961-04-02", "TN9 1AA");
        let duplicate = create(&api, "gp", &duplicate_body).await;
        let (kept_person, _) = person_of(&api, &kept).await;
        let (duplicate_person, _) = person_of(&api, &duplicate).await;
        assert_ne!(kept_person, duplicate_person, "{}", api.backend);

        duplicate_body["id"] = json!(duplicate);
        duplicate_body["link"] =
            json!([{ "other": { "reference": format!("Patient/{kept}") }, "type": "replaced-by" }]);
        api.fhir("gp", "PUT", &format!("Patient/{duplicate}"), Some(&duplicate_body), &[]).await;
        assert_eq!(person_of(&api, &duplicate).await.0, kept_person, "{}: merged", api.backend);

        duplicate_body.as_object_mut().unwrap().remove("link");
        api.fhir("gp", "PUT", &format!("Patient/{duplicate}"), Some(&duplicate_body), &[]).await;
        assert_ne!(person_of(&api, &duplicate).await.0, kept_person, "{}: unmerged", api.backend);

        let history = api.call("viewer", "GET", &format!("/mpi/patients/{duplicate}/history"), None).await;
        let reasons: Vec<&str> =
            history.body["history"].as_array().unwrap().iter().map(|entry| entry["reason"].as_str().unwrap()).collect();
        assert_eq!(reasons, vec!["new-person", "merge", "new-person"], "{}: {}", api.backend, history.body);

        // The kept record is corrected to a different person altogether: it is matched again, on its own.
        let mut corrected =
            patient(Some((&nhs_number(400_001), true)), "Zebedee", "Quillfeather", "2001-09-09", "CT1 1AA");
        corrected["id"] = json!(kept);
        api.fhir("gp", "PUT", &format!("Patient/{kept}"), Some(&corrected), &[]).await;
        let (_, person) = person_of(&api, &kept).await;
        assert_eq!(linked_patients(&person), vec![kept.clone()], "{}", api.backend);
    }
}

/// Sources send a person's records in any order. The GP's record and the ambulance service's (the name at a new home,
/// no birth date) share too little to link; the hospital's, sent later, links with each (the GP's name, birth date and
/// phone, the ambulance crew's address). The two persons are joined,
/// the moved record says why, its history keeps where it was, and the GP's items reach the ambulance crew's patient.
#[tokio::test]
async fn a_record_linking_two_persons_joins_them_and_the_move_is_kept_as_history() {
    for api in TestApi::on_every_backend().await {
        let phone = json!([{ "system": "phone", "value": "07700 900461" }]);
        let mut gp_body = patient(None, "Winifred", "Oakhurst", "1939-11-23", "ME15 6AA");
        gp_body["telecom"] = phone.clone();
        let gp_patient = create(&api, "gp", &gp_body).await;
        let new_home =
            json!([{ "use": "home", "line": ["1 Harbour View"], "city": "Folkestone", "postalCode": "CT20 1AA" }]);
        let ambulance_body = json!({
            "resourceType": "Patient",
            "name": [{ "family": "Oakhurst", "given": ["Winifred"] }],
            "address": new_home,
        });
        let ambulance_patient = create(&api, "ambulance", &ambulance_body).await;
        let (gp_person, _) = person_of(&api, &gp_patient).await;
        let (ambulance_person, _) = person_of(&api, &ambulance_patient).await;
        assert_ne!(gp_person, ambulance_person, "{}: a name at another home is not enough alone", api.backend);
        let gp_observation = create(&api, "gp", &blood_pressure_of(&gp_patient)).await;

        let mut hospital_body = patient(None, "Winifred", "Oakhurst", "1939-11-23", "CT20 1AA");
        hospital_body["address"] = new_home;
        hospital_body["telecom"] = phone;
        let hospital_patient = create(&api, "acute", &hospital_body).await;
        let (person_id, person) = person_of(&api, &hospital_patient).await;
        assert_eq!(
            linked_patients(&person),
            sorted(vec![gp_patient.clone(), ambulance_patient.clone(), hospital_patient.clone()]),
            "{}",
            api.backend
        );
        let (moved, stayed, left) = if person_id == gp_person {
            (&ambulance_patient, &gp_patient, &ambulance_person)
        } else {
            (&gp_patient, &ambulance_patient, &gp_person)
        };
        assert_eq!(person_of(&api, stayed).await.0, person_id, "{}", api.backend);
        let gone = api.fhir("viewer", "GET", &format!("Person/{left}"), None, &[]).await;
        assert_ne!(gone.status, StatusCode::OK, "{}: the person left empty is gone: {}", api.backend, gone.body);

        let history = api.call("viewer", "GET", &format!("/mpi/patients/{moved}/history"), None).await;
        let entries = history.body["history"].as_array().unwrap();
        let steps: Vec<(&str, &str)> = entries
            .iter()
            .map(|entry| (entry["reason"].as_str().unwrap(), entry["personAfter"].as_str().unwrap_or_default()))
            .collect();
        assert_eq!(
            steps,
            vec![("new-person", left.as_str()), ("person-join", person_id.as_str())],
            "{}: {}",
            api.backend,
            history.body
        );
        assert_eq!(
            entries[1]["linkedThrough"].as_str(),
            Some(hospital_patient.as_str()),
            "{}: {}",
            api.backend,
            history.body
        );
        let link = person["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|link| link["target"]["reference"] == format!("Patient/{moved}"))
            .unwrap();
        assert_eq!(link["assurance"], "level3", "{}", api.backend);

        let everything =
            api.fhir("viewer", "GET", &format!("Patient/{ambulance_patient}/$everything"), None, &[]).await;
        let items: Vec<String> = everything.body["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                format!(
                    "{}/{}",
                    entry["resource"]["resourceType"].as_str().unwrap(),
                    entry["resource"]["id"].as_str().unwrap()
                )
            })
            .collect();
        assert!(items.contains(&format!("Observation/{gp_observation}")), "{}: {items:?}", api.backend);
    }
}

/// The matching model is trained on the records themselves as they arrive, and kept: trained when the index first
/// holds enough records and again each time they double, whether the server is running or starting; a restart scores
/// exactly as before (the same stored model, not one trained again on records that changed meanwhile).
#[tokio::test]
async fn the_matching_model_is_trained_as_records_double_and_kept_across_restarts() {
    for fresh in FreshStore::on_every_backend().await {
        let backend = fresh.backend;
        let trains_from_40 = IdentitySettings { min_records_to_train: 40, ..IdentitySettings::default() };
        let never_trains = IdentitySettings { min_records_to_train: usize::MAX, ..IdentitySettings::default() };
        let start = |settings: &IdentitySettings| {
            Service::start(fresh.store.clone(), Limits::default(), settings.clone(), test_access_policy())
        };
        let context = context_of("gp", "G82001", &["system/*.*"]);
        let families = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Khan", "Patel", "Walker", "Wright"];
        let givens = ["Amelia", "Oliver", "Isla", "Jack", "Ava", "Harry", "Mia", "George", "Emily", "Noah", "Grace"];
        let create_people = |service: Service, from: u32, to: u32| {
            let context = context.clone();
            async move {
                for n in from..to {
                    let given = givens[n as usize % givens.len()];
                    let family = families[(n as usize / givens.len()) % families.len()];
                    let birth_date = format!("19{:02}-{:02}-{:02}", 30 + n % 60, 1 + n % 12, 1 + n % 28);
                    let mut record =
                        patient(None, given, family, &birth_date, &format!("ME{} {}AB", 1 + n % 20, n % 10));
                    record["gender"] = json!(if n % 2 == 0 { "female" } else { "male" });
                    service.create(&context, ResourceType::PATIENT, record, None).await.unwrap();
                }
            }
        };
        let query = patient(None, "Amelia", "Smith", "1930-01-01", "ME1 0AB");
        let best_score = |service: Service| {
            let (context, query) = (context.clone(), query.clone());
            async move {
                let matches = service.match_patients(&context, &query, 1, false).await.unwrap();
                matches.first().expect("the query's own record is found").match_probability
            }
        };
        let newest_model_after = |model_id: i64| {
            let store = fresh.store.clone();
            async move {
                for _ in 0..600 {
                    match store.latest_model().await.unwrap() {
                        Some(model) if model.model_id > model_id => return model,
                        _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                    }
                }
                panic!("{backend}: no model was trained after model {model_id}");
            }
        };

        // A running server trains its first model once it holds 40 records.
        let service = start(&trains_from_40).await.unwrap();
        create_people(service.clone(), 0, 39).await;
        assert_eq!(fresh.store.latest_model().await.unwrap(), None, "{backend}: no model below 40 records");
        create_people(service.clone(), 39, 45).await;
        let first = newest_model_after(0).await;
        assert_eq!(first.n_records, 40, "{backend}: trained on the records held when the 40th arrived");
        // Stopped: a running node on PostgreSQL follows the others' records and would train on them too.
        drop(service);

        // 65 records, not yet double: no new model, and a restart scores the query exactly as before.
        let service = start(&trains_from_40).await.unwrap();
        let score_before = best_score(service.clone()).await;
        create_people(service, 45, 65).await;
        let service = start(&trains_from_40).await.unwrap();
        assert_eq!(best_score(service.clone()).await, score_before, "{backend}: the same model scores the same");
        assert_eq!(fresh.store.latest_model().await.unwrap().unwrap(), first, "{backend}: no model below double");

        // Reaching double (80), the running server trains again on every record it holds.
        create_people(service, 65, 85).await;
        let second = newest_model_after(first.model_id).await;
        assert_eq!(second.n_records, 80, "{backend}");

        // Records that arrived while nothing trained (past 160, double 80) are trained on once the next start has
        // found them, in the background: the stored model serves meanwhile.
        create_people(start(&never_trains).await.unwrap(), 85, 170).await;
        assert_eq!(fresh.store.latest_model().await.unwrap().unwrap(), second, "{backend}");
        let _serving = start(&trains_from_40).await.unwrap();
        let third = newest_model_after(second.model_id).await;
        assert_eq!(third.n_records, 170, "{backend}: trained on every record the start found");
        if let Some(directory) = fresh.directory {
            let _ = std::fs::remove_dir_all(directory);
        }
    }
}

fn context_of(client: &str, ods_code: &str, scopes: &[&str]) -> RequestContext {
    // The viewer and the data-quality officer read across the region, as configured exceptions.
    let region_wide = matches!(client, "viewer" | "dq-officer")
        .then(|| RegionWideReading { justification: "test".into(), secondary_use: false });
    RequestContext {
        principal: Principal::System(SystemPrincipal {
            client_id: client.into(),
            ods_code: OdsCode::parse(ods_code).unwrap(),
            scopes: scopes.iter().map(|scope| Scope::parse(scope).unwrap()).collect(),
            region_wide,
        }),
        request_id: format!("{client}-test"),
    }
}

async fn created_by(service: &Service, context: &RequestContext, resource: Value) -> String {
    let resource_type = ResourceType::parse(resource["resourceType"].as_str().unwrap()).unwrap();
    match service.create(context, resource_type, resource, None).await.unwrap() {
        CreateResult::Created(outcome) => outcome.id.to_string(),
        CreateResult::Exists { .. } => panic!("created without a condition"),
    }
}

async fn everything_of(service: &Service, context: &RequestContext, patient_id: &str) -> Vec<String> {
    let request = EverythingRequest {
        patient_ids: vec![ResourceId::parse(patient_id).unwrap()],
        since: None,
        types: Vec::new(),
        count: 100,
        cursor: None,
    };
    let page = service.everything(context, request, None).await.unwrap();
    page.resources.iter().map(|resource| format!("{}/{}", resource.resource_type, resource.id)).collect()
}

async fn person_on(service: &Service, context: &RequestContext, patient_id: &str) -> Option<String> {
    service.link_history(context, &ResourceId::parse(patient_id).unwrap()).await.unwrap().person_id
}

/// Two nodes serving one database, each with its own person index in memory: once a node has followed the store, it
/// finds the other's records, links its own to them, reaches them from `$everything`, and keeps to a decision made on
/// the other.
#[tokio::test]
async fn nodes_serving_one_database_follow_each_others_records_links_and_decisions() {
    for fresh in FreshStore::on_every_backend().await {
        let backend = fresh.backend;
        // The test says when each node follows (a running node on PostgreSQL does so every second by itself).
        let settings =
            IdentitySettings { follow_interval: std::time::Duration::from_secs(3_600), ..IdentitySettings::default() };
        let first = Service::start(fresh.store.clone(), Limits::default(), settings.clone(), test_access_policy())
            .await
            .unwrap();
        let second =
            Service::start(fresh.store.clone(), Limits::default(), settings, test_access_policy()).await.unwrap();
        let gp = context_of("gp", "G82001", &["system/*.*"]);
        let acute = context_of("acute", "RWF", &["system/*.*"]);
        let ambulance = context_of("ambulance", "RYD", &["system/*.*"]);
        let dq_officer = context_of("dq-officer", "RWF", &["system/Patient.read", "system/Person.*"]);
        let viewer = context_of("viewer", "RVV", &["system/*.read"]);

        let number = nhs_number(500_001);
        let record = patient(Some((&number, true)), "Imogen", "Hartwell", "1975-11-23", "ME15 6AA");
        let gp_patient = created_by(&first, &gp, record.clone()).await;
        assert!(second.match_patients(&viewer, &record, 5, false).await.unwrap().is_empty(), "{backend}");
        assert_eq!(second.follow_other_nodes().await.unwrap(), 1, "{backend}: the GP's record taken in");
        let found = second.match_patients(&viewer, &record, 5, false).await.unwrap();
        assert_eq!(found.first().map(|found| found.patient.id.to_string()), Some(gp_patient.clone()), "{backend}");
        assert_eq!(second.follow_other_nodes().await.unwrap(), 0, "{backend}: nothing new");

        // The hospital's record reaches the second node: linked there to the GP's person on the verified number.
        let acute_patient = created_by(&second, &acute, record.clone()).await;
        let person = person_on(&second, &viewer, &gp_patient).await;
        assert!(person.is_some(), "{backend}");
        assert_eq!(person_on(&second, &viewer, &acute_patient).await, person, "{backend}");
        let observation = created_by(
            &second,
            &acute,
            json!({
                "resourceType": "Observation", "status": "final",
                "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "271649006" }] },
                "subject": { "reference": format!("Patient/{acute_patient}") },
            }),
        )
        .await;
        let observation = format!("Observation/{observation}");
        assert!(!everything_of(&first, &viewer, &gp_patient).await.contains(&observation), "{backend}");
        assert_eq!(first.follow_other_nodes().await.unwrap(), 1, "{backend}: the hospital's record taken in");
        assert!(everything_of(&first, &viewer, &gp_patient).await.contains(&observation), "{backend}");
        assert_eq!(person_on(&first, &viewer, &acute_patient).await, person, "{backend}");

        // The ambulance crew's record (no NHS number, another area) is only a possible match; a data-quality officer
        // on the first node links it.
        let mut roadside = patient(None, "Imogen", "Hartwell", "1975-11-23", "CT20 1AA");
        roadside["address"][0]["line"] = json!(["1 Harbour View"]);
        roadside["address"][0]["city"] = json!("Folkestone");
        let ambulance_patient = created_by(&first, &ambulance, roadside.clone()).await;
        assert_ne!(person_on(&first, &viewer, &ambulance_patient).await, person, "{backend}");
        let reviews = first.reviews(&dq_officer, Some(ReviewStatus::Open), 0, 10).await.unwrap();
        let review = reviews.first().unwrap_or_else(|| panic!("{backend}: a review pair"));
        first.decide_review(&dq_officer, review.review.review_id, ManualDecision::Link).await.unwrap();
        assert_eq!(person_on(&first, &viewer, &ambulance_patient).await, person, "{backend}");

        // The second node takes in the record, its link and the decision: when the crew's record is updated there
        // and matched again, the decision holds.
        assert!(second.follow_other_nodes().await.unwrap() >= 1, "{backend}");
        assert_eq!(person_on(&second, &viewer, &ambulance_patient).await, person, "{backend}");
        let mut updated = roadside;
        updated["id"] = json!(ambulance_patient);
        updated["telecom"] = json!([{ "system": "phone", "value": "07700 900123" }]);
        let id = ResourceId::parse(&ambulance_patient).unwrap();
        second.update(&ambulance, ResourceType::PATIENT, id, updated, None).await.unwrap();
        assert_eq!(person_on(&second, &viewer, &ambulance_patient).await, person, "{backend}: the decision holds");

        // The Person as stored lists all three records, whichever node wrote it last.
        let person_id = ResourceId::parse(person.as_deref().unwrap()).unwrap();
        let stored = first.read(&viewer, ResourceType::PERSON, &person_id).await.unwrap();
        let stored: Value = serde_json::from_str(stored.json.as_deref().unwrap()).unwrap();
        assert_eq!(
            linked_patients(&stored),
            sorted(vec![gp_patient, acute_patient, ambulance_patient]),
            "{backend}: {stored}"
        );

        // On PostgreSQL a running node follows by itself.
        if backend == "postgres" {
            let settings = IdentitySettings {
                follow_interval: std::time::Duration::from_millis(50),
                ..IdentitySettings::default()
            };
            let third =
                Service::start(fresh.store.clone(), Limits::default(), settings, test_access_policy()).await.unwrap();
            let later = patient(Some((&nhs_number(500_101), true)), "Nerys", "Pendry", "1988-02-14", "ME14 2LL");
            let later_patient = created_by(&first, &gp, later.clone()).await;
            let mut found = Vec::new();
            for _ in 0..200 {
                found = third.match_patients(&viewer, &later, 1, true).await.unwrap();
                if !found.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert_eq!(found.first().map(|found| found.patient.id.to_string()), Some(later_patient), "{backend}");
        }
        if let Some(directory) = fresh.directory {
            let _ = std::fs::remove_dir_all(directory);
        }
    }
}
