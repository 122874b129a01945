//! The Fellegi-Sunter model: for each field and level, m (how often true matches show that level) and u (how often
//! non-matches do), the share of candidate pairs that are matches, and how common each name and postcode is.
//! A pair's match weight is the sum of log2(m/u) over its fields; its evidence is that sum field by field.

use std::collections::HashMap;

use crate::compare::{Comparison, FIELDS, MISSING, N_FIELDS, term_value};
use crate::record::PreparedRecord;

#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The share of candidate pairs (pairs that blocking brings together) that are the same person.
    pub prior_match_probability: f64,
    /// `m[field][level]`.
    pub m: Vec<Vec<f64>>,
    /// `u[field][level]`.
    pub u: Vec<Vec<f64>>,
}

/// How many records hold each value of the term-frequency-adjusted fields.
#[derive(Clone, Debug)]
pub struct TermFrequencies {
    counts: Vec<HashMap<Box<str>, u32>>,
    n_records: usize,
}

impl Default for TermFrequencies {
    fn default() -> Self {
        TermFrequencies { counts: (0..N_FIELDS).map(|_| HashMap::new()).collect(), n_records: 0 }
    }
}

impl TermFrequencies {
    pub fn new<'a>(records: impl IntoIterator<Item = &'a PreparedRecord>) -> TermFrequencies {
        let mut frequencies = TermFrequencies { counts: (0..N_FIELDS).map(|_| HashMap::new()).collect(), n_records: 0 };
        for record in records {
            frequencies.add(record);
        }
        frequencies
    }

    pub fn add(&mut self, record: &PreparedRecord) {
        self.n_records += 1;
        for (field_idx, spec) in FIELDS.iter().enumerate() {
            if !spec.term_frequency_adjusted {
                continue;
            }
            if let Some(value) = term_value(record, spec.field) {
                *self.counts[field_idx].entry(value.into()).or_default() += 1;
            }
        }
    }

    pub fn remove(&mut self, record: &PreparedRecord) {
        self.n_records = self.n_records.saturating_sub(1);
        for (field_idx, spec) in FIELDS.iter().enumerate() {
            if !spec.term_frequency_adjusted {
                continue;
            }
            if let Some(value) = term_value(record, spec.field)
                && let Some(count) = self.counts[field_idx].get_mut(value)
            {
                *count -= 1;
                if *count == 0 {
                    self.counts[field_idx].remove(value);
                }
            }
        }
    }

    /// The share of records holding `value`, `n_excluded` of them left out, or `None` when unknown. A handful of records
    /// says nothing about how common a name is: below [`MIN_RECORDS_FOR_FREQUENCIES`] there is no adjustment.
    fn frequency_excluding(&self, field_idx: usize, value: &str, n_excluded: u32) -> Option<f64> {
        if self.n_records < MIN_RECORDS_FOR_FREQUENCIES {
            return None;
        }
        let count = *self.counts.get(field_idx)?.get(value)?;
        Some(f64::from(count.saturating_sub(n_excluded)) / self.n_records as f64)
    }
}

/// One field's part in a pair's score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldEvidence {
    pub field_idx: usize,
    /// [`MISSING`] when either record lacks the value.
    pub level: u8,
    /// log2 of the Bayes factor: positive for agreement, negative for disagreement, 0 when missing.
    pub weight: f64,
}

impl FieldEvidence {
    pub fn field_name(&self) -> &'static str {
        FIELDS[self.field_idx].name
    }

    pub fn level_name(&self) -> &'static str {
        if self.level == MISSING { "missing" } else { FIELDS[self.field_idx].levels[self.level as usize] }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// log2 of the posterior odds: the prior's weight plus every field's.
    pub match_weight: f64,
    pub match_probability: f64,
    pub evidence: [FieldEvidence; N_FIELDS],
}

pub const MIN_RECORDS_FOR_FREQUENCIES: usize = 1_000;

/// A term-frequency adjustment never makes a rare value count more than this many times an average exact agreement.
const MAX_TERM_FREQUENCY_BOOST: f64 = 50.0;

impl Model {
    /// A starting point for training: agreement likely among matches, disagreement likely among non-matches.
    pub fn starting_point() -> Model {
        let mut m = Vec::with_capacity(N_FIELDS);
        let mut u = Vec::with_capacity(N_FIELDS);
        for spec in &FIELDS {
            let n_levels = spec.levels.len();
            let m_raw: Vec<f64> = (0..n_levels).map(|level| 0.2f64.powi(level as i32)).collect();
            let u_raw: Vec<f64> = (0..n_levels).map(|level| 0.2f64.powi((n_levels - 1 - level) as i32)).collect();
            m.push(normalised(m_raw));
            u.push(normalised(u_raw));
        }
        Model { prior_match_probability: 0.1, m, u }
    }

    /// The model used before there are enough records to train on: m from typical error rates in health records,
    /// u from how many distinct values each field has in a population, and the given prior (about one over the
    /// number of people expected). Levels in [`FIELDS`] order; each row sums to 1.
    pub fn untrained(prior_match_probability: f64) -> Model {
        #[rustfmt::skip]
        let table: [(&[f64], &[f64]); N_FIELDS] = [
            // identifier: exact, one slip, different
            (&[0.95, 0.03, 0.02], &[1e-7, 1e-5, 1.0]),
            // forename: exact, swapped, variant, close, middle name, similar or initial, different
            (&[0.86, 0.005, 0.05, 0.04, 0.01, 0.03, 0.015], &[0.01, 1e-5, 0.002, 0.004, 0.002, 0.05, 1.0]),
            // surname: exact, close, middle name, sounds alike, similar, different
            (&[0.9, 0.05, 0.005, 0.01, 0.01, 0.025], &[0.002, 0.002, 1e-4, 0.003, 0.02, 1.0]),
            // birth date: exact, transposed, one digit slip, partial agreeing, same year and month, same year, different
            (&[0.95, 0.01, 0.025, 0.003, 0.005, 0.002, 0.005], &[3.4e-5, 1e-6, 3e-4, 5e-4, 1e-3, 0.012, 1.0]),
            // sex: same, different
            (&[0.98, 0.02], &[0.5, 0.5]),
            // postcode: exact, sector, district, area, different (people move: one source's address is often old)
            (&[0.7, 0.04, 0.06, 0.05, 0.15], &[1e-4, 2e-3, 0.01, 0.05, 1.0]),
            // address: exact, close, different
            (&[0.7, 0.1, 0.2], &[1e-4, 1e-3, 1.0]),
            // locality: exact, close, different
            (&[0.8, 0.05, 0.15], &[0.05, 0.01, 1.0]),
            // phone: shared, different
            (&[0.6, 0.4], &[1e-6, 1.0]),
            // locality where the postcodes share only the area: exact, close, different
            (&[0.8, 0.05, 0.15], &[0.3, 0.01, 1.0]),
        ];
        Model {
            prior_match_probability,
            m: table.iter().map(|(m, _)| normalised(m.to_vec())).collect(),
            u: table.iter().map(|(_, u)| normalised(u.to_vec())).collect(),
        }
    }

    /// The weight of one level of one field, before any term-frequency adjustment.
    ///
    /// A partial agreement never counts against a pair more than full disagreement does: with few examples of a
    /// level among the training pairs, EM can leave its m so small that it would. Full disagreement never counts for
    /// a pair: where the records almost all agree (one town for everyone), the few disagreements leave its u so small
    /// that it could.
    pub fn level_weight(&self, field_idx: usize, level: u8) -> f64 {
        if level == MISSING {
            return 0.0;
        }
        let raw = |level: usize| (self.m[field_idx][level] / self.u[field_idx][level]).log2();
        let last_level = self.m[field_idx].len() - 1;
        let disagreement = raw(last_level).min(0.0);
        if (level as usize) < last_level { raw(level as usize).max(disagreement) } else { disagreement }
    }

    pub fn prior_weight(&self) -> f64 {
        let prior = self.prior_match_probability.clamp(1e-9, 1.0 - 1e-9);
        (prior / (1.0 - prior)).log2()
    }

    /// The score of a compared pair; with term frequencies, exact agreement on a common value counts for less.
    pub fn score(
        &self,
        comparison: &Comparison,
        pair: Option<(&PreparedRecord, &PreparedRecord)>,
        frequencies: Option<&TermFrequencies>,
    ) -> Score {
        self.score_leaving_out(comparison, pair, frequencies, 0)
    }

    /// [`Model::score`] with exact agreement weighed by how common the value is among records other than the pair:
    /// `n_pair_counted` says how many of the two `frequencies` counts (a record being placed is not counted yet).
    pub fn score_leaving_out(
        &self,
        comparison: &Comparison,
        pair: Option<(&PreparedRecord, &PreparedRecord)>,
        frequencies: Option<&TermFrequencies>,
        n_pair_counted: u32,
    ) -> Score {
        let mut evidence = [FieldEvidence { field_idx: 0, level: MISSING, weight: 0.0 }; N_FIELDS];
        let mut match_weight = self.prior_weight();
        for (field_idx, &level) in comparison.iter().enumerate() {
            let mut weight = self.level_weight(field_idx, level);
            if level == 0
                && FIELDS[field_idx].term_frequency_adjusted
                && let (Some((first, second)), Some(frequencies)) = (pair, frequencies)
            {
                weight += self.term_frequency_adjustment(field_idx, (first, second), frequencies, n_pair_counted);
            }
            evidence[field_idx] = FieldEvidence { field_idx, level, weight };
            match_weight += weight;
        }
        Score { match_weight, match_probability: probability(match_weight), evidence }
    }

    /// [`Model::exact_chance`] with `n_excluded` records holding the value left out of its count: the records being
    /// compared say nothing of how common their value is among strangers.
    pub fn exact_chance_excluding(
        &self,
        field_idx: usize,
        value: &str,
        n_excluded: u32,
        frequencies: &TermFrequencies,
    ) -> f64 {
        let u_exact = self.u[field_idx][0];
        frequencies
            .frequency_excluding(field_idx, value, n_excluded)
            .map_or(u_exact, |frequency| frequency.max(u_exact / MAX_TERM_FREQUENCY_BOOST))
    }

    /// The chance that a stranger's record holds exactly `value` in a term-frequency-adjusted field, as exact agreement
    /// on it is weighed: its share of records (never below a fiftieth of the field's average chance), or the average
    /// chance when its share is unknown.
    pub fn exact_chance(&self, field_idx: usize, value: &str, frequencies: &TermFrequencies) -> f64 {
        self.exact_chance_excluding(field_idx, value, 0, frequencies)
    }

    /// log2(u / frequency of the shared value): the average exact agreement replaced by this value's own chance, the
    /// `n_pair_counted` records of the pair left out of its count.
    fn term_frequency_adjustment(
        &self,
        field_idx: usize,
        (first, second): (&PreparedRecord, &PreparedRecord),
        frequencies: &TermFrequencies,
        n_pair_counted: u32,
    ) -> f64 {
        let field = FIELDS[field_idx].field;
        let (Some(first_value), Some(second_value)) = (term_value(first, field), term_value(second, field)) else {
            return 0.0;
        };
        let n_excluded = if first_value == second_value { n_pair_counted } else { 0 };
        let frequency = match (
            frequencies.frequency_excluding(field_idx, first_value, n_excluded),
            frequencies.frequency_excluding(field_idx, second_value, n_excluded),
        ) {
            (Some(first), Some(second)) => first.max(second),
            (Some(known), None) | (None, Some(known)) => known,
            (None, None) => return 0.0,
        };
        let u_exact = self.u[field_idx][0];
        (u_exact / frequency.max(u_exact / MAX_TERM_FREQUENCY_BOOST)).log2()
    }
}

pub fn probability(match_weight: f64) -> f64 {
    let odds = match_weight.exp2();
    if odds.is_infinite() { 1.0 } else { odds / (1.0 + odds) }
}

pub fn normalised(values: Vec<f64>) -> Vec<f64> {
    let total: f64 = values.iter().sum();
    values.into_iter().map(|value| value / total).collect()
}
