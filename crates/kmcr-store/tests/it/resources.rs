//! Versions, deletion, concurrency, ownership, atomic batches and the audit chain.

use kmcr_store::{HistoryRequest, StoreError};
use serde_json::json;

use crate::backends::*;

fn patient(id: &str, family: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "id": id,
        "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018" }],
        "name": [{ "family": family, "given": ["Ann"] }],
        "birthDate": "1970-05-06",
    })
}

fn audit(action: &str) -> kmcr_audit::AuditRecord {
    let mut record = kmcr_audit::AuditRecord::new("system", "test-client", "RWF", action, "r");
    record.recorded_unix_ms = 1;
    record.outcome = "permitted".into();
    record
}

#[tokio::test]
async fn every_version_is_kept_and_read_back() {
    for test in stores().await {
        let store = &test.store;
        let created =
            store.write(vec![put(patient("p1", "Smith"), "RWF", Precondition::MustNotExist)], None).await.unwrap();
        assert_eq!((created[0].version_id, created[0].created), (1, true), "{}", test.name);
        let updated =
            store.write(vec![put(patient("p1", "Jones"), "RWF", Precondition::VersionIs(1))], None).await.unwrap();
        assert_eq!((updated[0].version_id, updated[0].created), (2, false), "{}", test.name);

        let current = store.read(resource_type("Patient"), &id("p1")).await.unwrap().unwrap();
        let body: Value = serde_json::from_str(current.json.as_deref().unwrap()).unwrap();
        assert_eq!(body["name"][0]["family"], "Jones", "{}", test.name);
        assert_eq!(body["meta"]["versionId"], "2", "{}", test.name);
        assert_eq!(body["meta"]["lastUpdated"], current.last_updated.to_string(), "{}", test.name);
        assert_eq!(current.source_ods_code.as_str(), "RWF");

        let first = store.read_version(resource_type("Patient"), &id("p1"), 1).await.unwrap().unwrap();
        let first_body: Value = serde_json::from_str(first.json.as_deref().unwrap()).unwrap();
        assert_eq!(first_body["name"][0]["family"], "Smith", "{}", test.name);

        let history = store
            .history(
                &HistoryRequest {
                    resource_type: Some(resource_type("Patient")),
                    id: Some(id("p1")),
                    since: None,
                    count: 10,
                    cursor: None,
                },
                &kmcr_store::RowFilter::Unrestricted,
            )
            .await
            .unwrap();
        let versions: Vec<i64> = history.resources.iter().map(|resource| resource.version_id).collect();
        assert_eq!(versions, vec![2, 1], "{}: history is newest first", test.name);
    }
}

#[tokio::test]
async fn the_store_sets_version_and_time_and_keeps_everything_else_sent() {
    for test in stores().await {
        let mut sent = patient("p-meta", "Smith");
        sent["meta"] = json!({
            "versionId": "99",
            "lastUpdated": "2001-01-01T00:00:00Z",
            "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"],
            "security": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R" }],
        });
        sent["gender"] = json!("female");
        let written = test.store.write(vec![put(sent.clone(), "RWF", Precondition::None)], None).await.unwrap();
        let stored = test.store.read(resource_type("Patient"), &id("p-meta")).await.unwrap().unwrap();
        assert_eq!(written[0].json, stored.json, "{}: the write answers with what is stored", test.name);
        let mut body: Value = serde_json::from_str(stored.json.as_deref().unwrap()).unwrap();
        assert_eq!(body["meta"]["versionId"], "1", "{}", test.name);
        assert_eq!(body["meta"]["lastUpdated"], stored.last_updated.to_string(), "{}", test.name);
        for element in ["meta", "id"] {
            body.as_object_mut().unwrap().remove(element);
            sent.as_object_mut().unwrap().remove(element);
        }
        assert_eq!(body, sent, "{}: every other element is kept as sent", test.name);
        let meta_sent = &serde_json::from_str::<Value>(stored.json.as_deref().unwrap()).unwrap()["meta"];
        assert_eq!(meta_sent["profile"][0], "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient");
        assert_eq!(meta_sent["security"][0]["code"], "R", "{}", test.name);
    }
}

#[tokio::test]
async fn deletion_is_a_version_and_history_survives_it() {
    for test in stores().await {
        let store = &test.store;
        store.write(vec![put(patient("p2", "Smith"), "RWF", Precondition::None)], None).await.unwrap();
        let deleted = store.write(vec![delete("Patient", "p2", "RWF")], None).await.unwrap();
        assert_eq!(
            (deleted[0].version_id, deleted[0].deleted, deleted[0].unchanged),
            (2, true, false),
            "{}",
            test.name
        );
        let current = store.read(resource_type("Patient"), &id("p2")).await.unwrap().unwrap();
        assert!(current.deleted && current.json.is_none(), "{}", test.name);
        let again = store.write(vec![delete("Patient", "p2", "RWF")], None).await.unwrap();
        assert!(again[0].unchanged, "{}: deleting twice changes nothing", test.name);
        let never = store.write(vec![delete("Patient", "never-there", "RWF")], None).await.unwrap();
        assert!(never[0].unchanged, "{}", test.name);
        assert!(store.read(resource_type("Patient"), &id("never-there")).await.unwrap().is_none(), "{}", test.name);

        let recreated = store.write(vec![put(patient("p2", "Brown"), "RWF", Precondition::None)], None).await.unwrap();
        assert_eq!((recreated[0].version_id, recreated[0].created), (3, true), "{}", test.name);
    }
}

#[tokio::test]
async fn stale_versions_other_organisations_and_duplicates_are_refused() {
    for test in stores().await {
        let store = &test.store;
        store.write(vec![put(patient("p3", "Smith"), "RWF", Precondition::None)], None).await.unwrap();
        store.write(vec![put(patient("p3", "Smyth"), "RWF", Precondition::None)], None).await.unwrap();

        let stale = store.write(vec![put(patient("p3", "Smithe"), "RWF", Precondition::VersionIs(1))], None).await;
        assert!(
            matches!(stale, Err(StoreError::VersionConflict { expected: 1, actual: 2, .. })),
            "{}: {stale:?}",
            test.name
        );

        let foreign = store.write(vec![put(patient("p3", "Other"), "RVV", Precondition::None)], None).await;
        assert!(matches!(foreign, Err(StoreError::NotOwner { .. })), "{}: {foreign:?}", test.name);
        let foreign_delete = store.write(vec![delete("Patient", "p3", "RVV")], None).await;
        assert!(matches!(foreign_delete, Err(StoreError::NotOwner { .. })), "{}: {foreign_delete:?}", test.name);

        let duplicate = store.write(vec![put(patient("p3", "Again"), "RWF", Precondition::MustNotExist)], None).await;
        assert!(matches!(duplicate, Err(StoreError::AlreadyExists { .. })), "{}: {duplicate:?}", test.name);
    }
}

#[tokio::test]
async fn a_batch_is_all_or_nothing() {
    for test in stores().await {
        let store = &test.store;
        store.write(vec![put(patient("p4", "Smith"), "RWF", Precondition::None)], None).await.unwrap();
        let failing = vec![
            put(patient("p5", "New"), "RWF", Precondition::None),
            put(patient("p4", "Changed"), "RWF", Precondition::VersionIs(7)),
        ];
        assert!(store.write(failing, Some(audit("transaction"))).await.is_err(), "{}", test.name);
        assert!(
            store.read(resource_type("Patient"), &id("p5")).await.unwrap().is_none(),
            "{}: p5 rolled back",
            test.name
        );
        let p4 = store.read(resource_type("Patient"), &id("p4")).await.unwrap().unwrap();
        assert_eq!(p4.version_id, 1, "{}", test.name);
        assert!(
            store.audit_entries(0, 10).await.unwrap().is_empty(),
            "{}: no audit for a rolled back write",
            test.name
        );
    }
}

#[tokio::test]
async fn writes_sent_together_each_stand_or_fall_alone() {
    for test in stores().await {
        let store = &test.store;
        store.write(vec![put(patient("theirs", "Smith"), "RVV", Precondition::None)], None).await.unwrap();
        store.write(vec![put(patient("current", "Smith"), "RWF", Precondition::None)], None).await.unwrap();
        // Sent at once, as an HL7 v2 feed's connections send them: PostgreSQL applies what waits together in one
        // transaction, SQLite's writer in one commit; either way a refused write must leave the others whole.
        let mut writers = Vec::new();
        for n in 0..24 {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                let op = match n {
                    7 => put(patient("theirs", "Taken"), "RWF", Precondition::None),
                    15 => put(patient("current", "Stale"), "RWF", Precondition::VersionIs(5)),
                    _ => put(patient(&format!("together-{n}"), "Jones"), "RWF", Precondition::MustNotExist),
                };
                (n, store.write(vec![op], Some(audit("update"))).await)
            }));
        }
        for writer in writers {
            let (n, result) = writer.await.unwrap();
            match n {
                7 => assert!(matches!(result, Err(StoreError::NotOwner { .. })), "{}: {result:?}", test.name),
                15 => assert!(matches!(result, Err(StoreError::VersionConflict { .. })), "{}: {result:?}", test.name),
                _ => {
                    let outcomes = result.unwrap_or_else(|error| panic!("{}: write {n}: {error:?}", test.name));
                    assert_eq!(outcomes[0].version_id, 1, "{}", test.name);
                    assert_eq!(store_read(store, &format!("together-{n}")).await.version_id, 1, "{}", test.name);
                }
            }
        }
        assert_eq!(store_read(store, "theirs").await.version_id, 1, "{}: another's record untouched", test.name);
        assert_eq!(store_read(store, "current").await.version_id, 1, "{}: the stale write left nothing", test.name);
        let entries = store.audit_entries(0, 100).await.unwrap();
        assert_eq!(entries.len(), 22, "{}: one audit entry for each write kept, none for a refused one", test.name);
        let verified = kmcr_audit::verify_chain(&entries, kmcr_audit::GENESIS_HASH.to_string(), Some(1));
        assert!(verified.is_ok(), "{}: {verified:?}", test.name);
    }
}

#[tokio::test]
async fn the_audit_chain_links_every_entry() {
    for test in stores().await {
        let store = &test.store;
        store.append_audit(audit("read")).await.unwrap();
        store.write(vec![put(patient("p6", "Smith"), "RWF", Precondition::None)], Some(audit("create"))).await.unwrap();
        store.append_audit(audit("search")).await.unwrap();
        let entries = store.audit_entries(0, 10).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|entry| entry.record.action.as_str()).collect();
        assert_eq!(actions, vec!["read", "create", "search"], "{}", test.name);
        let verified = kmcr_audit::verify_chain(&entries, kmcr_audit::GENESIS_HASH.to_string(), Some(1));
        assert!(verified.is_ok(), "{}: {verified:?}", test.name);
    }
}

#[tokio::test]
async fn concurrent_reads_and_writes_leave_one_unbroken_audit_chain() {
    for test in stores().await {
        let mut tasks = Vec::new();
        for n in 0..60 {
            let store = test.store.clone();
            tasks.push(tokio::spawn(async move {
                if n % 10 == 0 {
                    let op = put(patient(&format!("audited-{n}"), "Smith"), "RWF", Precondition::None);
                    store.write(vec![op], Some(audit("create"))).await.map(|_| ())
                } else {
                    store.append_audit(audit("read")).await.map(|_| ())
                }
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let entries = test.store.audit_entries(0, 100).await.unwrap();
        assert_eq!(entries.len(), 60, "{}", test.name);
        let sequences: Vec<i64> = entries.iter().map(|entry| entry.sequence).collect();
        assert_eq!(sequences, (1..=60).collect::<Vec<_>>(), "{}", test.name);
        let verified = kmcr_audit::verify_chain(&entries, kmcr_audit::GENESIS_HASH.to_string(), Some(1));
        assert!(verified.is_ok(), "{}: {verified:?}", test.name);
    }
}

#[tokio::test]
async fn racing_writers_each_succeed_or_see_a_conflict() {
    for test in stores().await {
        let mut writers = Vec::new();
        for n in 0..8 {
            let store = test.store.clone();
            writers.push(tokio::spawn(async move {
                store.write(vec![put(patient("racer", &format!("Name{n}")), "RWF", Precondition::None)], None).await
            }));
        }
        let mut n_written = 0;
        for writer in writers {
            match writer.await.unwrap() {
                Ok(_) => n_written += 1,
                Err(StoreError::ConcurrentWrite) => {}
                Err(other) => panic!("{}: a race must end in success or a conflict, not {other:?}", test.name),
            }
        }
        assert!(n_written >= 1, "{}", test.name);
        let current = store_read(&test.store, "racer").await;
        assert_eq!(current.version_id, n_written, "{}: one version per successful write", test.name);
        let history = test
            .store
            .history(
                &HistoryRequest {
                    resource_type: Some(resource_type("Patient")),
                    id: Some(id("racer")),
                    since: None,
                    count: 100,
                    cursor: None,
                },
                &kmcr_store::RowFilter::Unrestricted,
            )
            .await
            .unwrap();
        let versions: Vec<i64> = history.resources.iter().map(|resource| resource.version_id).collect();
        assert_eq!(versions, (1..=n_written).rev().collect::<Vec<_>>(), "{}", test.name);
    }
}

async fn store_read(store: &Store, id_text: &str) -> kmcr_store::StoredResource {
    store.read(resource_type("Patient"), &id(id_text)).await.unwrap().unwrap()
}

#[tokio::test]
async fn the_sqlite_write_ahead_log_stays_bounded_under_continuous_writes() {
    let directory = TempDirectory::new();
    let max_wal_bytes = 256 * 1024;
    let options = StoreOptions { sqlite_max_wal_bytes: max_wal_bytes, ..StoreOptions::default() };
    let store = Store::open(directory.0.to_str().unwrap(), &options).await.unwrap();
    let wal = directory.0.join("kmcr.db-wal");
    let mut largest_wal_bytes = 0;
    for batch_idx in 0..60 {
        let ops = (0..20)
            .map(|n| {
                let mut resource = patient(&format!("p{batch_idx}-{n}"), "Walsh");
                resource["text"] = json!({ "status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div>", "x".repeat(2000)) });
                put(resource, "RWF", Precondition::None)
            })
            .collect();
        store.write(ops, None).await.unwrap();
        largest_wal_bytes = largest_wal_bytes.max(std::fs::metadata(&wal).map_or(0, |metadata| metadata.len()));
    }
    // One group's frames may be added past the limit before the writer empties the log.
    assert!(largest_wal_bytes < 4 * max_wal_bytes, "the WAL reached {largest_wal_bytes} bytes");
}

#[tokio::test]
async fn a_resource_written_twice_in_one_batch_keeps_only_its_last_index_rows() {
    for test in stores().await {
        let store = &test.store;
        let ops = vec![
            put(patient("twice", "Smith"), "RWF", Precondition::None),
            put(patient("twice", "Jones"), "RWF", Precondition::None),
        ];
        let outcomes = store.write(ops, None).await.unwrap();
        assert_eq!(outcomes[1].version_id, 2, "{}", test.name);
        for (family, n_expected) in [("smith", 0), ("jones", 1)] {
            let params = vec![("family".to_string(), family.to_string())];
            let request = kmcr_fhir_search::parse_search(
                SearchParamRegistry::official_r4(),
                resource_type("Patient"),
                &params,
                false,
                10,
            )
            .unwrap();
            let page = kmcr_store::PageRequest { count: 10, cursor: None, want_total: false };
            let found = store.search(&request, &page, &kmcr_store::RowFilter::Unrestricted).await.unwrap();
            assert_eq!(found.matches.len(), n_expected, "{}: family={family}", test.name);
        }
    }
}

/// Items stored before a code rule existed are labelled by it at the next open: labels are worked out again whenever
/// the rules configured differ from those the store was labelled under.
#[tokio::test]
async fn stored_items_are_labelled_again_when_the_code_rules_change() {
    for test in stores().await {
        let store = &test.store;
        let observation = serde_json::json!({
            "resourceType": "Observation", "id": "obs-relabel", "status": "final",
            "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "1234567" }] },
        });
        store.write(vec![put(observation, "RWF", Precondition::None)], None).await.unwrap();
        assert_eq!(store_read_of(store, "Observation", "obs-relabel").await.sensitivity, 0, "{}", test.name);
        let rules = kmcr_access::CodeRules {
            rules: vec![kmcr_access::CodeRule {
                system: "http://snomed.info/sct".into(),
                code: "1234567".into(),
                category: kmcr_access::SensitiveCategory::Fertility,
            }],
        };
        let options = kmcr_store::StoreOptions { code_rules: rules, ..Default::default() };
        let reopened = kmcr_store::Store::open(&test.location, &options).await.unwrap();
        let labelled = store_read_of(&reopened, "Observation", "obs-relabel").await;
        assert_ne!(labelled.sensitivity, 0, "{}: labelled under the new rule", test.name);
    }
}

async fn store_read_of(store: &kmcr_store::Store, type_name: &str, id_text: &str) -> kmcr_store::StoredResource {
    store.read(resource_type(type_name), &id(id_text)).await.unwrap().unwrap()
}
