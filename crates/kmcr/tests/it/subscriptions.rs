//! FHIR Subscriptions end to end (issue 21), on each backend: a third-party subscriber (sekmet-fhir's own hook
//! receiver, crates/kmcr/tests/subscriber) receives the handshake and the notifications of a Backport IG topic filtered
//! to one patient, and a classic rest-hook subscription goes `active` and receives its Encounter; and no notification
//! is lost, renumbered or reordered when the server is killed (SIGKILL) while events flow.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::mllp::test_databases;
use crate::{Server, bearer, hash_secret, http, json_of, start_serving_on};

const ENCOUNTER_STARTED: &str = "https://fhir.kmcr.uk/SubscriptionTopic/encounter-started";
const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";
const SOURCE_ID: &str = "demo-source-rwf";
const SOURCE_SECRET: &str = "demo-source-secret-change-me";
const OTHER_ID: &str = "other-organisation";
const OTHER_SECRET: &str = "other-organisation-secret";

// ------------------------------------------------------------------------------------------ shared helpers ------

/// Polls `probe` until it returns `Some`, at most `limit`; panics with `what` (and the last state `describe` gives).
fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>, describe: impl Fn() -> String) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}; state: {}", describe());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn json_headers(bearer: &str) -> [(&str, &str); 2] {
    [("Authorization", bearer), ("Content-Type", "application/fhir+json")]
}

fn get_json(address: &str, bearer: &str, path: &str) -> (u16, Value) {
    let (status, body) = http(address, "GET", path, &[("Authorization", bearer)], "");
    (status, if body.trim().is_empty() { Value::Null } else { json_of(&body) })
}

fn post_json(address: &str, bearer: &str, path: &str, body: &Value) -> (u16, Value) {
    let (status, body) = http(address, "POST", path, &json_headers(bearer), &body.to_string());
    (status, if body.trim().is_empty() { Value::Null } else { json_of(&body) })
}

/// The parameter `name` of a subscription status `Parameters`.
fn parameter<'a>(parameters: &'a Value, name: &str) -> Option<&'a Value> {
    parameters["parameter"].as_array()?.iter().find(|p| p["name"] == name)
}

/// (event number, focus as `Type/id`) of each `notification-event` of a status `Parameters`.
fn notification_events(parameters: &Value) -> Vec<(u64, Option<String>)> {
    let Some(all) = parameters["parameter"].as_array() else { return Vec::new() };
    all.iter()
        .filter(|p| p["name"] == "notification-event")
        .map(|event| {
            let parts = event["part"].as_array().cloned().unwrap_or_default();
            let number = parts
                .iter()
                .find(|part| part["name"] == "event-number")
                .and_then(|part| part["valueString"].as_str())
                .and_then(|number| number.parse().ok())
                .expect("an event-number as a valueString of digits");
            let focus = parts
                .iter()
                .find(|part| part["name"] == "focus")
                .and_then(|part| part["valueReference"]["reference"].as_str())
                .map(type_and_id);
            (number, focus)
        })
        .collect()
}

/// `Type/id` of a reference, relative or absolute.
fn type_and_id(reference: &str) -> String {
    let mut segments = reference.trim_end_matches('/').rsplit('/');
    let id = segments.next().unwrap_or_default();
    let kind = segments.next().unwrap_or_default();
    format!("{kind}/{id}")
}

/// The first status `Parameters` of `Subscription/{id}/$status`, as `client` sees it.
fn subscription_status(address: &str, bearer: &str, id: &str) -> Value {
    let (status, bundle) = get_json(address, bearer, &format!("/fhir/Subscription/{id}/$status"));
    assert_eq!(status, 200, "$status of {id}: {bundle}");
    bundle["entry"][0]["resource"].clone()
}

fn events_since_start(parameters: &Value) -> u64 {
    parameter(parameters, "events-since-subscription-start")
        .and_then(|p| p["valueString"].as_str())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("events-since-subscription-start as a string of digits: {parameters}"))
}

/// `GET /fhir/Subscription/{id}`'s status.
fn status_of(address: &str, bearer: &str, id: &str) -> String {
    let (status, subscription) = get_json(address, bearer, &format!("/fhir/Subscription/{id}"));
    assert_eq!(status, 200, "Subscription/{id}: {subscription}");
    subscription["status"].as_str().unwrap_or_default().to_string()
}

/// Creates a Subscription as `bearer`; its id. The answer is the Subscription, `requested`.
fn create_subscription(address: &str, bearer: &str, subscription: &Value) -> String {
    let (status, created) = post_json(address, bearer, "/fhir/Subscription", subscription);
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["resourceType"], "Subscription", "{created}");
    assert_eq!(created["status"], "requested", "a new subscription waits for its handshake: {created}");
    created["id"].as_str().expect("the created Subscription's id").to_string()
}

/// POSTs an in-progress Encounter of `patient`; its id once answered 201, `None` if the connection failed or was cut
/// first (then it may or may not have been kept).
fn create_encounter(address: &str, bearer: &str, patient: &str) -> Option<String> {
    let body = json!({
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": format!("Patient/{patient}")},
    });
    super::create_resource(address, bearer, "Encounter", &body.to_string())
}

/// `n` Patients that the source client may read: those it sent already (the demo's), then new ones it creates.
fn source_patients(address: &str, bearer: &str, n: usize) -> Vec<String> {
    let (status, found) = get_json(address, bearer, &format!("/fhir/Patient?_count={n}"));
    assert_eq!(status, 200, "{found}");
    let mut ids: Vec<String> = found["entry"]
        .as_array()
        .map(|entries| entries.iter().filter_map(|e| e["resource"]["id"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    ids.truncate(n);
    while ids.len() < n {
        let k = ids.len();
        let patient = json!({
            "resourceType": "Patient",
            "identifier": [{"system": "https://fhir.kmcr.nhs.uk/Id/RWF/mrn", "value": format!("SUBS{k:05}")}],
            "name": [{"family": format!("Subscriber{k}"), "given": ["Sam"]}],
            "gender": "female",
            "birthDate": "1980-01-01",
        });
        let (status, created) = post_json(address, bearer, "/fhir/Patient", &patient);
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    ids
}

/// The configuration of a server with the source trust RWF (client `demo-source-rwf`), a GP practice of another
/// organisation (client `other-organisation`), and quick retries; on the demo (`other_ods` one of its organisations)
/// only the other client and the retries, since the demo brings its organisations and its RWF clients.
fn write_config(directory: &Path, other_ods: &str, demo: bool) -> PathBuf {
    std::fs::create_dir_all(directory).unwrap();
    let client = |id: &str, secret: &str, ods: &str| {
        format!(
            "[[clients]]\nid = \"{id}\"\nsecret_hash = \"{}\"\nods_code = \"{ods}\"\nscopes = [\"system/*.*\"]\n\n",
            hash_secret(secret)
        )
    };
    let mut config = "[notification_retry]\nfirst_delay_ms = 100\nmax_delay_ms = 1000\n\n".to_string();
    config.push_str(&client(OTHER_ID, OTHER_SECRET, other_ods));
    if !demo {
        config.push_str(&client(SOURCE_ID, SOURCE_SECRET, "RWF"));
        config.push_str(&format!(
            "[[organisations]]\nods_code = \"RWF\"\nname = \"Test trust\"\nkind = \"acute\"\nnotification_endpoints = \
             [\"http://127.0.0.1:\"]\n\n[[organisations]]\n\
             ods_code = \"{other_ods}\"\nname = \"Test practice\"\nkind = \"gp-practice\"\n"
        ));
    }
    let path = directory.join("kmcr.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// A GP practice of the demo's synthetic region.
fn demo_gp_practice() -> &'static str {
    kmcr_synth::organisations()
        .iter()
        .find(|organisation| matches!(organisation.kind, kmcr_synth::OrganisationKind::GpPractice))
        .expect("the synthetic region has GP practices")
        .ods_code
}

/// The scratch PostgreSQL database of a test, or `None` (the test then passes without running) when
/// `KMCR_TEST_DATABASE_URL` is not set outside CI. Set but unreachable: the test fails.
fn postgres(prefix: &str) -> Option<kmcr_store::ScratchDatabase> {
    let database = test_databases(prefix).pop().flatten();
    if database.is_none() {
        eprintln!("KMCR_TEST_DATABASE_URL is not set: the PostgreSQL half of this test does not run");
    }
    database
}

// ------------------------------------------------------------------------------ the third-party subscriber ------

/// sekmet-fhir's receiver (crates/kmcr/tests/subscriber/subscriber.py), recording every request to a JSON-lines file.
struct Subscriber {
    child: Child,
    python: PathBuf,
    record: PathBuf,
    base: String,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        // SIGTERM lets it remove sekmet's temporary store; SIGKILL if it lingers.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_file(&self.record);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.record);
    }
}

fn subscriber_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/subscriber")
}

/// The subscriber's python: `KMCR_SUBSCRIBER_PYTHON`, else what `scripts/subscriber-venv` prints (it makes the venv).
fn subscriber_python() -> PathBuf {
    if let Ok(python) = std::env::var("KMCR_SUBSCRIBER_PYTHON")
        && !python.trim().is_empty()
    {
        return PathBuf::from(python.trim());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/subscriber-venv");
    let output = Command::new(&script).stderr(Stdio::inherit()).output().expect("scripts/subscriber-venv runs");
    assert!(output.status.success(), "scripts/subscriber-venv failed");
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

impl Subscriber {
    fn start(record: PathBuf) -> Subscriber {
        let python = subscriber_python();
        let _ = std::fs::remove_file(&record);
        let mut child = Command::new(&python)
            .arg(subscriber_dir().join("subscriber.py"))
            .args(["--port", "0", "--record"])
            .arg(&record)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the subscriber starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("the subscriber prints where it listens").unwrap();
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Subscriber { child, python, record, base }
    }

    /// What sekmet itself builds (`--print-subscription` or `--print-classic`).
    fn build(&self, args: &[&str]) -> Value {
        let output = Command::new(&self.python)
            .arg(subscriber_dir().join("subscriber.py"))
            .args(args)
            .stderr(Stdio::inherit())
            .output()
            .expect("the subscriber prints a Subscription");
        assert!(output.status.success(), "subscriber.py {args:?} failed");
        serde_json::from_slice(&output.stdout).expect("a JSON Subscription")
    }

    /// Every request recorded so far.
    fn recorded(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }
}

/// The status `Parameters` of a recorded backport notification, if the request was one.
fn recorded_status(request: &Value) -> Option<&Value> {
    let status = &request["body"]["entry"][0]["resource"];
    (status["resourceType"] == "Parameters").then_some(status)
}

fn recorded_type(request: &Value) -> Option<&str> {
    recorded_status(request).and_then(|status| parameter(status, "type")).and_then(|p| p["valueCode"].as_str())
}

// ------------------------------------------------------------------- 1: a third-party backport and classic ------

#[test]
fn external_backport_subscriber_and_classic_rest_hook_on_sqlite() {
    let directory = std::env::temp_dir().join(format!("kmcr-e2e-subs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let config = write_config(&directory, demo_gp_practice(), true);
    let store = directory.join("store").display().to_string();
    let args = ["--demo", "--demo-people", "10", "--config", config.to_str().unwrap()];
    let server = start_serving_on(&args, &store, directory.clone());
    external_backport_and_classic("sqlite", &server, &directory);
}

#[test]
fn external_backport_subscriber_and_classic_rest_hook_on_postgresql() {
    let Some(database) = postgres("kmcr_subs_external_") else { return };
    let directory = std::env::temp_dir().join(format!("kmcr-e2e-subs-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let config = write_config(&directory, "G82001", false);
    let server = start_serving_on(&["--config", config.to_str().unwrap()], &database.url, directory.clone());
    external_backport_and_classic("postgresql", &server, &directory);
}

fn external_backport_and_classic(backend: &str, server: &Server, directory: &Path) {
    let subscriber = Subscriber::start(directory.with_extension("requests.jsonl"));
    let address = &server.address;
    let source = bearer(address, SOURCE_ID, SOURCE_SECRET);
    let patients = source_patients(address, &source, 2);
    let (patient, other_patient) = (&patients[0], &patients[1]);

    let backport_endpoint = format!("{}/hooks/kmcr/backport-{backend}", subscriber.base);
    let classic_endpoint = format!("{}/hooks/kmcr/classic-{backend}", subscriber.base);
    let filter = format!("Encounter?patient=Patient/{patient}");
    let backport = subscriber.build(&[
        "--print-subscription",
        "--topic",
        ENCOUNTER_STARTED,
        "--endpoint",
        &backport_endpoint,
        "--filter",
        &filter,
        "--payload",
        "full-resource",
        "--heartbeat",
        "0",
    ]);
    let classic = subscriber.build(&[
        "--print-classic",
        "--criteria",
        &filter,
        "--endpoint",
        &classic_endpoint,
        "--payload",
        "application/fhir+json",
    ]);
    let backport_id = create_subscription(address, &source, &backport);
    let classic_id = create_subscription(address, &source, &classic);
    let backport_path = format!("/hooks/kmcr/backport-{backend}");
    let classic_path = format!("/hooks/kmcr/classic-{backend}");
    // The requests at an endpoint, or under it (a classic PUT goes to {endpoint}/Type/id).
    let on = |path: &str| -> Vec<Value> {
        let under = format!("{path}/");
        subscriber
            .recorded()
            .into_iter()
            .filter(|request| request["path"].as_str().is_some_and(|p| p == path || p.starts_with(&under)))
            .collect()
    };
    let describe = || format!("{:#?}", subscriber.recorded());

    // The handshakes, then both active.
    wait_for(
        &format!("{backend}: the handshake and the classic's empty POST"),
        Duration::from_secs(60),
        || {
            let handshake = on(&backport_path).iter().any(|r| recorded_type(r) == Some("handshake"));
            let empty_post = on(&classic_path).iter().any(|r| r["method"] == "POST" && r["body"].is_null());
            (handshake && empty_post).then_some(())
        },
        describe,
    );
    wait_for(
        &format!("{backend}: both subscriptions active"),
        Duration::from_secs(60),
        || {
            (status_of(address, &source, &backport_id) == "active"
                && status_of(address, &source, &classic_id) == "active")
                .then_some(())
        },
        || format!("{} / {}", status_of(address, &source, &backport_id), status_of(address, &source, &classic_id)),
    );
    let handshake = on(&backport_path).into_iter().find(|r| recorded_type(r) == Some("handshake")).unwrap();
    let handshake_status = recorded_status(&handshake).unwrap();
    assert_eq!(parameter(handshake_status, "status").unwrap()["valueCode"], "requested", "{handshake:#}");
    assert!(
        parameter(handshake_status, "subscription").unwrap()["valueReference"]["reference"]
            .as_str()
            .unwrap()
            .ends_with(&format!("Subscription/{backport_id}")),
        "{handshake:#}"
    );

    // The other patient's Encounter first: once the first patient's has been delivered, the other's has been decided.
    let other_encounter = create_encounter(address, &source, other_patient).expect("the other Encounter is created");
    let encounter = create_encounter(address, &source, patient).expect("the Encounter is created");
    let notified = |request: &Value| recorded_type(request) == Some("event-notification");
    wait_for(
        &format!("{backend}: the event notification and the classic PUT"),
        Duration::from_secs(60),
        || {
            let event = on(&backport_path).iter().any(notified);
            let put = on(&classic_path).iter().any(|r| r["method"] == "PUT");
            (event && put).then_some(())
        },
        describe,
    );
    let status = wait_for(
        &format!("{backend}: $status counting the event"),
        Duration::from_secs(30),
        || {
            let status = subscription_status(address, &source, &backport_id);
            (events_since_start(&status) >= 1).then_some(status)
        },
        || format!("{:#}", subscription_status(address, &source, &backport_id)),
    );
    // Anything more (the other patient's Encounter wrongly sent) would have been sent by now; a moment more for it.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(events_since_start(&status), 1, "{backend}: one event: {status:#}");
    assert_eq!(parameter(&status, "status").unwrap()["valueCode"], "active", "{status:#}");
    assert_eq!(
        events_since_start(&subscription_status(address, &source, &backport_id)),
        1,
        "{backend}: still one event"
    );

    let all = subscriber.recorded();
    for request in &all {
        assert_eq!(request["checks"], json!([]), "{backend}: the Inferno rules fail on {request:#}");
        assert!(request["status"] == 200, "{backend}: the subscriber answered {request:#}");
        let text = request.to_string();
        assert!(!text.contains(&other_encounter), "{backend}: the other patient's Encounter was sent: {request:#}");
        assert!(!text.contains(other_patient.as_str()), "{backend}: the other patient was named: {request:#}");
    }
    // The backport subscriber: the handshake and exactly one event notification, of the Encounter, event number 1.
    let backport_requests = on(&backport_path);
    let events: Vec<&Value> = backport_requests.iter().filter(|r| notified(r)).collect();
    assert_eq!(events.len(), 1, "{backend}: exactly one event notification: {backport_requests:#?}");
    let notification = events[0];
    assert!(
        backport_requests.iter().all(|r| matches!(recorded_type(r), Some("handshake" | "event-notification"))),
        "{backend}: {backport_requests:#?}"
    );
    let sekmet = &notification["sekmet"];
    assert!(sekmet.is_object() && sekmet.get("error").is_none(), "{backend}: sekmet did not parse it: {sekmet:#}");
    assert_eq!(notification["payload"], "full-resource", "{notification:#}");
    let notification_status = recorded_status(notification).unwrap();
    assert_eq!(
        notification_events(notification_status),
        vec![(1, Some(format!("Encounter/{encounter}")))],
        "{backend}: {notification:#}"
    );
    assert_eq!(parameter(notification_status, "topic").unwrap()["valueCanonical"], ENCOUNTER_STARTED);
    let focus = notification_status["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "notification-event")
        .and_then(|event| event["part"].as_array()?.iter().find(|part| part["name"] == "focus").cloned())
        .unwrap();
    let focus = focus["valueReference"]["reference"].as_str().unwrap();
    let entry = notification["body"]["entry"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .find(|entry| {
            entry["fullUrl"].as_str() == Some(focus)
                || type_and_id(entry["fullUrl"].as_str().unwrap_or("")) == type_and_id(focus)
        })
        .unwrap_or_else(|| panic!("{backend}: the focus {focus} resolves to no entry: {notification:#}"));
    assert_eq!(entry["resource"]["resourceType"], "Encounter", "{entry:#}");
    assert_eq!(entry["resource"]["id"], encounter.as_str(), "{entry:#}");
    assert_eq!(entry["resource"]["subject"]["reference"], format!("Patient/{patient}"), "{entry:#}");

    // The classic subscriber: the empty POST, then a PUT of the Encounter at {endpoint}/Encounter/{id}; nothing else.
    let classic_requests = on(&classic_path);
    let puts: Vec<&Value> = classic_requests.iter().filter(|r| r["method"] == "PUT").collect();
    assert_eq!(puts.len(), 1, "{backend}: one PUT: {classic_requests:#?}");
    assert_eq!(puts[0]["path"], format!("{classic_path}/Encounter/{encounter}"), "{:#}", puts[0]);
    assert_eq!(puts[0]["body"]["resourceType"], "Encounter");
    assert_eq!(puts[0]["body"]["id"], encounter.as_str());
    assert_eq!(
        puts[0]["headers"]["authorization"], "Bearer kmcr-subscriber-hook-token",
        "{backend}: the channel's header is sent: {:#}",
        puts[0]
    );
    assert!(
        classic_requests.iter().all(|r| r["method"] == "PUT" || (r["method"] == "POST" && r["body"].is_null())),
        "{backend}: {classic_requests:#?}"
    );
    // Nothing reached any other path.
    assert_eq!(all.len(), backport_requests.len() + classic_requests.len(), "{backend}: {all:#?}");

    // $events: event 1, the Encounter.
    let (code, history) = get_json(
        address,
        &source,
        &format!("/fhir/Subscription/{backport_id}/$events?eventsSinceNumber=1&eventsUntilNumber=1"),
    );
    assert_eq!(code, 200, "{history}");
    assert_eq!(history["type"], "history", "{history:#}");
    let history_status = &history["entry"][0]["resource"];
    assert_eq!(parameter(history_status, "type").unwrap()["valueCode"], "query-event", "{history:#}");
    assert_eq!(
        notification_events(history_status),
        vec![(1, Some(format!("Encounter/{encounter}")))],
        "{backend}: {history:#}"
    );

    // The caller's subscriptions are its own: another organisation's system neither reads nor lists nor queries them.
    let other = bearer(address, OTHER_ID, OTHER_SECRET);
    for id in [&backport_id, &classic_id] {
        for path in [
            format!("/fhir/Subscription/{id}"),
            format!("/fhir/Subscription/{id}/$status"),
            format!("/fhir/Subscription/{id}/$events?eventsSinceNumber=1"),
        ] {
            let (code, body) = get_json(address, &other, &path);
            assert_eq!(code, 404, "{backend}: another organisation's {path}: {body}");
        }
    }
    let (code, listed) = get_json(address, &other, "/fhir/Subscription");
    assert_eq!(code, 200, "{listed}");
    assert_eq!(listed["total"], 0, "{backend}: another organisation lists none: {listed:#}");
    let (code, listed) = get_json(address, &source, "/fhir/Subscription");
    assert_eq!(code, 200, "{listed}");
    assert_eq!(listed["total"], 2, "{backend}: the source's own two: {listed:#}");
}

// ---------------------------------------------------------------------------------------- 2: SIGKILL ------

/// One notification as the test's receiver got it.
#[derive(Clone, Debug)]
struct Arrival {
    path: String,
    subscription: String,
    kind: String,
    events: Vec<(u64, Option<String>)>,
}

/// A minimal HTTP/1.1 receiver (keep-alive, Content-Length or chunked bodies): every request answered 200 and
/// recorded in arrival order. Its base URL and the arrivals.
fn start_receiver() -> (String, Arc<Mutex<Vec<Arrival>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let shared = arrivals.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let arrivals = shared.clone();
            std::thread::spawn(move || serve_connection(stream, &arrivals));
        }
    });
    (base, arrivals)
}

fn serve_connection(stream: TcpStream, arrivals: &Mutex<Vec<Arrival>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_string();
        let (mut length, mut chunked, mut close) = (0usize, false, false);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else { continue };
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_ascii_lowercase());
            match name.as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "transfer-encoding" => chunked = value.contains("chunked"),
                "connection" => close = value == "close",
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                if reader.read_line(&mut size).unwrap_or(0) == 0 {
                    return;
                }
                let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                if reader.read_exact(&mut chunk).is_err() {
                    return;
                }
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(length, 0);
            if reader.read_exact(&mut body).is_err() {
                return;
            }
        }
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let status = &json["entry"][0]["resource"];
        let arrival = Arrival {
            path,
            subscription: parameter(status, "subscription")
                .and_then(|p| p["valueReference"]["reference"].as_str())
                .map(|reference| reference.rsplit('/').next().unwrap_or_default().to_string())
                .unwrap_or_default(),
            kind: parameter(status, "type").and_then(|p| p["valueCode"].as_str()).unwrap_or_default().to_string(),
            events: notification_events(status),
        };
        // Recorded before the answer: an answered notification is always in the record. A slow answer, as a real
        // endpoint gives, keeps a backlog of undelivered events when the server is killed.
        arrivals.lock().unwrap().push(arrival);
        std::thread::sleep(Duration::from_millis(RECEIVER_DELAY_MS));
        if writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").is_err() || close {
            return;
        }
    }
}

/// How long the test's receiver takes to answer each notification.
const RECEIVER_DELAY_MS: u64 = 20;

/// An id-only backport subscription to encounter-started at `endpoint`, filtered to `patient` if one is given.
fn id_only_subscription(endpoint: &str, patient: Option<&str>) -> Value {
    let mut subscription = json!({
        "resourceType": "Subscription",
        "meta": {"profile": [format!("{BACKPORT}backport-subscription")]},
        "status": "requested",
        "reason": "the SIGKILL test",
        "criteria": ENCOUNTER_STARTED,
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": format!("{BACKPORT}backport-payload-content"), "valueCode": "id-only"}]},
        },
    });
    if let Some(patient) = patient {
        subscription["_criteria"] = json!({"extension": [{
            "url": format!("{BACKPORT}backport-filter-criteria"),
            "valueString": format!("Encounter?patient=Patient/{patient}"),
        }]});
    }
    subscription
}

#[test]
fn notifications_survive_sigkill_on_sqlite() {
    let directory = std::env::temp_dir().join(format!("kmcr-e2e-subs-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let store = directory.join("store").display().to_string();
    notifications_survive_sigkill("sqlite", &directory, &store);
}

#[test]
fn notifications_survive_sigkill_on_postgresql() {
    let Some(database) = postgres("kmcr_subs_kill_") else { return };
    let directory = std::env::temp_dir().join(format!("kmcr-e2e-subs-kill-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    notifications_survive_sigkill("postgresql", &directory, &database.url);
}

/// Filtered subscriptions, one per patient of `FILTERED`; a last one unfiltered.
const FILTERED: usize = 4;
const WRITES_BEFORE_KILL: usize = 100;
const WRITES_AFTER_RESTART: usize = 100;

fn notifications_survive_sigkill(backend: &str, directory: &Path, database: &str) {
    let config = write_config(directory, "G82001", false);
    let args = ["--config", config.to_str().unwrap()];
    let (receiver, arrivals) = start_receiver();
    let mut server = start_serving_on(&args, database, directory.join("nothing-to-remove"));
    let address = server.address.clone();
    let source = bearer(&address, SOURCE_ID, SOURCE_SECRET);
    // One more patient than filtered subscriptions: its Encounters reach the unfiltered subscription only.
    let patients = source_patients(&address, &source, FILTERED + 1);
    let mut subscriptions = Vec::new();
    for (n, patient) in patients.iter().enumerate() {
        // The last patient's subscription is the unfiltered one.
        let patient = (n < FILTERED).then_some(patient.as_str());
        let subscription = id_only_subscription(&format!("{receiver}/hook/{n}"), patient);
        subscriptions.push(create_subscription(&address, &source, &subscription));
    }
    wait_for(
        &format!("{backend}: every subscription active"),
        Duration::from_secs(60),
        || subscriptions.iter().all(|id| status_of(&address, &source, id) == "active").then_some(()),
        || format!("{:?}", subscriptions.iter().map(|id| status_of(&address, &source, id)).collect::<Vec<_>>()),
    );

    // Encounters written continuously, round the patients, while the server is killed.
    let acknowledged: Mutex<Vec<(String, usize)>> = Mutex::new(Vec::new());
    let attempted = std::sync::atomic::AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for n in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let patient = n % patients.len();
                attempted.fetch_add(1, Ordering::SeqCst);
                if let Some(id) = create_encounter(&address, &source, &patients[patient]) {
                    acknowledged.lock().unwrap().push((id, patient));
                } else {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        });
        wait_for(
            &format!("{backend}: {WRITES_BEFORE_KILL} Encounters written"),
            Duration::from_secs(120),
            || (acknowledged.lock().unwrap().len() >= WRITES_BEFORE_KILL).then_some(()),
            || format!("{} written", acknowledged.lock().unwrap().len()),
        );
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        stop.store(true, Ordering::SeqCst);
    });
    drop(server);
    let before_restart = acknowledged.lock().unwrap().len();
    let delivered_before_restart = arrivals.lock().unwrap().len();
    // Events of acknowledged Encounters not yet delivered when the server died: what the restart must send.
    let backlog_at_kill = {
        let delivered: BTreeSet<(String, String)> = arrivals
            .lock()
            .unwrap()
            .iter()
            .flat_map(|arrival| {
                arrival.events.iter().filter_map(|(_, focus)| Some((arrival.subscription.clone(), focus.clone()?)))
            })
            .collect();
        let acknowledged = acknowledged.lock().unwrap();
        let mut backlog = 0;
        for (id, patient) in acknowledged.iter() {
            for (n, subscription) in subscriptions.iter().enumerate() {
                if (n == FILTERED || n == *patient)
                    && !delivered.contains(&(subscription.clone(), format!("Encounter/{id}")))
                {
                    backlog += 1;
                }
            }
        }
        backlog
    };

    let server = start_serving_on(&args, database, directory.to_path_buf());
    let address = server.address.clone();
    let source = bearer(&address, SOURCE_ID, SOURCE_SECRET);
    for n in 0..WRITES_AFTER_RESTART {
        let patient = n % patients.len();
        let id = create_encounter(&address, &source, &patients[patient]).expect("a write after the restart");
        acknowledged.lock().unwrap().push((id, patient));
    }
    let acknowledged = acknowledged.into_inner().unwrap();
    // What each subscription must have had: its patient's acknowledged Encounters (the last: all of them).
    let expected: Vec<BTreeSet<String>> = (0..=FILTERED)
        .map(|n| {
            acknowledged
                .iter()
                .filter(|(_, patient)| n == FILTERED || *patient == n)
                .map(|(id, _)| format!("Encounter/{id}"))
                .collect()
        })
        .collect();
    // Per subscription: event number -> foci seen with it, in arrival order.
    let by_subscription = |arrivals: &[Arrival]| -> Vec<Vec<(u64, Option<String>)>> {
        subscriptions
            .iter()
            .map(|id| {
                arrivals
                    .iter()
                    .filter(|arrival| &arrival.subscription == id && arrival.kind == "event-notification")
                    .flat_map(|arrival| arrival.events.clone())
                    .collect()
            })
            .collect()
    };
    let counts = || -> Vec<u64> {
        subscriptions.iter().map(|id| events_since_start(&subscription_status(&address, &source, id))).collect()
    };
    let final_counts = wait_for(
        &format!("{backend}: every acknowledged Encounter notified, and every counted event delivered"),
        Duration::from_secs(120),
        || {
            let counts = counts();
            let delivered = by_subscription(&arrivals.lock().unwrap());
            let done = (0..=FILTERED).all(|n| {
                let numbers: BTreeSet<u64> = delivered[n].iter().map(|(number, _)| *number).collect();
                let foci: BTreeSet<&String> = delivered[n].iter().filter_map(|(_, focus)| focus.as_ref()).collect();
                counts[n] >= expected[n].len() as u64
                    && numbers == (1..=counts[n]).collect::<BTreeSet<u64>>()
                    && expected[n].iter().all(|focus| foci.contains(focus))
            });
            done.then_some(counts)
        },
        || {
            let delivered = by_subscription(&arrivals.lock().unwrap());
            format!(
                "$status counts {:?}; expected at least {:?}; distinct numbers delivered {:?}",
                counts(),
                expected.iter().map(BTreeSet::len).collect::<Vec<_>>(),
                delivered.iter().map(|d| d.iter().map(|(n, _)| *n).collect::<BTreeSet<_>>().len()).collect::<Vec<_>>()
            )
        },
    );

    let arrivals = arrivals.lock().unwrap().clone();
    let delivered = by_subscription(&arrivals);
    let subject_of = |focus: &str| -> String {
        let (code, encounter) = get_json(&address, &source, &format!("/fhir/{focus}"));
        assert_eq!(code, 200, "{backend}: a notified {focus} is not in the store: {encounter}");
        encounter["subject"]["reference"].as_str().unwrap_or_default().to_string()
    };
    let mut unacknowledged_foci = BTreeSet::new();
    for (n, events) in delivered.iter().enumerate() {
        let id = &subscriptions[n];
        for arrival in arrivals.iter().filter(|arrival| &arrival.subscription == id) {
            assert_eq!(arrival.path, format!("/hook/{n}"), "{backend}: subscription {id} notified at its endpoint");
        }
        let mut focus_of: BTreeMap<u64, String> = BTreeMap::new();
        let mut number_of: HashMap<String, u64> = HashMap::new();
        let mut first_arrivals = Vec::new();
        for (number, focus) in events {
            let focus = focus.clone().unwrap_or_else(|| panic!("{backend}: id-only event {number} has no focus"));
            match focus_of.get(number) {
                Some(seen) => assert_eq!(seen, &focus, "{backend}: subscription {n}: event {number} names two foci"),
                None => {
                    focus_of.insert(*number, focus.clone());
                    first_arrivals.push(*number);
                }
            }
            let numbered = *number_of.entry(focus.clone()).or_insert(*number);
            assert_eq!(
                numbered, *number,
                "{backend}: subscription {n}: {focus} sent as events {numbered} and {number}"
            );
        }
        let count = final_counts[n];
        assert_eq!(
            focus_of.keys().copied().collect::<Vec<_>>(),
            (1..=count).collect::<Vec<_>>(),
            "{backend}: subscription {n}: event numbers 1..={count} with no gap"
        );
        assert!(
            first_arrivals.windows(2).all(|pair| pair[0] < pair[1]),
            "{backend}: subscription {n}: first arrivals out of order: {first_arrivals:?}"
        );
        // Every acknowledged Encounter of its patient, and no other patient's.
        let foci: BTreeSet<String> = focus_of.values().cloned().collect();
        let missing: Vec<_> = expected[n].difference(&foci).collect();
        assert!(missing.is_empty(), "{backend}: subscription {n} lost {missing:?}");
        for focus in foci.difference(&expected[n]) {
            // Committed but never answered (cut by the kill): it must still be this subscription's patient's.
            let subject = subject_of(focus);
            if n < FILTERED {
                assert_eq!(subject, format!("Patient/{}", patients[n]), "{backend}: subscription {n} got {focus}");
            }
            let acknowledged_elsewhere = acknowledged.iter().any(|(id, _)| format!("Encounter/{id}") == *focus);
            assert!(!acknowledged_elsewhere, "{backend}: subscription {n} got another patient's {focus}");
            unacknowledged_foci.insert(focus.clone());
        }
        assert_eq!(
            count as usize,
            foci.len(),
            "{backend}: subscription {n}: $status counts {count}, {} distinct foci delivered",
            foci.len()
        );
    }
    let unanswered = attempted.into_inner() - before_restart;
    assert!(
        unacknowledged_foci.len() <= unanswered,
        "{backend}: {} Encounters notified that were never written: {unacknowledged_foci:?}",
        unacknowledged_foci.len()
    );
    assert!(
        delivered_before_restart > 0 && backlog_at_kill > 0,
        "{backend}: events were flowing when the server was killed: {delivered_before_restart} notifications \
         delivered before, {backlog_at_kill} events undelivered"
    );
    let duplicates: usize = delivered
        .iter()
        .map(|events| events.len() - events.iter().map(|(number, _)| *number).collect::<BTreeSet<_>>().len())
        .sum();
    eprintln!(
        "{backend}: {} Encounters acknowledged ({before_restart} before the kill, {backlog_at_kill} of their events \
         undelivered then), {} unacknowledged but notified, {} notifications received ({duplicates} events sent again), \
         $status counts {final_counts:?}",
        acknowledged.len(),
        unacknowledged_foci.len(),
        arrivals.len()
    );
}
