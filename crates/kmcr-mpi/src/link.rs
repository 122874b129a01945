//! Linking a whole set of records from scratch: prepare, block, compare, train the model on these very pairs, score,
//! decide, and cluster the links into persons (`cluster.rs`), never joining two different valid NHS numbers.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::blocking::{
    BlockingKeys, MAX_BLOCK_SIZE, N_RULES, RULE_FIELDS, blocking_keys, paired_by_earlier_rule, shared_rules,
};
use kmcr_fhir::NhsNumber;

use crate::cluster::{Clusters, Verdict, cluster};
use crate::compare::{Comparison, compare};
use crate::consensus::consensus_agrees;
use crate::decide::{PairDecision, Thresholds, decide};
use crate::join_persons::join_on_person_evidence;
use crate::model::{Model, TermFrequencies};
use crate::person_evidence::{Counted, person_evidence};
use crate::record::{Demographics, PreparedRecord};
use crate::train::{estimate_model, estimate_u};

#[derive(Clone, Debug)]
pub struct LinkSettings {
    pub thresholds: Thresholds,
    /// Random pairs compared to estimate u.
    pub n_u_samples: usize,
    pub seed: u64,
    /// Threads for preparing and comparing (the machine's cores).
    pub n_threads: usize,
}

impl Default for LinkSettings {
    fn default() -> Self {
        LinkSettings {
            thresholds: Thresholds::default(),
            n_u_samples: 1_000_000,
            seed: 0x4b4d_4352,
            n_threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

#[derive(Clone, Debug)]
pub struct LinkOutcome {
    /// For each record, in input order, the index of the person it was linked to (persons numbered from 0).
    pub person_of_record: Vec<u32>,
    pub n_persons: usize,
    pub n_pairs_compared: usize,
    pub n_pairs_linked: usize,
    pub n_pairs_for_review: usize,
    /// Links refused because the two records hold different valid NHS numbers.
    pub n_pairs_apart_on_nhs_number: usize,
    /// Links not made because joining would have put two different valid NHS numbers in one person.
    pub n_links_refused_in_clustering: usize,
    /// Joins of two groups of records refused because the records across disagree: more of the pairs compared across
    /// were kept apart than linked, all their records together score below the review band, or their consensus
    /// records (`consensus.rs`) do not link.
    pub n_joins_refused_as_inconsistent: usize,
    /// Groups of records joined to a person on the evidence of all their records together, where no single pair was
    /// sure enough (`person_evidence.rs`).
    pub n_joins_on_person_evidence: usize,
    pub model: Model,
    pub timings: Vec<(&'static str, Duration)>,
}

pub fn link_all(records: &[Demographics], settings: &LinkSettings) -> LinkOutcome {
    let mut timings = Vec::new();
    let mut stage = Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, Duration)>| {
        timings.push((name, stage.elapsed()));
        stage = Instant::now();
    };

    let prepared: Vec<PreparedRecord> = in_parallel(records, settings.n_threads, PreparedRecord::new);
    let keys: Vec<BlockingKeys> = in_parallel(&prepared, settings.n_threads, blocking_keys);
    let frequencies = TermFrequencies::new(&prepared);
    lap("prepare", &mut timings);

    let pairs = candidate_pairs(&prepared, &keys);
    lap("block", &mut timings);

    let comparisons: Vec<Comparison> = in_parallel(&pairs, settings.n_threads, |&(first, second)| {
        compare(&prepared[first as usize], &prepared[second as usize])
    });
    lap("compare", &mut timings);

    let u = estimate_u(&prepared, settings.n_u_samples, settings.seed);
    let rules_shared: Vec<u32> =
        pairs.iter().map(|&(first, second)| shared_rules(&keys[first as usize], &keys[second as usize])).collect();
    let model = estimate_model(&comparisons, &rules_shared, &RULE_FIELDS, u, prepared.len());
    lap("train", &mut timings);

    let Decided {
        clusters,
        n_joins_on_person_evidence,
        n_pairs_linked,
        n_pairs_for_review,
        n_pairs_apart_on_nhs_number,
    } = decide_and_cluster(&prepared, &pairs, &comparisons, &model, &frequencies, &settings.thresholds);
    lap("score and cluster", &mut timings);

    LinkOutcome {
        person_of_record: clusters.person_of_record,
        n_persons: clusters.n_persons,
        n_pairs_compared: pairs.len(),
        n_pairs_linked,
        n_pairs_for_review,
        n_pairs_apart_on_nhs_number,
        n_links_refused_in_clustering: clusters.n_refused_on_nhs_number,
        n_joins_refused_as_inconsistent: clusters.n_refused_as_inconsistent,
        n_joins_on_person_evidence,
        model,
        timings,
    }
}

pub(crate) struct Decided {
    pub clusters: Clusters,
    pub n_joins_on_person_evidence: usize,
    pub n_pairs_linked: usize,
    pub n_pairs_for_review: usize,
    pub n_pairs_apart_on_nhs_number: usize,
}

/// Scores and decides every compared pair, then clusters the links into persons.
pub(crate) fn decide_and_cluster(
    prepared: &[PreparedRecord],
    pairs: &[(u32, u32)],
    comparisons: &[Comparison],
    model: &Model,
    frequencies: &TermFrequencies,
    thresholds: &Thresholds,
) -> Decided {
    let mut links = Vec::new();
    let mut review_pairs = Vec::new();
    let mut verdicts: Vec<Vec<(u32, Verdict)>> = vec![Vec::new(); prepared.len()];
    let (mut n_pairs_for_review, mut n_pairs_apart_on_nhs_number) = (0, 0);
    for (&(first_idx, second_idx), comparison) in pairs.iter().zip(comparisons) {
        let (first, second) = (&prepared[first_idx as usize], &prepared[second_idx as usize]);
        let score = model.score_leaving_out(comparison, Some((first, second)), Some(frequencies), 2);
        let verdict = match decide(first, second, comparison, &score, thresholds) {
            decision if decision.links() => {
                let certain = decision == PairDecision::LinkOnVerifiedNhsNumber;
                let weight = if certain { f64::INFINITY } else { score.match_weight };
                links.push((weight, first_idx, second_idx));
                Verdict::Linked
            }
            PairDecision::Review => {
                n_pairs_for_review += 1;
                review_pairs.push((first_idx, second_idx));
                Verdict::Review
            }
            PairDecision::ApartOnNhsNumber => {
                n_pairs_apart_on_nhs_number += 1;
                Verdict::Apart
            }
            // Apart as surely as a link is sure: the mirror of the link threshold.
            _ if score.match_probability <= 1.0 - thresholds.link => Verdict::Apart,
            _ => Verdict::Review,
        };
        verdicts[first_idx as usize].push((second_idx, verdict));
        verdicts[second_idx as usize].push((first_idx, verdict));
    }
    let n_pairs_linked = links.len();
    // A join proposed by one strong pair must also hold up on all the records of both groups together: below the
    // review band there, or with consensus records that do not link, it is two persons whose records happen to share
    // one near-copy (namesakes in one town).
    let mut clusters = cluster(prepared, links, &verdicts, |small, large| {
        let small: Vec<&PreparedRecord> = small.iter().map(|&idx| &prepared[idx as usize]).collect();
        let large: Vec<&PreparedRecord> = large.iter().map(|&idx| &prepared[idx as usize]).collect();
        person_evidence(model, frequencies, thresholds, (&small, &large), Counted::BothSides)
            .is_none_or(|evidence| evidence.score.match_probability >= thresholds.review)
            && consensus_agrees(model, frequencies, thresholds, &small, &large)
    });
    let n_joins_on_person_evidence = join_on_person_evidence(
        prepared,
        &mut clusters.person_of_record,
        &review_pairs,
        model,
        frequencies,
        thresholds,
    );
    clusters.n_persons -= n_joins_on_person_evidence;
    Decided { clusters, n_joins_on_person_evidence, n_pairs_linked, n_pairs_for_review, n_pairs_apart_on_nhs_number }
}

/// Records prepared on `n_threads` threads, in input order.
pub fn prepare_all(records: &[&Demographics], n_threads: usize) -> Vec<PreparedRecord> {
    in_parallel(records, n_threads, |demographics| PreparedRecord::new(demographics))
}

/// The model trained on these records (owned, or shared with a live index): u from random pairs, m and the prior by
/// EM over the pairs blocking brings together.
pub fn train_prepared<R: Borrow<PreparedRecord> + Sync>(prepared: &[R], settings: &LinkSettings) -> Model {
    let keys: Vec<BlockingKeys> = in_parallel(prepared, settings.n_threads, |record| blocking_keys(record.borrow()));
    let pairs = candidate_pairs(prepared, &keys);
    let comparisons: Vec<Comparison> = in_parallel(&pairs, settings.n_threads, |&(first, second)| {
        compare(prepared[first as usize].borrow(), prepared[second as usize].borrow())
    });
    train_from_pairs(prepared, &keys, &pairs, &comparisons, settings)
}

fn train_from_pairs<R: Borrow<PreparedRecord>>(
    prepared: &[R],
    keys: &[BlockingKeys],
    pairs: &[(u32, u32)],
    comparisons: &[Comparison],
    settings: &LinkSettings,
) -> Model {
    let u = estimate_u(prepared, settings.n_u_samples, settings.seed);
    let rules_shared: Vec<u32> =
        pairs.iter().map(|&(first, second)| shared_rules(&keys[first as usize], &keys[second as usize])).collect();
    estimate_model(comparisons, &rules_shared, &RULE_FIELDS, u, prepared.len())
}

fn push_unless_paired_earlier(
    pairs: &mut Vec<(u32, u32)>,
    keys: &[BlockingKeys],
    rule_idx: usize,
    first: u32,
    second: u32,
) {
    if !paired_by_earlier_rule(&keys[first as usize], &keys[second as usize], rule_idx) {
        pairs.push((first.min(second), first.max(second)));
    }
}

/// Every pair of records sharing a key under some rule that could be one person, each pair once (by the first rule
/// it shares).
fn candidate_pairs<R: Borrow<PreparedRecord>>(prepared: &[R], keys: &[BlockingKeys]) -> Vec<(u32, u32)> {
    let mut pairs = Vec::new();
    for rule_idx in 0..N_RULES {
        let mut blocks: HashMap<u64, Vec<u32>> = HashMap::new();
        for (record_idx, record_keys) in keys.iter().enumerate() {
            if let Some(key) = record_keys[rule_idx] {
                blocks.entry(key).or_default().push(record_idx as u32);
            }
        }
        for members in blocks.values() {
            if members.len() < 2 || members.len() > MAX_BLOCK_SIZE[rule_idx] {
                continue;
            }
            // Records with different valid NHS numbers can never link: they are not even paired.
            let mut by_nhs_number: HashMap<Option<NhsNumber>, Vec<u32>> = HashMap::new();
            for &member in members {
                by_nhs_number.entry(prepared[member as usize].borrow().nhs_number).or_default().push(member);
            }
            let without_number = by_nhs_number.get(&None).map_or(&[][..], Vec::as_slice);
            for (number, group) in &by_nhs_number {
                for (position, &first) in group.iter().enumerate() {
                    for &second in &group[position + 1..] {
                        push_unless_paired_earlier(&mut pairs, keys, rule_idx, first, second);
                    }
                    if number.is_some() {
                        for &second in without_number {
                            push_unless_paired_earlier(&mut pairs, keys, rule_idx, first, second);
                        }
                    }
                }
            }
        }
    }
    pairs
}

/// `work` applied to every item on `n_threads` threads, results in input order.
fn in_parallel<T: Sync, R: Send>(items: &[T], n_threads: usize, work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n_threads = n_threads.max(1);
    if n_threads == 1 || items.len() < 10_000 {
        return items.iter().map(work).collect();
    }
    let chunk_size = items.len().div_ceil(n_threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            items.chunks(chunk_size).map(|chunk| scope.spawn(|| chunk.iter().map(&work).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|handle| handle.join().expect("linking threads do not panic")).collect()
    })
}
