//! The `kmcr` binary end to end (a real process serving on a real TCP port, as a new user runs it), and the tidy
//! checks of the workspace.

mod browser;
mod load;
mod mllp;
mod mllp_tls;
mod sign_in;
mod smart_client;
mod subscriptions;
mod synth_feeds;
mod tidy;
mod viewer_browser;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

struct Server {
    child: Child,
    address: String,
    /// The MLLP listener's address, when it listens.
    mllp_address: Option<String>,
    /// The MLLP listener's TLS address, when it listens for TLS.
    mllp_tls_address: Option<String>,
    directory: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// Starts `kmcr serve --demo` on an ephemeral port with a small population and waits for its URL.
fn start_demo(n_people: usize) -> Server {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let directory = std::env::temp_dir().join(format!("kmcr-e2e-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    start_serving(&["--demo", "--demo-people", &n_people.to_string()], directory)
}

/// Starts `kmcr serve` with `args` on an ephemeral port over the store in `directory` and waits for its URL.
fn start_serving(args: &[&str], directory: std::path::PathBuf) -> Server {
    let database = directory.to_str().unwrap().to_string();
    start_serving_on(args, &database, directory)
}

/// [`start_serving`] on `database` (a directory or a `postgres://` URL); `directory` is removed when it stops.
fn start_serving_on(args: &[&str], database: &str, directory: std::path::PathBuf) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmcr"))
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0", "--database", database])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the kmcr binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut mllp_address, mut mllp_tls_address) = (None, None);
    let address = loop {
        let line = lines.next().expect("kmcr prints its URL before serving").unwrap();
        if let Some(address) = line.strip_prefix("KMCR is listening for HL7 v2 over MLLP on ") {
            mllp_address = Some(address.trim().to_string());
        }
        if let Some(address) = line.strip_prefix("KMCR is listening for HL7 v2 over MLLP with TLS on ") {
            mllp_tls_address = address.split_whitespace().next().map(str::to_string);
        }
        if let Some(url) = line.strip_prefix("KMCR is serving the FHIR API at http://") {
            break url.trim_end_matches("/fhir").to_string();
        }
    };
    // Keep draining stdout so that the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, address, mllp_address, mllp_tls_address, directory }
}

/// One HTTP/1.1 request over a fresh TCP connection: (status, body).
fn http(address: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default();
    (status, body)
}

/// Undoes chunked transfer encoding, which hyper uses for bodies of unknown length.
fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| {
        let mut joined = String::new();
        let mut rest = body;
        while let Some((size_line, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size_line.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            joined.push_str(&after[..size]);
            rest = &after[size + 2..];
        }
        serde_json::from_str(&joined).expect("a JSON body")
    })
}

#[test]
fn the_demo_serves_a_population_to_an_authenticated_client() {
    let server = start_demo(5);
    let (status, metadata) = http(&server.address, "GET", "/fhir/metadata", &[], "");
    assert_eq!(status, 200);
    assert_eq!(json_of(&metadata)["resourceType"], "CapabilityStatement");

    let (status, _) = http(&server.address, "GET", "/fhir/Patient", &[], "");
    assert_eq!(status, 401, "no token, no data");

    let form = "grant_type=client_credentials&client_id=demo-viewer&client_secret=demo-viewer-secret-change-me";
    let (status, token) =
        http(&server.address, "POST", "/oauth/token", &[("Content-Type", "application/x-www-form-urlencoded")], form);
    assert_eq!(status, 200, "{token}");
    let token = json_of(&token)["access_token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {token}");

    let (status, patients) =
        http(&server.address, "GET", "/fhir/Patient?_count=100", &[("Authorization", &bearer)], "");
    assert_eq!(status, 200, "{patients}");
    let patients = json_of(&patients);
    let entries = patients["entry"].as_array().expect("the demo population is there");
    assert!(entries.len() >= 5, "at least one source Patient per person: {}", entries.len());
    let patient_id = entries[0]["resource"]["id"].as_str().unwrap();
    let (status, everything) = http(
        &server.address,
        "GET",
        &format!("/fhir/Patient/{patient_id}/$everything"),
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(status, 200);
    assert!(json_of(&everything)["entry"].as_array().unwrap().len() > 1);

    let verify = Command::new(env!("CARGO_BIN_EXE_kmcr"))
        .args(["audit", "verify", "--database", server.directory.to_str().unwrap()])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success() && printed.contains("audit chain intact"), "{printed}");
}

/// The argon2id hash of a secret, as `kmcr hash-secret` prints it for the configuration.
fn hash_secret(secret: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmcr"))
        .arg("hash-secret")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the kmcr binary starts");
    child.stdin.take().unwrap().write_all(format!("{secret}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let hash = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    hash
}

/// A client's bearer token from `/oauth/token`.
fn bearer(address: &str, client_id: &str, secret: &str) -> String {
    let form = format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
    let (status, token) =
        http(address, "POST", "/oauth/token", &[("Content-Type", "application/x-www-form-urlencoded")], &form);
    assert_eq!(status, 200, "{token}");
    format!("Bearer {}", json_of(&token)["access_token"].as_str().unwrap())
}

/// Creates an Observation; its id if the server answered 201 (the answer comes only once the write is on disk), `None`
/// if the connection failed or was cut before an answer.
fn create_observation(address: &str, bearer: &str, text: &str) -> Option<String> {
    let body = format!(r#"{{"resourceType":"Observation","status":"final","code":{{"text":"{text}"}}}}"#);
    create_resource(address, bearer, "Observation", &body)
}

/// POSTs `body` as a new `resource_type` on a connection of its own; its id if the server answered 201, `None` if it
/// answered otherwise or the connection failed or was cut before an answer.
fn create_resource(address: &str, bearer: &str, resource_type: &str, body: &str) -> Option<String> {
    let request = format!(
        "POST /fhir/{resource_type} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAuthorization: {bearer}\r\n\
         Content-Type: application/fhir+json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(address).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    if !response.starts_with("HTTP/1.1 201") {
        return None;
    }
    let location = response.lines().find_map(|line| {
        line.split_once(": ").filter(|(name, _)| name.eq_ignore_ascii_case("location")).map(|(_, value)| value)
    })?;
    let id = location.split(&format!("/{resource_type}/")).nth(1)?.split('/').next()?;
    Some(id.to_string())
}

/// Nothing acknowledged is lost when the process dies: writers keep creating resources while the server is killed
/// (SIGKILL: no chance to flush or close), and after a restart on the same store every create that was answered 201
/// is there and the audit chain is intact.
#[test]
fn every_acknowledged_write_survives_the_server_being_killed() {
    let directory = std::env::temp_dir().join(format!("kmcr-e2e-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let config = directory.join("kmcr.toml");
    let secret_hash = hash_secret("gp-secret-for-the-kill-test");
    std::fs::write(
        &config,
        format!(
            "[[clients]]\nid = \"gp\"\nsecret_hash = \"{secret_hash}\"\nods_code = \"G82001\"\nscopes = \
             [\"system/*.*\"]\n\n[[organisations]]\nods_code = \"G82001\"\nname = \"Test practice\"\nkind = \
             \"gp-practice\"\n"
        ),
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap()];
    let store = directory.join("store");
    let mut server = start_serving(&args, store.clone());
    let (address, token) = (server.address.clone(), bearer(&server.address, "gp", "gp-secret-for-the-kill-test"));

    let acknowledged = std::sync::Mutex::new(Vec::new());
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for writer in 0..4 {
            let (address, token, acknowledged, stop) = (&address, &token, &acknowledged, &stop);
            scope.spawn(move || {
                for n in 0.. {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    if let Some(id) = create_observation(address, token, &format!("writer {writer}, number {n}")) {
                        acknowledged.lock().unwrap().push(id);
                    }
                }
            });
        }
        while acknowledged.lock().unwrap().len() < 300 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    // The store stays for the restart (a dropped Server removes its directory).
    server.directory = directory.join("nothing-to-remove");
    drop(server);

    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(acknowledged.len() >= 300);
    let server = start_serving(&args, store.clone());
    let token = bearer(&server.address, "gp", "gp-secret-for-the-kill-test");
    for id in &acknowledged {
        let path = format!("/fhir/Observation/{id}");
        let (status, body) = http(&server.address, "GET", &path, &[("Authorization", &token)], "");
        assert_eq!(status, 200, "acknowledged Observation/{id} was lost: {body}");
    }
    let verify = Command::new(env!("CARGO_BIN_EXE_kmcr"))
        .args(["audit", "verify", "--database", store.to_str().unwrap()])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success() && printed.contains("audit chain intact"), "{printed}");
    drop(server);
    let _ = std::fs::remove_dir_all(&directory);
}
