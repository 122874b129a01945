//! Index values of a resource for every search parameter of its type.
//!
//! Each parameter's compiled expression picks elements; each element becomes index values by the parameter's type and
//! the element's shape (a token parameter reads a CodeableConcept one way and an Identifier another).

use kmcr_fhir::ResourceType;
use serde_json::{Map, Value};

use crate::date::parse_date_range;
use crate::fhirpath::{Expression, Item};
use crate::reference::{LiteralReference, parse_literal_reference};
use crate::text::normalize_text;
use crate::{CompositeComponent, IndexEntry, IndexValue, SearchParamRegistry, SearchParamType};

/// The system of Money's currency codes, as the R4 search page gives for quantity searches on Money.
pub const CURRENCY_SYSTEM: &str = "urn:iso:std:iso:4217";

/// Above this many values for one parameter, duplicates are kept rather than searched for in quadratic time.
const MAX_VALUES_DEDUPLICATED: usize = 64;

/// At most this many tuples of a composite parameter from one item (the product of its components' numbers of values;
/// an Observation whose code has 3 codings and whose value has 1 gives 3). Past it, the item's tuples are not indexed.
const MAX_TUPLES_PER_ITEM: usize = 64;

/// The index entries of a resource, parameter by parameter in registry order, then composite parameters. `_id`,
/// `_lastUpdated` and special parameters yield none. A resource with an unknown `resourceType` yields none.
pub fn extract_index_entries(registry: &SearchParamRegistry, resource: &Value) -> Vec<IndexEntry> {
    let resource_type = resource.get("resourceType").and_then(Value::as_str).map(ResourceType::parse);
    let Some(Ok(resource_type)) = resource_type else { return Vec::new() };
    let mut entries = Vec::new();
    let mut items = Vec::new();
    for (param, expression) in registry.indexed_params(resource_type) {
        items.clear();
        expression.evaluate_into(resource, Some(resource_type), &mut items);
        let mut values = Vec::new();
        for item in &items {
            item_values(param.param_type, *item, &mut values);
        }
        if values.len() <= MAX_VALUES_DEDUPLICATED {
            deduplicate(&mut values);
        }
        entries.extend(values.into_iter().map(|value| IndexEntry { param_code: param.code, value }));
    }
    for (param, expression, components, component_expressions) in registry.indexed_composites(resource_type) {
        items.clear();
        expression.evaluate_into(resource, Some(resource_type), &mut items);
        let mut tuples = Vec::new();
        for item in &items {
            composite_tuples(resource, *item, components, component_expressions, &mut tuples);
        }
        if tuples.len() <= MAX_VALUES_DEDUPLICATED {
            deduplicate(&mut tuples);
        }
        entries.extend(tuples.into_iter().map(|value| IndexEntry { param_code: param.code, value }));
    }
    entries
}

/// The composite values of one item (one `Observation.component`): every combination of its components' values, so
/// that a search matches only values found together in the item.
fn composite_tuples(
    resource: &Value,
    item: Item<'_>,
    components: &[CompositeComponent],
    expressions: &[Expression],
    tuples: &mut Vec<IndexValue>,
) {
    let mut component_items = Vec::new();
    let mut values_per_component = Vec::with_capacity(components.len());
    for (component, expression) in components.iter().zip(expressions) {
        component_items.clear();
        expression.evaluate_on(resource, item, &mut component_items);
        let mut values = Vec::new();
        for component_item in &component_items {
            item_values(component.param_type, *component_item, &mut values);
        }
        // A Reference's identifier is a token under a reference parameter; a component is one type.
        values.retain(|value| component.param_type != SearchParamType::Reference || is_reference(value));
        if values.len() <= MAX_VALUES_DEDUPLICATED {
            deduplicate(&mut values);
        }
        values_per_component.push(values);
    }
    let n_tuples = values_per_component.iter().map(Vec::len).try_fold(1_usize, usize::checked_mul);
    if n_tuples.is_none_or(|n_tuples| n_tuples == 0 || n_tuples > MAX_TUPLES_PER_ITEM) {
        return;
    }
    let mut item_tuples = vec![Vec::with_capacity(components.len())];
    for values in values_per_component {
        item_tuples = item_tuples
            .into_iter()
            .flat_map(|tuple| {
                values.iter().map(move |value| {
                    let mut longer = tuple.clone();
                    longer.push(value.clone());
                    longer
                })
            })
            .collect();
    }
    tuples.extend(item_tuples.into_iter().map(IndexValue::Composite));
}

fn is_reference(value: &IndexValue) -> bool {
    matches!(value, IndexValue::Reference { .. })
}

fn deduplicate(values: &mut Vec<IndexValue>) {
    let mut kept = 0;
    for value_idx in 0..values.len() {
        if !values[..kept].contains(&values[value_idx]) {
            values.swap(kept, value_idx);
            kept += 1;
        }
    }
    values.truncate(kept);
}

fn item_values(param_type: SearchParamType, item: Item<'_>, values: &mut Vec<IndexValue>) {
    match item {
        Item::Element { value, .. } => element_values(param_type, value, values),
        Item::Boolean(boolean) if param_type == SearchParamType::Token => values.push(code_token(bool_text(boolean))),
        // Literals and resolved types only appear as intermediate results of the official expressions.
        _ => {}
    }
}

fn element_values(param_type: SearchParamType, value: &Value, values: &mut Vec<IndexValue>) {
    match param_type {
        SearchParamType::Token => token_values(value, values),
        SearchParamType::String => string_values(value, values),
        SearchParamType::Date => date_values(value, values),
        SearchParamType::Reference => reference_values(value, values),
        SearchParamType::Quantity => values.extend(value.as_object().and_then(quantity_value)),
        SearchParamType::Number => values.extend(value.as_f64().map(|value| IndexValue::Number { value })),
        SearchParamType::Uri => values.extend(value.as_str().map(|uri| IndexValue::Uri { uri: uri.to_string() })),
        SearchParamType::Composite | SearchParamType::Special => {}
    }
}

/// Tokens from CodeableConcept (one per coding, its text as display text), Coding, Identifier, ContactPoint, and
/// code, id, string, uri, boolean and integer primitives (the value as code, no system).
fn token_values(value: &Value, values: &mut Vec<IndexValue>) {
    match value {
        Value::String(text) => values.push(code_token(text)),
        Value::Bool(boolean) => values.push(code_token(bool_text(*boolean))),
        Value::Number(number) => values.push(code_token(&number.to_string())),
        Value::Object(object) if object.contains_key("coding") || is_text_only(object) => {
            codeable_concept_tokens(object, values);
        }
        Value::Object(object) if object.contains_key("value") => values.push(identifier_token(object)),
        Value::Object(object) if object.contains_key("code") || object.contains_key("system") => {
            values.push(coding_token(object, None));
        }
        _ => {}
    }
}

/// Identifier and ContactPoint: `system` and `value`; an Identifier's type text is its display text.
fn identifier_token(object: &Map<String, Value>) -> IndexValue {
    IndexValue::Token {
        system: text_field(object, "system"),
        code: text_field(object, "value"),
        display_text: object.get("type").and_then(|identifier_type| identifier_type.get("text")).and_then(owned_text),
    }
}

fn codeable_concept_tokens(object: &Map<String, Value>, values: &mut Vec<IndexValue>) {
    let text = text_field(object, "text");
    let codings = object.get("coding").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let first_value_idx = values.len();
    values.extend(codings.iter().filter_map(Value::as_object).map(|coding| coding_token(coding, text.clone())));
    // A concept sent as text alone is still found by `:text`.
    if values.len() == first_value_idx && text.is_some() {
        values.push(IndexValue::Token { system: None, code: None, display_text: text });
    }
}

fn coding_token(coding: &Map<String, Value>, concept_text: Option<String>) -> IndexValue {
    IndexValue::Token {
        system: text_field(coding, "system"),
        code: text_field(coding, "code"),
        display_text: concept_text.or_else(|| text_field(coding, "display")),
    }
}

fn is_text_only(object: &Map<String, Value>) -> bool {
    object.contains_key("text") && object.keys().all(|key| matches!(key.as_str(), "text" | "id" | "extension"))
}

fn code_token(code: &str) -> IndexValue {
    IndexValue::Token { system: None, code: Some(code.to_string()), display_text: None }
}

fn bool_text(boolean: bool) -> &'static str {
    if boolean { "true" } else { "false" }
}

/// The parts of HumanName and Address (each given name and address line on its own) that string search matches.
const STRING_PARTS: &[&str] =
    &["family", "given", "prefix", "suffix", "text", "line", "city", "district", "state", "postalCode", "country"];

fn string_values(value: &Value, values: &mut Vec<IndexValue>) {
    match value {
        Value::String(text) => values.extend(string_value(text)),
        Value::Object(object) => {
            for part in STRING_PARTS {
                match object.get(*part) {
                    Some(Value::String(text)) => values.extend(string_value(text)),
                    Some(Value::Array(texts)) => {
                        values.extend(texts.iter().filter_map(Value::as_str).filter_map(string_value))
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn string_value(text: &str) -> Option<IndexValue> {
    let normalized = normalize_text(text);
    (!normalized.is_empty()).then(|| IndexValue::String { normalized, exact: text.to_string() })
}

/// Ranges from date, dateTime and instant strings, Period (open ends run to the end of time) and Timing events.
fn date_values(value: &Value, values: &mut Vec<IndexValue>) {
    match value {
        Value::String(text) => values.extend(date_value(text)),
        Value::Object(object) if object.contains_key("start") || object.contains_key("end") => {
            values.extend(period_value(object));
        }
        Value::Object(object) => {
            let events = object.get("event").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
            values.extend(events.iter().filter_map(Value::as_str).filter_map(date_value));
        }
        _ => {}
    }
}

fn date_value(text: &str) -> Option<IndexValue> {
    let range = parse_date_range(text).ok()?;
    Some(IndexValue::Date { low_ms: range.low_ms, high_ms: range.high_ms })
}

fn period_value(period: &Map<String, Value>) -> Option<IndexValue> {
    let bound = |key: &str| period.get(key).and_then(Value::as_str).map(parse_date_range);
    let low_ms = match bound("start") {
        Some(Ok(start)) => start.low_ms,
        Some(Err(_)) => return None,
        None => i64::MIN,
    };
    let high_ms = match bound("end") {
        Some(Ok(end)) => end.high_ms,
        Some(Err(_)) => return None,
        None => i64::MAX,
    };
    Some(IndexValue::Date { low_ms, high_ms })
}

/// References by `Type/id` or URL; a Reference's `identifier` also yields a token under the same parameter, which
/// `:identifier` searches. Canonicals and URIs are URLs; an inline resource (`Bundle.entry[0].resource`) is its id.
fn reference_values(value: &Value, values: &mut Vec<IndexValue>) {
    match value {
        Value::String(canonical) => values.push(url_reference(canonical)),
        Value::Object(object) if object.contains_key("resourceType") => {
            values.extend(inline_resource_reference(object))
        }
        Value::Object(object) => {
            if let Some(reference) = object.get("reference").and_then(Value::as_str) {
                values.extend(literal_reference_value(reference));
            }
            if let Some(Value::Object(identifier)) = object.get("identifier") {
                values.push(identifier_token(identifier));
            }
        }
        _ => {}
    }
}

fn literal_reference_value(reference: &str) -> Option<IndexValue> {
    match parse_literal_reference(reference) {
        LiteralReference::Relative { target_type, target_id } => Some(IndexValue::Reference {
            target_type: Some(target_type.as_str().to_string()),
            target_id: Some(target_id.to_string()),
            url: None,
        }),
        LiteralReference::Url(url) => Some(url_reference(url)),
        LiteralReference::Contained => None,
    }
}

fn url_reference(url: &str) -> IndexValue {
    IndexValue::Reference { target_type: None, target_id: None, url: Some(url.to_string()) }
}

fn inline_resource_reference(resource: &Map<String, Value>) -> Option<IndexValue> {
    let resource_type = ResourceType::parse(resource.get("resourceType")?.as_str()?).ok()?;
    let id = resource.get("id")?.as_str()?;
    Some(IndexValue::Reference {
        target_type: Some(resource_type.as_str().to_string()),
        target_id: Some(id.to_string()),
        url: None,
    })
}

/// Quantity, Age, Duration, Distance, Count, SimpleQuantity and Money. Range and SampledData, which have no single
/// value, yield nothing.
fn quantity_value(object: &Map<String, Value>) -> Option<IndexValue> {
    let value = object.get("value")?.as_f64()?;
    if let Some(currency) = text_field(object, "currency") {
        return Some(IndexValue::Quantity {
            value,
            system: Some(CURRENCY_SYSTEM.to_string()),
            code: Some(currency),
            unit: None,
        });
    }
    Some(IndexValue::Quantity {
        value,
        system: text_field(object, "system"),
        code: text_field(object, "code"),
        unit: text_field(object, "unit"),
    })
}

fn text_field(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(owned_text)
}

fn owned_text(value: &Value) -> Option<String> {
    value.as_str().filter(|text| !text.is_empty()).map(str::to_string)
}
