//! Every message in the shared HL7 v2 test material decodes and parses, and what it says can be read.

use kmcr_hl7v2::{Message, Value, decode};

fn samples() -> Vec<(String, Vec<u8>)> {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/hl7v2");
    let mut files: Vec<_> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(path).unwrap()))
        .collect()
}

/// A file may hold several messages: each starts at a line beginning with MSH.
fn messages_of(text: &str) -> Vec<String> {
    let mut messages: Vec<String> = Vec::new();
    for line in text.split(['\r', '\n']).filter(|line| !line.trim().is_empty()) {
        let line = line.trim_start_matches('\u{feff}');
        if line.starts_with("MSH") || messages.is_empty() {
            messages.push(String::new());
        }
        let message = messages.last_mut().unwrap();
        message.push_str(line);
        message.push('\r');
    }
    messages
}

/// Every message of the shared material, parsed, with the name of its file (all of them parse: see the test below).
pub fn shared_messages() -> Vec<(String, Message)> {
    let mut parsed = Vec::new();
    for (name, bytes) in samples() {
        for text in messages_of(&decode(&bytes).unwrap()) {
            parsed.push((name.clone(), Message::parse(&text).unwrap()));
        }
    }
    parsed
}

#[test]
fn every_shared_sample_decodes_and_parses() {
    let samples = samples();
    assert_eq!(samples.len(), 139, "the shared material holds 139 files");
    let mut n_messages = 0;
    for (name, bytes) in samples {
        let text = decode(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
        for message_text in messages_of(&text) {
            let message = Message::parse(&message_text).unwrap_or_else(|error| panic!("{name}: {error}"));
            let (code, _) = message.message_type();
            assert!(code.is_some(), "{name}: MSH-9 names the message type");
            assert!(message.control_id().is_some(), "{name}: MSH-10");
            assert!(message.segments.len() > 1, "{name}: more than a header");
            n_messages += 1;
        }
    }
    assert!(n_messages >= 139, "{n_messages}");
}

#[test]
fn an_admission_reads_as_its_sender_wrote_it() {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/hl7v2/ADT-A01-01.hl7"),
    )
    .unwrap();
    let message = Message::parse(&decode(&bytes).unwrap()).unwrap();
    assert_eq!(message.message_type(), (Some("ADT"), Some("A01")));
    assert_eq!(message.control_id(), Some("MSG00001"));
    assert_eq!(message.version(), Some("2.8"));
    let pid = message.segment("PID").unwrap();
    // PID-3: two identifiers, the second with its assigning authority in CX.4.
    assert_eq!(pid.repetitions(3), 2);
    assert_eq!(pid.value(3, 2, 1, 1), Value::Text("123456789"));
    assert_eq!(pid.value(3, 2, 4, 1), Value::Text("USSSA"));
    // PID-3.4 of the first: sub-components.
    assert_eq!(pid.value(3, 1, 4, 2), Value::Text("2.16.1"));
    // PID-5: family name as the first sub-component of XPN.1, the given name in the second component.
    assert_eq!(pid.value(5, 1, 1, 1), Value::Text("EVERYMAN"));
    assert_eq!(pid.value(5, 1, 2, 1), Value::Text("ADAM"));
    assert_eq!(pid.text(8, 1), Some("M"));
    // An escaped sub-component separator inside PV1-14, the admit source.
    let pv1 = message.segment("PV1").unwrap();
    assert_eq!(pv1.text(14, 1), Some("NHS Provider-General (inc.A&E-this Hosp)"), "PV1-14");
    assert_eq!(pv1.get(60, 1), Value::Omitted, "beyond the last field");
}
