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

    /// A new id in UUID v7 form, as the server assigns on create: the time in milliseconds, then 74 random bits.
    /// Ids made later sort later, so the store's index of ids grows at its end instead of at random places.
    pub fn new_time_ordered(unix_ms: u64, random_bytes: [u8; 10]) -> ResourceId {
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&unix_ms.to_be_bytes()[2..]);
        bytes[6..].copy_from_slice(&random_bytes);
        bytes[6] = (bytes[6] & 0x0f) | 0x70;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        ResourceId::from_uuid_bytes(bytes)
    }

    fn from_uuid_bytes(bytes: [u8; 16]) -> ResourceId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(36);
        for (idx, byte) in bytes.iter().enumerate() {
            if matches!(idx, 4 | 6 | 8 | 10) {
                text.push('-');
            }
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        ResourceId(text)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ordered_ids_are_valid_and_sort_by_time() {
        let earlier = ResourceId::new_time_ordered(1_700_000_000_000, [0xff; 10]);
        let later = ResourceId::new_time_ordered(1_700_000_000_001, [0x00; 10]);
        assert!(earlier.as_str() < later.as_str());
        assert_eq!(ResourceId::parse(earlier.as_str()), Ok(earlier.clone()));
        assert_eq!(earlier.as_str().len(), 36);
        assert_eq!(&earlier.as_str()[14..15], "7", "UUID version 7");
        let spelled = ResourceId::new_time_ordered(
            0x0123_4567_89ab,
            [0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef],
        );
        assert_eq!(
            spelled.as_str(),
            "01234567-89ab-7def-8123-456789abcdef",
            "hex digits and dashes where RFC 9562 puts them"
        );
    }
}
