//! Delimiters, escapes, character sets, line ends and the difference between omitted and `""`.

use kmcr_hl7v2::{DecodeError, Message, Value, decode};

fn parse(text: &str) -> Message {
    Message::parse(text).unwrap_or_else(|error| panic!("{error}"))
}

const HEADER: &str = "MSH|^~\\&|PAS|RVV|KMCR|KMCR|20261207101500||ADT^A08^ADT_A01|MSG-1|P|2.4";

#[test]
fn an_omitted_field_is_not_an_emptied_one() {
    let message = parse(&format!("{HEADER}\rPID|1||9434765919^^^NHS^NH||Smith^Anne||19800101|F|||\"\"|||||||\r"));
    let pid = message.segment("PID").unwrap();
    assert_eq!(pid.get(11, 1), Value::Null, "PID-11 \"\": the address is to be emptied");
    assert!(pid.is_null(11));
    assert_eq!(pid.get(13, 1), Value::Omitted, "PID-13 omitted: the phone stays as it is");
    assert!(!pid.is_null(13));
    assert_eq!(pid.get(30, 1), Value::Omitted, "a field past the end is omitted");
    assert_eq!(pid.repetitions(13), 0);
    assert_eq!(pid.text(3, 4), Some("NHS"));
}

#[test]
fn every_escape_sequence_is_read() {
    let message = parse(&format!(
        "{HEADER}\rNTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f|line one\\.br\\line two|\\H\\bold\\N\\ \\X4361726C\\ \\X0D0A\\end|\\Zlocal\\ kept|open \\F"
    ));
    let note = message.segment("NTE").unwrap();
    assert_eq!(note.text(3, 1), Some("a|b^c&d~e\\f"));
    assert_eq!(note.text(4, 1), Some("line one\nline two"));
    assert_eq!(note.text(5, 1), Some("bold Carl \r\nend"));
    assert_eq!(note.text(6, 1), Some("\\Zlocal\\ kept"), "an escape not understood is kept as written");
    assert_eq!(note.text(7, 1), Some("open \\F"), "an escape left open is kept as written");
}

#[test]
fn the_delimiters_are_whatever_msh_declares() {
    let message = parse(
        "MSH#$*@%#PAS#RVV#KMCR#KMCR#20261207#\"\"#ADT$A04#M2#P#2.3\rPID#1##123$$$NHS*456$$$MR##Jones%Jr$Tom#x@F@y",
    );
    assert_eq!(message.message_type(), (Some("ADT"), Some("A04")));
    let pid = message.segment("PID").unwrap();
    assert_eq!(pid.value(3, 2, 1, 1), Value::Text("456"));
    assert_eq!(pid.value(5, 1, 1, 2), Value::Text("Jr"));
    assert_eq!(pid.text(6, 1), Some("x#y"), "the escape character of this message");
    assert_eq!(message.header().get(8, 1), Value::Null);
}

#[test]
fn segments_end_with_cr_lf_or_cr_lf_and_a_byte_order_mark_is_dropped() {
    let body = "PID|1||123^^^NHS\rPV1|1|I";
    for separator in ["\r", "\n", "\r\n"] {
        let text = format!("\u{feff}{HEADER}{separator}{}{separator}{separator}", body.replace('\r', separator));
        let bytes = text.into_bytes();
        let message = Message::parse(&decode(&bytes).unwrap()).unwrap();
        let ids: Vec<&str> = message.segments.iter().map(|segment| segment.id.as_str()).collect();
        assert_eq!(ids, ["MSH", "PID", "PV1"], "{separator:?}");
    }
}

#[test]
fn character_sets_are_read_as_msh_18_says_and_others_refused() {
    let latin =
        [b"MSH|^~\\&|PAS|RVV|KMCR|KMCR|20261207||ADT^A28|M3|P|2.4||||||8859/1\rPID|1||1||Ren\xE9e^Zo\xEB".as_slice()]
            .concat();
    let message = Message::parse(&decode(&latin).unwrap()).unwrap();
    assert_eq!(message.segment("PID").unwrap().text(5, 1), Some("Renée"));
    let utf8 = "MSH|^~\\&|PAS|RVV|KMCR|KMCR|20261207||ADT^A28|M4|P|2.5||||||UNICODE UTF-8\rPID|1||1||Zoë";
    let message = Message::parse(&decode(utf8.as_bytes()).unwrap()).unwrap();
    assert_eq!(message.segment("PID").unwrap().text(5, 1), Some("Zoë"));
    let declared_utf8_but_not =
        [b"MSH|^~\\&|A|B|C|D|1||ADT^A28|M5|P|2.5||||||UNICODE UTF-8\rPID|1||\xE9".as_slice()].concat();
    assert!(matches!(decode(&declared_utf8_but_not), Err(DecodeError::NotUtf8(_))));
    let japanese = b"MSH|^~\\&|A|B|C|D|1||ADT^A28|M6|P|2.5||||||ISO IR87\rPID|1";
    assert_eq!(decode(japanese), Err(DecodeError::UnsupportedCharacterSet("ISO IR87".into())));
    let undeclared_latin = b"MSH|^~\\&|A|B|C|D|1||ADT^A28|M7|P|2.4\rPID|1||1||Ren\xE9e";
    let message = Message::parse(&decode(undeclared_latin).unwrap()).unwrap();
    assert_eq!(message.segment("PID").unwrap().text(5, 1), Some("Renée"), "not UTF-8, so 8859/1");
}

#[test]
fn what_is_not_a_message_is_refused_with_where_and_why() {
    assert!(matches!(decode(b"PID|1"), Err(DecodeError::NoHeader)));
    let error = Message::parse(&format!("{HEADER}\rPID|1\rthis is not a segment\rPV1|1")).unwrap_err();
    assert_eq!(error.segment_position, 3);
    assert!(error.reason.contains("not a segment"), "{error}");
    let error = Message::parse("MSH|^^\\&|A").unwrap_err();
    assert_eq!((error.segment_id.as_str(), error.field), ("MSH", Some(2)), "{error}");
    let error = Message::parse(&format!("{HEADER}\rPID|1\r{HEADER}")).unwrap_err();
    assert!(error.reason.contains("second MSH"), "{error}");
}
