//! From HL7 v2 to FHIR R4 (UK Core), pure. Each mapping is written once here and shown by snapshot tests.
//!
//! An HL7 v2 update says three things of each field: nothing (omitted: keep what is stored), `""` (clear it), or a
//! value (set it). [`Change`] keeps the three apart, and [`patient::apply_patient`] applies them to the Patient
//! already stored, so that an A08 or A31 that omits the address does not erase it.

pub mod clinical;
pub mod documents;
pub mod encounter;
pub mod patient;
pub mod results;

/// The id of a resource a message becomes: the first 16 bytes of the SHA-256 of its key parts (the sender's ODS code
/// first), so that every message about the same thing updates one resource and no identifier reaches a URL.
pub fn digest_id(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(parts.join("|").as_bytes());
    format!("hl7-{}", digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect::<String>())
}

/// What a message says of one element.
#[derive(Clone, Debug, PartialEq)]
pub enum Change<T> {
    /// Omitted: leave what is stored.
    Keep,
    /// `""`: remove what is stored.
    Clear,
    Set(T),
}

impl<T> Change<T> {
    /// Applies the change to a stored value.
    pub fn apply_to(self, stored: Option<T>) -> Option<T> {
        match self {
            Change::Keep => stored,
            Change::Clear => None,
            Change::Set(value) => Some(value),
        }
    }
}

/// An error at one field of one segment (`position` counted from 1, as ERR-2 counts segments).
pub(crate) fn error_at(
    segment: &crate::message::Segment,
    position: usize,
    field: usize,
    code: &'static str,
    reason: impl Into<String>,
) -> crate::ack::MessageError {
    crate::ack::MessageError {
        location: Some(crate::ack::ErrorLocation {
            segment_id: segment.id.clone(),
            segment_position: position,
            field: Some(field),
        }),
        code,
        reason: reason.into(),
    }
}
