//! ODS codes: the Organisation Data Service identifiers of NHS and care organisations.

use std::fmt;

/// The identifier system of ODS organisation codes in FHIR.
pub const ODS_CODE_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// An ODS organisation code: 3 to 10 upper-case letters and digits (e.g. `RVV`, `RVV01`, `M85001`, `G3S`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct OdsCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OdsCodeError {
    #[error("an ODS code is 3 to 10 upper-case letters and digits")]
    Malformed,
}

impl OdsCode {
    pub fn parse(text: &str) -> Result<OdsCode, OdsCodeError> {
        let well_formed = (3..=10).contains(&text.len())
            && text.bytes().all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit());
        if well_formed { Ok(OdsCode(text.to_string())) } else { Err(OdsCodeError::Malformed) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OdsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
