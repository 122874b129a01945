//! Audit benchmark: appends from concurrent readers (as the service appends one entry per read, each answered once
//! durable, with the checkpoint task signing the head), then verification of the whole chain against its checkpoints.
//! Prints figures; asserts nothing.
//!
//! `cargo run --release -p kmcr-store --example audit_bench -- --backend sqlite|postgres --entries N [--readers C]`
//! PostgreSQL: a scratch database on the server of `KMCR_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use kmcr_audit::{AuditRecord, CheckpointPolicy, CheckpointSigningKey, CheckpointSink};
use kmcr_store::{FileCheckpointSink, ScratchDatabase, Store, StoreOptions};

struct Arguments {
    backend: String,
    n_entries: i64,
    n_readers: usize,
}

fn arguments() -> anyhow::Result<Arguments> {
    let mut arguments = Arguments { backend: "sqlite".into(), n_entries: 100_000, n_readers: 64 };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--backend" => arguments.backend = value,
            "--entries" => arguments.n_entries = value.parse()?,
            "--readers" => arguments.n_readers = value.parse()?,
            _ => bail!("unknown option {flag}"),
        }
    }
    Ok(arguments)
}

/// An entry the size of a user's search (about 600 bytes of JSON).
fn record(n: i64) -> AuditRecord {
    let mut record = AuditRecord::new("user", &format!("5551{:08}", n % 5_000), "RVV", "search", &format!("req-{n}"));
    record.recorded_unix_ms = kmcr_fhir::Instant::now().unix_ms;
    record.role_profile_id = Some(format!("1002{:08}", n % 5_000));
    record.job_role_code = Some("R8000".into());
    record.session_id = Some(format!("session-{}", n % 20_000));
    record.purpose_of_use = Some(if n % 1_000 == 0 { "ETREAT" } else { "TREAT" }.into());
    record.query = Some(format!("Observation?patient=Person/{}&category=laboratory&_count=50", n % 100_000));
    record.resources = (0..3).map(|index| format!("Observation/obs-{n}-{index}")).collect();
    record.persons = vec![format!("Person/{}", n % 100_000)];
    record.patients = vec![format!("Patient/{}", n % 100_000), format!("Patient/b{}", n % 100_000)];
    record.outcome = "permitted".into();
    record.reasons = vec!["registered-practice".into(), "scope user/Observation.rs".into()];
    record
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = arguments()?;
    let directory = std::env::temp_dir().join(format!("kmcr-audit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    let mut scratch = None;
    let location = match arguments.backend.as_str() {
        "sqlite" => directory.join("store").to_str().context("temporary directory")?.to_string(),
        "postgres" => {
            let admin_url = std::env::var("KMCR_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let database = ScratchDatabase::create(&admin_url, "kmcr_audit_bench_", 0).await?;
            let url = database.url.clone();
            scratch = Some(database);
            url
        }
        other => bail!("--backend is sqlite or postgres, not {other}"),
    };
    let store = Store::open(&location, &StoreOptions::default()).await?;
    let key = CheckpointSigningKey::from_seed([9; 32]);
    let checkpoint_path = directory.join("checkpoints.jsonl");
    let sink: Arc<dyn CheckpointSink> = Arc::new(FileCheckpointSink::open(&checkpoint_path)?);
    let checkpoints = store.start_audit_checkpoints(key.clone(), sink.clone(), CheckpointPolicy::default()).await?;

    println!(
        "backend {}, {} entries appended by {} concurrent readers, checkpoints every 1,000 entries or 1 s",
        arguments.backend, arguments.n_entries, arguments.n_readers
    );
    let next = Arc::new(AtomicI64::new(1));
    let started = Instant::now();
    let mut readers = Vec::new();
    for _ in 0..arguments.n_readers {
        let (store, next, n_entries) = (store.clone(), next.clone(), arguments.n_entries);
        readers.push(tokio::spawn(async move {
            let mut latencies_us = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n > n_entries {
                    return Ok::<_, kmcr_store::StoreError>(latencies_us);
                }
                let appended = Instant::now();
                store.append_audit(record(n)).await?;
                latencies_us.push(appended.elapsed().as_micros() as u64);
            }
        }));
    }
    let mut latencies_us = Vec::new();
    for reader in readers {
        latencies_us.extend(reader.await??);
    }
    let append_seconds = started.elapsed().as_secs_f64();
    latencies_us.sort_unstable();
    let percentile = |fraction: f64| latencies_us[((latencies_us.len() - 1) as f64 * fraction) as usize] as f64 / 1e3;
    println!(
        "append: {:.0} entries/s ({:.1} s); latency ms p50 {:.2}, p99 {:.2}, max {:.2}",
        arguments.n_entries as f64 / append_seconds,
        append_seconds,
        percentile(0.5),
        percentile(0.99),
        percentile(1.0)
    );
    // The last entries are signed by a last checkpoint, as at a clean shutdown.
    let last_sequence = sink.checkpoints()?.last().map_or(0, |checkpoint| checkpoint.sequence);
    store.checkpoint_audit_head(&key, &sink, last_sequence).await?;
    drop(checkpoints);

    // Twice: the first pass after a load also pays for the database's first reads of fresh pages (on PostgreSQL,
    // setting hint bits); the second is what a later verification costs.
    for pass in ["verify", "verify again"] {
        let started = Instant::now();
        let checkpoints_read = FileCheckpointSink::read(&checkpoint_path)?;
        let n_checkpoints = checkpoints_read.len();
        let verified = store.verify_audit(checkpoints_read, vec![key.verifying_key()], 20_000).await?;
        let verify_seconds = started.elapsed().as_secs_f64();
        match verified {
            Ok(verified) => println!(
                "{pass}: {} entries and {} checkpoints in {:.2} s ({:.0} entries/s)",
                verified.n_entries,
                n_checkpoints,
                verify_seconds,
                verified.n_entries as f64 / verify_seconds
            ),
            Err(fault) => println!("{pass}: FAULT {fault} after {verify_seconds:.2} s"),
        }
    }
    drop(store);
    drop(scratch);
    let _ = std::fs::remove_dir_all(&directory);
    Ok(())
}
