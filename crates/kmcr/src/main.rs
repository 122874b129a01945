//! `kmcr`: the one binary. Parses the command line and configuration, sets up tracing, and wires the crates.

/// mimalloc: the request path allocates many small JSON values, where glibc malloc cost ~15% of CPU under load. Its
/// `override` feature (Cargo.toml) also serves the bundled SQLite's own `malloc` calls, another ~8% of the writer's CPU.
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod audit_cli;
mod auth_config;
mod config;
mod demo;
mod feeds_cli;
mod load_cli;
mod mpi;
mod notifications_config;
mod organisations_cli;
mod subscriptions_cli;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use kmcr_api::{AppState, router};
use kmcr_service::{Limits, Service};
use kmcr_store::{Store, StoreOptions};

use crate::config::RawSettings;

const USAGE: &str = "\
kmcr: the KMCR shared care record

USAGE:
  kmcr serve [--config FILE] [--listen ADDR] [--database DIR|URL] [--demo] [--demo-people N]
      Runs the FHIR API at /fhir. --demo starts on the embedded store in ./kmcr-demo-data with a synthetic
      population loaded (1,000 people unless --demo-people says otherwise) and demo API clients.
  kmcr synth --out DIR [--people N] [--seed S] [--hl7v2 | --hl7v2-only]
      Writes a synthetic population as FHIR transaction Bundles, one file per source organisation and person.
      --hl7v2 also writes, from the same records, what each acute and mental health trust sends as HL7 v2 (ADT,
      ORU, MDM) to DIR/hl7v2/<ODS>.hl7: person after person, each person's messages in time order, each message's
      segments ended by CR and messages separated by LF (MSH-3 <ODS>-PAS or <ODS>-LAB, MSH-4 <ODS>, as the demo
      accepts). --hl7v2-only writes those files alone.
  kmcr audit verify | export | keygen ...   (see `kmcr audit help`)
  kmcr feeds status | dead-letters | replay KEY [--config FILE] [--database DIR|URL]
      HL7 v2 feeds: per sender, messages accepted and rejected and the last one's time; the dead letters not yet
      made good, with the reason (never the message); a dead letter sent through again after a fix.
  kmcr subscriptions [status] [--config FILE] [--database DIR|URL]
      Per subscription: its organisation, status (and error), events handed to it, notifications sent and failed,
      and the last delivery.
  kmcr feeds send --to HOST:PORT [--window N] FILE...
      Sends the HL7 v2 messages of each file over MLLP, one connection per file (so that its order is kept), N
      messages in flight (default 32), and prints the AA, AE and AR counts and each refusal's MSH-10 and reason.
      A file holds messages whose segments end with CR or line ends, each starting with MSH. A lost connection is
      made again and what was not answered sent again. Fails when a message is refused.
  kmcr load --organisation ODS [--job ID] [--config FILE] [--database DIR|URL] FILE...
      Loads NDJSON files (one FHIR resource with its id per line, as a Bulk Data export writes them) as the
      organisation's data, streamed in constant memory. Each bad line is reported with its number and reason and
      the rest are loaded; a load stopped part-way resumes after its last commit when run again (the job id is
      its file name and size unless --job names it; stored as ODS/name). `kmcr load status` lists the loads;
      `kmcr load status JOB` shows one, with every line it refused and why.
  kmcr organisations list | leave ODS | purge ODS [--config FILE] [--database DIR|URL]
      The organisations configured, and those recorded as having left the agreement. `leave` records that one
      has left: its data leaves every view of every node within a second, and its users, systems and feeds are
      refused. `purge` (only once it has left) removes what it sent for good, with an audit entry.
  kmcr hash-secret
      Reads a secret (a client secret, a password) from standard input and prints its argon2id hash, for
      secret_hash and password_hash in the configuration.
  kmcr mpi evaluate (--febrl FILE | --splink-parquet FILE | --synthetic --people N [--seed S])
                    [--link-probability P] [--review-probability P] [--match-queries N] [--one-at-a-time] [--out FILE]
      Links a labelled set from scratch and prints precision, recall and F1 against its truth, the pairs compared
      and the time taken; then times $match searches against the persons found. --one-at-a-time also places the
      records one by one, as the live index does, and prints its accuracy. --out writes each record's true and
      found person as CSV (record, truth, person), for looking into the errors.

Configuration: a TOML file (--config or KMCR_CONFIG), then KMCR_LISTEN, KMCR_DATABASE, KMCR_PUBLIC_BASE_URL,
KMCR_TOKEN_SIGNING_KEY_FILE, then flags. Logs: RUST_LOG (default info).
";

#[derive(Default)]
struct Flags {
    command: Vec<String>,
    config: Option<PathBuf>,
    listen: Option<String>,
    database: Option<String>,
    demo: bool,
    demo_people: Option<usize>,
    out: Option<PathBuf>,
    people: Option<usize>,
    seed: Option<u64>,
    febrl: Option<String>,
    splink_parquet: Option<String>,
    synthetic: bool,
    link_probability: Option<f64>,
    review_probability: Option<f64>,
    match_queries: Option<usize>,
    one_at_a_time: bool,
    hl7v2: bool,
    hl7v2_only: bool,
    to: Option<String>,
    window: Option<usize>,
    organisation: Option<String>,
    job: Option<String>,
}

fn parse_flags() -> anyhow::Result<Flags> {
    use lexopt::prelude::*;
    let mut flags = Flags::default();
    let mut parser = lexopt::Parser::from_env();
    while let Some(argument) = parser.next()? {
        match argument {
            Long("config") => flags.config = Some(parser.value()?.into()),
            Long("listen") => flags.listen = Some(parser.value()?.string()?),
            Long("database") => flags.database = Some(parser.value()?.string()?),
            Long("demo") => flags.demo = true,
            Long("demo-people") => flags.demo_people = Some(parser.value()?.parse()?),
            Long("out") => flags.out = Some(parser.value()?.into()),
            Long("people") => flags.people = Some(parser.value()?.parse()?),
            Long("seed") => flags.seed = Some(parser.value()?.parse()?),
            Long("febrl") => flags.febrl = Some(parser.value()?.string()?),
            Long("splink-parquet") => flags.splink_parquet = Some(parser.value()?.string()?),
            Long("synthetic") => flags.synthetic = true,
            Long("link-probability") => flags.link_probability = Some(parser.value()?.parse()?),
            Long("review-probability") => flags.review_probability = Some(parser.value()?.parse()?),
            Long("match-queries") => flags.match_queries = Some(parser.value()?.parse()?),
            Long("one-at-a-time") => flags.one_at_a_time = true,
            Long("hl7v2") => flags.hl7v2 = true,
            Long("hl7v2-only") => flags.hl7v2_only = true,
            Long("to") => flags.to = Some(parser.value()?.string()?),
            Long("window") => flags.window = Some(parser.value()?.parse()?),
            Long("organisation") => flags.organisation = Some(parser.value()?.string()?),
            Long("job") => flags.job = Some(parser.value()?.string()?),
            Short('h') | Long("help") => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            Value(value) => flags.command.push(value.string()?),
            _ => return Err(argument.unexpected().into()),
        }
    }
    Ok(flags)
}

fn settings(flags: &Flags) -> anyhow::Result<RawSettings> {
    let config_path = flags.config.clone().or_else(|| std::env::var_os("KMCR_CONFIG").map(PathBuf::from));
    let mut settings = match config_path {
        Some(path) => RawSettings::from_file(&path)?,
        None => RawSettings::default(),
    };
    settings.overlay_environment();
    if let Some(listen) = &flags.listen {
        settings.listen = Some(listen.clone());
    }
    if let Some(database) = &flags.database {
        settings.database = Some(database.clone());
    }
    Ok(settings)
}

fn main() -> anyhow::Result<()> {
    // `kmcr audit` parses its own options (audit_cli.rs).
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let flags = match arguments.first() {
        Some(word) if word == "audit" => Flags { command: vec![word.clone()], ..Flags::default() },
        _ => parse_flags()?,
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match flags.command.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["serve"] => runtime.block_on(serve(flags)),
        ["synth"] => demo::write_synthetic_population(
            flags.out.as_deref().context("synth needs --out DIR")?,
            flags.people.unwrap_or(100),
            flags.seed.unwrap_or(1),
            match (flags.hl7v2, flags.hl7v2_only) {
                (false, false) => demo::SynthOutput::Fhir,
                (true, false) => demo::SynthOutput::FhirAndHl7v2,
                (_, true) => demo::SynthOutput::Hl7v2Only,
            },
        ),
        ["audit"] => {
            drop(runtime);
            audit_cli::run(&arguments[1..])
        }
        ["hash-secret"] => {
            let mut secret = String::new();
            std::io::stdin().read_line(&mut secret).context("cannot read the secret from standard input")?;
            let secret = kmcr_auth::Secret::new(secret.trim_end_matches(['\r', '\n']));
            println!("{}", kmcr_auth::hash_secret(&secret).map_err(|error| anyhow::anyhow!("{error}"))?.as_phc());
            Ok(())
        }
        ["mpi", "evaluate"] => mpi_evaluate(&flags),
        ["organisations", words @ ..] => {
            let words: Vec<&str> = words.to_vec();
            let config = settings(&flags)?.validate()?;
            runtime.block_on(organisations_cli::run(&words, config))
        }
        ["load", words @ ..] => {
            let words: Vec<&str> = words.to_vec();
            let config = settings(&flags)?.validate()?;
            runtime.block_on(load_cli::run(&words, &flags, config))
        }
        ["feeds", "send", files @ ..] => {
            let to = flags.to.as_deref().context("feeds send needs --to HOST:PORT (the MLLP listener)")?;
            let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
            feeds_cli::send(to, &files, flags.window.unwrap_or(32))
        }
        ["subscriptions", words @ ..] => {
            let words: Vec<&str> = words.to_vec();
            let config = settings(&flags)?.validate()?;
            runtime.block_on(subscriptions_cli::run(&words, config))
        }
        ["feeds", words @ ..] => {
            let words: Vec<&str> = words.to_vec();
            let config = settings(&flags)?.validate()?;
            runtime.block_on(feeds_cli::run(&words, config))
        }
        _ => {
            eprint!("{USAGE}");
            bail!("unknown command")
        }
    }
}

fn mpi_evaluate(flags: &Flags) -> anyhow::Result<()> {
    let set = match (&flags.febrl, &flags.splink_parquet, flags.synthetic) {
        (Some(path), None, false) => mpi::EvaluationSet::Febrl(path.clone()),
        (None, Some(path), false) => mpi::EvaluationSet::SplinkParquet(path.clone()),
        (None, None, true) => mpi::EvaluationSet::Synthetic {
            seed: flags.seed.unwrap_or(1),
            n_people: flags.people.context("--synthetic needs --people N")?,
        },
        _ => bail!("mpi evaluate takes one of --febrl FILE, --splink-parquet FILE or --synthetic"),
    };
    let defaults = kmcr_mpi::Thresholds::default();
    let thresholds = kmcr_mpi::Thresholds {
        link: flags.link_probability.unwrap_or(defaults.link),
        review: flags.review_probability.unwrap_or(defaults.review),
    };
    let options = mpi::EvaluationOptions {
        thresholds,
        n_match_queries: flags.match_queries.unwrap_or(10_000),
        one_at_a_time: flags.one_at_a_time,
        persons_out: flags.out.clone(),
    };
    mpi::evaluate(set, &options)
}

async fn serve(flags: Flags) -> anyhow::Result<()> {
    let mut settings = settings(&flags)?;
    if flags.demo {
        let database = settings.database.get_or_insert_with(|| "kmcr-demo-data".to_string()).clone();
        demo::check_demo_store(&database)?;
        demo::add_demo_organisations(&mut settings);
        demo::add_demo_clients(&mut settings);
        demo::add_demo_accounts(&mut settings);
    }
    let config = settings.validate()?;
    let options = StoreOptions { code_rules: config.access.code_rules.clone(), ..StoreOptions::default() };
    let store = Store::open(&config.database, &options)
        .await
        .with_context(|| format!("cannot open the store at {}", redact_url(&config.database)))?;
    // The audit's head is signed into a file kept apart from the database, so that a chain rewritten or cut short
    // there fails verification.
    let _checkpoints = match (&config.audit_checkpoint_key_file, &config.audit_checkpoint_file) {
        (Some(key_file), Some(checkpoint_file)) => Some(
            audit_cli::start_checkpoints(&store, key_file, checkpoint_file, config.audit_checkpoint_policy)
                .await
                .context("cannot start signing audit checkpoints")?,
        ),
        (None, None) => {
            tracing::warn!("audit checkpoints are not configured: the chain is checked only within the database");
            None
        }
        _ => bail!("audit_checkpoint_key_file and audit_checkpoint_file are configured together"),
    };
    let limits = Limits { max_page_size: config.max_page_size, ..Limits::default() };
    if config.access.registry.iter().next().is_none() {
        tracing::warn!("no organisations are configured: every request will be refused (see [[organisations]])");
    }
    let service = Service::start(store.clone(), limits, config.identity.clone(), config.access.clone())
        .await
        .context("cannot start the person index")?
        .with_mllp_feeds(config.mllp.as_ref().map(|mllp| mllp.feeds.clone()).unwrap_or_default());
    if flags.demo {
        demo::load_demo_population(&service, flags.demo_people.unwrap_or(1000)).await?;
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let public_base_url = match &config.public_base_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let fhir_base_url = format!("{public_base_url}/fhir");
    service.set_subscriber_principals(subscriber_principals(&config.auth));
    let auth = Arc::new(config.auth.build(&public_base_url, store).await?);
    if let Some(settings) = config.mllp.clone() {
        let mut listeners = Vec::new();
        if let Some(address) = settings.listen {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen for MLLP on {address}"))?;
            println!("KMCR is listening for HL7 v2 over MLLP on {}", listener.local_addr()?);
            listeners.push(kmcr_mllp::Listener::Plain(listener));
        }
        if let Some(tls) = &settings.tls {
            let listener = tokio::net::TcpListener::bind(tls.listen)
                .await
                .with_context(|| format!("cannot listen for MLLP over TLS on {}", tls.listen))?;
            let client_certificates = if tls.client_certificates_required { "required" } else { "not asked for" };
            println!(
                "KMCR is listening for HL7 v2 over MLLP with TLS on {} (client certificates {client_certificates})",
                listener.local_addr()?
            );
            listeners.push(kmcr_mllp::Listener::tls(listener, tls));
        }
        tokio::spawn(kmcr_mllp::serve_listeners(listeners, service.clone(), settings));
    }
    let subscription_settings = kmcr_service::subscriptions::SubscriptionSettings {
        fhir_base_url: fhir_base_url.clone(),
        ..config.subscriptions.clone()
    };
    service.start_subscriptions(subscription_settings).await.context("cannot start the subscriptions")?;
    kmcr_notify::start(service.clone());
    tokio::spawn(forget_expired_sign_ins(auth.clone()));
    tokio::spawn(follow_departures(service.clone()));
    let state = AppState { service, auth, fhir_base_url: fhir_base_url.clone(), max_body_bytes: config.max_body_bytes };
    tracing::info!(address = %listener.local_addr()?, backend = state.service.store_backend(), "serving");
    println!("KMCR is serving the FHIR API at {fhir_base_url}");
    if flags.demo {
        demo::print_demo_credentials(&public_base_url);
    }
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

/// An API client's principal as configured (switched off: none), for deciding its subscriptions' notifications.
fn subscriber_principals(auth: &crate::auth_config::AuthConfig) -> kmcr_service::subscriptions::PrincipalResolver {
    let clients: std::collections::HashMap<String, kmcr_access::Principal> = auth
        .clients
        .iter()
        .filter(|client| !auth.clients_switched_off.contains(&client.id))
        .map(|client| {
            let principal = kmcr_access::Principal::System(kmcr_access::SystemPrincipal {
                client_id: client.id.clone(),
                ods_code: client.ods_code.clone(),
                scopes: client.scopes.clone(),
                region_wide: client.region_wide.clone(),
            });
            (client.id.clone(), principal)
        })
        .collect();
    Arc::new(move |client_id: &str| clients.get(client_id).cloned())
}

/// Every few minutes, drops expired sessions, codes, refresh tokens and waiting sign-ins from the database. Every
/// node does it; the deletes are idempotent.
async fn forget_expired_sign_ins(auth: Arc<kmcr_api::Authentication>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        every.tick().await;
        if let Err(error) = auth.forget_expired(kmcr_fhir::Instant::now()).await {
            tracing::warn!(%error, "expired sign-in state could not be dropped; trying again later");
        }
    }
}

/// Every second, puts in force the organisations recorded as having left the agreement (by `kmcr organisations
/// leave`, or another node), so that their data leaves this node's views too.
async fn follow_departures(service: Service) {
    let every_ms = kmcr_service::organisations::DEPARTURES_RECHECK_MS;
    let mut every = tokio::time::interval(std::time::Duration::from_millis(every_ms));
    loop {
        every.tick().await;
        if let Err(error) = service.follow_departures().await {
            tracing::warn!(%error, "departures from the agreement could not be read; trying again");
        }
    }
}

/// Ctrl-C or SIGTERM: stop accepting, finish the requests in flight, then exit.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

/// A database URL with any password removed, for messages.
fn redact_url(location: &str) -> String {
    match (location.find("://"), location.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://...{}", &location[..scheme_end], &location[at..])
        }
        _ => location.to_string(),
    }
}
