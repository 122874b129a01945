//! The demo: API clients for each synthetic source organisation and a viewer, and a synthetic population loaded
//! through the service layer as each organisation would send it.

use std::path::Path;

use anyhow::Context;
use kmcr_access::{Principal, Scope};
use kmcr_fhir::OdsCode;
use kmcr_service::{RequestContext, Service};
use kmcr_synth::{SourceBundle, SynthConfig};

use crate::config::{RawClient, RawSettings, Secret};

pub const DEMO_VIEWER_ID: &str = "demo-viewer";
pub const DEMO_VIEWER_SECRET: &str = "demo-viewer-secret-change-me";
const DEMO_SEED: u64 = 20_261_124;

pub fn add_demo_clients(settings: &mut RawSettings) {
    settings.clients.push(RawClient {
        id: DEMO_VIEWER_ID.into(),
        secret: Secret(DEMO_VIEWER_SECRET.into()),
        ods_code: "RWF".into(),
        scopes: vec!["system/*.read".into()],
    });
}

pub fn print_demo_credentials(public_base_url: &str) {
    println!("Demo API client: id {DEMO_VIEWER_ID}, secret {DEMO_VIEWER_SECRET} (system/*.read)");
    println!(
        "  curl -s -d grant_type=client_credentials -d client_id={DEMO_VIEWER_ID} -d client_secret={DEMO_VIEWER_SECRET} \
         {public_base_url}/oauth/token"
    );
    println!("  then: curl -H 'Authorization: Bearer <access_token>' '{public_base_url}/fhir/Patient?_count=5'");
}

fn loader_context(source: &SourceBundle) -> anyhow::Result<RequestContext> {
    Ok(RequestContext {
        principal: Principal {
            id: format!("synthetic-loader-{}", source.source_ods_code),
            ods_code: OdsCode::parse(&source.source_ods_code).context("synthetic ODS codes are valid")?,
            scopes: vec![Scope::parse("system/*.*").expect("a valid scope")],
        },
        request_id: "demo-load".into(),
    })
}

/// Loads `n_people` synthetic people unless the store already holds patients.
pub async fn load_demo_population(service: &Service, n_people: usize) -> anyhow::Result<()> {
    let organisations = kmcr_synth::organisation_bundles();
    let probe = loader_context(organisations.first().context("the synthetic region has organisations")?)?;
    let existing =
        service.search(&probe, kmcr_fhir::ResourceType::PATIENT, &[("_count".into(), "1".into())], false, None).await?;
    if !existing.outcome.matches.is_empty() {
        println!("The demo store already holds a population; not loading again.");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let mut n_resources = 0usize;
    for source in organisations {
        n_resources += load(service, source).await?;
    }
    let config = SynthConfig { seed: DEMO_SEED, n_people };
    for person_idx in 0..n_people {
        for source in kmcr_synth::person_bundles(&config, person_idx) {
            n_resources += load(service, source).await?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("Loaded {n_people} synthetic people ({n_resources} resources) in {seconds:.1} s.");
    Ok(())
}

async fn load(service: &Service, source: SourceBundle) -> anyhow::Result<usize> {
    let context = loader_context(&source)?;
    let n_entries = source.bundle.get("entry").and_then(|entries| entries.as_array()).map_or(0, Vec::len);
    service
        .bundle(&context, source.bundle)
        .await
        .with_context(|| format!("loading a bundle of {}", source.source_ods_code))?;
    Ok(n_entries)
}

/// `kmcr synth`: one file per source Bundle, named by person and organisation.
pub fn write_synthetic_population(out: &Path, n_people: usize, seed: u64) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let write = |name: String, source: &SourceBundle| -> anyhow::Result<()> {
        let path = out.join(name);
        std::fs::write(&path, serde_json::to_vec(&source.bundle)?)
            .with_context(|| format!("cannot write {}", path.display()))
    };
    for source in kmcr_synth::organisation_bundles() {
        write(format!("organisation-{}.json", source.source_ods_code), &source)?;
    }
    let config = SynthConfig { seed, n_people };
    for person_idx in 0..n_people {
        for source in kmcr_synth::person_bundles(&config, person_idx) {
            write(format!("person-{person_idx:07}-{}.json", source.source_ods_code), &source)?;
        }
    }
    println!("Wrote {n_people} synthetic people to {}", out.display());
    Ok(())
}
