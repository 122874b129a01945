//! A router over a fresh embedded store, with clients for two organisations, and a small client to call it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kmcr_access::{
    AccessSettings, CodeRules, Organisation, OrganisationKind, OrganisationRegistry, RegionWideReading, Scope,
};
use kmcr_api::{AppState, Authentication, router};
use kmcr_auth::{ApiClient, SecretHash};
use kmcr_fhir::OdsCode;
use kmcr_service::feeds::MllpFeed;
use kmcr_service::identity::IdentitySettings;
use kmcr_service::{AccessPolicy, Limits, Service};
use kmcr_store::{ScratchDatabase, Store, StoreOptions};
use serde_json::Value;
use tower::ServiceExt;

pub const BASE: &str = "http://kmcr.test/fhir";
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

static NEXT_DIRECTORY: AtomicUsize = AtomicUsize::new(0);

pub struct TestApi {
    pub router: Router,
    pub store: Store,
    /// The service behind `router`, for what arrives other than over HTTP (HL7 v2 messages).
    pub service: Service,
    /// The token signing key, shared by every node of the deployment.
    signing_key_pem: kmcr_auth::Secret,
    /// `sqlite` or `postgres`, for assertion messages.
    pub backend: &'static str,
    directory: Option<std::path::PathBuf>,
    _database: Option<ScratchDatabase>,
}

impl Drop for TestApi {
    fn drop(&mut self) {
        if let Some(directory) = &self.directory {
            let _ = std::fs::remove_dir_all(directory);
        }
    }
}

/// An empty store, for tests that start the service on it themselves.
pub struct FreshStore {
    pub store: Store,
    pub backend: &'static str,
    /// The SQLite directory, which the caller removes.
    pub directory: Option<std::path::PathBuf>,
    /// The PostgreSQL database, dropped with this value: keep it until the store is done with.
    pub database: Option<ScratchDatabase>,
}

impl FreshStore {
    pub async fn sqlite() -> FreshStore {
        let n = NEXT_DIRECTORY.fetch_add(1, Ordering::SeqCst);
        let directory = std::env::temp_dir().join(format!("kmcr-api-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        let store = Store::open(directory.to_str().unwrap(), &StoreOptions::default()).await.unwrap();
        FreshStore { store, backend: "sqlite", directory: Some(directory), database: None }
    }

    /// An embedded store and, where `KMCR_TEST_DATABASE_URL` is set (required under CI), a PostgreSQL database.
    pub async fn on_every_backend() -> Vec<FreshStore> {
        let mut stores = vec![FreshStore::sqlite().await];
        let admin_url = match std::env::var("KMCR_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").is_ok() => panic!("CI is set but KMCR_TEST_DATABASE_URL is not"),
            _ => return stores,
        };
        let n = NEXT_DIRECTORY.fetch_add(1, Ordering::SeqCst);
        let database = ScratchDatabase::create(&admin_url, "kmcr_apitest_", n)
            .await
            .unwrap_or_else(|error| panic!("cannot make a database at KMCR_TEST_DATABASE_URL: {error}"));
        let store = Store::open(&database.url, &StoreOptions::default()).await.unwrap();
        stores.push(FreshStore { store, backend: "postgres", directory: None, database: Some(database) });
        stores
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

/// Every test client's secret and every test account's password (hashed once: argon2 is slow on purpose).
pub const TEST_SECRET: &str = "test-secret-0123456789";

pub fn test_secret_hash() -> SecretHash {
    static HASH: std::sync::OnceLock<SecretHash> = std::sync::OnceLock::new();
    HASH.get_or_init(|| kmcr_auth::hash_secret(&kmcr_auth::Secret::new(TEST_SECRET)).unwrap()).clone()
}

fn client(id: &str, ods_code: &str, scopes: &[&str]) -> ApiClient {
    ApiClient {
        id: id.into(),
        secret_hash: test_secret_hash(),
        ods_code: OdsCode::parse(ods_code).unwrap(),
        scopes: scopes.iter().map(|scope| Scope::parse(scope).unwrap()).collect(),
        region_wide: None,
    }
}

/// A client configured to read every person's record (a named exception).
fn region_wide(mut client: ApiClient) -> ApiClient {
    client.region_wide = Some(RegionWideReading { justification: "test".into(), secondary_use: false });
    client
}

/// The organisations of the tests' region, all party to the agreement.
pub fn test_access_policy() -> AccessPolicy {
    let organisation = |code: &str, kind| Organisation {
        ods_code: OdsCode::parse(code).unwrap(),
        name: format!("Test organisation {code}"),
        kind,
        party_to_agreement: true,
    };
    AccessPolicy {
        registry: OrganisationRegistry::new([
            organisation("RWF", OrganisationKind::Acute),
            organisation("RVV", OrganisationKind::Acute),
            organisation("G82001", OrganisationKind::GpPractice),
            organisation("RYD", OrganisationKind::Ambulance),
        ]),
        policies: Vec::new(),
        settings: AccessSettings::default(),
        code_rules: CodeRules::defaults(),
        paging_key: vec![5; 32],
    }
}

/// The MLLP feeds configured: RWF's patient administration system, `PAS`, which may send only from its integration
/// engine's address, [`RWF_ENGINE_ADDRESS`].
pub fn test_mllp_feeds() -> Vec<MllpFeed> {
    vec![MllpFeed {
        ods_code: OdsCode::parse("RWF").unwrap(),
        sending_application: "PAS".into(),
        sending_facility: None,
        allowed_addresses: vec![RWF_ENGINE_ADDRESS.parse().unwrap()],
        client_certificate: None,
        switched_off: false,
        security_labels: Vec::new(),
    }]
}

pub const RWF_ENGINE_ADDRESS: &str = "10.0.0.5";

/// One node of the API over `store`, as `kmcr serve` builds it, and its service.
async fn node(store: &Store, signing_key: kmcr_auth::SigningKey) -> (Router, Service) {
    let service = Service::start(store.clone(), Limits::default(), IdentitySettings::default(), test_access_policy())
        .await
        .unwrap()
        .with_mllp_feeds(test_mllp_feeds());
    let state = AppState {
        service: service.clone(),
        auth: Arc::new(Authentication::with_store(
            store.clone(),
            signing_key,
            BASE.trim_end_matches("/fhir"),
            vec![
                client("acute", "RWF", &["system/*.*"]),
                client("gp", "G82001", &["system/*.*"]),
                region_wide(client("viewer", "RVV", &["system/*.read"])),
                client("ambulance", "RYD", &["system/*.*"]),
                region_wide(client("dq-officer", "RWF", &["system/Patient.read", "system/Person.*"])),
                // An organisation that is not party to the sharing agreement.
                client("outsider", "LEFT1", &["system/*.*"]),
            ],
            crate::users::test_accounts(),
            crate::users::test_smart_apps(),
            600,
        )),
        fhir_base_url: BASE.into(),
        max_body_bytes: MAX_BODY_BYTES,
    };
    (router(state), service)
}

impl TestApi {
    /// On a fresh embedded store.
    pub async fn new() -> TestApi {
        TestApi::on_store(FreshStore::sqlite().await).await
    }

    /// On a fresh embedded store and, where `KMCR_TEST_DATABASE_URL` is set (required under CI), on a fresh
    /// PostgreSQL database.
    pub async fn on_every_backend() -> Vec<TestApi> {
        let mut apis = Vec::new();
        for fresh in FreshStore::on_every_backend().await {
            apis.push(TestApi::on_store(fresh).await);
        }
        apis
    }

    async fn on_store(fresh: FreshStore) -> TestApi {
        let FreshStore { store, backend, directory, database } = fresh;
        let signing_key = kmcr_auth::SigningKey::generate();
        let signing_key_pem = signing_key.pkcs8_pem().clone();
        let (router, service) = node(&store, signing_key).await;
        TestApi { router, store, service, signing_key_pem, backend, directory, _database: database }
    }

    /// Another node of the same deployment: its own memory (person index, caches), the same database and signing key.
    pub async fn another_node(&self) -> Router {
        node(&self.store, kmcr_auth::SigningKey::from_pkcs8_pem(&self.signing_key_pem).unwrap()).await.0
    }

    /// How many audit entries there are.
    pub async fn audit_length(&self) -> i64 {
        self.store.audit_head().await.unwrap().map_or(0, |(sequence, _)| sequence)
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Reply { status, headers, body }
    }

    pub async fn token(&self, client_id: &str) -> String {
        let form = format!("grant_type=client_credentials&client_id={client_id}&client_secret={TEST_SECRET}");
        let request = Request::post("/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        let reply = self.send(request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["access_token"].as_str().unwrap().to_string()
    }

    /// A request to any path of the API as `client_id`, with a JSON body when given.
    pub async fn call(&self, client_id: &str, method: &str, uri: &str, body: Option<&Value>) -> Reply {
        self.request(client_id, method, uri.to_string(), body, &[]).await
    }

    /// A FHIR request as `client_id`, with a JSON body when given.
    pub async fn fhir(
        &self,
        client_id: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.request(client_id, method, format!("/fhir/{path}"), body, headers).await
    }

    async fn request(
        &self,
        client_id: &str,
        method: &str,
        uri: String,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let token = self.token(client_id).await;
        let mut builder = Request::builder().method(method).uri(uri).header("authorization", format!("Bearer {token}"));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = match body {
            Some(json) => Body::from(json.to_string()),
            None => Body::empty(),
        };
        self.send(builder.header("content-type", "application/fhir+json").body(body).unwrap()).await
    }

    pub async fn raw(&self, client_id: &str, method: &str, path: &str, body: Vec<u8>) -> Reply {
        let token = self.token(client_id).await;
        let request = Request::builder()
            .method(method)
            .uri(format!("/fhir/{path}"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/fhir+json")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }
}

/// The stable error code of an OperationOutcome reply.
pub fn error_code(reply: &Reply) -> String {
    assert_eq!(reply.body["resourceType"], "OperationOutcome", "{}", reply.body);
    reply.body["issue"][0]["details"]["coding"][0]["code"].as_str().unwrap_or_default().to_string()
}
