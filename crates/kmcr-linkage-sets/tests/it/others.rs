use kmcr_linkage_sets::{read_splink_parquet, synthetic};

use crate::{link_and_count, linkage_path};

/// The target here is 0.95; linking reaches 0.9415 today (precision 0.988, recall 0.899). What is left is mostly
/// records with names alone, pseudonyms and aliases recorded as names, and persons whose records share no blocking key
/// (about 1,200 of the 3,100 records left out of their person were never compared with any record of it).
/// This holds the ground gained, less a small margin, until the target is met.
#[test]
fn the_historical_figures_set_links_with_f1_of_at_least_0_94() {
    let labelled = read_splink_parquet(&linkage_path("historical_figures_with_errors_50k.parquet")).unwrap();
    assert_eq!(labelled.records.len(), 50_578);
    let counts = link_and_count("historical figures", &labelled);
    assert!(counts.precision() >= 0.98, "precision {:.4} is below 0.98", counts.precision());
    assert!(counts.f1() >= 0.94, "F1 {:.4} is below 0.94", counts.f1());
}

#[test]
fn the_synthetic_population_links_with_f1_of_at_least_0_995() {
    let labelled = synthetic(7, 5_000, 2);
    let counts = link_and_count("synthetic", &labelled);
    assert!(counts.f1() >= 0.995, "F1 {:.4} is below 0.995", counts.f1());
}
