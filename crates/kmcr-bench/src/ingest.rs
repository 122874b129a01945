//! Ingest: the Synthea bundles as HTTP transactions, then the same resources inserted raw into the same engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

use crate::client::FhirClient;
use crate::{Options, empty_store, is_postgres, postgres_settings, raw_insert, server};

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

/// Loads the bundles `options.n_rounds` times, each into an empty store with a new server: a run of a few seconds
/// varies from one to the next, so one figure alone says little. Prints every round, then the median and range.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let bundles = Arc::new(read_synthea()?);
    let n_resources: usize = bundles.iter().map(|bundle| bundle.n_resources).sum();
    println!(
        "ingest benchmark: {} Synthea bundles, {n_resources} resources, store {}, {} concurrent clients, {} rounds",
        bundles.len(),
        options.database,
        options.n_clients,
        options.n_rounds
    );
    let on_postgres = is_postgres(&options.database);
    if !on_postgres {
        let _ = std::fs::remove_dir_all(&options.database);
    }
    let mut http_rates = Vec::new();
    let mut raw_rates = Vec::new();
    for round in 1..=options.n_rounds {
        // SQLite: a directory per round, so that no round's store shares files with the last round's (its server
        // is still running, idle, in this process). PostgreSQL: the database is dropped and made again.
        let location =
            if on_postgres { options.database.clone() } else { format!("{}/round-{round}", options.database) };
        empty_store(&location).await?;
        if round == 1 {
            let settings = postgres_settings(&location).await?;
            if !settings.is_empty() {
                println!(" {settings}");
            }
        }
        let running = server::start(&location, &["RWF".to_string()]).await?;
        let client = FhirClient::connect(running.address, "bench-writer-RWF").await?;
        let http_rate = post_concurrently(&client, bundles.clone(), options.n_clients).await?;
        let raw_rate = raw_insert::run(&location, &bundles).await?;
        println!(
            "  round {round}: over HTTP {http_rate:.0} resources/s; raw insert into the same engine (no index, no \
             HTTP) {raw_rate:.0} resources/s; ratio {:.2}",
            http_rate / raw_rate
        );
        http_rates.push(http_rate);
        raw_rates.push(raw_rate);
    }
    let (http, raw) = (Spread::of(&mut http_rates), Spread::of(&mut raw_rates));
    println!("  over HTTP: median {:.0} resources/s (range {:.0} to {:.0})", http.median, http.min, http.max);
    println!("  raw insert: median {:.0} resources/s (range {:.0} to {:.0})", raw.median, raw.min, raw.max);
    println!("  ratio of the medians, HTTP / raw: {:.2}", http.median / raw.median);
    Ok(())
}

struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    /// Of at least one figure; an even count's median is the mean of the middle two.
    fn of(figures: &mut [f64]) -> Spread {
        figures.sort_by(f64::total_cmp);
        let middle = figures.len() / 2;
        let median = if figures.len().is_multiple_of(2) {
            (figures[middle - 1] + figures[middle]) / 2.0
        } else {
            figures[middle]
        };
        Spread { median, min: figures[0], max: figures[figures.len() - 1] }
    }
}
