//! Linking judged on external sets: the F1 each must reach.

mod febrl;
mod others;

use kmcr_linkage_sets::LabelledRecords;
use kmcr_mpi::evaluate::{PairCounts, pair_counts, place_one_at_a_time};
use kmcr_mpi::{LinkSettings, Thresholds, link_all};

/// Links a set from scratch at the default thresholds and counts pairs against its truth, printing the figures.
pub fn link_and_count(name: &str, labelled: &LabelledRecords) -> PairCounts {
    link_and_count_at(name, labelled, Thresholds::default())
}

/// Links a set from scratch at `thresholds` and counts pairs against its truth, printing the figures.
pub fn link_and_count_at(name: &str, labelled: &LabelledRecords, thresholds: Thresholds) -> PairCounts {
    let outcome = link_all(&labelled.records, &LinkSettings { thresholds, ..LinkSettings::default() });
    let counts = pair_counts(&outcome.person_of_record, &labelled.truth);
    eprintln!(
        "{name}: {} records, precision {:.4} recall {:.4} F1 {:.4} ({} false links, {} missed), {} pairs compared",
        labelled.records.len(),
        counts.precision(),
        counts.recall(),
        counts.f1(),
        counts.n_false_links(),
        counts.n_missed_links(),
        outcome.n_pairs_compared
    );
    counts
}

/// Places a set's records one at a time, as the live index does (with the model linking the whole set trains), and
/// counts pairs against its truth, printing the figures.
pub fn place_one_at_a_time_and_count(name: &str, labelled: &LabelledRecords) -> PairCounts {
    let model = link_all(&labelled.records, &LinkSettings::default()).model;
    let counts = pair_counts(&place_one_at_a_time(&labelled.records, model, Thresholds::default()), &labelled.truth);
    eprintln!(
        "{name} placed one at a time: precision {:.4} recall {:.4} F1 {:.4} ({} false links, {} missed)",
        counts.precision(),
        counts.recall(),
        counts.f1(),
        counts.n_false_links(),
        counts.n_missed_links(),
    );
    counts
}

/// `../shared/data/linkage/<name>` from this crate.
pub fn linkage_path(name: &str) -> String {
    format!("{}/../../../shared/data/linkage/{name}", env!("CARGO_MANIFEST_DIR"))
}
