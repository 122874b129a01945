//! Index values of a resource for every search parameter of its type.

use serde_json::Value;

use crate::{IndexEntry, SearchParamRegistry};

pub fn extract_index_entries(registry: &SearchParamRegistry, resource: &Value) -> Vec<IndexEntry> {
    let _ = (registry, resource);
    Vec::new()
}
