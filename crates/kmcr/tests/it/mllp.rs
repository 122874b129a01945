//! HL7 v2 over MLLP end to end: a sender pipelines messages over a real TCP connection to `kmcr serve --demo`, and
//! reads an ACK for each, in order: AA once the message and its data are kept, AE or AR with the reason otherwise, the
//! first ACK again for a message sent twice. What was accepted is then read through the FHIR API.

use std::io::{Read, Write};
use std::net::TcpStream;

use kmcr_hl7v2::Message;
use kmcr_hl7v2::fhir::patient::patient_id;
use kmcr_hl7v2::mllp::{FrameDecoder, encode_frame};

use crate::{http, json_of, start_demo};

fn message(control_id: &str, event: &str, sender: &str, pid: &str) -> Vec<u8> {
    format!(
        "MSH|^~\\&|{sender}|RWF|KMCR|KMCR|20261207101500||ADT^{event}^ADT_A01|{control_id}|P|2.4\r\
         EVN|{event}|20261207101500\r{pid}\rPV1|1|I|WARD7^BAY2^BED3||||||||||||||||V-E2E-1|||||||||||||||||||||||||202612070815+0000\r"
    )
    .into_bytes()
}

/// ACKs read off the connection until `n` have come.
fn read_acks(stream: &mut TcpStream, n: usize) -> Vec<Message> {
    let mut decoder = FrameDecoder::new(1 << 20);
    let mut acks = Vec::new();
    let mut buffer = [0u8; 4096];
    while acks.len() < n {
        let read = stream.read(&mut buffer).expect("the ACKs arrive");
        assert!(read > 0, "the connection closed after {} ACKs", acks.len());
        decoder.push(&buffer[..read]);
        while let Some(frame) = decoder.next_frame() {
            let text = String::from_utf8(frame.unwrap()).unwrap();
            acks.push(Message::parse(&text).unwrap_or_else(|error| panic!("{error}: {text:?}")));
        }
    }
    acks
}

pub(crate) fn msa(ack: &Message) -> (String, String) {
    let msa = ack.segment("MSA").expect("an MSA segment");
    (msa.text(1, 1).unwrap_or_default().to_string(), msa.text(2, 1).unwrap_or_default().to_string())
}

#[test]
fn pipelined_messages_are_answered_in_order_and_kept_once() {
    let server = start_demo(2);
    let address = server.mllp_address.clone().expect("the demo listens for MLLP");
    let admission = message(
        "E2E-1",
        "A01",
        "DEMO-PAS",
        "PID|1||9434765919^^^NHS^NH~E2E0001^^^RWF^MR||Ashdown^Alex||19610402|F|||1 High Street^^Maidstone^^ME14 2LL",
    );
    let update = message("E2E-2", "A08", "DEMO-PAS", "PID|1||9434765919^^^NHS^NH~E2E0001^^^RWF^MR||Brenchley^Alex");
    let bad_nhs_number = message("E2E-3", "A01", "DEMO-PAS", "PID|1||9434765918^^^NHS^NH~E2E0002^^^RWF^MR||X^Y");
    let stranger = message("E2E-4", "A01", "UNKNOWN-PAS", "PID|1||E2E0003^^^RWF^MR||X^Y");
    let mut stream = TcpStream::connect(&address).unwrap();
    let mut pipelined = Vec::new();
    for (n, message) in [&admission, &update, &bad_nhs_number, &stranger, &admission].into_iter().enumerate() {
        pipelined.extend(encode_frame(message));
        if n == 1 {
            pipelined.extend(b"\r\n");
        }
    }
    // Written in pieces that split frames, as a network may deliver them.
    for piece in pipelined.chunks(37) {
        stream.write_all(piece).unwrap();
    }
    let acks = read_acks(&mut stream, 5);
    assert_eq!(msa(&acks[0]), ("AA".into(), "E2E-1".into()));
    assert_eq!(msa(&acks[1]), ("AA".into(), "E2E-2".into()));
    assert_eq!(msa(&acks[2]), ("AE".into(), "E2E-3".into()));
    let err = acks[2].segment("ERR").expect("the reason");
    assert_eq!((err.text(2, 1), err.text(2, 3), err.text(3, 1)), (Some("PID"), Some("3"), Some("102")));
    assert_eq!(msa(&acks[3]), ("AR".into(), "E2E-4".into()));
    assert_eq!(acks[3].segment("ERR").unwrap().text(2, 3), Some("3"), "MSH-3 names no feed");
    assert_eq!(acks[4], acks[0], "a message sent again is answered with its first ACK");

    // The integration engineer's view: the dead letters with their reasons, never what the messages say.
    let feeds = |words: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_kmcr"))
            .arg("feeds")
            .args(words)
            .args(["--database", server.directory.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let dead_letters = feeds(&["dead-letters"]);
    assert!(dead_letters.contains("E2E-3") && dead_letters.contains("not valid"), "{dead_letters}");
    assert!(dead_letters.contains("E2E-4") && dead_letters.contains("no feed configured"), "{dead_letters}");
    assert!(!dead_letters.contains("E2E-1"), "accepted messages are no dead letters: {dead_letters}");
    assert!(!dead_letters.contains("Ashdown") && !dead_letters.contains("9434765918"), "{dead_letters}");
    let status = feeds(&["status"]);
    assert!(status.lines().any(|line| line.starts_with("DEMO-PAS|RWF\tRWF\t2\t1\t1\t")), "{status}");

    // What was accepted is in the shared record, once: the A01 and the A08, not the A01 sent again.
    let form = "grant_type=client_credentials&client_id=demo-viewer&client_secret=demo-viewer-secret-change-me";
    let (_, token) =
        http(&server.address, "POST", "/oauth/token", &[("Content-Type", "application/x-www-form-urlencoded")], form);
    let bearer = format!("Bearer {}", json_of(&token)["access_token"].as_str().unwrap());
    let id = patient_id("RWF", "https://fhir.kmcr.nhs.uk/Id/RWF/RWF", "E2E0001");
    let (status, patient) =
        http(&server.address, "GET", &format!("/fhir/Patient/{id}"), &[("Authorization", &bearer)], "");
    assert_eq!(status, 200, "{patient}");
    let patient = json_of(&patient);
    assert_eq!(patient["name"][0]["family"], "Brenchley", "the A08's name");
    assert_eq!(patient["address"][0]["postalCode"], "ME14 2LL", "the A01's address, which the A08 omitted");
    assert_eq!(patient["meta"]["versionId"], "2", "applied twice: the A01 and the A08, not the resend");
    let (status, encounters) =
        http(&server.address, "GET", &format!("/fhir/Encounter?patient={id}"), &[("Authorization", &bearer)], "");
    assert_eq!(status, 200, "{encounters}");
    let encounters = json_of(&encounters);
    assert_eq!(encounters["entry"].as_array().map(Vec::len), Some(1), "one visit: {encounters}");
    assert_eq!(encounters["entry"][0]["resource"]["status"], "in-progress");
}

/// A burst pipelined in one write, two messages for each of many patients: the patients are applied side by side, and
/// each patient's messages in the order sent (the A08's name wins over its A01's), every ACK in the order of the frames.
#[test]
fn a_burst_of_many_patients_is_applied_in_order_for_each() {
    let server = start_demo(1);
    let address = server.mllp_address.clone().expect("the demo listens for MLLP");
    let mut burst = Vec::new();
    let mut control_ids = Vec::new();
    for n in 0..30 {
        let pid = |family: &str| format!("PID|1||BURST{n:04}^^^RWF^MR||{family}^Sam||19700101|M");
        for (event, family) in [("A01", "Admitted"), ("A08", "Updated")] {
            let control_id = format!("BURST-{n}-{event}");
            let text = String::from_utf8(message(&control_id, event, "DEMO-PAS", &pid(family))).unwrap();
            // Each patient's own visit.
            let text = text.replace("V-E2E-1", &format!("V-BURST-{n}"));
            burst.extend(encode_frame(text.as_bytes()));
            control_ids.push(control_id);
        }
    }
    let mut stream = TcpStream::connect(&address).unwrap();
    stream.write_all(&burst).unwrap();
    let acks = read_acks(&mut stream, control_ids.len());
    for (ack, control_id) in acks.iter().zip(&control_ids) {
        assert_eq!(msa(ack), ("AA".into(), control_id.clone()), "ACKs in the order of the frames");
    }
    let form = "grant_type=client_credentials&client_id=demo-viewer&client_secret=demo-viewer-secret-change-me";
    let (_, token) =
        http(&server.address, "POST", "/oauth/token", &[("Content-Type", "application/x-www-form-urlencoded")], form);
    let bearer = format!("Bearer {}", json_of(&token)["access_token"].as_str().unwrap());
    for n in 0..30 {
        let id = patient_id("RWF", "https://fhir.kmcr.nhs.uk/Id/RWF/RWF", &format!("BURST{n:04}"));
        let (status, patient) =
            http(&server.address, "GET", &format!("/fhir/Patient/{id}"), &[("Authorization", &bearer)], "");
        assert_eq!(status, 200, "{patient}");
        let patient = json_of(&patient);
        assert_eq!(patient["name"][0]["family"], "Updated", "patient {n}: the A08 after its A01");
        assert_eq!(patient["meta"]["versionId"], "2", "patient {n}");
    }
}

/// An A04 registering a new patient: message `n` of a sender.
fn registration(n: usize) -> Vec<u8> {
    format!(
        "MSH|^~\\&|PAS|RWF|KMCR|KMCR|20261207101500||ADT^A04^ADT_A01|KILL-{n}|P|2.4\rPID|1||KILL{n:06}^^^RWF^MR||\
         Kent^Sam{n}||19800101|F"
    )
    .into_bytes()
}

/// Sends one message and reads its ACK; `None` when the connection fails or closes first.
pub(crate) fn send_and_read(stream: &mut (impl Read + Write), message: &[u8]) -> Option<Message> {
    stream.write_all(&encode_frame(message)).ok()?;
    let mut decoder = FrameDecoder::new(1 << 20);
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).ok().filter(|read| *read > 0)?;
        decoder.push(&buffer[..read]);
        if let Some(frame) = decoder.next_frame() {
            return Message::parse(&String::from_utf8(frame.ok()?).ok()?).ok();
        }
    }
}

/// Nothing acknowledged is lost, and nothing is applied twice: senders keep sending while the server is killed
/// (SIGKILL); after a restart every message answered AA is there, and sending every message again applies none of
/// the acknowledged ones a second time. On SQLite, and on PostgreSQL where it is configured.
#[test]
fn every_acknowledged_message_survives_a_kill_and_is_applied_once() {
    let databases = test_databases("kmcr_mllp_kill_");
    for (n, database) in databases.iter().enumerate() {
        let directory = std::env::temp_dir().join(format!("kmcr-e2e-mllp-kill-{}-{n}", std::process::id()));
        let location =
            database.as_ref().map_or_else(|| directory.join("store").display().to_string(), |db| db.url.clone());
        kill_and_check(&directory, &location);
    }
}

/// The stores an end-to-end test runs on: `None` for an embedded SQLite store, and a scratch PostgreSQL database where
/// `KMCR_TEST_DATABASE_URL` is set (under CI it must be).
pub(crate) fn test_databases(prefix: &str) -> Vec<Option<kmcr_store::ScratchDatabase>> {
    let mut databases = vec![None];
    if let Ok(url) = std::env::var("KMCR_TEST_DATABASE_URL").map(|url| url.trim().to_string())
        && !url.is_empty()
    {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        databases.push(Some(runtime.block_on(kmcr_store::ScratchDatabase::create(&url, prefix, 0)).unwrap()));
    } else if std::env::var("CI").is_ok() {
        panic!("CI is set but KMCR_TEST_DATABASE_URL is not");
    }
    databases
}

fn kill_and_check(directory: &std::path::Path, database: &str) {
    let _ = std::fs::remove_dir_all(directory);
    std::fs::create_dir_all(directory).unwrap();
    let config = directory.join("kmcr.toml");
    let secret_hash = crate::hash_secret("rwf-reader-secret");
    std::fs::write(
        &config,
        format!(
            "[mllp]\nlisten = \"127.0.0.1:0\"\n\n[[clients]]\nid = \"rwf\"\nsecret_hash = \"{secret_hash}\"\nods_code = \
             \"RWF\"\nscopes = [\"system/*.rs\"]\n\n[[organisations]]\nods_code = \"RWF\"\nname = \"Test trust\"\nkind \
             = \"acute\"\n[[organisations.mllp_feeds]]\nsending_application = \"PAS\"\n"
        ),
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap()];
    let mut server = crate::start_serving_on(&args, database, directory.join("nothing-to-remove"));
    let address = server.mllp_address.clone().unwrap();
    let acknowledged = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let (address, acknowledged, next) = (&address, &acknowledged, &next);
            scope.spawn(move || {
                let Ok(mut stream) = TcpStream::connect(address) else { return };
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(ack) = send_and_read(&mut stream, &registration(n)) else { return };
                    assert_eq!(msa(&ack), ("AA".into(), format!("KILL-{n}")));
                    acknowledged.lock().unwrap().push((n, ack));
                }
            });
        }
        while acknowledged.lock().unwrap().len() < 200 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        server.child.kill().unwrap();
        server.child.wait().unwrap();
    });
    drop(server);
    let acknowledged = acknowledged.into_inner().unwrap();
    let sent = next.into_inner();

    let server = crate::start_serving_on(&args, database, directory.to_path_buf());
    let form = "grant_type=client_credentials&client_id=rwf&client_secret=rwf-reader-secret";
    let (_, token) =
        http(&server.address, "POST", "/oauth/token", &[("Content-Type", "application/x-www-form-urlencoded")], form);
    let bearer = format!("Bearer {}", json_of(&token)["access_token"].as_str().unwrap());
    let version_of = |n: usize| {
        let id = patient_id("RWF", "https://fhir.kmcr.nhs.uk/Id/RWF/RWF", &format!("KILL{n:06}"));
        let (status, body) =
            http(&server.address, "GET", &format!("/fhir/Patient/{id}"), &[("Authorization", &bearer)], "");
        (status == 200).then(|| json_of(&body)["meta"]["versionId"].as_str().unwrap().to_string())
    };
    for (n, _) in &acknowledged {
        assert_eq!(version_of(*n).as_deref(), Some("1"), "{database}: acknowledged message {n} was lost");
    }
    // Every message sent again: the acknowledged ones answered with their first ACK and not applied again.
    let mut stream = TcpStream::connect(server.mllp_address.as_ref().unwrap()).unwrap();
    for n in 0..sent {
        let ack = send_and_read(&mut stream, &registration(n)).expect("an ACK after the restart");
        assert_eq!(msa(&ack).0, "AA", "{database}: message {n}");
        if let Some((_, first)) = acknowledged.iter().find(|(acked, _)| *acked == n) {
            assert_eq!(&ack, first, "{database}: message {n} answered with its first ACK");
        }
        assert_eq!(version_of(n).as_deref(), Some("1"), "{database}: message {n} applied once");
    }
}

/// A real HL7 v2 client that no one here wrote, `mllp_send` from Python's `hl7` package, sends a file of messages
/// typed with LF line ends (its `--loose`) to the demo and gets an AA for each; the patient is then in the record.
#[test]
fn mllp_send_from_the_python_hl7_package_is_answered_and_its_patient_kept() {
    let python = crate::smart_client::python_with_requirements();
    let mllp_send = python.with_file_name("mllp_send");
    let server = start_demo(2);
    let address = server.mllp_address.clone().unwrap();
    let (host, port) = address.rsplit_once(':').unwrap();
    let file = server.directory.with_extension("hl7");
    std::fs::write(
        &file,
        "MSH|^~\\&|DEMO-PAS|RWF|KMCR|KMCR|20261207101500||ADT^A04^ADT_A01|PY-1|P|2.4\n\
         PID|1||PY00001^^^RWF^MR||Deal^Robin||19900505|M\n\
         MSH|^~\\&|DEMO-PAS|RWF|KMCR|KMCR|20261207101600||ADT^A08^ADT_A01|PY-2|P|2.4\n\
         PID|1||PY00001^^^RWF^MR||Deal^Robin^James||19900505|M\n",
    )
    .unwrap();
    let output = std::process::Command::new(&mllp_send)
        .args(["--loose", "--port", port, "--file"])
        .arg(&file)
        .arg(host)
        .output()
        .expect("mllp_send runs");
    let printed = String::from_utf8_lossy(&output.stdout).replace('\r', "\n");
    assert!(output.status.success(), "{printed}{}", String::from_utf8_lossy(&output.stderr));
    assert!(printed.contains("MSA|AA|PY-1") && printed.contains("MSA|AA|PY-2"), "{printed}");
    let _ = std::fs::remove_file(&file);

    let form = "grant_type=client_credentials&client_id=demo-viewer&client_secret=demo-viewer-secret-change-me";
    let (_, token) =
        http(&server.address, "POST", "/oauth/token", &[("Content-Type", "application/x-www-form-urlencoded")], form);
    let bearer = format!("Bearer {}", json_of(&token)["access_token"].as_str().unwrap());
    let id = patient_id("RWF", "https://fhir.kmcr.nhs.uk/Id/RWF/RWF", "PY00001");
    let (status, patient) =
        http(&server.address, "GET", &format!("/fhir/Patient/{id}"), &[("Authorization", &bearer)], "");
    assert_eq!(status, 200, "{patient}");
    assert_eq!(json_of(&patient)["name"][0]["given"], serde_json::json!(["Robin", "James"]));
}
