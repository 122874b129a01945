//! Each kind of error a second source makes is seen through; twins are not merged.

use kmcr_mpi::{Demographics, LinkSettings, link_all};

use crate::population::{Draws, person, two_letters};

type Slip = fn(&mut Demographics, &mut Draws);

/// Each error as a second source would make it.
const SLIPS: &[(&str, Slip)] = &[
    ("an exact copy", |_, _| {}),
    ("a typing slip in the surname", |record, draws| {
        let surname = record.family_name.as_mut().unwrap();
        let position = 1 + draws.below(surname.len() - 2);
        surname.replace_range(position..position + 1, "x");
    }),
    ("two letters of the forename transposed", |record, _| {
        let forename = &mut record.given_names[0];
        let mut letters: Vec<char> = forename.chars().collect();
        letters.swap(1, 2);
        *forename = letters.into_iter().collect();
    }),
    ("a nickname", |record, _| {
        let nickname = match record.given_names[0].as_str() {
            "william" => "bill",
            "margaret" => "peggy",
            "elizabeth" => "liz",
            "robert" => "bob",
            "catherine" => "kate",
            "thomas" => "tom",
            "susan" => "sue",
            "richard" => "dick",
            "jennifer" => "jenny",
            "michael" => "mick",
            _ => return,
        };
        record.given_names[0] = nickname.to_string();
    }),
    ("forename and surname swapped", |record, _| {
        let forename = std::mem::take(&mut record.given_names[0]);
        record.given_names[0] = record.family_name.replace(forename).unwrap();
    }),
    ("day and month transposed", |record, _| {
        let date = record.birth_date.as_mut().unwrap();
        let (year, month, day) = (&date[0..4], &date[5..7], &date[8..10]);
        if day.parse::<u8>().unwrap() <= 12 {
            *date = format!("{year}-{day}-{month}");
        }
    }),
    ("one digit of the birth date mistyped", |record, _| {
        let date = record.birth_date.as_mut().unwrap();
        let last = date.pop().unwrap();
        date.push(if last == '1' { '2' } else { '1' });
    }),
    ("a move within the area", |record, draws| {
        let postcode = record.postcode.as_mut().unwrap();
        let district = postcode.split(' ').next().unwrap().to_string();
        *postcode = format!("{district} {}{}", draws.below(10), two_letters(draws));
        record.address_line = Some(format!("{} new street", 1 + draws.below(200)));
        record.phones.clear();
    }),
    ("missing postcode, address and phone", |record, _| {
        record.postcode = None;
        record.address_line = None;
        record.phones.clear();
    }),
    ("the forename as an initial", |record, _| {
        record.given_names[0].truncate(1);
    }),
];

#[test]
fn each_kind_of_error_is_linked_and_twins_are_kept_apart() {
    let mut draws = Draws::new(11);
    let (mut records, mut truth, mut kind_of_duplicate) = (Vec::new(), Vec::new(), Vec::new());
    let n_people = 3_000;
    for person_idx in 0..n_people {
        let original = person(&mut draws);
        let (kind, slip) = SLIPS[person_idx % SLIPS.len()];
        let mut duplicate = original.clone();
        slip(&mut duplicate, &mut draws);
        records.extend([original, duplicate]);
        truth.extend([person_idx, person_idx]);
        kind_of_duplicate.extend([None, Some(kind)]);
    }
    let mut twin_pairs = Vec::new();
    for twin_idx in 0..100 {
        let first = person(&mut draws);
        let mut second = first.clone();
        second.given_names[0] = if first.given_names[0] == "amelia" { "oliver".into() } else { "amelia".into() };
        twin_pairs.push(records.len());
        records.extend([first, second]);
        truth.extend([n_people + 2 * twin_idx, n_people + 2 * twin_idx + 1]);
        kind_of_duplicate.extend([None, None]);
    }

    let outcome = link_all(&records, &LinkSettings::default());
    let person_of = &outcome.person_of_record;
    for (kind, _) in SLIPS {
        let duplicates: Vec<usize> =
            (0..records.len()).filter(|&record_idx| kind_of_duplicate[record_idx] == Some(*kind)).collect();
        let n_linked =
            duplicates.iter().filter(|&&record_idx| person_of[record_idx] == person_of[record_idx - 1]).count();
        assert_eq!(n_linked, duplicates.len(), "{kind}: {n_linked} of {} duplicates linked", duplicates.len());
    }
    let n_twins_merged = twin_pairs.iter().filter(|&&first| person_of[first] == person_of[first + 1]).count();
    assert_eq!(n_twins_merged, 0, "twins merged");
    let counts = kmcr_mpi::evaluate::pair_counts(person_of, &truth);
    assert_eq!(counts.n_false_links(), 0, "no person gained a stranger's record");
}
