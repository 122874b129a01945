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

/// A decision links a record of a person held by two sources to a third record: the person gains the third, and
/// does not lose the record the decision was about to the third's person (both are certain links; the record stays).
#[test]
fn a_decision_to_link_a_record_keeps_it_with_the_other_records_it_is_certain_of() {
    let (mut index, mut draws) = index_with_strangers(100);
    let mut decisions = ManualDecisions::default();
    let base = person(&mut draws);
    let digits = [9, 4, 3, 4, 7, 6, 5, 9, 1];
    let (_, person_id) = person_known_twice(&mut index, &base, "f", digits);
    let nhs_number = kmcr_fhir::NhsNumber::from_first_nine_digits(digits);
    let gp_record = Demographics { nhs_number, nhs_number_verified: true, phones: Vec::new(), ..base };
    let stranger = person(&mut draws);
    let ambulance_person = place(&mut index, "f-ambulance", &stranger, &decisions);
    assert_ne!(ambulance_person, person_id);

    // The decision re-matches both records of the pair, the GP's first.
    decisions.record("f-gp", "f-ambulance", ManualDecision::Link);
    assert_eq!(place(&mut index, "f-gp", &gp_record, &decisions), person_id, "the GP's record stays");
    assert_eq!(place(&mut index, "f-ambulance", &stranger, &decisions), person_id);
    let mut members = index.members(&person_id);
    members.sort_unstable();
    assert_eq!(members, vec!["f-ambulance", "f-council", "f-gp"]);
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

/// A person known to two sources that share a verified NHS number: a GP record (name, birth date, sex, home in
/// Maidstone) and a sparse council record (surname and a new home in Folkestone). `nhs_digits` picks the number.
fn person_known_twice(
    index: &mut PersonIndex,
    base: &Demographics,
    prefix: &str,
    nhs_digits: [u8; 9],
) -> (Demographics, String) {
    let decisions = ManualDecisions::default();
    let nhs_number = kmcr_fhir::NhsNumber::from_first_nine_digits(nhs_digits).expect("a valid check digit");
    let gp =
        Demographics { nhs_number: Some(nhs_number), nhs_number_verified: true, phones: Vec::new(), ..base.clone() };
    let council = Demographics {
        nhs_number: Some(nhs_number),
        nhs_number_verified: true,
        family_name: base.family_name.clone(),
        postcode: Some("CT20 1AA".into()),
        locality: Some("folkestone".into()),
        ..Demographics::default()
    };
    let person_id = place(index, &format!("{prefix}-gp"), &gp, &decisions);
    assert_eq!(place(index, &format!("{prefix}-council"), &council, &decisions), person_id);
    // The ambulance record: the GP's name, birth date and sex, the council's new home, no NHS number, no phone.
    let ambulance = Demographics {
        postcode: council.postcode.clone(),
        locality: council.locality.clone(),
        address_line: None,
        phones: Vec::new(),
        ..base.clone()
    };
    (ambulance, person_id)
}

#[test]
fn a_record_no_one_record_is_sure_of_links_on_all_the_persons_records_together() {
    let decisions = ManualDecisions::default();
    let (mut index, mut draws) = index_with_strangers(300);
    let base = person(&mut draws);
    let (ambulance, person_id) = person_known_twice(&mut index, &base, "a", [9, 4, 3, 4, 7, 6, 5, 9, 1]);

    // Alone, each of the person's records only puts the ambulance record in the review band.
    for kept in ["a-gp", "a-council"] {
        let (mut alone, _) = index_with_strangers(300);
        let record = if kept == "a-gp" {
            Demographics { phones: Vec::new(), ..base.clone() }
        } else {
            Demographics {
                family_name: base.family_name.clone(),
                postcode: ambulance.postcode.clone(),
                locality: ambulance.locality.clone(),
                ..Demographics::default()
            }
        };
        place(&mut alone, kept, &record, &decisions);
        let placement = alone.place("ambulance", &ambulance, &decisions, || "new".into());
        assert_eq!(placement.reason, LinkReason::NewPerson, "{kept} alone is not enough");
        assert_eq!(placement.reviews.iter().map(|(record, _)| record.as_str()).collect::<Vec<_>>(), vec![kept]);
    }

    // Together they are: the birth date from one, the new home from the other.
    let placement = index.place("ambulance", &ambulance, &decisions, || "new".into());
    assert_eq!((placement.person_id.as_str(), placement.reason), (person_id.as_str(), LinkReason::PersonScore));
    let (through, score) = placement.linked_through.expect("the best record and the score of them all");
    assert!(through == "a-gp" || through == "a-council");
    assert!(score.match_probability >= Thresholds::default().link);
    assert_eq!(index.search(&ambulance, 1)[0].grade, kmcr_mpi::MatchGrade::Probable);

    // A person kept it apart from one of the records: it stays apart from the whole person.
    let mut kept_apart = ManualDecisions::default();
    kept_apart.record("ambulance", "a-council", ManualDecision::KeepApart);
    assert_ne!(place(&mut index, "ambulance", &ambulance, &kept_apart), person_id);
}

#[test]
fn two_persons_equally_sure_on_all_their_records_are_left_for_review() {
    let decisions = ManualDecisions::default();
    let (mut index, mut draws) = index_with_strangers(300);
    let base = person(&mut draws);
    let (ambulance, first_person) = person_known_twice(&mut index, &base, "a", [9, 4, 3, 4, 7, 6, 5, 9, 1]);
    let (_, second_person) = person_known_twice(&mut index, &base, "b", [4, 0, 1, 0, 2, 3, 1, 3, 7]);
    assert_ne!(first_person, second_person, "two verified NHS numbers are two persons");

    let placement = index.place("ambulance", &ambulance, &decisions, || "person-of-ambulance".into());
    assert_eq!(placement.reason, LinkReason::NewPerson);
    assert_eq!(placement.reviews.len(), 4, "both persons' records offered for review");
}

#[test]
fn a_possible_twin_does_not_link_on_all_the_persons_records_together() {
    let decisions = ManualDecisions::default();
    let (mut index, mut draws) = index_with_strangers(300);
    let base = person(&mut draws);
    let (mut ambulance, person_id) = person_known_twice(&mut index, &base, "a", [9, 4, 3, 4, 7, 6, 5, 9, 1]);
    // Same surname and birth date, another first name, the same new home, and the phone the GP holds: a twin, close
    // enough to be offered for review, whom no score may link.
    let phone = "07700 900123".to_string();
    let gp = Demographics {
        nhs_number: kmcr_fhir::NhsNumber::from_first_nine_digits([9, 4, 3, 4, 7, 6, 5, 9, 1]),
        nhs_number_verified: true,
        phones: vec![phone.clone()],
        ..base.clone()
    };
    assert_eq!(place(&mut index, "a-gp", &gp, &decisions), person_id);
    let other_name = if base.given_names[0] == "william" { "margaret" } else { "william" };
    ambulance.given_names = vec![other_name.into()];
    ambulance.phones = vec![phone];
    let placement = index.place("ambulance", &ambulance, &decisions, || "person-of-twin".into());
    assert_eq!(placement.reason, LinkReason::NewPerson);
    assert!(placement.reviews.iter().any(|(record, _)| record == "a-gp"), "offered for review");
}

/// The GP's record and the council's (the person's name at a new home, no birth date) share too little to link; the
/// hospital's record, sent later, has the GP's name, birth date, sex and phone and the council's new home.
fn sent_one_at_a_time(draws: &mut Draws) -> [Demographics; 3] {
    let gp = person(draws);
    let council = Demographics {
        given_names: gp.given_names.clone(),
        family_name: gp.family_name.clone(),
        postcode: Some("CT20 1AA".into()),
        address_line: Some("1 harbour view".into()),
        locality: Some("folkestone".into()),
        ..Demographics::default()
    };
    let hospital = Demographics {
        postcode: council.postcode.clone(),
        address_line: council.address_line.clone(),
        locality: council.locality.clone(),
        ..gp.clone()
    };
    [gp, council, hospital]
}

#[test]
fn a_record_that_links_two_persons_joins_them_and_the_moved_records_are_reported() {
    let decisions = ManualDecisions::default();
    let (mut index, mut draws) = index_with_strangers(300);
    let [gp, council, hospital] = sent_one_at_a_time(&mut draws);
    let gp_person = place(&mut index, "gp", &gp, &decisions);
    let council_person = place(&mut index, "council", &council, &decisions);
    assert_ne!(gp_person, council_person, "a name at another address is not enough alone");

    let placement = index.place("hospital", &hospital, &decisions, || "person-of-hospital".into());
    assert_eq!(placement.reason, LinkReason::Score);
    let mut members = index.members(&placement.person_id);
    members.sort_unstable();
    assert_eq!(members, vec!["council", "gp", "hospital"]);
    let moved: Vec<(&str, &str)> =
        placement.joined.iter().map(|moved| (moved.record_id.as_str(), moved.previous_person_id.as_str())).collect();
    let expected = if placement.person_id == gp_person { ("council", &council_person) } else { ("gp", &gp_person) };
    assert_eq!(moved, vec![(expected.0, expected.1.as_str())]);
    assert!(index.members(expected.1).is_empty(), "the person left behind is empty");
}

#[test]
fn persons_with_different_nhs_numbers_or_kept_apart_are_not_joined_by_a_record_linking_both() {
    let (mut index, mut draws) = index_with_strangers(300);
    let [gp, council, hospital] = sent_one_at_a_time(&mut draws);
    let numbered = |record: &Demographics, digits: [u8; 9]| Demographics {
        nhs_number: kmcr_fhir::NhsNumber::from_first_nine_digits(digits),
        nhs_number_verified: true,
        ..record.clone()
    };
    let no_decisions = ManualDecisions::default();
    place(&mut index, "gp", &numbered(&gp, [9, 4, 3, 4, 7, 6, 5, 9, 1]), &no_decisions);
    place(&mut index, "council", &numbered(&council, [4, 0, 1, 0, 2, 3, 1, 3, 7]), &no_decisions);
    let placement = index.place("hospital", &hospital, &no_decisions, || "person-of-hospital".into());
    assert_eq!(placement.reason, LinkReason::Score, "it links with one of them");
    assert!(placement.joined.is_empty());
    assert_ne!(index.person_of("gp"), index.person_of("council"));

    let (mut index, mut draws) = index_with_strangers(300);
    let [gp, council, hospital] = sent_one_at_a_time(&mut draws);
    let mut decisions = ManualDecisions::default();
    decisions.record("gp", "council", ManualDecision::KeepApart);
    place(&mut index, "gp", &gp, &decisions);
    place(&mut index, "council", &council, &decisions);
    let placement = index.place("hospital", &hospital, &decisions, || "person-of-hospital".into());
    assert!(placement.joined.is_empty());
    assert_ne!(index.person_of("gp"), index.person_of("council"));
}

/// The hospital's record links three persons: the GP's (by phone), the council's (by its new home) and one held by
/// three copies of a pharmacy record (by a second phone). The council's person joins the hospital's first, and that
/// person then joins the larger pharmacy's, so the council record moves twice. Each record moved is reported once, with the person it was
/// in before the hospital's record arrived, however many joins it went through.
#[test]
fn a_record_moved_through_two_joins_is_reported_once_with_the_person_it_left() {
    let decisions = ManualDecisions::default();
    let (mut index, mut draws) = index_with_strangers(300);
    let [gp, council, mut hospital] = sent_one_at_a_time(&mut draws);
    // This council record also holds the birth date and sex: apart from the hospital's it is in the review band with
    // the others, not kept apart, so the persons hold up together.
    let council = Demographics { birth_date: gp.birth_date.clone(), sex: gp.sex, ..council };
    let pharmacy_phone = "07700 955555".to_string();
    hospital.phones.push(pharmacy_phone.clone());
    let pharmacy = Demographics {
        phones: vec![pharmacy_phone],
        postcode: Some("TN1 1AA".into()),
        address_line: Some("2 mount pleasant".into()),
        locality: Some("tunbridge wells".into()),
        ..gp.clone()
    };
    let mut before: Vec<(String, String)> = Vec::new();
    for (record_id, record) in [("gp", &gp), ("council", &council), ("pharmacy-1", &pharmacy)] {
        before.push((record_id.into(), place(&mut index, record_id, record, &decisions)));
    }
    for copy in ["pharmacy-2", "pharmacy-3"] {
        assert_eq!(place(&mut index, copy, &pharmacy, &decisions), before[2].1);
        before.push((copy.into(), before[2].1.clone()));
    }
    assert_ne!(before[0].1, before[1].1);
    assert_ne!(before[0].1, before[2].1);

    let placement = index.place("hospital", &hospital, &decisions, || "person-of-hospital".into());
    let mut members = index.members(&placement.person_id);
    members.sort_unstable();
    assert_eq!(members, vec!["council", "gp", "hospital", "pharmacy-1", "pharmacy-2", "pharmacy-3"]);
    let mut moved: Vec<(String, String)> =
        placement.joined.iter().map(|moved| (moved.record_id.clone(), moved.previous_person_id.clone())).collect();
    moved.sort();
    let mut expected: Vec<(String, String)> =
        before.into_iter().filter(|(_, person)| *person != placement.person_id).collect();
    expected.sort();
    assert_eq!(moved, expected);
}

/// Eight records of a father and eight of his son (one surname, one home, other forenames and birth dates) held in one
/// person, as the live index can come to hold them when the son's first record arrived alone and linked best with one
/// of the father's. The father's next record links the person's records again alone: the son's move to a new person,
/// reported with the person they left; the father's stay. Held together by a source's merge, the person is left as it
/// is.
#[test]
fn a_person_whose_records_linked_again_alone_are_two_persons_is_split() {
    let father = Demographics {
        given_names: vec!["sidney".into()],
        family_name: Some("pelham".into()),
        birth_date: Some("1901-03-04".into()),
        sex: Some(kmcr_mpi::Sex::Male),
        postcode: Some("ME14 2LP".into()),
        address_line: Some("12 mill lane".into()),
        locality: Some("maidstone".into()),
        ..Demographics::default()
    };
    let son =
        Demographics { given_names: vec!["john".into()], birth_date: Some("1932-11-23".into()), ..father.clone() };
    let family = |merged_son: Option<usize>| {
        let (mut index, _) = index_with_strangers(300);
        for record_idx in 0..8 {
            index.restore(&format!("father-{record_idx}"), &father, "family", LinkReason::Score);
            let reason = if merged_son == Some(record_idx) { LinkReason::Merge } else { LinkReason::Score };
            index.restore(&format!("son-{record_idx}"), &son, "family", reason);
        }
        index
    };

    let mut index = family(None);
    let placement = index.place("father-8", &father, &ManualDecisions::default(), || "sons-person".into());
    assert_eq!(placement.person_id, "family", "the larger group keeps the person");
    let mut split: Vec<(&str, &str, &str)> = placement
        .split
        .iter()
        .map(|record| (record.record_id.as_str(), record.previous_person_id.as_str(), record.person_id.as_str()))
        .collect();
    split.sort_unstable();
    let sons: Vec<String> = (0..8).map(|record_idx| format!("son-{record_idx}")).collect();
    let expected: Vec<(&str, &str, &str)> = sons.iter().map(|son| (son.as_str(), "family", "sons-person")).collect();
    assert_eq!(split, expected);
    assert_eq!(index.members("sons-person").len(), 8);
    let mut left: Vec<&str> = index.members("family");
    left.sort_unstable();
    assert!(left.iter().all(|record| record.starts_with("father-")) && left.len() == 9, "{left:?}");

    let mut index = family(Some(3));
    let placement = index.place("father-8", &father, &ManualDecisions::default(), || "sons-person".into());
    assert!(placement.split.is_empty(), "a source's merge holds the person together");
    assert_eq!(index.members("family").len(), 17);
}
