//! Bundles of results, written as text around the stored JSON so that no resource is parsed again on the way out
//! unless `_elements` or `_summary` asks for a subset.

use kmcr_fhir::ResourceType;
use kmcr_fhir_search::Summary;
use kmcr_service::{ReadPage, SearchResult};
use kmcr_store::StoredResource;
use serde_json::{Value, json};

/// Rebuilds a query string from decoded pairs.
fn query_string(params: &[(String, String)]) -> String {
    params.iter().map(|(name, value)| format!("{}={}", encode(name), encode(value))).collect::<Vec<_>>().join("&")
}

fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'|' | b',' | b'$' => {
                encoded.push(byte as char)
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

fn link(relation: &str, url: String) -> Value {
    json!({ "relation": relation, "url": url })
}

fn links(base_url: &str, path: &str, params: &[(String, String)], next_cursor: Option<String>) -> Vec<Value> {
    let query = query_string(params);
    let separator = if query.is_empty() { "" } else { "&" };
    let mut links = vec![link("self", format!("{base_url}/{path}?{query}"))];
    if let Some(cursor) = next_cursor {
        links.push(link("next", format!("{base_url}/{path}?{query}{separator}_cursor={cursor}")));
    }
    links
}

/// The JSON of a resource as returned, cut down when `_elements` or `_summary` ask.
fn shaped_json(resource: &StoredResource, elements: Option<&[String]>, summary: Option<Summary>) -> String {
    let json = resource.json.as_deref().unwrap_or("{}");
    if elements.is_none() && !matches!(summary, Some(Summary::Data | Summary::Text)) {
        return json.to_string();
    }
    let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(json) else { return json.to_string() };
    match (elements, summary) {
        (Some(elements), _) => {
            object.retain(|key, _| {
                matches!(key.as_str(), "resourceType" | "id" | "meta") || elements.iter().any(|element| element == key)
            });
        }
        (None, Some(Summary::Data)) => {
            object.shift_remove("text");
        }
        (None, _) => object.retain(|key, _| matches!(key.as_str(), "resourceType" | "id" | "meta" | "text")),
    }
    // Marked as a subset, as R4 §3.1.1.5.8 requires.
    let meta = object.entry("meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        let tags = meta.entry("tag").or_insert_with(|| json!([]));
        if let Some(tags) = tags.as_array_mut() {
            tags.push(
                json!({ "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED" }),
            );
        }
    }
    Value::Object(object).to_string()
}

/// `{"fullUrl": ..., "resource": <json>, "search": {"mode": ...}}` as text.
fn entry_text(base_url: &str, resource: &StoredResource, json: &str, mode: Option<&str>) -> String {
    let full_url = Value::String(format!("{base_url}/{}/{}", resource.resource_type, resource.id));
    let mut text = format!("{{\"fullUrl\":{full_url},\"resource\":{json}");
    if let Some(mode) = mode {
        text.push_str(&format!(",\"search\":{{\"mode\":\"{mode}\"}}"));
    }
    text.push('}');
    text
}

fn bundle_text(bundle_type: &str, total: Option<u64>, links: Vec<Value>, entries: Vec<String>) -> String {
    let mut text = format!("{{\"resourceType\":\"Bundle\",\"type\":\"{bundle_type}\"");
    if let Some(total) = total {
        text.push_str(&format!(",\"total\":{total}"));
    }
    text.push_str(&format!(",\"link\":{}", Value::Array(links)));
    if !entries.is_empty() {
        text.push_str(",\"entry\":[");
        text.push_str(&entries.join(","));
        text.push(']');
    }
    text.push('}');
    text
}

pub fn search_bundle(
    base_url: &str,
    resource_type: ResourceType,
    params: &[(String, String)],
    result: &SearchResult,
) -> String {
    let request = &result.request;
    let outcome = &result.outcome;
    let links = links(base_url, resource_type.as_str(), params, result.next_cursor.clone());
    if request.summary == Some(Summary::Count) {
        return bundle_text("searchset", outcome.total, links, withheld_entries(&result.withheld));
    }
    let elements = request.elements.as_deref();
    let mut entries = Vec::with_capacity(outcome.matches.len() + outcome.included.len() + 1);
    for resource in &outcome.matches {
        entries.push(entry_text(base_url, resource, &shaped_json(resource, elements, request.summary), Some("match")));
    }
    for resource in &outcome.included {
        entries.push(entry_text(base_url, resource, &shaped_json(resource, None, None), Some("include")));
    }
    if !request.ignored_params.is_empty() {
        let text = format!("ignored search parameters: {}", request.ignored_params.join(", "));
        let warning = kmcr_service::outcome_with("warning", "not-supported", "KMCR-IGNORED-PARAMETER", &text);
        entries.push(format!("{{\"resource\":{warning},\"search\":{{\"mode\":\"outcome\"}}}}"));
    }
    entries.extend(withheld_entries(&result.withheld));
    bundle_text("searchset", outcome.total, links, entries)
}

/// An OperationOutcome entry (`suppressed`) for each notice that part of a person's record is withheld: it says that
/// items are withheld, never which.
fn withheld_entries(notices: &[String]) -> Vec<String> {
    notices
        .iter()
        .map(|notice| {
            let outcome = kmcr_service::outcome_with("information", "suppressed", "KMCR-WITHHELD", notice);
            format!("{{\"resource\":{outcome},\"search\":{{\"mode\":\"outcome\"}}}}")
        })
        .collect()
}

pub fn page_bundle(base_url: &str, path: &str, params: &[(String, String)], page: &ReadPage) -> String {
    let links = links(base_url, path, params, page.next_cursor.clone());
    let mut entries: Vec<String> = page
        .resources
        .iter()
        .map(|resource| entry_text(base_url, resource, resource.json.as_deref().unwrap_or("{}"), Some("match")))
        .collect();
    entries.extend(withheld_entries(&page.withheld));
    bundle_text("searchset", None, links, entries)
}

/// A history Bundle; `path` is the history's own (`Patient/x/_history` for one resource's), so that its `next` link
/// pages through the same history.
pub fn history_bundle(base_url: &str, path: &str, params: &[(String, String)], page: &ReadPage) -> String {
    let links = links(base_url, path, params, page.next_cursor.clone());
    let entries = page
        .resources
        .iter()
        .map(|resource| {
            let url = format!("{}/{}", resource.resource_type, resource.id);
            let (method, status) = match (resource.deleted, resource.version_id) {
                (true, _) => ("DELETE", "204 No Content"),
                (false, 1) => ("POST", "201 Created"),
                (false, _) => ("PUT", "200 OK"),
            };
            let request = json!({ "method": method, "url": if method == "POST" { resource.resource_type.to_string() } else { url.clone() } });
            let response = json!({
                "status": status,
                "etag": format!("W/\"{}\"", resource.version_id),
                "lastModified": resource.last_updated.to_string(),
            });
            let full_url = Value::String(format!("{base_url}/{url}"));
            match &resource.json {
                Some(json) => format!("{{\"fullUrl\":{full_url},\"resource\":{json},\"request\":{request},\"response\":{response}}}"),
                None => format!("{{\"fullUrl\":{full_url},\"request\":{request},\"response\":{response}}}"),
            }
        })
        .collect();
    bundle_text("history", None, links, entries)
}
