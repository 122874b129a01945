//! HL7 v2 over MLLP with TLS end to end: `kmcr serve` listens for plain TCP and for TLS that requires client
//! certificates of a region's CA (made here with rcgen), and a feed bound to its integration engine's certificate
//! takes messages only from a connection that presented it. A client of another CA is turned away at the handshake;
//! TLS files that cannot serve stop `kmcr serve` before it starts, naming the file. On SQLite, and on PostgreSQL where
//! it is configured.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kmcr_hl7v2::Message;
use kmcr_hl7v2::fhir::patient::patient_id;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use crate::mllp::{msa, send_and_read, test_databases};
use crate::{http, json_of};

/// A certificate authority that signs certificates for the test.
struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate with its private key.
struct Identity {
    certificate: CertificateDer<'static>,
    certificate_pem: String,
    key: KeyPair,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        Authority { issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap() }
    }

    /// A certificate for `common_name`, valid for `names` (the server's) or for none (a client's).
    fn sign(&self, common_name: &str, names: &[&str]) -> Identity {
        let mut params = CertificateParams::new(names.iter().map(|name| name.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, common_name);
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        Identity { certificate: certificate.der().clone(), certificate_pem: certificate.pem(), key }
    }
}

/// The fingerprint as `openssl x509 -noout -fingerprint -sha256` prints it, as an operator copies it into the config.
fn openssl_style_fingerprint(certificate: &CertificateDer<'_>) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(certificate).iter().map(|byte| format!("{byte:02X}")).collect::<Vec<_>>().join(":")
}

#[allow(deprecated)] // rustls's ring provider, as the server uses (see kmcr-mllp's tls.rs).
fn ring_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS connection to `address` trusting `authority` for the server, presenting `client` if given.
fn connect_tls(
    address: &str,
    authority: &Authority,
    client: Option<&Identity>,
) -> std::io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(authority.issuer.der().clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(ring_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some(client) => {
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(client.key.serialize_der()));
            builder.with_client_auth_cert(vec![client.certificate.clone()], key).unwrap()
        }
    };
    let connection =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap()).unwrap();
    let tcp = TcpStream::connect(address)?;
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    Ok(rustls::StreamOwned::new(connection, tcp))
}

fn registration(control_id: &str, record_number: &str) -> Vec<u8> {
    format!(
        "MSH|^~\\&|RWF-ENGINE|RWF|KMCR|KMCR|20261207101500||ADT^A04^ADT_A01|{control_id}|P|2.4\r\
         PID|1||{record_number}^^^RWF^MR||Tenterden^Sam||19800101|F"
    )
    .into_bytes()
}

/// ERR-8, the reason a refusal gives.
fn reason(ack: &Message) -> String {
    ack.segment("ERR").and_then(|err| err.text(8, 1)).unwrap_or_default().to_string()
}

/// The files a region's MLLP listener is configured with.
struct Pki {
    region: Authority,
    engine: Identity,
    other_sender: Identity,
    foreign: Identity,
}

fn write_pki(directory: &Path) -> Pki {
    let region = Authority::new("KMCR test region CA");
    let server = region.sign("kmcr.test", &["localhost", "127.0.0.1"]);
    std::fs::write(directory.join("server.pem"), &server.certificate_pem).unwrap();
    std::fs::write(directory.join("server-key.pem"), server.key.serialize_pem()).unwrap();
    std::fs::write(directory.join("region-ca.pem"), region.issuer.pem()).unwrap();
    let engine = region.sign("rwf-engine", &[]);
    let other_sender = region.sign("rwf-other", &[]);
    let foreign = Authority::new("Another region CA").sign("rwf-engine", &[]);
    Pki { region, engine, other_sender, foreign }
}

fn tls_config(directory: &Path, engine_fingerprint: &str) -> PathBuf {
    let file = |name: &str| directory.join(name).display().to_string();
    let secret_hash = crate::hash_secret("rwf-tls-reader-secret");
    let config = directory.join("kmcr.toml");
    std::fs::write(
        &config,
        format!(
            "[mllp]\nlisten = \"127.0.0.1:0\"\ntls_listen = \"127.0.0.1:0\"\ntls_certificate_file = \"{}\"\n\
             tls_private_key_file = \"{}\"\ntls_client_ca_file = \"{}\"\n\n\
             [[clients]]\nid = \"rwf\"\nsecret_hash = \"{secret_hash}\"\nods_code = \"RWF\"\n\
             scopes = [\"system/*.rs\"]\n\n\
             [[organisations]]\nods_code = \"RWF\"\nname = \"Test trust\"\nkind = \"acute\"\n\
             [[organisations.mllp_feeds]]\nsending_application = \"RWF-ENGINE\"\nsending_facility = \"RWF\"\n\
             client_certificate_sha256 = \"{engine_fingerprint}\"\nclient_certificate_subject_cn = \"rwf-engine\"\n",
            file("server.pem"),
            file("server-key.pem"),
            file("region-ca.pem"),
        ),
    )
    .unwrap();
    config
}

/// (a) over TLS with its engine's certificate, a bound feed's message is accepted and its Patient kept; (b) the same
/// feed's message over plain TCP is refused AR with the reason; (c) a client of another CA, or with no certificate, is
/// turned away at the handshake with no ACK, and one with another certificate of the region's CA is refused AR.
#[test]
fn a_feed_bound_to_a_client_certificate_takes_messages_only_over_tls_with_it() {
    let databases = test_databases("kmcr_mllp_tls_");
    for (n, database) in databases.iter().enumerate() {
        let directory = std::env::temp_dir().join(format!("kmcr-e2e-mllp-tls-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        let location =
            database.as_ref().map_or_else(|| directory.join("store").display().to_string(), |db| db.url.clone());
        check_bound_feed(&directory, &location);
    }
}

fn check_bound_feed(directory: &Path, database: &str) {
    let pki = write_pki(directory);
    let config = tls_config(directory, &openssl_style_fingerprint(&pki.engine.certificate));
    let server = crate::start_serving_on(&["--config", config.to_str().unwrap()], database, directory.to_path_buf());
    let tls_address = server.mllp_tls_address.clone().expect("kmcr listens for MLLP over TLS");
    let plain_address = server.mllp_address.clone().expect("and for plain MLLP");

    // (b) Plain TCP: the feed's names alone prove nothing.
    let mut plain = TcpStream::connect(&plain_address).unwrap();
    let ack = send_and_read(&mut plain, &registration("TLS-1", "TLS0001")).expect("an ACK over plain TCP");
    assert_eq!(msa(&ack), ("AR".into(), "TLS-1".into()), "{database}");
    assert!(reason(&ack).contains("only over TLS with its client certificate"), "{database}: {}", reason(&ack));

    // (c) Another certificate of the region's CA: the handshake succeeds, the feed refuses it.
    let mut other = connect_tls(&tls_address, &pki.region, Some(&pki.other_sender)).unwrap();
    let ack = send_and_read(&mut other, &registration("TLS-2", "TLS0001")).expect("an ACK over TLS");
    assert_eq!(msa(&ack), ("AR".into(), "TLS-2".into()), "{database}");
    assert!(reason(&ack).contains("not the one this feed is bound to"), "{database}: {}", reason(&ack));

    // (c) A certificate of another CA (with the engine's very name), or none: no TLS session, no ACK, nothing kept.
    for (client, what) in [(Some(&pki.foreign), "another CA's certificate"), (None, "no certificate")] {
        let answer = connect_tls(&tls_address, &pki.region, client)
            .ok()
            .and_then(|mut stream| send_and_read(&mut stream, &registration("TLS-3", "TLS0003")));
        assert!(answer.is_none(), "{database}: {what} must be turned away at the handshake: {answer:?}");
    }

    // (a) The engine's own certificate: accepted, and the Patient is in the record; a client that opened a
    // connection and never began its handshake holds up no one.
    let _stalled = TcpStream::connect(&tls_address).unwrap();
    let mut engine = connect_tls(&tls_address, &pki.region, Some(&pki.engine)).unwrap();
    let ack = send_and_read(&mut engine, &registration("TLS-4", "TLS0001")).expect("an ACK over TLS");
    assert_eq!(msa(&ack), ("AA".into(), "TLS-4".into()), "{database}: {}", reason(&ack));
    // The refused messages were kept as dead letters; the one turned away at the handshake never reached KMCR.
    let dead_letters = std::process::Command::new(env!("CARGO_BIN_EXE_kmcr"))
        .args(["feeds", "dead-letters", "--database", database])
        .output()
        .unwrap();
    let dead_letters = String::from_utf8_lossy(&dead_letters.stdout);
    assert!(dead_letters.contains("TLS-1") && dead_letters.contains("TLS-2"), "{database}: {dead_letters}");
    assert!(!dead_letters.contains("TLS-3") && !dead_letters.contains("TLS-4"), "{database}: {dead_letters}");

    let form = "grant_type=client_credentials&client_id=rwf&client_secret=rwf-tls-reader-secret";
    let (_, token) =
        http(&server.address, "POST", "/oauth/token", &[("Content-Type", "application/x-www-form-urlencoded")], form);
    let bearer = format!("Bearer {}", json_of(&token)["access_token"].as_str().unwrap());
    let id = patient_id("RWF", "https://fhir.kmcr.nhs.uk/Id/RWF/RWF", "TLS0001");
    let (status, patient) =
        http(&server.address, "GET", &format!("/fhir/Patient/{id}"), &[("Authorization", &bearer)], "");
    assert_eq!(status, 200, "{database}: {patient}");
    assert_eq!(json_of(&patient)["name"][0]["family"], "Tenterden", "{database}");
    let id = patient_id("RWF", "https://fhir.kmcr.nhs.uk/Id/RWF/RWF", "TLS0003");
    let (status, _) = http(&server.address, "GET", &format!("/fhir/Patient/{id}"), &[("Authorization", &bearer)], "");
    assert_eq!(status, 404, "{database}: nothing from a client turned away");
}

/// `kmcr serve` with `config`, expected to stop at once: what it printed on standard error.
fn serve_refuses(directory: &Path, config: &str) -> String {
    let file = directory.join("refused.toml");
    std::fs::write(&file, config).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kmcr"))
        .args(["serve", "--config", file.to_str().unwrap(), "--listen", "127.0.0.1:0", "--database"])
        .arg(directory.join("store"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("kmcr serve started with {config}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A missing file, a file that is not PEM, a key that is not the certificate's, and a bound feed without client
/// certificates configured each stop `kmcr serve` before it serves, with a message naming what is wrong.
#[test]
fn tls_files_that_cannot_serve_stop_kmcr_serve_at_start_naming_the_file() {
    let directory = std::env::temp_dir().join(format!("kmcr-e2e-mllp-tls-config-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let pki = write_pki(&directory);
    std::fs::write(directory.join("engine-key.pem"), pki.engine.key.serialize_pem()).unwrap();
    std::fs::write(directory.join("not-pem.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
    let file = |name: &str| directory.join(name).display().to_string();
    let mllp = |certificate: &str, key: &str, ca: &str| {
        format!(
            "[mllp]\ntls_listen = \"127.0.0.1:0\"\ntls_certificate_file = \"{}\"\ntls_private_key_file = \"{}\"\n\
             tls_client_ca_file = \"{}\"\n",
            file(certificate),
            file(key),
            file(ca)
        )
    };
    // Each configuration, with the words its refusal must print (a file's name stands for its path).
    let cases = [
        (mllp("missing.pem", "server-key.pem", "region-ca.pem"), ["missing.pem", "cannot read"]),
        (mllp("server.pem", "server-key.pem", "not-pem.pem"), ["not-pem.pem", "not valid PEM"]),
        (mllp("server.pem", "region-ca.pem", "region-ca.pem"), ["region-ca.pem", "no PEM private key"]),
        (mllp("server.pem", "engine-key.pem", "region-ca.pem"), ["engine-key.pem", "does not match"]),
        (
            "[mllp]\nlisten = \"127.0.0.1:0\"\n[[organisations]]\nods_code = \"RWF\"\nname = \"T\"\nkind = \"acute\"\n\
             [[organisations.mllp_feeds]]\nsending_application = \"RWF-ENGINE\"\n\
             client_certificate_subject_cn = \"x\"\n"
                .to_string(),
            ["RWF-ENGINE", "tls_client_ca_file"],
        ),
    ];
    for (config, expected) in cases {
        let printed = serve_refuses(&directory, &config);
        for words in expected {
            let words = if words.ends_with(".pem") { file(words) } else { words.to_string() };
            assert!(printed.contains(&words), "'{words}' not in: {printed}");
        }
    }
    let _ = std::fs::remove_dir_all(&directory);
}
