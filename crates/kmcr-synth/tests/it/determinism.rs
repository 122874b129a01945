//! The same seed and index give the same JSON, whatever else was generated before; another seed gives other people.

use kmcr_synth::{SynthConfig, organisation_bundles, person_bundles};

use crate::common::{SEED, config};

fn as_json(config: &SynthConfig, person_idx: usize) -> String {
    let bundles = person_bundles(config, person_idx);
    let values: Vec<_> = bundles.iter().map(|source| (&source.source_ods_code, &source.bundle)).collect();
    serde_json::to_string(&values).expect("bundles serialise")
}

#[test]
fn same_seed_and_index_give_identical_json_in_any_order() {
    let config = config(10_000);
    let indexes = [0, 1, 17, 4_321, 9_999];
    let first: Vec<String> = indexes.iter().map(|idx| as_json(&config, *idx)).collect();
    let reversed: Vec<String> = indexes.iter().rev().map(|idx| as_json(&config, *idx)).collect();
    for (position, idx) in indexes.iter().enumerate() {
        assert_eq!(first[position], reversed[indexes.len() - 1 - position], "person {idx} of seed {SEED}");
    }
}

#[test]
fn the_population_size_does_not_change_anyone() {
    assert_eq!(as_json(&config(100), 42), as_json(&config(100_000), 42));
}

#[test]
fn another_seed_gives_other_people() {
    let other = SynthConfig { seed: SEED + 1, n_people: 100 };
    for person_idx in 0..20 {
        assert_ne!(as_json(&config(100), person_idx), as_json(&other, person_idx), "person {person_idx}");
    }
}

#[test]
fn organisation_bundles_are_the_same_every_time() {
    let first = serde_json::to_string(&organisation_bundles().iter().map(|b| &b.bundle).collect::<Vec<_>>()).unwrap();
    let second = serde_json::to_string(&organisation_bundles().iter().map(|b| &b.bundle).collect::<Vec<_>>()).unwrap();
    assert_eq!(first, second);
}

#[test]
fn json_text_parses_to_the_same_bundles() {
    let config = config(300);
    for person_idx in 0..300 {
        let values = person_bundles(&config, person_idx);
        let texts = kmcr_synth::person_bundle_texts(&config, person_idx);
        assert_eq!(values.len(), texts.len());
        for (value, text) in values.iter().zip(&texts) {
            assert_eq!(value.source_ods_code, text.source_ods_code);
            let parsed: serde_json::Value = serde_json::from_str(&text.json).expect("valid JSON");
            assert_eq!(parsed, value.bundle, "seed {SEED} person {person_idx} {}", text.source_ods_code);
        }
    }
}

#[test]
fn patient_bundles_hold_the_same_patients_as_the_full_bundles() {
    let config = config(300);
    for person_idx in 0..300 {
        let full = person_bundles(&config, person_idx);
        let patients_only = kmcr_synth::person_patient_bundle_texts(&config, person_idx);
        assert_eq!(full.len(), patients_only.len(), "person {person_idx}: one Bundle per source");
        for (full, patient_only) in full.iter().zip(&patients_only) {
            assert_eq!(full.source_ods_code, patient_only.source_ods_code);
            let parsed: serde_json::Value = serde_json::from_str(&patient_only.json).expect("valid JSON");
            let entries = parsed["entry"].as_array().expect("entries");
            assert_eq!(entries.len(), 1, "person {person_idx}: only the Patient");
            assert_eq!(entries[0]["resource"]["resourceType"], "Patient");
            assert_eq!(entries[0], full.bundle["entry"][0], "person {person_idx} {}", full.source_ods_code);
        }
    }
}
