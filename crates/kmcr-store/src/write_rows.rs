//! What a write puts into the tables, worked out without touching the database (shared by both backends).

use kmcr_fhir::{Instant, OdsCode, ResourceId, ResourceType};
use kmcr_fhir_search::{IndexEntry, IndexValue};
use serde_json::{Map, Value};

use crate::query::ParamIds;
use crate::{Precondition, WriteAction, WriteOp};

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
///
/// A composite value becomes one row per component, each under the component's own stored code
/// (`code-value-quantity$value-quantity`), at consecutive places: as each backend numbers a resource's rows by their
/// place in its list, component k of a value has the ordinal of its first component plus k, which is how a search
/// finds the components of one value together.
pub fn index_rows(params: &ParamIds, resource_type: ResourceType, entries: Vec<IndexEntry>) -> Vec<IndexRow> {
    let registry = kmcr_fhir_search::SearchParamRegistry::official_r4();
    let mut rows = Vec::with_capacity(entries.len());
    for entry in entries {
        let IndexValue::Composite(values) = entry.value else {
            let Some(param_id) = param_id(params, resource_type, entry.param_code) else { continue };
            rows.extend(index_row(param_id, entry.value));
            continue;
        };
        let components = registry.composite_components(resource_type, entry.param_code);
        let component_rows: Option<Vec<IndexRow>> = components
            .iter()
            .zip(values)
            .map(|(component, value)| index_row(param_id(params, resource_type, component.stored_code)?, value))
            .collect();
        // A value is indexed whole or not at all, so that the places of its rows line up.
        match component_rows {
            Some(component_rows) if component_rows.len() == components.len() => rows.extend(component_rows),
            _ => {}
        }
    }
    rows
}

fn param_id(params: &ParamIds, resource_type: ResourceType, code: &'static str) -> Option<i64> {
    let param_id = params.id(resource_type, code);
    if param_id.is_none() {
        tracing::warn!(resource_type = resource_type.as_str(), param = code, "unregistered parameter");
    }
    param_id
}

/// One value's row; `None` for a reference that names neither a resource (by a valid type and id) nor a URL.
fn index_row(param_id: i64, value: IndexValue) -> Option<IndexRow> {
    Some(match value {
        IndexValue::Token { system, code, display_text } => IndexRow::Token { param_id, system, code, display_text },
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
                return None;
            }
            IndexRow::Reference { param_id, target, url }
        }
        IndexValue::Quantity { value, system, code, unit } => {
            IndexRow::Quantity { param_id, value, system, code: code.or(unit) }
        }
        IndexValue::Number { value } => IndexRow::Number { param_id, value },
        IndexValue::Uri { uri } => IndexRow::Uri { param_id, uri },
        IndexValue::Composite(_) => unreachable!("composites do not nest"),
    })
}

/// A write made ready for the database on the caller's thread, so that the one writer only assigns versions and runs
/// statements.
#[derive(Debug)]
pub struct PreparedOp {
    pub resource_type: ResourceType,
    pub id: ResourceId,
    pub precondition: Precondition,
    pub writer_ods_code: OdsCode,
    pub action: PreparedAction,
}

#[derive(Debug)]
pub enum PreparedAction {
    Put {
        body: BodyTemplate,
        rows: Vec<IndexRow>,
        owning_patient_id: Option<String>,
        sensitivity: i64,
        events: Vec<(kmcr_events::Topic, kmcr_events::Condition)>,
    },
    Delete,
}

pub fn prepare(params: &ParamIds, ops: Vec<WriteOp>) -> Vec<PreparedOp> {
    ops.into_iter()
        .map(|op| {
            let action = match op.action {
                WriteAction::Put { resource, index_entries, owning_patient_id, sensitivity, events } => {
                    PreparedAction::Put {
                        body: BodyTemplate::new(resource, op.resource_type, &op.id),
                        rows: index_rows(params, op.resource_type, index_entries),
                        owning_patient_id,
                        sensitivity,
                        events,
                    }
                }
                WriteAction::Delete => PreparedAction::Delete,
            };
            PreparedOp {
                resource_type: op.resource_type,
                id: op.id,
                precondition: op.precondition,
                writer_ods_code: op.writer_ods_code,
                action,
            }
        })
        .collect()
}

/// The JSON text of a resource with the two values only the writer knows left out: `meta.versionId` and
/// `meta.lastUpdated`. Serialised once, ahead of the writer; rendering is two copies.
///
/// The text is `resourceType`, `id`, `meta` (versionId and lastUpdated first, then the sender's own meta elements),
/// then the other elements in the order sent.
#[derive(Clone, Debug)]
pub struct BodyTemplate {
    /// Up to and including the opening quote of the versionId value.
    head: String,
    /// From the closing quote of the lastUpdated value to the end.
    tail: String,
}

impl BodyTemplate {
    pub fn new(resource: Value, resource_type: ResourceType, id: &ResourceId) -> BodyTemplate {
        let Value::Object(mut object) = resource else {
            unreachable!("resources are validated as objects before they reach the store")
        };
        object.shift_remove("resourceType");
        object.shift_remove("id");
        let mut meta = match object.shift_remove("meta") {
            Some(Value::Object(meta)) => meta,
            _ => Map::new(),
        };
        meta.shift_remove("versionId");
        meta.shift_remove("lastUpdated");
        let mut head = String::with_capacity(64);
        head.push_str("{\"resourceType\":");
        head.push_str(&Value::String(resource_type.as_str().to_string()).to_string());
        head.push_str(",\"id\":");
        head.push_str(&Value::String(id.as_str().to_string()).to_string());
        head.push_str(",\"meta\":{\"versionId\":\"");
        let mut tail = String::from("\"");
        push_members(&mut tail, &meta);
        tail.push('}');
        push_members(&mut tail, &object);
        tail.push('}');
        BodyTemplate { head, tail }
    }

    /// The JSON text as stored and returned.
    pub fn render(&self, version_id: i64, last_updated: Instant) -> String {
        let last_updated = last_updated.to_string();
        let mut text = String::with_capacity(self.head.len() + self.tail.len() + last_updated.len() + 40);
        text.push_str(&self.head);
        text.push_str(&version_id.to_string());
        text.push_str("\",\"lastUpdated\":\"");
        text.push_str(&last_updated);
        text.push_str(&self.tail);
        text
    }
}

/// `,"key":value` for every member of `object`, in order.
fn push_members(text: &mut String, object: &Map<String, Value>) {
    if object.is_empty() {
        return;
    }
    let members = serde_json::to_string(object).expect("a JSON value always serialises");
    text.push(',');
    text.push_str(&members[1..members.len() - 1]);
}
