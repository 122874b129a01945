//! Acknowledgements (original mode): MSA-1 AA, AE or AR; MSA-2 echoing the message's MSH-10; an ERR segment saying
//! where and why, written both as 2.5 does (ERR-2 location, ERR-3 code, ERR-4 severity, ERR-8 text) and as 2.3 and 2.4
//! read it (ERR-1), so that an older engine shows the reason too.

use crate::message::{Delimiters, Message};

/// MSA-1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckCode {
    /// AA: the message and all derived from it are durably kept.
    Accept,
    /// AE: the message was refused for what it holds; sending it again unchanged will not help.
    Error,
    /// AR: the message was refused unread (an unknown sender, an unsupported type or version, a fault of the receiver).
    Reject,
}

impl AckCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::Accept => "AA",
            AckCode::Error => "AE",
            AckCode::Reject => "AR",
        }
    }
}

/// Where in the message an error lies (ERR-2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorLocation {
    pub segment_id: String,
    /// The segment's position in the message, from 1.
    pub segment_position: usize,
    pub field: Option<usize>,
}

/// An error to report (ERR): where, the HL7 table 0357 code (`101` required field missing, `102` data type error,
/// `200` unsupported message type, `207` application internal error, ...), and a reason a person can act on. The
/// reason names fields and rules, never the patient data in them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageError {
    pub location: Option<ErrorLocation>,
    pub code: &'static str,
    pub reason: String,
}

/// The ACK of `message` (or of bytes that did not parse, `None`). `control_id` is the ACK's own MSH-10, `at` the time
/// its MSH-7 gives (`YYYYMMDDHHMMSS`, UTC).
pub fn acknowledgement(
    message: Option<&Message>,
    code: AckCode,
    error: Option<&MessageError>,
    control_id: &str,
    at: kmcr_fhir::Instant,
) -> String {
    let timestamp: String = at.to_string().chars().filter(char::is_ascii_digit).take(14).collect();
    let delimiters = message.map(|message| message.delimiters.clone()).unwrap_or_default();
    let header = message.map(Message::header);
    let field = |number, component| header.and_then(|header| header.text(number, component)).unwrap_or_default();
    let escaped = |text: &str| escape_text(text, &delimiters);
    let (f, c) = (delimiters.field, delimiters.component);
    let trigger = field(9, 2);
    let mut ack = format!(
        "MSH{f}{encoding}{f}{receiving_application}{f}{receiving_facility}{f}{sending_application}{f}\
         {sending_facility}{f}{timestamp}{f}{f}ACK{c}{trigger}{c}ACK{f}{control_id}{f}{processing}{f}{version}\r",
        encoding = delimiters.encoding_characters(),
        receiving_application = escaped(field(5, 1)),
        receiving_facility = escaped(field(6, 1)),
        sending_application = escaped(field(3, 1)),
        sending_facility = escaped(field(4, 1)),
        trigger = escaped(trigger),
        control_id = escaped(control_id),
        processing = escaped(header.and_then(|header| header.text(11, 1)).unwrap_or("P")),
        version = escaped(header.and_then(|header| header.text(12, 1)).unwrap_or("2.4")),
    );
    let echoed = escaped(message.and_then(Message::control_id).unwrap_or_default());
    ack.push_str(&format!("MSA{f}{}{f}{echoed}", code.as_str()));
    if let Some(error) = error {
        let reason = escaped(&error.reason);
        ack.push_str(&format!("{f}{}\r", reason));
        let s = delimiters.subcomponent;
        let (segment_id, position, field_number) = match &error.location {
            Some(location) => (
                location.segment_id.as_str(),
                location.segment_position.to_string(),
                location.field.map(|field| field.to_string()).unwrap_or_default(),
            ),
            None => ("", String::new(), String::new()),
        };
        let code = error.code;
        ack.push_str(&format!(
            "ERR{f}{segment_id}{c}{position}{c}{field_number}{c}{code}{s}{reason}{s}HL70357{f}\
             {segment_id}{c}{position}{c}{field_number}{f}{code}{c}{reason}{c}HL70357{f}E{f}{f}{f}{f}{reason}\r"
        ));
    } else {
        ack.push('\r');
    }
    ack
}

/// Text written into a field: each delimiter replaced by its escape.
fn escape_text(text: &str, delimiters: &Delimiters) -> String {
    let Some(escape) = delimiters.escape else {
        return text
            .replace([delimiters.field, delimiters.component, delimiters.repetition, delimiters.subcomponent], " ");
    };
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        let code = match character {
            _ if character == escape => Some('E'),
            _ if character == delimiters.field => Some('F'),
            _ if character == delimiters.component => Some('S'),
            _ if character == delimiters.subcomponent => Some('T'),
            _ if character == delimiters.repetition => Some('R'),
            '\r' | '\n' => {
                escaped.push(escape);
                escaped.push_str(".br");
                escaped.push(escape);
                continue;
            }
            _ => None,
        };
        match code {
            Some(code) => {
                escaped.push(escape);
                escaped.push(code);
                escaped.push(escape);
            }
            None => escaped.push(character),
        }
    }
    escaped
}
