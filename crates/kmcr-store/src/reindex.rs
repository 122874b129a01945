//! Writing the index rows of stored resources again when what extraction yields has changed, so that a store written
//! by an older KMCR answers searches as a new one would.
//!
//! The store records the index version its rows were written at (`index_state`, migration 6). At open, if that is
//! older than [`INDEX_VERSION`], every current resource of the types that changed since is read back, extracted
//! again and its rows replaced, in batches of [`BATCH_SIZE`] in key order, one transaction each; then the version is
//! raised. A new store has nothing to rewrite and only records the version.
//!
//! Raise [`INDEX_VERSION`] and add to [`types_changed_since`] whenever extraction changes what it yields.

use kmcr_fhir::ResourceType;
use kmcr_fhir_search::{SearchParamRegistry, SearchParamType, extract_index_entries};
use serde_json::Value;

use crate::query::ParamIds;
use crate::write_rows::{IndexRow, index_rows};

/// The version of index extraction this build writes.
///
/// 1: composite parameters are indexed (one row per component); Observation's `combo-` parameters are no longer
/// indexed, being looked up in the rows of the parameters they unite.
pub const INDEX_VERSION: i64 = 1;

/// Resources rewritten per transaction.
pub const BATCH_SIZE: i64 = 500;

/// The types whose index rows must be written again to go from `version` to [`INDEX_VERSION`].
pub fn types_changed_since(version: i64) -> Vec<ResourceType> {
    let registry = SearchParamRegistry::official_r4();
    let mut types = Vec::new();
    if version < 1 {
        let has_composites = |resource_type: &ResourceType| {
            registry.for_type(*resource_type).any(|param| param.param_type == SearchParamType::Composite)
        };
        types.extend(ResourceType::all().filter(has_composites));
    }
    types
}

/// The index rows of a stored resource's JSON, as a write of it today would give; `None` when the JSON does not parse
/// (never expected: the store holds what it was given, validated).
pub fn rows_of_stored(params: &ParamIds, resource_type: ResourceType, body: &str) -> Option<Vec<IndexRow>> {
    let resource: Value = serde_json::from_str(body).ok()?;
    let entries = extract_index_entries(SearchParamRegistry::official_r4(), &resource);
    Some(index_rows(params, resource_type, entries))
}
