//! Two different valid NHS numbers are never linked automatically, whatever the demographics say, directly or
//! through a chain of records that hold none.

use kmcr_fhir::NhsNumber;
use kmcr_mpi::{Demographics, LinkSettings, PreparedRecord, Thresholds, compare, decide, link_all};
use proptest::prelude::*;

use crate::population::{Draws, person};

fn nhs_number(first_nine: [u8; 9]) -> Option<NhsNumber> {
    NhsNumber::from_first_nine_digits(first_nine)
}

fn valid_nhs_number() -> impl Strategy<Value = NhsNumber> {
    proptest::array::uniform9(0u8..10).prop_filter_map("check digit 10", nhs_number)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A population where many records share one person's demographics exactly, some with one of a few NHS numbers,
    /// some verified, some with none: no linked person may hold two different NHS numbers.
    #[test]
    fn no_person_ever_holds_two_different_nhs_numbers(
        numbers in proptest::collection::vec(valid_nhs_number(), 2..5),
        assignments in proptest::collection::vec((0usize..6, any::<bool>()), 4..24),
        seed in 0u64..1_000,
    ) {
        let mut draws = Draws::new(seed);
        let shared = person(&mut draws);
        let mut records: Vec<Demographics> = (0..200).map(|_| person(&mut draws)).collect();
        for &(number_idx, verified) in &assignments {
            let mut record = shared.clone();
            record.nhs_number = numbers.get(number_idx).copied();
            record.nhs_number_verified = verified;
            records.push(record);
        }
        let settings = LinkSettings { n_u_samples: 20_000, ..LinkSettings::default() };
        let outcome = link_all(&records, &settings);
        let mut number_of_person = std::collections::HashMap::new();
        for (record, person) in records.iter().zip(&outcome.person_of_record) {
            if let Some(number) = record.nhs_number {
                let held = *number_of_person.entry(*person).or_insert(number);
                prop_assert_eq!(held, number, "a person holds two different NHS numbers");
            }
        }
    }

    /// The pairwise rule: whatever the score, different valid numbers are kept apart.
    #[test]
    fn a_pair_with_different_valid_nhs_numbers_is_never_a_link(
        first_number in valid_nhs_number(),
        second_number in valid_nhs_number(),
        verified in any::<(bool, bool)>(),
        seed in 0u64..1_000,
    ) {
        prop_assume!(first_number != second_number);
        let base = person(&mut Draws::new(seed));
        let first = PreparedRecord::new(&Demographics { nhs_number: Some(first_number), nhs_number_verified: verified.0, ..base.clone() });
        let second = PreparedRecord::new(&Demographics { nhs_number: Some(second_number), nhs_number_verified: verified.1, ..base });
        let comparison = compare(&first, &second);
        let model = kmcr_mpi::Model::starting_point();
        let mut score = model.score(&comparison, None, None);
        score.match_probability = 1.0;
        let decision = decide(&first, &second, &comparison, &score, &Thresholds::default());
        prop_assert!(!decision.links());
    }
}

#[test]
fn the_same_verified_nhs_number_links_whatever_the_demographics() {
    let mut draws = Draws::new(3);
    let number = nhs_number([9, 4, 3, 4, 7, 6, 5, 9, 1]).expect("9434765919 is valid");
    let first = Demographics { nhs_number: Some(number), nhs_number_verified: true, ..person(&mut draws) };
    let second = Demographics { nhs_number: Some(number), nhs_number_verified: true, ..person(&mut draws) };
    let mut records: Vec<Demographics> = (0..100).map(|_| person(&mut draws)).collect();
    records.extend([first, second]);
    let outcome = link_all(&records, &LinkSettings::default());
    assert_eq!(outcome.person_of_record[100], outcome.person_of_record[101]);
}
