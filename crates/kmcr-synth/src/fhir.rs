//! Small builders of FHIR JSON fragments shared by every generator.

use crate::codes::{Code, UCUM};
use crate::json::Json;
use crate::organisations::Organisation;
use crate::rng::Rng;

/// `urn:uuid:` and a version 4 UUID drawn from `rng`.
pub(crate) fn urn_uuid(rng: &mut Rng) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut text = String::with_capacity(45);
    text.push_str("urn:uuid:");
    for (byte_idx, byte) in bytes.iter().enumerate() {
        if matches!(byte_idx, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

/// `Type?identifier=system|value`: the URL of a conditional update, and the form of a conditional reference.
pub(crate) fn conditional_url(resource_type: &str, system: &str, value: &str) -> String {
    let mut url = String::with_capacity(resource_type.len() + system.len() + value.len() + 13);
    url.push_str(resource_type);
    url.push_str("?identifier=");
    url.push_str(system);
    url.push('|');
    url.push_str(value);
    url
}

/// A conditional reference to an organisation by its ODS code, resolved by the server within the transaction.
pub(crate) fn organisation_reference(organisation: &Organisation) -> Json {
    object! {
        "reference": conditional_url("Organization", kmcr_fhir::ODS_CODE_SYSTEM, organisation.ods_code),
        "display": organisation.name,
    }
}

pub(crate) fn reference(url: &str) -> Json {
    object! { "reference": url.to_string() }
}

/// A CodeableConcept of one coding.
pub(crate) fn concept(code: &'static Code) -> Json {
    Json::Concept(std::slice::from_ref(code))
}

/// A CodeableConcept of several codings for the same meaning (SNOMED CT and LOINC).
pub(crate) fn concept_of(codes: &'static [Code]) -> Json {
    Json::Concept(codes)
}

pub(crate) fn system_concept(system: &'static str, code: &'static str, display: &'static str) -> Json {
    Json::SimpleConcept(system, code, display)
}

/// A UCUM quantity; whole numbers are written without a fraction.
pub(crate) fn quantity(value: f64, unit: &'static str, ucum_code: &'static str) -> Json {
    object! { "value": number(value), "unit": unit, "system": UCUM, "code": ucum_code }
}

/// A JSON number rounded to one decimal place, or an integer when it is whole.
pub(crate) fn number(value: f64) -> Json {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 { Json::from(rounded as i64) } else { Json::from(rounded) }
}

/// Standard base64 with padding (RFC 4648), for attachment data.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = u32::from(chunk[0]);
        let b1 = u32::from(*chunk.get(1).unwrap_or(&0));
        let b2 = u32::from(*chunk.get(2).unwrap_or(&0));
        let triple = (b0 << 16) | (b1 << 8) | b2;
        text.push(char::from(ALPHABET[(triple >> 18) as usize & 63]));
        text.push(char::from(ALPHABET[(triple >> 12) as usize & 63]));
        text.push(if chunk.len() > 1 { char::from(ALPHABET[(triple >> 6) as usize & 63]) } else { '=' });
        text.push(if chunk.len() > 2 { char::from(ALPHABET[triple as usize & 63]) } else { '=' });
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn urn_uuids_are_version_4() {
        let url = urn_uuid(&mut Rng::from_words(&[1]));
        assert_eq!(url.len(), 45);
        assert_eq!(&url[23..24], "4");
        assert!(matches!(&url[28..29], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn numbers_drop_a_zero_fraction() {
        assert_eq!(number(120.0), Json::Integer(120));
        assert_eq!(number(26.44), Json::Float(26.4));
    }
}
