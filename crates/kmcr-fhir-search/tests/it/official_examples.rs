//! Every official R4 example yields index entries; resources inside example Bundles extract without panicking.

use expect_test::expect;
use kmcr_fhir_search::{SearchParamRegistry, extract_index_entries};
use serde_json::Value;

use crate::{read_json, shared_data};

#[test]
fn every_official_example_yields_entries() {
    let registry = SearchParamRegistry::official_r4();
    let mut without_entries = String::new();
    let (mut n_examples, mut n_inner_resources, mut n_entries) = (0, 0, 0);
    for path in example_paths() {
        let resource = read_json(&path);
        let entries = extract_index_entries(registry, &resource);
        if entries.is_empty() {
            without_entries.push_str(&format!("{}\n", path.file_name().unwrap().to_string_lossy()));
        }
        n_examples += 1;
        n_entries += entries.len();
        for inner in inner_resources(&resource) {
            n_entries += extract_index_entries(registry, inner).len();
            n_inner_resources += 1;
        }
    }
    println!("{n_examples} examples and {n_inner_resources} resources inside them: {n_entries} index entries");
    assert_eq!(n_examples, 360);
    expect![[""]].assert_eq(&without_entries);
}

fn example_paths() -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(shared_data("fhir-r4-examples"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let file_name = path.file_name().unwrap().to_string_lossy();
            file_name.ends_with(".json") && file_name != "Bundle-searchParams.json" && file_name != "package.json"
        })
        .collect();
    paths.sort();
    paths
}

/// Resources in `Bundle.entry.resource` and `contained`, at any depth.
fn inner_resources(resource: &Value) -> Vec<&Value> {
    let mut found = Vec::new();
    let entries = resource["entry"].as_array().into_iter().flatten().map(|entry| &entry["resource"]);
    let contained = resource["contained"].as_array().into_iter().flatten();
    for inner in entries.chain(contained).filter(|inner| inner.is_object()) {
        found.push(inner);
        found.extend(inner_resources(inner));
    }
    found
}
