//! Scoring records against a whole person rather than one record at a time.
//!
//! A person's source records each hold part of the truth: one has the birth date, another the town, a third the
//! postcode. A new record may agree with each of them on a different field and link to none of them alone. Here every
//! pair across the two sets is compared, and each group of related fields (names, birth date, sex, place, identifier,
//! phone) counts once, with its best agreement over those pairs. Fields are grouped so that related facts drawn from
//! different pairs are not added up: the postcode agreeing with one record and the town with another is one place.
//!
//! Choosing the best of several values makes agreement by chance likelier: a stranger agrees with one of a person's
//! three postcodes about three times as often as with one. By the union bound, the chance of a stranger agreeing with
//! any of `d` distinct combinations of values across is at most `d` times the chance with one, so each agreeing field's
//! weight is lowered by `log2(d)` (never below nothing). For exact agreement on a field adjusted for term frequency,
//! `d` is tighter: the summed chance of the other side's values over the chance of the one agreed on (agreeing with one
//! of "Smith" and "Xavier" is little likelier than with "Smith" alone). The chance of a true match agreeing with the
//! best of its person's values is at least that with any one of them, so m is not overstated either: the evidence can
//! only be understated.
//!
//! How common an exactly shared value is among strangers is counted without the records being compared: a surname
//! held only by these records is as rare as a surname gets, however many copies of it their sources sent.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::compare::{FIELDS, FORENAME_DIFFERENT, MISSING, N_FIELDS, compare, term_value};
use crate::decide::{Thresholds, decide, possible_twins};
use crate::model::{FieldEvidence, Model, Score, TermFrequencies, probability};
use crate::record::PreparedRecord;

/// Fields that are counted together, by index in `FIELDS`: identifier; names; birth date; sex; place (postcode,
/// address, town, town within the postcode area); phone.
const FIELD_GROUPS: [&[usize]; 6] = [&[0], &[1, 2], &[3], &[4], &[5, 6, 7, 9], &[8]];

/// Sets larger than this are not compared record by record (a person rarely has more than a few dozen records).
pub const MAX_RECORDS_PER_SIDE: usize = 64;

/// Which sides' records `frequencies` counts: a record being placed or searched for is not counted yet.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Counted {
    BothSides,
    RightSideOnly,
}

/// What the pairs across two sets of records say together.
#[derive(Clone, Debug)]
pub struct PersonEvidence {
    /// The score from the best agreement of each group of fields, less the chance of finding it among several values.
    pub score: Score,
    /// Some pair across looks like twins (same birth date and surname, first names not forms of one another).
    pub possible_twins: bool,
    /// Some pair across holds two different valid NHS numbers.
    pub nhs_numbers_conflict: bool,
    pub n_pairs: usize,
    /// Pairs across that, alone, would be linked (`decide`).
    pub n_pairs_linked: usize,
    /// Pairs across that, alone, would not be linked and would be kept apart as surely as a link is sure.
    pub n_pairs_apart: usize,
}

impl PersonEvidence {
    /// True when the sets may be joined on this evidence alone: the score reaches the link threshold, nothing across
    /// looks like twins or holds different NHS numbers, and not every pair across, alone, says apart.
    pub fn links(&self, thresholds: &Thresholds) -> bool {
        self.score.match_probability >= thresholds.link
            && !self.possible_twins
            && !self.nhs_numbers_conflict
            && self.n_pairs_apart < self.n_pairs
    }
}

/// Compares every record of `left` with every record of `right` and weighs each group of fields by its best
/// agreement. `None` when either side is empty or larger than [`MAX_RECORDS_PER_SIDE`].
pub fn person_evidence(
    model: &Model,
    frequencies: &TermFrequencies,
    thresholds: &Thresholds,
    (left, right): (&[&PreparedRecord], &[&PreparedRecord]),
    counted: Counted,
) -> Option<PersonEvidence> {
    if left.is_empty() || right.is_empty() || left.len() > MAX_RECORDS_PER_SIDE || right.len() > MAX_RECORDS_PER_SIDE {
        return None;
    }
    let left_values = SideValues::new(model, frequencies, left);
    let right_values = SideValues::new(model, frequencies, right);
    let mut best: [Option<(f64, [FieldEvidence; N_FIELDS])>; FIELD_GROUPS.len()] = [None; FIELD_GROUPS.len()];
    let (mut possible_twins_seen, mut nhs_numbers_conflict, mut forenames_agree) = (false, false, false);
    let (mut n_pairs_linked, mut n_pairs_apart) = (0, 0);
    // How many of a pair's two records `frequencies` counts.
    let n_pair_counted = match counted {
        Counted::BothSides => 2,
        Counted::RightSideOnly => 1,
    };
    for first in left {
        for second in right {
            nhs_numbers_conflict |= first.nhs_numbers_conflict(second);
            let comparison = compare(first, second);
            possible_twins_seen |= possible_twins(&comparison);
            forenames_agree |= comparison[1] < FORENAME_DIFFERENT;
            let mut score =
                model.score_leaving_out(&comparison, Some((first, second)), Some(frequencies), n_pair_counted);
            if decide(first, second, &comparison, &score, thresholds).links() {
                n_pairs_linked += 1;
            } else if score.match_probability <= 1.0 - thresholds.link {
                n_pairs_apart += 1;
            }
            for field in score.evidence.iter_mut().filter(|field| field.weight > 0.0) {
                let spec = &FIELDS[field.field_idx];
                let chance_of_one = match term_value(first, spec.field) {
                    Some(value) if field.level == 0 && spec.term_frequency_adjusted => {
                        // The records of both persons holding the value say nothing of how common it is among
                        // strangers: left out, a surname only these records hold weighs as the rare name it is.
                        let n_holding = |records: &[&PreparedRecord]| {
                            records.iter().filter(|record| term_value(record, spec.field) == Some(value)).count()
                        };
                        let n_counted = match counted {
                            Counted::BothSides => n_holding(left) + n_holding(right),
                            Counted::RightSideOnly => n_holding(right),
                        };
                        let chance = model.exact_chance_excluding(field.field_idx, value, n_pair_counted, frequencies);
                        let chance_among_strangers =
                            model.exact_chance_excluding(field.field_idx, value, n_counted as u32, frequencies);
                        field.weight += (chance / chance_among_strangers).log2();
                        Some(chance_among_strangers)
                    }
                    _ => None,
                };
                let inflation = chance_inflation(field.field_idx, chance_of_one, &left_values, &right_values);
                field.weight = (field.weight - inflation.log2()).max(0.0);
            }
            for (group_idx, fields) in FIELD_GROUPS.iter().enumerate() {
                if fields.iter().all(|&field_idx| comparison[field_idx] == MISSING) {
                    continue;
                }
                let weight: f64 = fields.iter().map(|&field_idx| score.evidence[field_idx].weight).sum();
                if best[group_idx].as_ref().is_none_or(|(best_weight, _)| weight > *best_weight) {
                    best[group_idx] = Some((weight, score.evidence));
                }
            }
        }
    }
    let mut evidence: [FieldEvidence; N_FIELDS] =
        std::array::from_fn(|field_idx| FieldEvidence { field_idx, level: MISSING, weight: 0.0 });
    let mut match_weight = model.prior_weight();
    for (group_idx, fields) in FIELD_GROUPS.iter().enumerate() {
        let Some((weight, pair_evidence)) = &best[group_idx] else { continue };
        for &field_idx in *fields {
            evidence[field_idx] = pair_evidence[field_idx];
        }
        match_weight += weight;
    }
    Some(PersonEvidence {
        score: Score { match_weight, match_probability: probability(match_weight), evidence },
        possible_twins: possible_twins_seen && !forenames_agree,
        nhs_numbers_conflict,
        n_pairs: left.len() * right.len(),
        n_pairs_linked,
        n_pairs_apart,
    })
}

/// How much likelier a stranger is to agree with some value of one side than with the one value agreed with: at most
/// the number of combinations of distinct values across; for exact agreement on a value whose share is known, the
/// summed chances of the other side's values over the chance of this one, times the distinct values of this side.
fn chance_inflation(field_idx: usize, chance_of_one: Option<f64>, left: &SideValues, right: &SideValues) -> f64 {
    let (n_left, n_right) = (left.n_distinct[field_idx] as f64, right.n_distinct[field_idx] as f64);
    let by_count = n_left * n_right;
    let Some(chance_of_one) = chance_of_one.filter(|chance| *chance > 0.0) else { return by_count };
    let by_chance = (n_left * right.summed_exact_chance[field_idx]).min(n_right * left.summed_exact_chance[field_idx])
        / chance_of_one;
    by_chance.clamp(1.0, by_count)
}

/// Per field, how many distinct values one side holds and the summed chance that a stranger holds one of them exactly.
struct SideValues {
    n_distinct: [usize; N_FIELDS],
    summed_exact_chance: [f64; N_FIELDS],
}

impl SideValues {
    fn new(model: &Model, frequencies: &TermFrequencies, records: &[&PreparedRecord]) -> SideValues {
        let mut n_distinct = [1; N_FIELDS];
        let mut summed_exact_chance = [0.0; N_FIELDS];
        for (field_idx, spec) in FIELDS.iter().enumerate() {
            let mut seen: HashSet<u64> = HashSet::new();
            for record in records {
                let mut hasher = DefaultHasher::new();
                if !hash_field(record, field_idx, &mut hasher) || !seen.insert(hasher.finish()) {
                    continue;
                }
                if spec.term_frequency_adjusted
                    && let Some(value) = term_value(record, spec.field)
                {
                    summed_exact_chance[field_idx] += model.exact_chance(field_idx, value, frequencies);
                }
            }
            n_distinct[field_idx] = seen.len().max(1);
        }
        SideValues { n_distinct, summed_exact_chance }
    }
}

/// Hashes the values a field is compared on; false when the record lacks them.
fn hash_field(record: &PreparedRecord, field_idx: usize, hasher: &mut DefaultHasher) -> bool {
    fn put<T: Hash>(value: &Option<T>, hasher: &mut DefaultHasher) -> bool {
        value.hash(hasher);
        value.is_some()
    }
    match field_idx {
        0 => put(&record.identifier, hasher),
        1 => put(&record.forename, hasher),
        2 => put(&record.surname, hasher),
        3 => put(&record.birth_date, hasher),
        4 => put(&record.sex, hasher),
        5 => put(&record.postcode, hasher),
        6 => put(&record.address_line, hasher),
        7 | 9 => put(&record.locality, hasher),
        8 => {
            record.phones.hash(hasher);
            !record.phones.is_empty()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Demographics;

    fn named(given: &str, family: &str, birth_date: Option<&str>) -> PreparedRecord {
        PreparedRecord::new(&Demographics {
            given_names: vec![given.into()],
            family_name: Some(family.into()),
            birth_date: birth_date.map(str::to_string),
            ..Demographics::default()
        })
    }

    /// The surname's weight in the evidence of a name-only record against a person's three records, and in the score
    /// of the record against one of them alone (the surname counted with the person's records).
    fn surname_weights(family: &str, n_strangers_with_it: usize) -> (f64, f64) {
        let person: Vec<PreparedRecord> = (0..3).map(|_| named("zebedee", family, Some("1960-02-03"))).collect();
        let mut all: Vec<PreparedRecord> =
            (0..1_200).map(|idx| named("ann", &format!("stranger{idx}"), None)).collect();
        all.extend((0..n_strangers_with_it).map(|_| named("ann", family, None)));
        all.extend(person.iter().cloned());
        let frequencies = TermFrequencies::new(&all);
        let model = Model::untrained(1e-6);
        let query = named("zebedee", family, None);
        let members: Vec<&PreparedRecord> = person.iter().collect();
        let evidence = person_evidence(
            &model,
            &frequencies,
            &Thresholds::default(),
            (&[&query], &members),
            Counted::RightSideOnly,
        )
        .unwrap();
        let alone = model.score(&compare(&query, &person[0]), Some((&query, &person[0])), Some(&frequencies));
        (evidence.score.evidence[2].weight, alone.evidence[2].weight)
    }

    #[test]
    fn a_surname_only_the_persons_records_hold_weighs_as_rare_and_a_common_one_does_not_gain() {
        let (with_records_left_out, counted_with_them) = surname_weights("quillfeather", 0);
        assert!(
            with_records_left_out > counted_with_them + 1.0,
            "{with_records_left_out:.2} bits, {counted_with_them:.2} counted with the person's records"
        );
        let (with_records_left_out, counted_with_them) = surname_weights("smith", 300);
        assert!(
            (with_records_left_out - counted_with_them).abs() < 0.1,
            "{with_records_left_out:.2} bits, {counted_with_them:.2} counted with the person's records"
        );
    }
}
