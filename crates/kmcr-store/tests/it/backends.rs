//! The backends each test runs on, each freshly created.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use kmcr_fhir::{OdsCode, ResourceId, ResourceType};
pub use kmcr_fhir_search::{SearchParamRegistry, extract_index_entries, owning_patient_id};
pub use kmcr_store::{Precondition, ScratchDatabase, Store, StoreOptions, WriteAction, WriteOp};
pub use serde_json::Value;

static NEXT_DIRECTORY: AtomicUsize = AtomicUsize::new(0);

/// A data directory removed when the test ends.
pub struct TempDirectory(pub PathBuf);

impl TempDirectory {
    pub fn new() -> TempDirectory {
        let n = NEXT_DIRECTORY.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("kmcr-store-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        TempDirectory(path)
    }
}

impl Drop for TempDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A store under test, with whatever must live as long as it.
pub struct TestStore {
    pub name: &'static str,
    pub store: Store,
    /// What `Store::open` was given: the SQLite directory or the PostgreSQL URL.
    pub location: String,
    _directory: Option<TempDirectory>,
    /// Dropped after `store` (fields drop in order), so the database goes once the store has closed.
    _database: Option<ScratchDatabase>,
}

/// The PostgreSQL server URL for tests, if one is configured (or required, under CI).
fn postgres_admin_url() -> Option<String> {
    match std::env::var("KMCR_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok() => {
            panic!("CI is set but KMCR_TEST_DATABASE_URL is not: PostgreSQL is required")
        }
        _ => None,
    }
}

/// Every backend available here, freshly created.
pub async fn stores() -> Vec<TestStore> {
    let directory = TempDirectory::new();
    let location = directory.0.to_str().unwrap().to_string();
    let sqlite = Store::open(&location, &StoreOptions::default()).await.expect("open SQLite");
    let mut stores =
        vec![TestStore { name: "sqlite", store: sqlite, location, _directory: Some(directory), _database: None }];
    if let Some(admin_url) = postgres_admin_url() {
        let n = NEXT_DIRECTORY.fetch_add(1, Ordering::SeqCst);
        let database = ScratchDatabase::create(&admin_url, "kmcr_test_", n)
            .await
            .unwrap_or_else(|error| panic!("cannot make a database at KMCR_TEST_DATABASE_URL: {error}"));
        let postgres = Store::open(&database.url, &StoreOptions::default()).await.expect("open PostgreSQL");
        let location = database.url.clone();
        stores.push(TestStore {
            name: "postgres",
            store: postgres,
            location,
            _directory: None,
            _database: Some(database),
        });
    }
    stores
}

pub fn ods(code: &str) -> OdsCode {
    OdsCode::parse(code).unwrap()
}

pub fn id(text: &str) -> ResourceId {
    ResourceId::parse(text).unwrap()
}

pub fn resource_type(name: &str) -> ResourceType {
    ResourceType::parse(name).unwrap()
}

/// A put of `resource` as `writer` would make it, index rows and owner worked out as the service does.
pub fn put(resource: Value, writer: &str, precondition: Precondition) -> WriteOp {
    let resource_type = resource_type(resource["resourceType"].as_str().unwrap());
    let id = id(resource["id"].as_str().unwrap());
    let index_entries = extract_index_entries(SearchParamRegistry::official_r4(), &resource);
    let owning_patient_id = owning_patient_id(resource_type, Some(id.as_str()), &index_entries);
    let sensitivity = kmcr_access::sensitivity_of(&resource, &kmcr_access::CodeRules::defaults()).bits();
    let events = kmcr_events::conditions_of(resource_type.as_str(), &resource);
    WriteOp {
        resource_type,
        id,
        action: WriteAction::Put { resource, index_entries, owning_patient_id, sensitivity, events },
        precondition,
        writer_ods_code: ods(writer),
    }
}

pub fn delete(resource_type_name: &str, id_text: &str, writer: &str) -> WriteOp {
    WriteOp {
        resource_type: resource_type(resource_type_name),
        id: id(id_text),
        action: WriteAction::Delete,
        precondition: Precondition::None,
        writer_ods_code: ods(writer),
    }
}
