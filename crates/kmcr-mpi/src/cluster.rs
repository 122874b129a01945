//! Clustering linked pairs into persons, strongest links first, judging each join of two groups of records by every
//! pair compared across them, not by the one link that proposes it.

use std::collections::HashMap;

use crate::record::PreparedRecord;

/// What the decision made of one compared pair, as seen from a record: the other record and the verdict.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Verdict {
    Linked,
    Review,
    Apart,
}

/// Persons found and why joins were refused.
pub(crate) struct Clusters {
    pub person_of_record: Vec<u32>,
    pub n_persons: usize,
    /// Joins refused because they would have put two different valid NHS numbers into one person.
    pub n_refused_on_nhs_number: usize,
    /// Joins refused on evidence: more of the pairs compared across the two groups were kept apart than linked, or
    /// `judge_groups` refused.
    pub n_refused_as_inconsistent: usize,
}

/// Joins linked records into persons, strongest links first (`links`: weight, then the two records; an infinite
/// weight is certain and is never refused on evidence). A join is refused when it would put two different valid NHS
/// numbers into one person, or when, of the pairs compared across the two groups (`verdicts`, each record's compared
/// pairs), more were kept apart than linked: one strong link between two persons' records (two namesakes born in one
/// town) does not make them one person when the rest of their records say otherwise. `judge_groups` (the smaller
/// group's records, the larger's) may refuse a join on further evidence; it is not asked about certain links.
pub(crate) fn cluster(
    prepared: &[PreparedRecord],
    mut links: Vec<(f64, u32, u32)>,
    verdicts: &[Vec<(u32, Verdict)>],
    mut judge_groups: impl FnMut(&[u32], &[u32]) -> bool,
) -> Clusters {
    links.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut parent: Vec<u32> = (0..prepared.len() as u32).collect();
    let mut members: Vec<Vec<u32>> = (0..prepared.len() as u32).map(|record_idx| vec![record_idx]).collect();
    let mut nhs_number: Vec<_> = prepared.iter().map(|record| record.nhs_number).collect();
    // Joins refused on evidence, by the pair of groups and their combined size: looked at again only once either grew.
    let mut refused: HashMap<(u32, u32), usize> = HashMap::new();
    let (mut n_refused_on_nhs_number, mut n_refused_as_inconsistent) = (0, 0);
    for (weight, first, second) in links {
        let (first_root, second_root) = (find(&mut parent, first), find(&mut parent, second));
        if first_root == second_root {
            continue;
        }
        if matches!((nhs_number[first_root as usize], nhs_number[second_root as usize]), (Some(a), Some(b)) if a != b) {
            n_refused_on_nhs_number += 1;
            continue;
        }
        let (small, large) = if members[first_root as usize].len() <= members[second_root as usize].len() {
            (first_root, second_root)
        } else {
            (second_root, first_root)
        };
        let combined_size = members[small as usize].len() + members[large as usize].len();
        if weight.is_finite() && combined_size > 2 {
            let key = (small.min(large), small.max(large));
            if refused.get(&key) == Some(&combined_size) {
                continue;
            }
            if !consistent(&mut parent, &members[small as usize], large, verdicts)
                || !judge_groups(&members[small as usize], &members[large as usize])
            {
                refused.insert(key, combined_size);
                n_refused_as_inconsistent += 1;
                continue;
            }
        }
        parent[small as usize] = large;
        let moved = std::mem::take(&mut members[small as usize]);
        members[large as usize].extend(moved);
        if nhs_number[large as usize].is_none() {
            nhs_number[large as usize] = nhs_number[small as usize];
        }
    }
    let mut person_of_record: Vec<u32> =
        (0..prepared.len() as u32).map(|record_idx| find(&mut parent, record_idx)).collect();
    let n_persons = renumber(&mut person_of_record);
    Clusters { person_of_record, n_persons, n_refused_on_nhs_number, n_refused_as_inconsistent }
}

/// Persons numbered from 0 in the order their first record appears; returns how many there are.
pub(crate) fn renumber(person_of_record: &mut [u32]) -> usize {
    let mut number_of: HashMap<u32, u32> = HashMap::new();
    for person in person_of_record.iter_mut() {
        let next = number_of.len() as u32;
        *person = *number_of.entry(*person).or_insert(next);
    }
    number_of.len()
}

/// True unless, of the pairs compared between `small_members` and the group rooted at `large_root`, more were kept
/// apart than linked.
fn consistent(parent: &mut [u32], small_members: &[u32], large_root: u32, verdicts: &[Vec<(u32, Verdict)>]) -> bool {
    let (mut n_linked, mut n_apart) = (0usize, 0usize);
    for &member in small_members {
        for &(other, verdict) in &verdicts[member as usize] {
            if find(parent, other) != large_root {
                continue;
            }
            match verdict {
                Verdict::Linked => n_linked += 1,
                Verdict::Apart => n_apart += 1,
                Verdict::Review => {}
            }
        }
    }
    n_apart <= n_linked
}

fn find(parent: &mut [u32], mut node: u32) -> u32 {
    while parent[node as usize] != node {
        let grandparent = parent[parent[node as usize] as usize];
        parent[node as usize] = grandparent;
        node = grandparent;
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Demographics;

    /// Two groups of three records, each linked within, and one link across (2 with 3) of `bridge_weight`; the other
    /// pairs across were compared with `verdict_across`.
    fn two_groups_and_a_bridge(bridge_weight: f64, verdict_across: Verdict) -> Clusters {
        let prepared: Vec<PreparedRecord> = (0..6).map(|_| PreparedRecord::new(&Demographics::default())).collect();
        let mut verdicts: Vec<Vec<(u32, Verdict)>> = vec![Vec::new(); 6];
        let mut add = |first: u32, second: u32, verdict: Verdict| {
            verdicts[first as usize].push((second, verdict));
            verdicts[second as usize].push((first, verdict));
        };
        let links = vec![(20.0, 0, 1), (20.0, 1, 2), (20.0, 3, 4), (20.0, 4, 5), (bridge_weight, 2, 3)];
        for &(_, first, second) in &links {
            add(first, second, Verdict::Linked);
        }
        for (first, second) in [(0, 3), (0, 4), (1, 3), (1, 4)] {
            add(first, second, verdict_across);
        }
        cluster(&prepared, links, &verdicts, |_, _| true)
    }

    #[test]
    fn one_link_does_not_join_two_groups_whose_other_pairs_were_kept_apart() {
        let clusters = two_groups_and_a_bridge(10.0, Verdict::Apart);
        assert_eq!((clusters.n_persons, clusters.n_refused_as_inconsistent), (2, 1));
    }

    #[test]
    fn one_link_joins_two_groups_when_nothing_across_says_otherwise() {
        let clusters = two_groups_and_a_bridge(10.0, Verdict::Review);
        assert_eq!((clusters.n_persons, clusters.n_refused_as_inconsistent), (1, 0));
    }

    #[test]
    fn a_certain_link_is_never_refused_on_the_pairs_across() {
        let clusters = two_groups_and_a_bridge(f64::INFINITY, Verdict::Apart);
        assert_eq!(clusters.person_of_record[2], clusters.person_of_record[3]);
    }
}
