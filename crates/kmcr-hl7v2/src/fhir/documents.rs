//! MDM^T02 (and T04, T06, T08, T10, T11 with content) to a UK Core DocumentReference: TXA-12 the document's unique
//! number (its id is a digest of it and the sender), TXA-2 its type, TXA-4 when it was written, TXA-17 its completion
//! status; the content from OBX-5: text lines (TX, ST, FT) joined, or an encapsulated document (ED, base64) with its
//! media type. A document is sent whole: a later version replaces what is stored under the same id; T11 cancels it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kmcr_fhir::ODS_CODE_SYSTEM;
use serde_json::{Value as Json, json};

use crate::ack::{ErrorLocation, MessageError};
use crate::message::Message;

/// The DocumentReference a document message becomes.
pub fn document_reference(message: &Message, sender_ods_code: &str, patient_id: &str) -> Result<Json, MessageError> {
    let Some(position) = message.segments.iter().position(|segment| segment.id == "TXA") else {
        return Err(MessageError { location: None, code: "100", reason: "the message has no TXA segment".into() });
    };
    let txa = &message.segments[position];
    let location =
        |field| Some(ErrorLocation { segment_id: "TXA".into(), segment_position: position + 1, field: Some(field) });
    let Some(number) = txa.text(12, 1) else {
        return Err(MessageError {
            location: location(12),
            code: "101",
            reason: "TXA-12, the document's unique number, is required".into(),
        });
    };
    let id = super::digest_id(&[sender_ods_code, "document", number]);
    let (_, event) = message.message_type();
    let cancelled = event == Some("T11");
    let doc_status = match txa.text(17, 1) {
        Some("AU" | "LA") => "final",
        Some("DI" | "DO" | "IP" | "IN" | "PA") => "preliminary",
        _ => "final",
    };
    let mut lines = Vec::new();
    let mut attachment = None;
    for obx in message.segments.iter().filter(|segment| segment.id == "OBX") {
        match obx.text(2, 1) {
            Some("TX" | "ST" | "FT") => {
                lines.extend((1..=obx.repetitions(5)).filter_map(|repetition| obx.value(5, repetition, 1, 1).text()));
            }
            Some("ED") => {
                let media = [obx.text(5, 2), obx.text(5, 3)];
                let encoded = obx.text(5, 5);
                if let Some(data) =
                    encoded.filter(|_| obx.text(5, 4).is_some_and(|encoding| encoding.eq_ignore_ascii_case("Base64")))
                {
                    let cleaned: String = data.chars().filter(|character| !character.is_whitespace()).collect();
                    if STANDARD.decode(&cleaned).is_err() {
                        return Err(MessageError {
                            location: None,
                            code: "102",
                            reason: "OBX-5 holds an encapsulated document that is not valid base64".into(),
                        });
                    }
                    let content_type = match media {
                        [Some(kind), Some(subtype)] => {
                            format!("{}/{}", kind.to_ascii_lowercase(), subtype.to_ascii_lowercase())
                        }
                        _ => "application/octet-stream".into(),
                    };
                    attachment = Some(json!({ "contentType": content_type, "data": cleaned }));
                }
            }
            _ => {}
        }
    }
    let attachment = match attachment {
        Some(attachment) => attachment,
        None if !lines.is_empty() => {
            json!({ "contentType": "text/plain; charset=utf-8", "data": STANDARD.encode(lines.join("\n")) })
        }
        None if cancelled => json!({ "contentType": "text/plain; charset=utf-8", "data": "" }),
        None => {
            return Err(MessageError {
                location: None,
                code: "101",
                reason: "the document has no content: no OBX with text (TX, ST, FT) or a base64 document (ED)".into(),
            });
        }
    };
    let mut document = json!({
        "resourceType": "DocumentReference",
        "id": id,
        "masterIdentifier": { "system": format!("https://fhir.kmcr.nhs.uk/Id/{sender_ods_code}/document"), "value": number },
        "status": if cancelled { "entered-in-error" } else { "current" },
        "docStatus": doc_status,
        "subject": { "reference": format!("Patient/{patient_id}") },
        "custodian": { "identifier": { "system": ODS_CODE_SYSTEM, "value": sender_ods_code } },
        "content": [{ "attachment": attachment }],
    });
    if let Some(kind) = txa.text(2, 1) {
        let text = txa.text(2, 2).unwrap_or(kind);
        document["type"] = json!({ "coding": [{ "system": "urn:hl7v2:table:0270", "code": kind }], "text": text });
    }
    // DocumentReference.date is an instant: written only when TXA-4 gives a time with its zone.
    if let Some(date) = txa.text(4, 1).and_then(super::patient::fhir_date_time).filter(|date| date.contains('T')) {
        document["date"] = json!(date);
    }
    Ok(document)
}
