//! The live person index: every source record the service knows, its blocking keys and its person, kept in memory so
//! that placing a record or answering `$match` costs a few dozen comparisons however many records there are.
//! The store keeps the outcome (links, reasons, history); this index is rebuilt from it at start.

mod joins;
mod splits;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::blocking::{BlockingKeys, MAX_BLOCK_SIZE, N_RULES, blocking_keys};
use crate::compare::compare;
use crate::decide::{MatchGrade, PairDecision, Thresholds, decide};
use crate::model::{Model, Score, TermFrequencies};
use crate::person_evidence::{Counted, PersonEvidence, person_evidence};
use crate::record::{Demographics, PreparedRecord};

pub use joins::MovedRecord;
pub use splits::SplitRecord;

/// Why a record belongs to its person.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LinkReason {
    /// No other record matched: the record is a person of its own.
    NewPerson,
    VerifiedNhsNumber,
    /// A match probability at or above the link threshold.
    Score,
    /// A match probability at or above the link threshold from all the person's records together, where no one of
    /// them was sure enough alone (`person_evidence.rs`).
    PersonScore,
    /// A data-quality officer linked it.
    Manual,
    /// Its source merged it into another of its records (`Patient.link` replaced-by, HL7 v2 A40).
    Merge,
    /// Its person was joined with this one by a later record that links with both (`joins.rs`).
    PersonJoin,
    /// Its person was split: linked again alone, its records were two persons' (`splits.rs`).
    PersonSplit,
}

impl LinkReason {
    pub fn code(&self) -> &'static str {
        match self {
            LinkReason::NewPerson => "new-person",
            LinkReason::VerifiedNhsNumber => "verified-nhs-number",
            LinkReason::Score => "probabilistic-score",
            LinkReason::PersonScore => "probabilistic-score-person",
            LinkReason::Manual => "manual-decision",
            LinkReason::Merge => "merge",
            LinkReason::PersonJoin => "person-join",
            LinkReason::PersonSplit => "person-split",
        }
    }

    /// The reason a [`LinkReason::code`] names.
    pub fn from_code(code: &str) -> Option<LinkReason> {
        const ALL: [LinkReason; 8] = [
            LinkReason::NewPerson,
            LinkReason::VerifiedNhsNumber,
            LinkReason::Score,
            LinkReason::PersonScore,
            LinkReason::Manual,
            LinkReason::Merge,
            LinkReason::PersonJoin,
            LinkReason::PersonSplit,
        ];
        ALL.into_iter().find(|reason| reason.code() == code)
    }
}

/// A decision a person made about a pair of records: it outranks any score, and sticks when records are re-matched.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ManualDecision {
    Link,
    KeepApart,
}

/// Manual decisions by pair of record ids (in either order).
#[derive(Clone, Debug, Default)]
pub struct ManualDecisions {
    by_pair: HashMap<(String, String), ManualDecision>,
    partners: HashMap<String, Vec<String>>,
}

impl ManualDecisions {
    pub fn record(&mut self, first: &str, second: &str, decision: ManualDecision) {
        if self.by_pair.insert(pair_key(first, second), decision).is_none() {
            self.partners.entry(first.to_string()).or_default().push(second.to_string());
            self.partners.entry(second.to_string()).or_default().push(first.to_string());
        }
    }

    /// The records a decision pairs with `record_id`.
    pub fn partners(&self, record_id: &str) -> &[String] {
        self.partners.get(record_id).map_or(&[], Vec::as_slice)
    }

    pub fn get(&self, first: &str, second: &str) -> Option<ManualDecision> {
        // Asked of every candidate pair: most records have no decision, and this answers them without building a key.
        if !self.partners(first).iter().any(|partner| partner == second) {
            return None;
        }
        self.by_pair.get(&pair_key(first, second)).copied()
    }
}

fn pair_key(first: &str, second: &str) -> (String, String) {
    if first <= second { (first.to_string(), second.to_string()) } else { (second.to_string(), first.to_string()) }
}

/// Where a record was placed, and why.
#[derive(Clone, Debug)]
pub struct Placement {
    pub person_id: String,
    pub previous_person_id: Option<String>,
    pub reason: LinkReason,
    /// The record it was linked through, and that pair's score (none for a new person or a merge); linked on all the
    /// person's records together, the best of them and the score of them all.
    pub linked_through: Option<(String, Score)>,
    /// Pairs in the review band with records of other persons: for a person to decide.
    pub reviews: Vec<(String, Score)>,
    /// Records of other persons that moved because the record linked their person with its own (`joins.rs`).
    pub joined: Vec<MovedRecord>,
    /// Records that then moved out of the record's person to new persons, because its records linked again alone
    /// were two persons' or more (`splits.rs`).
    pub split: Vec<SplitRecord>,
}

/// A person who may be the one described, for `$match`.
#[derive(Clone, Debug)]
pub struct PersonMatch {
    pub person_id: String,
    /// The person's record that matched best, and its score; or, where the person's records together say more than any
    /// one of them, the score of them all.
    pub record_id: String,
    pub score: Score,
    pub grade: MatchGrade,
}

struct Slot {
    record_id: String,
    /// Shared, so that a snapshot to train on costs a pointer per record.
    prepared: Arc<PreparedRecord>,
    keys: BlockingKeys,
    person_id: String,
    /// Placed by its source's merge or a person's decision: its person is never split (`splits.rs`).
    held_together: bool,
}

pub struct PersonIndex {
    model: Model,
    thresholds: Thresholds,
    frequencies: TermFrequencies,
    slots: Vec<Option<Slot>>,
    /// Slots emptied by updates, reused before the vector grows.
    free_slots: Vec<u32>,
    slot_of_record: HashMap<String, usize>,
    blocks: Vec<HashMap<u64, Vec<u32>>>,
    members: HashMap<String, Vec<u32>>,
}

/// A candidate pair as judged: the other record's slot, the score and the decision.
struct Judged {
    slot_idx: u32,
    score: Score,
    decision: PairDecision,
    manual: Option<ManualDecision>,
}

impl PersonIndex {
    pub fn new(model: Model, thresholds: Thresholds) -> PersonIndex {
        PersonIndex {
            model,
            thresholds,
            frequencies: TermFrequencies::default(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            slot_of_record: HashMap::new(),
            blocks: (0..N_RULES).map(|_| HashMap::new()).collect(),
            members: HashMap::new(),
        }
    }

    /// Makes room for `additional` more records at once (rebuilding at start), rather than growing step by step.
    pub fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
        self.slot_of_record.reserve(additional);
        self.members.reserve(additional);
    }

    pub fn n_records(&self) -> usize {
        self.slot_of_record.len()
    }

    pub fn n_persons(&self) -> usize {
        self.members.len()
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Scores every later placement and search with `model` (one trained on more records); links already made stay.
    pub fn set_model(&mut self, model: Model) {
        self.model = model;
    }

    /// Every record as prepared, in no particular order: what a new model is trained on, away from the index's lock.
    pub fn records_for_training(&self) -> Vec<Arc<PreparedRecord>> {
        self.slots.iter().flatten().map(|slot| slot.prepared.clone()).collect()
    }

    pub fn person_of(&self, record_id: &str) -> Option<&str> {
        let slot = self.slot(record_id)?;
        Some(slot.person_id.as_str())
    }

    /// The record ids of a person, in the order they joined.
    pub fn members(&self, person_id: &str) -> Vec<&str> {
        self.members.get(person_id).map_or_else(Vec::new, |slots| {
            slots.iter().filter_map(|&slot_idx| self.slot_at(slot_idx)).map(|slot| slot.record_id.as_str()).collect()
        })
    }

    /// Puts a record where the store says it is, without matching (rebuilding the index at start); `reason` is why
    /// it is there.
    pub fn restore(&mut self, record_id: &str, demographics: &Demographics, person_id: &str, reason: LinkReason) {
        self.restore_prepared(record_id, PreparedRecord::new(demographics), person_id, reason);
    }

    /// [`PersonIndex::restore`] with the record already prepared.
    pub fn restore_prepared(&mut self, record_id: &str, prepared: PreparedRecord, person_id: &str, reason: LinkReason) {
        let held_together = matches!(reason, LinkReason::Manual | LinkReason::Merge);
        self.insert(record_id, prepared, person_id, held_together);
    }

    /// Matches a new or changed record against every other and places it: with the person it links to best, or a
    /// new person (`new_person_id` names it, and any a split makes). Manual decisions outrank scores.
    pub fn place(
        &mut self,
        record_id: &str,
        demographics: &Demographics,
        decisions: &ManualDecisions,
        mut new_person_id: impl FnMut() -> String,
    ) -> Placement {
        let prepared = PreparedRecord::new(demographics);
        let previous_person_id = self.remove(record_id);
        let judged = self.judge(record_id, &prepared, decisions);
        let choice = self.best_person(&prepared, record_id, &judged, decisions, previous_person_id.as_deref());
        let (person_id, mut reason, mut linked_through) = match choice {
            Some((person_id, judged_idx)) => {
                let best = &judged[judged_idx];
                let reason = match (best.manual, best.decision) {
                    (Some(ManualDecision::Link), _) => LinkReason::Manual,
                    (_, PairDecision::LinkOnVerifiedNhsNumber) => LinkReason::VerifiedNhsNumber,
                    _ => LinkReason::Score,
                };
                let through = self.slot_at(best.slot_idx).map(|slot| (slot.record_id.clone(), best.score.clone()));
                (person_id, reason, through)
            }
            None => match self.person_on_all_records(&prepared, record_id, &judged, decisions) {
                Some((person_id, judged_idx, score)) => {
                    let through = self.slot_at(judged[judged_idx].slot_idx).map(|slot| (slot.record_id.clone(), score));
                    (person_id, LinkReason::PersonScore, through)
                }
                None => {
                    // A record alone in its person keeps that person; one leaving others behind starts a new one.
                    let keep = previous_person_id.as_ref().filter(|person| !self.members.contains_key(person.as_str()));
                    (keep.cloned().unwrap_or_else(&mut new_person_id), LinkReason::NewPerson, None)
                }
            },
        };
        self.insert(record_id, prepared, &person_id, reason == LinkReason::Manual);
        let (mut person_id, mut joined) = self.join_linked_persons(record_id, person_id, &judged, decisions);
        joined.retain(|moved| moved.record_id != record_id);
        let mut split = self.split_apart_groups(&person_id, decisions, &mut new_person_id);
        if let Some(position) = split.iter().position(|record| record.record_id == record_id) {
            // The record itself went with the group split off: its person is that group's.
            person_id = split.remove(position).person_id;
            (reason, linked_through) = (LinkReason::PersonSplit, None);
        }
        let reviews = judged
            .iter()
            .filter(|candidate| candidate.decision == PairDecision::Review && candidate.manual.is_none())
            .filter_map(|candidate| self.slot_at(candidate.slot_idx).map(|slot| (slot, &candidate.score)))
            .filter(|(slot, _)| slot.person_id != person_id)
            .map(|(slot, score)| (slot.record_id.clone(), score.clone()))
            .collect();
        Placement { person_id, previous_person_id, reason, linked_through, reviews, joined, split }
    }

    /// Moves a record into the person of the record its source merged it into. Refused (`None`) when that person holds
    /// a different valid NHS number: such a merge goes to a person to decide instead.
    pub fn merge_into(&mut self, record_id: &str, demographics: &Demographics, survivor_id: &str) -> Option<Placement> {
        let survivor_person = self.person_of(survivor_id)?.to_string();
        let prepared = PreparedRecord::new(demographics);
        if self.person_conflicts(&survivor_person, &prepared, record_id) {
            return None;
        }
        let previous_person_id = self.remove(record_id);
        self.insert(record_id, prepared, &survivor_person, true);
        Some(Placement {
            person_id: survivor_person,
            previous_person_id,
            reason: LinkReason::Merge,
            linked_through: None,
            reviews: Vec::new(),
            joined: Vec::new(),
            split: Vec::new(),
        })
    }

    /// Takes a record out (its source deleted it); returns the person it was in.
    pub fn forget(&mut self, record_id: &str) -> Option<String> {
        self.remove(record_id)
    }

    /// Persons who may be the one described, best first, at most `count`, none below the review threshold.
    pub fn search(&self, demographics: &Demographics, count: usize) -> Vec<PersonMatch> {
        let prepared = PreparedRecord::new(demographics);
        let judged = self.judge("", &prepared, &ManualDecisions::default());
        let mut best_by_person: HashMap<&str, (usize, f64)> = HashMap::new();
        for (judged_idx, candidate) in judged.iter().enumerate() {
            if candidate.decision == PairDecision::Apart || candidate.decision == PairDecision::ApartOnNhsNumber {
                continue;
            }
            let Some(slot) = self.slot_at(candidate.slot_idx) else { continue };
            let weight = effective_weight(candidate);
            let entry = best_by_person.entry(slot.person_id.as_str()).or_insert((judged_idx, weight));
            if weight > entry.1 {
                *entry = (judged_idx, weight);
            }
        }
        let mut matches: Vec<(f64, PersonMatch)> = best_by_person
            .into_iter()
            .filter_map(|(person_id, (judged_idx, weight))| {
                let candidate = &judged[judged_idx];
                let slot = self.slot_at(candidate.slot_idx)?;
                let mut person_match = PersonMatch {
                    person_id: person_id.to_string(),
                    record_id: slot.record_id.clone(),
                    score: candidate.score.clone(),
                    grade: candidate.decision.grade(),
                };
                // As placing would: a person whose records together link is a probable match.
                if candidate.decision == PairDecision::Review
                    && let Some(evidence) = self.person_evidence_of(&prepared, person_id)
                    && evidence.links(&self.thresholds)
                {
                    let weight = evidence.score.match_weight;
                    person_match.score = evidence.score;
                    person_match.grade = MatchGrade::Probable;
                    return Some((weight, person_match));
                }
                Some((weight, person_match))
            })
            .collect();
        matches.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.person_id.cmp(&b.1.person_id)));
        matches.into_iter().take(count).map(|(_, person_match)| person_match).collect()
    }

    fn judge(&self, record_id: &str, prepared: &PreparedRecord, decisions: &ManualDecisions) -> Vec<Judged> {
        let keys = blocking_keys(prepared);
        let mut seen: HashSet<u32> = HashSet::new();
        let mut judged = Vec::new();
        // Records a person decided about are judged whether or not blocking would bring them together.
        let decided: Vec<u32> = decisions
            .partners(record_id)
            .iter()
            .filter_map(|partner| self.slot_of_record.get(partner).map(|&slot_idx| slot_idx as u32))
            .collect();
        let blocked = keys.iter().enumerate().filter_map(|(rule_idx, key)| {
            let members = key.and_then(|key| self.blocks[rule_idx].get(&key))?;
            (members.len() <= MAX_BLOCK_SIZE[rule_idx]).then_some(members.as_slice())
        });
        for members in std::iter::once(decided.as_slice()).chain(blocked) {
            for &slot_idx in members {
                if !seen.insert(slot_idx) {
                    continue;
                }
                let Some(other) = self.slot_at(slot_idx) else { continue };
                let manual = decisions.get(record_id, &other.record_id);
                // Different valid NHS numbers never link: not worth comparing, unless a person decided otherwise.
                if manual.is_none() && prepared.nhs_numbers_conflict(&other.prepared) {
                    continue;
                }
                let comparison = compare(prepared, &other.prepared);
                // The record judged is not counted in the frequencies (being placed, or searched for); the other is.
                let score = self.model.score_leaving_out(
                    &comparison,
                    Some((prepared, &other.prepared)),
                    Some(&self.frequencies),
                    1,
                );
                let decision = match manual {
                    Some(ManualDecision::Link) => PairDecision::LinkOnScore,
                    Some(ManualDecision::KeepApart) => PairDecision::Apart,
                    None => decide(prepared, &other.prepared, &comparison, &score, &self.thresholds),
                };
                judged.push(Judged { slot_idx, score, decision, manual });
            }
        }
        judged
    }

    /// The person to join, with the index of the best judged pair into it: certain and manual links first, then the
    /// highest score; between two equally sure (two certain links), the person the record was in. A person holding a
    /// different valid NHS number, or one of whose records a person has kept apart from this one, is never chosen.
    fn best_person(
        &self,
        prepared: &PreparedRecord,
        record_id: &str,
        judged: &[Judged],
        decisions: &ManualDecisions,
        previous_person_id: Option<&str>,
    ) -> Option<(String, usize)> {
        let mut best: Option<(String, usize, f64)> = None;
        let mut refused: HashSet<&str> = HashSet::new();
        for (judged_idx, candidate) in judged.iter().enumerate() {
            if !candidate.decision.links() {
                continue;
            }
            let Some(slot) = self.slot_at(candidate.slot_idx) else { continue };
            let person_id = slot.person_id.as_str();
            if refused.contains(person_id) {
                continue;
            }
            if self.person_conflicts(person_id, prepared, record_id)
                || self.kept_apart_from_person(person_id, record_id, decisions)
            {
                refused.insert(person_id);
                continue;
            }
            let weight = effective_weight(candidate);
            let better = best.as_ref().is_none_or(|(best_person, _, best_weight)| {
                weight > *best_weight
                    || (weight == *best_weight
                        && previous_person_id == Some(person_id)
                        && previous_person_id != Some(best_person.as_str()))
            });
            if better {
                best = Some((person_id.to_string(), judged_idx, weight));
            }
        }
        best.map(|(person_id, judged_idx, _)| (person_id, judged_idx))
    }

    /// Where no pair links: the one person, among those with a record in the review band, whose records together
    /// link (`person_evidence.rs`), with the index of its best judged pair and the score of all its records. None when
    /// no person does, or when two do: a score does not choose between two persons this sure.
    fn person_on_all_records(
        &self,
        prepared: &PreparedRecord,
        record_id: &str,
        judged: &[Judged],
        decisions: &ManualDecisions,
    ) -> Option<(String, usize, Score)> {
        let mut best_pair_of_person: HashMap<&str, usize> = HashMap::new();
        for (judged_idx, candidate) in judged.iter().enumerate() {
            if candidate.decision != PairDecision::Review || candidate.manual.is_some() {
                continue;
            }
            let Some(slot) = self.slot_at(candidate.slot_idx) else { continue };
            let best = best_pair_of_person.entry(slot.person_id.as_str()).or_insert(judged_idx);
            if candidate.score.match_weight > judged[*best].score.match_weight {
                *best = judged_idx;
            }
        }
        let mut linking = Vec::new();
        for (person_id, judged_idx) in best_pair_of_person {
            if self.person_conflicts(person_id, prepared, record_id)
                || self.kept_apart_from_person(person_id, record_id, decisions)
            {
                continue;
            }
            let Some(evidence) = self.person_evidence_of(prepared, person_id) else { continue };
            if evidence.links(&self.thresholds) {
                linking.push((person_id.to_string(), judged_idx, evidence.score));
            }
        }
        if linking.len() == 1 { linking.pop() } else { None }
    }

    /// The evidence of all a person's records, other than the one being placed, against `prepared`.
    fn person_evidence_of(&self, prepared: &PreparedRecord, person_id: &str) -> Option<PersonEvidence> {
        let members: Vec<&PreparedRecord> = self
            .members
            .get(person_id)?
            .iter()
            .filter_map(|&slot_idx| self.slot_at(slot_idx))
            .map(|slot| slot.prepared.as_ref())
            .collect();
        person_evidence(
            &self.model,
            &self.frequencies,
            &self.thresholds,
            (&[prepared], &members),
            Counted::RightSideOnly,
        )
    }

    fn person_conflicts(&self, person_id: &str, prepared: &PreparedRecord, record_id: &str) -> bool {
        self.members.get(person_id).is_some_and(|slots| {
            slots
                .iter()
                .filter_map(|&slot_idx| self.slot_at(slot_idx))
                .any(|member| member.record_id != record_id && member.prepared.nhs_numbers_conflict(prepared))
        })
    }

    fn kept_apart_from_person(&self, person_id: &str, record_id: &str, decisions: &ManualDecisions) -> bool {
        self.members.get(person_id).is_some_and(|slots| {
            slots
                .iter()
                .filter_map(|&slot_idx| self.slot_at(slot_idx))
                .any(|member| decisions.get(record_id, &member.record_id) == Some(ManualDecision::KeepApart))
        })
    }

    fn slot(&self, record_id: &str) -> Option<&Slot> {
        self.slots[*self.slot_of_record.get(record_id)?].as_ref()
    }

    fn slot_at(&self, slot_idx: u32) -> Option<&Slot> {
        self.slots.get(slot_idx as usize)?.as_ref()
    }

    fn insert(&mut self, record_id: &str, prepared: PreparedRecord, person_id: &str, held_together: bool) {
        self.remove(record_id);
        let slot_idx = self.free_slots.pop().unwrap_or_else(|| {
            self.slots.push(None);
            (self.slots.len() - 1) as u32
        });
        let keys = blocking_keys(&prepared);
        for (rule_idx, key) in keys.iter().enumerate() {
            if let Some(key) = key {
                self.blocks[rule_idx].entry(*key).or_default().push(slot_idx);
            }
        }
        self.frequencies.add(&prepared);
        self.members.entry(person_id.to_string()).or_default().push(slot_idx);
        self.slot_of_record.insert(record_id.to_string(), slot_idx as usize);
        self.slots[slot_idx as usize] = Some(Slot {
            record_id: record_id.to_string(),
            prepared: Arc::new(prepared),
            keys,
            person_id: person_id.to_string(),
            held_together,
        });
    }

    /// Takes a record out of the index; returns the person it was in.
    fn remove(&mut self, record_id: &str) -> Option<String> {
        let slot_idx = self.slot_of_record.remove(record_id)?;
        let slot = self.slots[slot_idx].take()?;
        self.free_slots.push(slot_idx as u32);
        for (rule_idx, key) in slot.keys.iter().enumerate() {
            if let Some(key) = key
                && let Some(members) = self.blocks[rule_idx].get_mut(key)
            {
                members.retain(|&member| member as usize != slot_idx);
                if members.is_empty() {
                    self.blocks[rule_idx].remove(key);
                }
            }
        }
        self.frequencies.remove(&slot.prepared);
        if let Some(members) = self.members.get_mut(&slot.person_id) {
            members.retain(|&member| member as usize != slot_idx);
            if members.is_empty() {
                self.members.remove(&slot.person_id);
            }
        }
        Some(slot.person_id)
    }
}

/// Certain and manual links outrank any score.
fn effective_weight(candidate: &Judged) -> f64 {
    match (candidate.manual, candidate.decision) {
        (Some(ManualDecision::Link), _) | (_, PairDecision::LinkOnVerifiedNhsNumber) => f64::INFINITY,
        _ => candidate.score.match_weight,
    }
}
