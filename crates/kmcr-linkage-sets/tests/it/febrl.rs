use kmcr_linkage_sets::read_febrl;

use crate::{link_and_count, linkage_path};

fn check_febrl(name: &str, n_records: usize, n_true_pairs: u64) {
    let labelled = read_febrl(&linkage_path(&format!("febrl/{name}.csv"))).unwrap();
    assert_eq!(labelled.records.len(), n_records);
    let counts = link_and_count(name, &labelled);
    assert_eq!(counts.n_true_pairs, n_true_pairs, "{name}: the truth as published");
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
