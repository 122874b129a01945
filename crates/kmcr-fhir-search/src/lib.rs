//! FHIR R4 search, as pure functions: which search parameters exist (the official R4 definitions), which index values a
//! resource yields for them (a FHIRPath subset), and what a search request asks for (parsed and checked).
//!
//! Storage crates turn a [`SearchRequest`] into SQL; nothing here knows about SQL, HTTP or I/O.

pub mod extract;
pub mod fhirpath;
mod official_r4_params;
pub mod parse;
pub mod registry;
pub mod types;

pub use extract::extract_index_entries;
pub use parse::{SearchParseError, parse_search};
pub use registry::SearchParamRegistry;
pub use types::*;
