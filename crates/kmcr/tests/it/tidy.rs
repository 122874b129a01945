//! Rules of the code base that hold mechanically (rust-analyzer's tidy test): which crates may depend on what.

use std::collections::{HashMap, HashSet};
use std::process::Command;

use serde_json::Value;

/// Crates that must stay pure: no async runtime, no database, no HTTP.
const PURE_CRATES: &[&str] = &["kmcr-fhir", "kmcr-fhir-search", "kmcr-access", "kmcr-audit", "kmcr-synth"];
const IO_CRATES: &[&str] = &["tokio", "rusqlite", "tokio-postgres", "deadpool-postgres", "axum", "hyper", "sqlx"];

fn metadata() -> Value {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn pure_crates_reach_no_io_crate() {
    let metadata = metadata();
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| (package["id"].as_str().unwrap(), package["name"].as_str().unwrap()))
        .collect();
    let edges: HashMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let normal_dependencies = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dependency| {
                    dependency["dep_kinds"].as_array().unwrap().iter().any(|kind| kind["kind"].is_null())
                })
                .map(|dependency| dependency["pkg"].as_str().unwrap())
                .collect();
            (node["id"].as_str().unwrap(), normal_dependencies)
        })
        .collect();
    for pure in PURE_CRATES {
        let start = names.iter().find(|(_, name)| *name == pure).map(|(id, _)| *id).expect("the crate exists");
        let mut seen = HashSet::new();
        let mut stack = vec![start];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            let name = names[id];
            assert!(!IO_CRATES.contains(&name), "{pure} depends (perhaps indirectly) on {name}: it must stay pure");
            stack.extend(edges.get(id).into_iter().flatten());
        }
    }
}

#[test]
fn only_the_store_writes_sql() {
    let crates_directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut offenders = Vec::new();
    for crate_entry in std::fs::read_dir(&crates_directory).unwrap() {
        let crate_path = crate_entry.unwrap().path();
        let name = crate_path.file_name().unwrap().to_string_lossy().to_string();
        // The benchmark's raw insert measures the engine itself, beside the store.
        if name == "kmcr-store" || name == "kmcr-bench" {
            continue;
        }
        let mut stack = vec![crate_path.join("src")];
        while let Some(path) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&path) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|extension| extension == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if ["SELECT ", "INSERT INTO", "CREATE TABLE", "DELETE FROM"].iter().any(|sql| text.contains(sql)) {
                        offenders.push(path.display().to_string());
                    }
                }
            }
        }
    }
    assert!(offenders.is_empty(), "SQL outside kmcr-store: {offenders:?}");
}
