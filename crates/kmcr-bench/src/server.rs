//! A KMCR server on a loopback port, in this process, as `kmcr serve` would run it.

use std::net::SocketAddr;

use anyhow::Context;
use std::sync::Arc;

use kmcr_access::{Organisation, OrganisationKind, RegionWideReading, Scope};
use kmcr_api::{AppState, Authentication, router};
use kmcr_auth::{ApiClient, Secret, SigningKey, hash_secret};
use kmcr_fhir::OdsCode;
use kmcr_service::identity::IdentitySettings;
use kmcr_service::{Limits, Service};
use kmcr_store::{Store, StoreOptions};

pub const CLIENT_SECRET: &str = "benchmark-secret-0123456789";

pub struct RunningServer {
    pub address: SocketAddr,
    auth: Arc<Authentication>,
}

impl RunningServer {
    /// A bearer token for a GP (R8000, B0360, signed in at AAL3) at `ods_code`, minted as a sign-in would: a session
    /// started and a token bound to it and to the role profile.
    pub async fn clinician_token(&self, ods_code: &str) -> anyhow::Result<String> {
        let now = kmcr_fhir::Instant::now();
        let user_id = format!("bench-gp-{ods_code}");
        let session_id = self.auth.sessions.start(&user_id, now, 86_400).await?;
        let principal = kmcr_access::Principal::User(kmcr_access::UserPrincipal {
            user_id: user_id.clone(),
            session_id,
            role_profile: kmcr_access::RoleProfile {
                id: format!("{user_id}-role"),
                ods_code: OdsCode::parse(ods_code)?,
                job_role: kmcr_access::JobRole::parse("S8000:G8000:R8000").context("a job role")?,
                activities: kmcr_access::ActivitySet::expand(["B0360"]),
            },
            assurance: kmcr_access::AssuranceLevel::Aal3,
            scopes: vec![Scope::parse("user/*.rs")?],
        });
        Ok(self.auth.issuer.issue(&principal, "kmcr-bench", now).token)
    }
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
        });
        organisations.push(Organisation {
            ods_code: OdsCode::parse(ods_code)?,
            name: ods_code.clone(),
            kind: OrganisationKind::Acute,
            party_to_agreement: true,
        });
    }
    let access = crate::benchmark_access(organisations);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    // Starting reads every Patient into the person index: at scale, a restart's cost, so it is printed.
    let service = Service::start(store.clone(), Limits::default(), IdentitySettings::default(), access).await?;
    println!("  server started in {:.1} s (store opened, person index loaded)", opening.elapsed().as_secs_f64());
    let base_url = format!("http://{address}");
    let auth = Arc::new(Authentication::with_store(
        store,
        SigningKey::generate(),
        &base_url,
        clients,
        Vec::new(),
        Vec::new(),
        86_400,
    ));
    let state = AppState {
        service,
        auth: auth.clone(),
        fhir_base_url: format!("http://{address}/fhir"),
        max_body_bytes: 256 * 1024 * 1024,
    };
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    Ok(RunningServer { address, auth })
}
