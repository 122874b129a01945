//! Structural checks that FHIR JSON must pass before KMCR stores it.
//!
//! These are the rules of the FHIR JSON format (R4 §2.6.2) and the NHS rules KMCR relies on, reported with the path of
//! the first fault so that an integration engineer can find it. They do not check every element against its
//! StructureDefinition.

use serde_json::{Map, Value};

use crate::{NHS_NUMBER_SYSTEM, NhsNumber, ResourceId, ResourceType};

/// The first fault found in a resource, with a FHIRPath-like location (`Patient.identifier[0].value`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ValidationError {
    pub path: String,
    pub message: String,
}

/// The deepest nesting of JSON accepted; real resources stay far below it.
const MAX_DEPTH: usize = 64;

const ADMINISTRATIVE_GENDERS: &[&str] = &["male", "female", "other", "unknown"];

/// Checks a resource and returns its type.
pub fn validate_resource(resource: &Value) -> Result<ResourceType, ValidationError> {
    let object = resource.as_object().ok_or_else(|| fault("", "a resource is a JSON object"))?;
    let resource_type = check_resource_type(object, "")?;
    let path = resource_type.as_str().to_string();
    check_resource_object(resource_type, object, &path, 0)?;
    Ok(resource_type)
}

fn check_resource_type(object: &Map<String, Value>, path: &str) -> Result<ResourceType, ValidationError> {
    let name = match object.get("resourceType") {
        Some(Value::String(name)) => name,
        Some(_) => return Err(fault(&join(path, "resourceType"), "resourceType is a string")),
        None => return Err(fault(path, "resourceType is missing")),
    };
    ResourceType::parse(name)
        .map_err(|_| fault(&join(path, "resourceType"), &format!("'{name}' is not a FHIR R4 resource type")))
}

fn check_resource_object(
    resource_type: ResourceType,
    object: &Map<String, Value>,
    path: &str,
    depth: usize,
) -> Result<(), ValidationError> {
    if let Some(id) = object.get("id") {
        let valid = id.as_str().is_some_and(|text| ResourceId::parse(text).is_ok());
        if !valid {
            return Err(fault(&join(path, "id"), "an id is 1 to 64 letters, digits, '-' or '.'"));
        }
    }
    if let Some(meta) = object.get("meta") {
        check_meta(meta, &join(path, "meta"))?;
    }
    if resource_type == ResourceType::PATIENT {
        check_patient(object, path)?;
    }
    for (key, value) in object {
        if key == "resourceType" {
            continue;
        }
        check_element(key, value, &join(path, key), depth + 1)?;
    }
    Ok(())
}

fn check_meta(meta: &Value, path: &str) -> Result<(), ValidationError> {
    let meta = meta.as_object().ok_or_else(|| fault(path, "meta is an object"))?;
    for key in ["versionId", "lastUpdated", "source"] {
        if meta.get(key).is_some_and(|value| !value.is_string()) {
            return Err(fault(&join(path, key), "must be a string"));
        }
    }
    Ok(())
}

fn check_patient(object: &Map<String, Value>, path: &str) -> Result<(), ValidationError> {
    if let Some(gender) = object.get("gender")
        && !gender.as_str().is_some_and(|code| ADMINISTRATIVE_GENDERS.contains(&code))
    {
        return Err(fault(&join(path, "gender"), "gender is one of male, female, other, unknown"));
    }
    if let Some(birth_date) = object.get("birthDate")
        && !birth_date.as_str().is_some_and(is_fhir_date)
    {
        return Err(fault(&join(path, "birthDate"), "birthDate is a date: YYYY, YYYY-MM or YYYY-MM-DD"));
    }
    Ok(())
}

fn check_element(key: &str, value: &Value, path: &str, depth: usize) -> Result<(), ValidationError> {
    if depth > MAX_DEPTH {
        return Err(fault(path, "nested too deeply"));
    }
    if !is_element_name(key) {
        return Err(fault(path, "not a FHIR element name"));
    }
    match value {
        Value::Null => Err(fault(path, "null is not allowed; leave the element out")),
        Value::String(text) if text.is_empty() => Err(fault(path, "empty strings are not allowed")),
        Value::Array(items) if items.is_empty() => Err(fault(path, "empty arrays are not allowed")),
        Value::Array(items) => {
            // Arrays of primitives may hold null where the matching `_name` array carries an extension.
            let nulls_allowed = key.starts_with('_') || items.iter().any(|item| !item.is_null() && !item.is_object());
            for (item_idx, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{item_idx}]");
                match item {
                    Value::Null if nulls_allowed => {}
                    Value::Array(_) => return Err(fault(&item_path, "arrays do not nest in FHIR JSON")),
                    _ => check_item(key, item, &item_path, depth + 1)?,
                }
            }
            Ok(())
        }
        _ => check_item(key, value, path, depth),
    }
}

fn check_item(key: &str, value: &Value, path: &str, depth: usize) -> Result<(), ValidationError> {
    match value {
        Value::Null => Err(fault(path, "null is not allowed; leave the element out")),
        Value::String(text) if text.is_empty() => Err(fault(path, "empty strings are not allowed")),
        Value::Object(object) if object.is_empty() => Err(fault(path, "empty objects are not allowed")),
        Value::Object(object) if key == "contained" || key == "resource" || key == "outcome" => {
            if object.contains_key("resourceType") {
                let resource_type = check_resource_type(object, path)?;
                check_resource_object(resource_type, object, path, depth)
            } else if key == "contained" || key == "resource" {
                Err(fault(path, "resourceType is missing"))
            } else {
                check_object(object, path, depth)
            }
        }
        Value::Object(object) => check_object(object, path, depth),
        _ => Ok(()),
    }
}

fn check_object(object: &Map<String, Value>, path: &str, depth: usize) -> Result<(), ValidationError> {
    if object.get("system").and_then(Value::as_str) == Some(NHS_NUMBER_SYSTEM)
        && let Some(value) = object.get("value")
    {
        let number = value.as_str().ok_or_else(|| fault(&join(path, "value"), "must be a string"))?;
        NhsNumber::parse(number).map_err(|error| fault(&join(path, "value"), &error.to_string()))?;
    }
    for (key, value) in object {
        check_element(key, value, &join(path, key), depth + 1)?;
    }
    Ok(())
}

fn is_element_name(key: &str) -> bool {
    let name = key.strip_prefix('_').unwrap_or(key);
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|first| first.is_ascii_alphabetic())
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with a real month and day.
pub fn is_fhir_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let numeric = |part: &str, len: usize| part.len() == len && part.bytes().all(|byte| byte.is_ascii_digit());
    match parts.as_slice() {
        [year] => numeric(year, 4),
        [year, month] => numeric(year, 4) && numeric(month, 2) && (1..=12).contains(&month.parse::<u32>().unwrap_or(0)),
        [year, month, day] => {
            if !(numeric(year, 4) && numeric(month, 2) && numeric(day, 2)) {
                return false;
            }
            let (year, month, day): (i64, u32, u32) =
                (year.parse().unwrap_or(0), month.parse().unwrap_or(0), day.parse().unwrap_or(0));
            (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)
        }
        _ => false,
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn fault(path: &str, message: &str) -> ValidationError {
    ValidationError { path: path.to_string(), message: message.to_string() }
}
