//! Rules of the code base that hold mechanically (rust-analyzer's tidy test): which crates may depend on what.

use std::process::Command;

/// Crates that must stay pure: no async runtime, no database, no HTTP.
const PURE_CRATES: &[&str] = &[
    "kmcr-fhir",
    "kmcr-fhir-search",
    "kmcr-access",
    "kmcr-audit",
    "kmcr-synth",
    "kmcr-mpi",
    "kmcr-hl7v2",
    "kmcr-events",
];
const IO_CRATES: &[&str] = &["tokio", "rusqlite", "tokio-postgres", "deadpool-postgres", "axum", "hyper", "sqlx"];

/// Every crate a workspace crate reaches through normal dependencies, on this platform (`cargo tree`).
fn normal_dependencies(crate_name: &str) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .args(["tree", "-p", crate_name, "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn pure_crates_reach_no_io_crate() {
    for pure in PURE_CRATES {
        let reached = normal_dependencies(pure);
        assert!(reached.iter().any(|name| name == pure), "cargo tree lists {pure} itself: {reached:?}");
        for name in &reached {
            assert!(
                !IO_CRATES.contains(&name.as_str()),
                "{pure} depends (perhaps indirectly) on {name}: it must stay pure"
            );
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
