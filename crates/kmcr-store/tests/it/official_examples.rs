//! Every official FHIR R4 example is accepted, read back equal apart from `meta`, and found by its own search
//! parameters, on every backend.

use kmcr_fhir_search::{Criterion, CriterionValue, IndexEntry, IndexValue, Prefix, SearchRequest};
use kmcr_store::PageRequest;

use crate::backends::*;

const EXAMPLES_DIRECTORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/fhir-r4-examples");

fn official_examples() -> Vec<(String, Value)> {
    let mut examples = Vec::new();
    let entries = std::fs::read_dir(EXAMPLES_DIRECTORY).expect("the official examples are in ../shared/data");
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") || name == "package.json" || name == "Bundle-searchParams.json" {
            continue;
        }
        let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        examples.push((name, value));
    }
    examples.sort_by(|left, right| left.0.cmp(&right.0));
    assert!(examples.len() > 300, "expected the whole example set, found {}", examples.len());
    examples
}

fn without_meta_stamps(mut value: Value) -> Value {
    if let Some(meta) = value.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            value.as_object_mut().unwrap().remove("meta");
        }
    }
    value
}

/// The criterion that an index entry must satisfy, as a client would search for that value.
fn criterion_for(entry: &IndexEntry) -> Option<Criterion> {
    let (param_type, value) = criterion_value_for(&entry.value)?;
    Some(Criterion {
        param_code: entry.param_code.to_string(),
        param_type,
        modifier: None,
        chain: None,
        values: vec![value],
    })
}

fn criterion_value_for(value: &IndexValue) -> Option<(kmcr_fhir_search::SearchParamType, CriterionValue)> {
    Some(match value {
        IndexValue::Token { code: Some(code), system, .. } => (
            kmcr_fhir_search::SearchParamType::Token,
            CriterionValue::Token { system: Some(system.clone()), code: Some(code.clone()) },
        ),
        IndexValue::Token { code: None, .. } => return None,
        IndexValue::String { normalized, .. } => {
            (kmcr_fhir_search::SearchParamType::String, CriterionValue::String(normalized.clone()))
        }
        IndexValue::Date { low_ms, high_ms } => (
            kmcr_fhir_search::SearchParamType::Date,
            CriterionValue::Date { prefix: Prefix::Eq, low_ms: *low_ms, high_ms: *high_ms },
        ),
        IndexValue::Reference { target_type, target_id, url } => (
            kmcr_fhir_search::SearchParamType::Reference,
            CriterionValue::Reference {
                target_type: target_type.clone(),
                target_id: target_id.clone(),
                url: url.clone(),
            },
        ),
        IndexValue::Quantity { value, .. } => (
            kmcr_fhir_search::SearchParamType::Quantity,
            CriterionValue::Quantity {
                prefix: Prefix::Eq,
                value: *value,
                low: *value,
                high: *value,
                system: None,
                code: None,
            },
        ),
        IndexValue::Number { value } => (
            kmcr_fhir_search::SearchParamType::Number,
            CriterionValue::Number { prefix: Prefix::Eq, value: *value, low: *value, high: *value },
        ),
        IndexValue::Uri { uri } => (kmcr_fhir_search::SearchParamType::Uri, CriterionValue::Uri(uri.clone())),
        IndexValue::Composite(components) => {
            let values: Option<Vec<_>> =
                components.iter().map(|component| Some(criterion_value_for(component)?.1)).collect();
            (kmcr_fhir_search::SearchParamType::Composite, CriterionValue::Composite(values?))
        }
    })
}

#[tokio::test]
async fn official_examples_are_stored_read_back_and_found() {
    let examples = official_examples();
    for test in stores().await {
        let store = &test.store;
        let (mut n_searches, mut n_composite_searches) = (0, 0);
        for (name, example) in &examples {
            let resource_type = kmcr_fhir::validate_resource(example).unwrap_or_else(|error| panic!("{name}: {error}"));
            store
                .write(vec![put(example.clone(), "RWF", Precondition::None)], None)
                .await
                .unwrap_or_else(|error| panic!("{}: {name}: {error}", test.name));
            let id = id(example["id"].as_str().unwrap());
            let stored = store.read(resource_type, &id).await.unwrap().unwrap();
            let read_back: Value = serde_json::from_str(stored.json.as_deref().unwrap()).unwrap();
            assert_eq!(
                without_meta_stamps(read_back),
                without_meta_stamps(example.clone()),
                "{}: {name} read back differs",
                test.name
            );

            let entries = extract_index_entries(SearchParamRegistry::official_r4(), example);
            for entry in &entries {
                let Some(criterion) = criterion_for(entry) else { continue };
                let id_criterion = Criterion {
                    param_code: "_id".into(),
                    param_type: kmcr_fhir_search::SearchParamType::Token,
                    modifier: None,
                    chain: None,
                    values: vec![CriterionValue::Token { system: None, code: Some(id.to_string()) }],
                };
                let request = SearchRequest {
                    resource_type,
                    criteria: vec![criterion, id_criterion],
                    count: None,
                    sort: vec![],
                    includes: vec![],
                    revincludes: vec![],
                    summary: None,
                    elements: None,
                    total: None,
                    ignored_params: vec![],
                };
                let outcome = store
                    .search(
                        &request,
                        &PageRequest { count: 10, cursor: None, want_total: false },
                        &kmcr_store::RowFilter::Unrestricted,
                    )
                    .await
                    .unwrap_or_else(|error| panic!("{}: {name}: {entry:?}: {error}", test.name));
                assert_eq!(outcome.matches.len(), 1, "{}: {name} not found by {entry:?}", test.name);
                n_searches += 1;
                if matches!(entry.value, IndexValue::Composite(_)) {
                    n_composite_searches += 1;
                }
            }
        }
        assert!(n_searches > 3000, "{}: only {n_searches} searches ran", test.name);
        assert!(n_composite_searches > 100, "{}: only {n_composite_searches} composite searches ran", test.name);
        eprintln!(
            "{}: {} examples, {n_searches} searches by their own parameters, {n_composite_searches} of them composite",
            test.name,
            examples.len()
        );
    }
}
