//! `viewer`: the clinician viewer's speed, server side. Synthetic people are loaded over HTTP (as `reads` loads them),
//! and one more person with 500 items of many kinds, written by a GP practice's system; a GP of that practice signs in
//! to the viewer as a browser does, and the summary page of that person, of people registered at the practice, and the
//! person search (by NHS number, and by family name and date of birth) are timed through the whole router in this
//! process (`oneshot`, the body collected): the time spent answering, with no client or network in it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use kmcr_access::{ActivitySet, JobRole, Organisation, OrganisationKind, RoleProfile, Scope};
use kmcr_api::{AppState, Authentication, router};
use kmcr_auth::{ApiClient, LocalAccount, Secret, SigningKey, hash_secret};
use kmcr_fhir::OdsCode;
use kmcr_service::identity::IdentitySettings;
use kmcr_service::{Limits, Service};
use kmcr_store::{Store, StoreOptions};
use kmcr_synth::SynthConfig;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::client::FhirClient;
use crate::cpu::CpuSeconds;
use crate::server::CLIENT_SECRET;
use crate::{Options, empty_store, is_postgres, percentile_ms, postgres_settings};

/// The synthetic population's seed: the same people as `reads` loads.
const SEED: u64 = 7;
/// The viewer account of a GP at the practice (its password is the clients' secret).
const GP_USERNAME: &str = "bench-gp";
/// The NHS number of the person with many items: a valid number outside the 999 range the synthetic people use, so
/// that no synthetic person is linked to them.
const MANY_ITEMS_NHS_NUMBER: &str = "9434765919";
/// What the issue asks of the summary page and of the search, at p95.
const SUMMARY_TARGET_MS: f64 = 100.0;
const SEARCH_TARGET_MS: f64 = 50.0;
/// What the safeguarding section of every page of a person starts with, and the flag the many-item person has.
const SAFEGUARDING_SECTION: &str = "data-testid=\"safeguarding\"";
const CHILD_PROTECTION_PLAN: &str = "Subject to child protection plan";

pub async fn run(options: &Options) -> anyhow::Result<()> {
    let n_people = options.people_steps.iter().copied().max().unwrap_or(0);
    let practice = practice_of_first_person()?;
    let saved = if options.resume { SavedLoad::read(&options.database)? } else { None };
    if saved.is_none() {
        let _ = std::fs::remove_file(SavedLoad::path(&options.database));
        empty_store(&options.database).await?;
    }
    let on_postgres = is_postgres(&options.database);
    let bench = Bench::start(&options.database, &practice).await?;
    println!(
        "viewer benchmark: store {}{}, a GP at {practice} signed in, {} client(s), {} requests a measurement",
        options.database,
        postgres_settings(&options.database).await?,
        options.n_clients,
        options.n_queries
    );
    let writers = Arc::new(bench.writers().await?);
    let mut saved = match saved {
        Some(saved) => {
            println!("  resumed a store of {} people (the person with many items is in it)", saved.n_people);
            saved
        }
        None => {
            for source in kmcr_synth::organisation_bundles() {
                writers[&source.source_ods_code].send("POST", "", Some(Bytes::from(source.bundle.to_string()))).await?;
            }
            let many_items_patient_id = write_many_items_person(&writers[&practice], &practice).await?;
            SavedLoad { n_people: 0, many_items_patient_id, registered_patient_ids: Vec::new() }
        }
    };
    if n_people > saved.n_people {
        let n_load_clients = options.n_load_clients.unwrap_or(4);
        let cpu_before = CpuSeconds::now(on_postgres);
        let load = load_people(writers.clone(), &practice, saved.n_people, n_people, n_load_clients).await?;
        println!(
            "  loaded people {}..{n_people} with {n_load_clients} clients: {} resources ({:.1} a person) in {:.1} s \
             ({:.1} min) = {:.0} resources/s over HTTP; {}",
            saved.n_people,
            load.n_resources,
            load.n_resources as f64 / (n_people - saved.n_people) as f64,
            load.seconds,
            load.seconds / 60.0,
            load.n_resources as f64 / load.seconds,
            CpuSeconds::now(on_postgres).per_thousand_since(&cpu_before, load.n_resources)
        );
        saved.n_people = n_people;
        saved.registered_patient_ids.extend(load.registered_patient_ids);
        saved.write(&options.database)?;
    }
    println!(
        "  {} people loaded, {} of them registered at {practice}; the person with many items: Patient/{}",
        saved.n_people,
        saved.registered_patient_ids.len(),
        saved.many_items_patient_id
    );
    let browser = bench.sign_in().await?;
    let measurement = Measurement {
        router: bench.router.clone(),
        cookie: Arc::new(browser.cookie),
        n_queries: options.n_queries,
        n_warm_up: (options.n_queries / 10).clamp(5, 30),
        n_clients: options.n_clients.max(1),
        on_postgres,
    };
    measure_pages(&measurement, &saved).await?;
    measure_searches(&measurement, &browser.csrf_token, saved.n_people).await?;
    Ok(())
}

/// The GP practice of the first synthetic person: its GP signs in, and writes the person with many items.
fn practice_of_first_person() -> anyhow::Result<String> {
    let truth = kmcr_synth::person_truth(&SynthConfig { seed: SEED, n_people: 1 }, 0);
    truth
        .source_records
        .iter()
        .map(|record| record.ods_code.clone())
        .find(|code| {
            kmcr_synth::organisation(code)
                .is_some_and(|organisation| organisation.kind == kmcr_synth::OrganisationKind::GpPractice)
        })
        .context("the first synthetic person is registered with a practice")
}

/// The store, the service and the router over them, as `kmcr serve` builds them, also served on a loopback port for
/// loading (as the other benchmarks load).
struct Bench {
    router: Router,
    address: std::net::SocketAddr,
}

impl Bench {
    /// The synthetic region's organisations of their own kinds (so that a GP practice's record of a person is their
    /// registration there), a writer client for each, and a viewer account for a GP at `practice`.
    async fn start(database: &str, practice: &str) -> anyhow::Result<Bench> {
        let opening = Instant::now();
        let store = Store::open(database, &StoreOptions::default()).await?;
        let secret_hash = hash_secret(&Secret::new(CLIENT_SECRET)).map_err(|error| anyhow::anyhow!("{error}"))?;
        let mut organisations = Vec::new();
        let mut clients = Vec::new();
        for organisation in kmcr_synth::organisations() {
            let ods_code = OdsCode::parse(organisation.ods_code)?;
            organisations.push(Organisation {
                ods_code: ods_code.clone(),
                name: organisation.name.into(),
                kind: access_kind(organisation.kind),
                party_to_agreement: true,
            });
            clients.push(ApiClient {
                id: format!("bench-writer-{}", organisation.ods_code),
                secret_hash: secret_hash.clone(),
                ods_code,
                scopes: vec![Scope::parse("system/*.*")?],
                region_wide: None,
            });
        }
        let gp = LocalAccount {
            username: GP_USERNAME.into(),
            password_hash: secret_hash,
            user_id: GP_USERNAME.into(),
            role_profiles: vec![RoleProfile {
                id: format!("{GP_USERNAME}-role"),
                ods_code: OdsCode::parse(practice)?,
                job_role: JobRole::parse("S8000:G8000:R8000").context("a job role")?,
                activities: ActivitySet::expand(["B0360"]),
            }],
            assurance: LocalAccount::DEFAULT_ASSURANCE,
        };
        let access = crate::benchmark_access(organisations);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        // Starting reads every Patient into the person index: at scale, a restart's cost, so it is printed.
        let service = Service::start(store.clone(), Limits::default(), IdentitySettings::default(), access).await?;
        println!("  service started in {:.1} s (store opened, person index loaded)", opening.elapsed().as_secs_f64());
        let base_url = format!("http://{address}");
        let auth = Arc::new(Authentication::with_store(
            store,
            SigningKey::generate(),
            &base_url,
            clients,
            vec![gp],
            Vec::new(),
            86_400,
        ));
        let state =
            AppState { service, auth, fhir_base_url: format!("{base_url}/fhir"), max_body_bytes: 256 * 1024 * 1024 };
        let router = router(state);
        let served = router.clone();
        tokio::spawn(async move { axum::serve(listener, served).await });
        Ok(Bench { router, address })
    }

    /// A writer client for each organisation, by ODS code.
    async fn writers(&self) -> anyhow::Result<HashMap<String, FhirClient>> {
        let mut writers = HashMap::new();
        for organisation in kmcr_synth::organisations() {
            let client = FhirClient::connect(self.address, &format!("bench-writer-{}", organisation.ods_code)).await?;
            writers.insert(organisation.ods_code.to_string(), client);
        }
        Ok(writers)
    }

    /// Signs in as a browser does: the sign-in form's token and cookie, the form posted, the session cookie kept, and
    /// the session's CSRF token read from the page signing in leads to.
    async fn sign_in(&self) -> anyhow::Result<SignedInBrowser> {
        let mut cookies: Vec<(String, String)> = Vec::new();
        let form = send(&self.router, get("/viewer/sign-in", ""), Some(&mut cookies)).await?;
        anyhow::ensure!(form.status == StatusCode::OK, "sign-in page: {}", form.status);
        let form_token = csrf_token(&form.body)?;
        let posted = send(
            &self.router,
            post_form(
                "/viewer/sign-in",
                &cookie_header(&cookies),
                &[("csrf", &form_token), ("username", GP_USERNAME), ("password", CLIENT_SECRET)],
            ),
            Some(&mut cookies),
        )
        .await?;
        anyhow::ensure!(posted.status == StatusCode::SEE_OTHER, "sign-in: {}: {}", posted.status, posted.body);
        let cookie = cookie_header(&cookies);
        let home = send(&self.router, get("/viewer", &cookie), None).await?;
        anyhow::ensure!(home.status == StatusCode::OK, "the search page after signing in: {}", home.status);
        Ok(SignedInBrowser { cookie, csrf_token: csrf_token(&home.body)? })
    }
}

fn access_kind(kind: kmcr_synth::OrganisationKind) -> OrganisationKind {
    use kmcr_synth::OrganisationKind as Synthetic;
    match kind {
        Synthetic::GpPractice => OrganisationKind::GpPractice,
        Synthetic::AcuteTrust => OrganisationKind::Acute,
        Synthetic::MentalHealthTrust => OrganisationKind::MentalHealth,
        Synthetic::CommunityTrust => OrganisationKind::Community,
        Synthetic::AmbulanceTrust => OrganisationKind::Ambulance,
        Synthetic::LocalAuthority => OrganisationKind::AdultSocialCare,
        Synthetic::Hospice => OrganisationKind::Hospice,
    }
}

struct SignedInBrowser {
    /// The `Cookie` header that carries the viewer session.
    cookie: String,
    csrf_token: String,
}

struct Page {
    status: StatusCode,
    body: String,
}

/// One request through the router in this process, its body collected; the cookies it sets kept in `cookies`.
async fn send(
    router: &Router,
    request: Request<Body>,
    cookies: Option<&mut Vec<(String, String)>>,
) -> anyhow::Result<Page> {
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    if let Some(cookies) = cookies {
        for set_cookie in response.headers().get_all("set-cookie") {
            let text = set_cookie.to_str()?;
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').context("a cookie is name=value")?;
            cookies.retain(|(known, _)| known != name);
            if !attributes.contains("Max-Age=0") {
                cookies.push((name.to_string(), value.to_string()));
            }
        }
    }
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok(Page { status, body: String::from_utf8_lossy(&bytes).into_owned() })
}

fn cookie_header(cookies: &[(String, String)]) -> String {
    cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
}

fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path).header("cookie", cookie).body(Body::empty()).expect("a valid request")
}

fn post_form(path: &str, cookie: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let body =
        fields.iter().map(|(name, value)| format!("{name}={}", form_encoded(value))).collect::<Vec<_>>().join("&");
    Request::post(path)
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("a valid request")
}

/// `application/x-www-form-urlencoded`: every byte but the unreserved ones percent-encoded.
fn form_encoded(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The value of the hidden `csrf` field of a page's forms.
fn csrf_token(page: &str) -> anyhow::Result<String> {
    const FIELD: &str = "name=\"csrf\" value=\"";
    let start = page.find(FIELD).context("a form with its token")? + FIELD.len();
    Ok(page[start..].split('"').next().unwrap_or_default().to_string())
}

/// What a run loaded, kept beside the store so that `--resume` measures again without loading again.
struct SavedLoad {
    n_people: usize,
    many_items_patient_id: String,
    /// The practice's own Patients of the people registered there: whose summary a GP there may open.
    registered_patient_ids: Vec<String>,
}

impl SavedLoad {
    fn path(database: &str) -> std::path::PathBuf {
        let name: String =
            database.chars().map(|character| if character.is_ascii_alphanumeric() { character } else { '_' }).collect();
        std::env::temp_dir().join(format!("kmcr-bench-viewer-{name}.json"))
    }

    fn read(database: &str) -> anyhow::Result<Option<SavedLoad>> {
        let Ok(text) = std::fs::read_to_string(Self::path(database)) else {
            return Ok(None);
        };
        let json: Value = serde_json::from_str(&text)?;
        let registered = json["registered"].as_array().context("registered")?;
        Ok(Some(SavedLoad {
            n_people: json["people"].as_u64().context("people")? as usize,
            many_items_patient_id: json["many_items"].as_str().context("many_items")?.to_string(),
            registered_patient_ids: registered.iter().filter_map(|id| id.as_str().map(str::to_string)).collect(),
        }))
    }

    fn write(&self, database: &str) -> anyhow::Result<()> {
        let json = json!({
            "people": self.n_people, "many_items": self.many_items_patient_id,
            "registered": self.registered_patient_ids,
        });
        std::fs::write(Self::path(database), json.to_string())?;
        Ok(())
    }
}

struct Load {
    n_resources: usize,
    seconds: f64,
    registered_patient_ids: Vec<String>,
}

/// People `from..to`, each person's records one transaction per source (as `reads` sends them) from `n_clients`
/// concurrent clients, with progress printed every minute; the ids of the Patients `practice` sent are kept.
async fn load_people(
    writers: Arc<HashMap<String, FhirClient>>,
    practice: &str,
    from: usize,
    to: usize,
    n_clients: usize,
) -> anyhow::Result<Load> {
    let config = Arc::new(SynthConfig { seed: SEED, n_people: to });
    let next_person = Arc::new(AtomicUsize::new(from));
    let n_people_done = Arc::new(AtomicUsize::new(0));
    let n_resources = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let progress = {
        let (n_people_done, n_resources) = (n_people_done.clone(), n_resources.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(60));
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let (done, seconds) = (n_people_done.load(Ordering::Relaxed), started.elapsed().as_secs_f64());
                let n_resources = n_resources.load(Ordering::Relaxed);
                let remaining_s = (to - from).saturating_sub(done) as f64 * seconds / done.max(1) as f64;
                println!(
                    "    {:.0} min: {} of {} people, {n_resources} resources, {:.0} resources/s, about {:.0} min to go",
                    seconds / 60.0,
                    done,
                    to - from,
                    n_resources as f64 / seconds,
                    remaining_s / 60.0
                );
            }
        })
    };
    let mut tasks = Vec::new();
    for _ in 0..n_clients {
        let (writers, config, next_person, n_people_done, n_resources) =
            (writers.clone(), config.clone(), next_person.clone(), n_people_done.clone(), n_resources.clone());
        let practice = practice.to_string();
        tasks.push(tokio::spawn(async move {
            let mut registered = Vec::new();
            loop {
                let person_idx = next_person.fetch_add(1, Ordering::SeqCst);
                if person_idx >= to {
                    return anyhow::Ok(registered);
                }
                // Written straight to text: the clients share the server's two cores.
                for source in kmcr_synth::person_bundle_texts(&config, person_idx) {
                    let writer = writers.get(&source.source_ods_code).context("a writer for every source")?;
                    let reply = writer.send("POST", "", Some(Bytes::from(source.json))).await?;
                    n_resources.fetch_add(source.n_entries, Ordering::Relaxed);
                    if source.source_ods_code == practice {
                        registered.push(patient_id_of(&reply).context("the transaction's Patient")?);
                    }
                }
                n_people_done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut registered_patient_ids = Vec::new();
    for task in tasks {
        registered_patient_ids.extend(task.await??);
    }
    progress.abort();
    Ok(Load {
        n_resources: n_resources.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
        registered_patient_ids,
    })
}

/// A transaction-response Bundle, read only for its locations.
#[derive(serde::Deserialize)]
struct TransactionReply {
    #[serde(default)]
    entry: Vec<ReplyEntry>,
}

#[derive(serde::Deserialize)]
struct ReplyEntry {
    #[serde(default)]
    response: ReplyResponse,
}

#[derive(serde::Deserialize, Default)]
struct ReplyResponse {
    location: Option<String>,
}

/// The id of the Patient a transaction created or updated, from its reply.
fn patient_id_of(reply: &[u8]) -> Option<String> {
    let reply: TransactionReply = serde_json::from_slice(reply).ok()?;
    reply.entry.iter().find_map(|entry| {
        let location = entry.response.location.as_deref()?.strip_prefix("Patient/")?;
        Some(location.split('/').next()?.to_string())
    })
}

/// The person with many items: a Patient and 500 items as `practice`'s system sends them, one transaction.
async fn write_many_items_person(writer: &FhirClient, practice: &str) -> anyhow::Result<String> {
    let (bundle, counts) = many_items_bundle(practice);
    let reply = writer.send("POST", "", Some(Bytes::from(bundle.to_string()))).await?;
    let patient_id = patient_id_of(&reply).context("the many-item person's Patient")?;
    let n_items: usize = counts.iter().map(|(_, count)| count).sum();
    let kinds: Vec<String> = counts.iter().map(|(kind, count)| format!("{count} {kind}")).collect();
    println!("  the person with many items, from {practice}: a Patient and {n_items} items ({})", kinds.join(", "));
    Ok(patient_id)
}

/// The Bundle, and how many items of each kind it holds (500 in all, besides the Patient).
fn many_items_bundle(practice: &str) -> (Value, Vec<(&'static str, usize)>) {
    const PATIENT_URL: &str = "urn:uuid:5e1f0000-0000-4000-8000-000000000000";
    let organisation = json!({
        "reference": format!("Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|{practice}"),
        "display": kmcr_synth::organisation(practice).map_or(practice, |organisation| organisation.name),
    });
    let subject = json!({ "reference": PATIENT_URL });
    let patient = json!({ "resourceType": "Patient",
        "identifier": [
            { "system": "https://fhir.nhs.uk/Id/nhs-number", "value": MANY_ITEMS_NHS_NUMBER },
            { "system": format!("https://fhir.{}.nhs.uk/Id/patient-number", practice.to_lowercase()),
              "value": "BENCH-500" }],
        "active": true,
        "name": [{ "use": "official", "family": "Manyitems", "given": ["Morgan", "Lee"], "prefix": ["Mrs"] }],
        "gender": "female", "birthDate": "1950-04-12",
        "address": [{ "use": "home", "line": ["7 Orchard Way"], "city": "Maidstone", "district": "Kent",
            "postalCode": "ME14 2AB" }],
        "generalPractitioner": [organisation], "managingOrganization": organisation });
    let mut entries = vec![json!({ "fullUrl": PATIENT_URL, "resource": patient,
        "request": { "method": "POST", "url": "Patient" } })];
    let mut counts = Vec::new();
    let mut add = |kind: &'static str, resources: Vec<Value>| {
        counts.push((kind, resources.len()));
        for resource in resources {
            entries.push(json!({ "resource": resource, "request": { "method": "POST", "url": kind } }));
        }
    };
    add("Observation", observations(&subject));
    add("Condition", conditions(&subject));
    add("MedicationStatement", medication_statements(&subject));
    add("Encounter", encounters(&subject, &organisation));
    add("AllergyIntolerance", allergies(&subject));
    add(
        "Flag",
        vec![json!({ "resourceType": "Flag", "status": "active", "subject": subject,
        "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/flag-category",
            "code": "safety" }] }],
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "342191000000101",
            "display": CHILD_PROTECTION_PLAN }] },
        "period": { "start": "2025-01-10" }, "author": { "display": "Kent County Council children's services" } })],
    );
    add("DocumentReference", documents(&subject));
    let bundle = json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries });
    (bundle, counts)
}

/// The date `day_idx` days after 1 January 2016 (months of 28 days, so every one is a real date).
fn day_after_2016(day_idx: usize) -> String {
    let (year, month, day) = (2016 + day_idx / 336, 1 + (day_idx / 28) % 12, 1 + day_idx % 28);
    format!("{year:04}-{month:02}-{day:02}")
}

/// 300 results: six series of 50 over ten years, each with its reference range.
fn observations(subject: &Value) -> Vec<Value> {
    let series = [
        ("1107481000000106", "Serum potassium level", "mmol/L", 3.5, 5.3),
        ("999791000000106", "Haemoglobin A1c level - IFCC standardised", "mmol/mol", 20.0, 42.0),
        ("1011481000000105", "eGFR using creatinine CKD-EPI per 1.73 m2", "mL/min/1.73m2", 60.0, 120.0),
        ("1005671000000105", "Serum cholesterol level", "mmol/L", 2.0, 5.0),
        ("1022431000000105", "Haemoglobin estimation", "g/L", 115.0, 165.0),
        ("1000661000000107", "Serum sodium level", "mmol/L", 133.0, 146.0),
    ];
    let mut observations = Vec::new();
    for (series_idx, (code, display, unit, low, high)) in series.into_iter().enumerate() {
        for result_idx in 0..50 {
            // Wandering around the range, and now and then outside it.
            let position = ((result_idx * 7 + series_idx * 3) % 13) as f64 / 10.0 - 0.15;
            let value = ((low + (high - low) * position) * 10.0).round() / 10.0;
            observations.push(json!({ "resourceType": "Observation", "status": "final",
                "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "laboratory" }] }],
                "code": { "coding": [{ "system": "http://snomed.info/sct", "code": code, "display": display }] },
                "subject": subject,
                "effectiveDateTime": format!("{}T09:{:02}:00+00:00", day_after_2016(result_idx * 73 + series_idx), result_idx % 60),
                "valueQuantity": { "value": value, "unit": unit },
                "referenceRange": [{ "low": { "value": low, "unit": unit }, "high": { "value": high, "unit": unit } }] }));
        }
    }
    observations
}

/// 40 problems: long-term ones active, short illnesses resolved.
fn conditions(subject: &Value) -> Vec<Value> {
    let codes = [
        ("38341003", "Hypertensive disorder, systemic arterial"),
        ("44054006", "Diabetes mellitus type 2"),
        ("195967001", "Asthma"),
        ("40930008", "Hypothyroidism"),
        ("49436004", "Atrial fibrillation"),
        ("433144002", "Chronic kidney disease stage 3"),
        ("396275006", "Osteoarthritis"),
        ("55822004", "Hyperlipidemia"),
        ("54150009", "Upper respiratory infection"),
        ("68566005", "Urinary tract infectious disease"),
    ];
    (0..40)
        .map(|condition_idx| {
            let (code, display) = codes[condition_idx % codes.len()];
            let status = if condition_idx % codes.len() < 8 && condition_idx < 10 { "active" } else { "resolved" };
            json!({ "resourceType": "Condition",
                "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": status }] },
                "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                    "code": "problem-list-item" }] }],
                "code": { "coding": [{ "system": "http://snomed.info/sct", "code": code, "display": display }] },
                "subject": subject, "onsetDateTime": day_after_2016(condition_idx * 91),
                "recordedDate": day_after_2016(condition_idx * 91) })
        })
        .collect()
}

/// 60 medication statements: twelve medicines, each with five courses, the last of the first eight still taken.
fn medication_statements(subject: &Value) -> Vec<Value> {
    let medicines = [
        ("325278007", "Metformin 500mg tablets"),
        ("319283006", "Amlodipine 5mg tablets"),
        ("318906001", "Ramipril 5mg capsules"),
        ("320000009", "Atorvastatin 20mg tablets"),
        ("319740004", "Levothyroxine sodium 50microgram tablets"),
        ("320176004", "Salbutamol 100micrograms/dose inhaler CFC free"),
        ("317972000", "Furosemide 40mg tablets"),
        ("318590006", "Bisoprolol 2.5mg tablets"),
        ("322236009", "Paracetamol 500mg tablets"),
        ("329652003", "Ibuprofen 400mg tablets"),
        ("317335000", "Omeprazole 20mg gastro-resistant capsules"),
        ("321949006", "Sertraline 50mg tablets"),
    ];
    let mut statements = Vec::new();
    for (medicine_idx, (code, display)) in medicines.into_iter().enumerate() {
        for course_idx in 0..5 {
            let start_idx = course_idx * 600 + medicine_idx * 17;
            let taken_now = course_idx == 4 && medicine_idx < 8;
            let period = if taken_now {
                json!({ "start": day_after_2016(start_idx) })
            } else {
                json!({ "start": day_after_2016(start_idx), "end": day_after_2016(start_idx + 300) })
            };
            statements.push(json!({ "resourceType": "MedicationStatement",
                "status": if taken_now { "active" } else { "completed" },
                "medicationCodeableConcept": { "coding": [{ "system": "https://dmd.nhs.uk", "code": code,
                    "display": display }] },
                "subject": subject, "effectivePeriod": period, "dateAsserted": day_after_2016(start_idx),
                "dosage": [{ "text": "One to be taken each day" }] }));
        }
    }
    statements
}

/// 60 consultations at the practice over ten years.
fn encounters(subject: &Value, organisation: &Value) -> Vec<Value> {
    let types = [
        ("11429006", "Consultation"),
        ("185317003", "Telephone encounter"),
        ("439708006", "Home visit"),
        ("390906007", "Follow-up encounter"),
    ];
    (0..60)
        .map(|encounter_idx| {
            let (code, display) = types[encounter_idx % types.len()];
            let day = day_after_2016(encounter_idx * 61);
            json!({ "resourceType": "Encounter", "status": "finished",
                "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                    "display": "ambulatory" },
                "type": [{ "coding": [{ "system": "http://snomed.info/sct", "code": code, "display": display }] }],
                "subject": subject,
                "period": { "start": format!("{day}T10:00:00+00:00"), "end": format!("{day}T10:15:00+00:00") },
                "serviceProvider": organisation })
        })
        .collect()
}

/// 10 allergies.
fn allergies(subject: &Value) -> Vec<Value> {
    let codes = [
        ("91936005", "Allergy to penicillin"),
        ("91935009", "Allergy to peanut"),
        ("300913006", "Shellfish allergy"),
        ("300916003", "Latex allergy"),
        ("418689008", "Allergy to grass pollen"),
    ];
    (0..10)
        .map(|allergy_idx| {
            let (code, display) = codes[allergy_idx % codes.len()];
            json!({ "resourceType": "AllergyIntolerance",
                "clinicalStatus": { "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": if allergy_idx < 5 { "active" } else { "resolved" } }] },
                "verificationStatus": { "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                    "code": "confirmed" }] },
                "code": { "coding": [{ "system": "http://snomed.info/sct", "code": code, "display": display }] },
                "patient": subject, "recordedDate": day_after_2016(allergy_idx * 200) })
        })
        .collect()
}

/// 29 letters, as plain text in the Bundle.
fn documents(subject: &Value) -> Vec<Value> {
    (0..29)
        .map(|document_idx| {
            let day = day_after_2016(document_idx * 120);
            let letter = format!(
                "Dear Dr Practice,\n\nMrs Manyitems was seen in the clinic on {day}. Her blood pressure was well \
                 controlled and her medicines are unchanged. We will see her again in six months.\n\nYours sincerely,\n\
                 Clinic letter {document_idx}"
            );
            json!({ "resourceType": "DocumentReference", "status": "current",
                "type": { "coding": [{ "system": "http://snomed.info/sct", "code": "371531000",
                    "display": "Report of clinical encounter" }] },
                "subject": subject, "description": format!("Clinic letter {document_idx}"),
                "date": format!("{day}T12:00:00Z"),
                "content": [{ "attachment": { "contentType": "text/plain", "data": base64(letter.as_bytes()) } }] })
        })
        .collect()
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let triple = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for sextet_idx in 0..4 {
            if sextet_idx <= chunk.len() {
                encoded.push(char::from(ALPHABET[(triple >> (18 - 6 * sextet_idx)) as usize & 63]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

/// How every workload is measured.
struct Measurement {
    router: Router,
    cookie: Arc<String>,
    n_queries: usize,
    n_warm_up: usize,
    n_clients: usize,
    on_postgres: bool,
}

/// The requests of one measurement, and how each answer is checked.
struct Workload {
    name: String,
    target_p95_ms: f64,
    /// Request `query_idx` (indexes past `n_queries` are the warm-up's).
    request: Box<dyn Fn(usize) -> Request<Body> + Send + Sync>,
    /// Whether an answer is right (200 and what the page must hold), and whether it counts as a hit (a search that
    /// found someone); an answer that is not right stops the benchmark.
    check: fn(&Page) -> Result<bool, String>,
    /// A search: the share of searches that found someone is printed.
    is_search: bool,
}

async fn measure_pages(measurement: &Measurement, saved: &SavedLoad) -> anyhow::Result<()> {
    let cookie = measurement.cookie.clone();
    let path = format!("/viewer/person/{}", saved.many_items_patient_id);
    measure(
        measurement,
        Workload {
            name: "summary page, the person with 500 items".into(),
            target_p95_ms: SUMMARY_TARGET_MS,
            request: Box::new(move |_| get(&path, &cookie)),
            check: |page| {
                let right = page.status == StatusCode::OK
                    && page.body.contains(SAFEGUARDING_SECTION)
                    && page.body.contains(CHILD_PROTECTION_PLAN);
                if right { Ok(true) } else { Err(format!("{}: {}", page.status, excerpt(&page.body))) }
            },
            is_search: false,
        },
    )
    .await?;
    if saved.registered_patient_ids.is_empty() {
        println!("    summary page, a person registered at the practice: skipped, no one loaded is registered there");
        return Ok(());
    }
    let cookie = measurement.cookie.clone();
    let registered = Arc::new(saved.registered_patient_ids.clone());
    measure(
        measurement,
        Workload {
            name: format!("summary page, one of the {} people registered at the practice", registered.len()),
            target_p95_ms: SUMMARY_TARGET_MS,
            request: Box::new(move |query_idx| {
                let patient_id = &registered[pick(1, query_idx, registered.len())];
                get(&format!("/viewer/person/{patient_id}"), &cookie)
            }),
            check: |page| {
                let right = page.status == StatusCode::OK && page.body.contains(SAFEGUARDING_SECTION);
                if right { Ok(true) } else { Err(format!("{}: {}", page.status, excerpt(&page.body))) }
            },
            is_search: false,
        },
    )
    .await
}

/// A loaded person to search for: their NHS number, family name and date of birth as the national register holds
/// them.
struct Searched {
    nhs_number: String,
    family: String,
    birth_date: (u8, u8, i32),
}

async fn measure_searches(measurement: &Measurement, csrf_token: &str, n_people: usize) -> anyhow::Result<()> {
    if n_people == 0 {
        println!("    searches: skipped, no synthetic people loaded");
        return Ok(());
    }
    let config = SynthConfig { seed: SEED, n_people };
    let n_searched = measurement.n_queries + measurement.n_warm_up;
    let searched: Vec<Searched> = (0..n_searched)
        .map(|query_idx| {
            let truth = kmcr_synth::person_truth(&config, pick(2, query_idx, n_people));
            let birth = &truth.demographics.birth_date;
            Searched {
                nhs_number: truth.nhs_number.map(|number| number.as_digits()).unwrap_or_default(),
                family: truth.demographics.family_name.clone(),
                birth_date: (birth.day, birth.month, birth.year),
            }
        })
        .collect();
    let searched = Arc::new(searched);
    let found = |page: &Page| {
        if page.status != StatusCode::OK {
            return Err(format!("{}: {}", page.status, excerpt(&page.body)));
        }
        Ok(page.body.contains("href=\"/viewer/person/"))
    };
    let (cookie, token, people) = (measurement.cookie.clone(), csrf_token.to_string(), searched.clone());
    measure(
        measurement,
        Workload {
            name: "search by NHS number".into(),
            target_p95_ms: SEARCH_TARGET_MS,
            request: Box::new(move |query_idx| {
                let person = &people[query_idx];
                post_form(
                    "/viewer/search",
                    &cookie,
                    &[("csrf", &token), ("by", "nhs-number"), ("nhs_number", &person.nhs_number)],
                )
            }),
            check: found,
            is_search: true,
        },
    )
    .await?;
    let (cookie, token, people) = (measurement.cookie.clone(), csrf_token.to_string(), searched);
    measure(
        measurement,
        Workload {
            name: "search by family name and date of birth".into(),
            target_p95_ms: SEARCH_TARGET_MS,
            request: Box::new(move |query_idx| {
                let person = &people[query_idx];
                let (day, month, year) = person.birth_date;
                let (day, month, year) = (day.to_string(), month.to_string(), year.to_string());
                post_form(
                    "/viewer/search",
                    &cookie,
                    &[
                        ("csrf", &token),
                        ("by", "demographics"),
                        ("family", &person.family),
                        ("birth_day", &day),
                        ("birth_month", &month),
                        ("birth_year", &year),
                    ],
                )
            }),
            check: found,
            is_search: true,
        },
    )
    .await
}

/// A page's first few hundred characters, for an error message.
fn excerpt(body: &str) -> String {
    let start = body.find("<main").unwrap_or(0);
    body[start..].chars().take(400).collect()
}

/// A number in `0..n` for query `query_idx` of stream `stream`, spread evenly (splitmix64), the same on every run.
fn pick(stream: u64, query_idx: usize, n: usize) -> usize {
    let mut z = ((stream << 32) ^ query_idx as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) % n as u64) as usize
}

/// Warms up with a few requests, then sends `n_queries` from `n_clients` concurrent clients, timing each from the
/// request's dispatch to its body's last byte; prints p50, p95, p99, the rate and the CPU time a request.
async fn measure(measurement: &Measurement, workload: Workload) -> anyhow::Result<()> {
    let workload = Arc::new(workload);
    for warm_up_idx in 0..measurement.n_warm_up {
        let page = send(&measurement.router, (workload.request)(measurement.n_queries + warm_up_idx), None).await?;
        (workload.check)(&page).map_err(|error| anyhow::anyhow!("{}: {error}", workload.name))?;
    }
    let next_query = Arc::new(AtomicUsize::new(0));
    let cpu_before = CpuSeconds::now(measurement.on_postgres);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..measurement.n_clients {
        let (router, workload, next_query) = (measurement.router.clone(), workload.clone(), next_query.clone());
        let n_queries = measurement.n_queries;
        tasks.push(tokio::spawn(async move {
            let mut timed = Timed::default();
            loop {
                let query_idx = next_query.fetch_add(1, Ordering::SeqCst);
                if query_idx >= n_queries {
                    return anyhow::Ok(timed);
                }
                let request = (workload.request)(query_idx);
                let sent = Instant::now();
                let page = send(&router, request, None).await?;
                timed.latencies_us.push(sent.elapsed().as_micros() as u64);
                timed.n_bytes += page.body.len();
                let hit = (workload.check)(&page).map_err(|error| anyhow::anyhow!("{}: {error}", workload.name))?;
                timed.n_hits += usize::from(hit);
            }
        }));
    }
    let mut timed = Timed::default();
    for task in tasks {
        let part = task.await??;
        timed.latencies_us.extend(part.latencies_us);
        timed.n_bytes += part.n_bytes;
        timed.n_hits += part.n_hits;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_after = CpuSeconds::now(measurement.on_postgres);
    timed.latencies_us.sort_unstable();
    let n_requests = timed.latencies_us.len().max(1);
    let p95_ms = percentile_ms(&timed.latencies_us, 95.0);
    let found = if workload.is_search {
        format!(", someone found by {:.0}%", timed.n_hits as f64 * 100.0 / n_requests as f64)
    } else {
        String::new()
    };
    println!(
        "    {}: p50 {:.1} ms, p95 {p95_ms:.1} ms, p99 {:.1} ms, {:.1} requests/s; {:.0} KB a page{found}; {}; \
         target p95 < {:.0} ms: {}",
        workload.name,
        percentile_ms(&timed.latencies_us, 50.0),
        percentile_ms(&timed.latencies_us, 99.0),
        n_requests as f64 / seconds,
        timed.n_bytes as f64 / n_requests as f64 / 1024.0,
        cpu_per_request(&cpu_before, &cpu_after, n_requests),
        workload.target_p95_ms,
        if p95_ms < workload.target_p95_ms { "met" } else { "MISSED" }
    );
    Ok(())
}

#[derive(Default)]
struct Timed {
    latencies_us: Vec<u64>,
    n_bytes: usize,
    n_hits: usize,
}

/// The CPU time spent a request between two readings, as text for a report line.
fn cpu_per_request(before: &CpuSeconds, after: &CpuSeconds, n_requests: usize) -> String {
    let per_request_ms = |now: Option<f64>, then: Option<f64>| Some((now? - then?) * 1_000.0 / n_requests as f64);
    let mut parts = Vec::new();
    if let Some(ms) = per_request_ms(after.this_process, before.this_process) {
        parts.push(format!("this process {ms:.1} ms"));
    }
    if let Some(ms) = per_request_ms(after.postgres, before.postgres) {
        parts.push(format!("PostgreSQL {ms:.1} ms"));
    }
    if parts.is_empty() {
        return "CPU time not available".into();
    }
    format!("CPU a request: {}", parts.join(", "))
}
