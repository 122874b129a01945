//! `notify`: how long a notification takes, from the write that fires it to its arrival at a subscriber's endpoint.
//!
//! The store, the service and the sender (`kmcr_notify`) run in this process as `kmcr serve` runs them, with a
//! receiver on a loopback port (an axum server answering 200 at once). `--patients` Patients are written by one GP
//! practice's system (transactions of [`PATIENTS_PER_BUNDLE`]); its subscriber client makes `--subscriptions`
//! topic subscriptions (`encounter-started`, Backport IG form), subscription i filtered to Patient i mod
//! `--patients`, and `--unfiltered` more filtered to no patient (each told of every event). Once every handshake is
//! answered, Encounters `in-progress` are written for random Patients at `--rate` a second for `--seconds`, open
//! loop (each write started at its time by the wall clock, never waiting for those before it), each its own
//! transaction through `Service::create`. Every notification's `notification-event` timestamp (when its write was
//! stamped in its transaction, to the millisecond) is compared with the wall clock when its request reached the
//! receiver. The store's outbox (events not yet handed to subscriptions) and undelivered subscription events are
//! counted every second while events flow, which shows which stage lags: dispatch or delivery.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use bytes::Bytes;
use kmcr_access::{Organisation, OrganisationKind, Principal, Scope, SystemPrincipal};
use kmcr_fhir::{OdsCode, ResourceType};
use kmcr_service::identity::IdentitySettings;
use kmcr_service::subscriptions::SubscriptionSettings;
use kmcr_service::{CreateResult, Limits, RequestContext, Service};
use kmcr_store::{Store, StoreOptions};
use serde_json::{Value, json};

use crate::cpu::CpuSeconds;
use crate::{Options, empty_store, is_postgres, percentile_ms, postgres_settings};

/// The GP practice whose system writes the Patients and Encounters and makes the subscriptions.
const PRACTICE: &str = "B82005";
const WRITER_CLIENT: &str = "bench-notify-writer";
const SUBSCRIBER_CLIENT: &str = "bench-notify-subscriber";
const PATIENTS_PER_BUNDLE: usize = 500;
/// Subscriptions made at once.
const CREATING_CLIENTS: usize = 8;
/// Writes in flight at most: past this the schedule slips (and the achieved rate shows it).
const MAX_WRITES_IN_FLIGHT: usize = 512;
/// How long to wait for every handshake, and for the last notifications after the last write.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(900);
const STRAGGLER_DEADLINE: Duration = Duration::from_secs(120);
/// Idle time measured after the handshakes, before events flow: what the subscriptions cost with nothing to send.
const IDLE_SECONDS: u64 = 10;
const TOPIC: &str = "https://fhir.kmcr.uk/SubscriptionTopic/encounter-started";
const FILTER_EXTENSION: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria";
const PAYLOAD_EXTENSION: &str =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content";
/// What the issue asks: p99 under 1 s.
const TARGET_P99_MS: f64 = 1000.0;

#[derive(Clone, Debug)]
pub struct NotifyOptions {
    pub n_subscriptions: usize,
    pub n_patients: usize,
    pub n_unfiltered: usize,
    pub rate: f64,
    pub seconds: f64,
    pub payload: String,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        NotifyOptions {
            n_subscriptions: 10_000,
            n_patients: 10_000,
            n_unfiltered: 0,
            rate: 200.0,
            seconds: 60.0,
            payload: "id-only".into(),
        }
    }
}

pub async fn run(options: &Options) -> anyhow::Result<()> {
    let settings = &options.notify;
    anyhow::ensure!(settings.n_patients > 0 && settings.rate > 0.0, "--patients and --rate are more than 0");
    anyhow::ensure!(
        ["empty", "id-only", "full-resource"].contains(&settings.payload.as_str()),
        "--payload is empty, id-only or full-resource"
    );
    empty_store(&options.database).await?;
    let on_postgres = is_postgres(&options.database);
    let writer = context(WRITER_CLIENT)?;
    let subscriber = context(SUBSCRIBER_CLIENT)?;
    let n_subscriptions = settings.n_subscriptions + settings.n_unfiltered;
    println!(
        "notify benchmark: store {}{}, {} subscriptions to encounter-started ({} filtered to one patient each, {} to \
         none), payload {}, {} patients, {} Encounters/s for {} s",
        options.database,
        postgres_settings(&options.database).await?,
        n_subscriptions,
        settings.n_subscriptions,
        settings.n_unfiltered,
        settings.payload,
        settings.n_patients,
        settings.rate,
        settings.seconds
    );
    let receiver = Receiver::start().await?;
    let service = start_service(&options.database, receiver.address).await?;

    let started = Instant::now();
    let patient_ids = write_patients(&service, &writer, settings.n_patients).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "  {} Patients written in {seconds:.1} s ({:.0}/s, transactions of {PATIENTS_PER_BUNDLE})",
        patient_ids.len(),
        patient_ids.len() as f64 / seconds
    );

    kmcr_notify::start(service.clone());
    let started = Instant::now();
    let subscriptions = make_subscriptions(&service, &subscriber, &patient_ids, settings, receiver.address).await?;
    let made_s = started.elapsed().as_secs_f64();
    println!(
        "  {n_subscriptions} subscriptions made in {made_s:.1} s ({:.0}/s, {CREATING_CLIENTS} at once); {} \
         handshakes answered by then",
        n_subscriptions as f64 / made_s,
        receiver.n_handshaken()
    );
    wait_for_handshakes(&receiver, &subscriptions, started).await?;

    let idle_cpu = CpuSeconds::now(on_postgres);
    tokio::time::sleep(Duration::from_secs(IDLE_SECONDS)).await;
    println!(
        "  idle for {IDLE_SECONDS} s with {n_subscriptions} active subscriptions and no events: {}",
        cpu_share(&CpuSeconds::now(on_postgres), &idle_cpu, IDLE_SECONDS as f64)
    );

    let backlog = Backlog::connect(&options.database).await?;
    let subscriptions = Arc::new(subscriptions);
    let written: Arc<Mutex<Vec<Written>>> = Arc::new(Mutex::new(Vec::new()));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = tokio::spawn(sample(
        backlog,
        receiver.received.clone(),
        subscriptions.clone(),
        written.clone(),
        sampling.clone(),
    ));
    let cpu_before = CpuSeconds::now(on_postgres);
    let load = write_encounters(&service, &writer, &patient_ids, settings, written.clone()).await?;
    let cpu_after_writing = CpuSeconds::now(on_postgres);
    let expected = subscriptions.expected(&load.written);
    let waiting = Instant::now();
    while receiver.n_arrivals() < expected.len() && waiting.elapsed() < STRAGGLER_DEADLINE {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let straggler_s = waiting.elapsed().as_secs_f64();
    let cpu_end = CpuSeconds::now(on_postgres);
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    report(&receiver, &expected, &load, straggler_s, settings)?;
    println!(
        "  CPU while writing: {}; from the first write to the last arrival: {}",
        cpu_share(&cpu_after_writing, &cpu_before, load.seconds),
        cpu_share(&cpu_end, &cpu_before, load.seconds + straggler_s)
    );
    Ok(())
}

/// CPU time as a share of one core over `seconds` of wall time.
fn cpu_share(now: &CpuSeconds, earlier: &CpuSeconds, seconds: f64) -> String {
    let share = |now: Option<f64>, then: Option<f64>| Some((now? - then?) / seconds * 100.0);
    let mut parts = Vec::new();
    if let Some(percent) = share(now.this_process, earlier.this_process) {
        parts.push(format!("this process {percent:.0}% of a core"));
    }
    if let Some(percent) = share(now.postgres, earlier.postgres) {
        parts.push(format!("PostgreSQL {percent:.0}%"));
    }
    if parts.is_empty() { "CPU time not available".into() } else { parts.join(", ") }
}

fn principal(client_id: &str) -> anyhow::Result<Principal> {
    Ok(Principal::System(SystemPrincipal {
        client_id: client_id.into(),
        ods_code: OdsCode::parse(PRACTICE)?,
        scopes: vec![Scope::parse("system/*.*")?],
        region_wide: None,
    }))
}

fn context(client_id: &str) -> anyhow::Result<RequestContext> {
    Ok(RequestContext { principal: principal(client_id)?, request_id: format!("{client_id}-request") })
}

/// The store and the service as `kmcr serve` starts them (without the HTTP API: writes go to the service directly),
/// with subscriptions started; the sender is started once the Patients are written.
async fn start_service(database: &str, receiver: SocketAddr) -> anyhow::Result<Service> {
    let opening = Instant::now();
    let store = Store::open(database, &StoreOptions::default()).await?;
    let access = crate::benchmark_access(vec![Organisation {
        ods_code: OdsCode::parse(PRACTICE)?,
        name: "Benchmark practice".into(),
        kind: OrganisationKind::GpPractice,
        party_to_agreement: true,
    }]);
    let service = Service::start(store, Limits::default(), IdentitySettings::default(), access).await?;
    let principals: HashMap<String, Principal> = [WRITER_CLIENT, SUBSCRIBER_CLIENT]
        .into_iter()
        .map(|client_id| Ok((client_id.to_string(), principal(client_id)?)))
        .collect::<anyhow::Result<_>>()?;
    service.set_subscriber_principals(Arc::new(move |client_id: &str| principals.get(client_id).cloned()));
    service
        .start_subscriptions(SubscriptionSettings {
            fhir_base_url: format!("http://{receiver}/fhir-not-served"),
            ..SubscriptionSettings::default()
        })
        .await?;
    println!("  service started in {:.1} s", opening.elapsed().as_secs_f64());
    Ok(service)
}

/// `n` Patients of the practice, in transactions; their ids in order.
async fn write_patients(service: &Service, writer: &RequestContext, n: usize) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(n);
    for start in (0..n).step_by(PATIENTS_PER_BUNDLE) {
        let entries: Vec<Value> = (start..n.min(start + PATIENTS_PER_BUNDLE))
            .map(|index| {
                json!({
                    "fullUrl": format!("urn:uuid:00000000-0000-4000-8000-{index:012}"),
                    "resource": patient(index),
                    "request": {"method": "POST", "url": "Patient"},
                })
            })
            .collect();
        let response =
            service.bundle(writer, json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})).await?;
        for entry in response["entry"].as_array().context("a transaction answers with entries")? {
            let location = entry["response"]["location"].as_str().context("each entry has a location")?;
            let id = location.split('/').nth(1).context("Patient/id/_history/n")?;
            ids.push(id.to_string());
        }
    }
    anyhow::ensure!(ids.len() == n, "{} Patients written of {n}", ids.len());
    Ok(ids)
}

/// A Patient distinct from every other in name, birth date and local number (so that none is linked to another).
fn patient(index: usize) -> Value {
    let birth_year = 1930 + index % 90;
    let birth_day = 1 + index / 90 % 28;
    let birth_month = 1 + index / 2520 % 12;
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": "https://fhir.kmcr.uk/Id/bench-local-number", "value": format!("BN{index:08}")}],
        "name": [{"family": format!("Notifyson{index}"), "given": [format!("Bench{}", index % 977)]}],
        "gender": if index.is_multiple_of(2) { "female" } else { "male" },
        "birthDate": format!("{birth_year:04}-{birth_month:02}-{birth_day:02}"),
    })
}

fn subscription(endpoint: &str, patient_id: Option<&str>, payload: &str) -> Value {
    let mut resource = json!({
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "bench",
        "criteria": TOPIC,
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_EXTENSION, "valueCode": payload}]},
        },
    });
    if let Some(patient_id) = patient_id {
        resource["_criteria"] = json!({"extension": [{"url": FILTER_EXTENSION,
            "valueString": format!("Encounter?patient=Patient/{patient_id}")}]});
    }
    resource
}

/// The subscriptions made: which are told of an event about each Patient.
struct Subscriptions {
    all: HashSet<String>,
    by_patient: HashMap<String, Vec<String>>,
    unfiltered: Vec<String>,
}

impl Subscriptions {
    /// Every (subscription, Encounter) notification the Encounters written should bring.
    fn expected(&self, written: &[(String, String)]) -> HashSet<(String, String)> {
        let mut expected = HashSet::new();
        for (patient_id, encounter_id) in written {
            for subscription_id in self.by_patient.get(patient_id).into_iter().flatten().chain(&self.unfiltered) {
                expected.insert((subscription_id.clone(), encounter_id.clone()));
            }
        }
        expected
    }
}

async fn make_subscriptions(
    service: &Service,
    subscriber: &RequestContext,
    patient_ids: &[String],
    settings: &NotifyOptions,
    receiver: SocketAddr,
) -> anyhow::Result<Subscriptions> {
    let endpoint = format!("http://{receiver}/hook");
    let n_filtered = settings.n_subscriptions;
    let total = n_filtered + settings.n_unfiltered;
    let next = Arc::new(AtomicUsize::new(0));
    let patient_ids = Arc::new(patient_ids.to_vec());
    let mut tasks = Vec::new();
    for _ in 0..CREATING_CLIENTS {
        let (service, subscriber, next, patient_ids) =
            (service.clone(), subscriber.clone(), next.clone(), patient_ids.clone());
        let (endpoint, payload) = (endpoint.clone(), settings.payload.clone());
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    return anyhow::Ok(made);
                }
                let patient_id = (index < n_filtered).then(|| patient_ids[index % patient_ids.len()].clone());
                let resource = subscription(&endpoint, patient_id.as_deref(), &payload);
                let created = service
                    .create_subscription(&subscriber, resource)
                    .await
                    .with_context(|| format!("making subscription {index}"))?;
                let id = created["id"].as_str().context("a subscription made has an id")?.to_string();
                made.push((id, patient_id));
            }
        }));
    }
    let mut subscriptions = Subscriptions { all: HashSet::new(), by_patient: HashMap::new(), unfiltered: Vec::new() };
    for task in tasks {
        for (id, patient_id) in task.await?? {
            subscriptions.all.insert(id.clone());
            match patient_id {
                Some(patient_id) => subscriptions.by_patient.entry(patient_id).or_default().push(id),
                None => subscriptions.unfiltered.push(id),
            }
        }
    }
    Ok(subscriptions)
}

async fn wait_for_handshakes(
    receiver: &Receiver,
    subscriptions: &Subscriptions,
    started: Instant,
) -> anyhow::Result<()> {
    let mut last_print = Instant::now();
    loop {
        let answered = receiver.n_handshaken();
        if answered >= subscriptions.all.len() {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < HANDSHAKE_DEADLINE,
            "{answered} of {} handshakes in {} s",
            subscriptions.all.len(),
            HANDSHAKE_DEADLINE.as_secs()
        );
        if last_print.elapsed() > Duration::from_secs(30) {
            last_print = Instant::now();
            println!("    {answered} handshakes answered after {:.0} s", started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let handshaken = receiver.handshaken_ids();
    let unknown = handshaken.difference(&subscriptions.all).count();
    println!(
        "  all {} handshakes answered {:.1} s after the first subscription was made ({} handshake requests, {unknown} \
         for subscriptions not made here)",
        subscriptions.all.len(),
        started.elapsed().as_secs_f64(),
        receiver.n_handshake_requests()
    );
    Ok(())
}

/// One Encounter written: its Patient, its id, and how long the write took to answer (microseconds).
struct Written {
    patient_id: String,
    encounter_id: String,
    took_us: u64,
}

struct Load {
    /// (Patient id, Encounter id) of each Encounter written.
    written: Vec<(String, String)>,
    n_failed: usize,
    /// From the first write's time to the last write's answer.
    seconds: f64,
    /// From the first write's time to the last write's start.
    issuing_seconds: f64,
    /// How late writes started against their time (in-flight cap reached), in microseconds, sorted.
    start_lag_us: Vec<u64>,
    /// Each write's time to answer, in microseconds, sorted.
    write_us: Vec<u64>,
}

/// Encounters at `rate` a second for `seconds`, each started at its time on the wall clock; those written are pushed
/// to `written` as they are answered.
async fn write_encounters(
    service: &Service,
    writer: &RequestContext,
    patient_ids: &[String],
    settings: &NotifyOptions,
    written: Arc<Mutex<Vec<Written>>>,
) -> anyhow::Result<Load> {
    let n_events = (settings.rate * settings.seconds).round() as usize;
    let interval_us = 1e6 / settings.rate;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_WRITES_IN_FLIGHT));
    let n_failed = Arc::new(AtomicUsize::new(0));
    let encounter_type = ResourceType::parse("Encounter")?;
    let mut random = Random(0x2545_f491_4f6c_dd1d);
    let mut start_lag_us = Vec::with_capacity(n_events);
    let started = tokio::time::Instant::now();
    let started_wall = Instant::now();
    let mut tasks = Vec::with_capacity(n_events);
    for index in 0..n_events {
        let due = started + Duration::from_micros((index as f64 * interval_us) as u64);
        tokio::time::sleep_until(due).await;
        let permit = in_flight.clone().acquire_owned().await?;
        start_lag_us.push(tokio::time::Instant::now().saturating_duration_since(due).as_micros() as u64);
        let patient_id = patient_ids[random.below(patient_ids.len())].clone();
        let (service, writer, written, n_failed) = (service.clone(), writer.clone(), written.clone(), n_failed.clone());
        tasks.push(tokio::spawn(async move {
            let writing = Instant::now();
            let result = service.create(&writer, encounter_type, encounter(&patient_id), None).await;
            let took_us = writing.elapsed().as_micros() as u64;
            drop(permit);
            match result {
                Ok(CreateResult::Created(outcome)) => written.lock().expect("not poisoned").push(Written {
                    patient_id,
                    encounter_id: outcome.id.as_str().to_string(),
                    took_us,
                }),
                Ok(CreateResult::Exists { .. }) => {
                    n_failed.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => {
                    if n_failed.fetch_add(1, Ordering::Relaxed) == 0 {
                        eprintln!("  a write failed: {error}");
                    }
                }
            }
        }));
    }
    let issuing_seconds = started_wall.elapsed().as_secs_f64();
    for task in tasks {
        task.await?;
    }
    let seconds = started_wall.elapsed().as_secs_f64();
    let written = written.lock().expect("not poisoned");
    let mut write_us: Vec<u64> = written.iter().map(|written| written.took_us).collect();
    write_us.sort_unstable();
    start_lag_us.sort_unstable();
    Ok(Load {
        written: written.iter().map(|written| (written.patient_id.clone(), written.encounter_id.clone())).collect(),
        n_failed: n_failed.load(Ordering::Relaxed),
        seconds,
        issuing_seconds,
        start_lag_us,
        write_us,
    })
}

/// Once a second until told to stop, a line: writes answered, notifications received of those expected so far, the
/// outbox and undelivered events in the store, and the latency of the last second's arrivals.
async fn sample(
    backlog: Backlog,
    received: Arc<Mutex<Received>>,
    subscriptions: Arc<Subscriptions>,
    written: Arc<Mutex<Vec<Written>>>,
    sampling: Arc<std::sync::atomic::AtomicBool>,
) {
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    while sampling.load(Ordering::Relaxed) {
        ticks.tick().await;
        let (n_written, expected) = {
            let written = written.lock().expect("not poisoned");
            let expected: usize = written
                .iter()
                .map(|written| {
                    subscriptions.by_patient.get(&written.patient_id).map_or(0, Vec::len)
                        + subscriptions.unfiltered.len()
                })
                .sum();
            (written.len(), expected)
        };
        let (outbox, undelivered) = backlog.counts().await;
        let (n_arrivals, p50, p99) = recent_latency_ms(&received, Duration::from_secs(1));
        println!(
            "    {:5.1} s: {n_written} written, {n_arrivals} notified of {expected}; store: outbox {outbox}, \
             undelivered {undelivered}; the last second's arrivals: p50 {p50}, p99 {p99} ms",
            started.elapsed().as_secs_f64(),
        );
    }
}

/// Arrivals so far, and the p50 and p99 (ms, as text: "-" when none) of those that arrived in the last `window`.
fn recent_latency_ms(received: &Mutex<Received>, window: Duration) -> (usize, String, String) {
    let since_us = unix_us() - window.as_micros() as i64;
    let received = received.lock().expect("not poisoned");
    let mut recent: Vec<u64> = received
        .arrivals
        .iter()
        .rev()
        .take_while(|arrival| arrival.arrived_us >= since_us)
        .map(|arrival| (arrival.arrived_us - arrival.timestamp_ms * 1000).max(0) as u64)
        .collect();
    if recent.is_empty() {
        return (received.arrivals.len(), "-".into(), "-".into());
    }
    recent.sort_unstable();
    let text = |percentile: f64| format!("{:.0}", percentile_ms(&recent, percentile));
    (received.arrivals.len(), text(50.0), text(99.0))
}

fn encounter(patient_id: &str) -> Value {
    json!({
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": format!("Patient/{patient_id}")},
        "period": {"start": kmcr_fhir::Instant::now().to_string()},
    })
}

fn report(
    receiver: &Receiver,
    expected: &HashSet<(String, String)>,
    load: &Load,
    straggler_s: f64,
    settings: &NotifyOptions,
) -> anyhow::Result<()> {
    let n_asked = (settings.rate * settings.seconds).round() as usize;
    println!(
        "  events: {} Encounters written of {n_asked} ({} failed) in {:.1} s = {:.1}/s achieved (asked {}/s; the \
         last write started at {:.1} s); write p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; start late p99 {:.1} ms, \
         max {:.1} ms",
        load.written.len(),
        load.n_failed,
        load.seconds,
        load.written.len() as f64 / load.seconds,
        settings.rate,
        load.issuing_seconds,
        percentile_ms(&load.write_us, 50.0),
        percentile_ms(&load.write_us, 99.0),
        percentile_ms(&load.write_us, 100.0),
        percentile_ms(&load.start_lag_us, 99.0),
        percentile_ms(&load.start_lag_us, 100.0),
    );
    let received = receiver.received.lock().expect("not poisoned");
    let mut latencies_us = Vec::with_capacity(received.arrivals.len());
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let mut n_unexpected = 0;
    let mut n_requests_with_events = HashSet::new();
    for arrival in &received.arrivals {
        let key = (arrival.subscription_id.clone(), arrival.encounter_id.clone());
        if !expected.contains(&key) {
            n_unexpected += 1;
            continue;
        }
        n_requests_with_events.insert(arrival.request);
        let count = seen.entry(key).or_default();
        *count += 1;
        if *count == 1 {
            latencies_us.push((arrival.arrived_us - arrival.timestamp_ms * 1000).max(0) as u64);
        }
    }
    latencies_us.sort_unstable();
    let n_duplicates: usize = seen.values().map(|count| count - 1).sum();
    let n_missing = expected.len() - seen.len();
    println!(
        "  notifications: {} expected, {} received ({} requests; {n_duplicates} duplicates, {n_unexpected} \
         unexpected), {n_missing} missing after waiting {straggler_s:.1} s past the last write; {} handshakes, {} \
         other requests, {} unreadable",
        expected.len(),
        seen.len(),
        n_requests_with_events.len(),
        received.handshakes.len(),
        received.n_other,
        received.n_unreadable
    );
    let p99 = percentile_ms(&latencies_us, 99.0);
    println!(
        "  latency from the event's timestamp to arrival: p50 {:.0} ms, p95 {:.0} ms, p99 {p99:.0} ms, max {:.0} ms \
         (target: p99 under {TARGET_P99_MS:.0} ms: {})",
        percentile_ms(&latencies_us, 50.0),
        percentile_ms(&latencies_us, 95.0),
        percentile_ms(&latencies_us, 100.0),
        if p99 < TARGET_P99_MS && n_missing == 0 { "met" } else { "MISSED" }
    );
    Ok(())
}

/// A small fast generator (splitmix64) for which Patient each Encounter is about.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// The subscriber's endpoint: answers 200 at once, and keeps what each request carried.
struct Receiver {
    address: SocketAddr,
    received: Arc<Mutex<Received>>,
}

#[derive(Default)]
struct Received {
    handshakes: HashSet<String>,
    n_handshake_requests: usize,
    n_requests: usize,
    arrivals: Vec<Arrival>,
    n_other: usize,
    n_unreadable: usize,
}

struct Arrival {
    subscription_id: String,
    encounter_id: String,
    timestamp_ms: i64,
    arrived_us: i64,
    /// Which request carried it.
    request: usize,
}

impl Receiver {
    async fn start() -> anyhow::Result<Receiver> {
        let received = Arc::new(Mutex::new(Received::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let app = Router::new().route("/hook", post(hook)).with_state(received.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Receiver { address, received })
    }

    fn n_handshaken(&self) -> usize {
        self.received.lock().expect("not poisoned").handshakes.len()
    }

    fn handshaken_ids(&self) -> HashSet<String> {
        self.received.lock().expect("not poisoned").handshakes.clone()
    }

    fn n_handshake_requests(&self) -> usize {
        self.received.lock().expect("not poisoned").n_handshake_requests
    }

    fn n_arrivals(&self) -> usize {
        self.received.lock().expect("not poisoned").arrivals.len()
    }
}

async fn hook(State(received): State<Arc<Mutex<Received>>>, body: Bytes) -> StatusCode {
    let arrived_us = unix_us();
    let Ok(bundle) = serde_json::from_slice::<Value>(&body) else {
        received.lock().expect("not poisoned").n_unreadable += 1;
        return StatusCode::OK;
    };
    let parameters = bundle["entry"][0]["resource"]["parameter"].as_array().cloned().unwrap_or_default();
    let named = |name: &str| parameters.iter().find(|parameter| parameter["name"] == name);
    let subscription_id = named("subscription")
        .and_then(|parameter| parameter["valueReference"]["reference"].as_str())
        .and_then(|reference| reference.rsplit('/').next())
        .map(str::to_string);
    let kind = named("type").and_then(|parameter| parameter["valueCode"].as_str()).unwrap_or("").to_string();
    let mut received = received.lock().expect("not poisoned");
    received.n_requests += 1;
    let request = received.n_requests;
    let Some(subscription_id) = subscription_id else {
        received.n_unreadable += 1;
        return StatusCode::OK;
    };
    match kind.as_str() {
        "handshake" => {
            received.n_handshake_requests += 1;
            received.handshakes.insert(subscription_id);
        }
        "event-notification" => {
            for event in parameters.iter().filter(|parameter| parameter["name"] == "notification-event") {
                let parts = event["part"].as_array().cloned().unwrap_or_default();
                let part = |name: &str| parts.iter().find(|part| part["name"] == name);
                let timestamp_ms =
                    part("timestamp").and_then(|part| part["valueInstant"].as_str()).and_then(instant_ms);
                let encounter_id = part("focus")
                    .and_then(|part| part["valueReference"]["reference"].as_str())
                    .and_then(|reference| reference.rsplit('/').next())
                    .map(str::to_string);
                match (timestamp_ms, encounter_id) {
                    (Some(timestamp_ms), Some(encounter_id)) => received.arrivals.push(Arrival {
                        subscription_id: subscription_id.clone(),
                        encounter_id,
                        timestamp_ms,
                        arrived_us,
                        request,
                    }),
                    _ => received.n_unreadable += 1,
                }
            }
        }
        _ => received.n_other += 1,
    }
    StatusCode::OK
}

fn unix_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_micros() as i64)
}

/// `2026-11-24T17:33:00.123Z` (as KMCR writes instants) in milliseconds since the epoch.
fn instant_ms(text: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let millisecond = if text.as_bytes().get(19) == Some(&b'.') { number(20..23)? } else { 0 };
    let days = kmcr_fhir::instant::days_from_civil(year, month as u32, day as u32);
    Some(days * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000 + millisecond)
}

/// Counts of the store's outbox (events not yet handed to subscriptions) and of subscription events not yet
/// delivered, read on a connection of its own.
enum Backlog {
    Sqlite(Mutex<rusqlite::Connection>),
    Postgres(tokio_postgres::Client),
}

impl Backlog {
    async fn connect(location: &str) -> anyhow::Result<Backlog> {
        if is_postgres(location) {
            let (client, connection) = tokio_postgres::connect(location, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            Ok(Backlog::Postgres(client))
        } else {
            let path = std::path::Path::new(location).join("kmcr.db");
            let connection = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            connection.busy_timeout(Duration::from_secs(1))?;
            Ok(Backlog::Sqlite(Mutex::new(connection)))
        }
    }

    async fn counts(&self) -> (String, String) {
        const OUTBOX: &str = "SELECT count(*) FROM event_outbox";
        const UNDELIVERED: &str = "SELECT count(*) FROM subscription_event WHERE delivered_ms IS NULL";
        let counted = match self {
            Backlog::Sqlite(connection) => {
                let connection = connection.lock().expect("not poisoned");
                let count = |sql: &str| connection.query_row(sql, [], |row| row.get::<_, i64>(0)).ok();
                (count(OUTBOX), count(UNDELIVERED))
            }
            Backlog::Postgres(client) => {
                let outbox = client.query_one(OUTBOX, &[]).await.ok().map(|row| row.get::<_, i64>(0));
                let undelivered = client.query_one(UNDELIVERED, &[]).await.ok().map(|row| row.get::<_, i64>(0));
                (outbox, undelivered)
            }
        };
        let text = |count: Option<i64>| count.map_or("?".to_string(), |count| count.to_string());
        (text(counted.0), text(counted.1))
    }
}
