use kmcr_linkage_sets::read_febrl;
use kmcr_mpi::evaluate::pair_counts;
use kmcr_mpi::{LinkSettings, link_all};

use crate::linkage_path;

fn check_febrl(name: &str, n_records: usize, n_true_pairs: u64) {
    let labelled = read_febrl(&linkage_path(&format!("febrl/{name}.csv"))).unwrap();
    assert_eq!(labelled.records.len(), n_records);
    let outcome = link_all(&labelled.records, &LinkSettings::default());
    let counts = pair_counts(&outcome.person_of_record, &labelled.truth);
    assert_eq!(counts.n_true_pairs, n_true_pairs, "{name}: the truth as published");
    eprintln!(
        "{name}: precision {:.4} recall {:.4} F1 {:.4} ({} false links, {} missed), {} pairs compared",
        counts.precision(),
        counts.recall(),
        counts.f1(),
        counts.n_false_links(),
        counts.n_missed_links(),
        outcome.n_pairs_compared
    );
    assert!(counts.f1() >= 0.995, "{name}: F1 {:.4} is below 0.995", counts.f1());
}

#[test]
fn febrl_dataset1_links_with_f1_of_at_least_0_995() {
    check_febrl("dataset1", 1_000, 500);
}

#[test]
fn febrl_dataset2_links_with_f1_of_at_least_0_995() {
    check_febrl("dataset2", 5_000, 1_934);
}

#[test]
fn febrl_dataset3_links_with_f1_of_at_least_0_995() {
    check_febrl("dataset3", 5_000, 6_538);
}
