//! ACKs echo the message, say AA, AE or AR, and carry where and why in ERR; they parse as messages themselves.

use kmcr_hl7v2::{AckCode, ErrorLocation, Message, MessageError, acknowledgement};

/// 7 December 2026, 10:15:01 UTC.
fn at() -> kmcr_fhir::Instant {
    kmcr_fhir::Instant::from_unix_ms(1_796_638_501_000)
}

const MESSAGE: &str = "MSH|^~\\&|PAS|RVV|KMCR|KMCR-HUB|20261207101500||ADT^A01^ADT_A01|MSG-42|P|2.4\rPID|1||123^^^NHS";

#[test]
fn an_accepting_ack_echoes_the_control_id_and_answers_the_sender() {
    let message = Message::parse(MESSAGE).unwrap();
    let text = acknowledgement(Some(&message), AckCode::Accept, None, "ACK-1", at());
    let ack = Message::parse(&text).unwrap();
    assert_eq!(ack.message_type(), (Some("ACK"), Some("A01")));
    assert_eq!(ack.control_id(), Some("ACK-1"));
    let header = ack.header();
    assert_eq!((header.text(3, 1), header.text(4, 1)), (Some("KMCR"), Some("KMCR-HUB")), "from the receiver");
    assert_eq!((header.text(5, 1), header.text(6, 1)), (Some("PAS"), Some("RVV")), "to the sender");
    let msa = ack.segment("MSA").unwrap();
    assert_eq!((msa.text(1, 1), msa.text(2, 1)), (Some("AA"), Some("MSG-42")));
    assert!(ack.segment("ERR").is_none());
}

#[test]
fn an_error_ack_says_where_and_why_in_every_version_s_way() {
    let message = Message::parse(MESSAGE).unwrap();
    let error = MessageError {
        location: Some(ErrorLocation { segment_id: "PID".into(), segment_position: 2, field: Some(5) }),
        code: "101",
        reason: "PID-5 (the patient's name) is required | and missing".into(),
    };
    let text = acknowledgement(Some(&message), AckCode::Error, Some(&error), "ACK-2", at());
    let ack = Message::parse(&text).unwrap();
    let msa = ack.segment("MSA").unwrap();
    assert_eq!((msa.text(1, 1), msa.text(2, 1)), (Some("AE"), Some("MSG-42")));
    assert_eq!(msa.text(3, 1), Some("PID-5 (the patient's name) is required | and missing"), "escaped, then read back");
    let err = ack.segment("ERR").unwrap();
    assert_eq!((err.text(2, 1), err.text(2, 2), err.text(2, 3)), (Some("PID"), Some("2"), Some("5")), "ERR-2 (2.5)");
    assert_eq!((err.text(3, 1), err.text(4, 1)), (Some("101"), Some("E")));
    assert_eq!(
        (err.text(1, 1), err.text(1, 3), err.value(1, 1, 4, 1).text()),
        (Some("PID"), Some("5"), Some("101")),
        "ERR-1 (2.3, 2.4)"
    );
}

#[test]
fn bytes_that_are_no_message_are_rejected_with_the_reason() {
    let error = MessageError { location: None, code: "100", reason: "the frame holds no MSH segment".into() };
    let text = acknowledgement(None, AckCode::Reject, Some(&error), "ACK-3", at());
    let ack = Message::parse(&text).unwrap();
    let msa = ack.segment("MSA").unwrap();
    assert_eq!((msa.text(1, 1), msa.text(2, 1)), (Some("AR"), None));
    assert_eq!(ack.segment("ERR").unwrap().text(3, 1), Some("100"));
}
