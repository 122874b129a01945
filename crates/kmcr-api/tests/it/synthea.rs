//! Every Synthea bundle in ../shared/data loads as a transaction through the API.

use serde_json::Value;

use crate::harness::*;

const SYNTHEA_DIRECTORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/synthea-r4");

#[tokio::test]
async fn every_synthea_bundle_loads_as_a_transaction() {
    let api = TestApi::new().await;
    let mut paths: Vec<_> = std::fs::read_dir(SYNTHEA_DIRECTORY).unwrap().map(|entry| entry.unwrap().path()).collect();
    paths.sort();
    assert_eq!(paths.len(), 103);
    let started = std::time::Instant::now();
    let mut n_resources = 0;
    let mut last_patient = String::new();
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let reply = api.raw("acute", "POST", "", bytes).await;
        assert_eq!(reply.status, axum::http::StatusCode::OK, "{}: {}", path.display(), reply.body);
        let entries = reply.body["entry"].as_array().unwrap();
        n_resources += entries.len();
        let location = entries[0]["response"]["location"].as_str().unwrap();
        if location.starts_with("Patient/") {
            last_patient = location.split('/').nth(1).unwrap().to_string();
        }
        assert!(entries.iter().all(|entry| entry["response"]["status"] == "201 Created"));
    }
    eprintln!("{n_resources} Synthea resources in {:.1} s (debug build)", started.elapsed().as_secs_f64());
    let everything =
        api.fhir("viewer", "GET", &format!("Patient/{last_patient}/$everything?_count=1000"), None, &[]).await;
    let entries = everything.body["entry"].as_array().unwrap();
    assert!(entries.len() > 50, "a Synthea patient has a record: {}", entries.len());
    assert!(entries.iter().all(|entry| entry["resource"]["resourceType"] != Value::Null));
}
