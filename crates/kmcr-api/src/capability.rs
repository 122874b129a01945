//! `GET /fhir/metadata`: the CapabilityStatement, built from what the server really supports.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kmcr_fhir::ResourceType;
use kmcr_fhir_search::{SearchParamRegistry, SearchParamType};
use serde_json::{Value, json};

use crate::AppState;
use crate::responses::fhir_json;

pub async fn metadata(State(state): State<AppState>) -> Response {
    static STATEMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let statement = STATEMENT.get_or_init(|| capability_statement(&state.fhir_base_url).to_string());
    fhir_json(StatusCode::OK, statement.clone())
}

fn type_name(param_type: SearchParamType) -> &'static str {
    match param_type {
        SearchParamType::Number => "number",
        SearchParamType::Date => "date",
        SearchParamType::String => "string",
        SearchParamType::Token => "token",
        SearchParamType::Reference => "reference",
        SearchParamType::Composite => "composite",
        SearchParamType::Quantity => "quantity",
        SearchParamType::Uri => "uri",
        SearchParamType::Special => "special",
    }
}

fn searchable(param_type: SearchParamType) -> bool {
    param_type != SearchParamType::Special
}

fn resource_entry(resource_type: ResourceType) -> Value {
    let registry = SearchParamRegistry::official_r4();
    let params: Vec<_> = registry
        .for_type(resource_type)
        .filter(|param| searchable(param.param_type) && (param.expression.is_some() || param.code.starts_with('_')))
        .collect();
    let search_params: Vec<Value> = params
        .iter()
        .map(|param| {
            json!({
                "name": param.code,
                "definition": format!("http://hl7.org/fhir/SearchParameter/{}-{}", param.resource_type, param.code.trim_start_matches('_')),
                "type": type_name(param.param_type),
            })
        })
        .collect();
    let includes: Vec<String> = params
        .iter()
        .filter(|param| param.param_type == SearchParamType::Reference)
        .map(|param| format!("{}:{}", resource_type, param.code))
        .collect();
    let interactions: Vec<Value> =
        ["read", "vread", "update", "delete", "history-instance", "history-type", "create", "search-type"]
            .iter()
            .map(|code| json!({ "code": code }))
            .collect();
    let mut entry = json!({
        "type": resource_type.as_str(),
        "profile": format!("http://hl7.org/fhir/StructureDefinition/{resource_type}"),
        "interaction": interactions,
        "versioning": "versioned-update",
        "readHistory": true,
        "updateCreate": true,
        "conditionalCreate": true,
        "conditionalUpdate": true,
        "conditionalDelete": "not-supported",
        "referencePolicy": ["literal", "local"],
        "searchInclude": includes,
        "searchParam": search_params,
    });
    if resource_type == ResourceType::PATIENT {
        entry["operation"] = json!([{
            "name": "everything",
            "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
        }]);
    }
    entry
}

/// Subscriptions: topic-based as the R5 Backport IG has them for R4 (each topic KMCR offers listed by its canonical),
/// and classic criteria on the types a classic subscription may watch; rest-hook only.
fn subscription_entry() -> Value {
    let topics: Vec<Value> = kmcr_events::Topic::ALL
        .iter()
        .map(|topic| kmcr_events::notification::capability_topic_extension(&topic.canonical()))
        .collect();
    let backport = "http://hl7.org/fhir/uv/subscriptions-backport";
    json!({
        "extension": topics,
        "type": "Subscription",
        "supportedProfile": [format!("{backport}/StructureDefinition/backport-subscription")],
        "interaction": [
            {"code": "read"}, {"code": "create"}, {"code": "update"}, {"code": "delete"}, {"code": "search-type"},
        ],
        "documentation": kmcr_events::Topic::ALL
            .iter()
            .map(|topic| {
                let filters: Vec<String> =
                    topic.filters().iter().map(|(name, meaning)| format!("{name} ({meaning})")).collect();
                format!("{}: {} {} Filters: {}.", topic.canonical(), topic.title(), topic.description(), filters.join("; "))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        "operation": [
            {"name": "status", "definition": format!("{backport}/OperationDefinition/backport-subscription-status")},
            {"name": "events", "definition": format!("{backport}/OperationDefinition/backport-subscription-events")},
        ],
    })
}

pub fn capability_statement(base_url: &str) -> Value {
    // SMART's OAuth endpoints, which clients that read the CapabilityStatement rather than the
    // `.well-known/smart-configuration` (fhirclient, for one) need to start a launch.
    let oauth_root = base_url.trim_end_matches("/fhir");
    let oauth_uris: Vec<Value> = ["authorize", "token", "revoke"]
        .into_iter()
        .map(|name| json!({ "url": name, "valueUri": format!("{oauth_root}/oauth/{name}") }))
        .collect();
    let resources: Vec<Value> = ResourceType::all()
        .filter(|resource_type| resource_type.is_storable())
        .map(|resource_type| {
            if resource_type.as_str() == "Subscription" { subscription_entry() } else { resource_entry(resource_type) }
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-24",
        "publisher": "KMCR",
        "kind": "instance",
        "software": { "name": "KMCR", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "KMCR shared care record", "url": base_url },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": false,
                "service": [{ "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR",
                }]}],
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": oauth_uris,
                }],
            },
            "resource": resources,
            "interaction": [{ "code": "transaction" }, { "code": "batch" }, { "code": "history-system" }],
        }],
    })
}
