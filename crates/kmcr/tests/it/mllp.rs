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

fn msa(ack: &Message) -> (String, String) {
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
