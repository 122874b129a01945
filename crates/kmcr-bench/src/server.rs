//! A KMCR server on a loopback port, in this process, as `kmcr serve` would run it.

use std::net::SocketAddr;
use std::sync::Arc;

use kmcr_access::{
    AccessSettings, CodeRules, Organisation, OrganisationKind, OrganisationRegistry, RegionWideReading, Scope,
};
use kmcr_api::{AppState, Authentication, router};
use kmcr_auth::{ApiClient, Secret, hash_secret};
use kmcr_fhir::OdsCode;
use kmcr_service::identity::IdentitySettings;
use kmcr_service::{AccessPolicy, Limits, Service};
use kmcr_store::{Store, StoreOptions};

pub const CLIENT_SECRET: &str = "benchmark-secret-0123456789";

pub struct RunningServer {
    pub address: SocketAddr,
}

/// Clients: `bench-reader` (read everything) and one writer per ODS code given.
pub async fn start(database: &str, writer_ods_codes: &[String]) -> anyhow::Result<RunningServer> {
    let opening = std::time::Instant::now();
    let store = Store::open(database, &StoreOptions { n_read_connections: 8, ..StoreOptions::default() }).await?;
    let secret_hash = hash_secret(&Secret::new(CLIENT_SECRET)).map_err(|error| anyhow::anyhow!("{error}"))?;
    let mut clients = vec![ApiClient {
        id: "bench-reader".into(),
        secret_hash: secret_hash.clone(),
        ods_code: OdsCode::parse("RWF")?,
        scopes: vec![Scope::parse("system/*.read")?],
        region_wide: Some(RegionWideReading { justification: "benchmark".into(), secondary_use: false }),
        trusted_to_verify_nhs_numbers: false,
    }];
    let mut organisations: Vec<Organisation> = kmcr_synth::organisations()
        .iter()
        .map(|organisation| Organisation {
            ods_code: OdsCode::parse(organisation.ods_code).expect("synthetic ODS codes are valid"),
            name: organisation.name.into(),
            kind: OrganisationKind::Acute,
            party_to_agreement: true,
        })
        .collect();
    for ods_code in writer_ods_codes {
        clients.push(ApiClient {
            id: format!("bench-writer-{ods_code}"),
            secret_hash: secret_hash.clone(),
            ods_code: OdsCode::parse(ods_code)?,
            scopes: vec![Scope::parse("system/*.*")?],
            region_wide: None,
            trusted_to_verify_nhs_numbers: true,
        });
        organisations.push(Organisation {
            ods_code: OdsCode::parse(ods_code)?,
            name: ods_code.clone(),
            kind: OrganisationKind::Acute,
            party_to_agreement: true,
        });
    }
    let access = AccessPolicy {
        registry: OrganisationRegistry::new(organisations),
        policies: Vec::new(),
        settings: AccessSettings::default(),
        code_rules: CodeRules::defaults(),
        paging_key: vec![7; 32],
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    // Starting reads every Patient into the person index: at scale, a restart's cost, so it is printed.
    let service = Service::start(store, Limits::default(), IdentitySettings::default(), access).await?;
    println!("  server started in {:.1} s (store opened, person index loaded)", opening.elapsed().as_secs_f64());
    let state = AppState {
        service,
        auth: Arc::new(Authentication::in_memory(
            &format!("http://{address}"),
            clients,
            Vec::new(),
            Vec::new(),
            86_400,
        )),
        fhir_base_url: format!("http://{address}/fhir"),
        max_body_bytes: 256 * 1024 * 1024,
    };
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    Ok(RunningServer { address })
}
