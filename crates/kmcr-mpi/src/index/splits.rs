//! Splitting persons in the live index. Records arrive one at a time, so a person can take in a record that batch
//! linking would have kept out: the first record of a son arrives alone and links best with a record of his father's
//! person (one surname, one address); the son's later records then link with it, and the person holds both. Batch
//! linking sees the son's records link with each other first, and then refuses to join his group to his father's on
//! all their records together (`cluster.rs`, `consensus.rs`).
//!
//! So, after each placement, the records of the person the record went into are linked again as batch linking would
//! link them alone (`link::decide_and_cluster`, on the pairs that blocking would compare), and every group it keeps
//! apart from the largest moves to a new person of its own (reason `person-split`). A person whose records include a
//! source's merge or a person's decision is left as it is: those outrank any score.
//!
//! Only groups of [`MIN_GROUP_TO_SPLIT_OFF`] records or more leave, and only a person whose largest group has as many.
//! A few records linked again alone say less than the link that put them there when it was made, and a group split off
//! stays apart until a record links it back. Measured on the historical set placed one at a time: with groups of 3 or
//! more, false links fell from 3,047 to 773 pairs but missed links rose by 3,840 (F1 0.9436, from 0.9469); with 8 or
//! more, false links fell to 1,758 and missed links rose by 211 (F1 0.9486).

use crate::blocking::shared_rules;
use crate::compare::{Comparison, compare};
use crate::index::{ManualDecisions, PersonIndex};
use crate::link::decide_and_cluster;
use crate::record::PreparedRecord;

/// Persons with more records than this are not linked again on each placement (the pairs grow with the square).
const MAX_RECORDS_TO_SPLIT: usize = 64;

/// The fewest records a group needs to be split off, and the person's largest group to split (see the module's
/// documentation).
const MIN_GROUP_TO_SPLIT_OFF: usize = 8;
const MIN_GROUP_KEPT: usize = 8;

/// A record moved out of its person by a split, the person it left and the new person it is in.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitRecord {
    pub record_id: String,
    pub previous_person_id: String,
    pub person_id: String,
}

impl PersonIndex {
    /// Links the records of `person_id` again, alone, and moves each group batch linking keeps apart from the largest
    /// to a new person (`new_person_id` names each); returns the records moved.
    pub(super) fn split_apart_groups(
        &mut self,
        person_id: &str,
        decisions: &ManualDecisions,
        new_person_id: &mut impl FnMut() -> String,
    ) -> Vec<SplitRecord> {
        let Some(slots) = self.members.get(person_id) else { return Vec::new() };
        if slots.len() < MIN_GROUP_KEPT + MIN_GROUP_TO_SPLIT_OFF || slots.len() > MAX_RECORDS_TO_SPLIT {
            return Vec::new();
        }
        let slots = slots.clone();
        let members: Vec<_> = slots.iter().filter_map(|&slot_idx| self.slot_at(slot_idx)).collect();
        let held = members.iter().any(|slot| slot.held_together || !decisions.partners(&slot.record_id).is_empty());
        if held || members.len() != slots.len() {
            return Vec::new();
        }
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for first in 0..members.len() {
            for second in first + 1..members.len() {
                if shared_rules(&members[first].keys, &members[second].keys) != 0 {
                    pairs.push((first as u32, second as u32));
                }
            }
        }
        let prepared: Vec<PreparedRecord> = members.iter().map(|slot| slot.prepared.as_ref().clone()).collect();
        let comparisons: Vec<Comparison> = pairs
            .iter()
            .map(|&(first, second)| compare(&prepared[first as usize], &prepared[second as usize]))
            .collect();
        let decided =
            decide_and_cluster(&prepared, &pairs, &comparisons, &self.model, &self.frequencies, &self.thresholds);
        let groups = decided.clusters.person_of_record;
        if decided.clusters.n_persons <= 1 {
            return Vec::new();
        }
        // The largest group keeps the person; on a tie, the group of its earliest record.
        let mut sizes = vec![0usize; decided.clusters.n_persons];
        for &group in &groups {
            sizes[group as usize] += 1;
        }
        let largest = sizes.iter().max().copied().unwrap_or(0);
        let keep = groups.iter().copied().find(|&group| sizes[group as usize] == largest).unwrap_or(0);
        // Only groups large enough to have a consensus of their own leave, and only from one that has: linked again
        // alone, a few records say too little to undo a link that was sure when it was made.
        let leaves = |group: u32| group != keep && sizes[group as usize] >= MIN_GROUP_TO_SPLIT_OFF;
        if largest < MIN_GROUP_KEPT || !groups.iter().any(|&group| leaves(group)) {
            return Vec::new();
        }
        let mut new_persons: Vec<Option<String>> = vec![None; sizes.len()];
        let mut split = Vec::new();
        let mut kept_slots = Vec::new();
        for (&slot_idx, &group) in slots.iter().zip(&groups) {
            if !leaves(group) {
                kept_slots.push(slot_idx);
                continue;
            }
            let new_person = new_persons[group as usize].get_or_insert_with(&mut *new_person_id).clone();
            let Some(Some(slot)) = self.slots.get_mut(slot_idx as usize) else { continue };
            slot.person_id = new_person.clone();
            split.push(SplitRecord {
                record_id: slot.record_id.clone(),
                previous_person_id: person_id.to_string(),
                person_id: new_person.clone(),
            });
            self.members.entry(new_person).or_default().push(slot_idx);
        }
        self.members.insert(person_id.to_string(), kept_slots);
        split
    }
}
