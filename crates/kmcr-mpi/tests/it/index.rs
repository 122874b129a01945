//! The live index: placing records, re-evaluating an update, merges, and manual decisions that stick.

use kmcr_mpi::{Demographics, LinkReason, ManualDecision, ManualDecisions, Model, PersonIndex, Thresholds};

use crate::population::{Draws, person};

fn index_with_strangers(n_strangers: usize) -> (PersonIndex, Draws) {
    let mut draws = Draws::new(5);
    let mut index = PersonIndex::new(Model::untrained(1e-6), Thresholds::default());
    for stranger_idx in 0..n_strangers {
        let placement =
            index.place(&format!("stranger-{stranger_idx}"), &person(&mut draws), &ManualDecisions::default(), || {
                format!("person-of-stranger-{stranger_idx}")
            });
        assert_eq!(placement.reason, LinkReason::NewPerson);
    }
    (index, draws)
}

fn place(index: &mut PersonIndex, record_id: &str, demographics: &Demographics, decisions: &ManualDecisions) -> String {
    index.place(record_id, demographics, decisions, || format!("person-of-{record_id}")).person_id
}

#[test]
fn a_second_source_record_joins_the_first_and_an_update_re_evaluates_it() {
    let (mut index, mut draws) = index_with_strangers(300);
    let decisions = ManualDecisions::default();
    let gp_record = person(&mut draws);
    let person_id = place(&mut index, "gp-1", &gp_record, &decisions);
    let mut hospital_record = gp_record.clone();
    hospital_record.family_name = hospital_record.family_name.map(|name| format!("{name}e"));
    let placement = index.place("hospital-1", &hospital_record, &decisions, || "unused".into());
    assert_eq!(placement.person_id, person_id);
    assert_eq!(placement.reason, LinkReason::Score);
    assert_eq!(placement.linked_through.as_ref().map(|(record, _)| record.as_str()), Some("gp-1"));
    assert_eq!(index.members(&person_id), vec!["gp-1", "hospital-1"]);

    // The hospital corrects the record to someone else entirely: it leaves the person.
    let someone_else = person(&mut draws);
    let moved = place(&mut index, "hospital-1", &someone_else, &decisions);
    assert_ne!(moved, person_id);
    assert_eq!(index.members(&person_id), vec!["gp-1"]);
}

#[test]
fn a_merge_moves_the_record_and_an_unmerge_puts_it_back_by_matching() {
    let (mut index, mut draws) = index_with_strangers(100);
    let decisions = ManualDecisions::default();
    let (first, second) = (person(&mut draws), person(&mut draws));
    let first_person = place(&mut index, "a", &first, &decisions);
    let second_person = place(&mut index, "b", &second, &decisions);
    assert_ne!(first_person, second_person);

    let merged = index.merge_into("b", &second, "a").expect("no NHS numbers to conflict");
    assert_eq!((merged.person_id.as_str(), merged.reason), (first_person.as_str(), LinkReason::Merge));
    assert_eq!(merged.previous_person_id.as_deref(), Some(second_person.as_str()));

    let unmerged = index.place("b", &second, &decisions, || "person-after-unmerge".into());
    assert_eq!(unmerged.reason, LinkReason::NewPerson);
    assert_ne!(unmerged.person_id, first_person);
}

#[test]
fn manual_decisions_outrank_scores_and_stick_when_records_are_re_matched() {
    let (mut index, mut draws) = index_with_strangers(100);
    let mut decisions = ManualDecisions::default();
    let record = person(&mut draws);
    let person_id = place(&mut index, "gp-2", &record, &decisions);

    // Kept apart: an identical record stays apart, and stays apart when it is updated and re-matched.
    decisions.record("gp-2", "council-2", ManualDecision::KeepApart);
    let kept_apart = place(&mut index, "council-2", &record, &decisions);
    assert_ne!(kept_apart, person_id);
    let mut updated = record.clone();
    updated.phones.push("07700 900999".into());
    assert_ne!(place(&mut index, "council-2", &updated, &decisions), person_id);

    // Linked: a record with nothing in common but the decision joins, and stays joined on update.
    let stranger = person(&mut draws);
    decisions.record("gp-2", "ambulance-2", ManualDecision::Link);
    let linked = index.place("ambulance-2", &stranger, &decisions, || "unused".into());
    assert_eq!((linked.person_id.as_str(), linked.reason), (person_id.as_str(), LinkReason::Manual));
    assert_eq!(place(&mut index, "ambulance-2", &stranger, &decisions), person_id);
}

#[test]
fn a_record_in_the_review_band_is_offered_for_review_not_linked() {
    let (mut index, mut draws) = index_with_strangers(100);
    let decisions = ManualDecisions::default();
    let record = person(&mut draws);
    let person_id = place(&mut index, "gp-3", &record, &decisions);
    // Same name, sex and birth date, but another town in another postcode area, another street, and no phone.
    let mut vague = record.clone();
    vague.postcode = Some("CT20 1AA".into());
    vague.address_line = Some("1 harbour view".into());
    vague.locality = Some("folkestone".into());
    vague.phones.clear();
    let placement = index.place("ambulance-3", &vague, &decisions, || "person-of-ambulance-3".into());
    assert_ne!(placement.person_id, person_id, "not linked on name and birth date alone");
    assert_eq!(placement.reviews.iter().map(|(record, _)| record.as_str()).collect::<Vec<_>>(), vec!["gp-3"]);
}
