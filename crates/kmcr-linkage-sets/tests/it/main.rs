//! Linking judged on external sets: the F1 each must reach.

mod febrl;
mod others;

/// `../shared/data/linkage/<name>` from this crate.
pub fn linkage_path(name: &str) -> String {
    format!("{}/../../../shared/data/linkage/{name}", env!("CARGO_MANIFEST_DIR"))
}
