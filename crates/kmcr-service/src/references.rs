//! Rewriting the references inside resources: `urn:uuid` and other fullUrls of a transaction to the ids assigned.

use std::collections::HashMap;

use serde_json::Value;

/// Replaces every `reference` value found in `targets` (fullUrl -> `Type/id`), anywhere in the resource, including
/// inside `contained` and extensions. Returns the references that look like conditional references (`Type?query`).
pub fn rewrite_references(value: &mut Value, targets: &HashMap<String, String>, conditional: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                if key == "reference"
                    && let Value::String(reference) = child
                {
                    if let Some(target) = targets.get(reference.as_str()) {
                        *reference = target.clone();
                    } else if is_conditional_reference(reference) {
                        conditional.push(reference.clone());
                    }
                    continue;
                }
                rewrite_references(child, targets, conditional);
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_references(item, targets, conditional);
            }
        }
        _ => {}
    }
}

/// `Organization?identifier=...`: a resource type, a question mark, a query.
pub fn is_conditional_reference(reference: &str) -> bool {
    reference.split_once('?').is_some_and(|(resource_type, _)| kmcr_fhir::ResourceType::parse(resource_type).is_ok())
}

/// Splits a query string into decoded name/value pairs.
pub use kmcr_fhir_search::parse_query;

/// `W/"3"` or `3` to 3.
pub fn etag_version(etag: &str) -> Result<i64, crate::ServiceError> {
    etag.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| crate::ServiceError::Invalid(format!("'{etag}' is not a version ETag such as W/\"3\"")))
}
