//! Linking judged against the truth, pair by pair: a pair of records is a true link when both the linking and the
//! truth put them in one person. Precision, recall and F1 over all such pairs.

use std::collections::HashMap;
use std::hash::Hash;

use crate::decide::Thresholds;
use crate::index::{ManualDecisions, PersonIndex};
use crate::model::Model;
use crate::record::Demographics;

/// Places every record in input order into an empty person index scoring with `model`, as the live index places
/// records when sources send them one by one (no clustering of the whole set), and returns the person of each record,
/// numbered from 0.
pub fn place_one_at_a_time(records: &[Demographics], model: Model, thresholds: Thresholds) -> Vec<u32> {
    let mut index = PersonIndex::new(model, thresholds);
    index.reserve(records.len());
    let decisions = ManualDecisions::default();
    let mut n_persons_made = 0u32;
    for (record_idx, record) in records.iter().enumerate() {
        index.place(&record_idx.to_string(), record, &decisions, || {
            n_persons_made += 1;
            n_persons_made.to_string()
        });
    }
    let mut number_of_person: HashMap<&str, u32> = HashMap::new();
    (0..records.len())
        .map(|record_idx| {
            let person = index.person_of(&record_idx.to_string()).expect("every record was placed");
            let next = number_of_person.len() as u32;
            *number_of_person.entry(person).or_insert(next)
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairCounts {
    /// Pairs linked that are the same person.
    pub n_true_links: u64,
    /// Pairs linked.
    pub n_links: u64,
    /// Pairs that are the same person.
    pub n_true_pairs: u64,
}

impl PairCounts {
    pub fn precision(&self) -> f64 {
        if self.n_links == 0 { 1.0 } else { self.n_true_links as f64 / self.n_links as f64 }
    }

    pub fn recall(&self) -> f64 {
        if self.n_true_pairs == 0 { 1.0 } else { self.n_true_links as f64 / self.n_true_pairs as f64 }
    }

    pub fn f1(&self) -> f64 {
        let (precision, recall) = (self.precision(), self.recall());
        if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) }
    }

    pub fn n_false_links(&self) -> u64 {
        self.n_links - self.n_true_links
    }

    pub fn n_missed_links(&self) -> u64 {
        self.n_true_pairs - self.n_true_links
    }
}

/// Counts from each record's linked person and true person, without listing pairs (a person of n records holds
/// n(n-1)/2 pairs).
pub fn pair_counts<P: Eq + Hash, T: Eq + Hash>(linked: &[P], truth: &[T]) -> PairCounts {
    assert_eq!(linked.len(), truth.len(), "one linked person and one true person per record");
    let mut by_linked: HashMap<&P, u64> = HashMap::new();
    let mut by_truth: HashMap<&T, u64> = HashMap::new();
    let mut by_both: HashMap<(&P, &T), u64> = HashMap::new();
    for (person, true_person) in linked.iter().zip(truth) {
        *by_linked.entry(person).or_default() += 1;
        *by_truth.entry(true_person).or_default() += 1;
        *by_both.entry((person, true_person)).or_default() += 1;
    }
    let n_pairs = |n: &u64| n * n.saturating_sub(1) / 2;
    PairCounts {
        n_true_links: by_both.values().map(n_pairs).sum(),
        n_links: by_linked.values().map(n_pairs).sum(),
        n_true_pairs: by_truth.values().map(n_pairs).sum(),
    }
}
