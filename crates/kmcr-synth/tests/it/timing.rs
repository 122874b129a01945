//! How fast people are generated, single-threaded, as `serde_json::Value`s and as JSON text. Set
//! `KMCR_SYNTH_TIMING_PEOPLE` to time more people (e.g. 100000 in a release build).

use std::time::Instant;

use kmcr_synth::{person_bundle_texts, person_bundles};

use crate::common::{config, n_items};

fn n_people() -> usize {
    std::env::var("KMCR_SYNTH_TIMING_PEOPLE").ok().and_then(|text| text.parse().ok()).unwrap_or(10_000)
}

#[test]
fn timing_of_generating_ten_thousand_people() {
    let n_people = n_people();
    let config = config(n_people);
    let started = Instant::now();
    let mut n_total_items = 0;
    for person_idx in 0..n_people {
        n_total_items += n_items(&person_bundles(&config, person_idx));
    }
    let values_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut n_bytes = 0;
    for person_idx in 0..n_people {
        n_bytes += person_bundle_texts(&config, person_idx).iter().map(|text| text.json.len()).sum::<usize>();
    }
    let texts_s = started.elapsed().as_secs_f64();
    println!(
        "generated {n_people} people ({n_total_items} items): \
         as serde_json values in {values_s:.2} s ({:.0} people/s), \
         as JSON text in {texts_s:.2} s ({:.0} people/s, {:.0} MB)",
        n_people as f64 / values_s,
        n_people as f64 / texts_s,
        n_bytes as f64 / 1e6,
    );
    assert!(n_total_items > 0);
}
