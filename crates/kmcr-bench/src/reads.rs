//! Reads at scale: synthetic people loaded over HTTP in steps (10,000 then 100,000 by default), and at each step
//! `Patient/$everything`, `Observation?patient=..&code=..&date=ge..`, a composite search (the person's systolic blood
//! pressures over 140) and `Patient/$match` over HTTP with concurrent clients. The `match` workload loads only each
//! person's source Patients (no clinical records), so that the person index can be measured at the scale of a region
//! (1,000,000 people), and times `Patient/$match` alone.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use bytes::Bytes;
use kmcr_synth::SynthConfig;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::client::FhirClient;
use crate::cpu::CpuSeconds;
use crate::{Options, empty_store, is_postgres, percentile_ms, postgres_settings, server};

const SEED: u64 = 7;

/// What is loaded, and so what is measured.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Workload {
    /// Every record of every person, from every source: all three queries.
    FullRecords,
    /// Only the source Patients: `Patient/$match`.
    PatientsOnly,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::FullRecords => "reads",
            Workload::PatientsOnly => "match",
        }
    }

    /// One person in this many is kept as a query target.
    fn sample_every(self) -> usize {
        match self {
            Workload::FullRecords => 10,
            Workload::PatientsOnly => 100,
        }
    }

    fn queries(self) -> &'static [(&'static str, Query)] {
        match self {
            Workload::FullRecords => &[
                ("Patient/$everything (region-wide system client)", Query::Everything),
                ("Patient/$everything (GP at the person's practice)", Query::EverythingAsClinician),
                ("Observation?patient&code&date=ge", Query::Search),
                ("Observation?patient&component-code-value-quantity", Query::Composite),
                ("Patient/$match", Query::Match),
            ],
            Workload::PatientsOnly => &[("Patient/$match", Query::Match)],
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Query {
    Everything,
    /// The same read as a user: a GP at the practice that sent the person's first record (a legitimate relationship).
    EverythingAsClinician,
    Search,
    /// The person's systolic blood pressures over 140: a composite search.
    Composite,
    Match,
}

/// A person to query: their GP Patient id and one of their observations' code and date.
#[derive(Clone)]
struct Target {
    patient_id: String,
    /// The organisation that sent that Patient.
    source_ods_code: String,
    observation_code: Option<(String, String)>,
    /// `Patient/$match` Parameters holding the Patient as this source sent it.
    match_parameters: Bytes,
}

pub async fn run(options: &Options, workload: Workload) -> anyhow::Result<()> {
    let saved = if options.resume { SavedLoad::read(workload, &options.database)? } else { None };
    if saved.is_none() {
        let _ = std::fs::remove_file(SavedLoad::path(workload, &options.database));
        empty_store(&options.database).await?;
    }
    let organisations = kmcr_synth::organisation_bundles();
    let mut ods_codes: Vec<String> = organisations.iter().map(|source| source.source_ods_code.clone()).collect();
    ods_codes.sort();
    ods_codes.dedup();
    let running = server::start(&options.database, &ods_codes).await?;
    let mut writers = HashMap::new();
    for ods_code in &ods_codes {
        writers
            .insert(ods_code.clone(), FhirClient::connect(running.address, &format!("bench-writer-{ods_code}")).await?);
    }
    let writers = Arc::new(writers);
    if saved.is_none() {
        for source in organisations {
            writers[&source.source_ods_code].send("POST", "", Some(Bytes::from(source.bundle.to_string()))).await?;
        }
    }
    let reader = FhirClient::connect(running.address, "bench-reader").await?;
    println!(
        "{} benchmark: store {}{}, {} concurrent clients",
        workload.name(),
        options.database,
        postgres_settings(&options.database).await?,
        options.n_clients
    );

    let (mut loaded, targets) = match saved {
        Some(saved) => {
            println!("  resumed a store of {} people", saved.n_people);
            (saved.n_people, saved.targets)
        }
        None => (0, Vec::new()),
    };
    let targets = Arc::new(Mutex::new(targets));
    let n_load_clients = options.n_load_clients.unwrap_or(options.n_clients);
    for &step in &options.people_steps {
        if step < loaded {
            continue;
        }
        if step > loaded {
            let cpu_before = CpuSeconds::now(is_postgres(&options.database));
            let (n_resources, seconds) =
                load_people(&writers, workload, loaded, step, n_load_clients, targets.clone()).await?;
            println!(
                "  loaded people {loaded}..{step}: {n_resources} resources in {seconds:.1} s = {:.0} resources/s over \
                 HTTP; {}",
                n_resources as f64 / seconds,
                CpuSeconds::now(is_postgres(&options.database)).per_thousand_since(&cpu_before, n_resources)
            );
            loaded = step;
            SavedLoad { n_people: loaded, targets: targets.lock().await.clone() }.write(workload, &options.database)?;
        }
        let sample = targets.lock().await.clone();
        let clinicians = clinicians_for(&running, &sample).await?;
        measure(&reader, &clinicians, &sample, options, step, workload.queries()).await?;
        if let Some(seconds) = options.remeasure_after {
            tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
            println!("    {seconds} s later:");
            measure(&reader, &clinicians, &sample, options, step, workload.queries()).await?;
        }
    }
    Ok(())
}

/// A Bundle read only to count its entries.
#[derive(serde::Deserialize)]
struct CountedBundle {
    #[serde(default)]
    entry: Vec<serde::de::IgnoredAny>,
}

/// What a run loaded, kept beside the store so that `--resume` measures again without loading again.
struct SavedLoad {
    n_people: usize,
    targets: Vec<Target>,
}

impl SavedLoad {
    fn path(workload: Workload, database: &str) -> std::path::PathBuf {
        let name: String =
            database.chars().map(|character| if character.is_ascii_alphanumeric() { character } else { '_' }).collect();
        std::env::temp_dir().join(format!("kmcr-bench-{}-{name}.json", workload.name()))
    }

    fn read(workload: Workload, database: &str) -> anyhow::Result<Option<SavedLoad>> {
        let Ok(text) = std::fs::read_to_string(Self::path(workload, database)) else {
            return Ok(None);
        };
        let json: Value = serde_json::from_str(&text)?;
        let n_people = json["people"].as_u64().context("people")? as usize;
        let mut targets = Vec::new();
        for target in json["targets"].as_array().context("targets")? {
            let code = target["code"].as_str().zip(target["date"].as_str());
            targets.push(Target {
                patient_id: target["patient"].as_str().context("patient")?.to_string(),
                source_ods_code: target["source"].as_str().unwrap_or_default().to_string(),
                observation_code: code.map(|(code, date)| (code.to_string(), date.to_string())),
                match_parameters: Bytes::from(target["match"].to_string()),
            });
        }
        Ok(Some(SavedLoad { n_people, targets }))
    }

    fn write(&self, workload: Workload, database: &str) -> anyhow::Result<()> {
        let mut targets = Vec::new();
        for target in &self.targets {
            let (code, date) = target.observation_code.clone().unzip();
            let parameters: Value = serde_json::from_slice(&target.match_parameters)?;
            targets.push(serde_json::json!({
                "patient": target.patient_id, "source": target.source_ods_code, "code": code, "date": date,
                "match": parameters,
            }));
        }
        let json = serde_json::json!({ "people": self.n_people, "targets": targets });
        std::fs::write(Self::path(workload, database), json.to_string())?;
        Ok(())
    }
}

async fn load_people(
    writers: &Arc<HashMap<String, FhirClient>>,
    workload: Workload,
    from: usize,
    to: usize,
    n_clients: usize,
    targets: Arc<Mutex<Vec<Target>>>,
) -> anyhow::Result<(usize, f64)> {
    let config = Arc::new(SynthConfig { seed: SEED, n_people: to });
    let next_person = Arc::new(AtomicUsize::new(from));
    let n_resources = Arc::new(AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..n_clients {
        let (writers, config, next_person, n_resources, targets) =
            (writers.clone(), config.clone(), next_person.clone(), n_resources.clone(), targets.clone());
        tasks.push(tokio::spawn(async move {
            let n_people = match workload {
                Workload::FullRecords => 1,
                Workload::PatientsOnly => PATIENTS_PER_BUNDLE,
            };
            loop {
                let first = next_person.fetch_add(n_people, Ordering::SeqCst);
                if first >= to {
                    return anyhow::Ok(());
                }
                let people = first..(first + n_people).min(to);
                let sampled = first % workload.sample_every() == 0;
                let (n_sent, target) = match workload {
                    Workload::FullRecords => send_records(&writers, &config, first, sampled).await?,
                    Workload::PatientsOnly => send_patients(&writers, &config, people).await?,
                };
                n_resources.fetch_add(n_sent, Ordering::Relaxed);
                if let Some(target) = target.filter(|_| sampled) {
                    targets.lock().await.push(target);
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok((n_resources.load(Ordering::Relaxed), started.elapsed().as_secs_f64()))
}

/// People whose source Patients go in one transaction per source: a bulk load, as a source sends its register, rather
/// than one Patient per request (which waits on a commit each; on PostgreSQL two, the Patient's then its person's).
const PATIENTS_PER_BUNDLE: usize = 100;

/// Every record of one person, one transaction per source; when sampled, the target is their first source's Patient.
async fn send_records(
    writers: &HashMap<String, FhirClient>,
    config: &SynthConfig,
    person_idx: usize,
    sampled: bool,
) -> anyhow::Result<(usize, Option<Target>)> {
    // Written straight to text: the client shares the server's two cores.
    let bundles = kmcr_synth::person_bundle_texts(config, person_idx);
    let mut n_sent = 0;
    let mut target = None;
    for (bundle_idx, source) in bundles.into_iter().enumerate() {
        let sent = (sampled && bundle_idx == 0).then(|| serde_json::from_str::<Value>(&source.json)).transpose()?;
        let writer = writers.get(&source.source_ods_code).context("a writer for every source")?;
        let reply = writer.send("POST", "", Some(Bytes::from(source.json))).await?;
        n_sent += source.n_entries;
        if let Some(sent) = sent {
            target = target_of(&sent, &reply, &source.source_ods_code);
        }
    }
    Ok((n_sent, target))
}

/// The source Patients of `people`, one transaction per source; the target is the first person's first Patient.
async fn send_patients(
    writers: &HashMap<String, FhirClient>,
    config: &SynthConfig,
    people: std::ops::Range<usize>,
) -> anyhow::Result<(usize, Option<Target>)> {
    let mut by_source: Vec<(String, Vec<Value>)> = Vec::new();
    for person_idx in people {
        for source in kmcr_synth::person_patient_bundle_texts(config, person_idx) {
            let mut bundle: Value = serde_json::from_str(&source.json)?;
            let entries = match bundle["entry"].take() {
                Value::Array(entries) => entries,
                _ => Vec::new(),
            };
            match by_source.iter_mut().find(|(ods_code, _)| *ods_code == source.source_ods_code) {
                Some((_, all)) => all.extend(entries),
                None => by_source.push((source.source_ods_code, entries)),
            }
        }
    }
    let mut n_sent = 0;
    let mut target = None;
    for (ods_code, entries) in by_source {
        n_sent += entries.len();
        let bundle = serde_json::json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries });
        let writer = writers.get(&ods_code).context("a writer for every source")?;
        let reply = writer.send("POST", "", Some(Bytes::from(bundle.to_string()))).await?;
        if target.is_none() {
            target = target_of(&bundle, &reply, &ods_code);
        }
    }
    Ok((n_sent, target))
}

/// The Patient id assigned by the server, and the code and date of the first Observation sent, if any.
fn target_of(bundle: &Value, reply: &Bytes, source_ods_code: &str) -> Option<Target> {
    let reply: Value = serde_json::from_slice(reply).ok()?;
    let entries = bundle["entry"].as_array()?;
    let replies = reply["entry"].as_array()?;
    let mut patient_id = None;
    let mut observation_code = None;
    let mut match_parameters = None;
    for (entry, reply) in entries.iter().zip(replies) {
        let resource = &entry["resource"];
        match resource["resourceType"].as_str() {
            Some("Patient") => {
                let location = reply["response"]["location"].as_str()?;
                patient_id = location.split('/').nth(1).map(str::to_string);
                let parameters = serde_json::json!({ "resourceType": "Parameters", "parameter": [
                    { "name": "resource", "resource": resource },
                    { "name": "count", "valueInteger": 5 },
                ]});
                match_parameters = Some(Bytes::from(parameters.to_string()));
            }
            Some("Observation") if observation_code.is_none() => {
                let coding = &resource["code"]["coding"][0];
                let date = resource["effectiveDateTime"].as_str().unwrap_or("2000-01-01");
                if let (Some(system), Some(code)) = (coding["system"].as_str(), coding["code"].as_str()) {
                    let year: i32 = date.get(..4).and_then(|year| year.parse().ok()).unwrap_or(2000);
                    observation_code = Some((format!("{system}|{code}"), format!("{}-01-01", year - 5)));
                }
            }
            _ => {}
        }
    }
    Some(Target {
        patient_id: patient_id?,
        source_ods_code: source_ods_code.to_string(),
        observation_code,
        match_parameters: match_parameters?,
    })
}

/// A GP's client at each organisation that sent a target's Patient.
async fn clinicians_for(
    running: &server::RunningServer,
    targets: &[Target],
) -> anyhow::Result<Arc<HashMap<String, FhirClient>>> {
    let mut clinicians = HashMap::new();
    for target in targets {
        if !clinicians.contains_key(&target.source_ods_code) && !target.source_ods_code.is_empty() {
            let token = running.clinician_token(&target.source_ods_code).await?;
            clinicians.insert(target.source_ods_code.clone(), FhirClient::with_token(running.address, token));
        }
    }
    Ok(Arc::new(clinicians))
}

async fn measure(
    reader: &FhirClient,
    clinicians: &Arc<HashMap<String, FhirClient>>,
    targets: &[Target],
    options: &Options,
    n_people: usize,
    queries: &[(&str, Query)],
) -> anyhow::Result<()> {
    let targets = Arc::new(targets.to_vec());
    let searchable: Arc<Vec<Target>> =
        Arc::new(targets.iter().filter(|target| target.observation_code.is_some()).cloned().collect());
    for &(name, query) in queries {
        let pool = if query == Query::Search { searchable.clone() } else { targets.clone() };
        if pool.is_empty() {
            println!("    {name}: no targets");
            continue;
        }
        let next_query = Arc::new(AtomicUsize::new(0));
        let latencies_us = Arc::new(Mutex::new(Vec::with_capacity(options.n_queries)));
        let n_items = Arc::new(AtomicUsize::new(0));
        let started = std::time::Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..options.n_clients {
            let (reader, clinicians, pool, next_query, latencies_us, n_items) = (
                reader.clone(),
                clinicians.clone(),
                pool.clone(),
                next_query.clone(),
                latencies_us.clone(),
                n_items.clone(),
            );
            let n_queries = options.n_queries;
            tasks.push(tokio::spawn(async move {
                loop {
                    let query_idx = next_query.fetch_add(1, Ordering::SeqCst);
                    if query_idx >= n_queries {
                        return anyhow::Ok(());
                    }
                    // A stride through the sample, so consecutive queries hit different people.
                    let target = &pool[(query_idx * 7919) % pool.len()];
                    let (method, path, request_body) = match (&target.observation_code, query) {
                        (Some((code, date)), Query::Search) => (
                            "GET",
                            format!("Observation?patient={}&code={code}&date=ge{date}", target.patient_id),
                            None,
                        ),
                        (_, Query::Composite) => (
                            "GET",
                            format!(
                                "Observation?patient={}&component-code-value-quantity=http://loinc.org%7C8480-6%24gt140",
                                target.patient_id
                            ),
                            None,
                        ),
                        (_, Query::Match) => {
                            ("POST", "Patient/$match".to_string(), Some(target.match_parameters.clone()))
                        }
                        _ => ("GET", format!("Patient/{}/$everything", target.patient_id), None),
                    };
                    let client = match query {
                        Query::EverythingAsClinician => {
                            clinicians.get(&target.source_ods_code).context("a clinician at the source")?
                        }
                        _ => &reader,
                    };
                    let sent = std::time::Instant::now();
                    let body = client.send(method, &path, request_body).await?;
                    let elapsed_us = sent.elapsed().as_micros() as u64;
                    // Counted without building the JSON tree: the client shares the server's two cores.
                    let bundle: CountedBundle = serde_json::from_slice(&body)?;
                    n_items.fetch_add(bundle.entry.len(), Ordering::Relaxed);
                    latencies_us.lock().await.push(elapsed_us);
                }
            }));
        }
        for task in tasks {
            task.await??;
        }
        let seconds = started.elapsed().as_secs_f64();
        let mut latencies_us = std::mem::take(&mut *latencies_us.lock().await);
        latencies_us.sort_unstable();
        let n_items = n_items.load(Ordering::Relaxed);
        println!(
            "    {n_people} people, {name}: p50 {:.2} ms, p99 {:.2} ms, {:.0} requests/s, {:.1} items per answer",
            percentile_ms(&latencies_us, 50.0),
            percentile_ms(&latencies_us, 99.0),
            latencies_us.len() as f64 / seconds,
            n_items as f64 / latencies_us.len().max(1) as f64,
        );
    }
    Ok(())
}
