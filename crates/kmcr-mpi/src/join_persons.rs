//! After pairwise clustering: joining a group of records to a person on the evidence of all their records together
//! (`person_evidence.rs`), where no single pair was sure enough. Smaller groups are judged first, each against the
//! persons its records have pairs in the review band with; a group joins only the one person whose evidence reaches
//! the link threshold, and whose consensus record links with the group's when both hold several records
//! (`consensus.rs`), never when two persons do. The smaller group's verdict stands for both sides: a person does not
//! join a record that two persons would take by being judged from the person's side.

use std::collections::{HashMap, HashSet};

use crate::cluster::renumber;
use crate::consensus::consensus_agrees;
use crate::decide::Thresholds;
use crate::model::{Model, TermFrequencies};
use crate::person_evidence::{Counted, person_evidence};
use crate::record::PreparedRecord;

/// Passes over the groups: a join can bring a group the evidence that joins it to another in the next pass.
const MAX_PASSES: usize = 3;

/// Joins groups of `person_of_record` (updated in place, persons renumbered from 0) and returns how many joins were
/// made. `review_pairs` are the pairs whose score fell in the review band.
pub(crate) fn join_on_person_evidence(
    prepared: &[PreparedRecord],
    person_of_record: &mut [u32],
    review_pairs: &[(u32, u32)],
    model: &Model,
    frequencies: &TermFrequencies,
    thresholds: &Thresholds,
) -> usize {
    let n_groups = person_of_record.iter().map(|&person| person as usize + 1).max().unwrap_or(0);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); n_groups];
    for (record_idx, &person) in person_of_record.iter().enumerate() {
        members[person as usize].push(record_idx as u32);
    }
    let judge = Judge { prepared, model, frequencies, thresholds };
    let mut n_joins = 0;
    for _ in 0..MAX_PASSES {
        let neighbours = neighbours(person_of_record, review_pairs);
        let mut order: Vec<u32> = neighbours.keys().copied().collect();
        order.sort_by_key(|&group| (members[group as usize].len(), group));
        // Groups joined in this pass, and where they went: a neighbour list names groups as they were.
        let mut joined_into: HashMap<u32, u32> = HashMap::new();
        // Groups two or more persons would take: joined to none of them, from either side.
        let mut ambiguous: HashSet<u32> = HashSet::new();
        let mut n_joins_this_pass = 0;
        for group in order {
            if members[group as usize].is_empty() {
                continue;
            }
            let linking = judge.linking(&members, &neighbours, &joined_into, group);
            if linking.len() > 1 {
                ambiguous.insert(group);
            }
            // Two persons both this sure: not for a score to choose between them.
            let [target] = linking[..] else { continue };
            let (group_size, target_size) = (members[group as usize].len(), members[target as usize].len());
            // The smaller group was judged first, against all its candidates, and its verdict stands for both; of two
            // the same size, each must be the only one the other would take.
            if ambiguous.contains(&target)
                || target_size < group_size
                || (target_size == group_size && judge.linking(&members, &neighbours, &joined_into, target) != [group])
            {
                continue;
            }
            let moved = std::mem::take(&mut members[group as usize]);
            for &record_idx in &moved {
                person_of_record[record_idx as usize] = target;
            }
            members[target as usize].extend(moved);
            joined_into.insert(group, target);
            n_joins_this_pass += 1;
        }
        n_joins += n_joins_this_pass;
        if n_joins_this_pass == 0 {
            break;
        }
    }
    renumber(person_of_record);
    n_joins
}

struct Judge<'a> {
    prepared: &'a [PreparedRecord],
    model: &'a Model,
    frequencies: &'a TermFrequencies,
    thresholds: &'a Thresholds,
}

impl Judge<'_> {
    /// The groups, among those `group` has pairs in the review band with, whose records and its own together link.
    fn linking(
        &self,
        members: &[Vec<u32>],
        neighbours: &HashMap<u32, Vec<u32>>,
        joined_into: &HashMap<u32, u32>,
        group: u32,
    ) -> Vec<u32> {
        let records_of = |group: u32| -> Vec<&PreparedRecord> {
            members[group as usize].iter().map(|&idx| &self.prepared[idx as usize]).collect()
        };
        let left = records_of(group);
        let mut candidates: Vec<u32> = neighbours
            .get(&group)
            .into_iter()
            .flatten()
            .map(|&other| resolve(joined_into, other))
            .filter(|&other| other != group && !members[other as usize].is_empty())
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .filter(|&other| {
                let right = records_of(other);
                person_evidence(self.model, self.frequencies, self.thresholds, (&left, &right), Counted::BothSides)
                    .is_some_and(|evidence| evidence.links(self.thresholds))
                    && consensus_agrees(self.model, self.frequencies, self.thresholds, &left, &right)
            })
            .collect()
    }
}

/// Where a group went, following joins made in this pass.
fn resolve(joined_into: &HashMap<u32, u32>, mut group: u32) -> u32 {
    while let Some(&target) = joined_into.get(&group) {
        group = target;
    }
    group
}

/// For each group, the other groups it has a pair in the review band with.
fn neighbours(person_of_record: &[u32], review_pairs: &[(u32, u32)]) -> HashMap<u32, Vec<u32>> {
    let mut neighbours: HashMap<u32, HashSet<u32>> = HashMap::new();
    for &(first, second) in review_pairs {
        let (first, second) = (person_of_record[first as usize], person_of_record[second as usize]);
        if first != second {
            neighbours.entry(first).or_default().insert(second);
            neighbours.entry(second).or_default().insert(first);
        }
    }
    neighbours
        .into_iter()
        .map(|(group, others)| {
            let mut others: Vec<u32> = others.into_iter().collect();
            others.sort_unstable();
            (group, others)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Demographics, Sex};

    /// A GP record, a sparse council record of the same person (surname and a new home), and an ambulance record
    /// with the GP's name, birth date and sex at the council's home: each pair with the ambulance record is only in
    /// the review band under the untrained weights.
    fn person(forename: &str) -> [Demographics; 3] {
        let gp = Demographics {
            given_names: vec![forename.into()],
            family_name: Some("quenby".into()),
            birth_date: Some("1961-04-17".into()),
            sex: Some(Sex::Female),
            postcode: Some("ME14 2LL".into()),
            address_line: Some("4 tonbridge road".into()),
            locality: Some("maidstone".into()),
            ..Demographics::default()
        };
        let council = Demographics {
            family_name: gp.family_name.clone(),
            postcode: Some("CT20 1AA".into()),
            locality: Some("folkestone".into()),
            ..Demographics::default()
        };
        let ambulance = Demographics {
            given_names: gp.given_names.clone(),
            birth_date: gp.birth_date.clone(),
            sex: gp.sex,
            ..council.clone()
        };
        [gp, council, ambulance]
    }

    fn join(records: &[Demographics], person_of_record: &mut [u32], review_pairs: &[(u32, u32)]) -> usize {
        let prepared: Vec<PreparedRecord> = records.iter().map(PreparedRecord::new).collect();
        let frequencies = TermFrequencies::new(&prepared);
        let (model, thresholds) = (Model::untrained(1e-6), Thresholds::default());
        for &(first, second) in review_pairs {
            let (first, second) = (&prepared[first as usize], &prepared[second as usize]);
            let comparison = crate::compare::compare(first, second);
            let probability = model.score(&comparison, Some((first, second)), Some(&frequencies)).match_probability;
            assert!((thresholds.review..thresholds.link).contains(&probability), "in the review band: {probability}");
        }
        join_on_person_evidence(&prepared, person_of_record, review_pairs, &model, &frequencies, &thresholds)
    }

    #[test]
    fn a_record_joins_the_one_person_whose_records_together_link() {
        let records = person("rowena");
        let mut person_of_record = [0, 0, 1];
        assert_eq!(join(&records, &mut person_of_record, &[(0, 2), (1, 2)]), 1);
        assert_eq!(person_of_record, [0, 0, 0]);
    }

    #[test]
    fn a_record_two_persons_would_take_joins_neither() {
        let [gp, council, ambulance] = person("rowena");
        let records = [gp.clone(), council.clone(), ambulance, gp, council];
        let mut person_of_record = [0, 0, 1, 2, 2];
        assert_eq!(join(&records, &mut person_of_record, &[(0, 2), (1, 2), (2, 3), (2, 4)]), 0);
        assert_eq!(person_of_record, [0, 0, 1, 2, 2]);
    }
}
