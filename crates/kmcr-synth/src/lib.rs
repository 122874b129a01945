//! A seeded, deterministic generator of synthetic people and their records, as FHIR R4 transaction Bundles.

use serde_json::Value;

/// What to generate.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    pub seed: u64,
    pub n_people: usize,
}

/// One transaction Bundle as one source organisation would send it.
#[derive(Clone, Debug)]
pub struct SourceBundle {
    /// ODS code of the organisation that sends this Bundle.
    pub source_ods_code: String,
    pub bundle: Value,
}

/// The organisations of the synthetic region, as one Bundle per organisation (each sends its own Organization).
pub fn organisation_bundles() -> Vec<SourceBundle> {
    Vec::new()
}

/// The records of person `person_idx` (0-based) under `config`, one Bundle per source organisation that holds any.
pub fn person_bundles(config: &SynthConfig, person_idx: usize) -> Vec<SourceBundle> {
    let _ = (config, person_idx);
    Vec::new()
}
