//! Integration tests of kmcr-fhir-search, one binary (see STYLE.md): the official R4 material first, then tables of
//! inputs and expected outputs per feature.

mod compartment;
mod dates;
mod extract;
mod fhirpath;
mod official_examples;
mod parse;
mod render;
mod sourcegen;
mod synthea;
mod text;

use std::path::{Path, PathBuf};

/// `../shared/data/<relative>`, the external test material (never read by the product).
pub fn shared_data(relative: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")).join(relative)
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}
