//! Linking a whole population from scratch: a record that agrees with each of a person's records on different fields
//! joins the person; a twin does not, however much the person's records share with it. (Which path joins it, one pair
//! or all the person's records together, depends on the weights trained on the data; `join_persons.rs` tests the
//! latter with fixed weights.)

use kmcr_fhir::NhsNumber;
use kmcr_mpi::{Demographics, LinkSettings, link_all};

use crate::population::{Draws, person, two_letters};

fn nhs_number(draws: &mut Draws) -> NhsNumber {
    loop {
        let digits: [u8; 9] = std::array::from_fn(|_| draws.below(10) as u8);
        if let Some(number) = NhsNumber::from_first_nine_digits(digits) {
            return number;
        }
    }
}

/// A GP record and a sparse council record (first name, sex, new home) sharing a verified NHS number, and
/// an ambulance record with the GP's surname, first initial, birth date (day and month transposed) and sex at the
/// council's address.
fn known_twice_and_seen_once(draws: &mut Draws) -> [Demographics; 3] {
    let mut base = person(draws);
    // A day that can pass for a month, and is not the month: the ambulance crew transpose them.
    let (year, month) = {
        let date = base.birth_date.as_deref().expect("a birth date");
        (date[..4].to_string(), date[5..7].parse::<usize>().expect("a month"))
    };
    let day = 1 + (month + draws.below(11)) % 12;
    base.birth_date = Some(format!("{year}-{month:02}-{day:02}"));
    let number = nhs_number(draws);
    let new_home = (format!("CT{} {}{}", 1 + draws.below(20), draws.below(10), two_letters(draws)), "folkestone");
    let gp = Demographics { nhs_number: Some(number), nhs_number_verified: true, phones: Vec::new(), ..base.clone() };
    let council = Demographics {
        nhs_number: Some(number),
        nhs_number_verified: true,
        given_names: base.given_names.clone(),
        sex: base.sex,
        postcode: Some(new_home.0.clone()),
        locality: Some(new_home.1.into()),
        ..Demographics::default()
    };
    let mut ambulance = Demographics {
        postcode: Some(new_home.0),
        locality: Some(new_home.1.into()),
        address_line: None,
        phones: Vec::new(),
        ..base
    };
    ambulance.given_names[0].truncate(1);
    ambulance.birth_date = Some(format!("{year}-{day:02}-{month:02}"));
    [gp, council, ambulance]
}

#[test]
fn records_join_a_person_on_all_its_records_together_and_twins_do_not() {
    let mut draws = Draws::new(23);
    let (mut records, mut truth) = (Vec::new(), Vec::new());
    // People with a second record from another source at the same home: most true matches agree on the place.
    for person_idx in 0..3_000 {
        let record = person(&mut draws);
        if person_idx % 2 == 0 {
            records.push(Demographics { phones: Vec::new(), ..record.clone() });
            truth.push(person_idx);
        }
        records.push(record);
        truth.push(person_idx);
    }
    let (mut ambulance_records, mut twin_records) = (Vec::new(), Vec::new());
    for person_idx in 0..200 {
        let [gp, council, mut ambulance] = known_twice_and_seen_once(&mut draws);
        let truth_idx = 10_000 + 2 * person_idx;
        // Every other person's ambulance record is a twin's: another first name, the birth date as the GP has it, the
        // same phone as the GP record.
        let is_twin = person_idx % 2 == 1;
        if is_twin {
            let phone = format!("07700 8{:05}", person_idx);
            ambulance.birth_date = gp.birth_date.clone();
            ambulance.given_names = vec![if gp.given_names[0] == "william" { "margaret" } else { "william" }.into()];
            records.extend([Demographics { phones: vec![phone.clone()], ..gp }, council]);
            ambulance.phones = vec![phone];
            twin_records.push(records.len());
        } else {
            records.extend([gp, council]);
            ambulance_records.push(records.len());
        }
        records.push(ambulance);
        truth.extend([truth_idx, truth_idx, if is_twin { truth_idx + 1 } else { truth_idx }]);
    }

    let outcome = link_all(&records, &LinkSettings::default());
    let person_of = &outcome.person_of_record;
    let n_joined = ambulance_records.iter().filter(|&&idx| person_of[idx] == person_of[idx - 2]).count();
    assert_eq!(n_joined, ambulance_records.len(), "{n_joined} of {} ambulance records joined", ambulance_records.len());
    let n_twins_joined = twin_records.iter().filter(|&&idx| person_of[idx] == person_of[idx - 2]).count();
    assert_eq!(n_twins_joined, 0, "twins joined");
    let counts = kmcr_mpi::evaluate::pair_counts(person_of, &truth);
    assert_eq!(counts.n_false_links(), 0, "no person gained a stranger's record");
}
