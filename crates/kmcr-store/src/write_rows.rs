//! What a write puts into the tables, worked out without touching the database (shared by both backends).

use kmcr_fhir::{Instant, ResourceId, ResourceType};
use kmcr_fhir_search::{IndexEntry, IndexValue};
use serde_json::{Map, Value};

use crate::query::ParamIds;

/// One search index row, before its reference target (if any) has a key.
#[derive(Clone, Debug)]
pub enum IndexRow {
    Token { param_id: i64, system: Option<String>, code: Option<String>, display_text: Option<String> },
    String { param_id: i64, normalized: String, exact: String },
    Date { param_id: i64, low_ms: i64, high_ms: i64 },
    Reference { param_id: i64, target: Option<(ResourceType, String)>, url: Option<String> },
    Quantity { param_id: i64, value: f64, system: Option<String>, code: Option<String> },
    Number { param_id: i64, value: f64 },
    Uri { param_id: i64, uri: String },
}

/// Every table that holds index rows, to delete a resource's rows from all of them.
pub const INDEX_TABLES: &[&str] =
    &["idx_token", "idx_string", "idx_date", "idx_reference", "idx_quantity", "idx_number", "idx_uri"];

/// The index rows of `entries`, dropping entries of parameters the store has no id for (never expected: every
/// parameter of the registry is registered at start).
pub fn index_rows(params: &ParamIds, resource_type: ResourceType, entries: Vec<IndexEntry>) -> Vec<IndexRow> {
    let mut rows = Vec::with_capacity(entries.len());
    for entry in entries {
        let Some(param_id) = params.id(resource_type, entry.param_code) else {
            tracing::warn!(resource_type = resource_type.as_str(), param = entry.param_code, "unregistered parameter");
            continue;
        };
        rows.push(match entry.value {
            IndexValue::Token { system, code, display_text } => {
                IndexRow::Token { param_id, system, code, display_text }
            }
            IndexValue::String { normalized, exact } => IndexRow::String { param_id, normalized, exact },
            IndexValue::Date { low_ms, high_ms } => IndexRow::Date { param_id, low_ms, high_ms },
            IndexValue::Reference { target_type, target_id, url } => {
                let target = match (target_type.as_deref().map(ResourceType::parse), target_id) {
                    (Some(Ok(target_type)), Some(target_id)) if ResourceId::parse(&target_id).is_ok() => {
                        Some((target_type, target_id))
                    }
                    _ => None,
                };
                if target.is_none() && url.is_none() {
                    continue;
                }
                IndexRow::Reference { param_id, target, url }
            }
            IndexValue::Quantity { value, system, code, unit } => {
                IndexRow::Quantity { param_id, value, system, code: code.or(unit) }
            }
            IndexValue::Number { value } => IndexRow::Number { param_id, value },
            IndexValue::Uri { uri } => IndexRow::Uri { param_id, uri },
        });
    }
    rows
}

/// Sets `id`, `meta.versionId` and `meta.lastUpdated` as the store assigns them, and returns the JSON text to store.
pub fn stamp_and_serialise(mut resource: Value, id: &ResourceId, version_id: i64, last_updated: Instant) -> String {
    let object = resource.as_object_mut().expect("resources are validated as objects before they reach the store");
    object.insert("id".into(), Value::String(id.as_str().to_string()));
    let meta = object.entry("meta").or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    let meta = meta.as_object_mut().expect("meta was just made an object");
    meta.insert("versionId".into(), Value::String(version_id.to_string()));
    meta.insert("lastUpdated".into(), Value::String(last_updated.to_string()));
    // resourceType first, as every FHIR server writes it; serde_json keeps insertion order.
    if let Some(resource_type) = object.shift_remove("resourceType") {
        let mut ordered = Map::with_capacity(object.len() + 1);
        ordered.insert("resourceType".into(), resource_type);
        ordered.extend(std::mem::take(object));
        *object = ordered;
    }
    serde_json::to_string(&resource).expect("a JSON value always serialises")
}
