//! The synthetic region's HL7 v2 feeds end to end: `kmcr synth --hl7v2` writes each trust's messages, `kmcr feeds
//! send` sends them over MLLP to `kmcr serve --demo`, every one is answered AA, and the patients, visits and results
//! are then in the record through the FHIR API; a message from a sender the demo does not know is refused with its
//! reason printed.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use kmcr_hl7v2::Message;
use kmcr_hl7v2::fhir::patient::patient_id;

use crate::{http, json_of, start_demo};

fn kmcr(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kmcr")).args(args).env("RUST_LOG", "warn").output().unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), printed)
}

/// What one trust's file says: each patient's local record number, NHS number and visit numbers, by sender the
/// number of messages.
#[derive(Default)]
struct FileContents {
    visits_by_patient: BTreeMap<String, (String, BTreeSet<String>)>,
    n_messages_by_sender: BTreeMap<String, usize>,
    n_results: usize,
}

fn read_file(path: &std::path::Path) -> FileContents {
    let text = std::fs::read_to_string(path).unwrap();
    let mut contents = FileContents::default();
    for line in text.split_terminator('\n') {
        assert!(line.starts_with("MSH|") && line.ends_with('\r'), "a message a line, segments ended by CR: {line:?}");
        let message = Message::parse(line).unwrap();
        let header = message.header();
        let sender = format!("{}|{}", header.text(3, 1).unwrap(), header.text(4, 1).unwrap());
        *contents.n_messages_by_sender.entry(sender).or_default() += 1;
        let pid = message.segment("PID").unwrap();
        let local = pid.value(3, 2, 1, 1).text().unwrap().to_string();
        let nhs_number = pid.value(3, 1, 1, 1).text().unwrap().to_string();
        let entry = contents.visits_by_patient.entry(local).or_insert((nhs_number, BTreeSet::new()));
        if message.message_type().0 == Some("ADT") {
            entry.1.insert(message.segment("PV1").unwrap().text(19, 1).unwrap().to_string());
        }
        if message.message_type().0 == Some("ORU") {
            contents.n_results += 1;
        }
    }
    contents
}

const TRUSTS: [&str; 5] = ["RN7", "RPA", "RVV", "RWF", "RXY"];

#[test]
fn synthetic_hl7v2_files_sent_with_feeds_send_are_all_accepted_and_in_the_record() {
    let out = std::env::temp_dir().join(format!("kmcr-e2e-synth-hl7v2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let (written, printed) =
        kmcr(&["synth", "--out", out.to_str().unwrap(), "--people", "12", "--seed", "5", "--hl7v2"]);
    assert!(written, "{printed}");
    assert!(out.join("truth.csv").exists(), "the FHIR Bundles are written as before: {printed}");
    let files: Vec<std::path::PathBuf> =
        TRUSTS.iter().map(|ods| out.join("hl7v2").join(format!("{ods}.hl7"))).collect();
    let contents: Vec<FileContents> = files.iter().map(|file| read_file(file)).collect();

    // The demo accepts the region's senders as they are.
    let server = start_demo(2);
    let form = "grant_type=client_credentials&client_id=demo-viewer&client_secret=demo-viewer-secret-change-me";
    send_and_find(&server, form, &server.directory.display().to_string(), &files, &contents);

    // A sender the demo does not know: refused, with the reason printed, and the command fails.
    let stranger = out.join("stranger.hl7");
    std::fs::write(
        &stranger,
        "MSH|^~\\&|NOBODY-PAS|XYZ|KMCR|KMCR|20261207101500||ADT^A04^ADT_A01|STRANGER-1|P|2.4\r\
         PID|1||S0001^^^XYZ^MR||Nobody^Nemo\r\n",
    )
    .unwrap();
    let address = server.mllp_address.clone().unwrap();
    let (sent, printed) = kmcr(&["feeds", "send", "--to", &address, stranger.to_str().unwrap()]);
    assert!(!sent, "a refusal fails the command: {printed}");
    assert!(printed.contains("1 messages: AA 0, AE 0, AR 1"), "{printed}");
    assert!(printed.contains("MSH-10 STRANGER-1: AR: MSH-3 and MSH-4 name no feed configured"), "{printed}");
    drop(server);

    // On PostgreSQL where it is configured (the demo runs on its own embedded store only), the same senders
    // configured by hand.
    for database in crate::mllp::test_databases("kmcr_synth_feeds_").into_iter().flatten() {
        let directory = out.join("postgres");
        std::fs::create_dir_all(&directory).unwrap();
        let config = directory.join("kmcr.toml");
        std::fs::write(&config, configuration()).unwrap();
        let args = ["--config", config.to_str().unwrap()];
        let server = crate::start_serving_on(&args, &database.url, directory.join("nothing-to-remove"));
        let form = "grant_type=client_credentials&client_id=reader&client_secret=synth-feeds-reader-secret";
        send_and_find(&server, form, &database.url, &files, &contents);
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// Every trust of the region that sends HL7 v2, with its senders, and a reader across the region.
fn configuration() -> String {
    let secret_hash = crate::hash_secret("synth-feeds-reader-secret");
    let mut config = format!(
        "[mllp]\nlisten = \"127.0.0.1:0\"\n\n[[clients]]\nid = \"reader\"\nsecret_hash = \"{secret_hash}\"\n\
         ods_code = \"RWF\"\nscopes = [\"system/*.rs\"]\nregion_wide_justification = \"the test reads what it sent\"\n"
    );
    for ods in TRUSTS {
        let kind = if ods == "RXY" { "mental-health" } else { "acute" };
        config.push_str(&format!("\n[[organisations]]\nods_code = \"{ods}\"\nname = \"{ods}\"\nkind = \"{kind}\"\n"));
        for sender in kmcr_synth::hl7v2_senders().into_iter().filter(|sender| sender.ods_code == ods) {
            config.push_str(&format!(
                "[[organisations.mllp_feeds]]\nsending_application = \"{}\"\nsending_facility = \"{ods}\"\n",
                sender.sending_application
            ));
        }
    }
    config
}

/// Sends the files with `kmcr feeds send`, then finds each sender's messages accepted once, and each patient, with
/// the NHS number PID-3 gave and a visit per visit number, through the FHIR API as the client of `form`.
fn send_and_find(
    server: &crate::Server,
    form: &str,
    database: &str,
    files: &[std::path::PathBuf],
    contents: &[FileContents],
) {
    let n_messages: usize = contents.iter().flat_map(|file| file.n_messages_by_sender.values()).sum();
    assert!(n_messages > 30, "12 people's trusts send a few messages each: {n_messages}");
    let address = server.mllp_address.clone().expect("the server listens for MLLP");
    let mut args = vec!["feeds", "send", "--to", &address, "--window", "16"];
    args.extend(files.iter().map(|file| file.to_str().unwrap()));
    let (sent, printed) = kmcr(&args);
    assert!(sent, "{database}: {printed}");
    let all = format!("all files: {n_messages} messages: AA {n_messages}, AE 0, AR 0");
    assert!(printed.contains(&all), "{database}: {printed}");

    let (_, status) = kmcr(&["feeds", "status", "--database", database]);
    for file in contents {
        for (sender, n) in &file.n_messages_by_sender {
            let ods = sender.split('|').nth(1).unwrap();
            let line = format!("{sender}\t{ods}\t{n}\t0\t0\t");
            assert!(status.lines().any(|status| status.starts_with(&line)), "{database}: {status}");
        }
    }

    let (_, token) =
        http(&server.address, "POST", "/oauth/token", &[("Content-Type", "application/x-www-form-urlencoded")], form);
    let bearer = format!("Bearer {}", json_of(&token)["access_token"].as_str().unwrap());
    let mut n_patients = 0;
    for (file, ods) in contents.iter().zip(TRUSTS) {
        for (local, (nhs_number, visits)) in &file.visits_by_patient {
            let id = patient_id(ods, &format!("https://fhir.kmcr.nhs.uk/Id/{ods}/{ods}"), local);
            let (status, patient) =
                http(&server.address, "GET", &format!("/fhir/Patient/{id}"), &[("Authorization", &bearer)], "");
            assert_eq!(status, 200, "{database} {ods} {local}: {patient}");
            assert_eq!(json_of(&patient)["identifier"][0]["value"], nhs_number.as_str(), "{ods} {local}");
            n_patients += 1;
            if ods == "RXY" {
                continue;
            }
            let path = format!("/fhir/Encounter?patient={id}&_count=100");
            let (status, encounters) = http(&server.address, "GET", &path, &[("Authorization", &bearer)], "");
            assert_eq!(status, 200, "{encounters}");
            let encounters = json_of(&encounters);
            // A search by patient reaches every record linked to the person: this trust's visits are those here.
            let visit_system = format!("https://fhir.kmcr.nhs.uk/Id/{ods}/visit");
            let found: BTreeSet<String> = encounters["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|entry| &entry["resource"]["identifier"][0])
                .filter(|identifier| identifier["system"] == visit_system.as_str())
                .map(|identifier| identifier["value"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(&found, visits, "{database} {ods} {local}: a visit per visit number");
        }
    }
    assert!(n_patients >= 5, "{n_patients}");
}
