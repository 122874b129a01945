//! FHIR R4 domain types that KMCR reasons about, parsed once at the boundary.
//!
//! Resources themselves stay `serde_json::Value`: KMCR stores and returns FHIR JSON as sent, and reads only the parts it
//! reasons about through typed views (see ARCHITECTURE.md, "Why serde_json values").

pub mod instant;
pub mod nhs_number;
pub mod ods_code;
pub mod resource_id;
pub mod resource_type;
pub mod structure;
pub mod validate;

pub use instant::Instant;
pub use nhs_number::{NHS_NUMBER_SYSTEM, NhsNumber, NhsNumberError};
pub use ods_code::{ODS_CODE_SYSTEM, OdsCode, OdsCodeError};
pub use resource_id::{ResourceId, ResourceIdError};
pub use resource_type::{ResourceType, UnknownResourceType};
pub use validate::{ValidationError, validate_resource};
