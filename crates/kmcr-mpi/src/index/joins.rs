//! Joining persons in the live index. Records arrive one at a time, so a person's first records may each start a
//! person of their own before the record that links them arrives: the GP's record and the council's share too little
//! to link, and a later hospital record links with each. Placed with the one it links best, the hospital record would
//! leave the other person apart for good. Instead, every other person the placed record links with is joined to its
//! person, when the two persons' records hold up together as batch linking requires of two groups (`cluster.rs`):
//! no two different valid NHS numbers and no decision to keep a pair apart across them, not more pairs across apart
//! than linked, all their records together at least in the review band, and consensus records that link when both
//! hold several records (`consensus.rs`). The smaller person's records move into the larger's, linked through the
//! placed record (reason `person-join`) with the score of its best pair with their person.

use crate::consensus::consensus_agrees;
use crate::index::{Judged, ManualDecision, ManualDecisions, PersonIndex, Slot};
use crate::model::Score;
use crate::person_evidence::{Counted, person_evidence};
use crate::record::PreparedRecord;

/// A record moved by a join of persons, the person it left, the person it joined, and what joined it: the placed
/// record and the score of that record's best pair with the person the moved record was in.
#[derive(Clone, Debug, PartialEq)]
pub struct MovedRecord {
    pub record_id: String,
    pub previous_person_id: String,
    pub person_id: String,
    pub through: (String, Score),
}

impl PersonIndex {
    /// Joins to `person_id` (the placed record's person) every other person that `judged` (the placed record's
    /// pairs) links it with and that holds up against it; returns the records moved and the person the placed record
    /// ends in (another, when its person was the smaller of a join).
    pub(super) fn join_linked_persons(
        &mut self,
        record_id: &str,
        mut person_id: String,
        judged: &[Judged],
        decisions: &ManualDecisions,
    ) -> (String, Vec<MovedRecord>) {
        // Each other person the record links with, by its best pair there, best first.
        let mut best_pair: Vec<(String, &Score)> = Vec::new();
        for candidate in judged.iter().filter(|candidate| candidate.decision.links()) {
            let Some(slot) = self.slot_at(candidate.slot_idx) else { continue };
            match best_pair.iter_mut().find(|(other, _)| *other == slot.person_id) {
                Some((_, best)) if best.match_weight >= candidate.score.match_weight => {}
                Some((_, best)) => *best = &candidate.score,
                None => best_pair.push((slot.person_id.clone(), &candidate.score)),
            }
        }
        best_pair.sort_by(|a, b| b.1.match_weight.total_cmp(&a.1.match_weight).then_with(|| a.0.cmp(&b.0)));
        let mut moved: Vec<MovedRecord> = Vec::new();
        for (other, score) in best_pair {
            if other == person_id
                || !self.members.contains_key(&other)
                || !self.persons_hold_up(&person_id, &other, decisions)
            {
                continue;
            }
            let (from, into) = if self.members[&person_id].len() <= self.members[&other].len() {
                (person_id.clone(), other)
            } else {
                (other, person_id.clone())
            };
            for record in self.move_person(&from, &into, (record_id.to_string(), score.clone())) {
                // Moved twice (its person joined one, then that one joined another): it left the person it was in
                // before this placement, through the latest join.
                match moved.iter_mut().find(|earlier: &&mut MovedRecord| earlier.record_id == record.record_id) {
                    Some(earlier) => (earlier.person_id, earlier.through) = (record.person_id, record.through),
                    None => moved.push(record),
                }
            }
            person_id = into;
        }
        (person_id, moved)
    }

    /// True when two persons' records may be one person's (see the module's documentation).
    fn persons_hold_up(&self, first: &str, second: &str, decisions: &ManualDecisions) -> bool {
        let slots = |person_id: &str| -> Vec<&Slot> {
            self.members[person_id].iter().filter_map(|&slot_idx| self.slot_at(slot_idx)).collect()
        };
        let (left, right) = (slots(first), slots(second));
        let kept_apart = left.iter().any(|left_slot| {
            right.iter().any(|right_slot| {
                decisions.get(&left_slot.record_id, &right_slot.record_id) == Some(ManualDecision::KeepApart)
            })
        });
        if kept_apart {
            return false;
        }
        let left: Vec<&PreparedRecord> = left.into_iter().map(|slot| slot.prepared.as_ref()).collect();
        let right: Vec<&PreparedRecord> = right.into_iter().map(|slot| slot.prepared.as_ref()).collect();
        // None when either person is too large to compare record by record.
        person_evidence(&self.model, &self.frequencies, &self.thresholds, (&left, &right), Counted::BothSides)
            .is_some_and(|evidence| {
                !evidence.nhs_numbers_conflict
                    && evidence.n_pairs_apart <= evidence.n_pairs_linked
                    && evidence.score.match_probability >= self.thresholds.review
            })
            && consensus_agrees(&self.model, &self.frequencies, &self.thresholds, &left, &right)
    }

    /// Moves every record of person `from` into person `into`, joined `through` a record and its score.
    fn move_person(&mut self, from: &str, into: &str, through: (String, Score)) -> Vec<MovedRecord> {
        let Some(slots) = self.members.remove(from) else { return Vec::new() };
        let mut moved = Vec::with_capacity(slots.len());
        for &slot_idx in &slots {
            if let Some(Some(slot)) = self.slots.get_mut(slot_idx as usize) {
                slot.person_id = into.to_string();
                moved.push(MovedRecord {
                    record_id: slot.record_id.clone(),
                    previous_person_id: from.to_string(),
                    person_id: into.to_string(),
                    through: through.clone(),
                });
            }
        }
        self.members.entry(into.to_string()).or_default().extend(slots);
        moved
    }
}
