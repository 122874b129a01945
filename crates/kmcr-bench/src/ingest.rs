//! Ingest: the Synthea bundles as HTTP transactions, then the same resources inserted raw into the same engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

use crate::client::FhirClient;
use crate::{Options, empty_store, postgres_settings, raw_insert, server};

const SYNTHEA_DIRECTORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/synthea-r4");

pub struct LoadedBundle {
    pub bytes: Bytes,
    pub n_resources: usize,
}

pub fn read_synthea() -> anyhow::Result<Vec<LoadedBundle>> {
    let mut paths: Vec<_> =
        std::fs::read_dir(SYNTHEA_DIRECTORY)?.map(|entry| entry.map(|entry| entry.path())).collect::<Result<_, _>>()?;
    paths.sort();
    let mut bundles = Vec::with_capacity(paths.len());
    for path in paths {
        let bytes = std::fs::read(&path)?;
        let json: serde_json::Value = serde_json::from_slice(&bytes)?;
        let n_resources = json["entry"].as_array().map_or(0, Vec::len);
        bundles.push(LoadedBundle { bytes: Bytes::from(bytes), n_resources });
    }
    Ok(bundles)
}

/// Sends every bundle with `n_clients` concurrent clients; returns resources per second.
pub async fn post_concurrently(
    client: &FhirClient,
    bundles: Arc<Vec<LoadedBundle>>,
    n_clients: usize,
) -> anyhow::Result<f64> {
    let next_idx = Arc::new(AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..n_clients {
        let (client, bundles, next_idx) = (client.clone(), bundles.clone(), next_idx.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let bundle_idx = next_idx.fetch_add(1, Ordering::SeqCst);
                let Some(bundle) = bundles.get(bundle_idx) else { return anyhow::Ok(()) };
                client.send("POST", "", Some(bundle.bytes.clone())).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let n_resources: usize = bundles.iter().map(|bundle| bundle.n_resources).sum();
    Ok(n_resources as f64 / started.elapsed().as_secs_f64())
}

pub async fn run(options: &Options) -> anyhow::Result<()> {
    let bundles = Arc::new(read_synthea()?);
    let n_resources: usize = bundles.iter().map(|bundle| bundle.n_resources).sum();
    println!(
        "ingest benchmark: {} Synthea bundles, {n_resources} resources, store {}",
        bundles.len(),
        options.database
    );

    empty_store(&options.database).await?;
    let settings = postgres_settings(&options.database).await?;
    if !settings.is_empty() {
        println!(" {settings}");
    }
    let running = server::start(&options.database, &["RWF".to_string()]).await?;
    let client = FhirClient::connect(running.address, "bench-writer-RWF").await?;
    let http_rate = post_concurrently(&client, bundles.clone(), options.n_clients).await?;
    println!("  over HTTP, {} concurrent clients: {http_rate:.0} resources/s", options.n_clients);

    let raw_rate = raw_insert::run(&options.database, &bundles).await?;
    println!("  raw insert into the same engine (no index, no HTTP): {raw_rate:.0} resources/s");
    println!("  ratio HTTP / raw: {:.2}", http_rate / raw_rate);
    Ok(())
}
