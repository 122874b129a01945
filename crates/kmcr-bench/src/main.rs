//! `kmcr-bench`: benchmarks that print figures (never timed tests).
//!
//! - `ingest`: every Synthea bundle in ../shared/data/synthea-r4 through `POST /fhir` transactions over HTTP, in
//!   resources per second, beside the same JSON inserted raw into the same engine (no indexing, no HTTP); three
//!   rounds by default, each into an empty store, with the median and range.
//! - `reads`: synthetic people loaded over HTTP in steps (ingest rate per step, and the CPU time per 1,000 resources
//!   of this process and of a local PostgreSQL, which does not depend on how fast the shared machine is that minute),
//!   and at each step `$everything` and a typical clinical search over HTTP with concurrent clients, p50 and p99.
//! - `match`: only the source Patients of synthetic people loaded over HTTP, 100 people to a transaction, then
//!   `Patient/$match` over HTTP with concurrent clients, p50 and p99. People past the 909,091 NHS numbers of the 999
//!   test range that pass Modulus 11 have none, and are matched on their demographics alone.
//!
//! - `mllp`: HL7 v2 ADT registrations over MLLP, each connection waiting for one message's ACK before sending the next:
//!   messages per second and ACK p50/p99 on one connection, then on `--clients` connections (`--queries` messages
//!   each).
//!
//! - `replay`: every HL7 v2 message the acute and mental health trusts of `--people` synthetic people send, over
//!   MLLP on `--clients` connections (`--window` in flight on each), to `kmcr serve` as a child process, killed with
//!   SIGKILL and started again at `--restart-at` (a fraction of the messages answered); then the store is read to
//!   check that every message was accepted exactly once. `--count-only` counts the messages and stops.
//!
//! - `viewer`: `--people` synthetic people (default 100,000) and one person with 500 items, then the clinician
//!   viewer as a GP signed in at a practice: the summary page of that person and of people registered there, and the
//!   person search by NHS number and by family name and date of birth, through the router in this process (server
//!   side); p50/p95/p99, requests/s and the CPU time a request, `--queries` each (default 300).
//!
//! - `notify`: `--patients` Patients (default 10,000) and `--subscriptions` topic subscriptions (default 10,000, each
//!   filtered to one patient; `--unfiltered` more filtered to none) with a receiver on a loopback port; once every
//!   handshake is answered, Encounters at `--rate` a second (default 200) for `--seconds` (default 60), open loop:
//!   the latency from each event's timestamp to its notification's arrival (p50/p95/p99/max), and any missing.
//!   `--payload` is `id-only` (default), `full-resource` or `empty`.
//!
//! Run with `--release`. `--database` takes a directory (SQLite) or a `postgres://` URL; each run starts empty,
//! unless `reads --resume` or `viewer --resume` is given: then it measures the store the last run left and loads only
//! further people.

/// mimalloc: the request path allocates many small JSON values, where glibc malloc cost ~15% of CPU under load. Its
/// `override` feature (Cargo.toml) also serves the bundled SQLite's own `malloc` calls, another ~8% of the writer's CPU.
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod client;
mod cpu;
mod ingest;
mod mllp;
mod notify;
mod raw_insert;
mod reads;
mod replay;
mod server;
mod viewer;

use anyhow::bail;

#[derive(Clone, Debug)]
pub struct Options {
    pub database: String,
    pub n_clients: usize,
    /// Clients loading people (default: `n_clients`). Loading one Patient per transaction waits on a commit each (on
    /// PostgreSQL two: the Patient's, then its person's), so a large population loads faster with more clients than
    /// the queries need.
    pub n_load_clients: Option<usize>,
    pub people_steps: Vec<usize>,
    pub n_queries: usize,
    /// Reads: measure the store an earlier run left (and load only the steps beyond it) instead of starting empty.
    pub resume: bool,
    /// Ingest: how many times to load the bundles, each time into an empty store; the median and range are printed.
    pub n_rounds: usize,
    /// Reads and match: after measuring at a step, wait this many seconds and measure again (what a load just ended
    /// leaves behind: the disk still writing, caches still full).
    pub remeasure_after: Option<u64>,
    /// Replay: kill the server (SIGKILL) and start it again once this fraction of the messages is answered.
    pub restart_at: Option<f64>,
    /// Replay: messages in flight on each connection.
    pub window: usize,
    /// Replay: the `kmcr` binary to run as the server (default: the one beside this benchmark).
    pub kmcr_binary: Option<String>,
    /// Replay: the synthetic population's seed.
    pub seed: u64,
    /// Replay: count the messages of `--people` people and stop.
    pub count_only: bool,
    /// Notify: subscriptions, patients, the rate and length of the load, the payload asked.
    pub notify: notify::NotifyOptions,
}

const USAGE: &str = "usage: kmcr-bench ingest|reads|match|mllp|replay|viewer|notify [--database DIR|URL] \
                     [--clients N] [--load-clients N] [--people 10000,100000] [--queries N] [--resume] [--rounds N] \
                     [--remeasure-after SECONDS] [--restart-at FRACTION] [--window N] [--kmcr PATH] [--seed S] \
                     [--count-only] [--subscriptions N] [--unfiltered N] [--patients N] [--rate PER_SECOND] \
                     [--seconds S] [--payload id-only|full-resource|empty]";

fn parse_options() -> anyhow::Result<(String, Options)> {
    use lexopt::prelude::*;
    let mut command = None;
    let mut options = Options {
        database: std::env::temp_dir().join("kmcr-bench-data").to_string_lossy().into_owned(),
        n_clients: 4,
        n_load_clients: None,
        people_steps: vec![10_000, 100_000],
        n_queries: 2_000,
        resume: false,
        n_rounds: 3,
        remeasure_after: None,
        restart_at: None,
        window: 4,
        kmcr_binary: None,
        seed: 1,
        count_only: false,
        notify: notify::NotifyOptions::default(),
    };
    let (mut database_given, mut clients_given, mut people_given, mut queries_given) = (false, false, false, false);
    let mut parser = lexopt::Parser::from_env();
    while let Some(argument) = parser.next()? {
        match argument {
            Long("database") => {
                options.database = parser.value()?.string()?;
                database_given = true;
            }
            Long("clients") => {
                options.n_clients = parser.value()?.parse()?;
                clients_given = true;
            }
            Long("load-clients") => options.n_load_clients = Some(parser.value()?.parse()?),
            Long("people") => {
                options.people_steps =
                    parser.value()?.string()?.split(',').map(|step| step.trim().parse()).collect::<Result<_, _>>()?;
                people_given = true;
            }
            Long("queries") => {
                options.n_queries = parser.value()?.parse()?;
                queries_given = true;
            }
            Long("resume") => options.resume = true,
            Long("rounds") => options.n_rounds = parser.value()?.parse::<usize>()?.max(1),
            Long("remeasure-after") => options.remeasure_after = Some(parser.value()?.parse()?),
            Long("restart-at") => options.restart_at = Some(parser.value()?.parse()?),
            Long("window") => options.window = parser.value()?.parse()?,
            Long("kmcr") => options.kmcr_binary = Some(parser.value()?.string()?),
            Long("seed") => options.seed = parser.value()?.parse()?,
            Long("count-only") => options.count_only = true,
            Long("subscriptions") => options.notify.n_subscriptions = parser.value()?.parse()?,
            Long("unfiltered") => options.notify.n_unfiltered = parser.value()?.parse()?,
            Long("patients") => options.notify.n_patients = parser.value()?.parse()?,
            Long("rate") => options.notify.rate = parser.value()?.parse()?,
            Long("seconds") => options.notify.seconds = parser.value()?.parse()?,
            Long("payload") => options.notify.payload = parser.value()?.string()?,
            Long("help") | Short('h') => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Value(value) if command.is_none() => command = Some(value.string()?),
            _ => return Err(argument.unexpected().into()),
        }
    }
    if command.as_deref() == Some("match") && !database_given {
        // Its own store by default, so that it never empties the one `reads --resume` would measure.
        options.database = std::env::temp_dir().join("kmcr-bench-match").to_string_lossy().into_owned();
    }
    if command.as_deref() == Some("replay") && !database_given {
        options.database = std::env::temp_dir().join("kmcr-bench-replay").to_string_lossy().into_owned();
    }
    if command.as_deref() == Some("notify") && !database_given {
        options.database = std::env::temp_dir().join("kmcr-bench-notify").to_string_lossy().into_owned();
    }
    if command.as_deref() == Some("viewer") {
        if !database_given {
            options.database = std::env::temp_dir().join("kmcr-bench-viewer").to_string_lossy().into_owned();
        }
        // Latency as one clinician sees it: one request at a time unless `--clients` asks for more.
        if !clients_given {
            options.n_clients = 1;
        }
        if !people_given {
            options.people_steps = vec![100_000];
        }
        if !queries_given {
            options.n_queries = 300;
        }
    }
    match command {
        Some(command) => Ok((command, options)),
        None => bail!("{USAGE}"),
    }
}

fn main() -> anyhow::Result<()> {
    let (command, options) = parse_options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        match command.as_str() {
            "ingest" => ingest::run(&options).await,
            "reads" => reads::run(&options, reads::Workload::FullRecords).await,
            "match" => reads::run(&options, reads::Workload::PatientsOnly).await,
            "mllp" => mllp::run(&options).await,
            "replay" => replay::run(&options).await,
            "viewer" => viewer::run(&options).await,
            "notify" => notify::run(&options).await,
            other => bail!("unknown benchmark {other}: use ingest, reads, match, mllp, replay, viewer or notify"),
        }
    })
}

/// A `postgres://` URL rather than a directory for the embedded store.
pub fn is_postgres(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// The access policy of a benchmark: these organisations, each party to the agreement as given, with the default
/// settings and code rules and no further policies.
pub fn benchmark_access(organisations: Vec<kmcr_access::Organisation>) -> kmcr_service::AccessPolicy {
    kmcr_service::AccessPolicy {
        registry: kmcr_access::OrganisationRegistry::new(organisations),
        policies: Vec::new(),
        settings: kmcr_access::AccessSettings::default(),
        code_rules: kmcr_access::CodeRules::defaults(),
        paging_key: vec![7; 32],
    }
}

/// Removes what an earlier run left, so every run starts from an empty store: on PostgreSQL the benchmark's database is
/// dropped and made again, so no table a later migration adds can outlive a run.
pub async fn empty_store(location: &str) -> anyhow::Result<()> {
    if is_postgres(location) {
        let (client, name) = connect_to_server(location).await?;
        client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        client.batch_execute(&format!("CREATE DATABASE {name}")).await?;
    } else {
        let _ = std::fs::remove_dir_all(location);
    }
    Ok(())
}

/// The server settings a PostgreSQL run's figures depend on, printed beside them ("" for SQLite).
pub async fn postgres_settings(location: &str) -> anyhow::Result<String> {
    if !is_postgres(location) {
        return Ok(String::new());
    }
    let (client, connection) = tokio_postgres::connect(location, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let mut settings = Vec::new();
    for name in ["server_version", "shared_buffers", "max_wal_size", "synchronous_commit"] {
        let value: String = client.query_one(&format!("SHOW {name}"), &[]).await?.get(0);
        settings.push(format!("{name} {value}"));
    }
    Ok(format!(" (PostgreSQL {})", settings.join(", ")))
}

/// A connection to the server's `postgres` database, and the name of the benchmark's own database in `location`.
async fn connect_to_server(location: &str) -> anyhow::Result<(tokio_postgres::Client, String)> {
    let (server, name) = location.rsplit_once('/').ok_or_else(|| anyhow::anyhow!("the URL names no database"))?;
    let name = name.split('?').next().unwrap_or(name).to_owned();
    anyhow::ensure!(
        !name.is_empty() && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_'),
        "database names are [A-Za-z0-9_]"
    );
    let (client, connection) = tokio_postgres::connect(&format!("{server}/postgres"), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok((client, name))
}

/// The p-th percentile (0..=100) of sorted latencies, in milliseconds.
pub fn percentile_ms(sorted_us: &[u64], percentile: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((percentile / 100.0) * (sorted_us.len() - 1) as f64).round() as usize;
    sorted_us[rank] as f64 / 1000.0
}
