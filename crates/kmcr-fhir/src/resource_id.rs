//! FHIR logical ids: `[A-Za-z0-9\-\.]{1,64}`.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ResourceId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceIdError {
    #[error("a resource id is 1 to 64 characters, each a letter, digit, '-' or '.'")]
    Malformed,
}

impl ResourceId {
    pub fn parse(text: &str) -> Result<ResourceId, ResourceIdError> {
        let well_formed = (1..=64).contains(&text.len())
            && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.');
        if well_formed { Ok(ResourceId(text.to_string())) } else { Err(ResourceIdError::Malformed) }
    }

    /// A new random id in UUID v4 form, as servers assign on create.
    pub fn new_random(random_bytes: [u8; 16]) -> ResourceId {
        let mut bytes = random_bytes;
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        ResourceId(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
