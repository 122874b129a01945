//! Sources record people with errors at their configured rates, each error is plausible and changes only what it
//! says, and the truth stays as it was.

use std::collections::BTreeMap;

use kmcr_synth::{
    Date, IdentityError, IdentityErrorRates, OrganisationKind, PersonTruth, RECORDS_AS_AT, RecordedDemographics,
    SourcePatientRecord, day_and_month_transposed, identity_error_rates, organisation, person_truth, short_forms,
};

use crate::common::{SEED, age_on_records_date, config};

/// Enough people for a few hundred ambulance records, the smallest group with its own rates.
const N_PEOPLE: usize = 20_000;

fn truths(n_people: usize) -> impl Iterator<Item = PersonTruth> {
    let config = config(n_people);
    (0..n_people).map(move |person_idx| person_truth(&config, person_idx))
}

fn kind_of(record: &SourcePatientRecord) -> OrganisationKind {
    organisation(&record.ods_code).expect("sources are the region's organisations").kind
}

/// The kinds of organisation that share one set of rates, named for the messages.
fn rate_group(kind: OrganisationKind) -> &'static str {
    match kind {
        OrganisationKind::GpPractice => "GP practices",
        OrganisationKind::AmbulanceTrust => "ambulance",
        OrganisationKind::LocalAuthority => "councils",
        _ => "hospitals and community services",
    }
}

/// One kind of error as the test counts it: which listed errors count, its rate, and whether it could happen to this
/// person's record.
struct ErrorKind {
    name: &'static str,
    counts: &'static [IdentityError],
    rate: fn(&IdentityErrorRates) -> f64,
    possible: fn(&PersonTruth) -> bool,
}

const ERROR_KINDS: &[ErrorKind] = &[
    ErrorKind {
        name: "family name changed",
        counts: &[IdentityError::FamilyNameChanged],
        rate: |rates| rates.family_name_changed,
        possible: |truth| age_on_records_date(truth.demographics.birth_date) >= 18,
    },
    ErrorKind {
        name: "given names as initials",
        counts: &[IdentityError::GivenNamesAsInitials],
        rate: |rates| rates.given_names_as_initials,
        possible: |_| true,
    },
    ErrorKind {
        name: "short given name",
        counts: &[IdentityError::ShortGivenName],
        rate: |rates| rates.short_given_name,
        possible: |truth| !short_forms(&truth.demographics.given_names[0]).is_empty(),
    },
    ErrorKind {
        name: "typing slip in a name",
        counts: &[IdentityError::GivenNameTypingSlip, IdentityError::FamilyNameTypingSlip],
        rate: |rates| rates.name_typing_slip,
        possible: |_| true,
    },
    ErrorKind {
        name: "names swapped",
        counts: &[IdentityError::NamesSwapped],
        rate: |rates| rates.names_swapped,
        possible: |_| true,
    },
    ErrorKind {
        name: "birth day and month transposed",
        counts: &[IdentityError::BirthDayAndMonthTransposed],
        rate: |rates| rates.birth_day_and_month_transposed,
        possible: |truth| day_and_month_transposed(truth.demographics.birth_date).is_some(),
    },
    ErrorKind {
        name: "birth date digit mistyped",
        counts: &[IdentityError::BirthDateDigitMistyped],
        rate: |rates| rates.birth_date_digit_mistyped,
        possible: |_| true,
    },
    ErrorKind {
        name: "birth date missing",
        counts: &[IdentityError::BirthDateMissing],
        rate: |rates| rates.birth_date_missing,
        possible: |_| true,
    },
    ErrorKind {
        name: "previous address",
        counts: &[IdentityError::PreviousAddress],
        rate: |rates| rates.previous_address,
        possible: |_| true,
    },
    ErrorKind {
        name: "postcode missing",
        counts: &[IdentityError::PostcodeMissing],
        rate: |rates| rates.postcode_missing,
        possible: |_| true,
    },
    ErrorKind {
        name: "mobile phone missing",
        counts: &[IdentityError::MobilePhoneMissing],
        rate: |rates| rates.phone_missing,
        possible: |truth| truth.demographics.mobile_phone.is_some(),
    },
    ErrorKind {
        name: "home phone missing",
        counts: &[IdentityError::HomePhoneMissing],
        rate: |rates| rates.phone_missing,
        possible: |truth| truth.demographics.home_phone.is_some(),
    },
];

#[derive(Default)]
struct Tally {
    n_possible: u64,
    n_made: u64,
    rate: f64,
}

#[test]
fn each_error_occurs_at_its_configured_rate_for_each_kind_of_source() {
    let mut tallies: BTreeMap<(&str, &str), Tally> = BTreeMap::new();
    for truth in truths(N_PEOPLE) {
        for record in &truth.source_records {
            let kind = kind_of(record);
            let rates = identity_error_rates(kind);
            for error_kind in ERROR_KINDS {
                let tally = tallies.entry((rate_group(kind), error_kind.name)).or_default();
                tally.rate = (error_kind.rate)(rates);
                let made = record.identity_errors.iter().any(|error| error_kind.counts.contains(error));
                assert!(!made || (error_kind.possible)(&truth), "{}: impossible {}", truth.person_idx, error_kind.name);
                if (error_kind.possible)(&truth) {
                    tally.n_possible += 1;
                    tally.n_made += u64::from(made);
                }
            }
        }
    }
    println!("seed {SEED}, {N_PEOPLE} people: identity errors made / records where possible (configured rate)");
    for ((group, name), tally) in &tallies {
        let observed = tally.n_made as f64 / tally.n_possible.max(1) as f64;
        println!(
            "  {group:<34} {name:<32} {:>6} / {:>6} = {observed:.4} ({:.4})",
            tally.n_made, tally.n_possible, tally.rate
        );
        // Four binomial standard deviations, and a couple of records for the rarest errors.
        let expected = tally.n_possible as f64 * tally.rate;
        let tolerance = 4.0 * (expected * (1.0 - tally.rate)).sqrt() + 2.0;
        assert!(
            (tally.n_made as f64 - expected).abs() <= tolerance,
            "seed {SEED}: {group}, {name}: {} made where {expected:.1} expected",
            tally.n_made
        );
    }
    assert!(tallies[&("ambulance", "birth date missing")].n_possible >= 300, "enough ambulance records to judge");
}

#[test]
fn records_without_errors_are_the_truth_and_each_error_changes_only_its_own_field() {
    let mut n_checked_by_error: BTreeMap<IdentityError, usize> = BTreeMap::new();
    for truth in truths(8_000) {
        let exact = RecordedDemographics::from(&truth.demographics);
        for record in &truth.source_records {
            let context = format!("seed {SEED} person {} at {}", truth.person_idx, record.ods_code);
            check_plausible(&record.demographics, &context);
            match record.identity_errors.as_slice() {
                [] => assert_eq!(record.demographics, exact, "{context}"),
                [error] => {
                    check_single_error(*error, &truth, &record.demographics, &context);
                    *n_checked_by_error.entry(*error).or_default() += 1;
                }
                _ => assert_ne!(record.demographics, exact, "{context}"),
            }
        }
    }
    println!("records checked with exactly one error: {n_checked_by_error:?}");
    assert_eq!(n_checked_by_error.len(), 13, "every kind of error was seen alone");
}

/// Whatever went wrong, the record still looks like a record: names, a valid past birth date, a postcode-shaped
/// postcode, phone numbers in the drama ranges.
fn check_plausible(recorded: &RecordedDemographics, context: &str) {
    assert!(!recorded.given_names.is_empty(), "{context}");
    for name in recorded.given_names.iter().chain([&recorded.family_name]) {
        assert!(name.chars().next().is_some_and(char::is_uppercase), "{context}: {name:?}");
        let name_character = |character: char| character.is_alphabetic() || character == '-' || character == '\'';
        assert!(name.chars().all(name_character), "{context}: {name:?}");
    }
    if let Some(birth_date) = recorded.birth_date {
        assert!(kmcr_fhir::validate::is_fhir_date(&birth_date.to_fhir()), "{context}: {birth_date}");
        assert!(birth_date <= RECORDS_AS_AT, "{context}: {birth_date}");
    }
    if let Some(postcode) = &recorded.address.postal_code {
        assert!(is_kent_postcode(postcode), "{context}: {postcode}");
    }
    for phone in recorded.mobile_phone.iter().chain(&recorded.home_phone) {
        assert!(phone.starts_with("07700 900") || phone.starts_with("01632 960"), "{context}: {phone}");
    }
}

fn is_kent_postcode(postcode: &str) -> bool {
    let Some((district, inward)) = postcode.split_once(' ') else { return false };
    ["ME", "CT", "TN", "DA", "BR"].iter().any(|area| district.starts_with(area))
        && inward.len() == 3
        && inward.as_bytes()[0].is_ascii_digit()
        && inward[1..].bytes().all(|byte| b"ABDEFGHJLNPQRSTUWXYZ".contains(&byte))
}

/// A record with exactly one error differs from the truth in that error's field alone, in that error's way.
fn check_single_error(error: IdentityError, truth: &PersonTruth, recorded: &RecordedDemographics, context: &str) {
    let context = format!("{context}: {error:?}");
    let exact = RecordedDemographics::from(&truth.demographics);
    let true_first = &exact.given_names[0];
    let mut expected = exact.clone();
    match error {
        IdentityError::FamilyNameChanged => {
            let recorded_family = &recorded.family_name;
            assert_ne!(recorded_family, &exact.family_name, "{context}");
            if recorded_family.contains('-') && !exact.family_name.contains('-') {
                assert!(recorded_family.split('-').any(|part| part == exact.family_name), "{context}");
            }
            expected.family_name = recorded_family.clone();
        }
        IdentityError::GivenNamesAsInitials => {
            for (initial, name) in recorded.given_names.iter().zip(&exact.given_names) {
                assert_eq!(initial.chars().count(), 1, "{context}");
                assert!(name.starts_with(initial.as_str()), "{context}");
            }
            expected.given_names = recorded.given_names.clone();
        }
        IdentityError::ShortGivenName => {
            assert!(short_forms(true_first).contains(&recorded.given_names[0].as_str()), "{context}");
            expected.given_names[0] = recorded.given_names[0].clone();
        }
        IdentityError::GivenNameTypingSlip => {
            // A slip at the start moves the capital with it (`John` to `Ojhn`): one slip, whatever the case.
            let slipped = recorded.given_names[0].to_lowercase();
            assert_eq!(edit_distance(&slipped, &true_first.to_lowercase()), 1, "{context}: {slipped}");
            expected.given_names[0] = recorded.given_names[0].clone();
        }
        IdentityError::FamilyNameTypingSlip => {
            let slipped = recorded.family_name.to_lowercase();
            assert_eq!(edit_distance(&slipped, &exact.family_name.to_lowercase()), 1, "{context}: {slipped}");
            expected.family_name = recorded.family_name.clone();
        }
        IdentityError::NamesSwapped => {
            expected.given_names[0] = exact.family_name.clone();
            expected.family_name = true_first.clone();
        }
        IdentityError::BirthDayAndMonthTransposed => {
            let true_date = truth.demographics.birth_date;
            expected.birth_date = Some(Date { year: true_date.year, month: true_date.day, day: true_date.month });
        }
        IdentityError::BirthDateDigitMistyped => {
            let recorded_date = recorded.birth_date.expect("a mistyped date is a date");
            let n_digits_differing = recorded_date
                .to_fhir()
                .bytes()
                .zip(truth.demographics.birth_date.to_fhir().bytes())
                .filter(|(left, right)| left != right)
                .count();
            assert_eq!(n_digits_differing, 1, "{context}: {recorded_date}");
            expected.birth_date = Some(recorded_date);
        }
        IdentityError::BirthDateMissing => expected.birth_date = None,
        IdentityError::PreviousAddress => {
            let (old, current) = (&recorded.address, &exact.address);
            assert_ne!(old.postal_code, current.postal_code, "{context}");
            assert_ne!(street(&old.lines), street(&current.lines), "{context}");
            let area = |postcode: &Option<String>| {
                postcode.as_deref().map(|code| code.chars().take_while(char::is_ascii_alphabetic).collect::<String>())
            };
            assert_eq!(area(&old.postal_code), area(&current.postal_code), "{context}: a move within the area");
            expected.address = old.clone();
        }
        IdentityError::PostcodeMissing => expected.address.postal_code = None,
        IdentityError::MobilePhoneMissing => expected.mobile_phone = None,
        IdentityError::HomePhoneMissing => expected.home_phone = None,
    }
    assert_eq!(recorded, &expected, "{context}");
}

fn street(lines: &[String]) -> &str {
    lines.last().expect("an address has lines").trim_start_matches(|character: char| character.is_ascii_digit()).trim()
}

/// Insertions, deletions, substitutions and transpositions of neighbours (optimal string alignment distance).
fn edit_distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    let mut distances = vec![vec![0usize; right.len() + 1]; left.len() + 1];
    for (left_idx, row) in distances.iter_mut().enumerate() {
        row[0] = left_idx;
    }
    for (right_idx, distance) in distances[0].iter_mut().enumerate() {
        *distance = right_idx;
    }
    for left_idx in 1..=left.len() {
        for right_idx in 1..=right.len() {
            let cost = usize::from(left[left_idx - 1] != right[right_idx - 1]);
            let mut best = (distances[left_idx - 1][right_idx] + 1)
                .min(distances[left_idx][right_idx - 1] + 1)
                .min(distances[left_idx - 1][right_idx - 1] + cost);
            if left_idx > 1
                && right_idx > 1
                && left[left_idx - 1] == right[right_idx - 2]
                && left[left_idx - 2] == right[right_idx - 1]
            {
                best = best.min(distances[left_idx - 2][right_idx - 2] + 1);
            }
            distances[left_idx][right_idx] = best;
        }
    }
    distances[left.len()][right.len()]
}

#[test]
fn the_truth_is_complete_and_the_same_on_every_call() {
    let config = config(2_000);
    for person_idx in (0..2_000).rev() {
        let first = person_truth(&config, person_idx);
        let again = person_truth(&config, person_idx);
        assert_eq!(format!("{first:?}"), format!("{again:?}"), "seed {SEED} person {person_idx}");
        let truth = &first.demographics;
        assert!(!truth.given_names.is_empty() && truth.given_names.iter().all(|name| name.chars().count() > 1));
        assert!(kmcr_fhir::validate::is_fhir_date(&truth.birth_date.to_fhir()) && truth.birth_date <= RECORDS_AS_AT);
        assert!(is_kent_postcode(&truth.address.postal_code), "{}", truth.address.postal_code);
        // The practice traces its patients against the national register: its record is the truth for nearly all.
        let gp_record = &first.source_records[0];
        assert_eq!(kind_of(gp_record), OrganisationKind::GpPractice);
    }
    let n_gp_records_exact = (0..2_000)
        .filter(|person_idx| {
            let truth = person_truth(&config, *person_idx);
            truth.source_records[0].demographics == RecordedDemographics::from(&truth.demographics)
                || truth.source_records[0]
                    .identity_errors
                    .iter()
                    .all(|error| matches!(error, IdentityError::MobilePhoneMissing | IdentityError::HomePhoneMissing))
        })
        .count();
    assert!(n_gp_records_exact >= 1_950, "{n_gp_records_exact} of 2,000 GP records have the truth's names and dates");
}

#[test]
fn edit_distance_counts_one_slip_as_one() {
    assert_eq!(edit_distance("John", "Jhon"), 1);
    assert_eq!(edit_distance("Smith", "Smiht"), 1);
    assert_eq!(edit_distance("Smith", "Smyth"), 1);
    assert_eq!(edit_distance("Smith", "Smitth"), 1);
    assert_eq!(edit_distance("Smith", "Smit"), 1);
    assert_eq!(edit_distance("Smith", "Jones"), 5);
}
