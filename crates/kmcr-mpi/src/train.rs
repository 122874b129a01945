//! Training the model on the data itself. u comes from random pairs (almost all of which are different people);
//! m and the prior come from expectation maximisation over the candidate pairs that blocking produced.

use std::borrow::Borrow;
use std::collections::HashMap;

use crate::compare::{Comparison, FIELDS, MISSING, N_FIELDS, compare};
use crate::model::{Model, normalised};
use crate::random::SplitMix64;
use crate::record::PreparedRecord;

/// EM stops when no probability moves more than this between iterations.
const CONVERGED: f64 = 1e-6;
const MAX_ITERATIONS: usize = 100;

/// Level counts of `n_pairs` random pairs of distinct records, smoothed so that no level has u = 0.
pub fn estimate_u<R: Borrow<PreparedRecord>>(records: &[R], n_pairs: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut counts: Vec<Vec<f64>> = FIELDS.iter().map(|spec| vec![0.0; spec.levels.len()]).collect();
    if records.len() >= 2 {
        let mut random = SplitMix64::new(seed);
        for _ in 0..n_pairs {
            let first = random.below(records.len() as u64) as usize;
            let mut second = random.below(records.len() as u64 - 1) as usize;
            if second >= first {
                second += 1;
            }
            let comparison = compare(records[first].borrow(), records[second].borrow());
            add_levels(&mut counts, &comparison, 1.0);
        }
    }
    counts.into_iter().map(|levels| normalised(levels.into_iter().map(|count| count + 1.0).collect())).collect()
}

/// Trains m and the prior from the candidate pairs, correcting for blocking.
///
/// Pairs brought together by a rule agree on that rule's fields whether or not they are one person, so those fields
/// would look like evidence of a match. m is therefore trained rule by rule, by EM with u held fixed, with the rule's
/// own fields left out, and each field's m averaged over the rules that leave it free (Splink's method). The prior
/// is then the share of matches among the candidates, by EM with m and u fixed, spread over all possible pairs: the
/// probability that two records drawn at random are one person, which is what the score starts from.
pub fn estimate_model(
    comparisons: &[Comparison],
    rules_shared: &[u32],
    rule_fields: &[&[usize]],
    u: Vec<Vec<f64>>,
    n_records: usize,
) -> Model {
    let start = Model { u, ..Model::starting_point() };
    let mut m_sums: Vec<Vec<f64>> = FIELDS.iter().map(|spec| vec![0.0; spec.levels.len()]).collect();
    let mut n_rules_training: Vec<usize> = vec![0; N_FIELDS];
    for (rule_idx, fields) in rule_fields.iter().enumerate() {
        let mut patterns: HashMap<Comparison, f64> = HashMap::new();
        for (comparison, shared) in comparisons.iter().zip(rules_shared) {
            if shared & (1 << rule_idx) == 0 {
                continue;
            }
            let mut masked = *comparison;
            for &field_idx in *fields {
                masked[field_idx] = MISSING;
            }
            *patterns.entry(masked).or_default() += 1.0;
        }
        let n_pairs: f64 = patterns.values().sum();
        if n_pairs < MIN_PAIRS_TO_TRAIN {
            continue;
        }
        let (trained, n_matches_seen) = run_em(start.clone(), &patterns.into_iter().collect::<Vec<_>>(), true);
        let free_fields = (0..N_FIELDS).filter(|field_idx| !fields.contains(field_idx));
        for field_idx in free_fields.filter(|&field_idx| n_matches_seen[field_idx] >= MIN_MATCHES_TO_TRAIN_M) {
            for (sum, m) in m_sums[field_idx].iter_mut().zip(&trained.m[field_idx]) {
                *sum += m;
            }
            n_rules_training[field_idx] += 1;
        }
    }
    // A field that no rule saw enough matches of keeps the m of typical health records rather than EM's guess.
    let typical = Model::untrained(start.prior_match_probability);
    let mut model = start;
    for field_idx in 0..N_FIELDS {
        model.m[field_idx] = if n_rules_training[field_idx] > 0 {
            normalised(m_sums[field_idx].clone())
        } else {
            typical.m[field_idx].clone()
        };
    }
    let mut all_patterns: HashMap<Comparison, f64> = HashMap::new();
    for comparison in comparisons {
        *all_patterns.entry(*comparison).or_default() += 1.0;
    }
    let (candidates_model, _) = run_em(model.clone(), &all_patterns.into_iter().collect::<Vec<_>>(), false);
    let n_possible_pairs = (n_records as f64) * (n_records as f64 - 1.0) / 2.0;
    let expected_matches = candidates_model.prior_match_probability * comparisons.len() as f64;
    model.prior_match_probability = (expected_matches / n_possible_pairs.max(1.0)).clamp(1e-12, 0.5);
    model
}

/// Fewer pairs than this say too little to train on.
const MIN_PAIRS_TO_TRAIN: f64 = 50.0;

/// A field's m from one rule's EM counts only when the pairs EM takes for matches hold the field this many times:
/// fewer leave m to the smoothing, which can make a level look like evidence it is not (a field masked by another,
/// or one that all the records share).
const MIN_MATCHES_TO_TRAIN_M: f64 = 20.0;

/// EM from `model`: m and the prior when `train_m`, the prior alone otherwise. Also returns, per field, how many
/// pairs the final step took for matches with the field present.
fn run_em(mut model: Model, patterns: &[(Comparison, f64)], train_m: bool) -> (Model, Vec<f64>) {
    let mut n_matches_seen = vec![0.0; N_FIELDS];
    if patterns.is_empty() {
        return (model, n_matches_seen);
    }
    for _ in 0..MAX_ITERATIONS {
        let (mut next, seen) = em_step(&model, patterns);
        n_matches_seen = seen;
        if !train_m {
            next.m = model.m.clone();
        }
        let moved = largest_change(&model, &next);
        model = next;
        if moved < CONVERGED {
            break;
        }
    }
    (model, n_matches_seen)
}

fn em_step(model: &Model, patterns: &[(Comparison, f64)]) -> (Model, Vec<f64>) {
    let mut m_counts: Vec<Vec<f64>> = FIELDS.iter().map(|spec| vec![0.0; spec.levels.len()]).collect();
    let mut total_match = 0.0;
    let mut total = 0.0;
    let prior = model.prior_match_probability;
    for (comparison, n_pairs) in patterns {
        let mut match_likelihood = prior;
        let mut non_match_likelihood = 1.0 - prior;
        for (field_idx, &level) in comparison.iter().enumerate() {
            if level != MISSING {
                match_likelihood *= model.m[field_idx][level as usize];
                non_match_likelihood *= model.u[field_idx][level as usize];
            }
        }
        let posterior = match_likelihood / (match_likelihood + non_match_likelihood);
        let weight = posterior * n_pairs;
        add_levels(&mut m_counts, comparison, weight);
        total_match += weight;
        total += n_pairs;
    }
    let n_matches_seen = m_counts.iter().map(|levels| levels.iter().sum()).collect();
    // A tiny pseudo-count keeps every level possible among matches, however rare in this data.
    let m = m_counts.into_iter().map(|levels| normalised(levels.into_iter().map(|count| count + 1e-3).collect()));
    let prior_match_probability = (total_match / total).clamp(1e-6, 1.0 - 1e-6);
    (Model { prior_match_probability, m: m.collect(), u: model.u.clone() }, n_matches_seen)
}

fn add_levels(counts: &mut [Vec<f64>], comparison: &Comparison, weight: f64) {
    for (field_idx, &level) in comparison.iter().enumerate() {
        if level != MISSING {
            counts[field_idx][level as usize] += weight;
        }
    }
}

fn largest_change(before: &Model, after: &Model) -> f64 {
    let mut largest = (before.prior_match_probability - after.prior_match_probability).abs();
    for field_idx in 0..N_FIELDS {
        for (old, new) in before.m[field_idx].iter().zip(&after.m[field_idx]) {
            largest = largest.max((old - new).abs());
        }
    }
    largest
}
