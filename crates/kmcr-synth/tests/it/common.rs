//! Helpers shared by the tests: one seed, walking bundles, counting items.

use kmcr_synth::{Date, RECORDS_AS_AT, SourceBundle, SynthConfig, person_bundles};
use serde_json::Value;

/// The seed of every test; failures name it so they can be reproduced.
pub const SEED: u64 = 20_261_124;

pub fn config(n_people: usize) -> SynthConfig {
    SynthConfig { seed: SEED, n_people }
}

pub fn people(n_people: usize) -> impl Iterator<Item = (usize, Vec<SourceBundle>)> {
    let config = config(n_people);
    (0..n_people).map(move |person_idx| (person_idx, person_bundles(&config, person_idx)))
}

pub fn entries(bundle: &Value) -> &[Value] {
    bundle["entry"].as_array().expect("a Bundle has entries")
}

pub fn resource_type(entry: &Value) -> &str {
    entry["resource"]["resourceType"].as_str().expect("every resource has a type")
}

/// Records other than the sources' own Patient resources: what a shared care record would count as items.
pub fn n_items(bundles: &[SourceBundle]) -> usize {
    bundles
        .iter()
        .map(|source| entries(&source.bundle).iter().filter(|entry| resource_type(entry) != "Patient").count())
        .sum()
}

/// Calls `visit(key, value)` for every member of every object inside `value`.
pub fn walk<'v>(value: &'v Value, visit: &mut impl FnMut(&'v str, &'v Value)) {
    match value {
        Value::Object(object) => {
            for (key, member) in object {
                visit(key, member);
                walk(member, visit);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| walk(item, visit)),
        _ => {}
    }
}

/// The source's own Patient in a person's Bundle.
pub fn patient(bundle: &Value) -> &Value {
    let entry = entries(bundle).first().expect("the Patient comes first");
    assert_eq!(resource_type(entry), "Patient");
    &entry["resource"]
}

/// Age in whole years on the day the records are extracted.
pub fn age_on_records_date(birth_date: Date) -> u32 {
    let mut years = RECORDS_AS_AT.year - birth_date.year;
    if (RECORDS_AS_AT.month, RECORDS_AS_AT.day) < (birth_date.month, birth_date.day) {
        years -= 1;
    }
    years as u32
}
