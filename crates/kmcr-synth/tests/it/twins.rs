//! Twins: about 3% of people, as pairs `2k` and `2k + 1`, sharing family name, birth date, address and home phone, with
//! their own first names, NHS numbers and records, dated within their shared lifetime.

use kmcr_synth::{Gender, PersonTruth, TWIN_PAIR_CHANCE, person_bundles, person_truth, short_forms};

use crate::common::{SEED, config, walk};

const N_PEOPLE: usize = 5_000;

/// Family names that take another form for a brother or a sister (Kowalski and Kowalska, Singh and Kaur).
fn one_family_name_in_two_forms(left: &str, right: &str) -> bool {
    const PAIRS: &[(&str, &str)] = &[("Singh", "Kaur"), ("Miah", "Begum"), ("Khan", "Bibi")];
    let shared_stem = left.chars().zip(right.chars()).take_while(|(l, r)| l == r).count();
    shared_stem >= 4
        || PAIRS.iter().any(|(masculine, feminine)| {
            (left == *masculine && right == *feminine) || (left == *feminine && right == *masculine)
        })
}

fn twin_pairs(n_people: usize) -> Vec<(PersonTruth, PersonTruth)> {
    let config = config(n_people);
    (0..n_people)
        .step_by(2)
        .filter_map(|first_idx| {
            let first = person_truth(&config, first_idx);
            let second_idx = first.twin_person_idx?;
            assert_eq!(second_idx, first_idx + 1, "twins are people 2k and 2k + 1");
            let second = person_truth(&config, second_idx);
            assert_eq!(second.twin_person_idx, Some(first_idx), "each twin names the other");
            Some((first, second))
        })
        .collect()
}

#[test]
fn twins_share_birth_date_family_name_and_address_but_not_first_name_or_nhs_number() {
    let pairs = twin_pairs(N_PEOPLE);
    let n_twins = 2 * pairs.len();
    let share = n_twins as f64 / N_PEOPLE as f64;
    let n_same_sex = pairs.iter().filter(|(first, second)| first.demographics.gender == second.demographics.gender);
    println!(
        "seed {SEED}: {n_twins} twins in {N_PEOPLE} people ({share:.3}; configured {TWIN_PAIR_CHANCE}), {} pairs of \
         one sex",
        n_same_sex.count()
    );
    let expected = TWIN_PAIR_CHANCE * N_PEOPLE as f64;
    assert!((n_twins as f64 - expected).abs() <= 4.0 * (2.0 * expected).sqrt() + 2.0, "{n_twins} twins");
    for (first, second) in &pairs {
        let context = format!("seed {SEED} twins {} and {}", first.person_idx, second.person_idx);
        let (one, other) = (&first.demographics, &second.demographics);
        assert_eq!(one.birth_date, other.birth_date, "{context}");
        assert_eq!(one.address, other.address, "{context}");
        assert_eq!(one.home_phone, other.home_phone, "{context}");
        if one.gender == other.gender {
            assert_eq!(one.family_name, other.family_name, "{context}");
        } else {
            assert!(
                one.family_name == other.family_name
                    || one_family_name_in_two_forms(&one.family_name, &other.family_name),
                "{context}: {} and {}",
                one.family_name,
                other.family_name
            );
        }
        let (one_first, other_first) = (&one.given_names[0], &other.given_names[0]);
        assert_ne!(one_first, other_first, "{context}");
        assert!(!short_forms(one_first).contains(&other_first.as_str()), "{context}: {one_first}, {other_first}");
        assert!(!short_forms(other_first).contains(&one_first.as_str()), "{context}: {one_first}, {other_first}");
        assert_ne!(first.nhs_number, second.nhs_number, "{context}");
        assert!(!first.source_records.is_empty() && !second.source_records.is_empty(), "{context}");
        for record in &first.source_records {
            assert!(
                second
                    .source_records
                    .iter()
                    .all(|other| (&other.ods_code, &other.identifier_value)
                        != (&record.ods_code, &record.identifier_value)),
                "{context}: twins have their own records"
            );
        }
    }
    let n_mixed = pairs.iter().filter(|(first, second)| first.demographics.gender != second.demographics.gender);
    assert!(n_mixed.count() > 0, "some twins are brother and sister");
    assert!(pairs.iter().any(|(first, _)| first.demographics.gender == Gender::Female));
}

/// A twin's records follow their own (shared) birth date: nothing is dated before it, children have no adult titles.
#[test]
fn twins_records_fall_within_their_shared_lifetime() {
    const DATE_KEYS: &[&str] = &[
        "effectiveDateTime",
        "onsetDateTime",
        "authoredOn",
        "occurrenceDateTime",
        "recordedDate",
        "performedDateTime",
        "issued",
        "start",
    ];
    let config = config(N_PEOPLE);
    let pairs = twin_pairs(N_PEOPLE);
    let mut n_dates = 0;
    for (first, second) in &pairs {
        for twin in [first, second] {
            let birth_date = twin.demographics.birth_date.to_fhir();
            for source in person_bundles(&config, twin.person_idx) {
                walk(&source.bundle, &mut |key, value| {
                    let Some(text) = value.as_str().filter(|_| DATE_KEYS.contains(&key)) else { return };
                    n_dates += 1;
                    assert!(
                        text[..10] >= *birth_date,
                        "seed {SEED} twin {} at {}: {key} {text} before birth {birth_date}",
                        twin.person_idx,
                        source.source_ods_code
                    );
                });
            }
        }
        let age_years = crate::common::age_on_records_date(first.demographics.birth_date);
        if age_years < 16 {
            assert!(first.demographics.title.is_none() && second.demographics.title.is_none());
        }
    }
    assert!(n_dates > 1_000, "{n_dates} dates checked");
}
